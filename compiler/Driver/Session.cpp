//===- Session.cpp - Parse, specialize and compile a model ---------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Session.h"
#include "compiler/JIT/CompileCache.h"

#include "compiler/Driver/Keras3Positions.h"
#include "compiler/Driver/KerasConfig.h"
#include "compiler/Driver/KerasWeights.h"
#include "compiler/Driver/TorchModules.h"
#include "compiler/Pipelines/Registration.h"
#include "frontends/dsl/BatchRows.h"
#include "frontends/dsl/MLIRGen.h"
#include "frontends/dsl/Parser.h"
#include "frontends/dsl/Sema.h"
#include "runtime/ByteOrderMark.h"
#include "runtime/Hdf5Weights.h"
#include "runtime/Limits.h"
#include "runtime/Numbers.h"
#include "runtime/ThreadPool.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/MgpuRuntime.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <atomic>
#include <chrono>

using namespace heed;
using llvm::Twine;

static llvm::Error fail(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Expected<std::unique_ptr<Session>>
Session::load(const std::string &path, PipelineOptions options,
              const dsl::ParamOverrides &params, std::string *diagnostics) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return fail(path + ": cannot read model file: " +
                buffer.getError().message());
  return fromBuffer(std::move(*buffer), path, options, params, diagnostics);
}

llvm::Expected<std::unique_ptr<Session>>
Session::loadSource(llvm::StringRef source, const std::string &name,
                    PipelineOptions options, const dsl::ParamOverrides &params,
                    std::string *diagnostics) {
  return fromBuffer(llvm::MemoryBuffer::getMemBufferCopy(source, name), name,
                    options, params, diagnostics);
}

llvm::Expected<std::unique_ptr<Session>>
Session::fromBuffer(std::unique_ptr<llvm::MemoryBuffer> buffer,
                    const std::string &path, PipelineOptions options,
                    const dsl::ParamOverrides &params,
                    std::string *diagnostics) {
  // The pass managers apply MLIR's --mlir-print-ir-* family where a tool
  // parsed them; registering them (idempotent) lets a program that never
  // did use a Session too.
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  if (buffer->getBufferSize() > limits::kMaxModelFileBytes)
    return fail(path + ": the model file has " +
                Twine(buffer->getBufferSize()) + " bytes, above the limit "
                "of " + Twine(limits::kMaxModelFileBytes));
  auto session = std::unique_ptr<Session>(new Session());
  session->options = options;
  // With more than one core, LLVM compiles the model's loop nests in
  // parallel (whatever --threads says: it governs runs; the pool gives a
  // compilation only the cores other processes leave free).
  session->options.outlineLoopNests =
      options.target == Target::CPU && rt::availableCores() > 1;
  // A UTF-8 byte order mark (Windows editors write one) is no part of the
  // model; dropped here, it counts in no column of line 1.
  if (*rt::utf16Problem(buffer->getBuffer()))
    return fail(path + ": " + rt::utf16Problem(buffer->getBuffer()));
  llvm::StringRef text = rt::withoutByteOrderMark(buffer->getBuffer());
  if (text.size() != buffer->getBufferSize())
    buffer = llvm::MemoryBuffer::getMemBufferCopy(
        text, buffer->getBufferIdentifier());
  session->sourceMgr.AddNewSourceBuffer(std::move(buffer), llvm::SMLoc());
  // Diagnostics go to the caller's string (the C API) or to stderr.
  struct Capture {
    static void handle(const llvm::SMDiagnostic &d, void *out) {
      llvm::raw_string_ostream os(*static_cast<std::string *>(out));
      d.print(nullptr, os, /*ShowColors=*/false);
    }
  };
  if (diagnostics)
    session->sourceMgr.setDiagHandler(Capture::handle, diagnostics);
  Session *raw = session.get(); // still alive when this runs
  llvm::scope_exit stopCapture(
      [raw] { raw->sourceMgr.setDiagHandler(nullptr, nullptr); });
  session->ast = dsl::parseModel(session->sourceMgr);
  if (!session->ast)
    return fail(path + ": the model has errors (see above)");
  for (auto &param : params) {
    const auto &declared = session->ast->params;
    if (llvm::none_of(declared, [&](const dsl::Param &p) {
          return p.name == param.getKey();
        })) {
      std::string names;
      for (const dsl::Param &p : declared)
        names += (names.empty() ? "" : ", ") + p.name;
      return fail("--param " + param.getKey() + ": model '" +
                  session->ast->name + "' has no parameter '" +
                  param.getKey() + "' (" +
                  (names.empty() ? "it has none" : "it has " + names) + ")");
    }
  }
  if (!dsl::checkModel(*session->ast, session->sourceMgr, params))
    return fail(path + ": the model has errors (see above)");
  std::vector<std::string> given;
  // Numbers in one spelling (3 and 3.0 are one model), words as given.
  for (auto &param : params) {
    llvm::StringRef text = llvm::StringRef(param.getValue()).trim();
    auto number = rt::parseDouble(text);
    std::string value = number ? rt::formatDouble(*number) : text.str();
    given.push_back(param.getKey().str() + "=" + value);
  }
  llvm::sort(given);
  session->paramText = llvm::join(given, ";");
  session->batchSymbol =
      dsl::independentBatchRows(*session->ast, &session->batchWhy);
  // The blocks' size depends on the weights' size, which the model fixes:
  // model libraries (compiled without weights) split as the JIT does.
  for (auto &w : session->expectedWeights())
    session->weightElements +=
        std::max<int64_t>(0, rt::checkedNumElements(w.shape));
  session->setThreads(0);
  mlir::DialectRegistry registry;
  registerHeedDialects(registry);
  // No thread pool of MLIR's own: the pipeline took as long without it
  // (nmt, mha_encoder, the date translator: 80-150 ms either way; the
  // LLVM half compiles on rt::ThreadPool), and a process that forks after
  // a compile hung at exit destroying a pool whose threads it never had.
  session->context = std::make_unique<mlir::MLIRContext>(
      registry, mlir::MLIRContext::Threading::DISABLED);
  session->context->loadAllAvailableDialects();
  // Counts error diagnostics for runPipeline; failure() passes each on to
  // the default printer. Registered once here, never per compile: MLIR's
  // handler list is locked inside libMLIR, which TSan does not see.
  session->context->getDiagEngine().registerHandler([raw](mlir::Diagnostic &d) {
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      ++raw->errorDiagnostics;
    return mlir::failure();
  });
  return session;
}

void Session::setThreads(unsigned count) {
  threadCount = count ? count : rt::availableCores();
}

void Session::setRowsPerBlock(int64_t rows) { rowBlock = rows; }

std::shared_lock<std::shared_mutex> Session::lockForRun() {
  std::lock_guard<std::mutex> queue(bindQueue); // behind a waiting bind
  return std::shared_lock<std::shared_mutex>(bindLock);
}

std::string Session::takeCacheWarnings() {
  std::lock_guard<std::mutex> guard(cacheLock);
  return std::exchange(cacheWarnings, std::string());
}

std::vector<rt::ExpectedWeight> Session::expectedWeights() const {
  std::vector<rt::ExpectedWeight> out;
  for (auto &w : dsl::weightSpecs(*ast))
    out.push_back({w.name, w.shape});
  return out;
}

/// What the weight file `source` records of its layers (a Keras model.save
/// config, nn.Modules saved whole) against the model's layers: settings
/// the weights do not show (KerasConfig.h, TorchModules.h).
llvm::Error Session::checkLayerRecord(const std::string &source,
                                      llvm::StringRef stripPrefix) const {
  auto record = rt::loadLayerRecord(source);
  if (!record)
    return record.takeError();
  bool keras = ast->weightLayout == "keras";
  if (keras && record->kind == rt::LayerRecord::Kind::KerasConfig)
    return checkKerasModelConfig(*ast, record->json, source, sourceMgr);
  if (!keras && record->kind == rt::LayerRecord::Kind::TorchModules)
    return checkTorchModules(*ast, record->json, stripPrefix, source,
                             sourceMgr);
  return llvm::Error::success();
}

llvm::Error Session::setWeights(rt::NamedTensors tensors,
                                const std::string &source,
                                const rt::WeightOptions &options,
                                std::vector<std::string> *ignored) {
  rt::stripNamePrefix(tensors, options.stripPrefix);
  // Keras 3's save_weights: layers by class and position, matched to the
  // model's by their classes and shapes (Keras3Positions.h).
  if (rt::hasKeras3PositionalNames(tensors)) {
    if (ast->weightLayout != "keras")
      return llvm::createStringError(
          llvm::inconvertibleErrorCode(),
          source + ": this is a Keras 3 weights file (save_weights: layers "
                   "named by class and position, variables by index); a "
                   "model reads one when it says `weights keras` "
                   "(docs/weights.md)");
    auto named = nameKeras3PositionalWeights(*ast, std::move(tensors), source);
    if (!named)
      return named.takeError();
    tensors = std::move(*named);
  }
  // Keras layouts are converted once, here, never per call.
  if (ast->weightLayout == "keras") {
    auto converted = convertKerasWeights(*ast, std::move(tensors), source);
    if (!converted)
      return converted.takeError();
    tensors = std::move(*converted);
  }
  // Keras names (`dense.kernel`, `.h5` files) given to a PyTorch-layout
  // model: say what the model lacks.
  bool kerasNames = false;
  for (auto &[name, t] : tensors)
    kerasNames |= llvm::StringRef(name).ends_with(".kernel") ||
                  llvm::StringRef(name).ends_with(".recurrent_kernel");
  auto bound = rt::bindWeights(expectedWeights(), std::move(tensors), source,
                               options, ignored);
  if (!bound) {
    if (!kerasNames)
      return bound.takeError();
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        llvm::toString(bound.takeError()) +
            "\n  (the file has Keras names and layouts (LAYER.kernel); a model "
            "reads those when it says `weights keras`: docs/weights.md)");
  }
  // The weights bind; the layers they belong to must compute as the file
  // says they did.
  if (auto err = checkLayerRecord(source, options.stripPrefix))
    return err;
  std::lock_guard<std::mutex> queue(bindQueue);
  std::unique_lock<std::shared_mutex> noRuns(bindLock);
  std::lock_guard<std::mutex> guard(cacheLock);
  weights = std::move(*bound);
  weightsBound = true;
  cache.clear(); // prepared weights derive from the old ones
  deviceWeights.clear();

  return llvm::Error::success();
}

llvm::Expected<llvm::StringMap<int64_t>>
Session::bindDims(const rt::NamedTensors &inputs) const {
  llvm::StringMap<int64_t> dims;
  llvm::StringMap<std::string> boundBy;
  std::vector<std::string> problems;
  for (auto &[name, t] : inputs) {
    bool known = false;
    for (auto &in : ast->inputs)
      known |= in.name == name;
    if (!known) {
      std::string names;
      for (auto &in : ast->inputs)
        names += (names.empty() ? "" : ", ") + in.name;
      problems.push_back("unknown input '" + name + "' (model '" + ast->name +
                         "' takes: " + names + ")");
    }
  }
  for (auto &in : ast->inputs) {
    const rt::Tensor *t = nullptr;
    for (auto &[name, tensor] : inputs)
      if (name == in.name)
        t = &tensor;
    if (!t) {
      problems.push_back("missing input '" + in.name + "' " +
                         dsl::shapeStr(in.shape));
      continue;
    }
    const auto &shape = t->shape();
    if (shape.size() != in.shape.size()) {
      problems.push_back("input '" + in.name + "' has shape " +
                         rt::shapeToString(shape) + ", the model declares " +
                         dsl::shapeStr(in.shape) + " (rank " +
                         std::to_string(in.shape.size()) + ")");
      continue;
    }
    for (size_t i = 0; i < shape.size(); ++i) {
      const dsl::Dim &d = in.shape[i];
      if (d.isKnown()) {
        if (shape[i] != d.size)
          problems.push_back("input '" + in.name + "' has shape " +
                             rt::shapeToString(shape) + ", the model declares " +
                             dsl::shapeStr(in.shape) + " (axis " +
                             std::to_string(i) + " must be " +
                             std::to_string(d.size) + ")");
        continue;
      }
      if (shape[i] <= 0) {
        problems.push_back("input '" + in.name + "': dimension " + d.symbol +
                           " must be positive, got " + std::to_string(shape[i]));
        continue;
      }
      if (shape[i] > limits::kMaxDimension) {
        problems.push_back("input '" + in.name + "': dimension " + d.symbol +
                           " is " + std::to_string(shape[i]) +
                           ", above the limit of " +
                           std::to_string(limits::kMaxDimension));
        continue;
      }
      auto it = dims.find(d.symbol);
      if (it == dims.end()) {
        dims[d.symbol] = shape[i];
        boundBy[d.symbol] = in.name;
      } else if (it->second != shape[i]) {
        problems.push_back("dimension " + d.symbol + " is " +
                           std::to_string(it->second) + " in input '" +
                           boundBy[d.symbol] + "' but " +
                           std::to_string(shape[i]) + " in input '" + in.name +
                           "'");
      }
    }
  }
  if (problems.empty())
    return dims;
  std::string msg = problems[0];
  for (size_t i = 1; i < problems.size(); ++i)
    msg += "\n" + problems[i];
  return fail(msg);
}

/// MLIR's pass-manager options where a tool parsed them
/// (--mlir-print-ir-*, ...) and --mlir-timing (a report when `pm` goes).
static llvm::Error applyCommandLineOptions(mlir::PassManager &pm) {
  if (mlir::failed(mlir::applyPassManagerCLOptions(pm)))
    return fail("bad pass-manager options");
  auto timing = std::make_unique<mlir::DefaultTimingManager>();
  mlir::applyDefaultTimingManagerCLOptions(*timing);
  if (timing->isEnabled())
    pm.enableTiming(std::move(timing));
  return llvm::Error::success();
}

/// Runs `pm` on `module`. A pass that fails without an error diagnostic is
/// a bug in Heed; the message says so instead of pointing at diagnostics
/// that do not exist. (Compiles are serialized by cacheLock, so the errors
/// counted while `pm` runs are its own.)
llvm::Error Session::runPipeline(mlir::PassManager &pm, mlir::ModuleOp module) {
  unsigned errorsBefore = errorDiagnostics;
  if (mlir::succeeded(pm.run(module)))
    return llvm::Error::success();
  if (errorDiagnostics == errorsBefore)
    return fail("internal compiler error: a pass failed without saying why "
                "(--mlir-print-ir-after-failure shows which); please report "
                "it with the model");
  return fail("compilation failed (see the diagnostics above)");
}

llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
Session::buildModule(const llvm::StringMap<int64_t> &dims, Stage stage) {
  dsl::GenOptions gen;
  gen.liveRowChunk = options.liveRowChunk;
  // On the GPU targets a decoder step runs the whole batch unless asked
  // otherwise: its kernels are latency-bound at decoder sizes, so fewer
  // rows cost about as much, and choosing the running rows is host code
  // that reads the device's results every step.
  if (options.target != Target::CPU && options.liveRowChunk < 0)
    gen.liveRowChunk = 0;
  auto module = dsl::genModule(*context, *ast, dims, sourceMgr, gen);
  if (!module)
    return fail("cannot generate IR for '" + ast->name +
                "' (see the diagnostics above)");
  mlir::PassManager pm(context.get());
  if (auto err = applyCommandLineOptions(pm))
    return err;
  buildAttnOptimizationPipeline(pm, options);
  if (stage != Stage::Attn)
    buildAttnToLinalgPipeline(pm, options);
  if (auto err = runPipeline(pm, *module))
    return std::move(err);
  if (stage == Stage::GPU) {
    if (options.target != Target::CUDA)
      return fail("the gpu stage belongs to --target=cuda");
    mlir::PassManager gpu(context.get());
    if (auto err = applyCommandLineOptions(gpu))
      return std::move(err);
    buildLinalgToGPUPipeline(gpu, options);
    if (auto err = runPipeline(gpu, *module))
      return std::move(err);
  }
  if (stage == Stage::LLVMDialect)
    if (auto err = lowerToLLVM(*module))
      return std::move(err);
  return std::move(module);
}

llvm::Error Session::lowerToLLVM(mlir::ModuleOp module) {
  // The runtime calls every function through its C interface.
  // (Kernel declarations keep the plain C ABI of runtime/Kernels.h.)
  for (auto func : module.getOps<mlir::func::FuncOp>())
    if (!func.isExternal())
      func->setAttr(mlir::LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  mlir::UnitAttr::get(context.get()));
  mlir::PassManager pm(context.get());
  if (auto err = applyCommandLineOptions(pm))
    return err;
  if (options.target == Target::CUDA && gpuLibdevicePath().empty())
    return fail("the cuda target needs libdevice (nvvm/libdevice/"
                "libdevice.10.bc) under $CUDA_HOME or /usr/local/cuda");
  buildLinalgToTargetPipeline(pm, options);
  if (auto err = runPipeline(pm, module))
    return err;
  return llvm::Error::success();
}

Session::EntryPoints Session::entryPoints(mlir::ModuleOp module) const {
  EntryPoints result;
  result.model = ast->name;
  auto model = module.lookupSymbol<mlir::func::FuncOp>(ast->name);
  auto prepare = model->getAttrOfType<mlir::FlatSymbolRefAttr>("heed.prepare");
  if (!prepare)
    return result;
  result.prepare = prepare.getValue().str();
  for (unsigned i = 0; i < model.getNumArguments(); ++i)
    if (model.getArgAttr(i, "heed.prepared")) {
      auto type =
          mlir::cast<mlir::RankedTensorType>(model.getArgument(i).getType());
      result.preparedShapes.emplace_back(type.getShape().begin(),
                                         type.getShape().end());
    }
  return result;
}

std::vector<int64_t>
Session::concreteShape(const dsl::Shape &shape,
                       const llvm::StringMap<int64_t> &dims) const {
  std::vector<int64_t> out;
  for (const dsl::Dim &d : shape)
    out.push_back(d.isKnown() ? d.size : dims.lookup(d.symbol));
  return out;
}

llvm::Expected<Session::Compiled *>
Session::compiled(const llvm::StringMap<int64_t> &dims) {
  std::string key;
  for (auto &sym : ast->symbols)
    key += sym + "=" + std::to_string(dims.lookup(sym)) + ";";
  const bool cuda = options.target == Target::CUDA;
  // Checked first: without a driver nothing else can be said.
  if (cuda)
    if (std::string why = rt::cuda::driverStatus(); !why.empty())
      return fail(why);
  std::lock_guard<std::mutex> guard(cacheLock);
  // Compiling prepares the weights (the model's _prepare function reads
  // every one of them), so there must be some.
  if (!weightsBound)
    return fail("no weights bound (bind them before compiling or running '" +
                ast->name + "')");
  auto it = cache.find(key);
  if (it != cache.end())
    return it->second.get();
  using clock = std::chrono::steady_clock;
  auto start = clock::now();
  auto secondsSince = [](clock::time_point from) {
    return std::chrono::duration<double>(clock::now() - from).count();
  };
  phases = {};
  auto entry = std::make_unique<Compiled>();
  entry->kernels = std::make_unique<rt::KernelContext>();
  auto symbols = rt::KernelContext::symbols();
  symbols.emplace_back("heed_kernel_context", entry->kernels->slot());
  if (cuda) {
    // The host code's launches, module loading and memory (runtime/cuda).
    for (auto &entryPoint : rt::cuda::mgpuEntryPoints())
      symbols.push_back(entryPoint);
    if (deviceWeights.empty())
      if (auto err = uploadDeviceWeights())
        return std::move(err);
  }
  // The on-disk cache: the same model text, parameters, dims and lowering
  // options on this CPU with this build of Heed give the same code (for
  // the cuda target: the same host code and PTX, the driver JIT-compiling
  // the PTX for the device at load).
  std::optional<CompileCache> disk =
      diskCacheOn ? CompileCache::open() : std::nullopt;
  std::string diskKey;
  CacheEntry code;
  compileCached = false;
  if (disk) {
    llvm::StringRef text =
        sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID())->getBuffer();
    diskKey = CompileCache::key(
        {text.str(), paramText, key,
         llvm::formatv(
             "raise={0};fused={1};cells={2};dense={3};target={4};outline={5};"
             "live-rows={6};gpu-chip={7};gpu-precision={8};gpu-prefetch={9};"
             "gpu-multiprocessors={10};gpu-async-copy={11};"
             "gpu-one-block-steps={12};gpu-step-product-terms={13}",
             options.raiseAttention, options.fusedAttention, options.cells,
             options.dense, targetName(options.target),
             options.outlineLoopNests, options.liveRowChunk, options.gpuChip,
             options.gpuPrecision, options.gpuPrefetch,
             options.gpuMultiprocessors, options.gpuAsyncCopy,
             options.gpuOneBlockSteps, options.gpuStepProductTerms)
             .str()});
    auto hit = disk->load(diskKey);
    if (!hit)
      cacheWarnings += llvm::toString(hit.takeError()) + "; rebuilt\n";
    else if (*hit)
      code = std::move(**hit);
  }
  // Entry 0 runs the model, entry 1 (if any) prepares its weights.
  auto entryNames = [&] {
    std::vector<std::string> names = {code.model};
    if (!code.prepare.empty())
      names.push_back(code.prepare);
    return names;
  };
  if (!code.objects.empty()) {
    auto jit = JITModel::createFromObjects(code.objects, entryNames(), symbols);
    if (jit) {
      entry->jit = std::move(*jit);
      compileCached = true;
      // Its constructor loaded its kernels (createFromObjects).
      if (cuda)
        if (std::string why = rt::cuda::takeFirstError(); !why.empty())
          return fail(why);
    } else {
      cacheWarnings += "compile cache entry " + disk->path(diskKey) +
                       " cannot be linked (" + llvm::toString(jit.takeError()) +
                       "); rebuilt\n";
    }
  }
  if (!compileCached) {
    auto module = buildModule(dims, Stage::Linalg);
    if (!module)
      return module.takeError();
    // What the model needs prepared from its weights, read before lowering.
    EntryPoints points = entryPoints(**module);
    code.model = points.model;
    code.prepare = points.prepare;
    code.preparedShapes = points.preparedShapes;
    if (auto err = lowerToLLVM(**module))
      return std::move(err);
    phases.mlir = secondsSince(start);
    code.objects.clear();
    auto jitStart = clock::now();
    // The cuda target's host code is launches and loops: one partition.
    auto jit = JITModel::create(
        **module, entryNames(), symbols, disk ? &code.objects : nullptr,
        &phases.optimize, cuda ? 1u : rt::availableCores());
    if (!jit)
      return jit.takeError();
    // The module's constructor loaded its kernels (JITModel::create).
    if (cuda)
      if (std::string why = rt::cuda::takeFirstError(); !why.empty())
        return fail(why);
    phases.codegen = secondsSince(jitStart) - phases.optimize;
    entry->jit = std::move(*jit);
    if (disk)
      if (auto err = disk->store(diskKey, code))
        cacheWarnings += llvm::toString(std::move(err)) + "\n";
  }
  const auto &preparedShapes = code.preparedShapes;
  auto prepareStart = clock::now();
  if (!code.prepare.empty()) {
    std::vector<BufferArg> args;
    if (cuda) {
      for (auto &w : deviceWeights)
        args.push_back({w.data(), w.shape()});
      for (auto &shape : preparedShapes) {
        std::string error;
        entry->devicePrepared.push_back(rt::cuda::ManagedBuffer::allocate(
            shape, "preparing the weights on the device", error));
        if (!error.empty())
          return fail(error);
        args.push_back({entry->devicePrepared.back().data(), shape});
      }
    } else {
      for (auto &w : weights)
        args.push_back({w.data(), w.shape()});
      for (auto &shape : preparedShapes) {
        entry->prepared.emplace_back(shape);
        args.push_back({entry->prepared.back().data(), shape});
      }
    }
    if (auto err = entry->jit->invoke(1, args))
      return std::move(err);
    if (cuda)
      if (std::string why = rt::cuda::takeFirstError(); !why.empty())
        return fail("while preparing the weights of '" + ast->name +
                    "' on the device: " + why);
  }
  phases.prepare = secondsSince(prepareStart);
  compileSeconds = secondsSince(start);
  Compiled *result = entry.get();
  cache[key] = std::move(entry);
  return result;
}
