//===- MLIRGenShapes.cpp - Built-ins that build or reshape tensors --------===//
//
// Part of Heed. reshape (a collapse to one axis and an expansion: both are
// views after bufferization), stack (unit axes and one concatenation),
// arange (a constant) and sequence_mask (a comparison with one).
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/MLIRGenImpl.h"

using namespace mlir;
using namespace heed;
using namespace heed::dsl;
using namespace heed::dsl::gen;

/// `t` with a size-1 axis inserted before `axis` (0 ≤ axis ≤ rank).
Value heed::dsl::gen::insertUnitAxis(OpBuilder &b, Location l, Value t,
                                     int64_t axis) {
  auto type = cast<RankedTensorType>(t.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.insert(shape.begin() + axis, 1);
  SmallVector<ReassociationIndices> groups;
  for (int64_t i = 0, rank = type.getRank(); i < rank; ++i)
    groups.push_back({i + (i >= axis ? 1 : 0)});
  // The new axis joins its neighbour's group.
  if (axis < type.getRank())
    groups[axis].insert(groups[axis].begin(), axis);
  else
    groups.back().push_back(axis);
  return tensor::ExpandShapeOp::create(
      b, l, RankedTensorType::get(shape, type.getElementType()), t, groups);
}

Value heed::dsl::gen::moveAxis(OpBuilder &b, Location l, Value x, int64_t from,
                               int64_t to) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  if (from == to)
    return x;
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank; ++i)
    if (i != from)
      perm.push_back(i);
  perm.insert(perm.begin() + to, from);
  return attn::PermuteOp::create(b, l, x, perm);
}

/// The constant 0, 1, ..., n − 1 as f32 [n].
static Value arangeConstant(OpBuilder &b, Location l, int64_t n) {
  SmallVector<float> values(n);
  for (int64_t i = 0; i < n; ++i)
    values[i] = float(i);
  auto type = RankedTensorType::get({n}, b.getF32Type());
  return arith::ConstantOp::create(
      b, l, DenseElementsAttr::get(type, ArrayRef<float>(values)));
}

Value Generator::genShapeBuiltin(const Expr &e, ArrayRef<Value> args) {
  Location l = loc(e.loc);
  RankedTensorType type = tensorType(e.type);
  if (!type.hasStaticShape()) {
    emitError(l, "'" + e.name + "' needs bound dimensions");
    return nullptr;
  }
  switch (e.builtin) {
  case Builtin::Reshape: {
    Value x = args[0];
    auto in = cast<RankedTensorType>(x.getType());
    if (in.getShape() == type.getShape())
      return x;
    auto all = [](int64_t rank) {
      ReassociationIndices group;
      for (int64_t i = 0; i < rank; ++i)
        group.push_back(i);
      return SmallVector<ReassociationIndices>{group};
    };
    if (in.getRank() > 1)
      x = tensor::CollapseShapeOp::create(builder, l, x, all(in.getRank()));
    if (type.getRank() > 1)
      x = tensor::ExpandShapeOp::create(builder, l, type, x,
                                        all(type.getRank()));
    return x;
  }
  case Builtin::Stack: {
    SmallVector<Value> parts;
    for (Value v : args)
      parts.push_back(insertUnitAxis(builder, l, v, e.axis));
    if (parts.size() == 1)
      return parts[0];
    return attn::ConcatOp::create(builder, l, parts, e.axis);
  }
  case Builtin::Arange:
    return arangeConstant(builder, l, type.getDimSize(0));
  case Builtin::SequenceMask: {
    // steps [1, T] < lengths [B, 1]: 1.0 or 0.0.
    Value steps = insertUnitAxis(
        builder, l, arangeConstant(builder, l, type.getDimSize(1)), 0);
    Value lengths = insertUnitAxis(builder, l, args[0], 1);
    return attn::BinaryOp::create(builder, l, steps, lengths,
                                  attn::BinaryKind::lt);
  }
  case Builtin::Take: {
    // One-hot over the steps, a select (not a product: a NaN or inf at a
    // step not taken stays out) and a sum over the steps.
    // Along another axis than 1, that axis moves to 1 and back.
    Value x = args[0], idx = args[1];
    int64_t axis = e.axis;
    x = moveAxis(builder, l, x, axis, 1);
    auto xType = cast<RankedTensorType>(x.getType());
    int64_t steps = xType.getDimSize(1), rank = xType.getRank();
    int64_t idxRank = cast<RankedTensorType>(idx.getType()).getRank();
    Value stepIds = arangeConstant(builder, l, steps); // [T]
    // [B] -> [B, 1], [B, K] -> [B, K, 1]; compared with [T]: [B, (K,) T].
    Value hot = attn::BinaryOp::create(builder, l,
                                       insertUnitAxis(builder, l, idx, idxRank),
                                       stepIds, attn::BinaryKind::eq);
    // Trailing unit axes for x's feature axes; x gains the K axis.
    for (int64_t i = 2; i < rank; ++i)
      hot = insertUnitAxis(builder, l, hot, idxRank + i - 1);
    if (idxRank == 2)
      x = insertUnitAxis(builder, l, x, 1);
    Value zero = arith::ConstantOp::create(
        builder, l,
        DenseElementsAttr::get(RankedTensorType::get({1}, builder.getF32Type()),
                               0.0f));
    Value picked = attn::SelectOp::create(builder, l, hot, x, zero);
    Value taken = attn::ReduceOp::create(builder, l, picked,
                                         attn::ReduceKind::sum, idxRank,
                                         /*keepdim=*/false);
    // [B, K, ...]: the K axis goes where the axis was.
    return idxRank == 2 ? moveAxis(builder, l, taken, 1, axis) : taken;
  }
  default:
    emitError(l, "internal: not a shape built-in");
    return nullptr;
  }
}
