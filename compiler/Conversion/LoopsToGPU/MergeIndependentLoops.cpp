//===- MergeIndependentLoops.cpp - Fewer launches for independent work ----===//
//
// Part of Heed. See Passes.td (heed-merge-independent-loops).
//
// A decoder step at batch 1 is a few dozen tiny kernels (state copies, a
// gate, a mask), each a launch that costs more than its work. Mapped loops
// next to each other whose buffers do not overlap become one: the blocks
// of each part follow the previous part's, and each part's body runs where
// the block falls in its range (and the thread in its block size).
//
// The parts are laid out in reverse program order (the last loop's blocks
// first): the CPU-run schedule executes blocks in order, so a dependence
// the analysis missed would read values not yet written, and the goldens
// would catch it.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Conversion/LoopsToGPU/BufferAccesses.h"
#include "compiler/Conversion/LoopsToGPU/ParallelLoops.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SetVector.h"

namespace heed {
#define GEN_PASS_DEF_MERGEINDEPENDENTLOOPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// The most threads a block may have, and blocks along x.
constexpr int64_t kMaxThreads = 1024;
constexpr int64_t kMaxBlocks = 2147483647;

/// A mapped loop (block, thread) from 0 with step 1 and constant bounds,
/// or a kernel already placed (a block program: a block reduction's
/// `gpu.launch`, with barriers and shared memory), and the buffers (roots)
/// it reads and writes.
struct MappedLoop {
  Operation *op;
  int64_t blocks = 0, threads = 0;
  BufferAccesses accesses;
  int64_t sharedBytes = 0; // a kernel's static shared memory
  bool isLaunch() const { return isa<gpu::LaunchOp>(op); }
};

/// `op` as a MappedLoop, when it is one whose accesses are all known.
std::optional<MappedLoop> mappedLoop(scf::ParallelOp op) {
  std::optional<MappedLoopSize> size = mappedLoopSize(op);
  if (!size)
    return std::nullopt;
  MappedLoop loop{op, size->blocks, size->threads, {}};
  // Every access through a buffer value; anything else (an unknown effect,
  // a barrier) keeps the loop alone.
  if (!collectBufferAccesses(op, loop.accesses))
    return std::nullopt;
  return loop;
}

/// `op` as a MappedLoop: a launch of constant blocks and threads along x,
/// synchronous, its shared memory static, its body one block; its barriers
/// and shared buffers its own.
std::optional<MappedLoop> launchedKernel(gpu::LaunchOp op) {
  std::optional<PlacedLaunchSize> size = placedLaunchSize(op);
  if (!size)
    return std::nullopt;
  MappedLoop kernel{op, size->blocks, size->threads, {}};
  kernel.sharedBytes = size->sharedBytes;
  OwnEffects own;
  own.kernels = true;
  if (!collectBufferAccesses(op, kernel.accesses, own))
    return std::nullopt;
  return kernel;
}

/// Whether `later` can run at the same time as `earlier`.
bool independent(const MappedLoop &earlier, const MappedLoop &later) {
  return !conflict(earlier.accesses, later.accesses);
}

/// The parts of `group` in a merged body at `b` whose block and thread
/// are `block` and `thread` (of `threads`): the last part's blocks first,
/// each part's body where the block falls in its range (and, for a loop,
/// the thread in its size), its block index made its own. A kernel's
/// grid size and shared buffers become its own too (`merged`'s
/// attributions, in the parts' order).
void emitParts(OpBuilder &b, Location loc, ArrayRef<MappedLoop> group,
               Value block, Value thread, int64_t threads,
               gpu::LaunchOp merged) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  int64_t offset = 0;
  size_t sharedUsed = 0;
  for (const MappedLoop &loop : llvm::reverse(group)) {
    // This part's blocks are [offset, offset + blocks).
    Value from = c(offset), to = c(offset + loop.blocks);
    Value inRange = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, block, from),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, block, to));
    if (!loop.isLaunch() && loop.threads < threads)
      inRange = arith::AndIOp::create(
          b, loc, inRange,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, thread,
                                c(loop.threads)));
    auto part = scf::IfOp::create(b, loc, TypeRange{}, inRange, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(part.thenBlock()->getTerminator());
    Value partBlock = arith::SubIOp::create(b, loc, block, from);
    IRMapping map;
    if (auto parallel = dyn_cast<scf::ParallelOp>(loop.op)) {
      map.map(parallel.getInductionVars()[0], partBlock);
      map.map(parallel.getInductionVars()[1], thread);
      for (Operation &inner : parallel.getBody()->without_terminator())
        b.clone(inner, map);
    } else {
      auto launch = cast<gpu::LaunchOp>(loop.op);
      gpu::KernelDim3 ids = launch.getBlockIds(), tids = launch.getThreadIds(),
                      grid = launch.getGridSize(), size = launch.getBlockSize();
      map.map(ids.x, partBlock);
      map.map(ids.y, merged.getBlockIds().y);
      map.map(ids.z, merged.getBlockIds().z);
      map.map(tids.x, thread);
      map.map(tids.y, merged.getThreadIds().y);
      map.map(tids.z, merged.getThreadIds().z);
      map.map(grid.x, c(loop.blocks));
      map.map(grid.y, merged.getGridSize().y);
      map.map(grid.z, merged.getGridSize().z);
      map.map(size.x, merged.getBlockSize().x);
      map.map(size.y, merged.getBlockSize().y);
      map.map(size.z, merged.getBlockSize().z);
      for (BlockArgument a : launch.getWorkgroupAttributions())
        map.map(a, merged.getWorkgroupAttributions()[sharedUsed++]);
      for (Operation &inner : launch.getBody().front().without_terminator())
        b.clone(inner, map);
    }
    offset += loop.blocks;
  }
}

/// The loops (and kernels) of `group` as one, where the last one was: a
/// mapped loop, or where a kernel is among them (every kernel of the
/// group's most threads), a kernel. A kernel's barriers stay uniform: a
/// block runs one part with all its threads (only loops, which have no
/// barriers, are guarded by their thread count). `deferred` (host reads
/// between the parts, and what is computed from them) moves after it.
void mergeGroup(ArrayRef<MappedLoop> group, ArrayRef<Operation *> deferred) {
  Operation *last = group.back().op;
  OpBuilder b(last);
  Location loc = last->getLoc();
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  int64_t blocks = 0, threads = 0;
  SmallVector<Type> shared;
  for (const MappedLoop &loop : llvm::reverse(group)) {
    blocks += loop.blocks;
    threads = std::max(threads, loop.threads);
    if (auto launch = dyn_cast<gpu::LaunchOp>(loop.op))
      for (BlockArgument a : launch.getWorkgroupAttributions())
        shared.push_back(a.getType());
  }
  Operation *mergedOp;
  if (llvm::none_of(group, [](const MappedLoop &l) { return l.isLaunch(); })) {
    auto merged = scf::ParallelOp::create(b, loc, ValueRange{c(0), c(0)},
                                          ValueRange{c(blocks), c(threads)},
                                          ValueRange{c(1), c(1)});
    merged->setAttr("mapping", last->getAttr("mapping"));
    if (llvm::all_of(group,
                     [](const MappedLoop &loop) { return loop.blocks == 1; }))
      merged->setAttr(kOneBlockPartsAttr, b.getUnitAttr());
    mergedOp = merged;
    b.setInsertionPointToStart(merged.getBody());
    emitParts(b, loc, group, merged.getInductionVars()[0],
              merged.getInductionVars()[1], threads, gpu::LaunchOp());
  } else {
    auto merged = gpu::LaunchOp::create(
        b, loc, c(blocks), c(1), c(1), c(threads), c(1), c(1),
        /*dynamicSharedMemorySize=*/Value(), /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/ValueRange{}, TypeRange(shared));
    mergedOp = merged;
    b.setInsertionPointToEnd(&merged.getBody().front());
    emitParts(b, loc, group, merged.getBlockIds().x, merged.getThreadIds().x,
              threads, merged);
    gpu::TerminatorOp::create(b, loc);
  }
  for (Operation *op : llvm::reverse(deferred))
    if (op->isBeforeInBlock(last))
      op->moveAfter(mergedOp);
  for (MappedLoop loop : group)
    loop.op->erase();
}

/// A read on the host between two loops of a group that the later loops
/// may run before (a stopping decoder's count of running rows, loaded
/// between the kernel that sums it and the next step's state updates): a
/// load, every effect of which is a read of a known buffer.
std::optional<BufferAccesses> deferrableRead(Operation &op) {
  BufferAccesses accesses;
  if (!isa<memref::LoadOp>(op) || !collectBufferAccesses(&op, accesses))
    return std::nullopt;
  return accesses;
}

/// Merges runs of independent mapped loops in `block`.
void mergeIn(Block &block) {
  SmallVector<std::pair<SmallVector<MappedLoop>, SmallVector<Operation *>>>
      groups;
  SmallVector<MappedLoop> group;
  // Host reads inside the open group, the ops computed from them, and the
  // buffers they read: moved after the group, so a later loop must not
  // write those buffers nor use those values.
  SmallVector<Operation *> deferred;
  llvm::SmallPtrSet<Operation *, 8> deferredSet;
  BufferAccesses deferredReads;
  auto close = [&] {
    if (group.size() > 1)
      groups.push_back({group, deferred});
    group.clear();
    deferred.clear();
    deferredSet.clear();
    deferredReads = {};
  };
  // Whether `op` (or an op nested in it) uses a deferred value.
  auto usesDeferred = [&](Operation *op) {
    return op
        ->walk([&](Operation *nested) {
          for (Value operand : nested->getOperands())
            if (deferredSet.contains(operand.getDefiningOp()))
              return WalkResult::interrupt();
          return WalkResult::advance();
        })
        .wasInterrupted();
  };
  for (Operation &op : block) {
    if (isa<scf::ParallelOp, gpu::LaunchOp>(op)) {
      std::optional<MappedLoop> loop =
          isa<scf::ParallelOp>(op) ? mappedLoop(cast<scf::ParallelOp>(op))
                                   : launchedKernel(cast<gpu::LaunchOp>(op));
      if (!loop) {
        close();
        continue;
      }
      int64_t blocks = loop->blocks, threads = loop->threads,
              sharedBytes = loop->sharedBytes;
      for (const MappedLoop &member : group) {
        blocks += member.blocks;
        threads = std::max(threads, member.threads);
        sharedBytes += member.sharedBytes;
      }
      // A kernel runs with all its threads (its barriers wait for them).
      auto fits = [&](const MappedLoop &member) {
        return !member.isLaunch() || member.threads == threads;
      };
      bool joins = blocks <= kMaxBlocks && loop->threads <= kMaxThreads &&
                   sharedBytes <= kStaticSharedBytes && fits(*loop) &&
                   llvm::all_of(group, fits) &&
                   llvm::all_of(group,
                                [&](const MappedLoop &member) {
                                  return independent(member, *loop);
                                }) &&
                   !conflict(deferredReads, loop->accesses) &&
                   !usesDeferred(&op);
      if (!joins)
        close();
      group.push_back(*loop);
      continue;
    }
    if (usesDeferred(&op)) {
      // Computed from a deferred read: moves with it where it is pure
      // (the count's arithmetic), else the group ends here.
      if (isPure(&op) && op.getNumRegions() == 0 &&
          !op.hasTrait<OpTrait::IsTerminator>()) {
        deferred.push_back(&op);
        deferredSet.insert(&op);
      } else {
        close();
      }
      continue;
    }
    if (touchesNoMemory(op))
      continue;
    if (std::optional<BufferAccesses> read = deferrableRead(op);
        read && !group.empty()) {
      deferred.push_back(&op);
      deferredSet.insert(&op);
      llvm::append_range(deferredReads.reads, read->reads);
      continue;
    }
    close();
  }
  close();
  for (auto &[g, moved] : groups)
    mergeGroup(g, moved);
}

struct MergeIndependentLoopsPass
    : heed::impl::MergeIndependentLoopsBase<MergeIndependentLoopsPass> {
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *block) {
      // Not inside a mapped loop or a kernel (its threads are not
      // launches).
      Operation *parent = block->getParentOp();
      if (!parent->getParentOfType<scf::ParallelOp>() &&
          !isa<scf::ParallelOp>(parent) &&
          !parent->getParentOfType<gpu::LaunchOp>() &&
          !isa<gpu::LaunchOp>(parent))
        blocks.push_back(block);
    });
    for (Block *block : blocks)
      mergeIn(*block);
  }
};

} // namespace
