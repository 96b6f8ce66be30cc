//===- MapParallelLoops.cpp - Parallel loop nests onto blocks and threads -===//
//
// Part of Heed. See Passes.td (heed-map-parallel-loops-to-gpu).
//
// Every outermost scf.parallel (one per linalg op after
// convert-linalg-to-parallel-loops, or a memref.copy rewritten here) becomes
// a two-dimensional scf.parallel over (block, thread) whose body computes
// the linear index `block * threads + thread`, skips indices past the trip
// count, and recovers the original induction variables with the innermost
// one fastest, so neighbouring threads touch neighbouring elements. The
// mapping attributes say block_x and thread_x; convert-parallel-loops-to-gpu
// turns the loop into a gpu.launch. Before that the loop is ordinary IR: the
// CPU pipeline can run it (heed --target=gpu-schedule-on-cpu), which checks
// this arithmetic without a GPU.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/ParallelLoops.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/ParallelLoopMapper.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"

#include <functional>

#include <limits>

namespace heed {
#define GEN_PASS_DEF_MAPPARALLELLOOPSTOGPU
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// A linalg op with no parallel dim (a reduction to one value: the argmax
/// over a vocabulary at batch 1) is an `scf.for` nest outside any parallel
/// loop: host code that would read the kernels' results, and make the host
/// wait for them. Such a nest (results none, f32 buffers only, nothing but
/// loads, stores, arithmetic and inner loops) runs on one thread instead.
bool isSerialComputation(scf::ForOp loop) {
  if (loop.getNumResults() || loop->getParentOfType<scf::ParallelOp>() ||
      loop->getParentOfType<gpu::LaunchOp>())
    return false;
  bool stores = false, other = false;
  loop.walk([&](Operation *op) {
    if (auto store = dyn_cast<memref::StoreOp>(op)) {
      stores = true;
      other |= !store.getMemRefType().getElementType().isF32();
    } else if (auto load = dyn_cast<memref::LoadOp>(op)) {
      other |= !load.getMemRefType().getElementType().isF32();
    } else if (!isa<scf::ForOp, scf::YieldOp, scf::IfOp>(op) &&
               !isPure(op)) {
      other = true;
    }
  });
  return stores && !other;
}

/// `loop` inside a one-iteration scf.parallel, which the mapping below
/// makes one thread's work.
void wrapInOneIteration(scf::ForOp loop) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto parallel = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                          ValueRange{one}, ValueRange{one});
  loop->moveBefore(parallel.getBody()->getTerminator());
}

/// Whether `op` may join a stretch of host scalar work that moves onto one
/// thread: an f32 load or store (not of a stack array: a CPU-run kernel's
/// shared memory), or an op without effects or regions.
bool isScalarWork(Operation &op) {
  auto heapF32 = [](Value memref) {
    return cast<MemRefType>(memref.getType()).getElementType().isF32() &&
           !memref.getDefiningOp<memref::AllocaOp>();
  };
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return heapF32(load.getMemRef());
  if (auto store = dyn_cast<memref::StoreOp>(op))
    return heapF32(store.getMemRef());
  return op.getNumRegions() == 0 && isPure(&op) &&
         !op.hasTrait<OpTrait::IsTerminator>();
}

bool containsParallelWork(Operation &op) {
  return op
      .walk([](Operation *inner) {
        return isa<scf::ParallelOp, gpu::LaunchOp>(inner)
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}

/// Elementwise ops on single-element buffers (a decoder step's bookkeeping
/// at batch 1: its single-iteration loops fold away) are host loads,
/// arithmetic and stores between launches, each load a wait for the
/// kernels. In each stretch of such ops in a host block, the stores and
/// what they are computed from within the stretch move into a one-iteration
/// parallel loop (one thread), when nothing else uses those values: a value
/// the host itself needs (a loop's bound or test) keeps its load on the
/// host.
void moveScalarWorkToOneThread(Block &block) {
  auto moveStretch = [](ArrayRef<Operation *> stretch) {
    llvm::SetVector<Operation *> moved;
    SmallVector<Operation *> work;
    for (Operation *op : stretch)
      if (isa<memref::StoreOp>(op))
        work.push_back(op);
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      if (!moved.insert(op))
        continue;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && llvm::is_contained(stretch, def))
          work.push_back(def);
    }
    if (moved.empty())
      return;
    // A value used outside as well: a pure op computed from no load (a
    // view, an index) is computed in both places; else the host needs it.
    std::function<bool(Operation *)> readsMemory = [&](Operation *op) {
      if (isa<memref::LoadOp>(op))
        return true;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && moved.contains(def) && readsMemory(def))
          return true;
      return false;
    };
    llvm::SmallPtrSet<Operation *, 8> cloned;
    SmallVector<Operation *> cloneWork;
    for (Operation *op : moved)
      for (Operation *user : op->getUsers())
        if (!moved.contains(user)) {
          if (readsMemory(op))
            return;
          cloneWork.push_back(op);
        }
    // What a value computed in both places is computed from, too (pure: it
    // reads no memory either).
    while (!cloneWork.empty()) {
      Operation *op = cloneWork.pop_back_val();
      if (!cloned.insert(op).second)
        continue;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp();
            def && moved.contains(def))
          cloneWork.push_back(def);
    }
    SmallVector<Operation *> ordered(moved.begin(), moved.end());
    llvm::sort(ordered, [](Operation *a, Operation *b) {
      return a->isBeforeInBlock(b);
    });
    // The moved ops run where the first was: no load the host keeps may lie
    // between them (a store moved before it could change what it reads).
    for (Operation *op : stretch)
      if (!moved.contains(op) && isa<memref::LoadOp>(op) &&
          ordered.front()->isBeforeInBlock(op) &&
          op->isBeforeInBlock(ordered.back()))
        return;
    OpBuilder b(ordered.front());
    Location loc = ordered.front()->getLoc();
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto parallel = scf::ParallelOp::create(b, loc, ValueRange{zero},
                                            ValueRange{one}, ValueRange{one});
    OpBuilder inside = OpBuilder::atBlockTerminator(parallel.getBody());
    IRMapping copies;
    for (Operation *op : ordered) {
      if (cloned.contains(op))
        inside.clone(*op, copies);
      else
        op->moveBefore(parallel.getBody()->getTerminator());
    }
    for (Operation *op : ordered)
      if (!cloned.contains(op))
        for (OpOperand &use : op->getOpOperands())
          if (Value copy = copies.lookupOrNull(use.get()))
            use.set(copy);
  };
  SmallVector<Operation *> stretch;
  auto flush = [&] {
    moveStretch(stretch);
    stretch.clear();
  };
  for (Operation &op : llvm::make_early_inc_range(block)) {
    if (isScalarWork(op)) {
      stretch.push_back(&op);
      continue;
    }
    flush();
    // Host control flow around kernels (a decoder's loop, a branch); not
    // kernels themselves, nor loops without kernels (a CPU-run kernel's
    // loops over its blocks and threads).
    if (isa<scf::ParallelOp, gpu::LaunchOp>(op) || !containsParallelWork(op))
      continue;
    for (Region &region : op.getRegions())
      for (Block &nested : region)
        moveScalarWorkToOneThread(nested);
  }
  flush();
}

/// Whether `loop` runs its body once (every dim from 0 to 1).
bool runsOnce(scf::ParallelOp loop) {
  for (unsigned d = 0; d < loop.getNumLoops(); ++d)
    if (!isConstantIntValue(loop.getLowerBound()[d], 0) ||
        !isConstantIntValue(loop.getUpperBound()[d], 1) ||
        !isConstantIntValue(loop.getStep()[d], 1))
      return false;
  return loop.getNumResults() == 0;
}

/// At most this many iterations, each without loops inside, one thread
/// runs in order for less than a launch of their own costs.
constexpr int64_t kFewIterations = 16;

/// Whether `loop` has few iterations (more than one) and a straight body.
bool runsFewTimes(scf::ParallelOp loop) {
  int64_t trips = 1;
  for (unsigned d = 0; d < loop.getNumLoops(); ++d) {
    std::optional<int64_t> n = heed::tripCount(loop, d);
    if (!n)
      return false;
    trips *= *n;
  }
  bool straight = !loop.getBody()
                       ->walk([](Operation *op) {
                         return isa<LoopLikeOpInterface>(op)
                                    ? WalkResult::interrupt()
                                    : WalkResult::advance();
                       })
                       .wasInterrupted();
  return trips > 1 && trips <= kFewIterations && straight &&
         loop.getNumResults() == 0;
}

/// `loop` as a loop that runs once, its iterations in order inside.
void runInOrder(scf::ParallelOp loop) {
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  scf::ParallelOp::create(
      b, loc, ValueRange{zero}, ValueRange{one}, ValueRange{one},
      [&](OpBuilder &nb, Location l, ValueRange) {
        scf::buildLoopNest(
            nb, l, loop.getLowerBound(), loop.getUpperBound(), loop.getStep(),
            [&](OpBuilder &ib, Location il, ValueRange ivs) {
              IRMapping map;
              map.map(loop.getInductionVars(), ivs);
              for (Operation &op : loop.getBody()->without_terminator())
                ib.clone(op, map);
            });
      });
  loop.erase();
}

/// Whether `op` may stand between loops that become one: no effects, or
/// an allocation.
bool canStandBetween(Operation &op) {
  return isPure(&op) || isa<memref::AllocOp>(op);
}

/// Neighbouring loops that run once (a decoder step's bookkeeping at batch
/// 1, one-thread work) become one: each would be a launch of its own, and
/// one thread runs their bodies in order whatever they share. So do loops
/// of a few straight iterations next to such a loop or to each other (a
/// softmax over a dozen words at batch 1: its maximum and sum run once,
/// its exponentials between them), their iterations in order. Only ops
/// without effects, and allocations, may lie between them; the first
/// body moves to the start of the second, where everything it uses is
/// defined.
void mergeLoopsThatRunOnce(Block &block) {
  SmallVector<scf::ParallelOp> run;
  auto closeRun = [&] {
    if (run.size() > 1)
      for (scf::ParallelOp loop : run)
        if (!runsOnce(loop))
          runInOrder(loop);
    run.clear();
  };
  for (Operation &op : llvm::make_early_inc_range(block)) {
    auto loop = dyn_cast<scf::ParallelOp>(op);
    if (loop && (runsOnce(loop) || runsFewTimes(loop)))
      run.push_back(loop);
    else if (!canStandBetween(op))
      closeRun();
  }
  closeRun();

  scf::ParallelOp previous;
  for (Operation &op : llvm::make_early_inc_range(block)) {
    auto loop = dyn_cast<scf::ParallelOp>(op);
    if (loop && runsOnce(loop)) {
      if (previous) {
        OpBuilder b(loop.getBody(), loop.getBody()->begin());
        IRMapping ivs;
        for (Value iv : previous.getInductionVars())
          ivs.map(iv, arith::ConstantIndexOp::create(b, iv.getLoc(), 0));
        for (Operation &inner : previous.getBody()->without_terminator())
          b.clone(inner, ivs);
        previous.erase();
      }
      previous = loop;
      continue;
    }
    if (!canStandBetween(op))
      previous = nullptr;
    if (op.getNumRegions() && !isa<scf::ParallelOp, gpu::LaunchOp>(op))
      for (Region &region : op.getRegions())
        for (Block &nested : region)
          mergeLoopsThatRunOnce(nested);
  }
}

struct MapParallelLoopsToGPUPass
    : heed::impl::MapParallelLoopsToGPUBase<MapParallelLoopsToGPUPass> {
  using MapParallelLoopsToGPUBase::MapParallelLoopsToGPUBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (threadsPerBlock < 32 || threadsPerBlock > 1024 ||
        threadsPerBlock % 32) {
      func.emitError("threads-per-block must be a multiple of 32 from 32 to "
                     "1024, not ")
          << static_cast<int64_t>(threadsPerBlock);
      return signalPassFailure();
    }
    SmallVector<memref::CopyOp> copies;
    func.walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    for (memref::CopyOp copy : copies)
      heed::copyAsParallelLoop(copy);

    SmallVector<scf::ForOp> serial;
    func.walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      if (isSerialComputation(loop)) {
        serial.push_back(loop);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    for (scf::ForOp loop : serial)
      wrapInOneIteration(loop);
    for (Block &block : func.getBody()) {
      moveScalarWorkToOneThread(block);
      mergeLoopsThatRunOnce(block);
    }

    SmallVector<scf::ParallelOp> loops;
    func.walk([&](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        loops.push_back(loop);
    });
    for (scf::ParallelOp loop : loops) {
      // (linalg's parallel loops reduce in scf.for loops inside them.)
      if (loop.getNumResults()) {
        loop.emitError("the GPU target cannot map a parallel loop with "
                       "reductions");
        return signalPassFailure();
      }
      if (failed(map(loop)))
        return signalPassFailure();
    }
  }

  LogicalResult map(scf::ParallelOp loop) {
    unsigned rank = loop.getNumLoops();
    SmallVector<int64_t> trips;
    int64_t total = 1;
    for (unsigned d = 0; d < rank; ++d) {
      std::optional<int64_t> n = heed::tripCount(loop, d);
      if (!n)
        return loop.emitError("the GPU target needs parallel loops with "
                              "constant bounds");
      trips.push_back(*n);
      total *= *n;
    }
    if (total == 0) {
      loop.erase();
      return success();
    }
    // Small loops get one block of as many warps as they need.
    int64_t threads =
        std::min<int64_t>(threadsPerBlock, (total + 31) / 32 * 32);
    int64_t blocks = (total + threads - 1) / threads;
    if (blocks > std::numeric_limits<int32_t>::max())
      return loop.emitError("this loop nest needs ")
             << blocks << " blocks of " << threads
             << " threads, more than a grid holds";

    OpBuilder b(loop);
    Location loc = loop.getLoc();
    auto index = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    Value zero = index(0), one = index(1), threadCount = index(threads),
          totalCount = index(total);
    SmallVector<Value> tripCounts, strides;
    int64_t stride = 1;
    for (int d = int(rank) - 1; d >= 0; --d) {
      tripCounts.insert(tripCounts.begin(), index(trips[d]));
      strides.insert(strides.begin(), index(stride));
      stride *= trips[d];
    }
    auto mapped = scf::ParallelOp::create(
        b, loc, ValueRange{zero, zero}, ValueRange{index(blocks), threadCount},
        ValueRange{one, one}, [&](OpBuilder &nb, Location l, ValueRange ids) {
          Value linear = arith::AddIOp::create(
              nb, l, arith::MulIOp::create(nb, l, ids[0], threadCount), ids[1]);
          Value inRange = arith::CmpIOp::create(
              nb, l, arith::CmpIPredicate::ult, linear, totalCount);
          auto guard = scf::IfOp::create(nb, l, inRange, /*else=*/false);
          OpBuilder ib = guard.getThenBodyBuilder();
          // Innermost dimension fastest: i_d = (linear / stride_d) % trip_d.
          IRMapping ivs;
          for (int d = int(rank) - 1; d >= 0; --d) {
            Value i = linear;
            if (d != int(rank) - 1)
              i = arith::DivUIOp::create(ib, l, i, strides[d]);
            if (d != 0)
              i = arith::RemUIOp::create(ib, l, i, tripCounts[d]);
            if (!isConstantIntValue(loop.getStep()[d], 1))
              i = arith::MulIOp::create(ib, l, i, loop.getStep()[d]);
            if (!isConstantIntValue(loop.getLowerBound()[d], 0))
              i = arith::AddIOp::create(ib, l, loop.getLowerBound()[d], i);
            ivs.map(loop.getInductionVars()[d], i);
          }
          for (Operation &op : loop.getBody()->without_terminator())
            ib.clone(op, ivs);
        });
    MLIRContext *ctx = loop.getContext();
    AffineMap identity = AffineMap::getMultiDimIdentityMap(1, ctx);
    auto dim = [&](gpu::Processor processor) {
      return gpu::ParallelLoopDimMappingAttr::get(ctx, processor, identity,
                                                  identity);
    };
    if (failed(gpu::setMappingAttr(mapped, {dim(gpu::Processor::BlockX),
                                            dim(gpu::Processor::ThreadX)})))
      return loop.emitError("cannot map this loop to blocks and threads");
    // Nested parallel loops of the body run in sequence in their thread.
    SmallVector<scf::ParallelOp> nested;
    mapped.getBody()->walk([&](scf::ParallelOp inner) {
      if (inner != mapped)
        nested.push_back(inner);
    });
    for (scf::ParallelOp inner : llvm::reverse(nested))
      if (failed(sequential(inner)))
        return failure();
    loop.erase();
    return success();
  }

  /// `loop` (no reductions) as nested scf.for loops.
  static LogicalResult sequential(scf::ParallelOp loop) {
    if (loop.getNumResults())
      return loop.emitError("the GPU target cannot map a parallel loop with "
                            "reductions");
    OpBuilder b(loop);
    IRMapping ivs;
    for (unsigned d = 0; d < loop.getNumLoops(); ++d) {
      auto inner =
          scf::ForOp::create(b, loop.getLoc(), loop.getLowerBound()[d],
                             loop.getUpperBound()[d], loop.getStep()[d]);
      ivs.map(loop.getInductionVars()[d], inner.getInductionVar());
      b.setInsertionPoint(inner.getBody()->getTerminator());
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, ivs);
    loop.erase();
    return success();
  }
};

} // namespace
