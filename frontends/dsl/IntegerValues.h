//===- IntegerValues.h - Which outputs hold integers ------------*- C++ -*-===//
//
// Part of Heed. Heed computes in float32, but some values are integers by
// construction: an argmax, a decoding loop's per-row lengths, token ids
// fed back through a loop, inputs declared i64/i32/bool, and what
// selections, sums and indexing make of them. Outputs whose every value is
// such an integer are written as int64 (npy/npz/safetensors), returned as
// int64 through the C API and Python, exactly as PyTorch's argmax would.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_INTEGERVALUES_H
#define HEED_FRONTENDS_DSL_INTEGERVALUES_H

#include "frontends/dsl/AST.h"

namespace heed::dsl {

/// Sets Model::Output::integer on a model Sema has checked.
void markIntegerOutputs(Model &model);

} // namespace heed::dsl

#endif
