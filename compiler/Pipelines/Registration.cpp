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
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"

void heed::registerHeedDialects(mlir::DialectRegistry &registry) {
  registry.insert<attn::AttnDialect>();
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
}

void heed::registerAllHeedPasses() {
  mlir::registerAllPasses();
  registerHeedPasses();
  registerHeedPipelines();
}
