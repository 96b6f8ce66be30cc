//===- Session.h - Parse, specialize, compile and run a model ---*- C++ -*-===//
//
// Part of Heed. Ties the frontend, the pipelines, the JIT and the runtime
// together for the CLI and the tests: one Session per model file, compiled
// code cached per set of concrete input shapes.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_DRIVER_SESSION_H
#define HEED_COMPILER_DRIVER_SESSION_H

#include "compiler/JIT/JITModel.h"
#include "compiler/Pipelines/Pipelines.h"
#include "frontends/dsl/AST.h"
#include "frontends/dsl/Sema.h"
#include "runtime/Kernels.h"
#include "runtime/TensorFile.h"
#include "runtime/Weights.h"
#include "runtime/cuda/MgpuRuntime.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>

namespace heed {

/// How far `buildModule` lowers. GPU (--target=cuda only): host functions
/// launching outlined kernels, before NVVM.
enum class Stage { Attn, Linalg, GPU, LLVMDialect };

class Session {
public:
  /// Parses and checks `path`; diagnostics are printed to stderr.
  /// `params` replace the defaults of the model's header parameters.
  /// With `diagnostics`, they are appended there instead.
  static llvm::Expected<std::unique_ptr<Session>>
  load(const std::string &path, PipelineOptions options,
       const dsl::ParamOverrides &params = {},
       std::string *diagnostics = nullptr);
  /// The same for model source text; `name` labels its diagnostics
  /// (name:line:col).
  static llvm::Expected<std::unique_ptr<Session>>
  loadSource(llvm::StringRef source, const std::string &name,
             PipelineOptions options, const dsl::ParamOverrides &params = {},
             std::string *diagnostics = nullptr);

  const dsl::Model &model() const { return *ast; }
  /// The context its modules live in. A handler a tool registers there
  /// sees each diagnostic before the session counts and prints it.
  mlir::MLIRContext &mlirContext() { return *context; }
  std::vector<rt::ExpectedWeight> expectedWeights() const;
  /// Binds every weight (names as `options` say); tensors ignored under
  /// options.ignoreExtra are listed in `ignored`.
  llvm::Error setWeights(rt::NamedTensors tensors, const std::string &source,
                         const rt::WeightOptions &options = {},
                         std::vector<std::string> *ignored = nullptr);

  /// Checks inputs against the model's declarations and binds every
  /// symbolic dimension; errors name the input, the dim and both sizes.
  llvm::Expected<llvm::StringMap<int64_t>>
  bindDims(const rt::NamedTensors &inputs) const;
  /// Checks that inputs declared i64, i32 or bool hold integers (booleans:
  /// 0 or 1), from their element types; errors name the input.
  llvm::Error checkInputTypes(const rt::NamedTensors &inputs) const;
  /// Checks inputs whose values the model constrains (attention lengths,
  /// token ids): integers within the range Sema recorded.
  llvm::Error checkInputRanges(const rt::NamedTensors &inputs,
                               const llvm::StringMap<int64_t> &dims) const;

  /// The module specialized for `dims`, lowered to `stage`. Pass-manager
  /// command-line options (--mlir-print-ir-*) apply.
  llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
  buildModule(const llvm::StringMap<int64_t> &dims, Stage stage);
  /// Lowers a module from `Stage::Linalg` to the LLVM dialect, every
  /// function with its C interface (`_mlir_ciface_NAME`).
  llvm::Error lowerToLLVM(mlir::ModuleOp module);

  const PipelineOptions &pipelineOptions() const { return options; }

  /// The entry points of a module at `Stage::Linalg`: the model function
  /// takes inputs, weights, prepared weights and then its outputs as
  /// out-parameters; `prepare` (empty when the model prepares nothing)
  /// takes the weights and writes the prepared weights.
  struct EntryPoints {
    std::string model, prepare;
    std::vector<std::vector<int64_t>> preparedShapes;
  };
  EntryPoints entryPoints(mlir::ModuleOp module) const;
  /// `shape` with every symbolic dimension replaced by its size in `dims`.
  std::vector<int64_t> concreteShape(const dsl::Shape &shape,
                                     const llvm::StringMap<int64_t> &dims) const;

  /// Compiles for the inputs' shapes (cached) and runs; outputs in
  /// declaration order. Safe to call from several threads at once (the
  /// first run for a set of shapes compiles while the others wait), and
  /// beside setWeights, setThreads and setRowsPerBlock: a run uses the
  /// weights and settings it started with.
  ///
  /// With independent batch rows (frontends/dsl/BatchRows.h) a batch of
  /// more than rowsPerBlock() rows runs as blocks of rows, each compiled
  /// for its own size, in parallel on up to threads() threads. The blocks
  /// depend on the batch size alone, so results are bit-identical for
  /// every thread count.
  llvm::Expected<rt::NamedTensors> run(const rt::NamedTensors &inputs);
  /// As run, into caller-given outputs (declaration order, the shapes
  /// outputShapes gives; rt::Tensor::borrow wraps caller memory).
  llvm::Error runInto(const rt::NamedTensors &inputs,
                      rt::NamedTensors &outputs);
  /// Compiles what a run on inputs of these shapes uses (its blocks).
  llvm::Error compileFor(const rt::NamedTensors &inputs);
  /// The outputs' shapes for these inputs, checked against the limits.
  llvm::Expected<std::vector<std::vector<int64_t>>>
  outputShapes(const rt::NamedTensors &inputs) const;

  /// Threads a run may use (0: every core the process may use, the
  /// default). oneDNN always runs on one OpenMP thread per Heed thread.
  void setThreads(unsigned count);
  unsigned threads() const { return threadCount; }
  /// Rows per block: kAutoRowsPerBlock (the default) picks at least 16
  /// rows and enough rows that a block's work (rows x weights, a proxy)
  /// outweighs the ~5 us a block costs, at most 8 blocks; a number fixes
  /// the rows exactly; 0 runs the whole batch as one block. Either way the
  /// blocks depend on the model and the batch size, not the threads.
  void setRowsPerBlock(int64_t rows);
  int64_t rowsPerBlock() const { return rowBlock; }
  static constexpr int64_t kAutoRowsPerBlock = -1;
  /// The rows of each block a batch of `batchSize` runs as (one entry: the
  /// batch is not split); see setRowsPerBlock. Model libraries compile the
  /// same blocks.
  std::vector<int64_t> blockRows(int64_t batchSize) const;
  /// The batch dimension when runs can split their rows, else why not.
  const std::optional<std::string> &batchDim() const { return batchSymbol; }
  const std::string &whyNoRowBlocks() const { return batchWhy; }

  /// A model compiled for one set of dims, with its prepared weights.
  struct Compiled {
    std::unique_ptr<JITModel> jit; // entry 0: model, entry 1: prepare
    std::vector<rt::Tensor> prepared;
    /// oneDNN primitives and reordered weights of the model's kernel calls.
    std::unique_ptr<rt::KernelContext> kernels;
    /// --target=cuda: the prepared weights in managed memory (not
    /// `prepared`).
    std::vector<rt::cuda::ManagedBuffer> devicePrepared;
  };
  /// The compiled model for `dims` (compiling it and preparing its weights
  /// if new).
  llvm::Expected<Compiled *> compiled(const llvm::StringMap<int64_t> &dims);
  /// Seconds the last cache miss spent in the pipeline and the JIT (or
  /// linking the code from the on-disk compile cache).
  double lastCompileSeconds() const { return compileSeconds; }
  /// Where the last cache miss's compile time went, in seconds; the stages
  /// a compilation linked from the on-disk cache skips stay 0.
  struct CompilePhases {
    double mlir = 0;     // parse, attn → linalg → LLVM dialect
    double optimize = 0; // LLVM's -O3 pipeline
    double codegen = 0;  // translation to LLVM IR, machine code, linking
    double prepare = 0;  // the model's weight preparation function
  };
  const CompilePhases &lastCompilePhases() const { return phases; }
  /// Whether the last cache miss linked code from the on-disk compile cache
  /// (compiler/JIT/CompileCache.h) instead of compiling.
  bool lastCompileWasCached() const { return compileCached; }
  /// Whether compiled code is looked up in and stored to the on-disk
  /// compile cache (on by default; HEED_CACHE=0 turns it off everywhere).
  void setDiskCache(bool on) { diskCacheOn = on; }
  /// Warnings of the on-disk compile cache since the last call (a damaged
  /// entry rebuilt, a directory that cannot be written); empty when none.
  std::string takeCacheWarnings();

private:
  Session() = default;
  static llvm::Expected<std::unique_ptr<Session>>
  fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer,
             const std::string &path, PipelineOptions options,
             const dsl::ParamOverrides &params, std::string *diagnostics);
  /// Runs `pm` on `module`; a failure's message says whether any pass
  /// reported an error.
  llvm::Error runPipeline(mlir::PassManager &pm, mlir::ModuleOp module);
  /// A weight file's record of its layers against the model's.
  llvm::Error checkLayerRecord(const std::string &source,
                               llvm::StringRef stripPrefix) const;
  /// The blocks of a batch with these dims: blockStart[b] is block b's
  /// first row (one more entry: the batch size), each with its model.
  llvm::Error planBlocks(const llvm::StringMap<int64_t> &dims,
                         std::vector<int64_t> &blockStart,
                         std::vector<Compiled *> &blockModel);
  /// Runs rows [row, row + rows) of a batch of `batchSize` through
  /// `model`; the buffers are the whole batch's.
  /// --target=cuda: `weights` to managed memory (SessionDevice.cpp).
  llvm::Error uploadDeviceWeights();
  /// --target=cuda: one run, its inputs and outputs staged in managed
  /// memory (SessionDevice.cpp).
  llvm::Error runOnDevice(Compiled &model, const rt::NamedTensors &inputs,
                          rt::NamedTensors &outputs);
  llvm::Error runRows(Compiled &model, const rt::NamedTensors &inputs,
                      rt::NamedTensors &outputs, int64_t row, int64_t rows,
                      int64_t batchSize);

  PipelineOptions options;
  llvm::SourceMgr sourceMgr;
  std::unique_ptr<mlir::MLIRContext> context;
  /// Error diagnostics the context has reported (see runPipeline).
  std::atomic<unsigned> errorDiagnostics{0};
  std::unique_ptr<dsl::Model> ast;
  std::vector<rt::Tensor> weights;
  bool weightsBound = false;
  /// Held shared by runs and compilations (lockForRun), exclusively by
  /// setWeights while it replaces the weights and drops the compiled code:
  /// a bind waits for the runs in flight, and runs that start meanwhile
  /// wait for it. A bind first takes `bindQueue`, which lockForRun passes
  /// through, so a steady stream of runs cannot starve it.
  std::shared_mutex bindLock;
  std::mutex bindQueue;
  std::shared_lock<std::shared_mutex> lockForRun();
  /// --target=cuda: `weights` in managed memory, uploaded by the first
  /// compilation after they are bound.
  std::vector<rt::cuda::ManagedBuffer> deviceWeights;
  std::atomic<unsigned> threadCount{1};
  std::atomic<int64_t> rowBlock{kAutoRowsPerBlock};
  int64_t weightElements = 0;
  std::optional<std::string> batchSymbol;
  std::string batchWhy;

  /// Guards `cache` and `compileSeconds`; held while compiling, so
  /// concurrent first runs compile once. Entries are never removed while
  /// runs may use them (only setWeights clears the cache).
  std::mutex cacheLock;
  std::map<std::string, std::unique_ptr<Compiled>> cache;
  double compileSeconds = 0;
  CompilePhases phases;
  bool compileCached = false;
  bool diskCacheOn = true;
  std::string cacheWarnings;
  /// The parameters as given (name=value;...), part of the disk cache key.
  std::string paramText;
};

} // namespace heed

#endif
