//===- Commands.h - What the heed tool's commands share ---------*- C++ -*-===//
//
// Part of Heed. The options more than one command reads (defined in
// heed.cpp), the helpers every command uses, and the commands that live in
// files of their own: heed.cpp (run and main), TextCommand.cpp (run on text),
// Compile.cpp, Bench.cpp, WeightsCommand.cpp.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_TOOLS_HEED_COMMANDS_H
#define HEED_TOOLS_HEED_COMMANDS_H

#include "compiler/Driver/Session.h"

#include "llvm/Support/CommandLine.h"

#include <cstdint>
#include <string>

namespace cl = llvm::cl;

extern cl::OptionCategory modelCat;

extern cl::opt<std::string> modelPath, weightsPath, weightsPrefix;
extern cl::list<std::string> dimBindings;
extern cl::opt<std::string> emit, outFile, headerFile;
extern cl::opt<int64_t> batch;
extern cl::opt<unsigned> iterations;
extern cl::list<std::string> texts;
extern cl::opt<std::string> textFile, textSpec, attentionMapPath;

namespace heed::cli {

/// Prints `heed: error: ...` and returns the exit status 1.
int failWith(llvm::Error err);
int failWith(const llvm::Twine &msg);
/// The model file with the command line's parameters, threads and (when
/// needed) weights bound. `runs`: the command runs the model (run, bench),
/// on the cuda target then compiled for the device in hand.
llvm::Expected<std::unique_ptr<Session>> openSession(bool needWeights,
                                                     bool runs = false);

/// The --gpu-* options (GpuOptions.cpp), checked for the target: with
/// `runs` on the cuda target, --gpu-chip and --gpu-multiprocessors not
/// given are the device's own where there is a device.
llvm::Error checkGpuOptions(Target target, bool runs);
/// The --gpu-* options into `o`.
void setGpuOptions(PipelineOptions &o);
/// The device checkGpuOptions compiled for ("NAME, sm_90, 132
/// multiprocessors"), or empty where it asked none.
const std::string &gpuDevice();
/// Prints the on-disk compile cache's warnings (a damaged entry rebuilt).
void printCacheWarnings(Session &session);
/// The --input files.
llvm::Expected<rt::NamedTensors> loadInputs();
/// --dim NAME=SIZE bindings, checked against the model; with
/// `defaultToOne`, every other symbolic dim is 1.
llvm::Expected<llvm::StringMap<int64_t>> parseDims(const dsl::Model &model,
                                                   bool defaultToOne);

int compileCommand();
int benchCommand();
/// heed weights (WeightsCommand.cpp).
int weightsCommand();
/// heed run with --text or --text-file (TextCommand.cpp).
int runTextCommand(Session &session);

} // namespace heed::cli

#endif
