//===- FuzzPipelineOptions.cpp - libFuzzer harness for compiler options ---===//
//
// Part of Heed. A text of compiler options (what the C API's
// heed_load_with_options and Python's options= pass on, parsed by
// parsePipelineOptions) over the defaults. Errors are fine; crashes are
// not, nor is an error that changed the options, nor accepted options that
// the pipelines' own checks would refuse.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Pipelines.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>

using namespace heed;

namespace {
[[noreturn]] void fail(const char *what, const std::string &detail) {
  std::fprintf(stderr, "fuzz-options: %s: %s\n", what, detail.c_str());
  std::abort();
}

bool sameOptions(const PipelineOptions &a, const PipelineOptions &b) {
  return a.raiseAttention == b.raiseAttention &&
         a.fusedAttention == b.fusedAttention && a.cells == b.cells &&
         a.dense == b.dense && a.target == b.target && a.gpuChip == b.gpuChip &&
         a.gpuPrecision == b.gpuPrecision && a.gpuPrefetch == b.gpuPrefetch &&
         a.gpuAsyncCopy == b.gpuAsyncCopy &&
         a.gpuOneBlockSteps == b.gpuOneBlockSteps &&
         a.gpuStepProductTerms == b.gpuStepProductTerms &&
         a.gpuMultiprocessors == b.gpuMultiprocessors &&
         a.outlineLoopNests == b.outlineLoopNests;
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef text(reinterpret_cast<const char *>(data), size);
  PipelineOptions options;
  llvm::StringSet<> given;
  std::string problem = parsePipelineOptions(text, options, &given);
  if (!problem.empty()) {
    if (!sameOptions(options, PipelineOptions()))
      fail("an error changed the options", problem);
    return 0;
  }
  if (std::string refused = gpuOptionsProblem(options, ""); !refused.empty())
    fail("accepted options the GPU checks refuse", refused);
  if (!llvm::is_contained({"auto", "fused", "onednn"}, options.cells))
    fail("accepted cells", options.cells);
  if (!llvm::is_contained({"auto", "generated", "onednn"}, options.dense))
    fail("accepted dense", options.dense);
  // Parsing the same text again over the result changes nothing.
  PipelineOptions again = options;
  if (std::string second = parsePipelineOptions(text, again); !second.empty())
    fail("accepted text refused the second time", second);
  if (!sameOptions(options, again))
    fail("parsing twice differs", text.str());
  return 0;
}
