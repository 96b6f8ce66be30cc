//===- PersistentTimeLoops.cpp - A recurrence's steps in one launch -------===//
//
// Part of Heed. See Passes.td (heed-persistent-time-loops).
//
// A recurrent layer at batch 1 is a time loop whose step is one small
// kernel: the date translator's encoder is 30 launches of 2 blocks (one per
// direction), each a few microseconds of launch for well under one of work.
// Where every block of that kernel keeps to itself from step to step (one
// block, or parts of one block each that share no state), the loop runs
// inside the kernel: each thread steps through time and the block waits at
// a barrier after each step. The states each step computes into a new
// buffer alternate between two buffers allocated once. A step that is one
// launch of one block (heed-one-block-steps: a decoder's step at batch 1)
// becomes that launch around the time loop.
//
// On the CPU-run schedule the same loop runs once per block, its threads
// one after another each step: a block that read another block's state
// would read it a whole recurrence early or late, and the goldens would
// fail.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BufferAccesses.h"
#include "compiler/Conversion/LoopsToGPU/ParallelLoops.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace heed {
#define GEN_PASS_DEF_PERSISTENTTIMELOOPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// A time loop whose step is one mapped loop (or one launch of one block:
/// heed-one-block-steps), the states it carries computed into buffers the
/// step allocates.
struct TimeLoop {
  scf::ForOp loop;
  scf::ParallelOp kernel;
  gpu::LaunchOp launch;
  Operation *stepKernel() {
    return kernel ? kernel.getOperation() : launch.getOperation();
  }
  int64_t lower = 0, step = 1, trips = 0;
  int64_t blocks = 0, threads = 0;
  /// The carried buffers (iter arg numbers) and the allocation each step
  /// yields for it.
  SmallVector<unsigned> states;
  SmallVector<memref::AllocOp> allocs;
  /// The carried ownership flags of those buffers (yielded true), and the
  /// ops that free the previous step's buffers under them.
  SmallVector<unsigned> flags;
  SmallVector<Operation *> frees;
};

/// `op` frees the previous step's states under an ownership flag:
/// `scf.if %flag { memref.dealloc (the base of) a carried state ... }`.
bool freesStates(Operation &op, scf::ForOp loop, ArrayRef<unsigned> flags) {
  auto branch = dyn_cast<scf::IfOp>(op);
  if (!branch || branch.getNumResults() != 0 || !branch.getElseRegion().empty())
    return false;
  auto flag = dyn_cast<BlockArgument>(branch.getCondition());
  if (!flag || flag.getOwner() != loop.getBody() ||
      !llvm::is_contained(flags, flag.getArgNumber() - 1))
    return false;
  for (Operation &inner : branch.thenBlock()->without_terminator()) {
    auto free = dyn_cast<memref::DeallocOp>(inner);
    if (!free)
      return false;
    Value freed = free.getMemref();
    if (auto metadata = freed.getDefiningOp<memref::ExtractStridedMetadataOp>())
      freed = metadata.getSource();
    auto state = dyn_cast<BlockArgument>(freed);
    if (!state || state.getOwner() != loop.getBody())
      return false;
  }
  return true;
}

/// Whether no block of `t.kernel` reads or writes a state another block
/// writes: one block, or parts of one block each (a merged loop) each
/// state of which one part at most touches.
bool blocksKeepToThemselves(TimeLoop &t) {
  if (t.blocks == 1)
    return true;
  if (!t.kernel->hasAttr(kOneBlockPartsAttr))
    return false;
  SmallVector<BufferAccesses> parts;
  for (Operation &op : t.kernel.getBody()->without_terminator()) {
    if (isa<scf::IfOp>(op)) {
      parts.emplace_back();
      if (!collectBufferAccesses(&op, parts.back()))
        return false;
    } else if (!isMemoryEffectFree(&op) || op.getNumRegions() != 0) {
      return false;
    }
  }
  if (int64_t(parts.size()) != t.blocks)
    return false;
  for (size_t i = 0; i < t.states.size(); ++i) {
    Value carried = t.loop.getRegionIterArg(t.states[i]);
    Value fresh = t.allocs[i].getResult();
    int touching = 0;
    for (const BufferAccesses &part : parts) {
      auto touches = [&](const std::vector<BufferRegion> &regions) {
        return llvm::any_of(regions, [&](const BufferRegion &r) {
          return r.buffer == carried || r.buffer == fresh;
        });
      };
      touching += touches(part.reads) || touches(part.writes);
    }
    if (touching > 1)
      return false;
  }
  return true;
}

/// A launch of one block (heed-one-block-steps' merged step).
bool isOneBlockLaunch(gpu::LaunchOp launch) {
  std::optional<PlacedLaunchSize> size = placedLaunchSize(launch);
  return size && size->blocks == 1;
}

std::optional<TimeLoop> match(scf::ForOp loop) {
  TimeLoop t;
  t.loop = loop;
  std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound()),
                         upper = getConstantIntValue(loop.getUpperBound()),
                         step = getConstantIntValue(loop.getStep());
  if (!lower || !upper || !step || *step <= 0 || *upper <= *lower)
    return std::nullopt;
  t.lower = *lower;
  t.step = *step;
  t.trips = (*upper - *lower + *step - 1) / *step;
  // The carried values: buffers yielded fresh each step, and their flags.
  auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());
  for (auto [i, arg] : llvm::enumerate(loop.getRegionIterArgs())) {
    Value next = yield.getOperand(i);
    if (isa<MemRefType>(arg.getType())) {
      auto alloc = next.getDefiningOp<memref::AllocOp>();
      if (!alloc || alloc->getBlock() != loop.getBody() ||
          alloc.getType() != arg.getType() ||
          !alloc.getType().hasStaticShape() ||
          !alloc.getDynamicSizes().empty() ||
          !alloc.getSymbolOperands().empty())
        return std::nullopt;
      t.states.push_back(i);
      t.allocs.push_back(alloc);
      continue;
    }
    // A flag starts false: the loop does not own (free) the initial state.
    if (arg.getType().isInteger(1) && matchPattern(next, m_One()) &&
        matchPattern(loop.getInitArgs()[i], m_Zero())) {
      t.flags.push_back(i);
      continue;
    }
    return std::nullopt;
  }
  for (Operation &op : loop.getBody()->without_terminator()) {
    if (auto kernel = dyn_cast<scf::ParallelOp>(op)) {
      if (t.kernel || t.launch)
        return std::nullopt; // two launches a step
      t.kernel = kernel;
      continue;
    }
    if (auto launch = dyn_cast<gpu::LaunchOp>(op)) {
      if (t.kernel || t.launch || !isOneBlockLaunch(launch))
        return std::nullopt;
      t.launch = launch;
      continue;
    }
    if (auto alloc = dyn_cast<memref::AllocOp>(op)) {
      if (!llvm::is_contained(t.allocs, alloc))
        return std::nullopt;
      continue;
    }
    if (freesStates(op, loop, t.flags)) {
      t.frees.push_back(&op);
      continue;
    }
    if (!isMemoryEffectFree(&op) || op.getNumRegions() != 0)
      return std::nullopt;
  }
  if (t.launch) {
    t.blocks = 1;
  } else {
    if (!t.kernel)
      return std::nullopt;
    // The kernel: (block, thread) from 0 by 1 to constants, nothing else.
    std::optional<MappedLoopSize> size = mappedLoopSize(t.kernel);
    if (!size)
      return std::nullopt;
    t.blocks = size->blocks;
    t.threads = size->threads;
  }
  Operation *k = t.stepKernel();
  // Nothing but the step's frees (after the kernel) and the yield may use
  // the flags; nothing but the kernel, the frees and the yield the
  // allocations.
  for (unsigned flag : t.flags)
    for (Operation *user : loop.getRegionIterArg(flag).getUsers())
      if (!llvm::is_contained(t.frees, user))
        return std::nullopt;
  for (memref::AllocOp alloc : t.allocs)
    for (Operation *user : alloc->getUsers())
      if (user != yield.getOperation() && !k->isAncestor(user))
        return std::nullopt;
  if (!blocksKeepToThemselves(t))
    return std::nullopt;
  return t;
}

/// Rewrites `t` into one mapped loop stepping through time (`onHost`: a
/// loop over blocks, each stepping through time over its threads).
void persist(TimeLoop t, bool onHost) {
  scf::ForOp loop = t.loop;
  OpBuilder b(loop);
  Location loc = loop.getLoc();
  auto c = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  // Each state's two buffers: step i writes the (i % 2)th.
  SmallVector<std::array<Value, 2>> buffers;
  for (memref::AllocOp alloc : t.allocs) {
    std::array<Value, 2> pair;
    for (Value &buffer : pair)
      buffer = b.clone(*alloc)->getResult(0);
    buffers.push_back(pair);
  }
  SmallVector<Value> inits;
  for (unsigned state : t.states)
    inits.push_back(loop.getInitArgs()[state]);
  Value lower = loop.getLowerBound(), upper = loop.getUpperBound(),
        step = loop.getStep();

  // One step at `time` for the block `block` and the threads `threads`
  // gives (a loop over the threads on the host, the thread itself on the
  // GPU), the states read from `carried`; returns the states written.
  auto emitStep = [&](OpBuilder &b, Value time, Value block,
                      function_ref<void(OpBuilder &, IRMapping &)> threads,
                      ValueRange carried) {
    IRMapping map;
    map.map(loop.getInductionVar(), time);
    for (auto [state, value] : llvm::zip(t.states, carried))
      map.map(loop.getRegionIterArg(state), value);
    Value index = arith::DivUIOp::create(
        b, loc, arith::SubIOp::create(b, loc, time, c(b, t.lower)),
        c(b, t.step));
    Value even = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::eq,
        arith::RemUIOp::create(b, loc, index, c(b, 2)), c(b, 0));
    SmallVector<Value> written;
    for (auto [alloc, pair] : llvm::zip(t.allocs, buffers)) {
      written.push_back(
          arith::SelectOp::create(b, loc, even, pair[0], pair[1]));
      map.map(alloc.getResult(), written.back());
    }
    for (Operation &op : loop.getBody()->without_terminator()) {
      if (&op == t.stepKernel()) {
        if (t.kernel)
          map.map(t.kernel.getInductionVars()[0], block);
        threads(b, map);
        continue;
      }
      if (isa<memref::AllocOp>(op) || llvm::is_contained(t.frees, &op))
        continue;
      if (isa<memref::ExtractStridedMetadataOp>(op) &&
          llvm::all_of(op.getUsers(), [&](Operation *user) {
            return llvm::any_of(t.frees, [&](Operation *free) {
              return free->isAncestor(user);
            });
          }))
        continue;
      b.clone(op, map);
    }
    return written;
  };
  auto cloneKernelBody = [&](OpBuilder &b, IRMapping &map) {
    for (Operation &op : t.kernel.getBody()->without_terminator())
      b.clone(op, map);
  };
  auto timeLoop = [&](OpBuilder &b, Value block,
                      function_ref<void(OpBuilder &, IRMapping &)> threads,
                      bool barrier) {
    scf::ForOp::create(
        b, loc, lower, upper, step, inits,
        [&](OpBuilder &b, Location, Value time, ValueRange carried) {
          SmallVector<Value> written =
              emitStep(b, time, block, threads, carried);
          if (barrier)
            gpu::BarrierOp::create(b, loc);
          scf::YieldOp::create(b, loc, written);
        });
  };

  if (t.launch) {
    // A launch of one block: the same launch around the time loop. Each
    // step's states are chosen from the time (not carried: on the CPU-run
    // schedule a value carried across the barrier would have to be
    // per thread), the initial ones at the first step.
    gpu::LaunchOp old = t.launch;
    SmallVector<Type> shared;
    for (BlockArgument a : old.getWorkgroupAttributions())
      shared.push_back(a.getType());
    // (Its sizes as constants here: the old ones may be the step's.)
    auto size = [&](Value v) { return c(b, *getConstantIntValue(v)); };
    auto launch = gpu::LaunchOp::create(
        b, loc, c(b, 1), c(b, 1), c(b, 1), size(old.getBlockSizeX()),
        size(old.getBlockSizeY()), size(old.getBlockSizeZ()),
        /*dynamicSharedMemorySize=*/Value(), /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/ValueRange{}, TypeRange(shared));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(&launch.getBody().front());
    scf::ForOp::create(
        b, loc, lower, upper, step, ValueRange{},
        [&](OpBuilder &b, Location, Value time, ValueRange) {
          Value index = arith::DivUIOp::create(
              b, loc, arith::SubIOp::create(b, loc, time, c(b, t.lower)),
              c(b, t.step));
          Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                              index, c(b, 0));
          Value even = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::eq,
              arith::RemUIOp::create(b, loc, index, c(b, 2)), c(b, 0));
          SmallVector<Value> carried;
          for (auto [init, pair] : llvm::zip(inits, buffers))
            carried.push_back(arith::SelectOp::create(
                b, loc, first, init,
                arith::SelectOp::create(b, loc, even, pair[1], pair[0])));
          emitStep(
              b, time, Value(),
              [&](OpBuilder &b, IRMapping &map) {
                // The same ids, sizes and shared buffers, in the same
                // order.
                for (auto [from, to] :
                     llvm::zip_equal(old.getBody().getArguments(),
                                     launch.getBody().getArguments()))
                  map.map(from, to);
                for (Operation &op : old.getBody().front().without_terminator())
                  b.clone(op, map);
              },
              carried);
          gpu::BarrierOp::create(b, loc);
          scf::YieldOp::create(b, loc);
        });
    gpu::TerminatorOp::create(b, loc);
  } else if (onHost) {
    scf::ForOp::create(
        b, loc, c(b, 0), c(b, t.blocks), c(b, 1), ValueRange{},
        [&](OpBuilder &b, Location, Value block, ValueRange) {
          timeLoop(
              b, block,
              [&](OpBuilder &b, IRMapping &map) {
                scf::ForOp::create(
                    b, loc, c(b, 0), c(b, t.threads), c(b, 1), ValueRange{},
                    [&](OpBuilder &b, Location, Value thread, ValueRange) {
                      map.map(t.kernel.getInductionVars()[1], thread);
                      cloneKernelBody(b, map);
                      scf::YieldOp::create(b, loc);
                    });
              },
              /*barrier=*/false);
          scf::YieldOp::create(b, loc);
        });
  } else {
    auto kernel =
        scf::ParallelOp::create(b, loc, ValueRange{c(b, 0), c(b, 0)},
                                ValueRange{c(b, t.blocks), c(b, t.threads)},
                                ValueRange{c(b, 1), c(b, 1)});
    kernel->setAttr("mapping", t.kernel->getAttr("mapping"));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(kernel.getBody());
    Value block = kernel.getInductionVars()[0];
    Value thread = kernel.getInductionVars()[1];
    timeLoop(
        b, block,
        [&](OpBuilder &b, IRMapping &map) {
          map.map(t.kernel.getInductionVars()[1], thread);
          cloneKernelBody(b, map);
        },
        /*barrier=*/true);
  }

  // The last step wrote the ((trips - 1) % 2)th buffers; the others go.
  int64_t last = (t.trips - 1) % 2;
  for (auto [state, pair] : llvm::zip(t.states, buffers)) {
    loop.getResult(state).replaceAllUsesWith(pair[last]);
    memref::DeallocOp::create(b, loc, pair[1 - last]);
  }
  Value owned = arith::ConstantIntOp::create(b, loc, 1, 1);
  for (unsigned flag : t.flags)
    loop.getResult(flag).replaceAllUsesWith(owned);
  loop.erase();
}

struct PersistentTimeLoopsPass
    : heed::impl::PersistentTimeLoopsBase<PersistentTimeLoopsPass> {
  using PersistentTimeLoopsBase::PersistentTimeLoopsBase;

  void runOnOperation() override {
    std::vector<TimeLoop> found;
    getOperation().walk([&](scf::ForOp loop) {
      // Not inside a mapped loop (its threads' own loops).
      if (loop->getParentOfType<scf::ParallelOp>())
        return;
      if (std::optional<TimeLoop> t = match(loop))
        found.push_back(*t);
    });
    for (TimeLoop &t : found)
      persist(t, onHost);
  }
};

} // namespace
