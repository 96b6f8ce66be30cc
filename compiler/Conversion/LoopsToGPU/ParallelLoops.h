//===- ParallelLoops.h - Copies as loops, loops' trip counts ----*- C++ -*-===//
//
// Part of Heed. What the passes that shape a GPU step's parallel loops
// (fusing them, mapping them onto blocks and threads) share.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LOOPSTOGPU_PARALLELLOOPS_H
#define HEED_COMPILER_CONVERSION_LOOPSTOGPU_PARALLELLOOPS_H

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include <optional>

namespace heed {

/// `copy` as a parallel loop nest of loads and stores, one iteration per
/// element, so that it is mapped (and fused) like any other element-wise
/// work. A copy of one element (rank 0) is a one-iteration loop: on the
/// host it would wait for the kernels before it (a reduction's init copied
/// in a decoder's step).
void copyAsParallelLoop(mlir::memref::CopyOp copy);

/// The blocks and threads of a loop mapped onto (block x, thread x) by
/// heed-map-parallel-loops-to-gpu: two dims from 0 by 1 to constants, no
/// results. None for any other loop.
struct MappedLoopSize {
  int64_t blocks, threads;
};
std::optional<MappedLoopSize> mappedLoopSize(mlir::scf::ParallelOp loop);

/// The blocks and threads (along x; y and z are 1) and static shared bytes
/// of a kernel already placed as a `gpu.launch`: synchronous, one body
/// block, no private or dynamic shared memory, constant sizes, shared
/// buffers of static shape. None for any other launch.
struct PlacedLaunchSize {
  int64_t blocks, threads, sharedBytes;
};
std::optional<PlacedLaunchSize> placedLaunchSize(mlir::gpu::LaunchOp launch);

/// Set by heed-merge-independent-loops on a merged loop each of whose parts
/// is one block (an `scf.if` on the block's index in its body): no block
/// reads or writes what another writes within a launch.
inline constexpr llvm::StringLiteral kOneBlockPartsAttr =
    "heed.one_block_parts";

/// The trip count of dimension `d` of `loop` when its bounds are constants.
std::optional<int64_t> tripCount(mlir::scf::ParallelOp loop, unsigned d);

} // namespace heed

#endif
