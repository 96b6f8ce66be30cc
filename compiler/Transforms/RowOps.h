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

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"

namespace heed {

/// Whether `op` can appear in a score region (attn compute ops and
/// constants).
bool isRowOp(mlir::Operation *op);

/// Columns [offset, offset + width) of a dense weight [N, K] (a
/// tensor.extract_slice): the weight of one part of a dense layer over a
/// concatenation.
mlir::Value weightColumns(mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value weight, int64_t offset, int64_t width);

/// Moves the ops of `op`'s score region that read no block argument (work
/// on weights alone, such as the transpose of `q @ W`, and constants) in
/// front of `op`, so that the ops reading them count as computed from rows
/// and weights. Returns whether any moved.
bool hoistWeightOnlyScoreOps(attn::AttentionOp op);

/// The ops of a score region computed from `seeds` (some of its block
/// arguments) and values from outside the region (weights) only, with at
/// least one seed among their transitive inputs, in block order: the work
/// that can move out of the region onto whole tensors.
llvm::SetVector<mlir::Operation *> opsComputedFrom(mlir::Block &body,
                                                   mlir::ValueRange seeds);

/// The results of `lifted` (single-result ops) that ops outside it read:
/// what the region still needs once `lifted` moves out.
llvm::SmallVector<mlir::Value>
frontierOf(const llvm::SetVector<mlir::Operation *> &lifted);

/// Rebuilds every op of `lifted` at `b` on whole tensors (`shift` more
/// leading dims), its operands looked up in `map` (which the block
/// arguments they read must already map), recording each result there.
/// When one op cannot be rebuilt, erases what it built and returns false.
bool cloneOntoWholeTensors(mlir::OpBuilder &b,
                           const llvm::SetVector<mlir::Operation *> &lifted,
                           mlir::IRMapping &map, int64_t shift);

/// Rebuilds `op` on `operands`, whose tensors have `shift` more (or fewer,
/// when negative) leading dims than the original's data operands; axis
/// attributes move with them. Dense weights and biases are not shifted.
/// Returns null when `op` works on an axis that the shift removes.
mlir::Operation *cloneWithRankShift(mlir::OpBuilder &b, mlir::Operation *op,
                                    mlir::ValueRange operands, int64_t shift);

} // namespace heed

#endif
