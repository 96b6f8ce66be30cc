//===- GpuOptions.cpp - The heed tool's --gpu-* options -------------------===//
//
// Part of Heed. The options of the cuda target and of its schedule run on
// the CPU, their checks, and, for run and bench on a device, the device's
// own architecture and multiprocessors where the command line leaves them:
// PTX for a later architecture than the device's does not load, and the
// flash kernels' block size depends on the multiprocessors.
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "compiler/Pipelines/GPUChips.h"
#include "runtime/cuda/MgpuRuntime.h"

using namespace heed;

static cl::opt<std::string>
    gpuChip("gpu-chip",
            cl::desc("with --target=cuda: the NVIDIA architecture, or native "
                     "(the device's; the default for run and bench, else "
                     "sm_90)"),
            cl::value_desc("sm_NN"), cl::init("sm_90"), cl::cat(modelCat));
static cl::opt<std::string> gpuPrecision(
    "gpu-precision",
    cl::desc("with --target=cuda or gpu-schedule-on-cpu: the matrix "
             "products' multiplicands, f32 (the default), tf32x3 (f32 on "
             "tensor cores as three tf32 products each, about f32's "
             "precision), or bf16 or f16 on tensor cores with f32 "
             "accumulators (tensor cores: sm_80 and later)"),
    cl::value_desc("f32|tf32x3|bf16|f16"), cl::init("f32"), cl::cat(modelCat));
static cl::opt<bool> gpuPrefetch(
    "gpu-prefetch",
    cl::desc("with --target=cuda or gpu-schedule-on-cpu: the tiled kernels "
             "(matrix products; tensor-core flash attention, where the "
             "registers allow) read the next step's tiles into registers "
             "while a step computes (the default; =false reads each step's "
             "tiles at its start)"),
    cl::init(true), cl::cat(modelCat));
static cl::opt<bool> gpuAsyncCopy(
    "gpu-async-copy",
    cl::desc("with --target=cuda or gpu-schedule-on-cpu and a tensor-core "
             "--gpu-precision: flash attention copies its key and value "
             "tiles into shared memory by cp.async, bf16 and f16 keys and "
             "values rounded before the kernel (the default; =false stages "
             "them through registers, --gpu-prefetch's way)"),
    cl::init(true), cl::cat(modelCat));
static cl::opt<bool> gpuOneBlockSteps(
    "gpu-one-block-steps",
    cl::desc("with --target=cuda or gpu-schedule-on-cpu: a loop step whose "
             "kernels are each small (a decoder's at batch 1) runs as one "
             "launch of one block doing each in turn, and a time loop of "
             "such steps as one launch (the default; =false launches each "
             "kernel, the steps replayed as CUDA graphs)"),
    cl::init(true), cl::cat(modelCat));
static cl::opt<int64_t> gpuStepProductTerms(
    "gpu-step-product-terms",
    cl::desc("with --target=cuda or gpu-schedule-on-cpu: in a loop's step, "
             "matrix products over at most N terms keep a thread per output, "
             "so that what reads them joins their loop (default 32; 0: "
             "tiled kernels from 16 x 16 x 16, as outside loops)"),
    cl::value_desc("N"), cl::init(32), cl::cat(modelCat));
static cl::opt<int64_t> gpuMultiprocessors(
    "gpu-multiprocessors",
    cl::desc("with --target=cuda or gpu-schedule-on-cpu: the multiprocessors "
             "of the chip the kernels are for; tensor-core flash attention "
             "takes 64-row blocks where 128-row ones would leave some idle, "
             "and attention rows fewer than these share their steps among "
             "blocks (default -1: for run and bench the device's, else "
             "--gpu-chip's usual part, sm_80 108, sm_90 132, sm_100 148; 0: "
             "by the sizes alone)"),
    cl::value_desc("N"), cl::init(-1), cl::cat(modelCat));

namespace {
/// The device run and bench compile for (gpuDevice()).
std::string deviceText;
/// "this GPU's sm_75 (NAME)" where the chip is the device's, else
/// "--gpu-chip=sm_75": what an error blames.
std::string chipSource;
} // namespace

namespace heed::cli {

llvm::Error checkGpuOptions(Target target, bool runs) {
  chipSource = "--gpu-chip=" + gpuChip;
  // --gpu-chip=native: the device in hand, for any command (a model
  // library made on the machine that runs it); run and bench on the cuda
  // target take it where --gpu-chip is not given.
  bool native = gpuChip == "native";
  if (native ||
      (runs && target == Target::CUDA && !gpuChip.getNumOccurrences())) {
    rt::cuda::DeviceProperties device;
    std::string error;
    // Without a device the defaults stay: the run says why there is none.
    if (!rt::cuda::deviceProperties(device, error)) {
      if (native)
        return llvm::createStringError("--gpu-chip=native: " + error);
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
      gpuChip = chip;
      chipSource = "this GPU's " + chip + " (" + name + ")";
      if (!gpuMultiprocessors.getNumOccurrences())
        gpuMultiprocessors = device.multiprocessors;
      deviceText = name + ", compute capability " + capability + ", " +
                   std::to_string(device.multiprocessors) +
                   " multiprocessors; kernels for " + gpuChip;
    }
  }
  // The chip matters to the cuda target alone (LLVM is asked about it).
  if (target == Target::CUDA || gpuChip.getNumOccurrences())
    if (std::string problem = gpuChipProblem(gpuChip); !problem.empty())
      return llvm::createStringError(problem);
  PipelineOptions options;
  setGpuOptions(options);
  if (std::string problem = gpuOptionsProblem(options, "--"); !problem.empty())
    return llvm::createStringError(problem);
  unsigned chipNumber = 0;
  if (gpuPrecision != "f32" &&
      (llvm::StringRef(gpuChip).drop_front(3).getAsInteger(10, chipNumber) ||
       chipNumber < 80))
    return llvm::createStringError(
        "--gpu-precision=" + gpuPrecision +
        " needs tensor cores with bf16, f16 and tf32 mma.sync (sm_80 or "
        "later), not " +
        chipSource);
  if (gpuPrecision != "f32" && target == Target::CPU)
    return llvm::createStringError(
        "--gpu-precision applies to --target=cuda or gpu-schedule-on-cpu; "
        "the cpu target computes in f32");
  return llvm::Error::success();
}

void setGpuOptions(PipelineOptions &o) {
  o.gpuChip = gpuChip;
  o.gpuPrecision = gpuPrecision;
  o.gpuPrefetch = gpuPrefetch;
  o.gpuAsyncCopy = gpuAsyncCopy;
  o.gpuOneBlockSteps = gpuOneBlockSteps;
  o.gpuStepProductTerms = gpuStepProductTerms;
  o.gpuMultiprocessors = gpuMultiprocessors;
}

const std::string &gpuDevice() { return deviceText; }

} // namespace heed::cli
