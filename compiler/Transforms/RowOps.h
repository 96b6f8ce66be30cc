//===- RowOps.h - Rebuild attn ops at another rank --------------*- C++ -*-===//
//
// Part of Heed. The score region of attn.attention works on rows (rank 1);
// raising strips the two leading [B, T] dims from whole-tensor ops and
// decomposition adds them back. Both use this one rule for axis attributes.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_TRANSFORMS_ROWOPS_H
#define HEED_COMPILER_TRANSFORMS_ROWOPS_H

#include "dialects/attn/IR/AttnOps.h"

#include "llvm/ADT/SetVector.h"

namespace heed {

/// Whether `op` can appear in a score region (attn compute ops and
/// constants).
bool isRowOp(mlir::Operation *op);

/// The ops of a score region computed from `seeds` (some of its block
/// arguments) and values from outside the region (weights) only, with at
/// least one seed among their transitive inputs, in block order: the work
/// that can move out of the region onto whole tensors.
llvm::SetVector<mlir::Operation *> opsComputedFrom(mlir::Block &body,
                                                   mlir::ValueRange seeds);

/// Rebuilds `op` on `operands`, whose tensors have `shift` more (or fewer,
/// when negative) leading dims than the original's data operands; axis
/// attributes move with them. Dense weights and biases are not shifted.
/// Returns null when `op` works on an axis that the shift removes.
mlir::Operation *cloneWithRankShift(mlir::OpBuilder &b, mlir::Operation *op,
                                    mlir::ValueRange operands, int64_t shift);

} // namespace heed

#endif
