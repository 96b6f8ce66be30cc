//===- BatchRows.h - Are a model's batch rows independent? ------*- C++ -*-===//
//
// Part of Heed. The driver runs a batch as several blocks of rows in
// parallel, each compiled for its own batch size. That gives the same
// answer as one run only if every output row is computed from the same row
// of the inputs alone. This check proves it conservatively from Sema's
// types: every input and output, and every value computed from them, has
// the batch as its first axis, and no operation works along that axis
// (a softmax, reduction, concatenation, index or permutation over axis 0,
// an argmax of a [B] tensor). Anything it cannot prove runs as one block.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_BATCHROWS_H
#define HEED_FRONTENDS_DSL_BATCHROWS_H

#include "frontends/dsl/AST.h"

#include <optional>
#include <string>

namespace heed::dsl {

/// The batch's symbolic dimension (the first axis of every input) when the
/// model's batch rows are independent; otherwise std::nullopt, with the
/// reason in `why` if given.
std::optional<std::string> independentBatchRows(const Model &model,
                                                std::string *why = nullptr);

} // namespace heed::dsl

#endif // HEED_FRONTENDS_DSL_BATCHROWS_H
