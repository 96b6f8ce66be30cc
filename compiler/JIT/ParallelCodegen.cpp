//===- ParallelCodegen.cpp - LLVM's work for one model on several threads -===//
//
// Part of Heed. See ParallelCodegen.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/JIT/ParallelCodegen.h"
#include "compiler/JIT/HostCodegen.h"
#include "runtime/ThreadPool.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Module.h"
#include "llvm/Target/TargetMachine.h"

#include <algorithm>
#include <new>

using namespace heed;

static bool isInternal(mlir::LLVM::Linkage linkage) {
  return linkage == mlir::LLVM::Linkage::Internal ||
         linkage == mlir::LLVM::Linkage::Private;
}

std::vector<std::vector<std::string>>
heed::partitionFunctions(mlir::ModuleOp module, unsigned parts) {
  if (parts < 2)
    return {};
  for (auto global : module.getOps<mlir::LLVM::GlobalOp>()) {
    bool defined =
        global.getValueOrNull() || !global.getInitializerRegion().empty();
    // A copy per partition is the same constant; a writable one would be
    // two variables, and a defined external one two definitions.
    if (isInternal(global.getLinkage()) ? !global.getConstant() : defined)
      return {};
  }
  std::vector<std::pair<int64_t, std::string>> weighted;
  int64_t total = 0;
  for (auto func : module.getOps<mlir::LLVM::LLVMFuncOp>()) {
    if (func.isExternal() || isInternal(func.getLinkage()))
      continue;
    int64_t weight = 0;
    func.walk([&](mlir::Operation *) { ++weight; });
    weighted.emplace_back(weight, func.getSymName().str());
    total += weight;
  }
  // Heaviest first (by name among equals), each to the lightest partition
  // so far.
  std::sort(weighted.begin(), weighted.end(), [](auto &a, auto &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  parts = std::min<unsigned>(parts, weighted.size());
  std::vector<std::vector<std::string>> partitions(parts);
  std::vector<int64_t> load(parts, 0);
  for (auto &[weight, name] : weighted) {
    size_t lightest = std::min_element(load.begin(), load.end()) - load.begin();
    partitions[lightest].push_back(name);
    load[lightest] += weight;
  }
  // One function that is nearly all the work: nothing to share.
  if (parts < 2 ||
      *std::max_element(load.begin(), load.end()) * 10 >= total * 9)
    return {};
  return partitions;
}

/// `_mlir_<fn>(void **args)`: calls `fn` with *args[i] as its i-th
/// argument (mlir::ExecutionEngine's packed calling convention).
static void addPackedWrapper(llvm::Module &module, llvm::Function &fn) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::IRBuilder<> builder(ctx);
  llvm::Type *ptr = builder.getPtrTy();
  auto *type = llvm::FunctionType::get(builder.getVoidTy(), {ptr}, false);
  auto *wrapper =
      llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                             "_mlir_" + fn.getName(), module);
  builder.SetInsertPoint(llvm::BasicBlock::Create(ctx, "entry", wrapper));
  llvm::Value *packed = wrapper->getArg(0);
  llvm::SmallVector<llvm::Value *> args;
  for (llvm::Argument &param : fn.args()) {
    llvm::Value *slot =
        builder.CreateGEP(ptr, packed, builder.getInt64(param.getArgNo()));
    llvm::Value *at = builder.CreateLoad(ptr, slot);
    args.push_back(builder.CreateLoad(param.getType(), at));
  }
  llvm::CallInst *result = builder.CreateCall(&fn, args);
  if (!result->getType()->isVoidTy()) {
    llvm::Value *slot =
        builder.CreateGEP(ptr, packed, builder.getInt64(fn.arg_size()));
    builder.CreateStore(result, builder.CreateLoad(ptr, slot));
  }
  builder.CreateRetVoid();
}

/// Translation, O3 and code generation of one partition's module.
static llvm::Expected<std::string>
compileOne(mlir::ModuleOp part, llvm::ArrayRef<std::string> entries,
           double &optimizeSeconds) {
  // Static code, as the serial JIT makes it: position-independent code
  // (data through the GOT) ran attention_scores 25% slower.
  auto tm = hostMachine(/*positionIndependent=*/false);
  if (!tm)
    return tm.takeError();
  llvm::LLVMContext ctx;
  auto llvmModule = translateForHost(part, ctx, **tm);
  if (!llvmModule)
    return llvmModule.takeError();
  for (const std::string &entry : entries)
    if (llvm::Function *fn =
            (*llvmModule)->getFunction("_mlir_ciface_" + entry))
      if (!fn->isDeclaration())
        addPackedWrapper(**llvmModule, *fn);
  if (auto err = optimizeO3(**llvmModule, **tm, &optimizeSeconds))
    return std::move(err);
  return emitMachineCode(**llvmModule, **tm, llvm::CodeGenFileType::ObjectFile);
}

llvm::Expected<std::vector<std::string>>
heed::compilePartitions(mlir::ModuleOp module,
                        const std::vector<std::vector<std::string>> &partitions,
                        llvm::ArrayRef<std::string> entries, unsigned threads,
                        double *optimizeSeconds) {
  // One module per partition, made here (the threads below only read
  // them): another partition's functions become declarations.
  std::vector<mlir::OwningOpRef<mlir::ModuleOp>> parts;
  for (const auto &names : partitions) {
    llvm::StringSet<> mine;
    for (const std::string &name : names)
      mine.insert(name);
    parts.emplace_back(module.clone());
    for (auto func : parts.back()->getOps<mlir::LLVM::LLVMFuncOp>()) {
      if (func.isExternal() || isInternal(func.getLinkage()) ||
          mine.contains(func.getSymName()))
        continue;
      func.getBody().dropAllReferences();
      func.getBody().getBlocks().clear();
    }
  }
  std::vector<std::string> objects(parts.size()), errors(parts.size());
  std::vector<double> optimize(parts.size(), 0);
  rt::ThreadPool::shared().parallelFor(
      unsigned(parts.size()), threads, [&](unsigned p) {
        // Nothing may throw out of the pool (ThreadPool.h).
        try {
          auto object = compileOne(*parts[p], entries, optimize[p]);
          if (object)
            objects[p] = std::move(*object);
          else
            errors[p] = llvm::toString(object.takeError());
        } catch (const std::bad_alloc &) {
          errors[p] = "out of memory while compiling";
        }
      });
  for (const std::string &error : errors)
    if (!error.empty())
      return llvm::createStringError(error);
  if (optimizeSeconds)
    *optimizeSeconds = *std::max_element(optimize.begin(), optimize.end());
  return objects;
}
