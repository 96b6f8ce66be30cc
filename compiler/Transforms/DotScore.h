//===- DotScore.h - Which attention ops are dot products --------*- C++ -*-===//
//
// Part of Heed. The one matcher of (scaled) dot-product attention over a
// sequence of queries, shared by the CPU's tiled lowering and the GPU's
// fused kernel.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_TRANSFORMS_DOTSCORE_H
#define HEED_COMPILER_TRANSFORMS_DOTSCORE_H

#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <optional>

namespace heed {

/// The constant factor `c` of a score region that is `Σ q·k` (`c` = 1),
/// `(Σ q·k) · c` or `(Σ q·k) / c`, and nothing else; nullopt otherwise.
std::optional<float> dotProductScoreScale(attn::AttentionOp op);

/// The scale (as dotProductScoreScale) when `op` is softmax attention of a
/// [B, Tq, D] query over one key tensor with a dot-product score, no
/// constraint, not hard, its weights unused and every operand statically
/// shaped: the attention an online-softmax kernel computes without its
/// weights. Lengths and the causal mask are allowed. nullopt otherwise.
std::optional<float> matchOnlineSoftmaxDotAttention(attn::AttentionOp op);

/// A [B·H, T, D] operand that is the heads of a [B, T, H·D] tensor:
/// collapse<[[0, 1], [2], [3]]>(permute<0, 2, 1, 3>(expand<[[0], [1],
/// [2, 3]]>(source))), as a multi-head layer splits its projections.
/// Lowerings then read `source` in place (row b·H + h is
/// source[b, :, h·D:]) and the split, a copy of the whole tensor, is left
/// dead.
struct HeadView {
  mlir::Value source; // [B, T, H·D]; null when the operand is not such a view
  int64_t heads = 1, depth = 0;
};
HeadView headsOf(mlir::Value v);

/// The [B, T, H·Dv] tensor that the context [B·H, T, Dv] becomes when its
/// one use merges the heads back (expand, permute<0, 2, 1, 3>, collapse:
/// the inverse of headsOf): lowerings then write each row there directly.
mlir::tensor::CollapseShapeOp headsMergedFrom(mlir::Value context);
/// The heads and their depth of such a merge.
HeadView mergedHeads(mlir::tensor::CollapseShapeOp merged);

} // namespace heed

#endif
