//===- IdRanges.h - Compile-time ranges of token ids ------------*- C++ -*-===//
//
// Part of Heed. Token ids inside a model (a start token, an argmax fed back
// through an embedding, an end token compared in a loop's stop condition)
// are integers whose range is often known when the model is compiled. This
// check follows those ranges through assignments and decoder loops and
// reports ids that cannot be right: an embedding given ids outside its
// vocabulary, or a stop condition comparing an argmax with an end id it can
// never produce.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_IDRANGES_H
#define HEED_FRONTENDS_DSL_IDRANGES_H

#include "frontends/dsl/AST.h"

#include "llvm/Support/SourceMgr.h"

namespace heed::dsl {

/// Runs on a model Sema has checked; reports the first error (file:line:col)
/// and returns false.
bool checkIdRanges(const Model &model, llvm::SourceMgr &sourceMgr);

} // namespace heed::dsl

#endif // HEED_FRONTENDS_DSL_IDRANGES_H
