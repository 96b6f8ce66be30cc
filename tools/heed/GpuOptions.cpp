//===- GpuOptions.cpp - The heed tool's --gpu-* options -------------------===//
//
// Part of Heed. The options of the cuda target and of its schedule run on
// the CPU, checked and, for run and bench on a device, given the device's
// architecture and multiprocessors where the command line leaves them
// (compiler/Driver/GpuTarget.h).
//
//===----------------------------------------------------------------------===//

#include "Commands.h"

#include "compiler/Driver/GpuTarget.h"

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
} // namespace

namespace heed::cli {

llvm::Error checkGpuOptions(Target target, bool runs) {
  PipelineOptions options;
  options.target = target;
  setGpuOptions(options);
  auto info =
      resolveGpuTarget(options, gpuChip.getNumOccurrences(),
                       gpuMultiprocessors.getNumOccurrences(), runs, "--");
  if (!info)
    return info.takeError();
  gpuChip = options.gpuChip;
  gpuMultiprocessors = options.gpuMultiprocessors;
  deviceText = info->device;
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
