//===- SynchronizeHostAccesses.cpp - Waits only where the host reads ------===//
//
// Part of Heed. See Passes.td (heed-synchronize-host-accesses).
//
//===----------------------------------------------------------------------===//

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

constexpr llvm::StringLiteral kSync = "heed_gpu_sync";

/// Whether the host code's `op` reads or writes memory a kernel may use:
/// loads, stores and copies of buffers, the function's return (its caller
/// reads the results) and calls of functions defined elsewhere (the host
/// functions of the module wait where they touch memory themselves).
bool touchesMemory(Operation *op, ModuleOp module) {
  if (isa<memref::LoadOp, memref::StoreOp, memref::CopyOp, func::ReturnOp>(op))
    return true;
  if (auto call = dyn_cast<func::CallOp>(op)) {
    auto callee = module.lookupSymbol<func::FuncOp>(call.getCallee());
    return call.getCallee() != kSync && (!callee || callee.isExternal());
  }
  return false;
}

bool containsLaunch(Operation *op) {
  return op->walk([](gpu::LaunchFuncOp) { return WalkResult::interrupt(); })
      .wasInterrupted();
}

/// Whether the work launched before `op` may still run when it executes:
/// a launch since the last wait in its block, or (conservatively) the
/// block's start, where a loop's previous iteration or the code before a
/// branch may have launched.
bool mayBePending(Operation *op) {
  for (Operation *prev = op->getPrevNode(); prev; prev = prev->getPrevNode()) {
    if (auto call = dyn_cast<func::CallOp>(prev);
        call && call.getCallee() == kSync)
      return false;
    if (containsLaunch(prev))
      return true;
  }
  return true;
}

struct SynchronizeHostAccessesPass
    : heed::impl::SynchronizeHostAccessesBase<SynchronizeHostAccessesPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (!containsLaunch(module))
      return;
    OpBuilder b(module.getBodyRegion());
    auto sync = module.lookupSymbol<func::FuncOp>(kSync);
    if (!sync) {
      sync = func::FuncOp::create(b, module.getLoc(), kSync,
                                  b.getFunctionType({}, {}));
      sync.setPrivate();
    }
    // Host functions only (kernels are gpu.func inside gpu.module), in
    // program order, each wait seen by the accesses after it.
    for (auto fn : module.getOps<func::FuncOp>())
      if (!fn.isExternal())
        fn.walk<WalkOrder::PreOrder>([&](Operation *op) {
          if (!touchesMemory(op, module) || !mayBePending(op))
            return;
          b.setInsertionPoint(op);
          func::CallOp::create(b, op->getLoc(), sync, ValueRange{});
        });
  }
};

} // namespace
