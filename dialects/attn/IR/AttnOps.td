//===- AttnOps.td - The attention dialect ------------------*- tablegen -*-===//
//
// Part of Heed. The `attn` dialect carries the intent of attention models:
// layers, normalizations and a first-class attention op whose score function
// is a region. It depends on no lowering; see compiler/ for those.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_ATTN_OPS
#define HEED_ATTN_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/RegionKindInterface.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

//===----------------------------------------------------------------------===//
// Dialect
//===----------------------------------------------------------------------===//

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::heed::attn";
  let summary = "Attention models: layers, normalizations and attention.";
  let description = [{
    The `attn` dialect represents sequence models with attention at the level
    a model author thinks in: dense layers with their activation, softmax over
    an axis, repeat/concat/permute/reduce, broadcasting elementwise arithmetic
    and `attn.attention`, whose score function is a region evaluated for one
    (query, key) pair. All tensors are ranked `f32` tensors; dimensions may be
    dynamic until a model is specialized for concrete input shapes.

    Weights follow PyTorch's `state_dict` layout: a dense layer's weight is
    `[out, in]` and its bias `[out]`.
  }];
  let useDefaultAttributePrinterParser = 1;
  // Canonicalization reshapes weights with tensor ops.
  let dependentDialects = ["::mlir::tensor::TensorDialect"];
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Attn_ActivationKind : I32EnumAttr<"ActivationKind",
    "activation applied elementwise (softmax: over the last axis)", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"tanh", 1>,
      I32EnumAttrCase<"sigmoid", 2>,
      I32EnumAttrCase<"relu", 3>,
      I32EnumAttrCase<"exp", 4>,
      I32EnumAttrCase<"softmax", 5>,
      I32EnumAttrCase<"sqrt", 6>,
      I32EnumAttrCase<"rsqrt", 7>,
      I32EnumAttrCase<"log", 8>,
      I32EnumAttrCase<"abs", 9>,
      I32EnumAttrCase<"gelu", 10>
    ]> {
  let cppNamespace = "::heed::attn";
  let genSpecializedAttr = 0;
}
def Attn_ActivationAttr : EnumAttr<Attn_Dialect, Attn_ActivationKind,
                                   "activation">;

def Attn_BinaryKind : I32EnumAttr<"BinaryKind", "elementwise binary operator", [
      I32EnumAttrCase<"add", 0>,
      I32EnumAttrCase<"sub", 1>,
      I32EnumAttrCase<"mul", 2>,
      I32EnumAttrCase<"div", 3>,
      I32EnumAttrCase<"max", 4>,
      I32EnumAttrCase<"eq", 5>,
      I32EnumAttrCase<"ne", 6>,
      I32EnumAttrCase<"lt", 7>,
      I32EnumAttrCase<"le", 8>,
      I32EnumAttrCase<"gt", 9>,
      I32EnumAttrCase<"ge", 10>,
      I32EnumAttrCase<"min", 11>,
      I32EnumAttrCase<"pow", 12>
    ]> {
  let cppNamespace = "::heed::attn";
  let genSpecializedAttr = 0;
}
def Attn_BinaryKindAttr : EnumAttr<Attn_Dialect, Attn_BinaryKind, "binary">;

def Attn_ReduceKind : I32EnumAttr<"ReduceKind", "reduction over one axis", [
      I32EnumAttrCase<"sum", 0>,
      I32EnumAttrCase<"mean", 1>,
      I32EnumAttrCase<"max", 2>
    ]> {
  let cppNamespace = "::heed::attn";
  let genSpecializedAttr = 0;
}
def Attn_ReduceKindAttr : EnumAttr<Attn_Dialect, Attn_ReduceKind, "reduce">;

def Attn_Normalization : I32EnumAttr<"Normalization",
    "how attention scores become weights", [
      I32EnumAttrCase<"softmax", 0>,
      I32EnumAttrCase<"smoothing", 1>,
      I32EnumAttrCase<"none", 2>
    ]> {
  let cppNamespace = "::heed::attn";
  let genSpecializedAttr = 0;
}
def Attn_NormalizationAttr : EnumAttr<Attn_Dialect, Attn_Normalization,
                                      "normalization">;

def Attn_Constraint : I32EnumAttr<"Constraint",
    "steps allowed around a position: seed 002's synthesis constraints "
    "around the previous step's argmax, Luong's local attention", [
      I32EnumAttrCase<"none", 0>,
      I32EnumAttrCase<"window", 1>,
      I32EnumAttrCase<"monotonic", 2>,
      I32EnumAttrCase<"local_m", 3>,
      I32EnumAttrCase<"local_p", 4>
    ]> {
  let cppNamespace = "::heed::attn";
  let genSpecializedAttr = 0;
}
def Attn_ConstraintAttr : EnumAttr<Attn_Dialect, Attn_Constraint, "constraint">;

//===----------------------------------------------------------------------===//
// Base class
//===----------------------------------------------------------------------===//

def Attn_F32Tensor : RankedTensorOf<[F32]>;
def Attn_I1Tensor : RankedTensorOf<[I1]>;

// Every computational op infers its result type from its operands, so any
// stage (frontend, raising, decomposition) builds ops without restating types
// and the verifier checks what was written against what is implied.
class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, !listconcat(traits,
        [Pure, DeclareOpInterfaceMethods<InferTypeOpInterface>])>;

//===----------------------------------------------------------------------===//
// Layers and tensor manipulation
//===----------------------------------------------------------------------===//

def Attn_DenseOp : Attn_Op<"dense"> {
  let summary = "fully connected layer over the last axis, with activation";
  let description = [{
    Computes `activation(x · Wᵀ + b)` over the last axis of `input`, for every
    leading index (Keras `Dense`, PyTorch `nn.Linear`, also applied per time
    step). `weight` is `[out, in]`; `bias`, when present, is `[out]`.
    A `softmax` activation normalizes over the last axis.

    ```mlir
    %h = attn.dense %x, %w, %b {activation = #attn<activation tanh>}
        : (tensor<4x30x128xf32>, tensor<10x128xf32>, tensor<10xf32>)
        -> tensor<4x30x10xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, Attn_F32Tensor:$weight,
                   Optional<Attn_F32Tensor>:$bias,
                   DefaultValuedAttr<Attn_ActivationAttr,
                     "::heed::attn::ActivationKind::none">:$activation);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = [{
    $input `,` $weight (`,` $bias^)? attr-dict `:` functional-type(operands, results)
  }];
}

def Attn_ActivateOp : Attn_Op<"activate"> {
  let summary = "elementwise activation";
  let description = [{
    Applies `kind` to every element (`softmax` normalizes over the last axis).

    ```mlir
    %y = attn.activate %x {kind = #attn<activation sigmoid>} : tensor<8x10xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, Attn_ActivationAttr:$kind);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Attn_BinaryOp : Attn_Op<"binary"> {
  let summary = "broadcasting elementwise arithmetic";
  let description = [{
    Applies `kind` elementwise with NumPy broadcasting: shapes are aligned on
    their last axes and a dimension of size 1 stretches to the other size.
    The comparisons (`eq`, `ne`, `lt`, `le`, `gt`, `ge`) give 1.0 where they
    hold and 0.0 elsewhere.

    ```mlir
    %p = attn.binary %a, %w {kind = #attn<binary mul>}
        : (tensor<4x30x64xf32>, tensor<4x30x1xf32>) -> tensor<4x30x64xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$lhs, Attn_F32Tensor:$rhs, Attn_BinaryKindAttr:$kind);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs attr-dict `:` functional-type(operands, results)
  }];
}

def Attn_SelectOp : Attn_Op<"select"> {
  let summary = "broadcasting elementwise choice: a where cond != 0, else b";
  let description = [{
    Picks `a` where `cond` is nonzero and `b` elsewhere; the three shapes
    broadcast as in `attn.binary`. The DSL's `where(cond, a, b)`; decoding
    loops that stop use it to freeze finished rows.

    ```mlir
    %h = attn.select %done, %old, %new
        : (tensor<4x1xf32>, tensor<4x128xf32>, tensor<4x128xf32>) -> tensor<4x128xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$cond, Attn_F32Tensor:$a, Attn_F32Tensor:$b);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = [{
    $cond `,` $a `,` $b attr-dict `:` functional-type(operands, results)
  }];
}

def Attn_SoftmaxOp : Attn_Op<"softmax"> {
  let summary = "softmax over one axis";
  let description = [{
    `exp(x - max) / Σ exp(x - max)` along `axis` (negative counts from the
    end), as Keras `Activation(softmax)` with an axis or `torch.softmax`.

    ```mlir
    %a = attn.softmax %e {axis = 1 : i64} : tensor<4x30x1xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, I64Attr:$axis);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input)";
}

def Attn_RepeatOp : Attn_Op<"repeat"> {
  let summary = "insert a new axis and repeat the input along it";
  let description = [{
    Keras `RepeatVector(count)` for `axis = 1`: `[B, F] → [B, count, F]`.

    ```mlir
    %r = attn.repeat %s {axis = 1 : i64, count = 30 : i64}
        : (tensor<4x64xf32>) -> tensor<4x30x64xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, I64Attr:$axis, I64Attr:$count);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Attn_ConcatOp : Attn_Op<"concat"> {
  let summary = "concatenate tensors along one axis";
  let description = [{
    All inputs have the same rank and agree on every axis but `axis`.

    ```mlir
    %c = attn.concat %s, %a {axis = 2 : i64}
        : (tensor<4x30x64xf32>, tensor<4x30x64xf32>) -> tensor<4x30x128xf32>
    ```
  }];
  let arguments = (ins Variadic<Attn_F32Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Attn_PermuteOp : Attn_Op<"permute"> {
  let summary = "permute axes";
  let description = [{
    Result axis `i` is input axis `perm[i]` (`torch.permute`; Keras
    `Permute((2, 1))` is `perm = [0, 2, 1]`).

    ```mlir
    %t = attn.permute %x {perm = array<i64: 0, 2, 1>}
        : (tensor<4x10x3xf32>) -> tensor<4x3x10xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

def Attn_ReduceOp : Attn_Op<"reduce"> {
  let summary = "sum, mean or max over one axis";
  let description = [{
    Reduces `axis`; with `keepdim` the axis stays with size 1. A sum over
    the last axis of `x ⊙ v`, with `v` a vector from outside any score
    region (`sum(v_a * tanh(...), -1)`, a bare parameter), canonicalizes to
    `attn.dense` with `v` as a `[1, N]` weight.

    ```mlir
    %c = attn.reduce %p {axis = 1 : i64, kind = #attn<reduce sum>}
        : (tensor<4x30x64xf32>) -> tensor<4x64xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, Attn_ReduceKindAttr:$kind,
                   I64Attr:$axis, DefaultValuedAttr<BoolAttr, "false">:$keepdim);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  // Σ over the last axis of x ⊙ v, v a vector from outside any score
  // region (a weight): attn.dense(x, v as [1, N]), which both attention
  // lowerings run as one dot product per row.
  let hasCanonicalizer = 1;
}

def Attn_SqueezeOp : Attn_Op<"squeeze"> {
  let summary = "drop an axis of size 1";
  let description = [{
    ```mlir
    %w = attn.squeeze %a {axis = 2 : i64} : (tensor<4x30x1xf32>) -> tensor<4x30xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$input, I64Attr:$axis);
  let results = (outs Attn_F32Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

def Attn_AttentionOp : Op<Attn_Dialect, "attention", [
    SingleBlock, RecursiveMemoryEffects, AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<InferTypeOpInterface>]> {
  let summary = "attention of queries over a memory of keys/values";
  let description = [{
    For every batch row `b`, query `q` (one per row for a `[B, Dq]` query,
    `Tq` per row for `[B, Tq, Dq]`) and memory step `t`, the `score` region
    computes the energy `e[b, (q,) t]` from the query row and the rows
    `keys_i[b, t]` of every key tensor (`[B, T, ·]`: the memory, and any
    per-step features such as location features); its block arguments are
    those rows as rank-1 tensors and it yields a one-element tensor.

    Masks, in the order seed 002's code applies them: with `constraint =
    window` or `monotonic` (and `previous`, the argmax of the previous
    step's weights, `[B]`), energies outside the allowed window
    (`window`: `[p - ⌈w/2⌉, p + ⌊w/2⌋)`; `monotonic`: `[p, p + w)`) become
    `-2^32 + 1`; with `lengths` (`[B]`), steps `t ≥ lengths[b]` are masked
    out; with `causal` (a `[B, Tq, Dq]` query), steps `t > q` are. Masked
    steps get weight 0 and a row with no unmasked step gets all-zero
    weights. The energies of a row are normalized over `t` (`softmax`:
    `exp(e) / Σ exp(e)`; `smoothing`: `σ(e) / Σ σ(e)`; `none`: the weights
    are the energies themselves, masked ones included, for a model that
    returns its attention's energies). The op returns the
    context `Σ_t w[b, (q,) t] values[b, t]` and the weights.

    Luong et al. 2015's local attention centres on the position `p[b]` in
    `previous` (real-valued) with half-width `D = window`: with `local_m` or
    `local_p` steps with `|t − p| > D` are masked out (-inf) before the
    normalization; `local_p` then multiplies the weights by the Gaussian
    `exp(−(t − p)² / (2σ²))`, `σ = D / 2`. With `hard`, the context is the
    value at the first maximum of the weights (hard attention) instead of
    their weighted sum; the weights are returned as they are.

    Any score function is a region: Luong `dot` is one `attn.binary` and a
    reduce, Bahdanau's additive score and seed-style "small network over
    concat(query, key)" are dense layers over the rows. Layer weights used in
    the region are captured from above, so they are shared by every step.

    ```mlir
    %ctx, %w = attn.attention query(%s : tensor<4x64xf32>)
        keys(%a : tensor<4x30x64xf32>) values(%a : tensor<4x30x64xf32>)
        lengths(%len : tensor<4xf32>)
        score {
    ^bb0(%q: tensor<64xf32>, %k: tensor<64xf32>):
      %c = attn.concat %q, %k {axis = 0 : i64}
          : (tensor<64xf32>, tensor<64xf32>) -> tensor<128xf32>
      %h = attn.dense %c, %w1, %b1 {activation = #attn<activation tanh>}
          : (tensor<128xf32>, tensor<10x128xf32>, tensor<10xf32>) -> tensor<10xf32>
      %e = attn.dense %h, %w2, %b2 {activation = #attn<activation relu>}
          : (tensor<10xf32>, tensor<1x10xf32>, tensor<1xf32>) -> tensor<1xf32>
      attn.yield %e : tensor<1xf32>
    } : tensor<4x64xf32>, tensor<4x30xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$query, Variadic<Attn_F32Tensor>:$keys,
                   Attn_F32Tensor:$values,
                   Optional<Attn_F32Tensor>:$lengths,
                   Optional<Attn_F32Tensor>:$previous,
                   DefaultValuedAttr<Attn_NormalizationAttr,
                     "::heed::attn::Normalization::softmax">:$normalization,
                   UnitAttr:$causal,
                   DefaultValuedAttr<Attn_ConstraintAttr,
                     "::heed::attn::Constraint::none">:$constraint,
                   DefaultValuedAttr<I64Attr, "0">:$window,
                   UnitAttr:$hard);
  let results = (outs Attn_F32Tensor:$context_vector, Attn_F32Tensor:$weights);
  let regions = (region SizedRegion<1>:$score);
  let assemblyFormat = [{
    `query` `(` $query `:` type($query) `)`
    `keys` `(` $keys `:` type($keys) `)`
    `values` `(` $values `:` type($values) `)`
    (`lengths` `(` $lengths^ `:` type($lengths) `)`)?
    (`previous` `(` $previous^ `:` type($previous) `)`)?
    attr-dict-with-keyword `score` $score `:` type($context_vector) `,` type($weights)
  }];
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    /// The block arguments of the score region: the query row, the rows of
    /// the first key tensor (the memory) and of every key tensor.
    ::mlir::BlockArgument getQueryRow() { return getScore().getArgument(0); }
    ::mlir::BlockArgument getKeyRow() { return getScore().getArgument(1); }
    ::mlir::Block::BlockArgListType getKeyRows() {
      return getScore().getArguments().drop_front();
    }
    /// The memory tensor of the first key operand.
    ::mlir::Value getMemoryKeys() { return getKeys().front(); }
    /// The value the score region yields.
    ::mlir::Value getScoreValue();
    /// True for a [B, Tq, Dq] query (a sequence of queries per row).
    bool hasQuerySequence() {
      return ::mlir::cast<::mlir::RankedTensorType>(getQuery().getType())
                 .getRank() == 3;
    }
  }];
}

def Attn_YieldOp : Op<Attn_Dialect, "yield", [
    Pure, Terminator, HasParent<"AttentionOp">]> {
  let summary = "yields the energy of a score region";
  let description = [{
    ```mlir
    attn.yield %e : tensor<1xf32>
    ```
  }];
  let arguments = (ins Attn_F32Tensor:$value);
  let assemblyFormat = "$value attr-dict `:` type($value)";
}

include "dialects/attn/IR/AttnSequenceOps.td"

#endif // HEED_ATTN_OPS
