//===- InterleaveIndependentLoops.cpp - One time loop for two -------------===//
//
// Part of Heed. See Passes.td (heed-interleave-independent-loops).
//
// A bidirectional recurrent layer is two time loops, each step a few small
// kernels: at batch 1 every one of them is a launch that costs more than
// its work. When the two loops share nothing, one loop runs both bodies,
// their kernels interleaved (the first direction's first kernel, the
// second's first, ...), so that heed-merge-independent-loops can make each
// pair one launch.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BufferAccesses.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace heed {
#define GEN_PASS_DEF_INTERLEAVEINDEPENDENTLOOPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// How many ops after a loop the other one is looked for.
constexpr int kSearchWindow = 32;

/// The regions `op` reads and writes, knowing kernels (barriers and
/// workgroup buffers are theirs) and, for a loop, its frees of the state it
/// carries.
bool accessesOf(Operation *op, BufferAccesses &accesses) {
  OwnEffects own;
  own.kernels = true;
  own.carriedFrees = true;
  return collectBufferAccesses(op, accesses, own);
}

bool sameBounds(scf::ForOp a, scf::ForOp b) {
  auto same = [](Value x, Value y) {
    std::optional<int64_t> cx = getConstantIntValue(x),
                           cy = getConstantIntValue(y);
    return x == y || (cx && cy && *cx == *cy);
  };
  return same(a.getLowerBound(), b.getLowerBound()) &&
         same(a.getUpperBound(), b.getUpperBound()) &&
         same(a.getStep(), b.getStep());
}

/// A kernel of a step: a launch or a loop nest that becomes one.
bool isKernel(Operation &op) { return isa<scf::ParallelOp, gpu::LaunchOp>(op); }

/// Whether `op` uses a result of `loop` (directly or inside its regions).
bool usesResultOf(Operation *op, scf::ForOp loop) {
  bool uses = false;
  op->walk([&](Operation *inner) {
    for (Value operand : inner->getOperands())
      if (operand.getDefiningOp() == loop)
        uses = true;
  });
  return uses;
}

/// `first` and `second` (later in the same block, `between` the ops that
/// separate them, moved above `first`) as one loop where `first` was.
void interleaveLoops(scf::ForOp first, scf::ForOp second,
                     ArrayRef<Operation *> between) {
  for (Operation *op : between)
    op->moveBefore(first);
  // The bodies in runs that each end with a kernel.
  auto runs = [](scf::ForOp loop) {
    SmallVector<SmallVector<Operation *>> runs(1);
    for (Operation &op : loop.getBody()->without_terminator()) {
      runs.back().push_back(&op);
      if (isKernel(op))
        runs.emplace_back();
    }
    return runs;
  };
  SmallVector<SmallVector<Operation *>> a = runs(first), c = runs(second);
  unsigned n = first.getNumRegionIterArgs();
  SmallVector<Value> inits(first.getInitArgs());
  llvm::append_range(inits, second.getInitArgs());
  OpBuilder b(first);
  auto loop = scf::ForOp::create(
      b, first.getLoc(), first.getLowerBound(), first.getUpperBound(),
      first.getStep(), inits,
      [&](OpBuilder &b, Location loc, Value iv, ValueRange args) {
        IRMapping fromFirst, fromSecond;
        fromFirst.map(first.getInductionVar(), iv);
        fromSecond.map(second.getInductionVar(), iv);
        fromFirst.map(first.getRegionIterArgs(), args.take_front(n));
        fromSecond.map(second.getRegionIterArgs(), args.drop_front(n));
        // The runs alternate: the first's, the second's, the first's, ...
        for (size_t i = 0; i < std::max(a.size(), c.size()); ++i) {
          if (i < a.size())
            for (Operation *op : a[i])
              b.clone(*op, fromFirst);
          if (i < c.size())
            for (Operation *op : c[i])
              b.clone(*op, fromSecond);
        }
        SmallVector<Value> yields;
        for (Value v : first.getYieldedValues())
          yields.push_back(fromFirst.lookupOrDefault(v));
        for (Value v : second.getYieldedValues())
          yields.push_back(fromSecond.lookupOrDefault(v));
        scf::YieldOp::create(b, loc, yields);
      });
  first.replaceAllUsesWith(loop.getResults().take_front(n));
  second.replaceAllUsesWith(loop.getResults().drop_front(n));
  first.erase();
  second.erase();
}

/// Interleaves the first pair of independent loops in `block`; false when
/// there is none.
bool interleaveOnce(Block &block) {
  for (Operation &op : block) {
    auto first = dyn_cast<scf::ForOp>(op);
    BufferAccesses firstAccesses;
    if (!first || !llvm::any_of(first.getBody()->getOperations(), isKernel) ||
        !accessesOf(first, firstAccesses))
      continue;
    SmallVector<Operation *> between;
    Operation *next = first->getNextNode();
    for (int n = 0; next && n < kSearchWindow;
         next = next->getNextNode(), ++n) {
      auto second = dyn_cast<scf::ForOp>(next);
      BufferAccesses secondAccesses;
      if (second && sameBounds(first, second) && !usesResultOf(second, first) &&
          llvm::any_of(second.getBody()->getOperations(), isKernel) &&
          accessesOf(second, secondAccesses) &&
          !conflict(firstAccesses, secondAccesses)) {
        interleaveLoops(first, second, between);
        return true;
      }
      // What stands between must be able to move above `first`.
      BufferAccesses accesses;
      if (next->hasTrait<OpTrait::IsTerminator>() ||
          usesResultOf(next, first) ||
          (!touchesNoMemory(*next) &&
           (!accessesOf(next, accesses) || conflict(accesses, firstAccesses))))
        break;
      between.push_back(next);
    }
  }
  return false;
}

struct InterleaveIndependentLoopsPass
    : heed::impl::InterleaveIndependentLoopsBase<
          InterleaveIndependentLoopsPass> {
  void runOnOperation() override {
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *block) {
      Operation *parent = block->getParentOp();
      if (!isa<scf::ParallelOp, gpu::LaunchOp>(parent) &&
          !parent->getParentOfType<scf::ParallelOp>() &&
          !parent->getParentOfType<gpu::LaunchOp>())
        blocks.push_back(block);
    });
    for (Block *block : blocks)
      while (interleaveOnce(*block)) {
      }
  }
};

} // namespace
