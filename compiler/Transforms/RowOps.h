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

namespace heed {

/// Whether `op` can appear in a score region (attn compute ops and
/// constants).
bool isRowOp(mlir::Operation *op);

/// Rebuilds `op` on `operands`, whose tensors have `shift` more (or fewer,
/// when negative) leading dims than the original's data operands; axis
/// attributes move with them. Dense weights and biases are not shifted.
/// Returns null when `op` works on an axis that the shift removes.
mlir::Operation *cloneWithRankShift(mlir::OpBuilder &b, mlir::Operation *op,
                                    mlir::ValueRange operands, int64_t shift);

} // namespace heed

#endif
