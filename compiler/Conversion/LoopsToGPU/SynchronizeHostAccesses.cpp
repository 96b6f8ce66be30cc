//===- SynchronizeHostAccesses.cpp - Waits only where the host reads ------===//
//
// Part of Heed. See Passes.td (heed-synchronize-host-accesses).
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/RuntimeCalls.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace heed {
#define GEN_PASS_DEF_SYNCHRONIZEHOSTACCESSES
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// Whether the host code's `op` reads or writes memory a kernel may use:
/// loads, stores and copies of buffers, a public function's return (its
/// caller reads the results; a private one's callers wait themselves,
/// below) and calls of functions defined elsewhere (the host
/// functions of the module wait where they touch memory themselves), but
/// not the runtime's calls that order themselves after the launched work
/// (`heed.stream_ordered`: heed-lag-stop-tests's).
bool touchesMemory(Operation *op, ModuleOp module) {
  if (isa<memref::LoadOp, memref::StoreOp, memref::CopyOp>(op))
    return true;
  if (isa<func::ReturnOp>(op))
    return !op->getParentOfType<func::FuncOp>().isPrivate();
  if (auto call = dyn_cast<func::CallOp>(op)) {
    auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
    if (callee && callee->hasAttr(heed::kStreamOrderedAttrName))
      return false;
    return call.getCallee() != heed::kGpuSyncName &&
           (!callee || callee.isExternal());
  }
  return false;
}

bool containsLaunch(Operation *op) {
  return op->walk([](gpu::LaunchFuncOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// The module's functions that launch kernels, themselves or through the
/// module's functions they call (an attention's outlined host function).
llvm::DenseSet<StringRef> launchingFunctions(ModuleOp module) {
  llvm::DenseSet<StringRef> launching;
  for (bool grew = true; grew;) {
    grew = false;
    for (auto fn : module.getOps<func::FuncOp>()) {
      if (fn.isExternal() || launching.contains(fn.getSymName()))
        continue;
      bool launches =
          fn->walk([&](Operation *op) {
              auto call = dyn_cast<func::CallOp>(op);
              return isa<gpu::LaunchFuncOp>(op) ||
                             (call && launching.contains(call.getCallee()))
                         ? WalkResult::interrupt()
                         : WalkResult::advance();
            }).wasInterrupted();
      if (launches) {
        launching.insert(fn.getSymName());
        grew = true;
      }
    }
  }
  return launching;
}

/// Inserts the waits in a block of host code, in program order, and says
/// whether it (or a region inside it) launched kernels. Work launched may
/// still run after a launch and until a wait, and (conservatively) at a
/// block's start, where a loop's previous iteration or the code before a
/// branch may have launched.
class WaitInserter {
public:
  WaitInserter(ModuleOp module, func::FuncOp sync)
      : module(module), sync(sync), b(module.getContext()),
        launching(launchingFunctions(module)) {}

  bool run(Block &block) {
    bool pending = true, launched = false;
    for (Operation &op : llvm::make_early_inc_range(block)) {
      if (auto call = dyn_cast<func::CallOp>(op);
          call && call.getCallee() == sync.getSymName()) {
        pending = false;
        continue;
      }
      if (pending && touchesMemory(&op, module)) {
        b.setInsertionPoint(&op);
        func::CallOp::create(b, op.getLoc(), sync, ValueRange{});
        pending = false;
      }
      bool inside = false;
      for (Region &region : op.getRegions())
        for (Block &nested : region)
          inside |= run(nested);
      auto call = dyn_cast<func::CallOp>(op);
      if (inside || isa<gpu::LaunchFuncOp>(op) ||
          (call && launching.contains(call.getCallee()))) {
        pending = launched = true;
      }
    }
    return launched;
  }

private:
  ModuleOp module;
  func::FuncOp sync;
  OpBuilder b;
  llvm::DenseSet<StringRef> launching;
};

struct SynchronizeHostAccessesPass
    : heed::impl::SynchronizeHostAccessesBase<SynchronizeHostAccessesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!containsLaunch(module))
      return;
    OpBuilder b(module.getBodyRegion());
    auto sync = module.lookupSymbol<func::FuncOp>(heed::kGpuSyncName);
    if (!sync) {
      sync = func::FuncOp::create(b, module.getLoc(), heed::kGpuSyncName,
                                  b.getFunctionType({}, {}));
      sync.setPrivate();
    }
    // Host functions only (kernels are gpu.func inside gpu.module).
    WaitInserter inserter(module, sync);
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn.isExternal())
        for (Block &block : fn.getBody())
          inserter.run(block);
  }
};

} // namespace
