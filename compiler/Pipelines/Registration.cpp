//===- Registration.cpp - Dialects and passes Heed uses -------------------===//
//
// Part of Heed. One place that lists what heed and heed-opt register.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Registration.h"
#include "compiler/Passes.h"
#include "compiler/Pipelines/Pipelines.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

void heed::registerHeedDialects(mlir::DialectRegistry &registry) {
  registry.insert<attn::AttnDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  // The GPU target: kernels to PTX (gpu-module-to-binary), the host's
  // gpu.binary and launches to LLVM IR.
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::registerNVVMDialectTranslation(registry);
  mlir::registerGPUDialectTranslation(registry);
  // #gpu.select_object: embeds the PTX and loads it from a constructor
  // (the JIT's translation of gpu.binary).
  mlir::gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
}

void heed::registerAllHeedPasses() {
  mlir::registerAllPasses();
  registerHeedPasses();
  registerHeedPipelines();
}
