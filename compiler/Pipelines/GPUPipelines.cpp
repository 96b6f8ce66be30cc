//===- GPUPipelines.cpp - The NVIDIA GPU target's pipelines ---------------===//
//
// Part of Heed. linalg on tensors (attn-to-linalg with the GPU options: no
// oneDNN calls, recurrent layers as loops of cells, decomposed attention)
// → buffers → parallel loop nests mapped onto blocks and threads → gpu
// dialect (outlined kernels, one gpu.module) → NVVM → PTX inside a
// gpu.binary, with the host code in the LLVM dialect. Each addPass says why
// it is there.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Pipelines/GPUChips.h"
#include "compiler/Pipelines/Pipelines.h"

// Each conversion's own header (mlir/Conversion/Passes.h declares all of
// MLIR's and took 15 s of a compile).
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/SCFToGPU/SCFToGPUPass.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/OptimizeForNVVM.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"

using namespace mlir;

std::string heed::gpuLibdevicePath() {
  SmallVector<std::string, 2> roots;
  if (auto home = llvm::sys::Process::GetEnv("CUDA_HOME"))
    roots.push_back(*home);
  roots.push_back("/usr/local/cuda");
  for (const std::string &root : roots) {
    SmallString<128> path(root);
    llvm::sys::path::append(path, "nvvm", "libdevice", "libdevice.10.bc");
    if (llvm::sys::fs::exists(path))
      return std::string(path);
  }
  return "";
}

void heed::buildLinalgToMappedLoopsPipeline(OpPassManager &pm,
                                            const PipelineOptions &options) {
  // An embedding lookup fused into a product computed into a tensor of
  // its own first, so that the product is a contraction the tiled kernels
  // take (the NMT encoder's input product over all steps).
  pm.addNestedPass<func::FuncOp>(createMaterializeGatheredOperands());
  // Each user of an empty tensor its own (CSE merged them), so that
  // bufferization does not make independent work share a buffer (a
  // bidirectional layer's two input products).
  pm.addNestedPass<func::FuncOp>(createDuplicateEmptyTensors());
  buildBufferizationPipeline(pm);
  // The flash attention kernels' bodies (a gpu.launch each, or on the
  // CPU-run schedule the same body as loops over blocks and threads): after
  // bufferization, whose deallocation does not take barriers.
  BuildFlashAttentionKernelsOptions flash;
  flash.onHost = options.target == Target::GPUScheduleOnCPU;
  flash.precision = options.gpuPrecision;
  flash.prefetch = options.gpuPrefetch;
  flash.asyncCopy = options.gpuAsyncCopy;
  flash.multiprocessors = options.gpuMultiprocessors < 0
                              ? multiprocessorsOf(options.gpuChip)
                              : options.gpuMultiprocessors;
  pm.addPass(createBuildFlashAttentionKernels(flash));
  // The other attention ops' kernels (a block per batch row and query,
  // the score function inlined; a softmax over fewer rows than the chip's
  // multiprocessors in chunks of steps, combined by a second kernel), for
  // the same reason after bufferization.
  BuildAttentionRowKernelsOptions rows;
  rows.multiprocessors = flash.multiprocessors;
  pm.addPass(createBuildAttentionRowKernels(rows));
  // Matrix products (dense layers, head projections) as 64 × 64 output
  // tiles through shared memory, 4 × 4 per thread in f32, or 16 × 32 per
  // warp on tensor cores in bf16 or f16 (the same kernel as loops on the
  // CPU-run schedule).
  LowerContractionsToGPUOptions contractions;
  contractions.onHost = flash.onHost;
  contractions.precision = options.gpuPrecision;
  contractions.prefetch = options.gpuPrefetch;
  contractions.stepThreadTerms = options.gpuStepProductTerms;
  pm.addNestedPass<func::FuncOp>(createLowerContractionsToGPU(contractions));
  // Long reductions with few outputs (a softmax over the keys of a small
  // batch) as a block per output with a tree through shared memory.
  LowerReductionsToGPUOptions reductions;
  reductions.threadsInSteps = options.gpuOneBlockSteps;
  pm.addNestedPass<func::FuncOp>(createLowerReductionsToGPU(reductions));
  // Reduction dims innermost, so that every op's parallel dims form one
  // loop nest to map.
  pm.addNestedPass<func::FuncOp>(createLinalgReductionsInnermost());
  // One scf.parallel per linalg op: its parallel dims become the loop's,
  // reduction dims scf.for loops inside it (one thread reduces).
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  pm.addPass(createCanonicalizerPass());
  // A loop that reads what the loop before it wrote, each iteration its
  // own element (a copy into a concatenation after a gate, a mask after
  // its weights), in that loop's iterations: one launch, not two.
  pm.addNestedPass<func::FuncOp>(createFuseThreadLocalLoops());
  // What a fused iteration stores and loads back is the stored value, and
  // scratch buffers left only written go (bufferization shares one between
  // a bidirectional layer's directions, which would keep them apart).
  pm.addNestedPass<func::FuncOp>(createForwardThreadLocalStores());
  // A reduction's sum in a loop argument, not loaded and stored every
  // iteration (on a GPU each iteration would wait for global memory).
  pm.addNestedPass<func::FuncOp>(createPromoteLoopAccumulators());
  // Two time loops that share nothing (a bidirectional layer's directions)
  // as one, their kernels alternating, for the merge below to pair.
  pm.addNestedPass<func::FuncOp>(createInterleaveIndependentLoops());
  // Each loop nest onto (block, thread) with the innermost dim fastest, so
  // neighbouring threads touch neighbouring elements; copies too.
  pm.addNestedPass<func::FuncOp>(createMapParallelLoopsToGPU());
  // Neighbouring loops with no buffer in common as one launch (a decoder
  // step's state copies and small elementwise ops).
  pm.addNestedPass<func::FuncOp>(createMergeIndependentLoops());
  // A loop step of small kernels that depend on each other (a decoder's
  // at batch 1) as one block doing each in turn: one launch a step.
  if (options.gpuOneBlockSteps)
    pm.addPass(createOneBlockSteps());
  // A time loop whose step is that one launch, each block keeping to
  // itself (a recurrence at batch 1), inside the launch: one launch for
  // all the steps, a barrier between them.
  PersistentTimeLoopsOptions persistent;
  persistent.onHost = options.target == Target::GPUScheduleOnCPU;
  pm.addNestedPass<func::FuncOp>(createPersistentTimeLoops(persistent));
  // A stopping decoder's test of its running rows reads the newest count
  // the device has finished instead of waiting for each step's (extra
  // steps change nothing); on the CPU-run schedule, a count from a few
  // steps before, so that its tests run the extra steps.
  LagStopTestsOptions lag;
  lag.onHost = flash.onHost;
  pm.addPass(createLagStopTests(lag));
}

void heed::buildLinalgToGPUPipeline(OpPassManager &pm,
                                    const PipelineOptions &options) {
  buildLinalgToMappedLoopsPipeline(pm, options);
  // Mapped loops become gpu.launch regions...
  pm.addNestedPass<func::FuncOp>(createConvertParallelLoopToGpuPass());
  // ...index arithmetic of their bounds back to arith...
  pm.addPass(createLowerAffinePass());
  // Constants and index math used inside a launch are cloned into it, so
  // the kernels see trip counts and strides as immediates (not parameters
  // divided at run time)...
  pm.addPass(createGpuLaunchSinkIndexComputationsPass());
  // ...and each launch becomes a kernel of its own.
  pm.addPass(createGpuKernelOutliningPass());
  // One PTX module per model: loaded once by the runtime.
  pm.addPass(createMergeGPUModules());
  // Shared tiles on 16-byte boundaries: the kernels' vector stores,
  // ldmatrix and cp.async need it, and a static buffer is otherwise aligned
  // to its element.
  pm.addPass(createAlignWorkgroupBuffers());
  // Constants the host passes to its kernels, copied into memory the device
  // reaches (the host program's data is not).
  pm.addPass(createStageHostConstants());
  // Waits for the launched kernels only before the host touches memory
  // (the runtime's wait after each launch is then free): a loop of
  // launches queues its steps without a round trip per step.
  pm.addPass(createSynchronizeHostAccesses());
  pm.addPass(createCanonicalizerPass());
}

void heed::buildGPUToNVVMPipeline(OpPassManager &pm,
                                  const PipelineOptions &options) {
  // Host code: structured control flow and strided memrefs lowered before
  // the gpu-to-llvm conversion (which also converts memrefs).
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  // The NVPTX target for the kernel module: the chip, PTX 8.0 or the chip's
  // first version where later (the pass's default 6.0 aborts at sm_90, 8.0
  // at sm_100), and libdevice for math functions (__nv_expf, __nv_tanhf):
  // without it the PTX has undefined calls.
  GpuNVVMAttachTargetOptions target;
  target.chip = options.gpuChip;
  target.features = ptxFeaturesFor(options.gpuChip);
  target.optLevel = 3;
  if (std::string libdevice = gpuLibdevicePath(); !libdevice.empty())
    target.linkLibs.push_back(libdevice);
  pm.addPass(createGpuNVVMAttachTarget(target));
  // Kernels: gpu/arith/math/memref to NVVM and the LLVM dialect, 64-bit
  // indices (the host's), then cleanup.
  pm.addNestedPass<gpu::GPUModuleOp>(createStripDebugInfoPass());
  // nvgpu's ldmatrix (the tensor-core kernels' fragment loads) to NVVM.
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertNVGPUToNVVMPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  pm.addNestedPass<gpu::GPUModuleOp>(LLVM::createNVVMOptimizeForTargetPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCanonicalizerPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createCSEPass());
  pm.addNestedPass<gpu::GPUModuleOp>(createReconcileUnrealizedCastsPass());
  // Host: arith and functions to LLVM, launches to the mgpu* runtime calls.
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createGpuToLLVMConversionPass());
  // The kernel module to PTX text (format isa: assembled by the driver's
  // JIT or by ptxas), kept in a gpu.binary.
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  pm.addPass(createGpuModuleToBinaryPass(binary));
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void heed::buildLinalgToNVVMPipeline(OpPassManager &pm,
                                     const PipelineOptions &options) {
  buildLinalgToGPUPipeline(pm, options);
  buildGPUToNVVMPipeline(pm, options);
}

void heed::buildGPUScheduleOnCPUPipeline(OpPassManager &pm,
                                         const PipelineOptions &options) {
  buildLinalgToMappedLoopsPipeline(pm, options);
  // The kernels placed as launches (block reductions, f32 tiled products,
  // attention rows, and what merging made of them and their neighbours) as
  // loops over their blocks and threads, split at their barriers: the same code
  // a GPU runs.
  pm.addNestedPass<func::FuncOp>(createLaunchesToHostLoops());
  // The mapped loops run as nested loops on the host (scf-to-cf lowers
  // scf.parallel sequentially): the same index arithmetic a GPU runs.
  buildLoopsToLLVMPipeline(pm);
}
