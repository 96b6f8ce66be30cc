//===- MergeKernelModules.cpp - One gpu.module per model ------------------===//
//
// Part of Heed. See Passes.td (heed-merge-gpu-modules).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace heed {
#define GEN_PASS_DEF_MERGEGPUMODULES
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {
struct MergeGPUModulesPass
    : heed::impl::MergeGPUModulesBase<MergeGPUModulesPass> {
  using MergeGPUModulesBase::MergeGPUModulesBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> kernels(module.getOps<gpu::GPUModuleOp>());
    if (kernels.empty())
      return;
    OpBuilder b(kernels.front());
    auto merged =
        gpu::GPUModuleOp::create(b, kernels.front().getLoc(), moduleName);
    SymbolTable mergedSymbols(merged);
    // Outlining names a kernel after its function, and only its module
    // uniquely (@f_kernel_0::@f_kernel): a kernel takes its module's name.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp kernel : kernels) {
      for (Operation &op :
           llvm::make_early_inc_range(kernel.getBody()->getOperations())) {
        auto symbol = dyn_cast<SymbolOpInterface>(op);
        if (!symbol)
          continue;
        StringAttr oldName = symbol.getNameAttr();
        StringAttr newName = oldName;
        if (auto func = dyn_cast<gpu::GPUFuncOp>(op); func && func.isKernel())
          newName = kernel.getNameAttr();
        if (mergedSymbols.lookup(newName)) {
          op.emitError("two kernel modules define '") << newName << "'";
          return signalPassFailure();
        }
        op.remove();
        symbol.setName(newName);
        mergedSymbols.insert(&op);
        renamed[{kernel.getNameAttr(), oldName}] = newName;
      }
    }
    module.walk([&](gpu::LaunchFuncOp launch) {
      StringAttr name = renamed.lookup(
          {launch.getKernelModuleName(), launch.getKernelName()});
      launch.setKernelAttr(SymbolRefAttr::get(b.getStringAttr(moduleName),
                                              {FlatSymbolRefAttr::get(name)}));
    });
    for (gpu::GPUModuleOp kernel : kernels)
      kernel.erase();
  }
};
} // namespace
