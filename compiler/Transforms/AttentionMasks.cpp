//===- AttentionMasks.cpp - Masked energies of attn.attention -------------===//
//
// Part of Heed. Seed 002 (Tacotron2's LocationSensitiveAttention):
//
//   monotonic: allowed steps [p, p + w)
//   window:    allowed steps [p - ceil(w/2), p + floor(w/2))
//   energy = where(allowed, energy, -2**32 + 1)
//
// then TensorFlow's memory_sequence_length mask (-inf past the length), then
// (self-attention) the causal mask.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/AttentionMasks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
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

Value heed::maskEnergy(OpBuilder &b, Location loc, attn::AttentionOp op,
                       Value energy, Value batch, Value query, Value step) {
  Type i64 = b.getI64Type();
  auto c64 = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  };
  auto cf = [&](float v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  Value t = arith::IndexCastOp::create(b, loc, i64, step);
  if (op.getConstraint() != attn::Constraint::none) {
    Value p = rowInteger(b, loc, op.getPrevious(), batch);
    int64_t w = op.getWindow();
    Value lo, hi;
    if (op.getConstraint() == attn::Constraint::monotonic) {
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
  Value negInf = cf(-INFINITY);
  if (op.getLengths()) {
    Value len = rowInteger(b, loc, op.getLengths(), batch);
    Value past = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, t, len);
    energy = arith::SelectOp::create(b, loc, past, negInf, energy);
  }
  if (op.getCausal()) {
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

Value heed::normalizeEnergies(OpBuilder &b, Location loc, Value energies,
                              int64_t axis, attn::Normalization normalization) {
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
