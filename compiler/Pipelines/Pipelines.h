//===- Pipelines.h - Heed's compilation pipelines ---------------*- C++ -*-===//
//
// Part of Heed. Pipelines are C++ builder functions; registerHeedPipelines()
// makes each available to heed-opt by name.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_PIPELINES_PIPELINES_H
#define HEED_COMPILER_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringSet.h"

#include <optional>
#include <string>

namespace heed {

/// Where compiled code runs.
enum class Target {
  /// Host code and oneDNN kernels.
  CPU,
  /// NVIDIA GPU kernels as PTX, host code that launches them.
  CUDA,
  /// The CUDA target's lowering, its loop nests mapped to blocks and
  /// threads, run on the CPU: checks the GPU schedule's arithmetic without
  /// a GPU.
  GPUScheduleOnCPU,
};
/// The one table of target names: "cpu", "cuda", "gpu-schedule-on-cpu".
llvm::StringRef targetName(Target target);
/// The target called `name`, if there is one.
std::optional<Target> parseTarget(llvm::StringRef name);
/// Every name, for messages: 'cpu', 'cuda' or 'gpu-schedule-on-cpu'.
std::string targetNames();

struct PipelineOptions {
  /// Recognize Keras-style attention subgraphs and raise them to
  /// attn.attention before lowering.
  bool raiseAttention = true;
  /// Lower attn.attention to the fused loop nest (true) or decompose it
  /// into whole-tensor ops (false).
  bool fusedAttention = true;
  /// Recurrent cells inside loops: "fused" (generated), "onednn" (one-step
  /// oneDNN primitives) or "auto" (the faster one for the batch size).
  std::string cells = "auto";
  /// Dense layers: "generated", "onednn" (oneDNN's inner product, where the
  /// weights allow) or "auto" (oneDNN for many rows of large enough layers).
  std::string dense = "auto";
  /// Where the code runs.
  Target target = Target::CPU;
  /// The NVIDIA architecture the cuda target compiles for.
  std::string gpuChip = "sm_90";
  /// The GPU target's matrix products: "f32", or "bf16" or "f16" on tensor
  /// cores (f32 accumulators; sm_80 and later).
  std::string gpuPrecision = "f32";
  /// The GPU target's tiled kernels (tensor-core flash attention, matrix
  /// products) read the next step's tiles into registers while a step
  /// computes (software pipelining; flash attention where they fit).
  bool gpuPrefetch = true;
  /// Tensor-core flash attention copies its key and value tiles by
  /// cp.async, the keys and values rounded before the kernel (bf16, f16) or
  /// as they are (tf32x3), rather than through registers (gpuPrefetch's).
  bool gpuAsyncCopy = true;
  /// A loop step's small dependent kernels as one launch of one block
  /// (heed-one-block-steps; a small product in a step a thread per output,
  /// so that it is one block too): a decoder at batch 1 one launch. Off:
  /// each kernel a launch, replayed by CUDA graphs.
  bool gpuOneBlockSteps = true;
  /// In a loop's step, products over at most this many terms keep a thread
  /// per output rather than a tiled kernel: the tiled kernel would run a
  /// K step or two on a few blocks (an encoder LSTM's [256, 32] · [32, 128]
  /// on 8 of them), and as a loop the product takes its consumer in (the
  /// cell gathers its gates: one launch a step fewer). 0: tiled from
  /// 16 × 16 × 16 as outside loops.
  int64_t gpuStepProductTerms = 32;
  /// The multiprocessors of the chip the GPU kernels are for: flash
  /// attention takes smaller blocks where larger ones would leave some
  /// without work, and a softmax over fewer attention rows than this
  /// shares each row's steps among blocks. -1: the usual count of
  /// gpuChip's largest part (multiprocessorsOf, GPUChips.h); 0: unknown,
  /// blocks chosen by the sizes alone.
  int64_t gpuMultiprocessors = -1;
  /// Loop nests as functions of their own (heed-outline-loop-nests), so
  /// that the JIT compiles them on several cores. The same on every thread
  /// count of one machine: the driver sets it when the process may use
  /// more than one core.
  bool outlineLoopNests = false;
  /// Loops with `until`: once few rows still run, a step computes them
  /// only, this many at a time (dsl::GenOptions::liveRowChunk); -1 (the
  /// default) picks a quarter of the batch from 8 rows on, 0 computes every
  /// row every step.
  int64_t liveRowChunk = -1;

  /// The GPU target's lowering (on a GPU or its schedule on the CPU).
  bool targetsGPU() const { return target != Target::CPU; }
};

/// What is wrong with the GPU options of `o` that take a number or a name
/// (gpuPrecision, gpuStepProductTerms, gpuMultiprocessors), each named
/// with `dashes` before it ("--" for the heed CLI, "" for heed-opt's
/// pipeline options); empty when nothing is. (gpuChip: gpuChipProblem.)
std::string gpuOptionsProblem(const PipelineOptions &o, llvm::StringRef dashes);

/// What is wrong with the kernel choices of `o` (cells: auto, fused or
/// onednn; dense: auto, generated or onednn), each named as its caller
/// spells it (`cellsName`: "--cell" for the heed CLI, "option 'cells'" for
/// pipeline options); empty when nothing is.
std::string kernelChoicesProblem(const PipelineOptions &o,
                                 llvm::StringRef cellsName,
                                 llvm::StringRef denseName);

/// Compiler options as heed-opt's pipelines take them, over `o`:
/// space-separated name=value ("target=cuda gpu-precision=bf16 fused=false";
/// a bool's name alone sets it). The names given are added to `given`.
/// Returns what is wrong (the option, its value, what it may be) and leaves
/// `o` as it was, or returns empty. (The embedding APIs' options: the C
/// API's heed_load_with_options, Python's `options=`.)
std::string parsePipelineOptions(llvm::StringRef text, PipelineOptions &o,
                                 llvm::StringSet<> *given = nullptr);

/// attn (as the frontend emits it) → attn with attention ops raised.
void buildAttnOptimizationPipeline(mlir::OpPassManager &pm,
                                   const PipelineOptions &options);
/// attn → linalg/tensor/arith/math (+ fused attention loops).
void buildAttnToLinalgPipeline(mlir::OpPassManager &pm,
                               const PipelineOptions &options);
/// linalg on tensors → LLVM dialect, ready for translation and the JIT.
void buildLinalgToLLVMPipeline(mlir::OpPassManager &pm,
                               const PipelineOptions &options);
/// linalg on tensors → LLVM dialect for `options.target`: one of
/// buildLinalgToLLVMPipeline, buildLinalgToNVVMPipeline and
/// buildGPUScheduleOnCPUPipeline.
void buildLinalgToTargetPipeline(mlir::OpPassManager &pm,
                                 const PipelineOptions &options);
/// Shared by the CPU and GPU targets: tensors to buffers (results become
/// out-parameters), temporaries hoisted out of loops and freed; with
/// `parallelLoops` (the CPU target), marked loops run on threads
/// (heed-outline-parallel-loops).
void buildBufferizationPipeline(mlir::OpPassManager &pm,
                                bool parallelLoops = false);
/// Loops and vector ops on memrefs → LLVM dialect (the CPU target's tail),
/// with sizeable loop nests outlined into functions if `outlineLoopNests`.
void buildLoopsToLLVMPipeline(mlir::OpPassManager &pm,
                              bool outlineLoopNests = false);

/// GPU target (GPUPipelines.cpp). linalg on tensors → buffers and parallel
/// loop nests mapped onto blocks and threads (still runnable on the CPU).
void buildLinalgToMappedLoopsPipeline(mlir::OpPassManager &pm,
                                      const PipelineOptions &options);
/// linalg on tensors → host functions launching outlined kernels (gpu
/// dialect), all kernels in one gpu.module.
void buildLinalgToGPUPipeline(mlir::OpPassManager &pm,
                              const PipelineOptions &options);
/// Outlined kernels → NVVM → PTX in a gpu.binary; host code → LLVM dialect.
void buildGPUToNVVMPipeline(mlir::OpPassManager &pm,
                            const PipelineOptions &options);
/// libdevice.10.bc under $CUDA_HOME or /usr/local/cuda; empty if absent.
std::string gpuLibdevicePath();
/// linalg on tensors → LLVM dialect with GPU kernels as PTX.
void buildLinalgToNVVMPipeline(mlir::OpPassManager &pm,
                               const PipelineOptions &options);
/// linalg on tensors → the GPU schedule's loop nests → LLVM dialect for the
/// CPU's JIT.
void buildGPUScheduleOnCPUPipeline(mlir::OpPassManager &pm,
                                   const PipelineOptions &options);

/// The whole way from frontend attn IR to the LLVM dialect.
void buildHeedPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);

/// Registers heed-attn-opt, heed-attn-to-linalg, heed-linalg-to-llvm,
/// heed-linalg-to-gpu, heed-gpu-to-nvvm and heed-pipeline with the global
/// pass-pipeline registry.
void registerHeedPipelines();

} // namespace heed

#endif
