//===- DecomposeAttention.cpp - attn.attention as whole-tensor ops --------===//
//
// Part of Heed. The unfused reference lowering of attn.attention, for a
// query of rows P = [B] or [B, Tq]:
//   scores  = score region lifted to [P, T, ·]: the query as [P, 1, ·] and,
//             for a query sequence, the keys as [B, 1, T, ·], so work on the
//             query alone (its dense layers) runs once per row, not once per
//             key step; they meet through attn.binary's broadcasting (a
//             concatenation repeats its operands to the full [P, T] first)
//   scores  = masks applied (AttentionMasks.h), one linalg.generic
//   weights = softmax over T                   (or σ(e) / Σ σ(e))
//   context = Σ_t weights[P, t] · values[b, t]
// Every intermediate is materialized; this is the reference the fused
// lowering is tested against.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/AttentionMasks.h"
#include "compiler/Transforms/RowOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"


namespace heed {
#define GEN_PASS_DEF_DECOMPOSEATTENTION
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

/// Applies the op's masks to energies [B, (Tq,) T] elementwise.
static Value applyMasks(OpBuilder &b, Location loc, attn::AttentionOp op,
                        Value energies) {
  auto type = cast<RankedTensorType>(energies.getType());
  int64_t rank = type.getRank();
  auto map = b.getMultiDimIdentityMap(rank);
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, type, ValueRange{energies},
      ValueRange{tensor::EmptyOp::create(b, loc, type.getShape(),
                                         type.getElementType())},
      ArrayRef<AffineMap>{map, map}, iters,
      [&](OpBuilder &b, Location loc, ValueRange args) {
        Value batch = linalg::IndexOp::create(b, loc, 0);
        Value query = rank == 3 ? linalg::IndexOp::create(b, loc, 1).getResult()
                                : Value();
        Value step = linalg::IndexOp::create(b, loc, rank - 1);
        Value e = maskEnergy(b, loc, op, args[0], batch, query, step);
        linalg::YieldOp::create(b, loc, e);
      });
  return generic.getResult(0);
}

static LogicalResult decompose(attn::AttentionOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto keysType = cast<RankedTensorType>(op.getMemoryKeys().getType());
  int64_t steps = keysType.getDimSize(1);
  bool sequence = op.hasQuerySequence();
  int64_t queries = sequence
      ? cast<RankedTensorType>(op.getQuery().getType()).getDimSize(1) : 0;
  int64_t stepAxis = sequence ? 2 : 1; // T's axis in [P, T, ·]
  // Memory tensors [B, T, ·] seen from every query: [B, Tq, T, ·].
  auto perQuery = [&](Value memory) -> Value {
    return sequence ? attn::RepeatOp::create(b, loc, memory, 1, queries)
                          .getResult()
                    : memory;
  };

  // The lifted axes [P, T] at 1..stepAxis, and their full sizes.
  SmallVector<int64_t> fullSizes;
  if (sequence)
    fullSizes.push_back(queries);
  fullSizes.push_back(steps);
  // Repeats `v`'s lifted axes of size 1 to their full sizes.
  auto toFullSizes = [&](Value v) -> Value {
    for (auto [i, size] : llvm::enumerate(fullSizes)) {
      int64_t axis = int64_t(i) + 1;
      if (cast<RankedTensorType>(v.getType()).getDimSize(axis) == 1 &&
          size != 1) {
        // The query's (or keys') own repeat by 1 is undone, not squeezed.
        auto once = v.getDefiningOp<attn::RepeatOp>();
        Value dropped = once && once.getAxis() == axis && once.getCount() == 1
                            ? once.getInput()
                            : attn::SqueezeOp::create(b, loc, v, axis);
        v = attn::RepeatOp::create(b, loc, dropped, axis, size);
      }
    }
    return v;
  };

  IRMapping map;
  map.map(
      op.getQueryRow(),
      attn::RepeatOp::create(b, loc, op.getQuery(), stepAxis, 1).getResult());
  for (auto [row, keys] : llvm::zip(op.getKeyRows(), op.getKeys()))
    map.map(row, sequence
                     ? attn::RepeatOp::create(b, loc, keys, 1, 1).getResult()
                     : keys);
  // Values computed from the rows; the rest (work on captured weights, such
  // as the transpose of `q @ W`) is the same for every row and is cloned
  // unchanged.
  llvm::DenseSet<Value> perRow(op.getScore().args_begin(),
                               op.getScore().args_end());
  for (Operation &inner : op.getScore().front().without_terminator()) {
    if (llvm::none_of(inner.getOperands(),
                      [&](Value v) { return perRow.contains(v); })) {
      b.clone(inner, map);
      continue;
    }
    perRow.insert(inner.result_begin(), inner.result_end());
    SmallVector<Value> operands;
    for (Value v : inner.getOperands()) {
      Value lifted = map.lookupOrDefault(v);
      // attn.binary broadcasts a query-only [P, 1, ·] against [P, T, ·]; a
      // concatenation's operands must agree on every other axis.
      if (isa<attn::ConcatOp>(inner) && perRow.contains(v))
        lifted = toFullSizes(lifted);
      operands.push_back(lifted);
    }
    // Constants and captured weights keep their rank; data rows gain [P, T].
    Operation *lifted = cloneWithRankShift(b, &inner, operands, stepAxis + 1);
    if (!lifted)
      return inner.emitError("cannot lift this score-region op to [B, T]");
    map.map(inner.getResults(), lifted->getResults());
  }
  // [P, T, 1]; a score of the query alone is [P, 1, 1] until repeated.
  Value energies = toFullSizes(map.lookup(op.getScoreValue()));
  energies = attn::SqueezeOp::create(b, loc, energies, stepAxis + 1);

  // Unmasked softmax is the plain attn.softmax every Keras model uses;
  // masks and smoothing go through the shared masked normalization.
  Value weights;
  if (hasMasks(op))
    energies = applyMasks(b, loc, op, energies);
  if (!hasMasks(op) && op.getNormalization() == attn::Normalization::softmax)
    weights = attn::SoftmaxOp::create(b, loc, energies, stepAxis);
  else
    weights = normalizeEnergies(b, loc, energies, stepAxis,
                                op.getNormalization());
  if (isLocal(op)) {
    // local_p's Gaussian around each row's position: [B] as [B, (1,) 1].
    Value position = op.getPrevious();
    for (int64_t i = 1; i <= stepAxis; ++i)
      position = attn::RepeatOp::create(b, loc, position, i, 1);
    weights = weightAroundPosition(b, loc, op, weights, position);
  }
  Value column = attn::RepeatOp::create(b, loc, weights, stepAxis + 1, 1);
  if (op.getHard()) {
    // The first maximum of each row (when it attends anywhere) as a one-hot
    // column: the context is that step's value.
    SmallVector<float> ids(steps);
    for (int64_t i = 0; i < steps; ++i)
      ids[i] = float(i);
    Value stepIds = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(RankedTensorType::get({steps}, b.getF32Type()),
                               ArrayRef<float>(ids)));
    auto scalar = [&](float v) -> Value {
      return arith::ConstantOp::create(
          b, loc,
          DenseElementsAttr::get(RankedTensorType::get({1}, b.getF32Type()),
                                 v));
    };
    Value first = attn::RepeatOp::create(
        b, loc, attn::ArgmaxOp::create(b, loc, weights), stepAxis, 1);
    Value best = attn::ReduceOp::create(b, loc, weights, attn::ReduceKind::max,
                                        stepAxis, /*keepdim=*/true);
    Value hot = attn::BinaryOp::create(
        b, loc,
        attn::BinaryOp::create(b, loc, first, stepIds, attn::BinaryKind::eq),
        attn::BinaryOp::create(b, loc, best, scalar(0.0f),
                               attn::BinaryKind::gt),
        attn::BinaryKind::mul);
    column = attn::RepeatOp::create(b, loc, hot, stepAxis + 1, 1);
    Value picked = attn::SelectOp::create(
        b, loc, column, perQuery(op.getValues()), scalar(0.0f));
    Value context = attn::ReduceOp::create(
        b, loc, picked, attn::ReduceKind::sum, stepAxis, false);
    op.replaceAllUsesWith(ValueRange{context, weights});
    op.erase();
    return success();
  }
  Value weighted = attn::BinaryOp::create(b, loc, perQuery(op.getValues()),
                                          column, attn::BinaryKind::mul);
  Value context = attn::ReduceOp::create(b, loc, weighted,
                                         attn::ReduceKind::sum, stepAxis, false);
  op.replaceAllUsesWith(ValueRange{context, weights});
  op.erase();
  return success();
}

namespace {
struct DecomposeAttentionPass
    : heed::impl::DecomposeAttentionBase<DecomposeAttentionPass> {
  void runOnOperation() override {
    SmallVector<attn::AttentionOp> ops;
    getOperation().walk([&](attn::AttentionOp op) { ops.push_back(op); });
    for (attn::AttentionOp op : ops)
      if (failed(decompose(op)))
        return signalPassFailure();
  }
};
} // namespace
