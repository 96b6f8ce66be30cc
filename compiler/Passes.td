//===- Passes.td - Heed compiler passes --------------------*- tablegen -*-===//
//
// Part of Heed. Every pass of the compiler, declared once; `heed-opt` exposes
// them by their flag and the pipelines in compiler/Pipelines chain them.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_PASSES
#define HEED_COMPILER_PASSES

include "mlir/Pass/PassBase.td"

def RaiseAttention : Pass<"attn-raise-attention", "mlir::func::FuncOp"> {
  let summary = "Recognize Keras-style attention and raise it to attn.attention";
  let description = [{
    Finds the formulation of seed 000's `one_step_attention`:
    `repeat(s) → concat(·, a) → dense … → softmax(axis = time) → Σ_t α·a`,
    where the chain between concat and softmax is any sequence of per-row ops
    (dense layers, activations), and replaces it with one `attn.attention`
    whose score region holds that chain applied to a (query row, key row).
  }];
  let dependentDialects = ["heed::attn::AttnDialect"];
}

def HoistKeyProjections : Pass<"attn-hoist-key-projections",
                                "mlir::func::FuncOp"> {
  let summary = "Compute the key-only part of score functions on whole key tensors";
  let description = [{
    Ops of a score region that read key rows (and weights) only, such as
    Bahdanau's `U·h_j + b`, become whole-tensor ops on the key tensor
    before the attention op, whose results join the op's key tensors. In a
    decoder loop they depend on values from before the loop only, so
    loop-invariant code motion computes them once per sequence.
  }];
  let dependentDialects = ["heed::attn::AttnDialect"];
}

def SplitConcatDense : Pass<"attn-split-concat-dense", "mlir::func::FuncOp"> {
  let summary = "Split score-region dense layers over concatenated rows by part";
  let description = [{
    A dense layer of a score region over `concat(a, b, ...)` (seed 001's
    network over `[q; k]`) becomes the sum of one dense layer per part
    over that part's weight columns (sliced before the attention op; the
    bias goes with the first), then the activation. The query's and the
    key's products are then ops of their own, which
    `attn-hoist-query-projections` and `attn-hoist-key-projections` compute
    on whole tensors (the GPU target, whose attention kernel would
    otherwise compute both per step and thread). Layers smaller than
    `min-size` (rows × columns of the weight) stay: one thread does their
    work per step in less time than the two launches the split adds
    (seed 001's 10 × 128).

    ```mlir
    %x = attn.concat %q, %k {axis = 0}
    %h = attn.dense %x, %w, %b {activation = tanh}
    // becomes (%wq, %wk: extract_slice of %w before the op)
    %hq = attn.dense %q, %wq, %b
    %hk = attn.dense %k, %wk
    %s = attn.binary %hq, %hk {kind = add}
    %h = attn.activate %s {kind = tanh}
    ```
  }];
  let options = [
    Option<"minSize", "min-size", "int64_t", /*default=*/"4096",
           "the smallest weight (rows × columns) to split">
  ];
  let dependentDialects = ["heed::attn::AttnDialect",
                           "mlir::tensor::TensorDialect"];
}

def HoistQueryProjections : Pass<"attn-hoist-query-projections",
                                  "mlir::func::FuncOp"> {
  let summary = "Compute the query-only part of score functions on the whole query tensor";
  let description = [{
    When the ops of a score region that read the query row (and weights)
    alone, such as Bahdanau's `W·s`, end in one value and nothing else in
    the region reads the query row, they become whole-tensor ops on the
    query before the attention op, and their result becomes its query: one
    product over all batch rows (a matrix product, for oneDNN) instead of
    one small product per row inside the fused loop nest.

    ```mlir
    // score(q, k) = V(tanh(W1(k) + W2(q)))  becomes  query(W2(%s)),
    // score(q', k) = V(tanh(W1(k) + q'))
    ```
  }];
  let dependentDialects = ["heed::attn::AttnDialect"];
}

def ExpandPackedRecurrence : Pass<"attn-expand-packed-recurrence",
                                   "mlir::func::FuncOp"> {
  let summary = "Recurrent layers with per-row lengths become loops of masked cells";
  let description = [{
    `attn.lstm`/`attn.gru` with `lengths` (PyTorch's packed sequences) have
    no oneDNN primitive: each direction becomes an `scf.for` over the steps
    (backward: from the last step down) of `attn.lstm_cell`/`attn.gru_cell`
    whose new state is kept only where `t < lengths[b]`. A backward row thus
    stays at its initial state until its last valid step, outputs past a
    row's length are zero, and the final states are those at the length.
    The cells are then lowered like a decoder's (generated or oneDNN, by
    `cells=`); layers without lengths are left to the whole-sequence
    primitive, unless `all-layers` is set (the GPU target, which has no
    oneDNN): those become the same loop without the masks.

    ```mlir
    %y, %h = attn.gru %x lengths(%len) weights(%wi, %wh, %bi, %bh) {...}
    // becomes, with %m = (arange(T) < %len) as [B, T]:
    // scf.for %t ... iter_args(%h = 0, %y = 0) {
    //   %h1 = attn.gru_cell %x[:, t], %h weights(...)
    //   %h' = attn.select %m[:, t], %h1, %h
    //   %y' = insert (attn.select %m[:, t], %h1, 0) at %y[:, t]
    // }
    ```
  }];
  let options = [
    Option<"allLayers", "all-layers", "bool", /*default=*/"false",
           "expand recurrent layers without lengths too">
  ];
  let dependentDialects = ["heed::attn::AttnDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def SimplifyZeroStateCells : Pass<"attn-simplify-zero-state-cells",
                                   "mlir::func::FuncOp"> {
  let summary = "Cells stepped from a constant zero state become a dense layer and gates";
  let description = [{
    `attn.gru_cell %x, %zeros` needs no product with its state: the
    state's term is its bias `bₕₕ`. It becomes `attn.dense` over `%x` (on
    oneDNN when large enough) and the gate arithmetic as elementwise attn
    ops; `attn.lstm_cell` with a zero `h` likewise (`c` kept unless it is
    zero too). Seed 004's decoder GRU runs this way every step.

    ```mlir
    %h1 = attn.gru_cell %x, %zero weights(%wi, %wh, %bi, %bh) : ...
    // becomes
    %i = attn.dense %x, %wi, %bi : ...
    // r = σ(i_r + bh_r), z = σ(i_z + bh_z), n = tanh(i_n + r ⊙ bh_n),
    // h1 = n - z ⊙ n
    ```
  }];
  let dependentDialects = ["heed::attn::AttnDialect",
                           "mlir::tensor::TensorDialect"];
}

def FoldDenseIntoConv1D : Pass<"attn-fold-dense-into-conv1d",
                                "mlir::func::FuncOp"> {
  let summary = "Compose a dense layer over a Conv1D into one Conv1D";
  let description = [{
    `attn.dense(attn.conv1d(x, F, b_F), U, b_U)`, the convolution used only
    there, becomes `attn.conv1d(x, G, U b_F + b_U)` with
    `G[o, i, k] = Σ_c U[o, c] F[c, i, k]` built from weight-only attn ops
    (prepared once), when that is no more work per output step
    (`I·K·O ≤ I·K·C + C·O`). Tacotron2's location layer over its location
    convolution (1 channel, 31 taps, 32 filters, 128 units) becomes one
    31-tap convolution with 128 filters. Runs after
    attn-hoist-key-projections has lifted the location layer out of the
    score region.
  }];
  let dependentDialects = ["heed::attn::AttnDialect"];
}

def HoistNestedInvariantOps : Pass<"attn-hoist-nested-invariant-ops",
                                   "mlir::func::FuncOp"> {
  let summary = "Move attn ops nested in a loop's branches and inner loops "
                "out of the loop when they read only values from before it";
  let description = [{
    Loop-invariant code motion moves ops that sit directly in a loop's
    body. An attn op inside an `scf.if` or an inner loop of the body whose
    operands are all defined before the loop (or by ops this pass moved)
    moves in front of the loop here: a decoding loop that chooses per step
    between the whole batch and chunks of its running rows has a key
    projection in each branch. attn ops have no side effects and cannot
    fault, so the speculation is safe.

    ```mlir
    scf.while ... do {
      %r = scf.if %few -> ... {
        %k = attn.dense %memory, %w, %b ...   // moves before the scf.while
    ```
  }];
  let dependentDialects = ["heed::attn::AttnDialect"];
}

def DecomposeAttention : Pass<"attn-decompose-attention", "mlir::func::FuncOp"> {
  let summary = "Expand attn.attention into whole-tensor attn ops";
  let description = [{
    The reference (unfused) lowering: broadcasts the query over the memory,
    applies the score region to whole `[B, T, ·]` tensors, normalizes over T
    and reduces. Materializes every intermediate; kept to check the fused
    lowering and behind `--attention=decomposed`.
  }];
  let dependentDialects = ["heed::attn::AttnDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def LowerAttentionToLoops : Pass<"attn-lower-attention-to-loops",
                                 "mlir::func::FuncOp"> {
  let summary = "Lower attn.attention to one fused, vectorized loop nest";
  let description = [{
    For each batch row: the query-only part of the score is computed once;
    a dense layer over concat(query part, key part) is split by weight
    columns, its key half projected for all memory steps of the row at once;
    the rest of the score runs on `[T, ·]` row tensors, then the
    normalization over the row, and the context accumulates step by step in
    one `vector` value. No `[B, T, ·]` intermediate (repeat, concat, hidden
    layer) is allocated.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect"];
}

def ConvertAttnToRuntime : Pass<"convert-attn-to-runtime", "mlir::ModuleOp"> {
  let summary = "Lower recurrent, Conv1D and dense layers to calls into the runtime's oneDNN kernels";
  let description = [{
    `attn.lstm`, `attn.gru` and `attn.conv1d` become calls to
    `heed_rnn_forward` / `heed_conv1d_forward` (runtime/Kernels.h) on the
    operands' buffers (`bufferization.to_buffer`), writing into fresh 64-byte
    aligned buffers wrapped back into tensors. Each op gets a call-site
    number; the runtime keeps the site's oneDNN primitive and reordered
    weights in the model's kernel context, read from the external global
    `@heed_kernel_context`, so they are created once per compiled model.
    `attn.lstm_cell`/`attn.gru_cell` become such calls too (a one-step
    sequence) with `cells=onednn`, or with `cells=auto` when the batch is
    larger than 2: measured on the date translator, the generated fused cell
    is faster at batch 1-2 and oneDNN's from batch 4 on (docs/benchmarks.md).
    With `cells=fused` they stay for convert-attn-to-linalg.
    `attn.dense` becomes `heed_dense_forward` (oneDNN's inner product over
    the flattened leading dims, bias and activation applied as outputs are
    written; softmax after the call) with `dense=onednn`, or with
    `dense=auto` where oneDNN measured faster (from 4 rows of a 128×128
    layer, 2 rows of 256×256, one row above 512×512); only when its
    weight and bias are function arguments or contiguous slices of them
    (their buffers keep their addresses, so the reordered weights are made
    once) and its input is not a constant zero.
  }];
  let options = [
    Option<"cells", "cells", "std::string", /*default=*/"\"auto\"",
           "decoder cells: fused (generated), onednn or auto (by batch)">,
    Option<"dense", "dense", "std::string", /*default=*/"\"auto\"",
           "dense layers: generated, onednn or auto (by rows and size)">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::bufferization::BufferizationDialect",
                           "mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::tensor::TensorDialect"];
}

def ConvertAttnToLinalg : Pass<"convert-attn-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower attn ops to linalg, tensor, arith and math";
  let description = [{
    Dense layers become contractions, activations and broadcasting
    arithmetic elementwise `linalg.generic`s, softmax a max/exp/sum/div chain,
    concat `tensor.insert_slice`s. Requires static shapes (Heed specializes
    per set of concrete input shapes) and no remaining `attn.attention`.
    A beam's `attn.gather_rows` is a loop of row copies (memcpy on the CPU),
    or with `gather-elementwise` (the GPU targets) one element-wise generic
    that reads each element's row number: one kernel, not host code that
    reads every row number. A Conv1D over few input channels is a dense
    product over its unfolded windows (a `tensor.generate` reading zero
    outside the input), or with `direct-convolution` (the GPU targets),
    where a window has at most 64 terms, one product whose body reads the
    input at `t·s + k − left` itself (one thread per output there; the
    unfolding is a kernel of its own, and Tacotron2's location
    convolution runs every decoder step).
  }];
  let options = [
    Option<"gatherElementwise", "gather-elementwise", "bool",
           /*default=*/"false",
           "attn.gather_rows as one element-wise linalg.generic">,
    Option<"directConvolution", "direct-convolution", "bool",
           /*default=*/"false",
           "a Conv1D of at most 64 terms a window as one product that reads "
           "its input itself (no unfolded windows)">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::math::MathDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def VectorizeLinalg : Pass<"heed-vectorize-linalg", "mlir::func::FuncOp"> {
  let summary = "Tile static linalg ops to register-sized pieces and vectorize them";
  let description = [{
    Each linalg op on static tensors is tiled to at most `max-rows` rows
    (parallel dims but the innermost: independent accumulators) and
    `max-elements` elements, cutting reduction dims before rows (by
    divisors, so every tile is static); then MLIR's `linalg::vectorize` turns it into
    `vector` transfers, arithmetic and reductions held in registers, instead
    of scalar loops that accumulate through memory. Ops that cannot be made
    small enough (huge reductions) stay as loops, and so do transposes
    that keep the innermost dim (head split and merge: LLVM vectorizes
    their row copies) and a weight preparation function
    (`heed.weight_preparation`, run once per compilation: its copies are
    not worth their compile time).
  }];
  let options = [
    Option<"maxElements", "max-elements", "int64_t", /*default=*/"256",
           "largest iteration space vectorized as a whole">,
    Option<"maxRows", "max-rows", "int64_t", /*default=*/"4",
           "most 1-D vector rows per tile (each is unrolled)">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect"];
}

def LowerVectorOps : Pass<"heed-lower-vector-ops"> {
  let summary = "Lower n-D vector ops to the 1-D forms LLVM vectorizes well";
  let description = [{
    Multi-reductions become elementwise combinations of rows (inner
    parallel: the axpy form of dense layers),
    contractions outer products, and transposes, broadcasts, shape casts
    and permuted transfers their 1-D equivalents.
  }];
  let dependentDialects = ["mlir::vector::VectorDialect"];
}

def ReadBuffersAtCalls : Pass<"heed-read-buffers-at-calls",
                              "mlir::func::FuncOp"> {
  let summary = "Take each kernel call's input buffers right before the call";
  let description = [{
    A runtime kernel call reads a tensor through `bufferization.to_buffer`
    (and a `memref.cast`), created just before the call. One-shot
    bufferization sees a read of the tensor where the `to_buffer` is, not
    where the call reads the buffer; when CSE merged two such reads (two
    dense layers over one tensor), the second call read the buffer after
    other ops had reused it in place (a decomposed attention's keys
    overwritten by a multi-head layer's context: wrong attention weights).
    This pass gives every call operand its own `to_buffer` (and cast)
    immediately before the call.

    ```mlir
    %b = bufferization.to_buffer %t read_only : tensor<6x3xf32> to memref<6x3xf32>
    %c = memref.cast %b : memref<6x3xf32> to memref<?x?xf32>
    call @k(%c) ...
    linalg.generic ... outs(%same_buffer_in_place)
    call @k(%c) ...
    // becomes a to_buffer and a cast before each call
    ```
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect",
                           "mlir::memref::MemRefDialect"];
}

def OutlineLoopNests : Pass<"heed-outline-loop-nests", "mlir::ModuleOp"> {
  let summary = "Move each sizeable loop nest into a function of its own";
  let description = [{
    LLVM optimizes and compiles one function on one thread, and a model is
    one function. This pass moves every loop nest (`scf.for`, `scf.while`,
    `scf.if`, `scf.parallel`) that weighs between `min-weight` and
    `max-weight` (ops, an n-D vector op counting one per 1-D row and a
    math function 16) into a new public,
    never-inlined function `<parent>__loops<N>`, called where the nest was;
    inside a heavier nest (a decoder loop) its own nests are outlined. The
    values the nest uses from above become arguments (constants are cloned
    in), its results the function's results. The JIT then optimizes and
    compiles the functions in parallel (compiler/JIT/JITModel.cpp); the code
    of each nest is what it was, called once per execution of the nest.

    ```mlir
    func.func @m(%x: memref<4x16xf32>) {
      scf.for %i = %c0 to %c4 step %c1 { ... %x ... }
    }
    // becomes
    func.func @m(%x: memref<4x16xf32>) {
      call @m__loops0(%x) : (memref<4x16xf32>) -> ()
    }
    func.func @m__loops0(%x: memref<4x16xf32>)
        attributes {no_inline, passthrough = ["noinline"]} {
      %c0 = arith.constant 0 : index ...
      scf.for %i = %c0 to %c4 step %c1 { ... %x ... }
      return
    }
    ```
  }];
  let options = [
    Option<"minWeight", "min-weight", "int64_t", /*default=*/"32",
           "lightest nest outlined (a call costs more than a smaller one "
           "saves)">,
    Option<"maxWeight", "max-weight", "int64_t", /*default=*/"600",
           "heaviest nest outlined whole; inside a heavier one, its nests">
  ];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def MaterializeGatheredOperands
    : Pass<"heed-materialize-gathered-operands", "mlir::func::FuncOp"> {
  let summary = "Compute a product's gathered factor into a tensor first";
  let description = [{
    An embedding lookup fused into the product that consumes it (the NMT
    encoder's input product over all steps, `heed-hoist-sequence-products`)
    is a `linalg.generic` whose factor reads a table at an index loaded
    from an input (`tensor.extract`). On the GPU targets such a product is
    no contraction to `heed-lower-contractions-to-gpu`, so it ran as one
    thread per output reading the table once per product term: 9.1 of the
    seed-size NMT's 25 ms at batch 256 on an H200. Where a product
    `out += f(inputs, table) · u` (u an input, f with a `tensor.extract`
    and nothing else reading what it reads) has a factor that runs over a
    reduction dim and would make a tensor no larger than the result, the
    factor goes into a tensor of its own (a parallel generic over the dims
    it depends on), and the product reads it: a plain contraction. A factor
    that reads no input (its gather indexed by the loop alone: a small
    convolution's window, `convert-attn-to-linalg{direct-convolution}`)
    stays where it is.

    ```mlir
    %p = linalg.generic {... ["parallel", "reduction", "parallel", "parallel"]}
        ins(%tokens, %w : tensor<256x16xf32>, tensor<256x3072xf32>) ... {
      %row = ... %in ...   // the token, clamped
      %k = linalg.index 1 : index
      %e = tensor.extract %table[%row, %k] : tensor<1000x256xf32>
      %m = arith.mulf %e, %in_w : f32
      ...
    // becomes
    %g = linalg.generic {... ["parallel", "parallel", "parallel"]}
        ins(%tokens : tensor<256x16xf32>) outs(%e : tensor<256x256x16xf32>)
        { ... tensor.extract %table[%row, %k] ... }
    %p = linalg.generic {... ["parallel", "reduction", "parallel", "parallel"]}
        ins(%g, %w : tensor<256x256x16xf32>, tensor<256x3072xf32>) ... {
      %m = arith.mulf %in_g, %in_w : f32
      ...
    ```
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def DuplicateEmptyTensors
    : Pass<"heed-duplicate-empty-tensors", "mlir::func::FuncOp"> {
  let summary = "Give every use of an empty tensor a tensor.empty of its own";
  let description = [{
    CSE merges equal `tensor.empty` ops, and one-shot bufferization then
    writes the later users' results into the buffer of the first once its
    value is dead: a bidirectional layer's two directions share the buffer
    of their hoisted input products, so the backward direction's product
    must wait for the forward direction's whole time loop. On the GPU
    targets, where the directions' time loops run as one
    (`heed-interleave-independent-loops`), every use of an empty tensor
    but one (the oldest) gets a clone of it right before its op (an empty tensor's
    contents are undefined, so a clone means the same), and bufferization
    gives each its own allocation. A use inside a loop that the empty tensor
    is outside of always gets a clone (even the oldest): each step then
    computes into a buffer of its own, so that a decoder's step does not
    overwrite the state the last step handed it, which bufferization would
    otherwise copy at the start of every step (`heed-forward-while-carries`
    then drops that copy).

    ```mlir
    %e = tensor.empty() : tensor<30x1x128xf32>
    %f = linalg.generic ... outs(%e : ...)   // forward input product
    %b = linalg.generic ... outs(%e : ...)   // backward input product
    // becomes
    %e = tensor.empty() : tensor<30x1x128xf32>
    %f = linalg.generic ... outs(%e : ...)
    %e2 = tensor.empty() : tensor<30x1x128xf32>
    %b = linalg.generic ... outs(%e2 : ...)
    ```
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect"];
}

def PrivatizeParallelScratch
    : Pass<"heed-privatize-parallel-scratch", "mlir::func::FuncOp"> {
  let summary = "Give each parallel loop its own empty tensors";
  let description = [{
    Loop-invariant code motion hoists the `tensor.empty` a loop body uses
    as scratch out of its loops, and CSE then merges equal ones: two
    attention loop nests end up writing one buffer. That is right while
    the loops run in order, but a loop marked parallel
    (compiler/Transforms/ParallelLoops.h) runs its iterations at once. On
    tensors, before bufferization, this pass gives each marked loop a clone
    of every empty tensor it uses from above (an empty tensor's contents
    are undefined, so a clone means the same), at the start of its body:
    bufferization then allocates it once per iteration.

    ```mlir
    %e = tensor.empty() : tensor<4x64xf32>
    scf.for %i ... {  // marked
      ... %e ...
    // becomes
    scf.for %i ... {
      %e2 = tensor.empty() : tensor<4x64xf32>
      ... %e2 ...
    ```
  }];
}

def OutlineParallelLoops : Pass<"heed-outline-parallel-loops", "mlir::ModuleOp"> {
  let summary = "Run the iterations of marked loops on the runtime's threads";
  let description = [{
    Lowerings mark the loops whose iterations are independent (the batch
    rows, heads and query tiles of a fused attention:
    compiler/Transforms/ParallelLoops.h). On buffers, right after
    bufferization, this pass moves the body of each marked `scf.for` with
    at least two iterations into a public, never-inlined function
    `<parent>__parallel<N>(index, values from above...)` and replaces the
    loop by a call of `<parent>__parallel<N>__dispatch(count, lower bound,
    step, values...)`, a declaration that heed-lower-parallel-dispatch
    defines once the code is in the LLVM dialect. Scratch buffers allocated
    above the loop and used only inside it become each iteration's own (a
    view of one keeps the loop sequential). Inner marked loops are
    outlined first; at run time a parallel loop inside another runs on its
    thread alone.

    ```mlir
    scf.for %i = %c0 to %c8 step %c1 { ... %x[%i] ... }   // marked
    // becomes
    call @m__parallel0__dispatch(%c8, %c0, %c1, %x)
    func.func @m__parallel0(%i: index, %x: memref<8x64xf32>)
        attributes {no_inline, passthrough = ["noinline"]} { ... }
    func.func private @m__parallel0__dispatch(index, index, index,
        memref<8x64xf32>) attributes {heed.parallel_body = @m__parallel0}
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect", "mlir::arith::ArithDialect"];
}

def LowerParallelDispatch : Pass<"heed-lower-parallel-dispatch", "mlir::ModuleOp"> {
  let summary = "Define the dispatch functions of parallel loops";
  let description = [{
    In the LLVM dialect, defines each dispatch declaration that
    heed-outline-parallel-loops left (`heed.parallel_body`): it stores its
    lower bound, step and arguments in a context on its stack and calls the
    runtime's `heed_parallel_for(count, entry, context)`
    (runtime/ThreadPool.h), which runs `entry(context, begin, end)` over
    ranges of the iterations on the run's threads; `entry` loads the context
    and calls the body for `lower + k * step`, k in [begin, end). Both new
    functions are internal.
  }];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def DistinctResults : Pass<"heed-distinct-results", "mlir::func::FuncOp"> {
  let summary = "Give every result of a function its own tensor";
  let description = [{
    Every output of a model becomes its own caller-allocated out-parameter
    (buffer-results-to-out-params). A function that returns one value twice
    — two outputs of the same expression, or equal expressions merged by
    CSE — crashes that pass in MLIR 22. This pass returns a copy
    (`linalg.copy` into a fresh tensor) for every repeated result, so each
    out-parameter is written once.

    ```mlir
    return %a, %a : tensor<2x4xf32>, tensor<2x4xf32>
    // becomes
    %e = tensor.empty() : tensor<2x4xf32>
    %c = linalg.copy ins(%a : tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
    return %a, %c : tensor<2x4xf32>, tensor<2x4xf32>
    ```
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def ForwardWhileCarries : Pass<"heed-forward-while-carries", "mlir::func::FuncOp"> {
  let summary = "Hand a decoder loop's states on without a copy per step";
  let description = [{
    One-shot bufferization gives an `scf.while` whose step yields new
    buffers (a decoder that computes its next token and state into fresh
    tensors) a copy of every such state at the start of each step, in the
    before region, so that the step may overwrite what it receives: one
    launch a step on the GPU. Where the step only reads what it receives,
    the before region only reads it, the step yields buffers it allocated
    itself, and nothing in the loop writes the initial buffers (alias
    analysis), the before region hands its argument on instead.

    ```mlir
    %r = scf.while (%s = %init) : (memref<4xf32>) -> memref<4xf32> {
      %copy = memref.alloc() : memref<4xf32>
      memref.copy %s, %copy : memref<4xf32> to memref<4xf32>
      scf.condition(%go) %copy : memref<4xf32>
    } do { ... }
    // becomes
    %r = scf.while (%s = %init) : (memref<4xf32>) -> memref<4xf32> {
      scf.condition(%go) %s : memref<4xf32>
    } do { ... }
    ```
  }];
}

def FuseRowReductions : Pass<"heed-fuse-row-reductions", "mlir::func::FuncOp"> {
  let summary = "Compute chains of row reductions (layer norm) a few rows at a time";
  let description = [{
    A layer norm is five linalg ops over the whole tensor (residual add,
    mean, centering, variance, scale); each reads and writes all of it, so
    a [32, 128, 256] norm streams 36 MB through the caches where 12 MB
    would do. This pass finds chains of static `linalg.generic` ops over
    one iteration space whose reductions run over the innermost loop only
    (row statistics) and whose ops read each other's results row by row
    (identity maps, or the row map that drops the innermost dim). Unit
    dims are dropped from those ops first (the reshapes that
    `linalg-fuse-elementwise-ops` moved between them hide the chain). Each
    op of a chain whose result leaves the chain is then tiled by as many
    rows as fit `tile-bytes` and its producers in the chain are fused into
    that loop, so the chain's temporaries are tile-sized and stay in L1. A
    chain without a reduction is left to elementwise fusion.

    ```mlir
    // Before: %mean, %centered, %var and %y each loop over [32, 128, 256].
    // After:
    %y = scf.for %i = %c0 to %c32 step %c1 iter_args(%o = %init) {
      scf.for %j = %c0 to %c128 step %c4 iter_args(%o2 = %o) {
        // mean, centered, var and y of rows [i, j:j+4, :]
      }
    }
    ```
  }];
  let options = [
    Option<"tileBytes", "tile-bytes", "int64_t", /*default=*/"4096",
           "most bytes of one tile of a chain's tensor">
  ];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def HoistVectorTransfers : Pass<"heed-hoist-vector-transfers",
                                "mlir::func::FuncOp"> {
  let summary = "Keep loop-carried vector accumulators in registers";
  let description = [{
    After bufferization, a tile that accumulates over a reduction loop reads
    and writes its accumulator through memory on every iteration. This pass
    folds subviews into the transfers' indices (so equal addresses are
    recognizable) and hoists each transfer_read/transfer_write pair with
    loop-invariant indices out of its loop: the accumulator lives in vector
    registers for the whole reduction.
  }];
  let dependentDialects = ["mlir::vector::VectorDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::affine::AffineDialect"];
}

def OutlineWeightPreparation : Pass<"heed-outline-weight-preparation",
                                    "mlir::ModuleOp"> {
  let summary = "Move computations on weights alone into a function run once";
  let description = [{
    In a model function (one with `heed.outputs`), every side-effect-free
    top-level op whose operands are weights (`heed.weight` arguments),
    constants or results of such ops (transposed or padded weight layouts,
    weight column slices) moves to a new function `@<model>_prepare` that
    takes the weights and returns the values the model still needs. The
    model function takes those as new arguments (`heed.prepared`), so the
    runtime computes them once when weights are bound, not on every call.
    An op that would expand the weights it reads into a much larger tensor
    (more than 4096 elements and 4 times its largest weight operand: a
    bias broadcast over the batch rows) stays in the model, as large as
    the layer's output. The model function records the new function in `heed.prepare`; the
    new one is marked `heed.weight_preparation` (later passes keep its
    copies as plain loops) and LLVM `minsize`/`optsize` (no unrolling or
    vectorization: it runs once, its compile time counts more).
  }];
}

def ApproximateMath : Pass<"heed-approximate-math"> {
  let summary = "Replace tanh/exp/... with polynomial approximations";
  let description = [{
    libm calls stop vectorization; MLIR's polynomial approximations are
    plain arithmetic that vectorizes. Wraps
    `populateMathPolynomialApproximationPatterns`.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

def LinalgReductionsInnermost : Pass<"heed-linalg-reductions-innermost",
                                     "mlir::func::FuncOp"> {
  let summary = "Permute linalg.generic iterators: parallel dims first";
  let description = [{
    Interchanges every `linalg.generic` so that its parallel dims come
    first and its reduction dims last, each group in its original order.
    `convert-linalg-to-parallel-loops` then makes one `scf.parallel` over
    all parallel dims with the reductions as `scf.for` loops inside it,
    which `heed-map-parallel-loops-to-gpu` maps as a whole. (The dense
    layers' axpy form, `[B, K] x [K, N]` iterated as (b, k, n), would give
    a parallel loop, a sequential one, and a parallel one inside.)

    ```mlir
    linalg.generic {iterator_types = ["parallel", "reduction", "parallel"]}
    // becomes
    linalg.generic {iterator_types = ["parallel", "parallel", "reduction"]}
    ```
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def PromoteLoopAccumulators : Pass<"heed-promote-loop-accumulators",
                                   "mlir::func::FuncOp"> {
  let summary = "Carry a reduction's sum in a loop argument instead of memory";
  let description = [{
    `convert-linalg-to-parallel-loops` lowers a reduction to an `scf.for`
    that loads its output element, adds to it and stores it back every
    iteration. In a GPU kernel that element is global memory: each
    iteration's load waits for the previous store, and the loads of the
    multiplicands queue behind it (a matrix-vector product of 32 terms at
    batch 1 took 10 µs on an H200). A load in a loop's body (not nested
    deeper) and a later store to the same memref value at the same indices,
    both from outside the loop, become a loop argument: loaded before the
    loop, stored after it, when no other op of the body may touch that
    buffer (`heed-merge-independent-loops`' aliasing) and the loop has
    constant bounds and runs at least once. Innermost loops first, so a sum
    over two reduction dims is promoted out of both. A promoted loop that
    holds no other loop is then unrolled by 8 (wholly when it is shorter),
    so that the loads of 8 iterations issue together. Only loops inside an
    `scf.parallel` or a `gpu.launch`: a loop of the host code stays as it
    is (it becomes a kernel of one thread; its first load would be the
    host's, a wait for the device).

    ```mlir
    scf.for %k = %c0 to %c32 step %c1 {
      %a = memref.load %x[%k] ; %w = memref.load %m[%k, %i]
      %s = memref.load %y[%i] ; %t = arith.addf %s, (%a * %w)
      memref.store %t, %y[%i]
    }
    // becomes
    %s0 = memref.load %y[%i]
    %r = scf.for %k = %c0 to %c32 step %c1 iter_args(%s = %s0) -> (f32) {
      %a = memref.load %x[%k] ; %w = memref.load %m[%k, %i]
      %t = arith.addf %s, (%a * %w) ; scf.yield %t
    }
    memref.store %r, %y[%i]
    ```
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def FuseThreadLocalLoops : Pass<"heed-fuse-thread-local-loops",
                                "mlir::func::FuncOp"> {
  let summary = "Fuse element-wise consumer loops into the loops that produce their inputs";
  let description = [{
    On the GPU targets every outermost `scf.parallel` becomes a kernel
    launch, and a decoder step at batch 1 is dozens of small ones: a gate's
    arithmetic and then the copy of its result into a concatenation, an
    embedding's gather and its copy, a mask and the copy of the masked
    weights into the output. Copies of static shape become parallel loops
    first (as `heed-map-parallel-loops-to-gpu` would make them). A loop
    then runs in the iterations of a loop before it (the producer: the
    fused loop takes the consumer's place, each iteration runs the
    producer's body, then the consumer's) when both have the same
    iterations (dimensions of one iteration aside) and every access of one
    to a buffer the other writes (or may alias, as in
    `heed-merge-independent-loops`) goes through the same memref value, at
    the same element for the same iteration, one element per iteration
    (each index an induction variable, a constant or a value from outside,
    every dimension among them). Between the two only ops without effects,
    allocations and ops whose known accesses touch none of the producer's
    buffers may stand. Unmapped loops only (a tiled kernel's loops carry a
    mapping); loops with results stay alone.

    A consumer may also gather: when the two loops' dimensions agree but
    one, where the producer has G (up to 8) times the consumer's M
    iterations, and the consumer reads what the producer writes only
    through G subviews of the written memref at offsets 0, M, ..., (G-1) M
    along that dimension's axis (every part read, so that each producer
    iteration runs once), each at the element the producer's iteration
    j + g M wrote for its iteration j, the fused loop runs per consumer
    iteration the producer's body for those G iterations, then the
    consumer's: an LSTM's gates [B, 4H] and its cell over [B, H] (a GRU's
    three parts likewise) are one launch.

    Or by rows: when one loop's dimensions (of more than one iteration,
    at least one) are the other's first ones, the other's remaining
    dimensions have at most 32 iterations in all, and every access of one
    to a buffer the other writes (or of one to a buffer it writes that the
    other reads) goes through the same memref value and is indexed by each
    common dimension at the same position in both (any index elsewhere: a
    reduction's inner loop), the fused loop runs over the common
    dimensions, each iteration the producer's body and then the
    consumer's, the longer loop's other dimensions as `scf.for` loops
    around its body. Each iteration touches its own rows of the shared
    buffers only. A softmax over a dozen classes (the row maximum, the
    exponentials, the row sum, the division) is then one launch with a
    thread per row, not four. The pass repeats until nothing fuses (a
    fused loop may be the next one's producer).

    ```mlir
    scf.parallel (%i) = (%c0) to (%c128) step (%c1) {
      %g = ... ; memref.store %g, %gate[%c0, %i]
    }
    scf.parallel (%i, %j) = (%c0, %c0) to (%c1, %c128) step (%c1, %c1) {
      %v = memref.load %gate[%i, %j]; memref.store %v, %concat[%i, %j]
    }
    // becomes
    scf.parallel (%i, %j) = (%c0, %c0) to (%c1, %c128) step (%c1, %c1) {
      %g = ... ; memref.store %g, %gate[%c0, %j]
      %v = memref.load %gate[%i, %j]; memref.store %v, %concat[%i, %j]
    }
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect"];
}

def InterleaveIndependentLoops : Pass<"heed-interleave-independent-loops",
                                      "mlir::func::FuncOp"> {
  let summary = "Two time loops that share nothing as one, their kernels interleaved";
  let description = [{
    A bidirectional recurrent layer on the GPU targets is two `scf.for`
    loops over time, each step a few small kernels (at batch 1 each a
    launch that costs more than its work). Two `scf.for` loops of one
    block with the same bounds, each with a kernel (an outermost
    `scf.parallel` or a `gpu.launch`) directly in its body, become one loop
    when neither writes a buffer the other reads or writes (frees of the
    buffers a loop carries, and allocations and frees of buffers made
    inside it, are its own); the ops between them must be able to move
    above the first (no use of its results, no conflicting access). The
    new body alternates the two bodies in runs that end at a kernel (the
    first's first kernel, the second's first, ...), so that
    `heed-merge-independent-loops` makes each pair one launch: the date
    translator's encoder at batch 1, 4 launches a step to 2.

    ```mlir
    %f = scf.for %t = %c0 to %c30 step %c1 iter_args(%h = %h0) -> (...) {
      scf.parallel ... { gates (forward) }
      scf.parallel ... { cell (forward) }
    }
    %b = scf.for %t = %c0 to %c30 step %c1 iter_args(%h = %h1) -> (...) {
      scf.parallel ... { gates (backward) }
      scf.parallel ... { cell (backward) }
    }
    // becomes
    %fb:2 = scf.for %t = %c0 to %c30 step %c1 iter_args(%hf = %h0, %hb = %h1) {
      gates (forward); gates (backward); cell (forward); cell (backward)
    }
    ```
  }];
  let dependentDialects = ["mlir::scf::SCFDialect"];
}

def ForwardThreadLocalStores : Pass<"heed-forward-thread-local-stores",
                                    "mlir::func::FuncOp"> {
  let summary = "Loads of what the same iteration stored are the stored value; write-only buffers go";
  let description = [{
    After `heed-fuse-thread-local-loops` an iteration of an outermost
    `scf.parallel` often stores a value and loads it back: a cell's new
    state stored into a scratch buffer, then copied into the output
    sequence and the next step's state. In the loop's own block, a
    `memref.load` of the memref a `memref.store` before it wrote, at the
    same element (the same index values, equal constants, or a dimension of
    one iteration and its lower bound), with no op between that may write
    that buffer, is the stored value. Then an allocation whose only uses
    are stores into it and its deallocation is dropped with them.
    Bufferization reuses one scratch buffer for both directions of a
    bidirectional layer; its stores alone made the directions' kernels
    depend on each other (`heed-merge-independent-loops` could not merge
    them).

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
      memref.store %h, %scratch[%c0, %j] : memref<1x32xf32>
      %x = memref.load %scratch[%i, %j] : memref<1x32xf32>
      memref.store %x, %next[%i, %j] : memref<1x32xf32>
    }
    // becomes (%scratch gone)
    scf.parallel (%i, %j) = (%c0, %c0) to (%c1, %c32) step (%c1, %c1) {
      memref.store %h, %next[%i, %j] : memref<1x32xf32>
    }
    ```
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def MapParallelLoopsToGPU : Pass<"heed-map-parallel-loops-to-gpu",
                                 "mlir::func::FuncOp"> {
  let summary = "Map each outermost parallel loop nest onto GPU blocks and threads";
  let description = [{
    Every `memref.copy` becomes a parallel loop nest of loads and stores,
    and every `scf.for` nest outside a parallel loop that only computes on
    f32 buffers (a linalg op with no parallel dim: a reduction to one
    value, such as an argmax at batch 1) a one-iteration parallel loop, so
    that it runs on one thread rather than on the host (which would wait
    for the kernels to read its inputs). So do a copy of one element and,
    in each stretch of host loads, stores (of f32) and pure ops, the stores
    and what they are computed from (elementwise work on single-element
    buffers, whose loops fold away: a decoder step's bookkeeping at batch
    1), unless the host needs one of those values itself. Neighbouring
    loops that run once (only effect-free ops and allocations between)
    become one, whatever they share: one thread runs the bodies in order.
    Every outermost `scf.parallel` (one per linalg op after
    `convert-linalg-to-parallel-loops`) with constant bounds becomes a
    two-dimensional `scf.parallel` over (block, thread), mapped to
    `block_x` and `thread_x`: the body recovers the original induction
    variables from `block * threads + thread` (innermost dimension fastest,
    so neighbouring threads touch neighbouring elements) and skips indices
    past the trip count. Loops of fewer than `threads-per-block` iterations
    get one block of as many warps as they need. Reduction dimensions stay
    `scf.for` loops inside a thread; nested parallel loops are marked
    sequential. The result is ordinary IR the CPU pipeline can run (which
    is how the schedule's arithmetic is tested without a GPU) and that
    `convert-parallel-loops-to-gpu` turns into `gpu.launch`.

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c3, %c100) step (%c1, %c1) {...}
    // becomes
    scf.parallel (%b, %t) = (%c0, %c0) to (%c2, %c256) step (%c1, %c1) {
      %id = %b * 256 + %t
      scf.if %id < 300 {
        %i = %id / 100
        %j = %id % 100
        ...
      }
    } {mapping = [#gpu.loop_dim_map<processor = block_x, ...>,
                  #gpu.loop_dim_map<processor = thread_x, ...>]}
    ```
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t",
           /*default=*/"256", "threads per block (a multiple of 32, at most 1024)">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect", "mlir::scf::SCFDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def MergeIndependentLoops : Pass<"heed-merge-independent-loops",
                                 "mlir::func::FuncOp"> {
  let summary = "Merge neighbouring mapped loops whose buffers do not overlap";
  let description = [{
    Each mapped loop (an `scf.parallel` over (block, thread) from
    `heed-map-parallel-loops-to-gpu`) becomes one kernel launch; a decoder
    step at batch 1 is dozens of tiny ones (copies of its state, gates,
    masks) whose launches cost more than their work. Loops in one block,
    separated by nothing but ops without effects or allocations, merge when
    no loop writes a buffer another reads or writes (buffers traced to
    their allocation or function argument; two allocations, two function
    arguments, or an allocation and a buffer carried by a loop it is made
    in are distinct, so are two carried buffers no allocation or argument
    flows into both of, anything else may alias; static subviews of one
    buffer whose boxes do not meet, such as the parts of a concatenation,
    are disjoint). The merged loop takes the
    last loop's place: its blocks are the parts' blocks one after another,
    the last loop's first, and each part runs where the block falls in its
    range (and the thread in its block size). Kernels already placed (a
    block reduction's `gpu.launch`: barriers, static shared memory) join
    too when they have the group's most threads (a barrier waits for all
    of a block's threads, so a kernel's part is never guarded by thread)
    and the parts' shared memory stays within 48 KB; the merged op is then
    a `gpu.launch` whose parts map each kernel's block index, grid size and
    shared buffers to their own (NMT's step at batch 1: its gates and its
    query's product, one launch). A host load between two loops of a group
    (a stopping decoder's read of its running rows' count, which the loop
    before sums) does not end it when no later loop of the group writes
    what it reads or uses its value: the load, and the pure ops computed
    from it, move after the merged loop (NMT's step: 7 launches to 6).

    ```mlir
    scf.parallel (%b, %t) = (%c0, %c0) to (%c1, %c32) ... { A } {mapping}
    scf.parallel (%b, %t) = (%c0, %c0) to (%c2, %c128) ... { B } {mapping}
    // becomes
    scf.parallel (%b, %t) = (%c0, %c0) to (%c3, %c128) ... {
      scf.if %b in [0, 2) { B(%b - 0, %t) }
      scf.if %b in [2, 3) and %t < 32 { A(%b - 2, %t) }
    } {mapping}
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::scf::SCFDialect"];
}

def LaunchesToHostLoops : Pass<"heed-launches-to-host-loops",
                               "mlir::func::FuncOp"> {
  let summary = "A kernel's launch as loops over its blocks and threads, "
                "run on the CPU";
  let description = [{
    The CPU-run schedule (`--target=gpu-schedule-on-cpu`) checks a GPU
    kernel's arithmetic and indexing against the goldens without a GPU.
    Kernels lowered as `gpu.launch` ops (block reductions and argmaxes,
    the f32 tiled products, the attention-rows kernels, and whatever
    `heed-merge-independent-loops` made of them) run here as the GPU would run them: a loop over the
    blocks (z, y, x), and in each block one loop over the threads per
    stretch between `gpu.barrier`s, so every thread finishes a stretch
    before any starts the next.

    A value a thread computes in one stretch and uses in another waits in
    an array indexed by the thread, allocated at the function's entry
    (as does each shared buffer, a stack array in place of workgroup
    memory). Pure ops on values that are the same for the whole block
    (block ids, sizes, constants, the index of a loop that holds barriers)
    run once per block, outside the thread loops. A `scf.for` or `scf.if`
    that holds barriers must be the block's (bounds or condition from such
    values): it runs at block level, its body split the same way; the
    values a loop carries live in arrays, stored after each step once
    every thread has read the old ones.

    A launch it cannot run (asynchronous, dynamic shared memory, threads
    along y or z, warp shuffles or lane ids, a barrier under a thread's
    own condition, a non-scalar value crossing a barrier) is an error
    naming the op.

    ```mlir
    gpu.launch blocks(%b, %by, %bz) in (%gx = %c4, ...) threads(%t, ...)
        in (%sx = %c64, ...) workgroup(%s : memref<64xf32, 3>) {
      %v = memref.load %in[%b, %t] : memref<4x64xf32>
      memref.store %v, %s[%t] : memref<64xf32, 3>
      gpu.barrier
      %w = memref.load %s[%c0] : memref<64xf32, 3>
      memref.store %w, %out[%b, %t] : memref<4x64xf32>
      gpu.terminator
    }
    // becomes
    %s = memref.alloca() {alignment = 16 : i64} : memref<64xf32>
    scf.for %bz = %c0 to %c1 step %c1 {
      scf.for %by = %c0 to %c1 step %c1 {
        scf.for %b = %c0 to %c4 step %c1 {
          scf.for %t = %c0 to %c64 step %c1 { ... store %v, %s[%t] }
          scf.for %t = %c0 to %c64 step %c1 { ... load %s[%c0] ... }
        }
      }
    }
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def OneBlockSteps : Pass<"heed-one-block-steps", "mlir::ModuleOp"> {
  let summary = "A loop step of small dependent kernels as one launch of "
                "one block";
  let description = [{
    A decoder step at batch 1 is a few kernels of one block each, each
    reading what the one before wrote (the attention rows, the cell's
    product, the cell, the output layer and its softmax), so
    `heed-merge-independent-loops` cannot join them, and each costs a
    launch that is more than its work. In a loop's step on the host (an
    `scf.for`'s body, an `scf.while`'s after region), a run of such
    kernels with nothing between them but ops that touch no memory
    (views, index math, allocations: they stay before the merged launch)
    becomes one `gpu.launch` of one block that does each kernel in turn,
    a `gpu.barrier` between them (within a block a barrier makes every
    thread's writes, global memory included, visible to the others).

    The kernels it takes: a `gpu.launch` of one block (its barriers and
    shared buffers its own; a kernel with barriers fixes the block's
    threads, and every such kernel of the run must have as many), a call
    of a function that is such a launch (the attention-rows kernels;
    inlined), and a mapped loop without barriers whose (block, thread)
    iterations take at most two rounds of the block's threads (256 where
    no kernel fixes them). The run's shared memory stays within 48 KB.
    Kernels that read block or thread ids as ops, shuffle or launch are
    left alone. The merged step is then one launch of one block, which
    `heed-persistent-time-loops` takes into the kernel with all the
    loop's steps. On the CPU-run schedule the launch runs on the host
    (`heed-launches-to-host-loops`), every thread of a kernel before any
    thread of the next, as on a GPU. (A module pass: it reads the functions
    it inlines.)

    ```mlir
    scf.for %t = %c0 to %c10 step %c1 {
      func.call @heed_attention_rows_0(...)        // 1 block of 256
      scf.parallel (%b, %th) = (%c0, %c0) to (%c1, %c64) ... { cell }
      scf.parallel (%b, %th) = (%c0, %c0) to (%c2, %c32) ... { out }
    }
    // becomes
    scf.for %t = %c0 to %c10 step %c1 {
      gpu.launch blocks(...) in (%c1, %c1, %c1) threads(%th, ...)
          in (%c256, %c1, %c1) workgroup(...) {
        ... the attention rows' body with %th ...
        gpu.barrier
        scf.for %i = %th to %c64 step %c256 { cell(0, %i) }
        gpu.barrier
        scf.for %i = %th to %c64 step %c256 {
          out(%i / 32, %i % 32)
        }
        gpu.terminator
      }
    }
    ```
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::gpu::GPUDialect",
                           "mlir::scf::SCFDialect"];
}

def PersistentTimeLoops : Pass<"heed-persistent-time-loops",
                               "mlir::func::FuncOp"> {
  let summary = "A time loop whose step is one launch of self-contained "
                "blocks runs inside that launch";
  let description = [{
    A recurrent layer at batch 1 is a time loop whose step is one small
    kernel: the date translator's encoder is 30 launches of 2 blocks (one
    per direction), each costing more launch than work. A time loop
    (`scf.for`, constant bounds) whose body is one mapped loop, ops without
    memory effects (views, index math), and the states it carries, each
    computed into a buffer the step allocates (with its ownership flag,
    false at first, and the frees of the previous step's buffers), becomes
    one mapped loop whose threads step through time, a `gpu.barrier` after
    each step. The states alternate between two buffers allocated once:
    step i writes the (i mod 2)th and reads the other (the initial state
    at first); the loop's results are the buffers of the last step, and
    the other buffers are freed after it.

    A step that is one launch of one block (`heed-one-block-steps`' merged
    decoder step, with barriers and shared buffers) becomes that launch
    around the time loop, its states chosen from the time at each step
    (the initial ones at the first) rather than carried, a barrier after
    each step; on the CPU-run schedule too (`heed-launches-to-host-loops`
    runs it).

    Only where every block keeps to itself from step to step: the kernel
    is one block, or a merged loop of one-block parts
    (`heed-merge-independent-loops` marks it `heed.one_block_parts`; its
    parts touch no buffer another writes within a step) each state of
    which one part at most reads or writes (a state one part writes and
    another reads at the next step keeps the loop on the host).

    With `on-host` (the CPU-run schedule) the loop runs once per block,
    its threads one after another each step: a block that read another
    block's state would read it a whole recurrence early or late, which
    the goldens catch.

    ```mlir
    %r:3 = scf.for %t = %c0 to %c30 step %c1
        iter_args(%h = %h0, %owned = %false, ...) {
      %new = memref.alloc() : memref<1x32xf32>
      scf.parallel (%b, %th) = (%c0, %c0) to (%c2, %c32) ... {
        ... reads %h, writes %new ...
      } {mapping = [block_x, thread_x], heed.one_block_parts}
      scf.if %owned { memref.dealloc %h }
      scf.yield %new, %true, ...
    }
    // becomes
    %p0 = memref.alloc() : memref<1x32xf32>
    %p1 = memref.alloc() : memref<1x32xf32>
    scf.parallel (%b, %th) = (%c0, %c0) to (%c2, %c32) ... {
      scf.for %t = %c0 to %c30 step %c1 iter_args(%h = %h0) {
        %new = arith.select %t_even, %p0, %p1 : memref<1x32xf32>
        ... reads %h, writes %new ...
        gpu.barrier
        scf.yield %new
      }
    } {mapping = [block_x, thread_x]}
    memref.dealloc %p0   // the last step (29) wrote %p1
    ```
  }];
  let options = [
    Option<"onHost", "on-host", "bool", /*default=*/"false",
           "the blocks and threads as loops on the CPU">
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::gpu::GPUDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def MergeGPUModules : Pass<"heed-merge-gpu-modules", "mlir::ModuleOp"> {
  let summary = "Move every outlined kernel into one gpu.module";
  let description = [{
    `gpu-kernel-outlining` puts each kernel in a `gpu.module` of its own.
    This pass moves all of them into one module (`module-name`) and points
    every `gpu.launch_func` at it, so that a model compiles to one PTX
    module the runtime loads once.

    ```mlir
    gpu.module @f_kernel { gpu.func @f_kernel(...) kernel {...} }
    gpu.module @f_kernel_0 { gpu.func @f_kernel(...) kernel {...} }
    gpu.launch_func @f_kernel_0::@f_kernel ...
    // becomes
    gpu.module @heed_kernels { gpu.func @f_kernel ... gpu.func @f_kernel_0 ... }
    gpu.launch_func @heed_kernels::@f_kernel_0 ...
    ```
  }];
  let options = [
    Option<"moduleName", "module-name", "std::string",
           /*default=*/"\"heed_kernels\"", "name of the merged gpu.module">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect"];
}

def AlignWorkgroupBuffers : Pass<"heed-align-workgroup-buffers",
                                  "mlir::ModuleOp"> {
  let summary = "Align every kernel's static shared buffers to 16 bytes";
  let description = [{
    A `gpu.func`'s workgroup attribution becomes a `.shared` variable
    aligned to its element (`.align 2` for bf16) unless it carries
    `llvm.align`. The tiled kernels store 8- and 16-byte vectors into their
    shared tiles, read them with `ldmatrix` (each row address 16-byte
    aligned) and fill them with `cp.async` (16 bytes): all misaligned
    accesses, a fault on a GPU, wherever the linker places a buffer on
    anything less. This pass gives every workgroup attribution an
    `llvm.align` of at least `alignment` bytes (dynamic shared memory is
    aligned to 16 already).

    ```mlir
    gpu.func @k() workgroup(%tile : memref<64x72xbf16, #gpu.address_space<workgroup>>) kernel
    // becomes
    gpu.func @k() workgroup(%tile : memref<64x72xbf16, #gpu.address_space<workgroup>> {llvm.align = 16 : i64}) kernel
    ```
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"16",
           "the least alignment of a shared buffer, in bytes">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect",
                           "mlir::LLVM::LLVMDialect"];
}

def LagStopTests : Pass<"heed-lag-stop-tests", "mlir::ModuleOp"> {
  let summary = "Let a decoder's stop test read an earlier step's count";
  let description = [{
    A stopping decoder (`for ... until`) continues while some row is
    running: the DSL marks that `arith.cmpf` `heed.stop_test`. Its count of
    running rows is, after the mapping of loop nests, a host `memref.load`
    in the loop's body of a value a kernel computed, so on a GPU the host
    would wait for every step's kernels there. A step after the last row
    finished changes nothing (finished rows are frozen) and the count never
    grows, so the test may see an earlier step's count. This pass replaces
    that load (the one load the yielded count is computed from with pure
    ops, used by nothing else) with a call of the runtime, passing the
    element's address and a state made before the loop and ended after it:
    `heed_gpu_stop_test_*` in the CUDA runtime, which copies the count to
    pinned memory in stream order and returns the newest copy the device
    has finished (the host runs at most a few steps ahead), or with
    `on-host` `heed_cpu_stop_test_*`, which returns the count of a fixed
    number of steps before (HEED_STOP_TEST_LAG, default 3) so that the
    CPU-run schedule's tests run the extra steps. The calls' declarations
    are marked `heed.stream_ordered`: heed-synchronize-host-accesses puts no
    wait before them.

    ```mlir
    scf.while (%step = %c0, %running = %c4f) ... {
      %go = arith.cmpf ogt, %running, %zero {heed.stop_test} : f32
      ...
    } do {
      ...
      %n = memref.load %finished_count[] : memref<f32>
      %running2 = arith.subf %batch, %n : f32
      scf.yield %step2, %running2 ...
    }
    // becomes
    %state = func.call @heed_gpu_stop_test_begin() : () -> index
    scf.while ... do {
      %address = ... (memref.extract_aligned_pointer_as_index %finished_count)
      %n = func.call @heed_gpu_stop_test_read(%state, %address)
          : (index, index) -> f32
      ...
    }
    func.call @heed_gpu_stop_test_end(%state) : (index) -> ()
    ```
  }];
  let options = [
    Option<"onHost", "on-host", "bool", /*default=*/"false",
           "call the CPU-run schedule's functions (heed_cpu_stop_test_*)">,
  ];
  let dependentDialects = ["mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::arith::ArithDialect"];
}

def SynchronizeHostAccesses : Pass<"heed-synchronize-host-accesses",
                                   "mlir::ModuleOp"> {
  let summary = "Wait for the launched kernels only where the host reads";
  let description = [{
    Launches on a thread's stream run in order, so kernels need no wait
    between them; the host does, before it reads or writes what they use.
    Before each host op that touches memory (a `memref.load`, `store` or
    `copy`, a call of a function defined elsewhere, a public function's
    return, whose caller reads the results) that a launch may precede (a
    launch, or a call of a module function that launches, since the last
    wait in its block, or the block's start: a loop's previous iteration),
    this inserts a call of `heed_gpu_sync`, which Heed's CUDA runtime
    implements (it returns at once when nothing was launched since the
    last one). A private function's return gets none (its callers count the
    call as a launch), nor do calls of functions marked
    `heed.stream_ordered` (the runtime orders them after the launched work:
    heed-lag-stop-tests's). The runtime's stream synchronization after each
    launch (gpu-to-llvm's) is then free: a `for` loop of launches (a
    recurrent layer's steps, a decoder of fixed length) queues all its
    steps without a host round trip, and so does a decoder with `until`
    whose stop test reads through the runtime.

    ```mlir
    scf.while ... {
      %stop = memref.load %flag[] : memref<i1>
      ...
    } do {
      gpu.launch_func @heed_kernels::@step ...
    }
    // becomes
    scf.while ... {
      func.call @heed_gpu_sync() : () -> ()
      %stop = memref.load %flag[] : memref<i1>
      ...
    } do { ... }
    ```
  }];
  let dependentDialects = ["mlir::func::FuncDialect"];
}

def StageHostConstants : Pass<"heed-stage-host-constants", "mlir::ModuleOp"> {
  let summary = "Give the kernels device-reachable copies of the host's constants";
  let description = [{
    After outlining, a host function's `memref.get_global` constants (zero
    states, masks) reach its kernels as arguments, but they live in the host
    program's data, which a GPU cannot read (without HMM). Each host
    function instead copies each constant it uses, once at its entry, into
    a `memref.alloc` (managed memory in Heed's CUDA runtime: its `malloc`)
    and frees the copy before each return.

    ```mlir
    func.func @f() {
      scf.for ... {
        %g = memref.get_global @zeros : memref<128xf32>
        gpu.launch_func @heed_kernels::@k ... args(%g : memref<128xf32>)
      }
      return
    }
    // becomes
    func.func @f() {
      %g = memref.get_global @zeros : memref<128xf32>
      %c = memref.alloc() : memref<128xf32>
      memref.copy %g, %c : memref<128xf32> to memref<128xf32>
      scf.for ... { gpu.launch_func ... args(%c : memref<128xf32>) }
      memref.dealloc %c : memref<128xf32>
      return
    }
    ```
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def LowerDotAttentionToGPU : Pass<"heed-lower-dot-attention-to-gpu",
                                  "mlir::ModuleOp"> {
  let summary = "Dot-product attention ops as calls of flash-style kernels";
  let description = [{
    Softmax attention of `[B, Tq, D]` queries over `[B, T, D]` keys and
    `[B, T, Dv]` values with a (scaled) dot-product score and its weights
    unused (lengths and the causal mask allowed) becomes a call of a
    private declaration marked `heed.flash_attention` (the score's scale,
    causal); `heed-build-flash-attention-kernels` gives it its kernel after
    bufferization, which (with its deallocation) handles the call like a
    runtime kernel's. Heads split from a `[B, T, H·D]` projection are
    passed as that projection (read in place) and a context whose one use
    merges its heads back is written merged (the attribute's `heads`: H per
    buffer, 0 for a plain one). Other attention ops are left for the
    decomposition, as are sizes the kernel does not take (D + Dv above 256
    floats).

    With `precision=bf16` or `f16` and `async-copy` (the default), where the
    tensor-core kernel takes the sizes, the keys and values (or the
    projections they are heads of) are rounded to that type by an
    element-wise op before the call (mapped like any other: where keys and
    values are a model's inputs, a launch of its own), so that the kernel
    copies their tiles by cp.async: half the bytes a tile, none through
    registers. The rounding is the one the kernel would do as it staged
    them.

    ```mlir
    %ctx, %w = attn.attention query(%q : tensor<8x128x64xf32>) ...
    // becomes
    %qb = bufferization.to_buffer %q read_only : ... memref<8x128x64xf32>
    ...
    %out = memref.alloc() {alignment = 64 : i64} : memref<8x128x64xf32>
    call @heed_flash_attention_0(%qb, %kb, %vb, %out) : (...) -> ()
    %ctx = bufferization.to_tensor %out restrict writable : ...
    func.func private @heed_flash_attention_0(memref<8x128x64xf32>, ...)
        attributes {heed.flash_attention = {causal = false, scale = 1.250000e-01 : f32}}
    ```
  }];
  let options = [
    Option<"precision", "precision", "std::string", /*default=*/"\"f32\"",
           "the tensor-core kernel's multiplicands (as "
           "heed-build-flash-attention-kernels): bf16 and f16 keys and "
           "values are rounded before the call">,
    Option<"asyncCopy", "async-copy", "bool", /*default=*/"true",
           "round keys and values before the call (bf16, f16), for the "
           "kernel's asynchronous copies">
  ];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect"];
}

def BuildFlashAttentionKernels : Pass<"heed-build-flash-attention-kernels",
                                      "mlir::ModuleOp"> {
  let summary = "Give each flash attention declaration its kernel";
  let description = [{
    One kernel per declaration, no `[Tq × T]` matrix in global memory. The
    grid is B · ⌈Tq / BQ⌉ blocks of BQ threads (at most 64) on one axis,
    block (b, i) at b · ⌈Tq / BQ⌉ + i: a row's query tiles are neighbours,
    so blocks running together read the same keys and values (from L2
    once one has). Thread r of block (b, i) owns query row i·BQ + r, whose
    scaled query, running maximum m, sum l and context O (a
    `vector<Dv x f32>`: registers) it carries over the key tiles:

    ```
    for j0 in [0, kEnd) step BK    kEnd: T, lengths[b], causal: rows + 1
      Ks, Vs = K[b, j0:j0+BK], V[b, j0:j0+BK]  shared memory, all threads
      barrier
      S[r, :] = masked q · Ks[j]; m' = max(m, max S[r, :])   S shared
      P = exp(S[r, :] - m'); α = exp(m - m')
      l = α l + Σ P;  O = α O + Σ P[j] Vs[j]
      barrier
    context[b, row] = l > 0 ? O / l : 0
    ```

    With `on-host`, the same kernel body runs on the CPU: blocks and
    threads become `scf.for` loops, each stretch between barriers a loop
    over the threads of its own, and what a thread carries over a barrier
    is kept in arrays indexed by the thread. That is how the kernel's
    arithmetic, tiles and masks are checked against the goldens without a
    GPU (`--target=gpu-schedule-on-cpu`).

    With `precision=bf16` or `f16`, heads whose D is a multiple of 16 and
    Dv of 8 (both up to 128) get a tensor-core kernel instead: blocks of
    64 query rows (4 warps of 16), or 128 where there are more than 64
    queries (4 warps of 32, or 8 of 16 for heads of 128), S = Q Kᵀ and
    O += P V as `mma.sync.m16n8k16`
    products (the query, key and value tiles staged in shared memory,
    rounded, the queries scaled into base 2 for the softmax's `exp2`;
    their fragments loaded with `ldmatrix`), f32 accumulators, S
    and P in registers, each row's maximum over its 4 lanes by butterfly
    shuffles: a step is two barriers, FlashAttention-2's loop
    (FlashMmaKernel.cpp). Other heads keep the f32 kernel.

    With `precision=tf32x3`, the same kernel in f32 for heads whose D and
    Dv are multiples of 8 (up to 128): f32 tiles, each product three
    `mma.sync.m16n8k8` on the tf32 parts of its factors (small·big,
    big·small, big·big: about f32's precision), the fragments by 8-byte
    loads.

    Keys and values already of the tiles' element type (bf16 or f16
    rounded by heed-lower-dot-attention-to-gpu, or f32 for tf32x3 with
    `async-copy`, the default) are copied by `cp.async` (16 bytes,
    zero-filled past the end), FlashAttention-2's loop: the first key tile
    issued before the loop, each step's value tile as its scores start
    and the next key tile after the barrier that ends them, each thread
    waiting for its copies before each barrier; two barriers a step, no
    registers for the tiles.
    Otherwise, with `prefetch` (the default), a tensor-core kernel whose
    accumulators leave room in registers for a thread's share of the key
    and value tiles reads step j0 + BK's tiles into registers right after
    step j0's first barrier and stores them into shared memory at the
    start of the next step, so that their loads are in flight while the
    step computes (software pipelining; BlockProgram.h).

    With `multiprocessors=N` (the chip's; 0, the default, for unknown), a
    tensor-core kernel whose 128-row blocks would number fewer than N takes
    blocks of 64 rows instead, twice as many: 8 heads of 1024 queries are
    64 blocks of 128 rows, which would leave half of an H100's 132
    multiprocessors idle.
  }];
  let options = [
    Option<"onHost", "on-host", "bool", /*default=*/"false",
           "the blocks and threads as loops on the CPU">,
    Option<"precision", "precision", "std::string", /*default=*/"\"f32\"",
           "the products' multiplicands: f32, or on tensor cores tf32x3 "
           "(f32 as three tf32 products), bf16 or f16">,
    Option<"prefetch", "prefetch", "bool", /*default=*/"true",
           "tensor-core kernels read the next key and value tiles into "
           "registers while a step computes, where they fit">,
    Option<"asyncCopy", "async-copy", "bool", /*default=*/"true",
           "tensor-core kernels copy f32 key and value tiles (tf32x3) by "
           "cp.async (rounded ones always are)">,
    Option<"multiprocessors", "multiprocessors", "int64_t", /*default=*/"0",
           "the chip's multiprocessors: tensor-core kernels take 64-row "
           "blocks where 128-row ones would be fewer (0: unknown)">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect",
                           "mlir::LLVM::LLVMDialect",
                           "mlir::NVVM::NVVMDialect",
                           "mlir::nvgpu::NVGPUDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect"];
}

def LowerAttentionRowsToGPU : Pass<"heed-lower-attention-rows-to-gpu",
                                   "mlir::ModuleOp"> {
  let summary = "Attention with any other score as calls of one kernel per op";
  let description = [{
    Attention whose score region has a form per element (additive,
    location-sensitive, a small network over `concat(query, key)`: binary
    and activation ops, concatenations, dense layers and reductions over
    the row, weights captured from above) becomes a call of a private
    declaration marked `heed.attention_rows`, and the region a private
    function `@heed_attention_score_N(b, q, t, query, keys..., [lengths],
    [previous], weights...) -> f32` that returns the masked energy of step
    `t` for batch row `b` and query `q` (tensor.extract and scalar loops:
    each element of a row is computed where it is read, so no row is
    stored). A score whose last step is a reduction (a dense layer of one
    output, or a sum, mean or maximum, then activations) with enough work
    per step is split instead: `@heed_attention_score_N_term(b, q, t, k,
    ...)` returns its k-th term and `@heed_attention_score_N_finish(b, q,
    t, total, ...)` the masked energy from the combined terms, and the
    attribute says how many terms and how many threads share a step's
    (`lanes`: a power of two up to 32 and up to the terms, each lane at
    least 16 operations' work, at most 8192 partial sums a block).
    `heed-build-attention-row-kernels` gives the declaration its kernel
    after bufferization, with the score functions inlined. The
    declaration takes the values, the score function's tensors and the
    context and weights buffers, and its attribute says `hard` for hard
    attention, and for `local_p` its window and which argument holds the
    positions. Left for the decomposition: dot-product scores over 16 or
    more queries per row
    (the flash kernel's unless their weights are used; batched tiled
    products otherwise), ops with no form per element (a softmax inside
    the score), constants that are not splats, and scores costing more
    than 65536 operations per step.

    ```mlir
    %ctx, %w = attn.attention query(%q : tensor<2x128xf32>)
        keys(%k, %pk : ...) values(%m : tensor<2x10x512xf32>) score {...}
    // becomes
    call @heed_attention_rows_0(%mb, %qb, %kb, %pkb, %vab, %ctx, %w)
    func.func private @heed_attention_rows_0(...)
        attributes {heed.attention_rows = {normalization = 0 : i64,
                                           score = @heed_attention_score_0}}
    func.func private @heed_attention_score_0(%b: index, %q: index,
        %t: index, %query: tensor<2x128xf32>, ...) -> f32
    ```
  }];
  let dependentDialects = ["mlir::bufferization::BufferizationDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def BuildAttentionRowKernels : Pass<"heed-build-attention-row-kernels",
                                    "mlir::ModuleOp"> {
  let summary = "Give each attention-rows declaration its kernel";
  let description = [{
    One block per (batch row, query), its threads (a power of two, 32 to
    256; 512 for a split score) striding over the steps and then over the
    context's columns, the phases separated by barriers:

    ```
    [partial[t·L + l] = Σ_{k ≡ l mod L} term(b, q, t, k)   for the
                              thread's (step, lane) items of a split score;
                              L = lanes, in shared memory]
    e[t] = score(b, q, t)    for the thread's steps; written to weights
                             (split: finish(b, q, t, Σ_l partial[t·L + l]))
    M = max over the block   (tree in shared memory; softmax only)
    p[t] = exp(e[t] - M)     (σ(e[t]) with smoothing); S = Σ p (tree)
    w[t] = p[t] / S          (max(M, -FLT_MAX), max(S, FLT_MIN): a row
                              with every step masked gets zeros)
    ctx[d] = Σ_t w[t] values[b, t, d]   for the thread's columns
    ```

    local_p multiplies the weights by exp(−(t − p)² / (2 (D/2)²)) in the
    division phase; hard attention's context column is the value at the
    weights' first maximum (zero when it is not above zero). The weights
    buffer holds the energies between phases, so the steps need no shared
    memory and have no limit. On `--target=gpu-schedule-on-cpu` the launch
    runs on the CPU as loops over blocks and threads, one loop over the
    threads per phase (heed-launches-to-host-loops), which is how the
    goldens check the kernel.

    With `multiprocessors=N` (the chip's; 0, the default, for unknown), a
    softmax or smoothing whose blocks (batch rows × queries) are fewer than
    N shares
    each row's steps among blocks (FlashDecoding's split): chunks of at
    least 16 steps, as many as make N blocks, on the grid's z axis. A
    chunk's block runs the phases above over its steps up to p[t] =
    exp(e[t] − M_c) and writes M_c, S_c and Σ_t p[t] values[b, t, d] into
    buffers the function allocates; a second kernel, a block per (row,
    query), takes M = max M_c and S = Σ S_c exp(M_c − M) and writes w[t]
    = p[t] exp(M_c − M) / S and the context scaled the same way
    (smoothing: p[t] = σ(e[t]) and M_c = 0). Hard attention, `local_p`
    and no normalization stay one block per row.

    ```mlir
    // 2 rows of 200 steps, multiprocessors=132: 12 chunks of 17 steps
    %stats = memref.alloc() : memref<2x1x12x2xf32>
    %partial = memref.alloc() : memref<2x1x12x512xf32>
    gpu.launch blocks(%b, %q, %c) in (%x = %c2, %y = %c1, %z = %c12) ...
    gpu.launch blocks(%b, %q, %c) in (%x = %c2, %y = %c1, %z = %c1) ...
    ```
  }];
  let options = [
    Option<"multiprocessors", "multiprocessors", "int64_t", /*default=*/"0",
           "the chip's multiprocessors: a softmax over fewer blocks shares "
           "its steps among blocks (0: unknown)">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def LowerContractionsToGPU : Pass<"heed-lower-contractions-to-gpu",
                                  "mlir::func::FuncOp"> {
  let summary = "Matrix products as tiled kernels through shared memory";
  let description = [{
    A `linalg.generic` on buffers that is `out += a · b` with projected
    permutation maps (dense layers, the projections of attention heads,
    batched products) is a batch of matrix products once its loop dims are
    grouped: batch (in a, b and out), M (a and out), N (b and out) and K
    (reduced, in a and b). Where M, N and K are at least 16, it becomes one
    kernel: blocks of 64 × 64 outputs over (N tiles, M tiles, batch), 256
    threads each computing a 4 × 4 tile in registers, K in steps of 16
    whose tiles of a and b all threads stage through shared memory (K
    fastest across threads where an operand's memory runs along K), with
    a barrier before and after each step's products. Loads past M, N or K
    read zeros; writes stay inside. Smaller products are left to the
    one-thread-per-element mapping, and so are products over at most
    `step-thread-terms` (32) terms in a loop's step (an encoder LSTM's at
    batch 256: as a loop, its cell fuses into it). A `memref.copy` right before the op
    that fills its output with the init goes (the epilogue reads the
    copy's source), and an elementwise op right after it that reads the
    output at the element it writes (an activation, a residual add), and
    reads or writes nothing the kernel's other threads touch, runs in the
    epilogue. An operand that copies right before the op assemble from
    parts side by side (an LSTM cell's [context, state]) is staged from
    the parts, as heed-lower-reductions-to-gpu reads them, and the copies
    go (with an epilogue, none of the parts may be what it writes).

    With `on-host`, the same kernel runs as loops over blocks and threads
    on the CPU (see heed-build-flash-attention-kernels), which checks its
    arithmetic against the goldens without a GPU.

    With `precision=bf16` or `f16`, the products run on tensor cores
    instead (sm_80 and later): the same blocks of 64 × 64 outputs, 8 warps
    each computing 16 × 32 of them as four `mma.sync.m16n8k16` products
    with f32 accumulators, the tiles of a and b rounded to bf16 or f16 as
    they are staged in shared memory (K last, so that each fragment
    register is one 32-bit word). On the host, each lane computes its
    accumulators from the fragments the other lanes load (WarpMma.h), so
    the CPU-run schedule checks the fragment layout too. With
    `precision=tf32x3`, the tiles stay f32 and each product is three
    `mma.sync.m16n8k8` on the tf32 parts of its factors (about f32's
    precision), K steps of 32 (four of 8).

    With `prefetch` (the default), each thread reads its share of the next
    K step's tiles into registers right after a step's first barrier and
    stores them at the start of the next step, so that the loads are in
    flight during the products (software pipelining; BlockProgram.h).

    ```mlir
    linalg.generic {indexing_maps = [(m, n, k) -> (m, k), (m, n, k) -> (k, n),
                                     (m, n, k) -> (m, n)], ...}
        ins(%a, %b : memref<100x64xf32>, memref<64x80xf32>)
        outs(%c : memref<100x80xf32>) { mulf, addf }
    // becomes
    gpu.launch blocks(...) in (%x = %c2, %y = %c2, %z = %c1)
               threads(...) in (%t = %c256, ...)
               workgroup(%as : memref<16x68xf32, 3>, %bs : memref<16x68xf32, 3>) {
      %acc:4 = scf.for %k0 = %c0 to %c64 step %c16 iter_args(...) {
        (stage a and b) gpu.barrier (4 × 4 outer products) gpu.barrier
      }
      (out += acc inside 100 × 80)
    }
    ```
  }];
  let options = [
    Option<"onHost", "on-host", "bool", /*default=*/"false",
           "the blocks and threads as loops on the CPU">,
    Option<"precision", "precision", "std::string", /*default=*/"\"f32\"",
           "the multiplicands: f32, or on tensor cores tf32x3 (f32 as three "
           "tf32 products), bf16 or f16">,
    Option<"prefetch", "prefetch", "bool", /*default=*/"true",
           "read the next K step's tiles into registers while a step "
           "computes">,
    Option<"stepThreadTerms", "step-thread-terms", "int64_t",
           /*default=*/"32",
           "in a loop's step, products over at most this many terms keep a "
           "thread per output (0: tiled as outside loops)">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect",
                           "mlir::LLVM::LLVMDialect",
                           "mlir::NVVM::NVVMDialect",
                           "mlir::nvgpu::NVGPUDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect"];
}

def HoistSequenceProducts : Pass<"heed-hoist-sequence-products",
                                 "mlir::func::FuncOp"> {
  let summary = "A product each step of a loop makes of its step's input, made once for all steps";
  let description = [{
    A recurrent layer expanded into a loop of cells multiplies each step's
    input by the input weights: a `linalg.generic` (`out + a · b`) in an
    `scf.for` whose one step-dependent operand is a slice, at the step, of
    a tensor defined outside the loop (its other operand and its init are
    too). The products of all steps become one op before the loop (a
    matrix product of T times the rows: on the GPU a tiled kernel instead
    of T small ones), with the time axis first in its result; the op in
    the loop becomes that step's slice of it. A product over a
    concatenation along its reduction axis whose first part is such a
    step (an LSTM cell's [x, h] times its stacked weights) is first split
    into one product per part, each accumulating into the one before, the
    other operand sliced along the same axis (before the loop when it is
    defined there): the input's product is then hoisted, the state's stays.

    ```mlir
    scf.for %t = %c0 to %c7 step %c1 ... {
      %x = tensor.extract_slice %seq[0, %t, 0] [3, 1, 32] [1, 1, 1]
          : tensor<3x7x32xf32> to tensor<3x32xf32>
      %g = linalg.generic ins(%x, %w : ...) outs(%bias : tensor<3x96xf32>)
    }
    // becomes
    %all = linalg.generic ins(%seq, %w : ...) outs(%biases : tensor<7x3x96xf32>)
    scf.for %t = %c0 to %c7 step %c1 ... {
      %g = tensor.extract_slice %all[%t, 0, 0] [1, 3, 96] [1, 1, 1]
    }
    ```
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def LowerReductionsToGPU : Pass<"heed-lower-reductions-to-gpu",
                                "mlir::func::FuncOp"> {
  let summary = "Long reductions with few outputs as one block per output";
  let description = [{
    One thread per output reduces a whole row alone: a softmax over 200
    keys at batch 32 would be 32 threads. A `linalg.generic` on buffers
    whose body is `out = combine(out, x)` (x from the inputs alone;
    combine one of addf, mulf, maximumf, minimumf, maxnumf, minnumf) with
    at least 128 reduced elements per output and at most 4096 outputs
    becomes a kernel of one block per output (except, in a loop's step, a
    reduction of at most 128 elements into at most 256 outputs: a thread
    per output is one block, which `heed-one-block-steps` runs with the
    step's other kernels): each of up to 256 threads
    reduces a strided share of the row from the combiner's identity, the
    block halves the partials in shared memory (log2(threads) rounds, a
    barrier each), and thread 0 combines the total into `out`. When an
    input's memory runs along the last parallel dim and spans the reduction
    (a matrix-vector product whose weight is [K, N]), a block takes 8
    neighbouring outputs (thread % 8) times 32 shares of the reduction
    (thread / 8): a warp's loads are whole 32-byte sectors, where one
    output per block would read one float of each. A thread's share is
    unrolled by up to 8, its loads before their combines. So does an
    argmax of the same sizes (two outputs, the maximum and its index;
    `better = cmpf ogt x, max` selects both, so the first maximum wins):
    each thread keeps the first maximum of its share, and the tree keeps
    the larger partial or, on a tie, the one with the smaller index. An
    output set from its initial value by a copy just before the op (among
    the allocations and copies there: a decoder step's argmax, whose -inf
    and index 0 are copied into fresh outputs every step; a bias) is
    combined with that copy's source instead, and the copy, a launch of its
    own, goes. So does an input that copies right before the op assemble
    from parts side by side along one dim and that nothing else reads (a
    cell's product over [x, h], a decoder's over [context, output]): each
    element is read from the part it falls in (every part read at indices
    clamped into it, the right one selected), where no copy among them and
    not the op writes the parts; a part that an element-wise op computes
    right before those copies (NMT's embedding lookup of the token) is
    computed in the kernel as that op does, and the op goes too. On the
    CPU-run schedule the launch runs on the host
    (heed-launches-to-host-loops).

    ```mlir
    linalg.generic {iterator_types = ["parallel", "reduction"]}
        ins(%e : memref<32x200xf32>) outs(%m : memref<32xf32>) {
      ^bb0(%in: f32, %out: f32):
        %x = arith.maximumf %in, %out : f32
        linalg.yield %x : f32
    }
    // becomes
    gpu.launch blocks(...) in (%x = %c32, ...) threads(...) in (%t = %c256, ...)
               workgroup(%partials : memref<256xf32, 3>) {...}
    ```
  }];
  let options = [
    Option<"threadsInSteps", "threads-in-steps", "bool", /*default=*/"true",
           "in a loop's step, a reduction of at most 128 elements into at "
           "most 256 outputs keeps a thread per output">
  ];
  let dependentDialects = ["mlir::gpu::GPUDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

#endif // HEED_COMPILER_PASSES
