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
/// needed) weights bound.
llvm::Expected<std::unique_ptr<Session>> openSession(bool needWeights);
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
