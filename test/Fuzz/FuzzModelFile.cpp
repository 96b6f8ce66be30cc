//===- FuzzModelFile.cpp - libFuzzer harness for the model language ------===//
//
// Part of Heed. A model file through the whole front end: lexer, parser,
// Sema (shapes, id ranges) and IR generation with every symbolic dimension
// bound to 3. Diagnostics are discarded; a crash, a hang or an abort is a
// bug (bad input must always get an error).
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Registration.h"
#include "frontends/dsl/MLIRGen.h"
#include "frontends/dsl/Parser.h"
#include "frontends/dsl/Sema.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>

using namespace heed;

static mlir::MLIRContext &context() {
  static mlir::MLIRContext *ctx = [] {
    mlir::DialectRegistry registry;
    registerHeedDialects(registry);
    auto *c = new mlir::MLIRContext(registry,
                                    mlir::MLIRContext::Threading::DISABLED);
    c->loadAllAvailableDialects();
    c->getDiagEngine().registerHandler([](mlir::Diagnostic &) {
      return mlir::success();
    });
    return c;
  }();
  return *ctx;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::SourceMgr sm;
  sm.setDiagHandler([](const llvm::SMDiagnostic &, void *) {});
  sm.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBufferCopy(
          llvm::StringRef(reinterpret_cast<const char *>(data), size),
          "fuzz.heed"),
      llvm::SMLoc());
  auto model = dsl::parseModel(sm);
  if (!model || !dsl::checkModel(*model, sm))
    return 0;
  llvm::StringMap<int64_t> dims;
  for (const std::string &symbol : model->symbols)
    dims[symbol] = 3;
  auto module = dsl::genModule(context(), *model, dims, sm);
  (void)module;
  return 0;
}
