//===- HostCodegen.cpp - LLVM's steps for code that runs on this host -----===//
//
// Part of Heed. See HostCodegen.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/JIT/HostCodegen.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <algorithm>
#include <chrono>

using namespace heed;

/// Code generation options that bound compile time without slowing the
/// code (measured in docs/benchmarks.md, "Compile time"): fully unrolled
/// copies (a head split at T = 16 is one block of 512 vector loads and
/// stores) made the machine scheduler's memory dependencies quadratic
/// (0.6 s of a 1.9 s compilation), so its dependency maps are reduced from
/// 200 pending memory operations on; the post-RA list scheduler, whose
/// reordering out-of-order x86 cores redo themselves, cost another 0.6 s.
/// LLVM keeps these as process-wide command-line options; one the user
/// set (`heed ... --post-RA-scheduler=true`) is left alone.
static void boundCodeGenerationTime() {
  auto &options = llvm::cl::getRegisteredOptions();
  // A position above 0 marks an option as given: the post-RA scheduler
  // obeys its option only then.
  auto setDefault = [&](llvm::StringRef name, llvm::StringRef value) {
    auto it = options.find(name);
    if (it != options.end() && it->second->getNumOccurrences() == 0)
      (void)it->second->addOccurrence(/*pos=*/1, name, value);
  };
  setDefault("post-RA-scheduler", "false");
  setDefault("dag-maps-huge-region", "200");
  setDefault("dag-maps-reduction-size", "100");
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
heed::hostMachine(bool positionIndependent) {
  static bool initialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    boundCodeGenerationTime();
    return true;
  }();
  (void)initialized;
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return builder.takeError();
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  if (positionIndependent)
    builder->setRelocationModel(llvm::Reloc::PIC_);
  return builder->createTargetMachine();
}

llvm::Expected<std::unique_ptr<llvm::Module>>
heed::translateForHost(mlir::ModuleOp module, llvm::LLVMContext &ctx,
                       llvm::TargetMachine &tm) {
  auto llvmModule = mlir::translateModuleToLLVMIR(module, ctx);
  if (!llvmModule)
    return llvm::createStringError("cannot translate the module to LLVM IR");
  mlir::ExecutionEngine::setupTargetTripleAndDataLayout(llvmModule.get(), &tm);
  return llvmModule;
}

/// The functions of `list` (llvm.global_ctors or llvm.global_dtors:
/// {priority, function, data}) by priority.
static std::vector<llvm::Function *> byPriority(llvm::GlobalVariable *list) {
  std::vector<std::pair<uint64_t, llvm::Function *>> entries;
  if (list && list->hasInitializer())
    if (auto *array =
            llvm::dyn_cast<llvm::ConstantArray>(list->getInitializer()))
      for (llvm::Value *op : array->operands()) {
        auto *entry = llvm::dyn_cast<llvm::ConstantStruct>(op);
        if (!entry || entry->getNumOperands() < 2)
          continue;
        auto *priority =
            llvm::dyn_cast<llvm::ConstantInt>(entry->getOperand(0));
        auto *fn = llvm::dyn_cast<llvm::Function>(entry->getOperand(1));
        if (priority && fn)
          entries.push_back({priority->getZExtValue(), fn});
      }
  std::stable_sort(entries.begin(), entries.end(),
                   [](auto &a, auto &b) { return a.first < b.first; });
  std::vector<llvm::Function *> fns;
  for (auto &[priority, fn] : entries)
    fns.push_back(fn);
  return fns;
}

void heed::addConstructorEntryPoints(llvm::Module &module) {
  std::vector<llvm::Function *> ctors =
      byPriority(module.getGlobalVariable("llvm.global_ctors"));
  std::vector<llvm::Function *> dtors =
      byPriority(module.getGlobalVariable("llvm.global_dtors"));
  std::reverse(dtors.begin(), dtors.end());
  llvm::LLVMContext &ctx = module.getContext();
  auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), false);
  for (auto [name, fns] : {std::pair(kRunConstructorsName, &ctors),
                           std::pair(kRunDestructorsName, &dtors)}) {
    if (fns->empty())
      continue;
    auto *entry = llvm::Function::Create(
        type, llvm::GlobalValue::ExternalLinkage, name, module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", entry));
    for (llvm::Function *fn : *fns)
      b.CreateCall(fn->getFunctionType(), fn);
    b.CreateRetVoid();
  }
}

llvm::Error heed::optimizeO3(llvm::Module &module, llvm::TargetMachine &tm,
                             double *seconds) {
  auto start = std::chrono::steady_clock::now();
  llvm::Error err = mlir::makeOptimizingTransformer(3, 0, &tm)(&module);
  if (seconds)
    *seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
  return err;
}

llvm::Expected<std::string> heed::emitMachineCode(llvm::Module &module,
                                                  llvm::TargetMachine &tm,
                                                  llvm::CodeGenFileType type) {
  llvm::SmallString<0> buffer;
  llvm::raw_svector_ostream stream(buffer);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, stream, nullptr, type))
    return llvm::createStringError(
        "the host target cannot emit this file type");
  pm.run(module);
  return std::string(buffer.str());
}
