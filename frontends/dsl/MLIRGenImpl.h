//===- MLIRGenImpl.h - The IR generator's class -----------------*- C++ -*-===//
//
// Part of Heed. The Generator shared by the files that build one concern
// each: MLIRGen.cpp (the function, statements, expressions, built-ins),
// MLIRGenLoops.cpp (`for` loops, loops that stop), MLIRGenLayers.cpp (layer
// calls), MLIRGenAttention.cpp (attention, multi-head attention) and
// MLIRGenShapes.cpp (reshape, stack, arange, sequence_mask).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_MLIRGENIMPL_H
#define HEED_FRONTENDS_DSL_MLIRGENIMPL_H

#include "frontends/dsl/MLIRGen.h"
#include "frontends/dsl/Sema.h"

#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include "llvm/ADT/DenseSet.h"

namespace heed::dsl::gen {

using namespace mlir;

class Generator {
public:
  Generator(MLIRContext &ctx, const Model &model,
            const llvm::StringMap<int64_t> &dims, llvm::SourceMgr &sm,
            const GenOptions &options = {})
      : ctx(ctx), builder(&ctx), model(model), dims(dims), sm(sm),
        options(options) {}
  // `dims` is a copy: the body of a beam search binds the batch symbol to
  // batch × width.

  OwningOpRef<ModuleOp> run();

private:
  Location loc(llvm::SMLoc at) {
    auto [line, col] = sm.getLineAndColumn(at);
    StringRef file = sm.getMemoryBuffer(sm.FindBufferContainingLoc(at))
                         ->getBufferIdentifier();
    return FileLineColLoc::get(&ctx, file, line, col);
  }
  RankedTensorType tensorType(const Shape &shape) {
    SmallVector<int64_t> sizes;
    for (const Dim &d : shape) {
      if (d.isKnown()) {
        sizes.push_back(d.size);
      } else {
        auto it = dims.find(d.symbol);
        sizes.push_back(it == dims.end() ? ShapedType::kDynamic : it->second);
      }
    }
    return RankedTensorType::get(sizes, builder.getF32Type());
  }

  bool genStmts(const std::vector<std::unique_ptr<Stmt>> &stmts,
                SmallVectorImpl<Value> &results);
  bool genFor(const Stmt &s);
  Value gen(const Expr &e);
  /// Every result of `e` (one, or several for calls returning states).
  SmallVector<Value> genAll(const Expr &e);
  SmallVector<Value> genCall(const Expr &e);
  SmallVector<Value> genLayerCall(const Expr &e, ArrayRef<Value> args);
  Value genBuiltin(const Expr &e, ArrayRef<Value> args);
  /// `a @ b` with NumPy's matmul semantics (see Sema::checkMatmul).
  Value genMatmul(Location l, Value a, Value b);
  /// reshape, stack, arange, sequence_mask (MLIRGenShapes.cpp).
  Value genShapeBuiltin(const Expr &e, ArrayRef<Value> args);
  /// topk (values and indices), cumsum, max_pool1d, avg_pool1d
  /// (MLIRGenScans.cpp).
  SmallVector<Value> genScanBuiltin(const Expr &e, ArrayRef<Value> args);
  /// pow(x, y), with PyTorch's special cases for constant exponents.
  Value genPow(Location l, Value x, Value y, std::optional<double> exponent);
  /// attention(...): one attn.attention whose score region is the score
  /// function generated on the region's row arguments.
  SmallVector<Value> genAttention(const Expr &e);
  /// The energies of `op`'s score over its rows, before masks and
  /// normalization: a second attn.attention with normalization `none`.
  Value energiesOf(attn::AttentionOp op);
  /// multi_head_attention(q[, k[, v]], lengths=...).
  Value genMultiHead(const Expr &e, ArrayRef<Value> args);
  /// Fills `op`'s score region with Σ q·k (times `scale` unless 1).
  void buildDotScore(attn::AttentionOp op, float scale);
  /// Rows [offset, offset + n) of a weight [N, ...] (or bias [N]).
  Value weightRows(Location l, Value weight, int64_t offset, int64_t n);
  /// layer_norm: nn.LayerNorm over the last axis, from reductions and
  /// elementwise ops (fused by linalg into two passes over each row);
  /// `weight` and `bias` may be null.
  Value genLayerNorm(Location l, Value x, double epsilon, Value weight,
                     Value bias);
  /// The projections of a multi-head attention, read from its weights in
  /// appendMultiHeadWeights' order; `used` counts the weights read.
  struct MultiHeadWeights {
    Value projection[3], bias[3], outWeight, outBias;
    size_t used = 0;
  };
  MultiHeadWeights multiHeadWeights(const Layer &layer, ArrayRef<Value> w);
  /// Projections, heads folded into the batch, one scaled dot-product
  /// attention (lengths: [B] or null), heads merged, output projection.
  Value genMultiHeadAttention(Location l, const Layer &layer, Value q, Value k,
                              Value v, Value lengths,
                              const MultiHeadWeights &w);
  /// transformer_encoder_layer: self-attention and feed-forward blocks with
  /// residuals and layer norms (post-norm or norm_first).
  Value genTransformerEncoderLayer(const Expr &e, Value x);
  /// A beam search's state while its body is generated (MLIRGenBeam.cpp).
  /// Inside the body the batch is batch × width hypotheses, hypothesis k of
  /// row b at row b·width + k.
  struct BeamFrame {
    int64_t width = 1, rows = 0; // rows: the batch; hypotheses: rows·width
    double penalty = 0;          // the length penalty's exponent
    Dim batch;                   // the batch's symbolic dimension
    /// Values bound before the loop, and those repeated for the hypotheses.
    llvm::StringMap<Value> outer;
    llvm::DenseSet<Value> repeated;
    /// Per hypothesis: the running score, the step count and whether it
    /// finished, as the step began.
    Value scores, lengths, finished;
    /// Set by choose(): each new hypothesis' source row, score, and its
    /// source's length and finished flag; `pending` holds the values
    /// computed for the old hypotheses, gathered when used after choose.
    bool chosen = false;
    Value source, newScores, sourceLengths, sourceFinished;
    llvm::DenseSet<Value> pending;
  };
  /// A loop that stops, while its body is generated for a chunk of its
  /// live rows (MLIRGenLiveRows.cpp).
  struct LiveRowsFrame {
    Dim batch;  // the batch's symbolic dimension
    Value rows; // [chunk] f32: the batch rows this chunk computes
    /// Values bound before the loop (batch-first ones are picked by rows).
    llvm::StringMap<Value> outer;
  };
  /// Yield handling inside a loop body: name -> stacked tensor, step index.
  struct LoopFrame {
    Value step;
    llvm::StringMap<Value> stacked;
    std::string var; // the loop variable's name
    Value finished;  // loops with `until`: [B], 1 for rows already finished
    int64_t count = 0; // the trip count (the most steps of a loop that stops)
    BeamFrame *beam = nullptr;
    Value yieldAt; // where yields go on the stacked axis (null: `step`)
    LiveRowsFrame *liveRows = nullptr;
  };
  /// `for ... until cond`: the scf.while form of genFor.
  bool genStoppingLoop(const Stmt &s, int64_t count, ArrayRef<Value> inits,
                       ArrayRef<const Stmt *> yields);
  /// The innermost beam search whose body is being generated, or null.
  BeamFrame *currentBeam() {
    for (LoopFrame *frame : llvm::reverse(loops))
      if (frame->beam)
        return frame->beam;
    return nullptr;
  }
  /// A name's value inside a beam search's body: a batch-first value from
  /// before the loop repeated for the hypotheses, a value computed before
  /// choose() gathered into the new hypotheses' order (both cached in
  /// `values`).
  Value beamValue(const Expr &name, Value v);
  /// token = choose(logprobs): one step of the beam search.
  Value genChoose(const Expr &e, Value logprobs);
  /// x [N, ...] with its rows picked by `rows` [N] (f32 row numbers).
  Value gatherRows(Location l, Value x, Value rows);
  /// x [B, ...] with each row repeated `k` times: [B·k, ...].
  Value repeatRows(Location l, Value x, int64_t k);
  /// Rows 0, k, 2k, ... of x [B·k, ...]: each batch row's best hypothesis.
  Value firstHypotheses(Location l, Value x, int64_t k);
  /// x / lengths^penalty (x unchanged when the penalty is 0).
  Value lengthNormalized(Location l, Value x, Value lengths, double penalty);
  /// `mask` [B] reshaped to [B, 1, ...] of `rank`, to broadcast over rows.
  Value rowMask(Location l, Value mask, int64_t rank);
  /// The rows of each step's chunk a loop that stops computes (0: every
  /// row every step, as one batch).
  int64_t liveRowChunk(const Stmt &s, int64_t batch);
  /// One step of a loop that stops, on its running rows once they fit in
  /// chunks of `chunk` rows covering at most half the batch (else on the
  /// whole batch): the body runs on chunks of rows picked from the batch
  /// (the rows not yet finished first), and its results go back to their
  /// rows. `frame` is the step's (finished flags, stacked outputs); on
  /// success `values` holds
  /// the carried states for the whole batch, `frame.stacked` the stacked
  /// outputs and `stop` the condition [B] of the rows that ran.
  bool genLiveRowsStep(const Stmt &s, LoopFrame &frame, int64_t chunk,
                       int64_t batch, Value &stop);
  /// The body of `s` generated under `frame`, then its `until` condition as
  /// one flag per row ([N]; a [N, 1] condition collapsed); null on failure.
  Value stepFlags(const Stmt &s, LoopFrame &frame, Location l);
  /// A name's value in a chunk of live rows: a batch-first value from
  /// before the loop picked by the chunk's rows (cached in `values`).
  Value liveRowsValue(const Expr &name, Value v);
  /// `into` [B, ...] with row rows[j] replaced by part[j] ([C, ...]); with
  /// `at`, part [C, 1, ...] goes to position `at` of axis 1 of `into`.
  Value scatterRows(Location l, Value into, Value part, Value rows,
                    Value at = nullptr);
  SmallVector<LoopFrame *> loops;
  /// The step index of the enclosing loop whose variable is `var`, or null.
  Value loopStep(StringRef var) {
    for (LoopFrame *frame : llvm::reverse(loops))
      if (frame->var == var)
        return frame->step;
    return nullptr;
  }
  Value activate(Location l, Value x, attn::ActivationKind kind) {
    return attn::ActivateOp::create(builder, l, x, kind);
  }

  MLIRContext &ctx;
  OpBuilder builder;
  const Model &model;
  llvm::StringMap<int64_t> dims;
  llvm::SourceMgr &sm;
  GenOptions options;
  llvm::StringMap<Value> values;
  llvm::StringMap<SmallVector<Value>> layerWeights;
};

/// `t` with a size-1 axis inserted before `axis` (0 ≤ axis ≤ rank).
Value insertUnitAxis(OpBuilder &b, Location l, Value t, int64_t axis);
/// `x` with axis `from` moved to `to`, the others in their order (`x`
/// itself when they are equal).
Value moveAxis(OpBuilder &b, Location l, Value x, int64_t from, int64_t to);

/// values, indices = topk(x, k) along x's last axis (indices as f32
/// integers; the first of equal values first; MLIRGenScans.cpp).
SmallVector<Value> topkLastAxis(OpBuilder &b, Location l, Value x, int64_t k,
                                bool largest);

/// The dialect's activation for a layer's `activation=` name.
attn::ActivationKind activationKind(StringRef name);

} // namespace heed::dsl::gen

#endif // HEED_FRONTENDS_DSL_MLIRGENIMPL_H
