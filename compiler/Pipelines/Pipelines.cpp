//===- Pipelines.cpp - Heed's compilation pipelines -----------------------===//
//
// Part of Heed. Each addPass says why it is there.
//
//===----------------------------------------------------------------------===//

#include "compiler/Pipelines/Pipelines.h"
#include "compiler/Conversion/LoopsToGPU/WarpMma.h"
#include "compiler/Passes.h"
#include "compiler/Pipelines/GPUChips.h"

// Each conversion's own header: mlir/Conversion/Passes.h declares all of
// MLIR's (Tosa, XeVM, SPIR-V, OpenMP, …) and took 15 s of this file's compile.
#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void heed::buildAttnOptimizationPipeline(OpPassManager &pm,
                                         const PipelineOptions &options) {
  // Turn the Keras formulation of attention into one attn.attention so the
  // fused lowering can avoid materializing its [B, T, ·] intermediates.
  if (options.raiseAttention)
    pm.addNestedPass<func::FuncOp>(createRaiseAttention());
  // Canonical forms (a weighted sum as a dense layer), and the repeat/concat
  // producers that raising leaves dead.
  pm.addPass(createCanonicalizerPass());
}

void heed::buildAttnToLinalgPipeline(OpPassManager &pm,
                                     const PipelineOptions &options) {
  if (options.fusedAttention && !options.targetsGPU()) {
    // Key-only score work (U·h + b) on whole key tensors, so that
    // loop-invariant code motion takes it out of decoder loops.
    pm.addNestedPass<func::FuncOp>(createHoistKeyProjections());
    // Query-only score work (W·s) over all batch rows at once: one matrix
    // product per decoder step instead of one product per row.
    pm.addNestedPass<func::FuncOp>(createHoistQueryProjections());
    // One loop nest per attention op; must run while attn ops still say
    // which values are query-only (hoistable) and which depend on keys.
    pm.addNestedPass<func::FuncOp>(createLowerAttentionToLoops());
  } else {
    if (options.fusedAttention) {
      // GPU: a large dense layer over concat(query, key) as a product per
      // part (the CPU's fused loop nest splits it itself)...
      pm.addNestedPass<func::FuncOp>(createSplitConcatDense());
      // ...so that the score's key-only and query-only work runs on whole
      // tensors (tiled products, out of decoder loops once LICM runs), as
      // on the CPU...
      pm.addNestedPass<func::FuncOp>(createHoistKeyProjections());
      pm.addNestedPass<func::FuncOp>(createHoistQueryProjections());
      // ...then dot-product attention over query sequences as calls of
      // flash-style kernels (built after bufferization; bf16 and f16
      // tensor-core kernels take their keys and values rounded)...
      LowerDotAttentionToGPUOptions flash;
      flash.precision = options.gpuPrecision;
      flash.asyncCopy = options.gpuAsyncCopy;
      pm.addPass(createLowerDotAttentionToGPU(flash));
      // ...and every other attention whose score has a form per element
      // as a call of a kernel with a block per batch row and query.
      pm.addPass(createLowerAttentionRowsToGPU());
    }
    // Reference lowering: attention becomes whole-tensor attn ops (the
    // GPU target's for every other attention).
    pm.addNestedPass<func::FuncOp>(createDecomposeAttention());
  }
  // Recurrent layers with per-row lengths (packed sequences) have no oneDNN
  // primitive: a loop of cells that keep a row's state past its length. The
  // GPU target has no oneDNN at all: every recurrent layer becomes one.
  ExpandPackedRecurrenceOptions expand;
  expand.allLayers = options.targetsGPU();
  pm.addNestedPass<func::FuncOp>(createExpandPackedRecurrence(expand));
  // A cell stepped from zeros is a dense layer over its input and its gates
  // (no product with the state).
  pm.addNestedPass<func::FuncOp>(createSimplifyZeroStateCells());
  // A dense layer over a convolution (Tacotron2's location layer, now
  // outside the score region) is one convolution with composed weights.
  pm.addNestedPass<func::FuncOp>(createFoldDenseIntoConv1D());
  // Whole-tensor work that does not depend on a decoder loop's step (the
  // hoisted key projections) leaves the loop while it is still pure attn
  // ops: once it is a kernel call, nothing may move it. First the work
  // inside the step's branches (a loop that stops, on its running rows).
  pm.addNestedPass<func::FuncOp>(createHoistNestedInvariantOps());
  pm.addNestedPass<func::FuncOp>(createLoopInvariantCodeMotionPass());
  // Equal work hoisted from several branches (each branch's key
  // projection) is done once.
  pm.addNestedPass<func::FuncOp>(createCSEPass());
  // Recurrent layers, Conv1D and dense layers over many rows run in oneDNN:
  // calls into the runtime, whose primitives and reordered weights are built
  // once per compiled model. (Not on the GPU: everything is generated.)
  if (!options.targetsGPU()) {
    ConvertAttnToRuntimeOptions runtime;
    runtime.cells = options.cells;
    runtime.dense = options.dense;
    pm.addPass(createConvertAttnToRuntime(runtime));
  }
  // Everything else in attn maps onto linalg generics on tensors (on the
  // GPU a beam's row gathers are one kernel, not host copies, and a small
  // convolution one kernel, not its unfolded windows and a product).
  ConvertAttnToLinalgOptions linalg;
  linalg.gatherElementwise = options.targetsGPU();
  linalg.directConvolution = options.targetsGPU();
  pm.addNestedPass<func::FuncOp>(createConvertAttnToLinalg(linalg));
  // Weight transposes and slices do not depend on the fused loops' rows:
  // hoist them to the top level...
  pm.addNestedPass<func::FuncOp>(createLoopInvariantCodeMotionPass());
  // ...and out of the model function: the runtime computes them once when
  // weights are bound.
  pm.addPass(createOutlineWeightPreparation());
  // GPU: the input product of every step of a recurrent loop as one
  // product before it (a tiled kernel, not one small one per step).
  if (options.targetsGPU())
    pm.addNestedPass<func::FuncOp>(createHoistSequenceProducts());
  // Merge producer/consumer elementwise generics (bias + activation, the
  // softmax chain) so fewer temporaries are allocated and walked.
  pm.addPass(createLinalgElementwiseOpFusionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void heed::buildLinalgToLLVMPipeline(OpPassManager &pm,
                                     const PipelineOptions &options) {
  // Row statistics and what reads them (layer norms) a few rows at a time,
  // their temporaries in L1, instead of one pass over the tensor per op.
  pm.addNestedPass<func::FuncOp>(createFuseRowReductions());
  // Register-sized tiles in vector ops instead of scalar loops that
  // accumulate through memory.
  pm.addNestedPass<func::FuncOp>(createVectorizeLinalg());
  pm.addPass(createCanonicalizerPass());
  buildBufferizationPipeline(pm, /*parallelLoops=*/true);
  // Accumulators of tiles that reduce over a loop stay in registers.
  pm.addNestedPass<func::FuncOp>(createHoistVectorTransfers());
  buildLoopsToLLVMPipeline(pm, options.outlineLoopNests);
}

void heed::buildBufferizationPipeline(OpPassManager &pm, bool parallelLoops) {
  // Each kernel call reads its inputs where it runs (CSE may have merged
  // the to_buffer of two calls, and bufferization reuses buffers in place
  // by the position of that read).
  pm.addNestedPass<func::FuncOp>(createReadBuffersAtCalls());
  // A value returned twice (two outputs of one expression, or equal ones
  // merged by CSE) would crash buffer-results-to-out-params: copy repeats.
  pm.addNestedPass<func::FuncOp>(createDistinctResults());
  // Tensors to buffers across the whole module, function signatures included
  // and with plain (identity) layouts so the runtime passes dense arrays.
  // Each parallel loop its own scratch (CSE merged their empty tensors).
  if (parallelLoops)
    pm.addNestedPass<func::FuncOp>(createPrivatizeParallelScratch());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  // Decoder loops carry states the cell computes into new buffers.
  bufferize.allowReturnAllocsFromLoops = true;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  // ...and copy those states at the start of every step, which a step that
  // only reads them does not need.
  pm.addNestedPass<func::FuncOp>(createForwardWhileCarries());
  // Results become caller-allocated out-parameters: the runtime owns every
  // output buffer and no ownership crosses the ABI.
  bufferization::BufferResultsToOutParamsPassOptions outParams;
  outParams.hoistStaticAllocs = true;
  outParams.modifyPublicFunctions = true; // the model function is public
  pm.addPass(bufferization::createBufferResultsToOutParamsPass(outParams));
  // The iterations of independent loops (attention rows, heads, query
  // tiles) as functions the runtime runs on its threads; before the
  // hoisting below, so that their scratch buffers stay their own.
  if (parallelLoops)
    pm.addPass(createOutlineParallelLoops());
  // Row-sized temporaries of fused loops are allocated once, before the
  // loops, not once per step...
  pm.addNestedPass<func::FuncOp>(bufferization::createBufferHoistingPass());
  pm.addNestedPass<func::FuncOp>(bufferization::createBufferLoopHoistingPass());
  // (No promotion to the stack: an alloca that stays inside a loop grows the
  // stack every iteration and overflows it on large batches.)
  // Free every remaining heap temporary.
  bufferization::buildBufferDeallocationPipeline(pm);
}

void heed::buildLoopsToLLVMPipeline(OpPassManager &pm, bool outlineLoopNests) {
  // Structured ops become scf loops over memrefs.
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // Hoist loop-invariant loads and address computations.
  pm.addNestedPass<func::FuncOp>(createLoopInvariantCodeMotionPass());
  // Loop nests as functions of their own, so that LLVM can optimize and
  // compile them on several threads (JITModel).
  if (outlineLoopNests)
    pm.addPass(createOutlineLoopNests());
  // tanh/exp as polynomials: arithmetic the vectorizers can widen, instead
  // of one libm call per element.
  pm.addPass(createApproximateMath());
  // n-D reductions, contractions, transposes to 1-D vector ops.
  pm.addPass(createLowerVectorOps());
  // The passes nested on functions below run on several threads when the
  // loop nests are functions of their own (MLIR's pass manager).
  OpPassManager &functions = pm.nest<func::FuncOp>();
  // Multi-dimensional vector transfers into 1-D ones LLVM can lower, fully
  // unrolled: the default loops go through a stack temporary per loop
  // iteration, which overflows the stack on long loops.
  functions.addPass(createConvertVectorToSCFPass(
      VectorTransferToSCFOptions().enableFullUnroll()));
  functions.addPass(createLowerAffinePass());
  functions.addPass(createSCFToControlFlowPass());
  // Standard dialect-to-LLVM conversions; strided metadata first so memref
  // subviews lower to plain pointer arithmetic. Inside functions: vector,
  // math, arith and ub.poison (vectorization pads transfers with it).
  functions.addPass(memref::createExpandStridedMetadataPass());
  functions.addPass(createLowerAffinePass());
  functions.addPass(createConvertVectorToLLVMPass());
  functions.addPass(createConvertMathToLLVMPass());
  functions.addPass(createArithToLLVMConversionPass());
  functions.addPass(createUBToLLVMConversionPass());
  // Module-wide: memrefs (malloc and free declarations), function
  // signatures, then the control flow in the converted functions.
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  // The parallel loops' dispatch functions call heed_parallel_for.
  pm.addPass(createLowerParallelDispatch());
}

namespace {
constexpr std::pair<heed::Target, llvm::StringLiteral> kTargetNames[] = {
    {heed::Target::CPU, "cpu"},
    {heed::Target::CUDA, "cuda"},
    {heed::Target::GPUScheduleOnCPU, "gpu-schedule-on-cpu"},
};
} // namespace

llvm::StringRef heed::targetName(Target target) {
  for (auto &[t, name] : kTargetNames)
    if (t == target)
      return name;
  llvm_unreachable("a target without a name");
}

std::optional<heed::Target> heed::parseTarget(llvm::StringRef name) {
  for (auto &[t, n] : kTargetNames)
    if (n == name)
      return t;
  return std::nullopt;
}

std::string heed::gpuOptionsProblem(const PipelineOptions &o,
                                    StringRef dashes) {
  if (o.gpuMultiprocessors < -1)
    return (dashes + "gpu-multiprocessors must be -1 (" + dashes +
            "gpu-chip's usual count), 0 (unknown) or a count, not " +
            Twine(o.gpuMultiprocessors))
        .str();
  if (o.gpuStepProductTerms < 0)
    return (dashes + "gpu-step-product-terms must be 0 or more, not " +
            Twine(o.gpuStepProductTerms))
        .str();
  if (!isPrecision(o.gpuPrecision))
    return (dashes + "gpu-precision must be " + precisionList("'") + ", not '" +
            o.gpuPrecision + "'")
        .str();
  return "";
}

std::string heed::kernelChoicesProblem(const PipelineOptions &o,
                                       StringRef cellsName,
                                       StringRef denseName) {
  if (o.cells != "auto" && o.cells != "fused" && o.cells != "onednn")
    return (cellsName + " must be 'auto', 'fused' or 'onednn', not '" +
            o.cells + "'")
        .str();
  if (o.dense != "auto" && o.dense != "generated" && o.dense != "onednn")
    return (denseName + " must be 'auto', 'generated' or 'onednn', not '" +
            o.dense + "'")
        .str();
  return "";
}

std::string heed::targetNames() {
  std::string out;
  for (size_t i = 0; i < std::size(kTargetNames); ++i)
    out += (i == 0                             ? "'"
            : i + 1 == std::size(kTargetNames) ? " or '"
                                               : ", '") +
           kTargetNames[i].second.str() + "'";
  return out;
}

void heed::buildLinalgToTargetPipeline(OpPassManager &pm,
                                       const PipelineOptions &options) {
  switch (options.target) {
  case Target::CPU:
    return buildLinalgToLLVMPipeline(pm, options);
  case Target::CUDA:
    return buildLinalgToNVVMPipeline(pm, options);
  case Target::GPUScheduleOnCPU:
    return buildGPUScheduleOnCPUPipeline(pm, options);
  }
}

void heed::buildHeedPipeline(OpPassManager &pm, const PipelineOptions &options) {
  buildAttnOptimizationPipeline(pm, options);
  buildAttnToLinalgPipeline(pm, options);
  buildLinalgToTargetPipeline(pm, options);
}

namespace {
struct PipelineCLOptions : public PassPipelineOptions<PipelineCLOptions> {
  Option<bool> raise{*this, "raise", llvm::cl::desc("raise Keras-style attention"),
                     llvm::cl::init(true)};
  Option<bool> fused{*this, "fused",
                     llvm::cl::desc("fused attention loops (else decomposed)"),
                     llvm::cl::init(true)};
  Option<std::string> cells{*this, "cells",
                            llvm::cl::desc("cells in loops: auto, fused or onednn"),
                            llvm::cl::init("auto")};
  Option<std::string> dense{*this, "dense",
                            llvm::cl::desc("dense layers: auto, generated or onednn"),
                            llvm::cl::init("auto")};
  Option<heed::Target> target{
      *this, "target", llvm::cl::desc("where the code runs"),
      llvm::cl::init(heed::Target::CPU),
      llvm::cl::values(
          clEnumValN(heed::Target::CPU, "cpu", "host code, oneDNN kernels"),
          clEnumValN(heed::Target::CUDA, "cuda", "NVIDIA GPU kernels (PTX)"),
          clEnumValN(heed::Target::GPUScheduleOnCPU, "gpu-schedule-on-cpu",
                     "the GPU lowering's loop nests run on the CPU"))};
  Option<std::string> gpuChip{*this, "gpu-chip",
                              llvm::cl::desc("NVIDIA architecture (sm_90)"),
                              llvm::cl::init("sm_90")};
  Option<std::string> gpuPrecision{
      *this, "gpu-precision",
      llvm::cl::desc(
          "matrix products: f32, or on tensor cores tf32x3, bf16 or f16 "
          "tensor cores"),
      llvm::cl::init("f32")};
  Option<bool> gpuPrefetch{
      *this, "gpu-prefetch",
      llvm::cl::desc("tiled kernels (tensor-core flash attention, matrix "
                     "products) read the next step's tiles while a step "
                     "computes"),
      llvm::cl::init(true)};
  Option<bool> gpuAsyncCopy{
      *this, "gpu-async-copy",
      llvm::cl::desc("tensor-core flash attention copies its key and value "
                     "tiles by cp.async (bf16 and f16 keys and values "
                     "rounded before the kernel)"),
      llvm::cl::init(true)};
  Option<bool> gpuOneBlockSteps{
      *this, "gpu-one-block-steps",
      llvm::cl::desc("a loop step's small dependent kernels as one launch of "
                     "one block"),
      llvm::cl::init(true)};
  Option<int64_t> gpuStepProductTerms{
      *this, "gpu-step-product-terms",
      llvm::cl::desc("in a loop's step, products over at most this many "
                     "terms keep a thread per output (0: tiled)"),
      llvm::cl::init(32)};
  Option<int64_t> gpuMultiprocessors{
      *this, "gpu-multiprocessors",
      llvm::cl::desc("the chip's multiprocessors, for the flash kernels' "
                     "block size and the attention rows' chunks of steps "
                     "(-1: gpu-chip's usual count, 0: unknown)"),
      llvm::cl::init(-1)};
  Option<bool> outline{*this, "outline-loop-nests",
                       llvm::cl::desc("loop nests as functions of their own "
                                      "(for parallel code generation)"),
                       llvm::cl::init(false)};
  /// Calls `f(option, field)` for each option of `self` and its field of
  /// `o` (set and get, the two directions).
  template <typename Self, typename Options, typename F>
  static void eachField(Self &self, Options &o, F f) {
    f(self.raise, o.raiseAttention);
    f(self.fused, o.fusedAttention);
    f(self.cells, o.cells);
    f(self.dense, o.dense);
    f(self.target, o.target);
    f(self.gpuChip, o.gpuChip);
    f(self.gpuPrecision, o.gpuPrecision);
    f(self.gpuPrefetch, o.gpuPrefetch);
    f(self.gpuAsyncCopy, o.gpuAsyncCopy);
    f(self.gpuOneBlockSteps, o.gpuOneBlockSteps);
    f(self.gpuStepProductTerms, o.gpuStepProductTerms);
    f(self.gpuMultiprocessors, o.gpuMultiprocessors);
    f(self.outline, o.outlineLoopNests);
  }
  void set(const heed::PipelineOptions &o) {
    eachField(*this, o,
              [](auto &option, const auto &field) { option = field; });
  }
  heed::PipelineOptions get() const {
    heed::PipelineOptions o;
    eachField(*this, o,
              [](const auto &option, auto &field) { field = option; });
    return o;
  }
};

/// Registers a pipeline built from PipelineCLOptions. Where it writes PTX
/// (`writesPtx`, or the cuda target), a gpu-chip LLVM's NVPTX backend does
/// not know is an error, not PTX for a processor LLVM ignores.
void registerPipeline(StringRef arg, StringRef description,
                      void (*build)(OpPassManager &,
                                    const heed::PipelineOptions &),
                      bool writesPtx = false) {
  registerPassPipeline(
      arg, description,
      [build, writesPtx](OpPassManager &pm, StringRef text,
                         function_ref<LogicalResult(const Twine &)> error) {
        heed::PipelineOptions options;
        if (std::string problem = heed::parsePipelineOptions(text, options);
            !problem.empty())
          return error(problem);
        if (writesPtx || options.target == heed::Target::CUDA)
          if (std::string problem =
                  heed::gpuChipProblem(options.gpuChip, "gpu-chip");
              !problem.empty())
            return error(problem);
        build(pm, options);
        return success();
      },
      [](function_ref<void(const detail::PassOptions &)> handler) {
        handler(PipelineCLOptions());
      });
}
} // namespace

std::string heed::parsePipelineOptions(StringRef text, PipelineOptions &o,
                                       llvm::StringSet<> *given) {
  // The table's names, from its own printing: "{cells=auto dense=auto ...}".
  std::string all;
  llvm::raw_string_ostream printed(all);
  PipelineCLOptions().print(printed);
  SmallVector<StringRef> pairs, names;
  llvm::StringMap<StringRef> defaults;
  StringRef(all).trim("{}").split(pairs, ' ', -1, /*KeepEmpty=*/false);
  for (StringRef pair : pairs) {
    names.push_back(pair.split('=').first);
    defaults[names.back()] = pair.split('=').second;
  }
  // Each name=value alone first, so that an error names its option.
  SmallVector<StringRef> tokens;
  llvm::SplitString(text, tokens); // at any white space
  for (StringRef token : tokens) {
    auto [name, value] = token.split('=');
    if (!llvm::is_contained(names, name))
      return ("unknown option '" + name +
              "' (options: " + llvm::join(names, ", ") + ")")
          .str();
    // The values llvm::cl's parsers take, checked here so that a bad one
    // gets this message rather than llvm::cl's on stderr.
    StringRef usual = defaults[name];
    bool isBool = usual == "true" || usual == "false";
    int64_t number;
    std::string takes;
    if (!isBool && !token.contains('='))
      return ("option '" + name + "' needs a value (" + name + "=...)").str();
    if (name == "target" && !parseTarget(value))
      takes = targetNames();
    else if (isBool && token.contains('=') &&
             !llvm::is_contained(
                 {"true", "false", "1", "0", "TRUE", "FALSE", "True", "False"},
                 value))
      takes = "true or false";
    else if (!usual.getAsInteger(0, number) && value.getAsInteger(0, number))
      takes = "a whole number";
    if (!takes.empty())
      return ("option '" + name + "': '" + value + "' is not " + takes).str();
  }
  PipelineCLOptions cl;
  cl.set(o); // options not given keep o's values
  if (failed(cl.parseFromString(llvm::join(tokens, " "))))
    return ("bad options '" + text + "'").str();
  PipelineOptions parsed = cl.get();
  if (std::string problem =
          kernelChoicesProblem(parsed, "option 'cells'", "option 'dense'");
      !problem.empty())
    return problem;
  if (std::string problem = gpuOptionsProblem(parsed, ""); !problem.empty())
    return problem;
  for (StringRef token : tokens)
    if (given)
      given->insert(token.split('=').first);
  parsed.liveRowChunk = o.liveRowChunk;
  o = parsed;
  return "";
}

void heed::registerHeedPipelines() {
  registerPipeline("heed-attn-opt",
                   "Raise Keras-style attention to attn.attention",
                   buildAttnOptimizationPipeline);
  registerPipeline("heed-attn-to-linalg", "Lower attn IR to linalg on tensors",
                   buildAttnToLinalgPipeline);
  registerPipeline("heed-linalg-to-llvm",
                   "Bufferize and lower linalg to the LLVM dialect",
                   buildLinalgToLLVMPipeline);
  registerPipeline("heed-linalg-to-gpu",
                   "Bufferize linalg, map its loop nests onto blocks and "
                   "threads, outline GPU kernels",
                   buildLinalgToGPUPipeline);
  registerPipeline("heed-gpu-to-nvvm",
                   "Outlined GPU kernels to PTX (gpu.binary), host code to "
                   "the LLVM dialect",
                   buildGPUToNVVMPipeline, /*writesPtx=*/true);
  registerPipeline("heed-pipeline",
                   "The whole Heed pipeline: attn to the LLVM dialect",
                   buildHeedPipeline);
}
