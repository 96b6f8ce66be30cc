//===- MLIRGenAttention.cpp - attention(...) and multi-head attention -----===//
//
// Part of Heed. One attn.attention per call, its score region built from the
// score function on the region's row arguments.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/MLIRGenImpl.h"

#include <cmath>

using namespace mlir;
using namespace heed;
using namespace heed::dsl;
using namespace heed::dsl::gen;

SmallVector<Value> Generator::genAttention(const Expr &e) {
  const Expr::AttentionCall &call = *e.attention;
  Location l = loc(e.loc);
  auto genOpt = [&](const Expr *x) { return x ? gen(*x) : Value(); };
  Value query = gen(*call.query), memoryValues = gen(*call.values);
  SmallVector<Value> keys{gen(*call.keys)};
  for (const Expr *f : call.features)
    keys.push_back(gen(*f));
  Value lengths = genOpt(call.lengths), previous = genOpt(call.previous);
  if (!query || !memoryValues || llvm::is_contained(keys, Value()) ||
      (call.lengths && !lengths) || (call.previous && !previous))
    return {};
  auto normalization = call.normalization == "smoothing"
                           ? attn::Normalization::smoothing
                           : attn::Normalization::softmax;
  auto constraint = attn::symbolizeConstraint(call.constraint)
                        .value_or(attn::Constraint::none);
  auto op = attn::AttentionOp::create(builder, l, query, keys, memoryValues,
                                      lengths, previous, normalization,
                                      call.causal, constraint, call.window);
  Block *body = new Block();
  op.getScore().push_back(body);
  auto rowType = [](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return RankedTensorType::get({t.getShape().back()}, t.getElementType());
  };
  SmallVector<Value> rows{body->addArgument(rowType(query), l)};
  for (Value k : keys)
    rows.push_back(body->addArgument(rowType(k), l));

  if (!call.score) {
    // dot: Σ q·k; scaled_dot: Σ q·k / √d_k.
    int64_t dk = cast<RankedTensorType>(rows[1].getType()).getDimSize(0);
    buildDotScore(op,
                  call.scoreName == "scaled_dot" ? 1.0 / std::sqrt(dk) : 1.0);
    return {op.getContextVector(), op.getWeights()};
  }
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(body);
  Value energy;
  {
    // The score's parameters name the rows while its body is generated.
    llvm::StringMap<Value> saved = values;
    for (auto [name, row] : llvm::zip(call.score->params, rows))
      values[name] = row;
    energy = gen(*call.score->body);
    values = std::move(saved);
    if (!energy)
      return {};
  }
  attn::YieldOp::create(builder, l, energy);
  return {op.getContextVector(), op.getWeights()};
}

void Generator::buildDotScore(attn::AttentionOp op, float scale) {
  Location l = op.getLoc();
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&op.getScore().front());
  Value product = attn::BinaryOp::create(builder, l, op.getQueryRow(),
                                         op.getKeyRow(), attn::BinaryKind::mul);
  Value energy = attn::ReduceOp::create(builder, l, product,
                                        attn::ReduceKind::sum, 0, true);
  if (scale != 1.0f) {
    auto one = RankedTensorType::get({1}, builder.getF32Type());
    Value c = arith::ConstantOp::create(builder, l,
                                        DenseElementsAttr::get(one, scale));
    energy =
        attn::BinaryOp::create(builder, l, energy, c, attn::BinaryKind::mul);
  }
  attn::YieldOp::create(builder, l, energy);
}

Value Generator::genMultiHead(const Expr &e, ArrayRef<Value> args) {
  Location l = loc(e.loc);
  const Layer &layer = *e.layer;
  // in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias.
  ArrayRef<Value> in = ArrayRef(layerWeights[layer.name]).take_front(2);
  ArrayRef<Value> out = ArrayRef(layerWeights[layer.name]).drop_front(2);
  int64_t d = layer.units, heads = layer.heads, dk = d / heads;
  Value q = args[0], k = args.size() > 1 ? args[1] : args[0],
        v = args.size() > 2 ? args[2] : k;
  auto project = [&](Value x, int64_t i) -> Value {
    return attn::DenseOp::create(builder, l, x, weightRows(l, in[0], i * d, d),
                                 weightRows(l, in[1], i * d, d),
                                 attn::ActivationKind::none);
  };
  Type f32 = builder.getF32Type();
  // [B, T, H·dk] -> [B·H, T, dk]
  auto split = [&](Value x) -> Value {
    auto t = cast<RankedTensorType>(x.getType());
    int64_t b = t.getDimSize(0), n = t.getDimSize(1);
    Value e4 = tensor::ExpandShapeOp::create(
        builder, l, RankedTensorType::get({b, n, heads, dk}, f32), x,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    Value p =
        attn::PermuteOp::create(builder, l, e4, ArrayRef<int64_t>{0, 2, 1, 3});
    return tensor::CollapseShapeOp::create(
        builder, l, RankedTensorType::get({b * heads, n, dk}, f32), p,
        SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
  };
  auto qType = cast<RankedTensorType>(q.getType());
  if (!qType.hasStaticShape() ||
      !cast<RankedTensorType>(k.getType()).hasStaticShape()) {
    emitError(l, "multi_head_attention needs bound dimensions");
    return nullptr;
  }
  Value lengths;
  if (const Expr *len = e.kwarg("lengths")) {
    // [B] -> [B, H] -> [B·H]: every head of a row has the row's length.
    Value x = gen(*len);
    if (!x)
      return nullptr;
    Value r = attn::RepeatOp::create(builder, l, x, 1, heads);
    lengths = tensor::CollapseShapeOp::create(
        builder, l, RankedTensorType::get({qType.getDimSize(0) * heads}, f32),
        r, SmallVector<ReassociationIndices>{{0, 1}});
  }
  auto op = attn::AttentionOp::create(
      builder, l, split(project(q, 0)), ValueRange{split(project(k, 1))},
      split(project(v, 2)), lengths, /*previous=*/Value(),
      attn::Normalization::softmax, layer.causal);
  Block *body = new Block();
  op.getScore().push_back(body);
  auto row = RankedTensorType::get({dk}, f32);
  body->addArgument(row, l);
  body->addArgument(row, l);
  buildDotScore(op, float(1.0 / std::sqrt(double(dk))));
  // [B·H, Tq, dk] -> [B, Tq, H·dk]
  int64_t b = qType.getDimSize(0), tq = qType.getDimSize(1);
  Value e4 = tensor::ExpandShapeOp::create(
      builder, l, RankedTensorType::get({b, heads, tq, dk}, f32),
      op.getContextVector(),
      SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
  Value p =
      attn::PermuteOp::create(builder, l, e4, ArrayRef<int64_t>{0, 2, 1, 3});
  Value merged = tensor::CollapseShapeOp::create(
      builder, l, RankedTensorType::get({b, tq, d}, f32), p,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  return attn::DenseOp::create(builder, l, merged, out[0], out[1],
                               attn::ActivationKind::none);
}
