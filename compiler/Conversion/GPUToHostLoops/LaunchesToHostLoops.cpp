//===- LaunchesToHostLoops.cpp - A kernel's launch run on the host
//---------===//
//
// Part of Heed. See Passes.td (heed-launches-to-host-loops).
//
// A launch's body, as the GPU would run it, becomes loops on the CPU:
// loops over the blocks, and in each block one loop over the threads per
// stretch between barriers. What a thread computes in one stretch and uses
// in another waits in an array indexed by the thread (its "home"); what is
// the same for every thread of a block (block ids, sizes, index math on
// them, the bounds and index of a loop that holds barriers) is computed
// once per block, outside the thread loops. A loop or branch that holds
// barriers must be the same for the whole block: its bounds or condition
// are such values, and it runs at block level, its body split the same way.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SmallPtrSet.h"

namespace heed {
#define GEN_PASS_DEF_LAUNCHESTOHOSTLOOPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// Whether `op` is or holds a barrier (a point every thread of the block
/// reaches before any goes on).
bool holdsBarrier(Operation *op) {
  return op->walk([](gpu::BarrierOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// A builder at the entry of the function `op` is in.
OpBuilder entryOf(Operation *op) {
  OpBuilder b(op);
  return atFunctionEntry(b);
}

/// One launch lowered to loops at its place.
class HostLaunch {
public:
  HostLaunch(gpu::LaunchOp launch) : launch(launch), entry(entryOf(launch)) {}

  /// The loops, or a failure (a diagnostic on the op that has no host
  /// form); the launch is erased only on success.
  LogicalResult lower();

private:
  gpu::LaunchOp launch;
  OpBuilder entry;
  int64_t threads = 0;
  /// The thread loops' bounds and step (defined before the launch).
  Value zero, one;
  /// Values computed at block level, by the original value.
  IRMapping uniform;
  /// The per-thread arrays of values used beyond their stretch.
  DenseMap<Value, Value> homes;
  /// Uniformity of values inside the launch, computed once each.
  DenseMap<Value, bool> uniformity;

  Location loc() { return launch.getLoc(); }
  bool insideLaunch(Value v) {
    return launch.getBody().isAncestor(v.getParentRegion());
  }
  bool isUniform(Value v);
  bool isUniformOp(Operation *op);
  FailureOr<Value> home(Value v);
  LogicalResult sequence(OpBuilder &b, Block &body);
  LogicalResult stretch(OpBuilder &b, ArrayRef<Operation *> ops);
  LogicalResult branch(OpBuilder &b, scf::IfOp op);
  LogicalResult loop(OpBuilder &b, scf::ForOp op);
  LogicalResult available(OpBuilder &b, Value thread, IRMapping &local,
                          Value v);
  /// A thread loop at `b` whose body `fn` fills, given the thread.
  void eachThread(OpBuilder &b, function_ref<void(OpBuilder &, Value)> fn);
};

bool HostLaunch::isUniform(Value v) {
  if (!insideLaunch(v) || uniform.contains(v))
    return true;
  auto [it, inserted] = uniformity.try_emplace(v, false);
  if (!inserted)
    return it->second;
  Operation *def = v.getDefiningOp();
  bool result = def && isUniformOp(def);
  uniformity[v] = result;
  return result;
}

bool HostLaunch::isUniformOp(Operation *op) {
  return isPure(op) && op->getNumRegions() == 0 &&
         llvm::all_of(op->getOperands(),
                      [&](Value operand) { return isUniform(operand); });
}

FailureOr<Value> HostLaunch::home(Value v) {
  auto it = homes.find(v);
  if (it != homes.end())
    return it->second;
  Type type = v.getType();
  if (!type.isIntOrIndexOrFloat() && !isa<VectorType>(type))
    return failure();
  Value array =
      memref::AllocaOp::create(entry, loc(), MemRefType::get({threads}, type));
  homes[v] = array;
  return array;
}

void HostLaunch::eachThread(OpBuilder &b,
                            function_ref<void(OpBuilder &, Value)> fn) {
  auto forOp = scf::ForOp::create(b, loc(), zero, launch.getBlockSizeX(), one);
  OpBuilder inner = OpBuilder::atBlockTerminator(forOp.getBody());
  fn(inner, forOp.getInductionVar());
}

LogicalResult HostLaunch::available(OpBuilder &b, Value thread,
                                    IRMapping &local, Value v) {
  if (local.contains(v) || !insideLaunch(v))
    return success();
  if (Value u = uniform.lookupOrNull(v)) {
    local.map(v, u);
    return success();
  }
  if (v == launch.getThreadIds().x) {
    local.map(v, thread);
    return success();
  }
  auto it = homes.find(v);
  if (it == homes.end())
    return launch.emitOpError("has no host form: a value crosses a barrier "
                              "with no home");
  local.map(v, memref::LoadOp::create(b, loc(), it->second, thread));
  return success();
}

LogicalResult HostLaunch::stretch(OpBuilder &b, ArrayRef<Operation *> ops) {
  if (ops.empty())
    return success();
  SmallPtrSet<Operation *, 16> members(ops.begin(), ops.end());
  // Whether `user` lies outside this stretch (in a later one, or it is the
  // terminator of the block the stretch is in).
  auto outside = [&](Operation *user) {
    Operation *ancestor = ops.front()->getBlock()->findAncestorOpInBlock(*user);
    return !ancestor || !members.contains(ancestor);
  };
  LogicalResult result = success();
  // The block-level ops first, before the thread loop (they read only
  // block-level values, computed before).
  bool threadOps = false;
  for (Operation *op : ops) {
    if (isUniformOp(op))
      b.clone(*op, uniform);
    else
      threadOps = true;
  }
  if (!threadOps)
    return success();
  eachThread(b, [&](OpBuilder &tb, Value thread) {
    IRMapping local;
    for (Operation *op : ops) {
      if (failed(result) || isUniformOp(op))
        continue;
      // Every value the op (or its regions) reads from before it.
      op->walk([&](Operation *nested) {
        for (Value operand : nested->getOperands())
          if (!op->isAncestor(operand.getParentRegion()->getParentOp()))
            if (failed(available(tb, thread, local, operand)))
              result = failure();
      });
      if (failed(result))
        return;
      Operation *copy = tb.clone(*op, local);
      for (auto [original, value] :
           llvm::zip_equal(op->getResults(), copy->getResults())) {
        if (llvm::none_of(original.getUsers(), outside))
          continue;
        FailureOr<Value> array = home(original);
        if (failed(array)) {
          result = op->emitOpError("has no host form: its result of type ")
                   << original.getType() << " crosses a barrier";
          return;
        }
        memref::StoreOp::create(tb, loc(), value, *array, thread);
      }
    }
  });
  return result;
}

LogicalResult HostLaunch::sequence(OpBuilder &b, Block &body) {
  SmallVector<Operation *> ops;
  for (Operation &op : body.without_terminator()) {
    if (isa<gpu::BarrierOp>(op)) {
      if (failed(stretch(b, ops)))
        return failure();
      ops.clear();
      continue;
    }
    if (!holdsBarrier(&op)) {
      ops.push_back(&op);
      continue;
    }
    if (failed(stretch(b, ops)))
      return failure();
    ops.clear();
    if (auto ifOp = dyn_cast<scf::IfOp>(op)) {
      if (failed(branch(b, ifOp)))
        return failure();
    } else if (auto forOp = dyn_cast<scf::ForOp>(op)) {
      if (failed(loop(b, forOp)))
        return failure();
    } else {
      return op.emitOpError("has no host form: a barrier inside it");
    }
  }
  return stretch(b, ops);
}

LogicalResult HostLaunch::branch(OpBuilder &b, scf::IfOp op) {
  if (op.getNumResults() != 0 || !isUniform(op.getCondition()))
    return op.emitOpError("has no host form: a barrier under a condition "
                          "that is not the block's or with results");
  auto copy = scf::IfOp::create(b, loc(), TypeRange{},
                                uniform.lookupOrDefault(op.getCondition()),
                                !op.getElseRegion().empty());
  OpBuilder thenB = OpBuilder::atBlockTerminator(copy.thenBlock());
  if (failed(sequence(thenB, *op.thenBlock())))
    return failure();
  if (op.getElseRegion().empty())
    return success();
  OpBuilder elseB = OpBuilder::atBlockTerminator(copy.elseBlock());
  return sequence(elseB, *op.elseBlock());
}

LogicalResult HostLaunch::loop(OpBuilder &b, scf::ForOp op) {
  if (!isUniform(op.getLowerBound()) || !isUniform(op.getUpperBound()) ||
      !isUniform(op.getStep()))
    return op.emitOpError("has no host form: a barrier in a loop whose "
                          "bounds are not the block's");
  // Each carried value's home, filled by every thread before the loop and
  // after each step; the loop's results are read from there.
  SmallVector<Value> carried;
  for (BlockArgument arg : op.getRegionIterArgs()) {
    FailureOr<Value> array = home(arg);
    if (failed(array))
      return op.emitOpError("has no host form: it carries a ") << arg.getType();
    carried.push_back(*array);
  }
  // Carried values at the stretches' rate: every thread's new values are
  // stored after all threads have read the old ones.
  auto storeAll = [&](OpBuilder &at, ValueRange values) -> LogicalResult {
    LogicalResult result = success();
    if (values.empty())
      return result;
    eachThread(at, [&](OpBuilder &tb, Value thread) {
      IRMapping local;
      SmallVector<Value> read;
      for (Value v : values) {
        if (failed(available(tb, thread, local, v)))
          result = failure();
        else
          read.push_back(local.lookupOrDefault(v));
      }
      if (succeeded(result))
        for (auto [v, array] : llvm::zip_equal(read, carried))
          memref::StoreOp::create(tb, loc(), v, array, thread);
    });
    return result;
  };
  if (failed(storeAll(b, op.getInitArgs())))
    return failure();
  auto copy =
      scf::ForOp::create(b, loc(), uniform.lookupOrDefault(op.getLowerBound()),
                         uniform.lookupOrDefault(op.getUpperBound()),
                         uniform.lookupOrDefault(op.getStep()));
  uniform.map(op.getInductionVar(), copy.getInductionVar());
  OpBuilder body = OpBuilder::atBlockTerminator(copy.getBody());
  if (failed(sequence(body, *op.getBody())))
    return failure();
  auto yield = cast<scf::YieldOp>(op.getBody()->getTerminator());
  if (failed(storeAll(body, yield.getOperands())))
    return failure();
  for (auto [result, array] : llvm::zip_equal(op.getResults(), carried))
    homes[result] = array;
  return success();
}

LogicalResult HostLaunch::lower() {
  auto constantOf = [](Value v) { return getConstantIntValue(v); };
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
      launch.getDynamicSharedMemorySize() || launch.hasClusterSize() ||
      !launch.getPrivateAttributions().empty() ||
      !launch.getBody().hasOneBlock() ||
      constantOf(launch.getBlockSizeY()) != 1 ||
      constantOf(launch.getBlockSizeZ()) != 1 ||
      !constantOf(launch.getBlockSizeX()))
    return launch.emitOpError(
        "has no host form: only a synchronous launch of one block of "
        "constant threads along x, its shared memory static");
  threads = *constantOf(launch.getBlockSizeX());
  // Anything that names a thread, block or size other than through the
  // body's arguments, or a warp's lanes, has no host form here.
  WalkResult unknown = launch.getBody().walk([](Operation *op) {
    if (!isa<gpu::ThreadIdOp, gpu::BlockIdOp, gpu::BlockDimOp, gpu::GridDimOp,
             gpu::LaneIdOp, gpu::ShuffleOp, gpu::SubgroupReduceOp,
             gpu::DynamicSharedMemoryOp>(op))
      return WalkResult::advance();
    op->emitOpError("has no host form (heed-launches-to-host-loops)");
    return WalkResult::interrupt();
  });
  if (unknown.wasInterrupted())
    return failure();
  // Shared buffers: stack arrays at the function's entry (read and written
  // only by loads and stores, whose types do not name the memory space).
  for (BlockArgument shared : launch.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(shared.getType());
    for (Operation *user : shared.getUsers())
      if (!isa<memref::LoadOp, memref::StoreOp, vector::LoadOp,
               vector::StoreOp>(user))
        return user->emitOpError("has no host form: a shared buffer read "
                                 "other than by loads and stores");
    uniform.map(shared,
                memref::AllocaOp::create(
                    entry, loc(),
                    MemRefType::get(type.getShape(), type.getElementType()),
                    ValueRange{}, ValueRange{}, entry.getI64IntegerAttr(16)));
  }
  OpBuilder b(launch);
  gpu::KernelDim3 grid = launch.getGridSize(), size = launch.getBlockSize(),
                  ids = launch.getBlockIds(), tids = launch.getThreadIds();
  uniform.map(grid.x, launch.getGridSizeX());
  uniform.map(grid.y, launch.getGridSizeY());
  uniform.map(grid.z, launch.getGridSizeZ());
  uniform.map(size.x, launch.getBlockSizeX());
  uniform.map(size.y, launch.getBlockSizeY());
  uniform.map(size.z, launch.getBlockSizeZ());
  zero = arith::ConstantIndexOp::create(b, loc(), 0);
  one = arith::ConstantIndexOp::create(b, loc(), 1);
  uniform.map(tids.y, zero);
  uniform.map(tids.z, zero);
  // One loop per grid axis, x innermost.
  OpBuilder bx = b;
  Value blockIds[3];
  Value gridSizes[3] = {launch.getGridSizeZ(), launch.getGridSizeY(),
                        launch.getGridSizeX()};
  for (int axis = 0; axis < 3; ++axis) {
    auto forOp = scf::ForOp::create(bx, loc(), zero, gridSizes[axis], one);
    blockIds[axis] = forOp.getInductionVar();
    bx = OpBuilder::atBlockTerminator(forOp.getBody());
  }
  uniform.map(ids.z, blockIds[0]);
  uniform.map(ids.y, blockIds[1]);
  uniform.map(ids.x, blockIds[2]);
  LogicalResult result = sequence(bx, launch.getBody().front());
  if (failed(result))
    return failure();
  launch.erase();
  return success();
}

struct LaunchesToHostLoopsPass
    : heed::impl::LaunchesToHostLoopsBase<LaunchesToHostLoopsPass> {
  void runOnOperation() override {
    SmallVector<gpu::LaunchOp> launches;
    getOperation()->walk([&](gpu::LaunchOp op) { launches.push_back(op); });
    for (gpu::LaunchOp launch : launches)
      if (failed(HostLaunch(launch).lower()))
        return signalPassFailure();
  }
};

} // namespace
