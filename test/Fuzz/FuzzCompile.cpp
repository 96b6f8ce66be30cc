//===- FuzzCompile.cpp - libFuzzer harness for the whole compiler ---------===//
//
// Part of Heed. A model file through the front end and then every pass of
// one lowering: the first input byte picks the lowering choices (target,
// raised or not, fused or decomposed attention, cell and dense kernels, GPU
// precision), the second the size every symbolic dimension is bound to, and
// the rest is the model text.
//
// A model the front end accepts must compile: on the CPU target every
// pipeline failure is a bug, and so is any failure that calls itself an
// internal error. The GPU targets may refuse a model, but only with the
// messages a user is meant to see (an op they do not map, a loop they
// cannot place); any other failure aborts, its diagnostics printed.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Session.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <cstdlib>

using namespace heed;

namespace {
/// The lowering choices one input byte selects.
PipelineOptions optionsFrom(uint8_t choice) {
  static const char *const kKernels[] = {"auto", "fused", "onednn", "auto"};
  static const char *const kDense[] = {"auto", "generated", "onednn", "auto"};
  PipelineOptions options;
  switch (choice & 3) {
  case 2:
    options.target = Target::GPUScheduleOnCPU;
    break;
  case 3:
    options.target = Target::CUDA;
    break;
  default:
    options.target = Target::CPU;
  }
  options.raiseAttention = !(choice & 4);
  options.fusedAttention = !(choice & 8);
  options.cells = kKernels[(choice >> 4) & 3];
  if (options.targetsGPU()) {
    options.gpuPrecision = (choice & 64) ? "bf16" : "f32";
    options.gpuPrefetch = !(choice & 128);
  } else {
    options.dense = kDense[(choice >> 6) & 3];
  }
  return options;
}

/// The messages with which a GPU target may refuse a model it accepted in
/// the front end: they tell the user what is not supported.
bool isGPURefusal(llvm::StringRef diagnostics) {
  for (llvm::StringRef refusal :
       {"the GPU target cannot", "the GPU target needs", "this loop nest needs",
        "has no oneDNN", "cannot map this loop to blocks and threads"})
    if (diagnostics.contains(refusal))
      return true;
  return false;
}

/// A size for every symbolic dimension: 1 to 5, or 33.
int64_t dimFrom(uint8_t choice) {
  return (choice & 7) == 7 ? 33 : 1 + (choice & 7) % 5;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  PipelineOptions options = optionsFrom(data[0]);
  int64_t dim = dimFrom(data[1]);
  llvm::StringRef source(reinterpret_cast<const char *>(data + 2), size - 2);
  std::string diagnostics;
  auto session =
      Session::loadSource(source, "fuzz.heed", options, {}, &diagnostics);
  if (!session) {
    llvm::consumeError(session.takeError());
    return 0;
  }
  // Pass errors, as text (the session passes them on to stderr).
  (*session)->mlirContext().getDiagEngine().registerHandler(
      [&](mlir::Diagnostic &d) {
        if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
          diagnostics += d.str() + "\n";
        return mlir::failure();
      });
  llvm::StringMap<int64_t> dims;
  for (const std::string &symbol : (*session)->model().symbols)
    dims[symbol] = dim;
  // The CUDA target stops before NVVM: PTX generation is LLVM's, and slow.
  Stage stage =
      options.target == Target::CUDA ? Stage::GPU : Stage::LLVMDialect;
  auto module = (*session)->buildModule(dims, stage);
  if (module)
    return 0;
  std::string message = llvm::toString(module.takeError());
  // IR generation may refuse a model Sema passed for these sizes (a
  // dimension bound below what the model needs); that is the front end's
  // error, reported with its line and column.
  if (llvm::StringRef(message).starts_with("cannot generate IR"))
    return 0;
  bool bug = options.target == Target::CPU ||
             llvm::StringRef(message).contains("internal") ||
             !isGPURefusal(diagnostics);
  if (!bug)
    return 0;
  llvm::errs() << "fuzz-compile: a model the front end accepted failed to "
                  "compile (target "
               << targetName(options.target) << ", raise "
               << options.raiseAttention << ", fused " << options.fusedAttention
               << ", cells " << options.cells << ", dense " << options.dense
               << ", precision " << options.gpuPrecision << ", dims " << dim
               << ")\n"
               << message << "\n"
               << diagnostics << "\n";
  std::abort();
}
