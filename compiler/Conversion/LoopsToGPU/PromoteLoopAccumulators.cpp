//===- PromoteLoopAccumulators.cpp - Reduction sums in registers ----------===//
//
// Part of Heed. See Passes.td (heed-promote-loop-accumulators).
//
// convert-linalg-to-parallel-loops turns a reduction into an scf.for that
// loads its output element, adds a product and stores it back, every
// iteration. On a GPU that element is global memory: each iteration waits
// for the previous one's store before its load, hundreds of cycles, and
// the loads of the multiplicands wait behind it. When nothing else in the
// loop may touch that element, the sum is carried by the loop instead:
// loaded once before it, stored once after it.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BufferAccesses.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

namespace heed {
#define GEN_PASS_DEF_PROMOTELOOPACCUMULATORS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// The loop's trip count where its bounds and step are constants.
int64_t staticTrips(scf::ForOp loop) {
  std::optional<APInt> trips = loop.getStaticTripCount();
  return trips ? trips->getSExtValue() : -1;
}

/// A load and a later store of the same element in `loop`'s body (not
/// nested deeper), its buffer and indices from outside the loop, where no
/// other op of the body may touch that buffer.
std::optional<std::pair<memref::LoadOp, memref::StoreOp>>
findAccumulator(scf::ForOp loop) {
  Block *body = loop.getBody();
  for (auto load : body->getOps<memref::LoadOp>()) {
    if (!loop.isDefinedOutsideOfLoop(load.getMemRef()) ||
        !llvm::all_of(load.getIndices(),
                      [&](Value v) { return loop.isDefinedOutsideOfLoop(v); }))
      continue;
    memref::StoreOp store;
    for (Operation *op = load->getNextNode(); op; op = op->getNextNode())
      if (auto s = dyn_cast<memref::StoreOp>(op);
          s && s.getMemRef() == load.getMemRef() &&
          s.getIndices() == load.getIndices()) {
        store = s;
        break;
      }
    if (!store)
      continue;
    BufferRegion element = regionOf(load.getMemRef());
    bool alone = llvm::all_of(*body, [&](Operation &op) {
      if (&op == load.getOperation() || &op == store.getOperation())
        return true;
      BufferAccesses accesses;
      if (!collectBufferAccesses(&op, accesses))
        return false;
      for (auto *regions : {&accesses.reads, &accesses.writes})
        for (const BufferRegion &r : *regions)
          if (mayOverlap(element, r))
            return false;
      return true;
    });
    if (alone)
      return std::make_pair(load, store);
  }
  return std::nullopt;
}

/// How many iterations of a promoted innermost loop run as one: their
/// loads then issue together instead of one iteration's at a time.
constexpr int64_t kUnroll = 8;

/// Carries each accumulator of `loop` in a loop argument, then unrolls an
/// innermost loop by kUnroll (wholly when shorter).
void promote(scf::ForOp loop) {
  IRRewriter rewriter(loop.getContext());
  bool promoted = false;
  while (auto found = findAccumulator(loop)) {
    auto [load, store] = *found;
    rewriter.setInsertionPoint(loop);
    Value initial = memref::LoadOp::create(rewriter, load.getLoc(),
                                           load.getMemRef(), load.getIndices());
    Value stored = store.getValueToStore();
    auto replaced = loop.replaceWithAdditionalYields(
        rewriter, initial, /*replaceInitOperandUsesInLoop=*/false,
        [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
          return SmallVector<Value>{stored};
        });
    if (failed(replaced))
      break;
    promoted = true;
    loop = cast<scf::ForOp>(replaced->getOperation());
    rewriter.replaceAllUsesWith(load.getResult(),
                                loop.getRegionIterArgs().back());
    rewriter.setInsertionPointAfter(loop);
    memref::StoreOp::create(rewriter, store.getLoc(), loop.getResults().back(),
                            store.getMemRef(), store.getIndices());
    rewriter.eraseOp(store);
    rewriter.eraseOp(load);
  }
  bool innermost = true;
  loop.getBody()->walk([&](LoopLikeOpInterface) { innermost = false; });
  int64_t trips = staticTrips(loop);
  if (!promoted || !innermost || trips < 2)
    return;
  if (trips <= kUnroll)
    (void)loopUnrollFull(loop);
  else
    (void)loopUnrollByFactor(loop, kUnroll);
}

struct PromoteLoopAccumulatorsPass
    : heed::impl::PromoteLoopAccumulatorsBase<PromoteLoopAccumulatorsPass> {
  void runOnOperation() override {
    // Innermost first: a sum promoted out of an inner loop is then a load
    // and a store in its outer loop's body. Loops of a kernel only (in a
    // parallel loop or a launch): a loop of the host code keeps its form,
    // which heed-map-parallel-loops-to-gpu runs as a kernel of one thread
    // (its load before the loop would be the host's, a wait each time).
    SmallVector<scf::ForOp> loops;
    getOperation().walk([&](scf::ForOp loop) {
      // At least one iteration: the store after the loop then stores what
      // the last iteration stored.
      if (staticTrips(loop) >= 1 && (loop->getParentOfType<scf::ParallelOp>() ||
                                     loop->getParentOfType<gpu::LaunchOp>()))
        loops.push_back(loop);
    });
    for (scf::ForOp loop : loops)
      promote(loop);
  }
};

} // namespace
