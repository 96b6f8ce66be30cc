//===- AttnSequenceOps.td - Recurrent and sequence layers --*- tablegen -*-===//
//
// Part of Heed. Recurrent layers over whole sequences (run by oneDNN's RNN
// primitives), single recurrent cells for decoder loops, and the sequence
// layers of the seeds: Conv1D, batch normalization, embedding, argmax.
// Included by AttnOps.td.
//
//===----------------------------------------------------------------------===//

def Attn_Direction : I32EnumAttr<"Direction",
    "direction of a recurrent layer over its sequence", [
      I32EnumAttrCase<"forward", 0>,
      I32EnumAttrCase<"reverse", 1>,
      I32EnumAttrCase<"bidirectional_concat", 2>,
      I32EnumAttrCase<"bidirectional_sum", 3>
    ]> {
  let cppNamespace = "::heed::attn";
  let genSpecializedAttr = 0;
}
def Attn_DirectionAttr : EnumAttr<Attn_Dialect, Attn_Direction, "direction">;

// Whole-sequence recurrent layers share operands, attributes and checks.
class Attn_RecurrentOp<string mnemonic, int gates>
    : Attn_Op<mnemonic, [AttrSizedOperandSegments]> {
  let extraClassDeclaration = [{
    /// Gates per cell: 4 for LSTM (i, f, g, o), 3 for GRU (r, z, n).
    static constexpr int64_t kGates = }] # gates # [{;
  }];
}

def Attn_LstmOp : Attn_RecurrentOp<"lstm", 4> {
  let summary = "LSTM layer over a whole sequence";
  let description = [{
    Runs an LSTM (PyTorch `nn.LSTM` with `batch_first=True`, Keras `LSTM`;
    logistic sigmoid gates, tanh cell) over `input` `[B, T, I]` and returns
    every step's hidden state `[B, T, H]` (`2H` for `bidirectional_concat`),
    and the final hidden and cell states `[D, B, H]`, D = 1 or 2 directions.

    `weights` hold, per direction (forward first), PyTorch's
    `weight_ih [4H, I]`, `weight_hh [4H, H]`, `bias_ih [4H]`, `bias_hh [4H]`
    with gates ordered i, f, g, o. Initial states `h0`/`c0` are `[D, B, H]`;
    absent means zeros.

    With `lengths` (`[B]`, whole numbers as f32) the layer runs as PyTorch
    runs a packed sequence: row `b` reads steps `0 .. lengths[b] − 1` only,
    the backward direction starts at its last valid step, outputs past the
    length are zero and the final states are those at the length.
    `attn-expand-packed-recurrence` lowers such a layer to a loop of cells.

    ```mlir
    %y, %h, %c = attn.lstm %x weights(%wi, %wh, %bi, %bh, %wir, %whr, %bir, %bhr)
        {direction = #attn<direction bidirectional_concat>, hidden_size = 32 : i64}
        : (tensor<1x30x37xf32>, tensor<128x37xf32>, tensor<128x32xf32>,
           tensor<128xf32>, tensor<128xf32>, tensor<128x37xf32>,
           tensor<128x32xf32>, tensor<128xf32>, tensor<128xf32>)
        -> (tensor<1x30x64xf32>, tensor<2x1x32xf32>, tensor<2x1x32xf32>)
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input,
                   Optional<Attn_F32Tensor>:$lengths,
                   Optional<Attn_F32Tensor>:$h0,
                   Optional<Attn_F32Tensor>:$c0,
                   Variadic<Attn_F32Tensor>:$weights,
                   I64Attr:$hidden_size, Attn_DirectionAttr:$direction);
  let results = (outs Attn_F32Tensor:$output, Attn_F32Tensor:$h_n,
                 Attn_F32Tensor:$c_n);
  let assemblyFormat = [{
    $input (`lengths` `(` $lengths^ `)`)? (`init` `(` $h0^ `,` $c0 `)`)?
    `weights` `(` $weights `)` attr-dict
    `:` functional-type(operands, results)
  }];
}

def Attn_GruOp : Attn_RecurrentOp<"gru", 3> {
  let summary = "GRU layer over a whole sequence";
  let description = [{
    Runs a GRU over `input` `[B, T, I]`. `linear_before_reset` (the default)
    is PyTorch's `nn.GRU` and Keras' `reset_after=True`:
    `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`. Results and operands are
    those of `attn.lstm` without the cell state, with 3 gates ordered r, z, n
    (PyTorch) in `weight_ih [3H, I]`, `weight_hh [3H, H]`, `bias_ih [3H]`,
    `bias_hh [3H]`. `lengths` is that of `attn.lstm` (linear-before-reset
    GRUs only).

    ```mlir
    %y, %h = attn.gru %x weights(%wi, %wh, %bi, %bh)
        {direction = #attn<direction forward>, hidden_size = 128 : i64}
        : (tensor<1x1375x196xf32>, tensor<384x196xf32>, tensor<384x128xf32>,
           tensor<384xf32>, tensor<384xf32>)
        -> (tensor<1x1375x128xf32>, tensor<1x1x128xf32>)
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input,
                   Optional<Attn_F32Tensor>:$lengths,
                   Optional<Attn_F32Tensor>:$h0,
                   Variadic<Attn_F32Tensor>:$weights,
                   I64Attr:$hidden_size, Attn_DirectionAttr:$direction,
                   DefaultValuedAttr<BoolAttr, "true">:$linear_before_reset);
  let results = (outs Attn_F32Tensor:$output, Attn_F32Tensor:$h_n);
  let assemblyFormat = [{
    $input (`lengths` `(` $lengths^ `)`)? (`init` `(` $h0^ `)`)?
    `weights` `(` $weights `)` attr-dict
    `:` functional-type(operands, results)
  }];
}

def Attn_LstmCellOp : Attn_Op<"lstm_cell"> {
  let summary = "one LSTM step (PyTorch nn.LSTMCell)";
  let description = [{
    `gates = x Wᵢₕᵀ + bᵢₕ + h Wₕₕᵀ + bₕₕ` split into i, f, g, o;
    `c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)`, `h' = σ(o) ⊙ tanh(c')`. `x` is `[B, I]`,
    `h` and `c` are `[B, H]`, weights are `[4H, I]`, `[4H, H]`, `[4H]`, `[4H]`.
    Used inside decoder loops, where a whole-sequence primitive does not fit.

    ```mlir
    %h1, %c1 = attn.lstm_cell %x, %h, %c weights(%wi, %wh, %bi, %bh)
        : (tensor<1x64xf32>, tensor<1x64xf32>, tensor<1x64xf32>,
           tensor<256x64xf32>, tensor<256x64xf32>, tensor<256xf32>,
           tensor<256xf32>) -> (tensor<1x64xf32>, tensor<1x64xf32>)
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, Attn_F32Tensor:$h,
                   Attn_F32Tensor:$c, Attn_F32Tensor:$weight_ih,
                   Attn_F32Tensor:$weight_hh, Attn_F32Tensor:$bias_ih,
                   Attn_F32Tensor:$bias_hh);
  let results = (outs Attn_F32Tensor:$h_next, Attn_F32Tensor:$c_next);
  let assemblyFormat = [{
    $input `,` $h `,` $c `weights` `(` $weight_ih `,` $weight_hh `,` $bias_ih
    `,` $bias_hh `)` attr-dict `:` functional-type(operands, results)
  }];
}

def Attn_GruCellOp : Attn_Op<"gru_cell"> {
  let summary = "one GRU step (PyTorch nn.GRUCell)";
  let description = [{
    `r = σ(Wᵢᵣ x + bᵢᵣ + Wₕᵣ h + bₕᵣ)`, `z` likewise,
    `n = tanh(Wᵢₙ x + bᵢₙ + r ⊙ (Wₕₙ h + bₕₙ))`, `h' = (1 − z) ⊙ n + z ⊙ h`.
    Weights are `[3H, I]`, `[3H, H]`, `[3H]`, `[3H]` with gates r, z, n.

    ```mlir
    %h1 = attn.gru_cell %x, %h weights(%wi, %wh, %bi, %bh)
        : (tensor<1x32xf32>, tensor<1x16xf32>, tensor<48x32xf32>,
           tensor<48x16xf32>, tensor<48xf32>, tensor<48xf32>) -> tensor<1x16xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, Attn_F32Tensor:$h,
                   Attn_F32Tensor:$weight_ih, Attn_F32Tensor:$weight_hh,
                   Attn_F32Tensor:$bias_ih, Attn_F32Tensor:$bias_hh);
  let results = (outs Attn_F32Tensor:$h_next);
  let assemblyFormat = [{
    $input `,` $h `weights` `(` $weight_ih `,` $weight_hh `,` $bias_ih `,`
    $bias_hh `)` attr-dict `:` functional-type(operands, results)
  }];
}

def Attn_Conv1DOp : Attn_Op<"conv1d"> {
  let summary = "1-D convolution over time (Keras Conv1D, channels last)";
  let description = [{
    `input` is `[B, T, C]`, `weight` PyTorch's `Conv1d` layout `[O, C, K]`,
    `bias` `[O]`. The input is padded with `pad_left`/`pad_right` zeros and
    the kernel moves by `stride`: the result is `[B, T', O]` with
    `T' = (T + pad_left + pad_right − K) / stride + 1`.

    ```mlir
    %y = attn.conv1d %x, %w, %b {stride = 4 : i64, pad_left = 0 : i64, pad_right = 0 : i64}
        : (tensor<1x5511x101xf32>, tensor<196x101x15xf32>, tensor<196xf32>)
        -> tensor<1x1375x196xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, Attn_F32Tensor:$weight,
                   Optional<Attn_F32Tensor>:$bias, I64Attr:$stride,
                   I64Attr:$pad_left, I64Attr:$pad_right);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Attn_BatchNormOp : Attn_Op<"batch_norm"> {
  let summary = "batch normalization with inference statistics, last axis";
  let description = [{
    `(x − mean) / sqrt(var + epsilon) · weight + bias` over the last axis
    (channels last, as Keras `BatchNormalization()` after Conv1D/GRU). The
    four operands are PyTorch's `weight`, `bias`, `running_mean`,
    `running_var`, each `[C]`.

    ```mlir
    %y = attn.batch_norm %x, %g, %b, %m, %v {epsilon = 1.0e-03 : f32}
        : (tensor<1x1375x196xf32>, tensor<196xf32>, tensor<196xf32>,
           tensor<196xf32>, tensor<196xf32>) -> tensor<1x1375x196xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, Attn_F32Tensor:$weight,
                   Attn_F32Tensor:$bias, Attn_F32Tensor:$running_mean,
                   Attn_F32Tensor:$running_var, F32Attr:$epsilon);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `,` $bias `,` $running_mean `,` $running_var attr-dict
    `:` functional-type(operands, results)
  }];
}

def Attn_EmbeddingOp : Attn_Op<"embedding"> {
  let summary = "look up rows of a table by token id";
  let description = [{
    `ids` hold token ids as f32 integers (any shape); the result appends the
    table's row size: `[..., E]` from `table` `[V, E]`. An id outside
    `[0, V)` gives a row of zeros.

    ```mlir
    %e = attn.embedding %ids, %table
        : (tensor<4x7xf32>, tensor<1000x256xf32>) -> tensor<4x7x256xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$ids, Attn_F32Tensor:$table);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$ids `,` $table attr-dict `:` functional-type(operands, results)";
}

def Attn_GatherRowsOp : Attn_Op<"gather_rows"> {
  let summary = "pick rows of a batch by row number";
  let description = [{
    `rows` `[C]` holds row numbers of `input` `[N, ...]` as f32 integers;
    the result is `[C, ...]`, row `j` a copy of row `rows[j]`. A row number
    outside `[0, N)` picks the nearest row (0 or N - 1). A decoder loop that compacts its
    live rows runs its body on the rows it picks this way; ops that work on
    every row alike commute with it (`attn-hoist-key-projections` computes
    key projections on the whole batch, before the loop, and picks rows of
    the result).

    ```mlir
    %m = attn.gather_rows %memory, %rows
        : (tensor<32x16x1024xf32>, tensor<8xf32>) -> tensor<8x16x1024xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, Attn_F32Tensor:$rows);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input `,` $rows attr-dict `:` functional-type(operands, results)";
}

def Attn_ArgmaxOp : Attn_Op<"argmax"> {
  let summary = "index of the largest element along the last axis";
  let description = [{
    Returns, as f32 integers, the index of the first maximum over the last
    axis: `[..., C] → [...]`.

    ```mlir
    %ids = attn.argmax %p : (tensor<4x10x11xf32>) -> tensor<4x10xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Attn_TopKOp : Attn_Op<"topk"> {
  let summary = "the k largest elements along the last axis, and their indices";
  let description = [{
    `[..., C] → [..., k]` twice: the `k` largest elements of each row in
    descending order, and their indices as f32 integers. NaN counts as larger
    than every number; of equal elements (both NaN, or `-0.0` and `0.0`) the
    one with the smaller index comes first, as in `torch.topk` on the CPU.
    The `topk` built-in and a beam search's `choose` use it; the smallest
    elements are the largest of the negated input.

    It lowers to one pass over each row that keeps the best `k` so far in
    order (an insertion into `k` slots per element), not `k` passes.

    ```mlir
    %values, %indices = attn.topk %scores {k = 4 : i64}
        : (tensor<16x128xf32>) -> (tensor<16x4xf32>, tensor<16x4xf32>)
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, ConfinedAttr<I64Attr, [IntMinValue<1>]>:$k);
  let results = (outs Attn_F32Tensor:$values, Attn_F32Tensor:$indices);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}
