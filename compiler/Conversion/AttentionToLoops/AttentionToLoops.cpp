//===- AttentionToLoops.cpp - Fused loop nest for attn.attention ----------===//
//
// Part of Heed. For every batch row b:
//
//   q-only part of the score (hoisted: once per row, not per step)
//   e = score(q, keys[b, :])  for all T steps as [T, ·] ops;  m = max(e)
//   p = exp(e - m) (softmax) | σ(e) (smoothing);  w = p / Σp   (row ops)
//   for t in [0, T):  ctx += w[t] · values[b, t]
//
// The score region's ops are cloned onto row tensors (rank 1) and lowered
// by convert-attn-to-linalg afterwards, so the largest temporaries are one
// row. A dense layer over concat(query-part, key-part) is split by weight
// columns so the query-part product is hoisted out of the time loop, and
// the key-part product is computed for all steps of a row at once. The
// context accumulates in a vector register value (vector<Dv x f32>).
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToLoops/TiledDotAttention.h"
#include "compiler/Conversion/AttnToLinalg/AttnToLinalg.h"
#include "compiler/Passes.h"
#include "compiler/Transforms/AttentionMasks.h"
#include "compiler/Transforms/ParallelLoops.h"
#include "compiler/Transforms/RowOps.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/DenseSet.h"

namespace heed {
#define GEN_PASS_DEF_LOWERATTENTIONTOLOOPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// The largest context row kept in registers as one vector value.
constexpr int64_t kMaxVectorContext = 512;

arith::FastMathFlagsAttr fast(OpBuilder &b) { return fastMath(b); }

Value cIndex(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value cF32(OpBuilder &b, Location loc, float v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

/// The rank-1 slice `source[prefix..., :]` as a tensor<N x f32>.
Value extractRow(OpBuilder &b, Location loc, Value source, ValueRange prefix) {
  auto type = cast<RankedTensorType>(source.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(prefix.begin(), prefix.end()),
      sizes(rank - 1, b.getIndexAttr(1)), strides(rank, b.getIndexAttr(1));
  offsets.push_back(b.getIndexAttr(0));
  sizes.push_back(b.getIndexAttr(type.getShape().back()));
  auto rowType = RankedTensorType::get({type.getShape().back()},
                                       type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, rowType, source, offsets, sizes,
                                        strides);
}

class FusedLowering {
public:
  FusedLowering(attn::AttentionOp op) : op(op) {}
  LogicalResult run();

private:
  void classify();
  /// Slices the weight columns of every split dense layer, once, before
  /// the loops.
  void emitColumnSlices(OpBuilder &b);
  /// Clones the hoistable score ops (and the query halves of split dense
  /// layers) at `b`'s insertion point.
  void emitHoisted(OpBuilder &b, IRMapping &map);
  /// The key halves of split dense layers for a batch row's keys (`map`
  /// holds the key rows as [T, ·] slices).
  void emitKeyProjections(OpBuilder &b, IRMapping &map);
  /// Clones the key-dependent score ops for all steps of a batch row at
  /// once (their values gain a leading [T] axis); returns the energies [T].
  Value emitStepScores(OpBuilder &b, IRMapping &map, int64_t steps);

  attn::AttentionOp op;
  /// Score-region values that depend on the key row.
  llvm::DenseSet<Value> perStep;
  /// Dense layers over a concat of hoistable and per-step parts, with the
  /// hoisted partial product once computed.
  llvm::DenseMap<Operation *, Value> splitPartial;
  /// The weight-column slices of split dense layers, made once per op.
  llvm::DenseMap<std::pair<Operation *, unsigned>, Value> splitColumns;
  /// Per batch row: the products W[:, cols] · keys[b, t] for every step t
  /// at once ([T, N]), for split dense parts that are the key row itself.
  llvm::DenseMap<std::pair<Operation *, unsigned>, Value> keyProjections;
};

void FusedLowering::classify() {
  for (BlockArgument row : op.getKeyRows())
    perStep.insert(row);
  for (Operation &inner : op.getScore().front().without_terminator()) {
    bool dependsOnKey = llvm::any_of(inner.getOperands(), [&](Value v) {
      return perStep.contains(v);
    });
    if (dependsOnKey)
      for (Value r : inner.getResults())
        perStep.insert(r);
  }
}

/// The concat feeding a dense layer's input, when splitting pays off: some
/// parts are hoistable and the concat is along the row's only axis.
static attn::ConcatOp splittableConcat(attn::DenseOp dense,
                                       const llvm::DenseSet<Value> &perStep) {
  auto concat = dense.getInput().getDefiningOp<attn::ConcatOp>();
  if (!concat || !perStep.contains(concat.getResult()))
    return nullptr;
  bool anyHoistable = llvm::any_of(concat.getInputs(), [&](Value v) {
    return !perStep.contains(v);
  });
  return anyHoistable ? concat : nullptr;
}

void FusedLowering::emitColumnSlices(OpBuilder &b) {
  for (Operation &inner : op.getScore().front().without_terminator()) {
    auto dense = dyn_cast<attn::DenseOp>(inner);
    attn::ConcatOp concat =
        dense ? splittableConcat(dense, perStep) : attn::ConcatOp();
    if (!concat)
      continue;
    int64_t offset = 0;
    for (auto [i, part] : llvm::enumerate(concat.getInputs())) {
      int64_t width = cast<RankedTensorType>(part.getType()).getDimSize(0);
      splitColumns[{dense, unsigned(i)}] =
          weightColumns(b, dense.getLoc(), dense.getWeight(), offset, width);
      offset += width;
    }
  }
}

void FusedLowering::emitHoisted(OpBuilder &b, IRMapping &map) {
  Block &body = op.getScore().front();
  for (Operation &inner : body.without_terminator()) {
    if (!perStep.contains(inner.getResult(0))) {
      map.map(inner.getResults(), b.clone(inner, map)->getResults());
      continue;
    }
    auto dense = dyn_cast<attn::DenseOp>(inner);
    attn::ConcatOp concat =
        dense ? splittableConcat(dense, perStep) : attn::ConcatOp();
    if (!concat)
      continue;
    // partial = b + Σ_{hoistable parts p} W[:, cols(p)] · p
    Location loc = dense.getLoc();
    Value partial;
    for (auto [i, part] : llvm::enumerate(concat.getInputs())) {
      if (perStep.contains(part))
        continue;
      Value cols = splitColumns.lookup({dense, unsigned(i)});
      Value bias = partial ? Value() : dense.getBias();
      Value term = attn::DenseOp::create(b, loc, map.lookup(part), cols, bias,
                                         attn::ActivationKind::none);
      partial = partial ? attn::BinaryOp::create(b, loc, partial, term,
                                                 attn::BinaryKind::add)
                              .getResult()
                        : term;
    }
    splitPartial[dense] = partial;
  }
}

void FusedLowering::emitKeyProjections(OpBuilder &b, IRMapping &map) {
  // W[:, cols] · keys[b, t] for all t in one product per batch row, instead
  // of one small product per step (and shared by the row's queries).
  for (Operation &inner : op.getScore().front().without_terminator()) {
    auto dense = dyn_cast<attn::DenseOp>(inner);
    attn::ConcatOp concat =
        dense ? splittableConcat(dense, perStep) : attn::ConcatOp();
    if (!concat)
      continue;
    for (auto [i, part] : llvm::enumerate(concat.getInputs()))
      if (llvm::is_contained(op.getKeyRows(), part))
        keyProjections[{dense, unsigned(i)}] = attn::DenseOp::create(
            b, dense.getLoc(), map.lookup(part),
            splitColumns.lookup({dense, unsigned(i)}), Value(),
            attn::ActivationKind::none);
  }
}

Value FusedLowering::emitStepScores(OpBuilder &b, IRMapping &map,
                                    int64_t steps) {
  Block &body = op.getScore().front();
  for (Operation &inner : body.without_terminator()) {
    if (!perStep.contains(inner.getResult(0)))
      continue;
    auto it = splitPartial.find(&inner);
    if (it == splitPartial.end()) {
      // A concat consumed only by split dense layers is never built.
      if (isa<attn::ConcatOp>(inner) &&
          llvm::all_of(inner.getUsers(),
                       [&](Operation *u) { return splitPartial.count(u); }))
        continue;
      // Key-dependent operands carry a leading [T] axis; query-only ones
      // broadcast, except into a concat, which needs them repeated.
      SmallVector<Value> operands;
      for (Value v : inner.getOperands()) {
        Value mapped = map.lookupOrDefault(v);
        if (isa<attn::ConcatOp>(inner) && !perStep.contains(v))
          mapped = attn::RepeatOp::create(b, inner.getLoc(), mapped, 0, steps);
        operands.push_back(mapped);
      }
      Operation *lifted = cloneWithRankShift(b, &inner, operands, 1);
      map.map(inner.getResults(), lifted->getResults());
      continue;
    }
    auto dense = cast<attn::DenseOp>(inner);
    auto concat = dense.getInput().getDefiningOp<attn::ConcatOp>();
    Location loc = dense.getLoc();
    Value acc = it->second; // [N], broadcast over the steps
    for (auto [i, part] : llvm::enumerate(concat.getInputs())) {
      if (!perStep.contains(part))
        continue;
      Value term = keyProjections.lookup({dense, unsigned(i)});
      if (!term)
        term = attn::DenseOp::create(b, loc, map.lookup(part),
                                     splitColumns[{dense, unsigned(i)}],
                                     Value(), attn::ActivationKind::none);
      acc = attn::BinaryOp::create(b, loc, acc, term, attn::BinaryKind::add);
    }
    attn::ActivationKind act = dense.getActivation();
    if (act == attn::ActivationKind::softmax)
      acc = attn::SoftmaxOp::create(b, loc, acc, -1);
    else if (act != attn::ActivationKind::none)
      acc = attn::ActivateOp::create(b, loc, acc, act);
    map.map(dense.getResult(), acc);
  }
  // [T, 1] → [T]
  return attn::SqueezeOp::create(b, op.getLoc(), map.lookup(op.getScoreValue()),
                                 1);
}

LogicalResult FusedLowering::run() {
  Location loc = op.getLoc();
  auto ctxType = cast<RankedTensorType>(op.getContextVector().getType());
  auto wType = cast<RankedTensorType>(op.getWeights().getType());
  if (!ctxType.hasStaticShape() || !wType.hasStaticShape())
    return op.emitError("attn-lower-attention-to-loops needs static shapes");
  bool sequence = op.hasQuerySequence();
  int64_t batch = ctxType.getDimSize(0), dv = ctxType.getShape().back(),
          steps = wType.getShape().back(),
          queries = sequence ? ctxType.getDimSize(1) : 1;
  classify();

  OpBuilder b(op);
  emitColumnSlices(b);
  Type f32 = b.getF32Type();
  Value c0 = cIndex(b, loc, 0), c1 = cIndex(b, loc, 1);
  Value cSteps = cIndex(b, loc, steps);
  Value zero = cF32(b, loc, 0.0f);
  Value ctxInit = tensor::EmptyOp::create(b, loc, ctxType.getShape(), f32);
  Value wInit = tensor::EmptyOp::create(b, loc, wType.getShape(), f32);
  bool vectorContext = dv <= kMaxVectorContext;
  auto vecType = VectorType::get({dv}, f32);

  // Offsets/sizes/strides of one [1, (1,) N] row of a [B, (Tq,) N] result.
  auto rowSlice = [&](OpBuilder &b, Value bi, Value qi, int64_t n) {
    SmallVector<OpFoldResult> offsets{bi}, sizes{b.getIndexAttr(1)},
        strides(sequence ? 3 : 2, b.getIndexAttr(1));
    if (sequence) {
      offsets.push_back(qi);
      sizes.push_back(b.getIndexAttr(1));
    }
    offsets.push_back(b.getIndexAttr(0));
    sizes.push_back(b.getIndexAttr(n));
    return std::make_tuple(offsets, sizes, strides);
  };

  // One (batch row, query): energies, normalization, context; returns the
  // updated (context, weights) results.
  // A batch row's keys, [T, Dk] per key tensor (what the key-dependent
  // score ops see), and its key projections.
  auto emitKeys = [&](OpBuilder &b, Location loc, Value bi) {
    IRMapping map;
    for (auto [row, keys] : llvm::zip(op.getKeyRows(), op.getKeys())) {
      int64_t width = cast<RankedTensorType>(keys.getType()).getDimSize(2);
      auto rowKeysType = RankedTensorType::get({steps, width}, f32);
      map.map(row, tensor::ExtractSliceOp::create(
                       b, loc, rowKeysType, keys,
                       ArrayRef<OpFoldResult>{bi, b.getIndexAttr(0),
                                              b.getIndexAttr(0)},
                       ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                                              b.getIndexAttr(steps),
                                              b.getIndexAttr(width)},
                       ArrayRef<OpFoldResult>{b.getIndexAttr(1),
                                              b.getIndexAttr(1),
                                              b.getIndexAttr(1)}));
    }
    emitKeyProjections(b, map);
    return map;
  };

  // Pass 3: the context Σ_t w[t] values[b, t] (a vector value when it fits
  // in registers).
  auto emitSoftContext = [&](OpBuilder &b, Location loc, Value bi,
                             Value weightsRow) -> Value {
    Value ctxAcc;
    if (vectorContext)
      ctxAcc = arith::ConstantOp::create(b, loc, vecType,
                                         DenseElementsAttr::get(vecType, 0.0f));
    else
      ctxAcc = linalg::FillOp::create(
                   b, loc, zero,
                   tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{dv}, f32)
                       .getResult())
                   .getResult(0);
    auto accumulate = scf::ForOp::create(
        b, loc, c0, cSteps, c1, ValueRange{ctxAcc},
        [&](OpBuilder &b, Location loc, Value ti, ValueRange it) {
          Value w = tensor::ExtractOp::create(b, loc, weightsRow, ti);
          Value acc;
          if (vectorContext) {
            Value v = vector::TransferReadOp::create(
                b, loc, vecType, op.getValues(), ValueRange{bi, ti, c0}, zero,
                ArrayRef<bool>{true});
            Value wv = vector::BroadcastOp::create(b, loc, vecType, w);
            acc = vector::FMAOp::create(b, loc, wv, v, it[0]);
          } else {
            auto inner = scf::ForOp::create(
                b, loc, c0, cIndex(b, loc, dv), c1, ValueRange{it[0]},
                [&](OpBuilder &b, Location loc, Value di, ValueRange a) {
                  Value v = tensor::ExtractOp::create(b, loc, op.getValues(),
                                                      ValueRange{bi, ti, di});
                  Value c = tensor::ExtractOp::create(b, loc, a[0], di);
                  Value m = arith::MulFOp::create(b, loc, w, v, fast(b));
                  Value s = arith::AddFOp::create(b, loc, c, m, fast(b));
                  scf::YieldOp::create(
                      b, loc,
                      tensor::InsertOp::create(b, loc, s, a[0], di).getResult());
                });
            acc = inner.getResult(0);
          }
          scf::YieldOp::create(b, loc, ValueRange{acc});
        });

    return accumulate.getResult(0);
  };

  // Hard attention: the value row at the first maximum of the weights (zero
  // when every step is masked).
  auto emitHardContext = [&](OpBuilder &b, Location loc, Value bi,
                             Value weightsRow) -> Value {
    auto [attended, at] =
        hardAttentionStep(b, loc, steps, [&](OpBuilder &b, Value ti) -> Value {
          return tensor::ExtractOp::create(b, loc, weightsRow, ti);
        });
    if (vectorContext) {
      Value v = vector::TransferReadOp::create(b, loc, vecType, op.getValues(),
                                               ValueRange{bi, at, c0}, zero,
                                               ArrayRef<bool>{true});
      Value none = arith::ConstantOp::create(
          b, loc, vecType, DenseElementsAttr::get(vecType, 0.0f));
      return arith::SelectOp::create(b, loc, attended, v, none);
    }
    auto rowType = RankedTensorType::get({dv}, f32);
    Value row = tensor::ExtractSliceOp::create(
        b, loc, rowType, op.getValues(),
        ArrayRef<OpFoldResult>{bi, at, b.getIndexAttr(0)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(dv)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                               b.getIndexAttr(1)});
    Value none = linalg::FillOp::create(
                     b, loc, zero,
                     tensor::EmptyOp::create(b, loc, ArrayRef<int64_t>{dv}, f32)
                         .getResult())
                     .getResult(0);
    return arith::SelectOp::create(b, loc, attended, row, none);
  };

  // One (batch row, query): energies, normalization, context; returns the
  // updated (context, weights) results.
  auto emitQuery = [&](OpBuilder &b, Location loc, Value bi, Value qi,
                       IRMapping map, ValueRange outs) -> SmallVector<Value> {
    SmallVector<Value> queryPrefix{bi};
    if (sequence)
      queryPrefix.push_back(qi);
    map.map(op.getQueryRow(), extractRow(b, loc, op.getQuery(), queryPrefix));
    emitHoisted(b, map);

    // Pass 1: the energies of every step of the row, as [T, ·] row ops.
    Value energies = emitStepScores(b, map, steps);
    if (hasMasks(op)) {
      // Masked steps get -inf (lengths, causal) or seed 002's finite
      // padding (constraint): AttentionMasks.h.
      auto masked = scf::ForOp::create(
          b, loc, c0, cSteps, c1, ValueRange{energies},
          [&](OpBuilder &b, Location loc, Value ti, ValueRange it) {
            Value e = tensor::ExtractOp::create(b, loc, it[0], ti);
            e = maskEnergy(b, loc, op, e, bi, qi, ti);
            scf::YieldOp::create(
                b, loc,
                tensor::InsertOp::create(b, loc, e, it[0], ti).getResult());
          });
      energies = masked.getResult(0);
    }
    // Pass 2, on the whole row as row-sized attn ops (so they vectorize
    // like any other): the normalized weights (AttentionMasks.h).
    Value weightsRow =
        normalizeEnergies(b, loc, energies, 0, op.getNormalization());
    if (isLocal(op)) {
      // local_p's Gaussian around the row's position.
      Value p =
          tensor::ExtractOp::create(b, loc, op.getPrevious(), ValueRange{bi});
      Value position = tensor::FromElementsOp::create(
          b, loc, RankedTensorType::get({1}, f32), ValueRange{p});
      weightsRow = weightAroundPosition(b, loc, op, weightsRow, position);
    }

    Value ctxRow = op.getHard() ? emitHardContext(b, loc, bi, weightsRow)
                                : emitSoftContext(b, loc, bi, weightsRow);
    Value ctxOut;
    if (vectorContext) {
      SmallVector<Value> at = queryPrefix;
      at.push_back(c0);
      ctxOut = vector::TransferWriteOp::create(b, loc, ctxRow, outs[0], at,
                                               ArrayRef<bool>{true})
                   .getResult();
    } else {
      auto [offsets, sizes, strides] = rowSlice(b, bi, qi, dv);
      ctxOut = tensor::InsertSliceOp::create(b, loc, ctxRow, outs[0], offsets,
                                             sizes, strides);
    }
    auto [offsets, sizes, strides] = rowSlice(b, bi, qi, steps);
    Value wOut = tensor::InsertSliceOp::create(b, loc, weightsRow, outs[1],
                                               offsets, sizes, strides);
    return {ctxOut, wOut};
  };

  auto outer = scf::ForOp::create(
      b, loc, c0, cIndex(b, loc, batch), c1, ValueRange{ctxInit, wInit},
      [&](OpBuilder &b, Location loc, Value bi, ValueRange outs) {
        IRMapping keys = emitKeys(b, loc, bi);
        if (!sequence) {
          scf::YieldOp::create(b, loc,
                               emitQuery(b, loc, bi, Value(), keys, outs));
          return;
        }
        auto perQuery = scf::ForOp::create(
            b, loc, c0, cIndex(b, loc, queries), c1, outs,
            [&](OpBuilder &b, Location loc, Value qi, ValueRange outs) {
              scf::YieldOp::create(b, loc,
                                   emitQuery(b, loc, bi, qi, keys, outs));
            });
        markParallelLoop(perQuery);
        scf::YieldOp::create(b, loc, perQuery.getResults());
      });
  // Batch rows and queries are independent.
  markParallelLoop(outer);
  op.replaceAllUsesWith(outer.getResults());
  op.erase();
  return success();
}

struct LowerAttentionToLoopsPass
    : heed::impl::LowerAttentionToLoopsBase<LowerAttentionToLoopsPass> {
  using Base::Base;
  void runOnOperation() override {
    SmallVector<attn::AttentionOp> ops;
    getOperation().walk([&](attn::AttentionOp op) { ops.push_back(op); });
    for (attn::AttentionOp op : ops) {
      // Dot-product scores over query sequences: tiles with an online
      // softmax; everything else: the row-by-row loop nest.
      if (succeeded(lowerTiledDotAttention(op)))
        continue;
      if (failed(FusedLowering(op).run()))
        return signalPassFailure();
    }
  }
};

} // namespace
