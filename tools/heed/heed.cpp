//===- heed.cpp - The Heed command-line tool ------------------------------===//
//
// Part of Heed.
//
//   heed run MODEL.heed --weights W --input NAME=FILE ... [--output OUT.npz]
//   heed compile MODEL.heed --emit=ast|attn|linalg|llvm-dialect|llvm|asm
//   heed compile MODEL.heed --emit=obj|shared --dim B=4 -o libmodel.so
//   heed bench MODEL.heed --weights W --batch N
//
// One set of llvm::cl options; each command shows only its own in --help.
// MLIR's pass-manager options (--mlir-print-ir-after-all, ...) work with
// every command. This file: the options, the shared helpers, `run` and
// main; `compile` is Compile.cpp, `bench` Bench.cpp (Commands.h).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"
#include "Report.h"
#include "runtime/FileOutput.h"
#include "runtime/Kernels.h"
#include "runtime/Limits.h"

#include "compiler/Driver/Session.h"
#include "compiler/Pipelines/Registration.h"
#include "frontends/dsl/AST.h"
#include "runtime/Npy.h"
#include "runtime/Npz.h"
#include "runtime/Safetensors.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"

#include <algorithm>
#include <chrono>

using namespace heed;
namespace cl = llvm::cl;

cl::OptionCategory modelCat("Model options");
static cl::OptionCategory runCat("Run options");
static cl::OptionCategory compileCat("Compile options");
static cl::OptionCategory benchCat("Bench options");

cl::opt<std::string> modelPath(cl::Positional,
                               cl::desc("MODEL.heed (- reads standard input)"),
                               cl::cat(modelCat));
static cl::list<std::string>
    paramBindings("param", cl::desc("set a parameter of the model's header: "
                                    "NAME=VALUE (e.g. UNITS=1024)"),
                  cl::value_desc("NAME=VALUE"), cl::cat(modelCat));
cl::opt<std::string>
    weightsPath("weights",
                cl::desc("weights (.safetensors, .npz, .npy, a torch.save "
                         "checkpoint: .pt, .pth, .bin, .ckpt, Keras' .h5 or "
                         ".keras, a TensorFlow checkpoint's .index or "
                         "prefix, or a sharded checkpoint's .index.json), "
                         "PyTorch state_dict names or Keras names"),
                cl::value_desc("FILE"), cl::cat(modelCat));
cl::opt<std::string>
    weightsPrefix("weights-prefix",
                  cl::desc("strip PREFIX from the names of the weights "
                           "that start with it (checkpoints saved from a "
                           "wrapper: module., model.)"),
                  cl::value_desc("PREFIX"), cl::cat(modelCat));
static cl::opt<bool> ignoreExtraWeights(
    "ignore-extra-weights",
    cl::desc("ignore (and list) tensors of the weights file the model has no "
             "weight for (optimizer state, unused heads) instead of failing"),
    cl::cat(modelCat));
static cl::opt<std::string> attentionLowering(
    "attention", cl::desc("lowering of attention ops: fused (default) or "
                          "decomposed"),
    cl::init("fused"), cl::cat(modelCat));
static cl::opt<std::string> cellLowering(
    "cell", cl::desc("recurrent cells inside loops: auto (the default: the "
                     "faster for the batch), fused (generated) or onednn "
                     "(one-step oneDNN primitives)"),
    cl::init("auto"), cl::cat(modelCat));
static cl::opt<std::string> denseLowering(
    "dense", cl::desc("dense layers: auto (the default: oneDNN's inner "
                      "product from 16 rows of 64x64 or larger layers), "
                      "generated, or onednn (wherever the weights allow)"),
    cl::init("auto"), cl::cat(modelCat));
static cl::opt<std::string> targetOption(
    "target",
    cl::desc("where the code runs: cpu (the default), cuda (NVIDIA GPU "
             "kernels: heed compile --emit=gpu|ptx; running needs a CUDA "
             "driver) or gpu-schedule-on-cpu (the cuda target's lowering, "
             "its loop nests mapped to blocks and threads, run on the CPU: "
             "checks the GPU schedule without a GPU)"),
    cl::init("cpu"), cl::cat(modelCat));
static cl::opt<std::string>
    deviceOption("device",
                 cl::desc("where run and bench execute: cpu (the default) or "
                          "cuda (the same as --target=cuda)"),
                 cl::init("cpu"), cl::cat(modelCat));
static cl::opt<bool> noCompileCache(
    "no-compile-cache",
    cl::desc("neither read nor write the on-disk compile cache "
             "($HEED_CACHE_DIR, else ~/.cache/heed; HEED_CACHE=0 turns it "
             "off too); --mlir-print-ir-* flags imply it"),
    cl::cat(modelCat));
static cl::opt<bool> noRaise("no-raise",
                             cl::desc("do not raise Keras-style attention "
                                      "subgraphs to attn.attention"),
                             cl::cat(modelCat));
// Registered as heed-threads and renamed to --threads in main(): libLLVM
// already registers an option named "threads".
static cl::opt<unsigned> threadOption(
    "heed-threads", cl::desc("threads a run may use (default: the cores the "
                        "process may use); batch rows run in parallel"),
    cl::value_desc("N"), cl::init(0), cl::cat(modelCat));
static cl::opt<int64_t> rowsPerBlock(
    "rows-per-block",
    cl::desc("batch rows per block (blocks run in parallel; default -1: "
             "automatic; 0: the whole batch as one block)"),
    cl::init(Session::kAutoRowsPerBlock), cl::Hidden, cl::cat(modelCat));
static cl::opt<int64_t> liveRowChunk(
    "live-row-chunk",
    cl::desc("loops with 'until': once at most half the batch still runs, "
             "a step computes the running rows only, N at a time (default "
             "-1: a quarter of the batch from 8 rows on; 0: every row every "
             "step)"),
    cl::value_desc("N"), cl::init(-1), cl::cat(modelCat));
static cl::list<std::string>
    inputs("input", cl::desc("bind a model input: NAME=FILE.npy, or FILE.npz "
                             "with one member per input"),
           cl::value_desc("NAME=FILE"), cl::cat(runCat));
static cl::opt<std::string> outputPath(
    "output", cl::desc("write every output to this .npz/.safetensors file"),
    cl::value_desc("FILE"), cl::cat(runCat));
static cl::list<std::string> expects(
    "expect",
    cl::desc("compare OUTPUT with the reference values in FILE (its one "
             "tensor, or the one named OUTPUT), or, with FILE alone, every "
             "output FILE (.npz, .safetensors) has a tensor of the same name "
             "for; exits with 1 if an element is outside the tolerance "
             "(--expect-atol, --expect-rtol)"),
    cl::value_desc("[OUTPUT=]FILE"), cl::cat(runCat));
static cl::opt<double> expectAtol(
    "expect-atol", cl::desc("--expect: absolute tolerance (default 1e-4)"),
    cl::init(1e-4), cl::cat(runCat));
static cl::opt<double> expectRtol(
    "expect-rtol", cl::desc("--expect: relative tolerance (default 1e-4)"),
    cl::init(1e-4), cl::cat(runCat));
static cl::list<std::string> bars(
    "bars", cl::desc("print the mean of OUTPUT over all but its last axis as "
                     "a bar chart"),
    cl::value_desc("OUTPUT"), cl::cat(runCat));
cl::list<std::string>
    texts("text",
          cl::desc("translate this text (the model's text.json says how to "
                   "encode and decode it); may repeat"),
          cl::value_desc("TEXT"), cl::cat(runCat));
cl::opt<std::string>
    textFile("text-file",
             cl::desc("translate every line of FILE; a line "
                      "'TEXT<tab>EXPECTED' counts exact matches"),
             cl::value_desc("FILE"), cl::cat(runCat));
cl::opt<std::string> textSpec(
    "text-spec",
    cl::desc("the text interface (default: text.json next to "
             "the model; in the current directory for a model read from -)"),
    cl::value_desc("FILE.json"), cl::cat(runCat));
cl::opt<std::string>
    attentionMapPath("attention-map",
                     cl::desc("with --text: write the first text's attention "
                              "alignment as an SVG image"),
                     cl::value_desc("FILE.svg"), cl::cat(runCat));
cl::opt<std::string>
    emit("emit",
         cl::desc("what to print: ast, attn, linalg, llvm-dialect, llvm "
                  "(LLVM IR) or asm (host assembly); with --target=cuda "
                  "gpu (outlined kernels) or ptx; or a model library "
                  "with its C header: obj (object file) or shared"),
         cl::init("attn"), cl::cat(compileCat));
cl::opt<std::string> outFile("o", cl::desc("output file (default: stdout)"),
                                    cl::value_desc("FILE"), cl::init("-"),
                                    cl::cat(compileCat));
cl::opt<std::string> headerFile(
    "header", cl::desc("with --emit=obj|shared: where the C header goes "
                       "(default: MODEL.h beside -o)"),
    cl::value_desc("FILE.h"), cl::cat(compileCat));
cl::list<std::string>
    dimBindings("dim", cl::desc("bind a symbolic dimension: NAME=SIZE "
                                "(compile: unbound dims stay dynamic in ast/attn "
                                "and default to 1 below that; bench: every one "
                                "but the batch must be bound)"),
                cl::value_desc("NAME=SIZE"), cl::cat(compileCat),
                cl::cat(benchCat));
cl::opt<int64_t> batch("batch", cl::desc("size of the batch dimension (the one whose rows are independent, else the first symbolic dim)"),
                              cl::init(1), cl::cat(benchCat));
cl::opt<unsigned> iterations("iterations",
                                    cl::desc("timed runs (default: enough for "
                                             "about one second)"),
                                    cl::init(0), cl::cat(benchCat));

namespace heed::cli {

int failWith(llvm::Error err) {
  llvm::WithColor::error(llvm::errs(), "heed") << llvm::toString(std::move(err))
                                               << "\n";
  return 1;
}

int failWith(const llvm::Twine &msg) {
  return failWith(llvm::createStringError(llvm::inconvertibleErrorCode(), msg));
}

void printCacheWarnings(Session &session) {
  std::string warnings = session.takeCacheWarnings();
  llvm::StringRef rest = warnings;
  while (!rest.empty()) {
    auto [line, tail] = rest.split('\n');
    if (!line.empty())
      llvm::WithColor::warning(llvm::errs(), "heed") << line << "\n";
    rest = tail;
  }
}

PipelineOptions pipelineOptions() {
  PipelineOptions o;
  o.raiseAttention = !noRaise;
  o.fusedAttention = attentionLowering == "fused";
  o.cells = cellLowering;
  o.dense = denseLowering;
  // Checked in openSession: a known name, and --device agrees with it.
  o.target = deviceOption == "cuda" ? Target::CUDA : *parseTarget(targetOption);
  setGpuOptions(o);
  o.liveRowChunk = liveRowChunk;
  return o;
}

llvm::Expected<std::unique_ptr<Session>> openSession(bool needWeights,
                                                     bool runs) {
  if (modelPath.empty())
    return llvm::createStringError("no model file given (heed <command> MODEL.heed ...)");
  if (attentionLowering != "fused" && attentionLowering != "decomposed")
    return llvm::createStringError("--attention must be 'fused' or 'decomposed', not '" +
                                   attentionLowering + "'");
  PipelineOptions kernels;
  kernels.cells = cellLowering;
  kernels.dense = denseLowering;
  if (std::string problem = kernelChoicesProblem(kernels, "--cell", "--dense");
      !problem.empty())
    return llvm::createStringError(problem);
  if (liveRowChunk < -1)
    return llvm::createStringError("--live-row-chunk must be -1 (automatic), "
                                   "0 (off) or a number of rows");
  if (!parseTarget(targetOption))
    return llvm::createStringError("--target must be " + targetNames() +
                                   ", not '" + targetOption + "'");
  if (deviceOption != "cpu" && deviceOption != "cuda")
    return llvm::createStringError("--device must be 'cpu' or 'cuda', not '" +
                                   deviceOption + "'");
  if (deviceOption == "cuda" && targetOption.getNumOccurrences() &&
      targetOption != "cuda")
    return llvm::createStringError(
        "--device=cuda and --target=" + targetOption + " disagree");
  if (auto err = checkGpuOptions(
          deviceOption == "cuda" ? Target::CUDA : *parseTarget(targetOption),
          runs))
    return std::move(err);
  // Values as written: the model's header says whether a parameter takes a
  // number or a word.
  dsl::ParamOverrides params;
  for (const std::string &spec : paramBindings) {
    auto [name, value] = llvm::StringRef(spec).split('=');
    if (name.empty() || value.trim().empty())
      return llvm::createStringError("--param " + spec +
                                     ": expected NAME=VALUE (a number, or a "
                                     "word such as smoothing)");
    params[name] = value.trim().str();
  }
  // "-": the model from standard input, "<stdin>" in diagnostics.
  auto session = [&]() -> llvm::Expected<std::unique_ptr<Session>> {
    if (modelPath != "-")
      return Session::load(modelPath, pipelineOptions(), params);
    auto source = llvm::MemoryBuffer::getSTDIN();
    if (!source)
      return llvm::createStringError("<stdin>: cannot read the model: " +
                                     source.getError().message());
    return Session::loadSource((*source)->getBuffer(), "<stdin>",
                               pipelineOptions(), params);
  }();
  if (session) {
    // Code from the cache skips the pipeline, whose IR the user asked for.
    bool printsIR = false;
    for (auto &[name, option] : cl::getRegisteredOptions())
      if (name.starts_with("mlir-print-ir") && option->getNumOccurrences())
        printsIR = true;
    (*session)->setDiskCache(!noCompileCache && !printsIR);
  }
  if (!session)
    return session.takeError();
  (*session)->setThreads(threadOption);
  if (rowsPerBlock < Session::kAutoRowsPerBlock)
    return llvm::createStringError("--rows-per-block must be -1 (automatic), 0 "
                                   "or a number of rows");
  (*session)->setRowsPerBlock(rowsPerBlock);
  // A model without layers (plain attention) takes no weights file.
  if (needWeights && weightsPath.empty() &&
      (*session)->expectedWeights().empty()) {
    if (auto err = (*session)->setWeights({}, "(no weights)"))
      return std::move(err);
  } else if (needWeights) {
    if (weightsPath.empty())
      return llvm::createStringError("--weights FILE is required");
    // Values are checked where bound: an unused tensor (a BatchNorm step
    // counter past 2^24) does not stop the load.
    auto tensors = rt::loadTensorFile(weightsPath, rt::ValueErrors::WhenUsed);
    if (!tensors)
      return tensors.takeError();
    rt::WeightOptions options;
    options.stripPrefix = weightsPrefix;
    options.ignoreExtra = ignoreExtraWeights;
    std::vector<std::string> ignored;
    if (auto err = (*session)->setWeights(std::move(*tensors), weightsPath,
                                          options, &ignored))
      return std::move(err);
    if (!ignored.empty()) {
      llvm::errs() << "heed: note: ignored " << ignored.size() << " tensor"
                   << (ignored.size() == 1 ? "" : "s") << " of " << weightsPath
                   << " that the model has no weight for:";
      for (auto &name : ignored)
        llvm::errs() << "\n  " << name;
      llvm::errs() << "\n";
    }
  }
  return session;
}

llvm::Expected<rt::NamedTensors> loadInputs() {
  rt::NamedTensors out;
  for (const std::string &spec : inputs) {
    auto [name, file] = llvm::StringRef(spec).split('=');
    if (file.empty()) {
      // A whole archive: one member per input.
      auto tensors = rt::loadTensorFile(spec);
      if (!tensors)
        return tensors.takeError();
      for (auto &nt : *tensors)
        out.push_back(std::move(nt));
      continue;
    }
    auto tensors = rt::loadTensorFile(file.str());
    if (!tensors)
      return tensors.takeError();
    if (tensors->size() != 1)
      return llvm::createStringError(file.str() + ": holds " +
                                     std::to_string(tensors->size()) +
                                     " tensors; --input NAME=FILE needs exactly one");
    out.emplace_back(name.str(), std::move(tensors->front().second));
  }
  for (size_t i = 0; i < out.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (out[i].first == out[j].first)
        return llvm::createStringError("input '" + out[i].first + "' is given twice");
  return out;
}

} // namespace heed::cli

using namespace heed::cli;

namespace {

int runCommand() {
  auto session = openSession(/*needWeights=*/true, /*runs=*/true);
  if (!session)
    return failWith(session.takeError());
  if (!texts.empty() || !textFile.empty()) {
    if (!inputs.empty())
      return failWith("--text/--text-file replace --input; give one or the other");
    return runTextCommand(**session);
  }
  if (!attentionMapPath.empty())
    return failWith("--attention-map needs --text (the map is of the first "
                    "text's attention)");
  llvm::StringRef outExt = llvm::sys::path::extension(outputPath);
  if (!outputPath.empty() && outExt != ".npz" && outExt != ".safetensors")
    return failWith("--output " + outputPath + ": the file name must end in "
                    ".npz or .safetensors (the two formats --output writes)");
  auto in = loadInputs();
  if (!in)
    return failWith(in.takeError());
  auto outputs = (*session)->run(*in);
  if (!outputs)
    return failWith(outputs.takeError());
  printCacheWarnings(**session);
  llvm::outs() << "model " << (*session)->model().name
               << ((*session)->lastCompileWasCached()
                       ? ": loaded from the compile cache in "
                       : ": compiled in ")
               << llvm::format("%.0f", (*session)->lastCompileSeconds() * 1e3)
               << " ms\n";
  for (auto &[name, t] : *outputs)
    printTensorSummary(llvm::outs(), name, t);
  int64_t mismatches = 0;
  for (const std::string &spec : expects) {
    auto outside =
        expectOutputs(llvm::outs(), spec, *outputs, expectAtol, expectRtol);
    if (!outside)
      return failWith(outside.takeError());
    mismatches += *outside;
  }
  for (const std::string &name : bars) {
    const rt::Tensor *got = nullptr;
    for (auto &[n, t] : *outputs)
      if (n == name)
        got = &t;
    if (!got)
      return failWith("--bars names no output called '" + name + "'");
    printMeanBars(llvm::outs(), name, *got);
  }
  if (!outputPath.empty()) {
    llvm::Error err = llvm::StringRef(outputPath).ends_with(".safetensors")
                          ? rt::writeSafetensors(outputPath, *outputs)
                          : rt::writeNpz(outputPath, *outputs);
    if (err)
      return failWith(std::move(err));
    llvm::outs() << "wrote " << outputPath << "\n";
  }
  if (mismatches)
    return failWith("--expect: " + llvm::Twine(mismatches) +
                    " elements outside the tolerance (see above)");
  return 0;
}

const char *kUsage = R"(heed: compile and run attention models

USAGE: heed <command> MODEL.heed [options]

COMMANDS:
  run       JIT-compile MODEL for its inputs' shapes and run it
  compile   print the model at one stage (--emit=ast|attn|linalg|llvm-dialect|llvm|asm),
            or make a model library and its C header (--emit=obj|shared -o FILE)
  bench     compile time and run latency (min/median/max)
  weights   the weights MODEL reads (with --weights FILE: whether FILE binds),
            or, given a weight file instead, the tensors it holds as Heed names them

'heed <command> --help' lists the command's options; 'heed --version'
prints the versions of Heed and of the libraries it runs on.
)";

/// heed --version: Heed's version and the libraries' it was built with or
/// runs on.
void printVersion(llvm::raw_ostream &os) {
  os << "heed " << HEED_VERSION_STRING << "\n  LLVM and MLIR "
     << LLVM_VERSION_STRING << "\n  oneDNN " << heed::rt::oneDNNVersion()
     << "\n";
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Pass names must be known for --mlir-print-ir-after=PASS and friends.
  registerAllHeedPasses();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  mlir::registerMLIRContextCLOptions();
  mlir::registerAsmPrinterCLOptions();

  if (argc < 2 || llvm::StringRef(argv[1]) == "--help" ||
      llvm::StringRef(argv[1]) == "-h" || llvm::StringRef(argv[1]) == "help") {
    llvm::outs() << kUsage;
    return argc < 2 ? 1 : 0;
  }
  cl::SetVersionPrinter(printVersion); // also `heed run --version`
  if (llvm::StringRef(argv[1]) == "--version" ||
      llvm::StringRef(argv[1]) == "version") {
    printVersion(llvm::outs());
    return 0;
  }
  llvm::StringRef command = argv[1];
  std::vector<const cl::OptionCategory *> shown = {&modelCat};
  int (*handler)() = nullptr;
  if (command == "run") {
    shown.push_back(&runCat);
    handler = runCommand;
  } else if (command == "compile") {
    shown.push_back(&compileCat);
    handler = compileCommand;
  } else if (command == "bench") {
    shown.push_back(&runCat);
    shown.push_back(&benchCat);
    handler = benchCommand;
  } else if (command == "weights") {
    handler = weightsCommand;
  } else {
    llvm::errs() << "heed: error: unknown command '" << command
                 << "' (expected run, compile, bench or weights)\n";
    return 1;
  }
  // --threads is Heed's; the library option of that name moves aside.
  if (cl::Option *llvmThreads = cl::getRegisteredOptions().lookup("threads")) {
    llvmThreads->setArgStr("llvm-threads");
    llvmThreads->setHiddenFlag(cl::ReallyHidden);
  }
  threadOption.setArgStr("threads");
  cl::HideUnrelatedOptions(shown);
  // Parse everything after the command; the command is argv[0] for help.
  std::string title = ("heed " + command).str();
  std::vector<const char *> args = {title.c_str()};
  for (int i = 2; i < argc; ++i)
    args.push_back(argv[i]);
  std::string overview = title + " MODEL.heed\n";
  if (!cl::ParseCommandLineOptions(int(args.size()), args.data(), overview,
                                   &llvm::errs()))
    return 1;
  // Options of other commands are accepted by the parser; reject them here.
  // (heed compile takes --input: its files bind a model library's dims.)
  if (command != "run" && command != "bench" &&
      ((command != "compile" && !inputs.empty()) || !outputPath.empty() ||
       !expects.empty() || !bars.empty() || !texts.empty() ||
       !textFile.empty() || !attentionMapPath.empty()))
    return failWith("--output/--expect/--bars belong to 'heed run'" +
                    std::string(command == "compile"
                                    ? ""
                                    : ", --input to run, bench and compile"));
  if (command != "compile" && (emit.getNumOccurrences() || outFile.getNumOccurrences() ||
                                headerFile.getNumOccurrences()))
    return failWith("--emit, -o and --header belong to 'heed compile'");
  if (command != "bench" && (batch.getNumOccurrences() || iterations.getNumOccurrences()))
    return failWith("--batch and --iterations belong to 'heed bench'");
  try {
    int status = handler();
    // Standard output that could not be written (a full disk) is an error
    // here, not an abort when the stream is destroyed.
    if (auto err = heed::rt::finishWrite(llvm::outs(), "standard output"))
      return failWith(std::move(err));
    return status;
  } catch (const std::bad_alloc &) {
    // Sizes are checked against the limits (runtime/Limits.h) before they
    // are allocated; the machine can still have less memory than the cap.
    return failWith("out of memory (HEED_MAX_MEMORY sets the cap on what Heed "
                    "allocates; it is " +
                    llvm::Twine(heed::limits::memoryLimit()) + " bytes)");
  }
}
