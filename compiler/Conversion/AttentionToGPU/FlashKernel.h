//===- FlashKernel.h - The flash-style attention kernel ---------*- C++ -*-===//
//
// Part of Heed. The sizes and tiles of one dot-product attention kernel, and
// the builder of its body (a gpu.launch, or the same body as host loops).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_ATTENTIONTOGPU_FLASHKERNEL_H
#define HEED_COMPILER_CONVERSION_ATTENTIONTOGPU_FLASHKERNEL_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <array>
#include <cstdint>
#include <optional>

namespace heed {

/// Sizes of one attention op (`[B, Tq, D]` queries, `[B, T, D]` keys,
/// `[B, T, Dv]` values) and the tiles its kernel uses.
struct FlashShape {
  int64_t batch, queries, depth, steps, valueDepth;
  /// BQ: query rows per block, one thread each.
  int64_t threads;
  /// BK: keys per shared-memory tile.
  int64_t keyTile;
  float scale;
  bool causal, lengths;
  /// Per buffer (query, keys, values, context): 0 for a [B, T, ·] buffer,
  /// or H for a [B / H, T, H · depth] one whose row b is head b % H of row
  /// b / H (heads split from, or merged into, a projection in place).
  std::array<int64_t, 4> heads = {0, 0, 0, 0};

  int64_t queryTiles() const { return (queries + threads - 1) / threads; }

  /// A block's shared memory in bytes: the key and value tiles and the
  /// scores, each thread's row padded by one float (no bank conflicts).
  static int64_t sharedBytes(int64_t threads, int64_t keyTile, int64_t depth,
                             int64_t valueDepth);
  /// The tiles for these sizes: BQ = min(64, Tq rounded up to a warp), BK
  /// the largest power of two up to 64 (and up to T rounded up to one)
  /// whose tiles fit 48 KB of shared memory. nullopt where the kernel does not
  /// apply: D + Dv above 256 floats (a thread's query and context rows are
  /// registers), more blocks (batch rows × query tiles) than a grid's x
  /// axis holds, an empty axis.
  static std::optional<FlashShape> choose(int64_t batch, int64_t queries,
                                          int64_t depth, int64_t steps,
                                          int64_t valueDepth, float scale,
                                          bool causal, bool lengths);
};

/// Gives `fn` (a declaration taking the query, keys, values, [lengths,]
/// and the context buffer) its body: one gpu.launch, or with `onHost` the
/// same kernel as loops over blocks and threads.
void buildFlashAttentionBody(mlir::func::FuncOp fn, const FlashShape &s,
                             bool onHost);

/// Whether the tensor-core kernel takes attention of these sizes with
/// multiplicands of `element` (bf16, f16, or f32 for tf32x3): D a multiple
/// of 16 (8 in f32) and Dv of 8, both up to 128, and the blocks of 64
/// query rows within a grid's x axis.
bool takesTensorCores(const FlashShape &s, mlir::Type element);

/// Whether heed-lower-dot-attention-to-gpu rounds the keys and values to
/// `element` (bf16 or f16, with `asyncCopy`) before the tensor-core kernel,
/// which then copies their tiles into shared memory by cp.async: half the
/// bytes of f32 read from global memory a tile, none through registers.
bool roundsKeysBeforeKernel(const FlashShape &s, mlir::Type element,
                            bool asyncCopy);

/// Gives `fn` the same kernel with both products on tensor cores, the
/// multiplicands rounded to `element` (bf16 or f16), or with f32 as
/// three tf32 products each (FlashMmaKernel.cpp). False, and `fn` left
/// alone, where it does not apply: D not a multiple of 16 (8 in f32), Dv
/// not one of 8, either above 128. Keys and values of `element` (rounded
/// before the kernel) or in f32 with `asyncCopy` are copied by cp.async,
/// FlashAttention-2's loop; f32 ones rounded to bf16 or f16 are staged
/// through registers, with `prefetch` the next tiles read while a step
/// computes, where they fit.
/// `multiprocessors` (0: unknown) halves the blocks' query rows where the
/// grid would leave some of the chip's multiprocessors without a block.
bool buildFlashAttentionMmaBody(mlir::func::FuncOp fn, const FlashShape &s,
                                bool onHost, mlir::Type element, bool prefetch,
                                bool asyncCopy, int64_t multiprocessors);

} // namespace heed

#endif
