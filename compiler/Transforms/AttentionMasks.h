//===- AttentionMasks.h - Masked energies of attn.attention -----*- C++ -*-===//
//
// Part of Heed. The one definition of which (batch row, query, step) an
// attention op masks and with what value, and of how masked energies are
// normalized, shared by the fused and the decomposed lowerings.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_TRANSFORMS_ATTENTIONMASKS_H
#define HEED_COMPILER_TRANSFORMS_ATTENTIONMASKS_H

#include "dialects/attn/IR/AttnOps.h"

namespace heed {

/// The value seed 002 gives energies outside the synthesis constraint's
/// window: `-2 ** 32 + 1`, which is -4294967296 in f32 (finite, unlike the
/// length mask's -inf).
constexpr float kConstraintPadding = -4294967296.0f;

/// Whether `op` masks anything (lengths, causal, constraint).
bool hasMasks(attn::AttentionOp op);

/// What masks an attention op's energies: the `[B]` tensors the masks read
/// (with tensor.extract; null when absent) and the op's attributes. A
/// lowering that moves the energies out of the op's scope (a kernel's score
/// function) passes its own copies of the tensors.
struct EnergyMask {
  mlir::Value lengths, previous;
  bool causal = false;
  attn::Constraint constraint = attn::Constraint::none;
  int64_t window = 0;

  static EnergyMask of(attn::AttentionOp op);
};

/// The energy `energy` (f32) of memory step `step` for batch row `batch` and
/// query `query` (index values; `query` is null for one-query rows) after
/// the constraint (finite padding), the length mask and the causal mask
/// (-inf), in the order seed 002 applies them. Reads `lengths`/`previous`
/// with tensor.extract.
mlir::Value maskEnergy(mlir::OpBuilder &b, mlir::Location loc,
                       attn::AttentionOp op, mlir::Value energy,
                       mlir::Value batch, mlir::Value query, mlir::Value step);
mlir::Value maskEnergy(mlir::OpBuilder &b, mlir::Location loc,
                       const EnergyMask &mask, mlir::Value energy,
                       mlir::Value batch, mlir::Value query, mlir::Value step);

/// Whether `op` is Luong's local attention (local_m or local_p).
bool isLocal(attn::AttentionOp op);

/// local_p: `weights` [..., T] times the Gaussian exp(−(t − p)² / (2σ²)),
/// σ = D / 2, `position` (p) broadcasting against `weights` ([..., 1]);
/// other ops: `weights` unchanged.
mlir::Value weightAroundPosition(mlir::OpBuilder &b, mlir::Location loc,
                                 attn::AttentionOp op, mlir::Value weights,
                                 mlir::Value position);

/// Hard attention's step: the first of [0, steps) with the largest weight
/// (`weightAt(t)`, an f32), and whether that weight is above zero (if not,
/// the context is zero). Returns {attended (i1), step (index)}.
std::pair<mlir::Value, mlir::Value> hardAttentionStep(
    mlir::OpBuilder &b, mlir::Location loc, int64_t steps,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Value)> weightAt);

/// Weights from (masked) energies along `axis`: `exp(e - max) / Σ` or
/// `σ(e) / Σ σ(e)`, as whole-tensor attn ops. Masked steps (-inf) get 0; the
/// max is clamped to -FLT_MAX and the sum to FLT_MIN, so a row with no
/// unmasked step gets zeros, not NaN.
mlir::Value normalizeEnergies(mlir::OpBuilder &b, mlir::Location loc,
                              mlir::Value energies, int64_t axis,
                              attn::Normalization normalization);

} // namespace heed

#endif
