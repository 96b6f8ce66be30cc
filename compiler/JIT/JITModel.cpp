//===- JITModel.cpp - A compiled model, ready to call ---------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "compiler/JIT/JITModel.h"
#include "compiler/JIT/HostCodegen.h"
#include "compiler/JIT/ParallelCodegen.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"

#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Target/TargetMachine.h"

#include <xmmintrin.h>

using namespace heed;

JITModel::JITModel() = default;
JITModel::~JITModel() {
  if (destructors)
    destructors();
}

/// memref.copy of strided views lowers to a call to MLIR's memrefCopy.
static const char *runnerUtilsLibrary() { return MLIR_C_RUNNER_UTILS; }

/// The packed (`void(void **)`) wrapper of entry point `function`, as
/// mlir::ExecutionEngine names it.
static std::string packedName(const std::string &function) {
  return "_mlir__mlir_ciface_" + function;
}

llvm::Expected<std::unique_ptr<JITModel>>
JITModel::create(mlir::ModuleOp module, llvm::ArrayRef<std::string> functions,
                 llvm::ArrayRef<std::pair<std::string, void *>> symbols,
                 std::vector<std::string> *objects, double *optimizeSeconds,
                 unsigned threads) {
  auto partitions = partitionFunctions(module, threads);
  if (partitions.size() >= 2) {
    auto compiled = compilePartitions(module, partitions, functions, threads,
                                      optimizeSeconds);
    if (!compiled)
      return compiled.takeError();
    auto model = createFromObjects(*compiled, functions, symbols);
    if (model && objects)
      *objects = std::move(*compiled);
    return model;
  }
  auto tm = hostMachine();
  if (!tm)
    return tm.takeError();
  mlir::ExecutionEngineOptions options;
  // `options.transformer` is a function_ref: the function it refers to must
  // live until `create` has returned.
  llvm::TargetMachine *machine = tm->get();
  std::function<llvm::Error(llvm::Module *)> optimize = [&](llvm::Module *m) {
    // For a later process that links the object (createFromObjects).
    addConstructorEntryPoints(*m);
    return optimizeO3(*m, *machine, optimizeSeconds);
  };
  options.transformer = optimize;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  llvm::StringRef libs[] = {runnerUtilsLibrary()};
  options.sharedLibPaths = libs;
  options.enableObjectDump = objects != nullptr;
  auto engine = mlir::ExecutionEngine::create(module, options, std::move(*tm));
  if (!engine)
    return engine.takeError();
  auto model = std::unique_ptr<JITModel>(new JITModel());
  model->engine = std::move(*engine);
  model->engine->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    for (auto &[name, address] : symbols)
      map[interner(name)] = {llvm::orc::ExecutorAddr::fromPtr(address),
                             llvm::JITSymbolFlags::Exported};
    return map;
  });
  // Global constructors (--target=cuda: loading the model's kernels).
  model->engine->initialize();
  // Looked up once: a lookup per call costs more than a small model's run.
  for (const std::string &function : functions) {
    auto fn = model->engine->lookupPacked("_mlir_ciface_" + function);
    if (!fn)
      return fn.takeError();
    model->entries.push_back(*fn);
  }
  if (objects) {
    // The engine keeps the object it compiled at the first lookup (above)
    // and writes it only to a file.
    llvm::SmallString<128> path;
    if (auto ec = llvm::sys::fs::createTemporaryFile("heed-jit", "o", path))
      return llvm::errorCodeToError(ec);
    model->engine->dumpToObjectFile(path);
    auto bytes = llvm::MemoryBuffer::getFile(path);
    llvm::sys::fs::remove(path);
    if (!bytes)
      return llvm::errorCodeToError(bytes.getError());
    *objects = {(*bytes)->getBuffer().str()};
  }
  return model;
}

llvm::Expected<std::unique_ptr<JITModel>> JITModel::createFromObjects(
    llvm::ArrayRef<std::string> objects, llvm::ArrayRef<std::string> functions,
    llvm::ArrayRef<std::pair<std::string, void *>> symbols) {
  auto tm = hostMachine(); // initializes the native target
  if (!tm)
    return tm.takeError();
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  auto jit = llvm::orc::LLJITBuilder()
                 .setJITTargetMachineBuilder(std::move(*builder))
                 .create();
  if (!jit)
    return jit.takeError();
  llvm::orc::JITDylib &dylib = (*jit)->getMainJITDylib();
  char prefix = (*jit)->getDataLayout().getGlobalPrefix();
  // libc and libm from the process, memrefCopy from MLIR's runner utilities,
  // the kernels and their context from the caller.
  auto process =
      llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix);
  if (!process)
    return process.takeError();
  dylib.addGenerator(std::move(*process));
  auto utils = llvm::orc::DynamicLibrarySearchGenerator::Load(
      runnerUtilsLibrary(), prefix);
  if (!utils)
    return utils.takeError();
  dylib.addGenerator(std::move(*utils));
  llvm::orc::SymbolMap map;
  for (auto &[name, address] : symbols)
    map[(*jit)->mangleAndIntern(name)] = {
        llvm::orc::ExecutorAddr::fromPtr(address), llvm::JITSymbolFlags::Exported};
  if (auto err = dylib.define(llvm::orc::absoluteSymbols(std::move(map))))
    return std::move(err);
  for (const std::string &object : objects)
    if (auto err = (*jit)->addObjectFile(
            llvm::MemoryBuffer::getMemBufferCopy(object, "heed-model")))
      return std::move(err);
  auto model = std::unique_ptr<JITModel>(new JITModel());
  for (const std::string &function : functions) {
    auto address = (*jit)->lookup(packedName(function));
    if (!address)
      return address.takeError();
    model->entries.push_back(address->toPtr<void (*)(void **)>());
  }
  // Global constructors (--target=cuda: loading the model's kernels),
  // which linking an object does not run; the destructors at the end.
  if (auto ctors = (*jit)->lookup(kRunConstructorsName))
    ctors->toPtr<void (*)()>()();
  else
    llvm::consumeError(ctors.takeError()); // none (the CPU's models)
  if (auto dtors = (*jit)->lookup(kRunDestructorsName))
    model->destructors = dtors->toPtr<void (*)()>();
  else
    llvm::consumeError(dtors.takeError());
  model->linker = std::move(*jit);
  return model;
}

llvm::Error JITModel::invoke(unsigned index, llvm::ArrayRef<BufferArg> args) {
  // Each descriptor: {allocated, aligned, offset, sizes[rank], strides[rank]}.
  std::vector<std::vector<int64_t>> descriptors;
  descriptors.reserve(args.size());
  for (const BufferArg &a : args) {
    std::vector<int64_t> d;
    d.push_back(reinterpret_cast<int64_t>(a.data));
    d.push_back(reinterpret_cast<int64_t>(a.data));
    d.push_back(0);
    d.insert(d.end(), a.shape.begin(), a.shape.end());
    std::vector<int64_t> strides(a.shape.size(), 1);
    for (int i = int(a.shape.size()) - 2; i >= 0; --i)
      strides[i] = strides[i + 1] * a.shape[i + 1];
    d.insert(d.end(), strides.begin(), strides.end());
    descriptors.push_back(std::move(d));
  }
  std::vector<void *> pointers, packed;
  pointers.reserve(args.size());
  for (auto &d : descriptors)
    pointers.push_back(d.data());
  for (void *&p : pointers)
    packed.push_back(&p);
  // Flush denormals to zero (FTZ) and read them as zero (DAZ) while the
  // model runs: exp() of very negative scores underflows into denormals,
  // and each denormal operation costs ~100 cycles in microcode. Values
  // below 1.2e-38 become 0, far below any tolerance of f32 inference.
  unsigned savedCsr = _mm_getcsr();
  _mm_setcsr(savedCsr | 0x8040);
  entries[index](packed.data());
  _mm_setcsr(savedCsr);
  return llvm::Error::success();
}

static llvm::Expected<std::unique_ptr<llvm::Module>>
optimizedHostModule(mlir::ModuleOp module, llvm::LLVMContext &ctx,
                    llvm::TargetMachine &tm) {
  auto llvmModule = translateForHost(module, ctx, tm);
  if (!llvmModule)
    return llvmModule.takeError();
  if (auto err = optimizeO3(**llvmModule, tm))
    return std::move(err);
  return llvmModule;
}

llvm::Error heed::emitHostLLVMIR(mlir::ModuleOp module, llvm::raw_ostream &os) {
  auto tm = hostMachine();
  if (!tm)
    return tm.takeError();
  llvm::LLVMContext ctx;
  auto llvmModule = optimizedHostModule(module, ctx, **tm);
  if (!llvmModule)
    return llvmModule.takeError();
  (*llvmModule)->print(os, nullptr);
  return llvm::Error::success();
}

/// Optimizes `module` for the host and writes it as `type` (assembly text
/// or an object file), after `adjust` has edited the LLVM module.
static llvm::Error emitHostFile(mlir::ModuleOp module, llvm::raw_ostream &os,
                                llvm::CodeGenFileType type,
                                bool positionIndependent,
                                llvm::function_ref<void(llvm::Module &)> adjust) {
  auto tm = hostMachine(positionIndependent);
  if (!tm)
    return tm.takeError();
  llvm::LLVMContext ctx;
  auto llvmModule = optimizedHostModule(module, ctx, **tm);
  if (!llvmModule)
    return llvmModule.takeError();
  if (adjust)
    adjust(**llvmModule);
  auto code = emitMachineCode(**llvmModule, **tm, type);
  if (!code)
    return code.takeError();
  os << *code;
  return llvm::Error::success();
}

llvm::Error heed::emitHostAssembly(mlir::ModuleOp module, llvm::raw_ostream &os) {
  return emitHostFile(module, os, llvm::CodeGenFileType::AssemblyFile,
                      /*positionIndependent=*/false, {});
}

llvm::Error heed::emitHostObject(mlir::ModuleOp module, llvm::raw_ostream &os,
                                 llvm::function_ref<void(llvm::Module &)> adjust) {
  return emitHostFile(module, os, llvm::CodeGenFileType::ObjectFile,
                      /*positionIndependent=*/true, adjust);
}
