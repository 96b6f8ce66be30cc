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

} // namespace heed

#endif
