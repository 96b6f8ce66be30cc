//===- TiledDotAttention.h - Online-softmax tiles for dot scores -*- C++ -*-===//
//
// Part of Heed. The lowering attn-lower-attention-to-loops picks for
// (scaled) dot-product attention over query sequences.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_ATTENTIONTOLOOPS_TILEDDOTATTENTION_H
#define HEED_COMPILER_CONVERSION_ATTENTIONTOLOOPS_TILEDDOTATTENTION_H

#include "dialects/attn/IR/AttnOps.h"

namespace heed {

/// Replaces `op` by a tiled loop nest with an online softmax when its score
/// is `Σ q·k` (optionally times a constant), it has a [B, Tq, D] query, no
/// features, softmax normalization, no constraint, unused weights and
/// sizes that fit the tiles. Returns failure (and leaves `op` alone)
/// otherwise.
mlir::LogicalResult lowerTiledDotAttention(attn::AttentionOp op);

} // namespace heed

#endif
