//===- GpuTarget.cpp - The GPU options checked, the device's chip taken ---===//
//
// Part of Heed. See GpuTarget.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/GpuTarget.h"

#include "compiler/Pipelines/GPUChips.h"
#include "runtime/cuda/MgpuRuntime.h"

using namespace heed;

llvm::Expected<GpuTargetInfo> heed::resolveGpuTarget(PipelineOptions &o,
                                                     bool chipGiven,
                                                     bool multiprocessorsGiven,
                                                     bool runs,
                                                     llvm::StringRef dashes) {
  GpuTargetInfo info;
  std::string chipOption = (dashes + "gpu-chip").str();
  info.chipSource = chipOption + "=" + o.gpuChip;
  // gpu-chip=native: the device in hand, for any command (a model library
  // made on the machine that runs it); runs on the cuda target take it
  // where the chip is not given.
  bool native = o.gpuChip == "native";
  if (native || (runs && o.target == Target::CUDA && !chipGiven)) {
    rt::cuda::DeviceProperties device;
    std::string error;
    // Without a device the defaults stay: the run says why there is none.
    if (!rt::cuda::deviceProperties(device, error)) {
      if (native)
        return llvm::createStringError(chipOption + "=native: " + error);
    } else {
      std::string chip =
          gpuChipForComputeCapability(device.computeMajor, device.computeMinor);
      std::string name = device.name.empty() ? "device 0" : device.name;
      std::string capability = std::to_string(device.computeMajor) + "." +
                               std::to_string(device.computeMinor);
      if (chip.empty())
        return llvm::createStringError(
            name + " has compute capability " + capability +
            ", older than any architecture LLVM's NVPTX backend knows");
      o.gpuChip = chip;
      info.chipSource = "this GPU's " + chip + " (" + name + ")";
      if (!multiprocessorsGiven)
        o.gpuMultiprocessors = device.multiprocessors;
      info.device = name + ", compute capability " + capability + ", " +
                    std::to_string(device.multiprocessors) +
                    " multiprocessors; kernels for " + o.gpuChip;
    }
  }
  // The chip matters to the cuda target alone (LLVM is asked about it).
  if (o.target == Target::CUDA || chipGiven)
    if (std::string problem = gpuChipProblem(o.gpuChip, chipOption);
        !problem.empty())
      return llvm::createStringError(problem);
  if (std::string problem = gpuOptionsProblem(o, dashes); !problem.empty())
    return llvm::createStringError(problem);
  unsigned chipNumber = 0;
  std::string precision = (dashes + "gpu-precision=" + o.gpuPrecision).str();
  if (o.gpuPrecision != "f32" &&
      (llvm::StringRef(o.gpuChip).drop_front(3).getAsInteger(10, chipNumber) ||
       chipNumber < 80))
    return llvm::createStringError(
        precision +
        " needs tensor cores with bf16, f16 and tf32 mma.sync (sm_80 or "
        "later), not " +
        info.chipSource);
  if (o.gpuPrecision != "f32" && o.target == Target::CPU)
    return llvm::createStringError(
        dashes + "gpu-precision applies to " + dashes +
        "target=cuda or gpu-schedule-on-cpu; the cpu target computes in f32");
  return info;
}
