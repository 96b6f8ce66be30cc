//===- ExpandPackedRecurrence.cpp - Recurrent layers with lengths ---------===//
//
// Part of Heed. A recurrent layer given per-row lengths runs as PyTorch runs
// a packed sequence. oneDNN's RNN primitives step every row over every step,
// so such a layer becomes, per direction, a loop of cells whose new state is
// kept only at a row's valid steps: forward, a row's state freezes after its
// last valid step; backward (stepping from T − 1 down), it stays at the
// initial state until the row's last valid step. Outputs past a row's
// length are zero, as pad_packed_sequence writes them.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/IR/PatternMatch.h"

namespace heed {
#define GEN_PASS_DEF_EXPANDPACKEDRECURRENCE
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

RankedTensorType f32Type(ArrayRef<int64_t> shape, OpBuilder &b) {
  return RankedTensorType::get(shape, b.getF32Type());
}

Value zeros(OpBuilder &b, Location loc, ArrayRef<int64_t> shape) {
  auto type = f32Type(shape, b);
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, 0.0f));
}

/// `source[index]` along axis `axis` as a tensor without that axis
/// (rank-reducing slice); `index` is a Value or an attribute.
Value sliceAt(OpBuilder &b, Location loc, Value source, int64_t axis,
              OpFoldResult index) {
  auto type = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), sizes,
      strides(type.getRank(), b.getIndexAttr(1));
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    sizes.push_back(b.getIndexAttr(i == axis ? 1 : type.getDimSize(i)));
    if (i != axis)
      shape.push_back(type.getDimSize(i));
  }
  offsets[axis] = index;
  return tensor::ExtractSliceOp::create(b, loc, f32Type(shape, b), source,
                                        offsets, sizes, strides);
}

/// `dest` with `part` (dest's shape without `axis`) written at `index`.
Value insertAt(OpBuilder &b, Location loc, Value part, Value dest, int64_t axis,
               OpFoldResult index) {
  auto type = cast<RankedTensorType>(dest.getType());
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0)), sizes,
      strides(type.getRank(), b.getIndexAttr(1));
  for (int64_t i = 0; i < type.getRank(); ++i)
    sizes.push_back(b.getIndexAttr(i == axis ? 1 : type.getDimSize(i)));
  offsets[axis] = index;
  return tensor::InsertSliceOp::create(b, loc, part, dest, offsets, sizes,
                                       strides);
}

/// `t` [B, H] as [1, B, H].
Value leadingUnitAxis(OpBuilder &b, Location loc, Value t) {
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<int64_t> shape = {1};
  llvm::append_range(shape, type.getShape());
  return tensor::ExpandShapeOp::create(
      b, loc, f32Type(shape, b), t,
      SmallVector<ReassociationIndices>{{0, 1}, {2}});
}

/// What one direction of the layer needs: its weights, initial states and
/// the order it visits the steps in.
struct Direction {
  ValueRange weights; // weight_ih, weight_hh, bias_ih, bias_hh
  Value h0, c0;       // [B, H]; c0 only for an LSTM
  bool backward;
};

struct DirectionResult {
  Value output; // [B, T, H]
  Value h, c;   // final states [B, H]
};

/// The masked loop of cells for one direction. `mask` is [B, T], 1.0 at a
/// row's valid steps, or null when every step of every row is valid.
DirectionResult expandDirection(OpBuilder &b, Location loc, bool lstm, Value x,
                                Value mask, const Direction &d) {
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t batch = xType.getDimSize(0), steps = xType.getDimSize(1);
  int64_t hidden = cast<RankedTensorType>(d.h0.getType()).getDimSize(1);
  Value zero = zeros(b, loc, {1});
  Value lower = arith::ConstantIndexOp::create(b, loc, 0);
  Value upper = arith::ConstantIndexOp::create(b, loc, steps);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value last = arith::ConstantIndexOp::create(b, loc, steps - 1);
  SmallVector<Value> inits = {d.h0};
  if (lstm)
    inits.push_back(d.c0);
  inits.push_back(zeros(b, loc, {batch, steps, hidden}));
  auto loop = scf::ForOp::create(
      b, loc, lower, upper, one, inits,
      [&](OpBuilder &nb, Location l, Value iv, ValueRange carried) {
        Value t =
            d.backward ? Value(arith::SubIOp::create(nb, l, last, iv)) : iv;
        Value xt = sliceAt(nb, l, x, 1, t);
        // [B, 1]: broadcasts over the hidden units.
        Value valid = mask ? Value(tensor::ExpandShapeOp::create(
                                 nb, l, f32Type({batch, 1}, nb),
                                 sliceAt(nb, l, mask, 1, t),
                                 SmallVector<ReassociationIndices>{{0, 1}}))
                           : Value();
        auto keep = [&](Value next, Value previous) -> Value {
          return valid ? Value(attn::SelectOp::create(nb, l, valid, next,
                                                      previous))
                       : next;
        };
        SmallVector<Value> next;
        Value hNext;
        if (lstm) {
          auto cell = attn::LstmCellOp::create(
              nb, l, xt, carried[0], carried[1], d.weights[0], d.weights[1],
              d.weights[2], d.weights[3]);
          hNext = cell.getHNext();
          next = {keep(hNext, carried[0]), keep(cell.getCNext(), carried[1])};
        } else {
          hNext =
              attn::GruCellOp::create(nb, l, xt, carried[0], d.weights[0],
                                      d.weights[1], d.weights[2], d.weights[3]);
          next = {keep(hNext, carried[0])};
        }
        next.push_back(
            insertAt(nb, l, keep(hNext, zero), carried.back(), 1, t));
        scf::YieldOp::create(nb, l, next);
      });
  DirectionResult r;
  r.h = loop.getResult(0);
  if (lstm)
    r.c = loop.getResult(1);
  r.output = loop.getResults().back();
  return r;
}

LogicalResult expand(Operation *op, Value x, Value lengths, Value h0, Value c0,
                     ValueRange weights, attn::Direction dir, bool lstm) {
  auto xType = dyn_cast<RankedTensorType>(x.getType());
  if (!xType || !xType.hasStaticShape())
    return op->emitError("attn-expand-packed-recurrence needs a static input");
  OpBuilder b(op);
  Location loc = op->getLoc();
  int64_t batch = xType.getDimSize(0), steps = xType.getDimSize(1);
  int64_t hidden =
      cast<RankedTensorType>(op->getResult(1).getType()).getDimSize(2);
  bool bidirectional = dir == attn::Direction::bidirectional_concat ||
                       dir == attn::Direction::bidirectional_sum;

  // mask [B, T] = arange(T) [1, T] < lengths [B, 1]; none without lengths.
  Value mask;
  if (lengths) {
    SmallVector<float> stepValues(steps);
    for (int64_t i = 0; i < steps; ++i)
      stepValues[i] = float(i);
    Value stepIds = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(f32Type({1, steps}, b),
                               ArrayRef<float>(stepValues)));
    Value lengthColumn = tensor::ExpandShapeOp::create(
        b, loc, f32Type({batch, 1}, b), lengths,
        SmallVector<ReassociationIndices>{{0, 1}});
    mask = attn::BinaryOp::create(b, loc, stepIds, lengthColumn,
                                  attn::BinaryKind::lt);
  }

  SmallVector<DirectionResult> results;
  for (int64_t k = 0, n = bidirectional ? 2 : 1; k < n; ++k) {
    auto initial = [&](Value states) {
      return states ? sliceAt(b, loc, states, 0, b.getIndexAttr(k))
                    : zeros(b, loc, {batch, hidden});
    };
    Direction d{weights.slice(4 * k, 4), initial(h0),
                lstm ? initial(c0) : Value(),
                k == 1 || dir == attn::Direction::reverse};
    results.push_back(expandDirection(b, loc, lstm, x, mask, d));
  }

  Value output = results[0].output;
  if (dir == attn::Direction::bidirectional_concat)
    output = attn::ConcatOp::create(
        b, loc, ValueRange{results[0].output, results[1].output}, 2);
  else if (dir == attn::Direction::bidirectional_sum)
    output = attn::BinaryOp::create(b, loc, results[0].output,
                                    results[1].output, attn::BinaryKind::add);
  // Final states [D, B, H], forward direction first.
  auto stacked = [&](Value DirectionResult::*state) -> Value {
    SmallVector<Value> parts;
    for (auto &r : results)
      parts.push_back(leadingUnitAxis(b, loc, r.*state));
    return parts.size() == 1 ? parts[0]
                             : Value(attn::ConcatOp::create(b, loc, parts, 0));
  };
  SmallVector<Value> replacements = {output, stacked(&DirectionResult::h)};
  if (lstm)
    replacements.push_back(stacked(&DirectionResult::c));
  op->replaceAllUsesWith(replacements);
  op->erase();
  return success();
}

struct ExpandPackedRecurrencePass
    : heed::impl::ExpandPackedRecurrenceBase<ExpandPackedRecurrencePass> {
  using ExpandPackedRecurrenceBase::ExpandPackedRecurrenceBase;
  void runOnOperation() override {
    SmallVector<Operation *> layers;
    getOperation().walk([&](Operation *op) {
      if (auto lstm = dyn_cast<attn::LstmOp>(op);
          lstm && (allLayers || lstm.getLengths()))
        layers.push_back(op);
      if (auto gru = dyn_cast<attn::GruOp>(op);
          gru && (allLayers || gru.getLengths()))
        layers.push_back(op);
    });
    for (Operation *op : layers) {
      LogicalResult done = failure();
      if (auto lstm = dyn_cast<attn::LstmOp>(op)) {
        done = expand(op, lstm.getInput(), lstm.getLengths(), lstm.getH0(),
                      lstm.getC0(), lstm.getWeights(), lstm.getDirection(),
                      /*lstm=*/true);
      } else {
        auto gru = cast<attn::GruOp>(op);
        if (!gru.getLinearBeforeReset())
          done = op->emitError(
              "a GRU run as a loop of cells (lengths, or the GPU target) "
              "needs linear_before_reset (the cell "
              "of attn.gru_cell)");
        else
          done = expand(op, gru.getInput(), gru.getLengths(), gru.getH0(),
                        Value(), gru.getWeights(), gru.getDirection(),
                        /*lstm=*/false);
      }
      if (failed(done))
        return signalPassFailure();
    }
  }
};

} // namespace
