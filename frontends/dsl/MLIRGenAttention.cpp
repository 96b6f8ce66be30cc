//===- MLIRGenAttention.cpp - attention(...) and multi-head attention -----===//
//
// Part of Heed. One attn.attention per call, its score region built from the
// score function on the region's row arguments.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/MLIRGenImpl.h"

#include "mlir/IR/IRMapping.h"

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
  // Local attention's position goes where the op reads positions.
  if (call.position && !(previous = gen(*call.position)))
    return {};
  if (call.positionIsStep) {
    // The loop variable as a [B] tensor: p_t = t for every row.
    Value step = loopStep(call.positionExpr->name);
    if (!step) {
      emitError(l, "internal: position= names no enclosing loop variable");
      return {};
    }
    int64_t rows = cast<RankedTensorType>(query.getType()).getDimSize(0);
    Value asInt =
        arith::IndexCastOp::create(builder, l, builder.getI64Type(), step);
    Value asFloat =
        arith::SIToFPOp::create(builder, l, builder.getF32Type(), asInt);
    previous = tensor::FromElementsOp::create(
        builder, l, RankedTensorType::get({rows}, builder.getF32Type()),
        SmallVector<Value>(rows, asFloat));
  }
  // [B, H, T, D] operands: heads folded into the batch, [B·H, T, D], and
  // unfolded from the results; every head of a row has the row's length.
  int64_t batch = 0, heads = 0;
  if (call.heads) {
    auto qType = cast<RankedTensorType>(query.getType());
    batch = qType.getDimSize(0);
    heads = qType.getDimSize(1);
    auto fold = [&](Value v) -> Value {
      return tensor::CollapseShapeOp::create(
          builder, l, v, SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
    };
    query = fold(query);
    memoryValues = fold(memoryValues);
    keys[0] = fold(keys[0]);
    if (lengths) {
      Value perHead = attn::RepeatOp::create(builder, l, lengths, 1, heads);
      lengths = tensor::CollapseShapeOp::create(
          builder, l, perHead, SmallVector<ReassociationIndices>{{0, 1}});
    }
  }
  auto unfold = [&](Value v) -> Value {
    if (!call.heads)
      return v;
    auto t = cast<RankedTensorType>(v.getType());
    auto type = RankedTensorType::get(
        {batch, heads, t.getDimSize(1), t.getDimSize(2)}, t.getElementType());
    return tensor::ExpandShapeOp::create(
        builder, l, type, v,
        SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
  };
  auto normalization = call.normalization == "smoothing"
                           ? attn::Normalization::smoothing
                           : attn::Normalization::softmax;
  auto constraint = attn::symbolizeConstraint(call.constraint)
                        .value_or(attn::Constraint::none);
  auto op = attn::AttentionOp::create(
      builder, l, query, keys, memoryValues, lengths, previous, normalization,
      call.causal, constraint, call.window, call.hard);
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
    SmallVector<Value> results = {unfold(op.getContextVector()),
                                  unfold(op.getWeights())};
    if (call.energies)
      results.push_back(unfold(energiesOf(op)));
    return results;
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
  builder.setInsertionPointAfter(op);
  SmallVector<Value> results = {unfold(op.getContextVector()),
                                unfold(op.getWeights())};
  if (call.energies)
    results.push_back(unfold(energiesOf(op)));
  return results;
}

Value Generator::energiesOf(attn::AttentionOp op) {
  // The same score over the same rows, with no masks and no normalization:
  // its weights are the energies. Its context is unused and erased.
  Location l = op.getLoc();
  auto raw = attn::AttentionOp::create(
      builder, l, op.getQuery(), op.getKeys(), op.getValues(),
      /*lengths=*/Value(), /*previous=*/Value(), attn::Normalization::none);
  IRMapping map;
  op.getScore().cloneInto(&raw.getScore(), map);
  return raw.getWeights();
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

Generator::MultiHeadWeights Generator::multiHeadWeights(const Layer &layer,
                                                        ArrayRef<Value> w) {
  // The order of appendMultiHeadWeights (SemaLayers.cpp).
  MultiHeadWeights mw;
  size_t i = 0;
  int64_t d = layer.units;
  Location l = builder.getUnknownLoc();
  if (layer.separateProjections()) {
    for (int p = 0; p < 3; ++p)
      mw.projection[p] = w[i++];
  } else {
    Value stacked = w[i++];
    for (int p = 0; p < 3; ++p)
      mw.projection[p] = weightRows(l, stacked, p * d, d);
  }
  if (layer.useBias) {
    Value stacked = w[i++];
    for (int p = 0; p < 3; ++p)
      mw.bias[p] = weightRows(l, stacked, p * d, d);
  }
  mw.outWeight = w[i++];
  if (layer.useBias)
    mw.outBias = w[i++];
  mw.used = i;
  return mw;
}

Value Generator::genMultiHead(const Expr &e, ArrayRef<Value> args) {
  const Layer &layer = *e.layer;
  Value q = args[0], k = args.size() > 1 ? args[1] : args[0],
        v = args.size() > 2 ? args[2] : k;
  Value lengths;
  if (const Expr *len = e.kwarg("lengths"))
    if (!(lengths = gen(*len)))
      return nullptr;
  return genMultiHeadAttention(
      loc(e.loc), layer, q, k, v, lengths,
      multiHeadWeights(layer, layerWeights[layer.name]));
}

Value Generator::genMultiHeadAttention(Location l, const Layer &layer, Value q,
                                       Value k, Value v, Value lengthsIn,
                                       const MultiHeadWeights &w) {
  int64_t d = layer.units, heads = layer.heads, dk = d / heads;
  auto project = [&](Value x, int p) -> Value {
    return attn::DenseOp::create(builder, l, x, w.projection[p], w.bias[p],
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
    emitError(l, "multi-head attention needs bound dimensions");
    return nullptr;
  }
  Value lengths;
  if (lengthsIn) {
    // [B] -> [B, H] -> [B·H]: every head of a row has the row's length.
    Value r = attn::RepeatOp::create(builder, l, lengthsIn, 1, heads);
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
  return attn::DenseOp::create(builder, l, merged, w.outWeight, w.outBias,
                               attn::ActivationKind::none);
}

Value Generator::genTransformerEncoderLayer(const Expr &e, Value x) {
  // nn.TransformerEncoderLayer (batch_first, inference: dropout is the
  // identity). Post-norm: x = norm1(x + sa(x)); x = norm2(x + ff(x)).
  // norm_first: x = x + sa(norm1(x)); x = x + ff(norm2(x)).
  // ff(x) = linear2(activation(linear1(x))).
  Location l = loc(e.loc);
  const Layer &layer = *e.layer;
  ArrayRef<Value> w = layerWeights[layer.name];
  MultiHeadWeights attention = multiHeadWeights(layer, w);
  w = w.drop_front(attention.used);
  bool bias = layer.useBias;
  size_t perLinear = bias ? 2 : 1;
  ArrayRef<Value> linear1 = w.take_front(perLinear),
                  linear2 = w.drop_front(perLinear).take_front(perLinear),
                  norms = w.drop_front(2 * perLinear);
  ArrayRef<Value> norm1 = norms.take_front(perLinear),
                  norm2 = norms.drop_front(perLinear);
  Value lengths;
  if (const Expr *len = e.kwarg("lengths"))
    if (!(lengths = gen(*len)))
      return nullptr;
  auto add = [&](Value a, Value b) -> Value {
    return attn::BinaryOp::create(builder, l, a, b, attn::BinaryKind::add);
  };
  auto selfAttention = [&](Value h) {
    return genMultiHeadAttention(l, layer, h, h, h, lengths, attention);
  };
  auto feedForward = [&](Value h) -> Value {
    attn::ActivationKind act = layer.activation == "gelu"
                                   ? attn::ActivationKind::gelu
                                   : attn::ActivationKind::relu;
    Value hidden = attn::DenseOp::create(builder, l, h, linear1[0],
                                         bias ? linear1[1] : Value(), act);
    return attn::DenseOp::create(builder, l, hidden, linear2[0],
                                 bias ? linear2[1] : Value(),
                                 attn::ActivationKind::none);
  };
  auto norm = [&](Value h, ArrayRef<Value> weights) {
    return genLayerNorm(l, h, layer.epsilon, weights[0],
                        bias ? weights[1] : Value());
  };
  if (layer.normFirst) {
    Value sa = selfAttention(norm(x, norm1));
    if (!sa)
      return nullptr;
    x = add(x, sa);
    return add(x, feedForward(norm(x, norm2)));
  }
  Value sa = selfAttention(x);
  if (!sa)
    return nullptr;
  x = norm(add(x, sa), norm1);
  return norm(add(x, feedForward(x)), norm2);
}
