//===- AttentionMasks.cpp - Masked energies of attn.attention -------------===//
//
// Part of Heed. Seed 002 (Tacotron2's LocationSensitiveAttention):
//
//   monotonic: allowed steps [p, p + w)
//   window:    allowed steps [p - ceil(w/2), p + floor(w/2))
//   energy = where(allowed, energy, -2**32 + 1)
//
// then TensorFlow's memory_sequence_length mask (-inf past the length), then
// (self-attention) the causal mask. Luong's local attention (local_m,
// local_p) masks steps farther than D from its position p with -inf: the
// normalization sees the window only.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/AttentionMasks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cfloat>
#include <cmath>

using namespace mlir;
using namespace heed;

bool heed::hasMasks(attn::AttentionOp op) {
  return op.getLengths() || op.getCausal() ||
         op.getConstraint() != attn::Constraint::none;
}

/// `tensor[batch]` (f32, an integer count or position) as an i64.
static Value rowInteger(OpBuilder &b, Location loc, Value tensor, Value batch) {
  Value f = tensor::ExtractOp::create(b, loc, tensor, ValueRange{batch});
  return arith::FPToSIOp::create(b, loc, b.getI64Type(), f);
}

EnergyMask EnergyMask::of(attn::AttentionOp op) {
  EnergyMask mask;
  mask.lengths = op.getLengths();
  mask.previous = op.getPrevious();
  mask.causal = op.getCausal();
  mask.constraint = op.getConstraint();
  mask.window = op.getWindow();
  return mask;
}

Value heed::maskEnergy(OpBuilder &b, Location loc, attn::AttentionOp op,
                       Value energy, Value batch, Value query, Value step) {
  return maskEnergy(b, loc, EnergyMask::of(op), energy, batch, query, step);
}

Value heed::maskEnergy(OpBuilder &b, Location loc, const EnergyMask &mask,
                       Value energy, Value batch, Value query, Value step) {
  Type i64 = b.getI64Type();
  auto c64 = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  };
  auto cf = [&](float v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  Value t = arith::IndexCastOp::create(b, loc, i64, step);
  Value negInf = cf(-INFINITY);
  if (mask.constraint == attn::Constraint::local_m ||
      mask.constraint == attn::Constraint::local_p) {
    // |t − p| > D, p real (local_p's predicted position).
    Value p =
        tensor::ExtractOp::create(b, loc, mask.previous, ValueRange{batch});
    Value tf = arith::SIToFPOp::create(b, loc, b.getF32Type(), t);
    Value distance =
        math::AbsFOp::create(b, loc, arith::SubFOp::create(b, loc, tf, p));
    Value outside = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UGT,
                                          distance, cf(float(mask.window)));
    energy = arith::SelectOp::create(b, loc, outside, negInf, energy);
  } else if (mask.constraint != attn::Constraint::none) {
    Value p = rowInteger(b, loc, mask.previous, batch);
    int64_t w = mask.window;
    Value lo, hi;
    if (mask.constraint == attn::Constraint::monotonic) {
      lo = p;
      hi = arith::AddIOp::create(b, loc, p, c64(w));
    } else {
      lo = arith::SubIOp::create(b, loc, p, c64((w + 1) / 2));
      hi = arith::AddIOp::create(b, loc, p, c64(w / 2));
    }
    Value below = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, t, lo);
    Value above = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, t, hi);
    Value outside = arith::OrIOp::create(b, loc, below, above);
    energy = arith::SelectOp::create(b, loc, outside, cf(kConstraintPadding),
                                     energy);
  }
  if (mask.lengths) {
    Value len = rowInteger(b, loc, mask.lengths, batch);
    Value past = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, t, len);
    energy = arith::SelectOp::create(b, loc, past, negInf, energy);
  }
  if (mask.causal) {
    Value qi = arith::IndexCastOp::create(b, loc, i64, query);
    Value future = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, t, qi);
    energy = arith::SelectOp::create(b, loc, future, negInf, energy);
  }
  return energy;
}

static Value constantRow(OpBuilder &b, Location loc, float v) {
  auto type = RankedTensorType::get({1}, b.getF32Type());
  return arith::ConstantOp::create(b, loc, DenseElementsAttr::get(type, v));
}

bool heed::isLocal(attn::AttentionOp op) {
  return op.getConstraint() == attn::Constraint::local_m ||
         op.getConstraint() == attn::Constraint::local_p;
}

Value heed::weightAroundPosition(OpBuilder &b, Location loc,
                                 attn::AttentionOp op, Value weights,
                                 Value position) {
  if (op.getConstraint() != attn::Constraint::local_p)
    return weights;
  auto type = cast<RankedTensorType>(weights.getType());
  int64_t steps = type.getShape().back();
  SmallVector<float> ids(steps);
  for (int64_t i = 0; i < steps; ++i)
    ids[i] = float(i);
  auto stepsType = RankedTensorType::get({steps}, b.getF32Type());
  Value stepIds = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(stepsType, ArrayRef<float>(ids)));
  // exp(−(t − p)² / (2σ²)) with σ = D / 2: exp((t − p)² · (−2 / D²)).
  double d = double(op.getWindow());
  Value offset =
      attn::BinaryOp::create(b, loc, stepIds, position, attn::BinaryKind::sub);
  Value square =
      attn::BinaryOp::create(b, loc, offset, offset, attn::BinaryKind::mul);
  Value scaled = attn::BinaryOp::create(
      b, loc, square, constantRow(b, loc, float(-2.0 / (d * d))),
      attn::BinaryKind::mul);
  Value gaussian =
      attn::ActivateOp::create(b, loc, scaled, attn::ActivationKind::exp);
  return attn::BinaryOp::create(b, loc, weights, gaussian,
                                attn::BinaryKind::mul);
}

Value heed::normalizeEnergies(OpBuilder &b, Location loc, Value energies,
                              int64_t axis, attn::Normalization normalization) {
  if (normalization == attn::Normalization::none)
    return energies;
  Value unnorm;
  if (normalization == attn::Normalization::softmax) {
    Value max = attn::ReduceOp::create(b, loc, energies, attn::ReduceKind::max,
                                       axis, /*keepdim=*/true);
    max = attn::BinaryOp::create(b, loc, max, constantRow(b, loc, -FLT_MAX),
                                 attn::BinaryKind::max);
    Value shifted = attn::BinaryOp::create(b, loc, energies, max,
                                           attn::BinaryKind::sub);
    unnorm = attn::ActivateOp::create(b, loc, shifted, attn::ActivationKind::exp);
  } else {
    unnorm = attn::ActivateOp::create(b, loc, energies,
                                      attn::ActivationKind::sigmoid);
  }
  Value total = attn::ReduceOp::create(b, loc, unnorm, attn::ReduceKind::sum,
                                       axis, /*keepdim=*/true);
  total = attn::BinaryOp::create(b, loc, total, constantRow(b, loc, FLT_MIN),
                                 attn::BinaryKind::max);
  return attn::BinaryOp::create(b, loc, unnorm, total, attn::BinaryKind::div);
}

std::pair<Value, Value>
heed::hardAttentionStep(OpBuilder &b, Location loc, int64_t steps,
                        function_ref<Value(OpBuilder &, Value)> weightAt) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value lowest =
      arith::ConstantOp::create(b, loc, b.getF32FloatAttr(-INFINITY));
  auto search = scf::ForOp::create(
      b, loc, c(0), c(steps), c(1), ValueRange{lowest, c(0)},
      [&](OpBuilder &b, Location loc, Value t, ValueRange best) {
        Value w = weightAt(b, t);
        Value better = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                             w, best[0]);
        scf::YieldOp::create(
            b, loc,
            ValueRange{arith::SelectOp::create(b, loc, better, w, best[0]),
                       arith::SelectOp::create(b, loc, better, t, best[1])});
      });
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  Value attended = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                         search.getResult(0), zero);
  return {attended, search.getResult(1)};
}
