//===- AST.h - Syntax tree of the Heed model language -----------*- C++ -*-===//
//
// Part of Heed. The parser builds this tree; Sema annotates it (types of
// expressions, resolved calls, layer shapes) and MLIRGen reads the
// annotations to build `attn` IR. See docs/language.md for the grammar.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_AST_H
#define HEED_FRONTENDS_DSL_AST_H

#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/SMLoc.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace heed::dsl {

//===----------------------------------------------------------------------===//
// Types (filled by Sema)
//===----------------------------------------------------------------------===//

/// One dimension: a known size, or a symbolic size named in an input shape
/// (such as the batch `B`), bound to a number only when inputs arrive.
struct Dim {
  int64_t size = -1;
  std::string symbol;
  static Dim known(int64_t n) { return Dim{n, ""}; }
  static Dim named(std::string s) { return Dim{-1, std::move(s)}; }
  bool isKnown() const { return symbol.empty(); }
  bool operator==(const Dim &o) const {
    return size == o.size && symbol == o.symbol;
  }
  bool operator!=(const Dim &o) const { return !(*this == o); }
  std::string str() const { return isKnown() ? std::to_string(size) : symbol; }
};
using Shape = std::vector<Dim>;
std::string shapeStr(const Shape &shape);

/// Built-in functions and layer kinds the language knows.
enum class Builtin {
  None,
  // Functions over tensors.
  Softmax, Tanh, Sigmoid, Relu, Exp, Repeat, Concat, Permute, Sum, Mean, Max,
  Squeeze, Dropout, Argmax, Dot, Attention, Zeros, PositionalEncoding, Where,
  Sqrt, Rsqrt, Log, Abs, Pow, Minimum, Maximum, Clip, Gelu, Reshape, Stack,
  Arange, SequenceMask, Take, TopK, Cumsum, MaxPool1D, AvgPool1D, LogSoftmax,
  Choose,
  // Layer kinds (used as `layer name = kind(...)`).
  Dense, Lstm, Gru, Bidirectional, LstmCell, GruCell, Conv1D, BatchNorm,
  Embedding, MultiHeadAttention, Glu, LayerNorm, TransformerEncoderLayer,
};

struct Layer;
struct ScoreDef;

/// Binary comparison operators (Expr::op); they give 1.0 or 0.0.
enum ComparisonOp : char {
  CmpEq = '=', CmpNe = '!', CmpLt = '<', CmpLe = 'l', CmpGt = '>', CmpGe = 'g'
};
bool isComparison(char op);
/// The operator as written: "+", "==", "<=", ...
const char *opSpelling(char op);

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

struct Expr {
  enum class Kind { Number, Name, Call, Binary, Neg, List, Index, Slice };
  Kind kind;
  llvm::SMLoc loc;
  double number = 0;       // Number
  bool isInt = false;      // Number
  std::string name;        // Name; Call: the callee
  char op = 0;             // Binary: + - * / or a comparison (below)
  // Call args, Binary/Neg/List items; Index: the tensor, then one item per
  // axis (an integer expression or a Slice); Slice: start, stop (either
  // may be null: `:`, `a:`, `:b`).
  std::vector<std::unique_ptr<Expr>> args;
  std::vector<std::string> kwNames;         // Call keyword names ...
  std::vector<llvm::SMLoc> kwLocs;
  std::vector<std::unique_ptr<Expr>> kwArgs; // ... and their values

  // Annotations from Sema.
  Shape type;                       // every tensor-valued expression
  std::vector<Shape> results;       // calls with several results (type = [0])
  Builtin builtin = Builtin::None;  // Call of a built-in function
  Layer *layer = nullptr;           // Call of a layer
  int64_t axis = 0;                 // normalized axis argument
  int64_t count = 0;                // repeat count, topk's k, pool window
  int64_t stride = 0;               // pooling
  bool samePadding = false;         // pooling: padding=same
  bool largest = true;              // topk
  bool keepdim = false;             // reductions
  std::vector<int64_t> perm;        // permute
  std::optional<double> exponent;   // pow with a compile-time exponent
  std::vector<int64_t> sliceOffsets, sliceSizes; // Index: per axis
  std::vector<bool> sliceDrop;      // Index: axis selected by an integer
  /// Index: the offset counts back from the end of a symbolic axis
  /// (`x[:, -1]`, `enc[:, S-1:S]`): the start is (the bound size − offset).
  std::vector<bool> sliceFromEnd;
  std::vector<std::string> sliceVar; // Index: axis selected by a loop variable
  /// Index: with sliceVar, the step's coefficient: the slice starts at
  /// scale · t + offset (`x[:, t*K:(t+1)*K]`: scale K, offset 0, size K).
  std::vector<int64_t> sliceScale;
  /// attention(...): the resolved score (a definition, or null for the
  /// built-in `dot`/`scaled_dot` named by `scoreName`) and its options.
  struct AttentionCall {
    const ScoreDef *score = nullptr;
    std::string scoreName = "dot";
    const Expr *query = nullptr, *keys = nullptr, *values = nullptr;
    std::vector<const Expr *> features;
    const Expr *lengths = nullptr, *previous = nullptr;
    std::string normalization = "softmax", constraint = "none";
    bool causal = false;
    int64_t window = 0;
    /// Local attention's position= (a [B] tensor in `position`, or the
    /// loop variable: `positionIsStep`); hard attention.
    const Expr *position = nullptr, *positionExpr = nullptr;
    bool positionIsStep = false, hard = false;
    /// [B, H, T, D] operands: heads as a second batch axis.
    bool heads = false;
    /// `context, weights, energies = attention(...)`: the score function's
    /// values as well, before masks and normalization.
    bool energies = false;
  };
  std::unique_ptr<AttentionCall> attention;

  Expr(Kind kind, llvm::SMLoc loc) : kind(kind), loc(loc) {}
  const Expr *kwarg(llvm::StringRef key) const;
  Expr *kwarg(llvm::StringRef key) {
    return const_cast<Expr *>(std::as_const(*this).kwarg(key));
  }
};

//===----------------------------------------------------------------------===//
// Statements and the model
//===----------------------------------------------------------------------===//

/// A layer declaration: weights created once and shared by every call.
struct Layer {
  std::string name;
  llvm::SMLoc loc;
  Builtin kind = Builtin::None;
  std::unique_ptr<Expr> decl;       // the `dense(10, activation=tanh)` call
  // From Sema.
  int64_t units = 0;                 // dense units, RNN hidden size, filters,
                                     // embedding size
  std::string activation = "none";
  bool useBias = true;
  std::optional<int64_t> inFeatures; // fixed by the first call
  // Recurrent layers (for bidirectional: of the wrapped layer).
  Builtin cell = Builtin::None;      // Lstm or Gru
  int64_t directions = 1;
  std::string merge = "concat";      // bidirectional: concat or sum
  bool returnSequences = false;      // Keras defaults
  bool returnState = false;
  bool goBackwards = false;
  int64_t numLayers = 1;             // nn.LSTM(num_layers=...): stacked layers
  /// The feature size one recurrent layer gives the next.
  int64_t sequenceFeatures() const {
    return directions == 2 && merge == "concat" ? 2 * units : units;
  }
  // conv1d
  int64_t kernelSize = 0, stride = 1;
  std::string padding = "valid";
  // batch_norm (Keras' default), layer_norm (`eps`, PyTorch's 1e-5)
  double epsilon = 1e-3;
  // embedding
  int64_t vocab = 0;
  // multi_head_attention (units = d_model; useBias: `bias=`), also the
  // self-attention of transformer_encoder_layer
  int64_t heads = 1;
  bool causal = false;
  int64_t kdim = 0, vdim = 0;        // key/value sizes (0: d_model)
  /// Separate q/k/v projection weights (kdim or vdim ≠ d_model), as
  /// nn.MultiheadAttention saves them; otherwise one in_proj_weight.
  bool separateProjections() const {
    return (kdim && kdim != units) || (vdim && vdim != units);
  }
  // transformer_encoder_layer
  int64_t feedforward = 2048;
  bool normFirst = false;
};

/// `score NAME(q, k, f...) = expr`: a score function of one query row and
/// one row of each key tensor, used by attention(..., score=NAME).
struct ScoreDef {
  std::string name;
  llvm::SMLoc loc;
  std::vector<std::string> params;
  std::vector<llvm::SMLoc> paramLocs;
  std::unique_ptr<Expr> body;
  std::vector<Shape> rowShapes; // from Sema: fixed by the first use
};

struct Stmt {
  enum class Kind { Input, Layer, Assign, Output, For, Yield, Score, Weight };
  Kind kind;
  llvm::SMLoc loc;
  std::vector<std::string> names;   // targets, input/output/layer name
  std::vector<llvm::SMLoc> nameLocs;
  std::vector<std::unique_ptr<Expr>> shape; // Input, Weight: dimensions
  std::string elementType = "f32";  // Input: f32, i64, i32 or bool
  std::unique_ptr<Expr> value;      // Assign, Output, Yield; For: the count
  Layer *layer = nullptr;           // Layer
  ScoreDef *score = nullptr;        // Score
  // For: `for NAME in range(value) carry (names = carryInits) { body }`.
  std::vector<std::string> carryNames;
  std::vector<llvm::SMLoc> carryLocs;
  std::vector<std::unique_ptr<Expr>> carryInits;
  std::vector<std::unique_ptr<Stmt>> body;
  Dim count;                        // For: the trip count (from Sema)
  // For with a stop predicate: `until cond [lengths NAME]`. `cond` is one
  // flag per batch row, evaluated after each step on the new states; a row
  // whose flag is set is finished. NAME receives the per-row step counts.
  std::unique_ptr<Expr> until;
  std::string lengthsName;
  llvm::SMLoc lengthsLoc;
  // For with a beam: `beam (width[, length_penalty=alpha])` before `until`,
  // and `scores NAME` after it. The body picks the next tokens with
  // `token = choose(logprobs)`; see docs/language.md, "Beam search".
  std::unique_ptr<Expr> beamWidth, lengthPenalty;
  llvm::SMLoc beamLoc;
  std::string scoresName;
  llvm::SMLoc scoresLoc;
  int64_t beam = 0;       // from Sema: the width (0: no beam)
  double beamPenalty = 0; // from Sema: the length penalty's exponent

  Stmt(Kind kind, llvm::SMLoc loc) : kind(kind), loc(loc) {}
};

struct Param {
  std::string name;
  llvm::SMLoc loc;
  std::unique_ptr<Expr> value;
  double number = 0; // from Sema
  /// From Sema: the value of a word parameter (`NORM = softmax`), whose
  /// uses are option values (`normalization=NORM`); empty for numbers.
  std::string word;
};

struct Model {
  std::string name;
  llvm::SMLoc loc;
  std::string weightLayout = "pytorch"; // `weights keras` switches
  std::vector<Param> params;
  std::vector<std::unique_ptr<Layer>> layers;
  std::vector<std::unique_ptr<ScoreDef>> scores;
  std::vector<std::unique_ptr<Stmt>> stmts;

  // From Sema: the model's interface, in declaration order.
  /// An input and its declared element type: "f32" (the default), or
  /// "i64", "i32", "bool" for token ids, lengths and masks, which must come
  /// as integers (or booleans) and are computed with in float32, exactly.
  struct Input {
    std::string name;
    Shape shape;
    llvm::SMLoc loc;
    std::string elementType = "f32";
    bool isInteger() const { return elementType != "f32"; }
  };
  /// An output; `integer` (from IntegerValues.h) when every value is an
  /// integer (argmax, token ids, per-row lengths): written as int64.
  struct Output {
    std::string name;
    const Expr *value;
    llvm::SMLoc loc;
    bool integer = false;
  };
  std::vector<Input> inputs;
  std::vector<Output> outputs;
  std::vector<std::string> symbols; // symbolic dims, in order of appearance

  /// A bare parameter (`parameter v_a: [128]`, PyTorch's `nn.Parameter`,
  /// Keras' `add_weight`): a weight tensor bound by its own name.
  struct WeightTensor {
    std::string name;
    std::vector<int64_t> shape;
    llvm::SMLoc loc;
  };
  /// Layers and weight tensors in declaration order: what binds first.
  std::vector<std::variant<const Layer *, WeightTensor>> weightOwners;

  /// Inputs whose values Sema constrains (lengths, positions, token ids):
  /// the driver checks them before every run.
  struct InputRange {
    std::string input;
    std::string role;   // "lengths of the memory 'keys'", ...
    int64_t min = 0;
    Dim max;               // inclusive upper bound: max + maxOffset
    int64_t maxOffset = 0; // -1 for indices into an axis of size max
    /// The upper bound once the symbolic dimensions have sizes.
    template <typename Dims> int64_t upper(const Dims &dims) const {
      return (max.isKnown() ? max.size : dims.lookup(max.symbol)) + maxOffset;
    }
  };
  std::vector<InputRange> inputRanges;

  Layer *findLayer(llvm::StringRef name) const;
};

/// Prints the tree as an indented outline (`heed compile --emit=ast`).
void printAST(const Model &model, llvm::raw_ostream &os);

} // namespace heed::dsl

#endif // HEED_FRONTENDS_DSL_AST_H
