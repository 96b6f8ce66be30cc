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

#include "compiler/Conversion/LoopsToGPU/BufferAccesses.h"
#include "compiler/Conversion/LoopsToGPU/ParallelLoops.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
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
/// and the buffers (roots) it reads and writes.
struct MappedLoop {
  scf::ParallelOp op;
  int64_t blocks = 0, threads = 0;
  BufferAccesses accesses;
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

/// Whether `later` can run at the same time as `earlier`.
bool independent(const MappedLoop &earlier, const MappedLoop &later) {
  return !conflict(earlier.accesses, later.accesses);
}

/// The loops of `group` as one, where the last one was.
void merge(ArrayRef<MappedLoop> group) {
  scf::ParallelOp last = group.back().op;
  OpBuilder b(last);
  Location loc = last.getLoc();
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  int64_t blocks = 0, threads = 0;
  for (const MappedLoop &loop : group) {
    blocks += loop.blocks;
    threads = std::max(threads, loop.threads);
  }
  auto merged = scf::ParallelOp::create(b, loc, ValueRange{c(0), c(0)},
                                        ValueRange{c(blocks), c(threads)},
                                        ValueRange{c(1), c(1)});
  merged->setAttr("mapping", last->getAttr("mapping"));
  if (llvm::all_of(group,
                   [](const MappedLoop &loop) { return loop.blocks == 1; }))
    merged->setAttr(kOneBlockPartsAttr, b.getUnitAttr());
  b.setInsertionPointToStart(merged.getBody());
  Value block = merged.getInductionVars()[0];
  Value thread = merged.getInductionVars()[1];
  int64_t offset = 0;
  for (MappedLoop loop : llvm::reverse(group)) {
    // This part's blocks are [offset, offset + blocks).
    Value from = c(offset), to = c(offset + loop.blocks);
    Value inRange = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, block, from),
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, block, to));
    if (loop.threads < threads)
      inRange = arith::AndIOp::create(
          b, loc, inRange,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, thread,
                                c(loop.threads)));
    auto part = scf::IfOp::create(b, loc, TypeRange{}, inRange, false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(part.thenBlock()->getTerminator());
    IRMapping map;
    map.map(loop.op.getInductionVars()[0],
            arith::SubIOp::create(b, loc, block, from));
    map.map(loop.op.getInductionVars()[1], thread);
    for (Operation &inner : loop.op.getBody()->without_terminator())
      b.clone(inner, map);
    offset += loop.blocks;
  }
  for (MappedLoop loop : group)
    loop.op.erase();
}

/// Merges runs of independent mapped loops in `block`.
void mergeIn(Block &block) {
  SmallVector<SmallVector<MappedLoop>> groups;
  SmallVector<MappedLoop> group;
  auto close = [&] {
    if (group.size() > 1)
      groups.push_back(group);
    group.clear();
  };
  for (Operation &op : block) {
    if (auto parallel = dyn_cast<scf::ParallelOp>(op)) {
      std::optional<MappedLoop> loop = mappedLoop(parallel);
      if (!loop) {
        close();
        continue;
      }
      int64_t blocks = loop->blocks;
      for (const MappedLoop &member : group)
        blocks += member.blocks;
      bool joins = blocks <= kMaxBlocks && loop->threads <= kMaxThreads &&
                   llvm::all_of(group, [&](const MappedLoop &member) {
                     return independent(member, *loop);
                   });
      if (!joins)
        close();
      group.push_back(*loop);
      continue;
    }
    if (!touchesNoMemory(op))
      close();
  }
  close();
  for (ArrayRef<MappedLoop> g : groups)
    merge(g);
}

struct MergeIndependentLoopsPass
    : heed::impl::MergeIndependentLoopsBase<MergeIndependentLoopsPass> {
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *block) {
      // Not inside a mapped loop (its threads are not launches).
      Operation *parent = block->getParentOp();
      if (!parent->getParentOfType<scf::ParallelOp>() &&
          !isa<scf::ParallelOp>(parent))
        blocks.push_back(block);
    });
    for (Block *block : blocks)
      mergeIn(*block);
  }
};

} // namespace
