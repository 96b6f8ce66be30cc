//===- GPUChips.cpp - NVIDIA architectures as the cuda target sees them ---===//
//
// Part of Heed. Facts about an architecture come from LLVM's NVPTX backend
// itself, not from a table here: whether it knows the processor (its
// subtarget's processor list), and the PTX ISA version it writes for it by
// default (the `.version` of an empty module's PTX), which is the first
// version that has the chip. Asked once per chip and process.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/GPUChips.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <mutex>

// The NVPTX backend's registration (libLLVM exports it; llvm-c/Target.h
// declares only the all-targets form).
extern "C" void LLVMInitializeNVPTXTargetInfo();
extern "C" void LLVMInitializeNVPTXTarget();
extern "C" void LLVMInitializeNVPTXTargetMC();
extern "C" void LLVMInitializeNVPTXAsmPrinter();

namespace {

constexpr const char *kTriple = "nvptx64-nvidia-cuda";
/// The PTX ISA version Heed's kernels need at least (tens: 80 is 8.0).
constexpr unsigned kMinPtxVersion = 80;

struct ChipFacts {
  bool known = false;
  /// LLVM's PTX ISA version for the chip, in tens (86 for 8.6).
  unsigned ptxVersion = 0;
};

const llvm::Target *nvptxTarget() {
  static const llvm::Target *target = [] {
    LLVMInitializeNVPTXTargetInfo();
    LLVMInitializeNVPTXTarget();
    LLVMInitializeNVPTXTargetMC();
    LLVMInitializeNVPTXAsmPrinter();
    std::string error;
    return llvm::TargetRegistry::lookupTarget(llvm::Triple(kTriple), error);
  }();
  return target;
}

/// `.version X.Y` of an empty module's PTX for `chip`, in tens; 0 if LLVM
/// writes none.
unsigned defaultPtxVersion(const llvm::Target &target, llvm::StringRef chip) {
  llvm::Triple triple(kTriple);
  std::unique_ptr<llvm::TargetMachine> machine(target.createTargetMachine(
      triple, chip, "", llvm::TargetOptions(), std::nullopt));
  if (!machine)
    return 0;
  llvm::LLVMContext context;
  llvm::Module module("heed-chip", context);
  module.setTargetTriple(triple);
  module.setDataLayout(machine->createDataLayout());
  llvm::SmallString<512> ptx;
  llvm::raw_svector_ostream os(ptx);
  llvm::legacy::PassManager pm;
  if (machine->addPassesToEmitFile(pm, os, nullptr,
                                   llvm::CodeGenFileType::AssemblyFile))
    return 0;
  pm.run(module);
  for (llvm::StringRef line : llvm::split(ptx.str(), '\n')) {
    if (!line.consume_front(".version "))
      continue;
    auto [major, minor] = line.trim().split('.');
    unsigned x = 0, y = 0;
    if (major.getAsInteger(10, x) || minor.getAsInteger(10, y))
      return 0;
    return x * 10 + y;
  }
  return 0;
}

ChipFacts factsOf(llvm::StringRef chip) {
  static std::mutex lock;
  static llvm::StringMap<ChipFacts> known;
  std::lock_guard<std::mutex> guard(lock);
  auto it = known.find(chip);
  if (it != known.end())
    return it->second;
  ChipFacts facts;
  if (const llvm::Target *target = nvptxTarget()) {
    // A subtarget of the generic processor only lists the processors (one
    // made for an unknown chip would warn that it ignores it).
    std::unique_ptr<llvm::MCSubtargetInfo> generic(
        target->createMCSubtargetInfo(llvm::Triple(kTriple), "", ""));
    facts.known = generic && generic->isCPUStringValid(chip);
    if (facts.known)
      facts.ptxVersion = defaultPtxVersion(*target, chip);
  }
  known[chip] = facts;
  return facts;
}

bool looksLikeChip(llvm::StringRef chip) {
  llvm::StringRef digits = chip;
  return digits.consume_front("sm_") && digits.size() >= 2 &&
         llvm::all_of(digits, llvm::isDigit);
}

} // namespace

std::string heed::gpuChipProblem(llvm::StringRef chip, llvm::StringRef option) {
  if (!looksLikeChip(chip))
    return (option + " must look like sm_90, not '" + chip + "'").str();
  if (!factsOf(chip).known)
    return (option + "=" + chip +
            " is not an NVIDIA architecture LLVM's NVPTX backend knows "
            "(sm_75, sm_80, sm_86, sm_89, sm_90, sm_100 and sm_120 are)")
        .str();
  return "";
}

std::string heed::ptxFeaturesFor(llvm::StringRef chip) {
  unsigned version = std::max(kMinPtxVersion, factsOf(chip).ptxVersion);
  return "+ptx" + std::to_string(version);
}

std::string heed::gpuChipForComputeCapability(int major, int minor) {
  if (major < 1 || minor < 0 || minor > 9)
    return "";
  for (int number = major * 10 + minor; number >= 20; --number) {
    std::string chip = "sm_" + std::to_string(number);
    if (factsOf(chip).known)
      return chip;
  }
  return "";
}

int64_t heed::multiprocessorsOf(llvm::StringRef chip) {
  return llvm::StringSwitch<int64_t>(chip)
      .Case("sm_80", 108)
      .Case("sm_90", 132)
      .Case("sm_100", 148)
      .Default(0);
}
