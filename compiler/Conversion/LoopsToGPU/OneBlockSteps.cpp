//===- OneBlockSteps.cpp - A small loop step's kernels as one block -------===//
//
// Part of Heed. See Passes.td (heed-one-block-steps).
//
// A decoder step at batch 1 is a few kernels of one block each (the
// attention rows, a cell's product with a thread per output, the cell, the
// output layer, its softmax), each depending on the one before: launches
// that merging independent loops cannot join. A GPU pays a launch for each
// (on the host, and between dependent kernels on the device) that costs
// more than the kernel's work. Where every kernel of a step is that small,
// the step runs as one block whose threads do each kernel in turn, a
// barrier between them: within a block a barrier makes every thread's
// writes, global memory included, visible to the others. The step is then
// one launch of one block, which heed-persistent-time-loops takes into the
// kernel with all its steps.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Conversion/LoopsToGPU/ParallelLoops.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace heed {
#define GEN_PASS_DEF_ONEBLOCKSTEPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// The block's threads where no kernel of the step fixes them (a kernel
/// with barriers runs with all of its own).
constexpr int64_t kDefaultThreads = 256;
/// The most rounds of a block's threads a loop of the step may take: a
/// thread's rounds run one after another, each waiting for its loads.
constexpr int64_t kMaxRounds = 2;

/// A kernel of the step: a mapped loop (block, thread), a launch of one
/// block, or a call of a function that is such a launch (the attention
/// rows kernels).
struct StepKernel {
  Operation *op;
  int64_t blocks = 0, threads = 0;
  /// The launch, for a launch or a call (the callee's).
  gpu::LaunchOp launch;
  func::FuncOp callee;
  bool hasBarriers = false;
  int64_t sharedBytes = 0;
};

bool holdsBarrier(Operation *op) {
  return op->walk([](gpu::BarrierOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Whether the ops in `op` are ones a block of the step can run as they
/// are: nothing of the gpu dialect but barriers (no thread or block ids
/// read as ops, no shuffles, no launches).
bool plainBody(Operation *op) {
  return !op->walk([&](Operation *inner) {
              if (inner != op && isa<gpu::GPUDialect>(inner->getDialect()) &&
                  !isa<gpu::BarrierOp, gpu::TerminatorOp>(inner))
                return WalkResult::interrupt();
              return WalkResult::advance();
            }).wasInterrupted();
}

/// `launch` as a kernel of the step: one block along x of constant
/// threads, synchronous, static shared memory, a plain body.
std::optional<StepKernel> oneBlockLaunch(gpu::LaunchOp launch) {
  std::optional<PlacedLaunchSize> size = placedLaunchSize(launch);
  if (!size || size->blocks != 1 || !plainBody(launch))
    return std::nullopt;
  return StepKernel{launch,           1,  size->threads,
                    launch,           {}, holdsBarrier(launch),
                    size->sharedBytes};
}

/// The function `call` calls, when it is ops without effects, one launch
/// of one block and the return (heed-build-attention-row-kernels' kernels).
std::optional<StepKernel> launchingCall(func::CallOp call) {
  auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
      call, call.getCalleeAttr());
  if (!callee || callee.isExternal() || !callee.getBody().hasOneBlock() ||
      callee.getNumResults() != 0)
    return std::nullopt;
  gpu::LaunchOp launch;
  for (Operation &op : callee.getBody().front()) {
    if (auto l = dyn_cast<gpu::LaunchOp>(op)) {
      if (launch)
        return std::nullopt;
      launch = l;
    } else if (!isa<func::ReturnOp>(op) &&
               (!isMemoryEffectFree(&op) || op.getNumRegions() != 0)) {
      return std::nullopt;
    }
  }
  if (!launch)
    return std::nullopt;
  std::optional<StepKernel> kernel = oneBlockLaunch(launch);
  if (!kernel)
    return std::nullopt;
  kernel->op = call;
  kernel->callee = callee;
  return kernel;
}

/// `loop` as a kernel of the step: a mapped loop without barriers.
std::optional<StepKernel> mappedKernel(scf::ParallelOp loop) {
  std::optional<MappedLoopSize> size = mappedLoopSize(loop);
  if (!size || holdsBarrier(loop) || !plainBody(loop))
    return std::nullopt;
  return StepKernel{loop, size->blocks, size->threads, {}, {}, false, 0};
}

std::optional<StepKernel> stepKernel(Operation &op) {
  if (auto loop = dyn_cast<scf::ParallelOp>(op))
    return mappedKernel(loop);
  if (auto launch = dyn_cast<gpu::LaunchOp>(op))
    return oneBlockLaunch(launch);
  if (auto call = dyn_cast<func::CallOp>(op))
    return launchingCall(call);
  return std::nullopt;
}

/// The threads of the step's block: those of its launches with barriers
/// or wider than the default, which must agree; else the default.
std::optional<int64_t> blockThreads(ArrayRef<StepKernel> kernels) {
  std::optional<int64_t> fixed;
  for (const StepKernel &k : kernels) {
    if (!k.launch)
      continue;
    if (!k.hasBarriers && k.threads <= kDefaultThreads)
      continue;
    if (fixed && *fixed != k.threads)
      return std::nullopt;
    fixed = k.threads;
  }
  return fixed.value_or(kDefaultThreads);
}

/// Whether `kernels` can be one block of `threads` threads: each loop in
/// at most kMaxRounds rounds, each launch no wider, shared memory within
/// the static limit.
bool fitOneBlock(ArrayRef<StepKernel> kernels, int64_t threads) {
  int64_t shared = 0;
  for (const StepKernel &k : kernels) {
    shared += k.sharedBytes;
    if (k.launch ? k.threads > threads
                 : (k.blocks * k.threads + threads - 1) / threads > kMaxRounds)
      return false;
  }
  return shared <= kStaticSharedBytes;
}

/// `kernels` (in program order) as one launch of one block of `threads`,
/// where the last of them was; each kernel's work in turn, a barrier
/// between them.
void mergeStep(ArrayRef<StepKernel> kernels, int64_t threads) {
  Operation *last = kernels.back().op;
  OpBuilder b(last);
  Location loc = last->getLoc();
  auto c = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<Type> shared;
  for (StepKernel k : kernels)
    if (k.launch)
      for (BlockArgument a : k.launch.getWorkgroupAttributions())
        shared.push_back(a.getType());
  auto merged = gpu::LaunchOp::create(
      b, loc, c(b, 1), c(b, 1), c(b, 1), c(b, threads), c(b, 1), c(b, 1),
      /*dynamicSharedMemorySize=*/Value(), /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange{}, TypeRange(shared));
  b.setInsertionPointToEnd(&merged.getBody().front());
  Value thread = merged.getThreadIds().x;
  size_t sharedUsed = 0;
  for (size_t i = 0; i < kernels.size(); ++i) {
    StepKernel k = kernels[i];
    if (i != 0)
      gpu::BarrierOp::create(b, loc);
    IRMapping map;
    if (k.launch) {
      if (k.callee) {
        auto call = cast<func::CallOp>(k.op);
        for (auto [arg, operand] :
             llvm::zip(k.callee.getArguments(), call.getOperands()))
          map.map(arg, operand);
        // The callee's constants and index math, before its kernel.
        for (Operation &op : k.callee.getBody().front())
          if (!isa<gpu::LaunchOp, func::ReturnOp>(op))
            b.clone(op, map);
      }
      gpu::LaunchOp launch = k.launch;
      gpu::KernelDim3 ids = launch.getBlockIds(), tids = launch.getThreadIds(),
                      grid = launch.getGridSize(), size = launch.getBlockSize();
      for (Value id : {ids.x, ids.y, ids.z})
        map.map(id, c(b, 0));
      for (Value one : {grid.x, grid.y, grid.z, size.y, size.z})
        map.map(one, c(b, 1));
      map.map(tids.y, c(b, 0));
      map.map(tids.z, c(b, 0));
      map.map(size.x, c(b, k.threads));
      for (BlockArgument a : launch.getWorkgroupAttributions())
        map.map(a, merged.getWorkgroupAttributions()[sharedUsed++]);
      map.map(tids.x, thread);
      OpBuilder::InsertionGuard guard(b);
      if (k.threads < threads) {
        // Fewer threads (and no barriers): the others skip it.
        Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                             thread, c(b, k.threads));
        auto part = scf::IfOp::create(b, loc, TypeRange{}, inside, false);
        b.setInsertionPoint(part.thenBlock()->getTerminator());
      }
      for (Operation &op : launch.getBody().front().without_terminator())
        b.clone(op, map);
      continue;
    }
    // A mapped loop: its (block, thread) iterations in rounds of the
    // block's threads, iteration i at (i / its threads, i % its threads).
    auto loop = cast<scf::ParallelOp>(k.op);
    scf::ForOp::create(
        b, loc, thread, c(b, k.blocks * k.threads), c(b, threads), ValueRange{},
        [&](OpBuilder &b, Location, Value i, ValueRange) {
          map.map(loop.getInductionVars()[0],
                  k.blocks == 1 ? c(b, 0)
                                : Value(arith::DivUIOp::create(
                                      b, loc, i, c(b, k.threads))));
          map.map(loop.getInductionVars()[1],
                  k.blocks == 1 ? i
                                : Value(arith::RemUIOp::create(
                                      b, loc, i, c(b, k.threads))));
          for (Operation &op : loop.getBody()->without_terminator())
            b.clone(op, map);
          scf::YieldOp::create(b, loc);
        });
  }
  gpu::TerminatorOp::create(b, loc);
  for (const StepKernel &k : kernels)
    k.op->erase();
}

/// Merges the runs of small kernels in `block`: kernels with nothing
/// between them but ops that touch no memory (views, index math,
/// allocations), which stay where they are, before the merged launch.
void mergeIn(Block &block) {
  SmallVector<SmallVector<StepKernel>> runs;
  SmallVector<StepKernel> run;
  auto close = [&] {
    if (run.size() > 1)
      runs.push_back(run);
    run.clear();
  };
  for (Operation &op : block) {
    if (std::optional<StepKernel> kernel = stepKernel(op)) {
      run.push_back(*kernel);
      std::optional<int64_t> threads = blockThreads(run);
      if (!threads || !fitOneBlock(run, *threads)) {
        run.pop_back();
        close();
        run.push_back(*kernel);
        threads = blockThreads(run);
        if (!threads || !fitOneBlock(run, *threads))
          run.clear();
      }
      continue;
    }
    bool allocates = isa<memref::AllocOp>(op) &&
                     cast<memref::AllocOp>(op).getDynamicSizes().empty() &&
                     cast<memref::AllocOp>(op).getSymbolOperands().empty();
    if (allocates || (isMemoryEffectFree(&op) && op.getNumRegions() == 0 &&
                      !op.hasTrait<OpTrait::IsTerminator>()))
      continue;
    close();
  }
  close();
  for (SmallVector<StepKernel> &kernels : runs)
    mergeStep(kernels, *blockThreads(kernels));
}

struct OneBlockStepsPass : heed::impl::OneBlockStepsBase<OneBlockStepsPass> {
  void runOnOperation() override {
    SmallVector<Block *> steps;
    getOperation()->walk([&](Block *block) {
      // A loop's step on the host (not a kernel's threads' own loops).
      Operation *parent = block->getParentOp();
      if (!isa<scf::ForOp, scf::WhileOp>(parent) ||
          parent->getParentOfType<scf::ParallelOp>() ||
          parent->getParentOfType<gpu::LaunchOp>())
        return;
      if (auto loop = dyn_cast<scf::WhileOp>(parent);
          loop && block != loop.getAfterBody())
        return;
      steps.push_back(block);
    });
    for (Block *block : steps)
      mergeIn(*block);
  }
};

} // namespace
