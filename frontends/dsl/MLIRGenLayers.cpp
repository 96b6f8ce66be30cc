//===- MLIRGenLayers.cpp - Layer calls ------------------------------------===//
//
// Part of Heed. One attn op (or a short chain) per layer call, on the layer's
// weights, which are function arguments shared by every call.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/MLIRGenImpl.h"

#include <cmath>

using namespace mlir;
using namespace heed;
using namespace heed::dsl;
using namespace heed::dsl::gen;

Value Generator::weightRows(Location l, Value weight, int64_t offset,
                            int64_t n) {
  auto type = cast<RankedTensorType>(weight.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[0] = n;
  SmallVector<OpFoldResult> offsets(type.getRank(), builder.getIndexAttr(0)),
      sizes, strides(type.getRank(), builder.getIndexAttr(1));
  offsets[0] = builder.getIndexAttr(offset);
  for (int64_t d : shape)
    sizes.push_back(builder.getIndexAttr(d));
  return tensor::ExtractSliceOp::create(
      builder, l, RankedTensorType::get(shape, type.getElementType()), weight,
      offsets, sizes, strides);
}

SmallVector<Value> Generator::genLayerCall(const Expr &e,
                                           ArrayRef<Value> args) {
  Location l = loc(e.loc);
  const Layer &layer = *e.layer;
  SmallVector<Value> &w = layerWeights[layer.name];
  auto biasOrNull = [&](size_t i) { return i < w.size() ? w[i] : Value(); };
  switch (layer.kind) {
  case Builtin::LstmCell: {
    auto cell = attn::LstmCellOp::create(builder, l, args[0], args[1], args[2],
                                         w[0], w[1], w[2], w[3]);
    return {cell.getHNext(), cell.getCNext()};
  }
  case Builtin::GruCell:
    return {attn::GruCellOp::create(builder, l, args[0], args[1], w[0], w[1],
                                    w[2], w[3])
                .getResult()};
  case Builtin::Lstm:
  case Builtin::Gru:
  case Builtin::Bidirectional: {
    bool lstm = layer.cell == Builtin::Lstm;
    attn::Direction dir =
        layer.directions == 2
            ? (layer.merge == "sum" ? attn::Direction::bidirectional_sum
                                    : attn::Direction::bidirectional_concat)
            : (layer.goBackwards ? attn::Direction::reverse
                                 : attn::Direction::forward);
    // One unidirectional layer's states are [B, H] in the language,
    // [1, B, H] in the op; stacked layers' are [layers · directions, B, H].
    bool stacked = layer.numLayers > 1;
    auto toOpState = [&](Value v) -> Value {
      if (!v || layer.directions == 2 || stacked)
        return v;
      auto t = cast<RankedTensorType>(v.getType());
      auto type = RankedTensorType::get({1, t.getDimSize(0), t.getDimSize(1)},
                                        t.getElementType());
      return tensor::ExpandShapeOp::create(
          builder, l, type, v, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    };
    auto fromOpState = [&](Value v) -> Value {
      if (layer.directions == 2 || stacked)
        return v;
      return attn::SqueezeOp::create(builder, l, v, 0);
    };
    // Per-row lengths (packed sequences) go to every stacked layer.
    Value lengths;
    if (const Expr *len = e.kwarg("lengths"))
      if (!(lengths = gen(*len)))
        return {};
    Value h0 = toOpState(args.size() > 1 ? args[1] : Value());
    Value c0 = toOpState(args.size() > 2 ? args[2] : Value());
    auto hidden = builder.getI64IntegerAttr(layer.units);
    auto dirAttr = attn::DirectionAttr::get(&ctx, dir);
    // Layer k reads layer k − 1's sequence, with its own 4 weights per
    // direction and rows [k·D, (k+1)·D) of the stacked initial states.
    int64_t perLayer = 4 * layer.directions;
    SmallVector<Value> hs, cs;
    Value seq = args[0];
    for (int64_t k = 0; k < layer.numLayers; ++k) {
      ValueRange wk = ValueRange(w).slice(k * perLayer, perLayer);
      auto rows = [&](Value v) {
        return stacked && v
                   ? weightRows(l, v, k * layer.directions, layer.directions)
                   : v;
      };
      if (lstm) {
        auto op = attn::LstmOp::create(builder, l, seq, lengths, rows(h0),
                                       rows(c0), wk, hidden, dirAttr);
        seq = op.getOutput();
        hs.push_back(op.getHN());
        cs.push_back(op.getCN());
      } else {
        auto op =
            attn::GruOp::create(builder, l, seq, lengths, rows(h0), wk, hidden,
                                dirAttr, builder.getBoolAttr(true));
        seq = op.getOutput();
        hs.push_back(op.getHN());
      }
    }
    auto allLayers = [&](ArrayRef<Value> perLayerStates) -> Value {
      if (perLayerStates.size() == 1)
        return perLayerStates[0];
      return attn::ConcatOp::create(builder, l, perLayerStates, 0);
    };
    SmallVector<Value> states = {allLayers(hs)};
    if (lstm)
      states.push_back(allLayers(cs));
    Value out = seq;
    if (!layer.returnSequences) {
      // The last output is the final hidden state (summed over directions
      // for merge=sum; Sema rejects merge=concat here).
      Value hN = hs.back();
      out = layer.directions == 2
                ? Value(attn::ReduceOp::create(builder, l, hN,
                                               attn::ReduceKind::sum, 0, false))
                : Value(attn::SqueezeOp::create(builder, l, hN, 0));
    }
    SmallVector<Value> results = {out};
    if (layer.returnState)
      for (Value st : states)
        results.push_back(fromOpState(st));
    return results;
  }
  case Builtin::Conv1D: {
    int64_t t = cast<RankedTensorType>(args[0].getType()).getDimSize(1);
    int64_t k = layer.kernelSize, st = layer.stride, padL = 0, padR = 0;
    if (layer.padding == "same") {
      // TensorFlow's rule: output ceil(T / stride), extra padding on the right.
      int64_t out = (t + st - 1) / st;
      int64_t total = std::max<int64_t>((out - 1) * st + k - t, 0);
      padL = total / 2;
      padR = total - padL;
    }
    return {attn::Conv1DOp::create(builder, l, args[0], w[0], biasOrNull(1), st,
                                   padL, padR)
                .getResult()};
  }
  case Builtin::BatchNorm:
    return {attn::BatchNormOp::create(builder, l, args[0], w[0], w[1], w[2],
                                      w[3],
                                      builder.getF32FloatAttr(layer.epsilon))
                .getResult()};
  case Builtin::Embedding:
    return {attn::EmbeddingOp::create(builder, l, args[0], w[0]).getResult()};
  case Builtin::LayerNorm:
    return {genLayerNorm(l, args[0], layer.epsilon, w.empty() ? Value() : w[0],
                         w.empty() ? Value() : w[1])};
  case Builtin::TransformerEncoderLayer: {
    Value y = genTransformerEncoderLayer(e, args[0]);
    if (!y)
      return {};
    return {y};
  }
  case Builtin::MultiHeadAttention: {
    Value y = genMultiHead(e, args);
    if (!y)
      return {};
    return {y};
  }
  case Builtin::Glu: {
    // proj(x) ⊙ σ(gate(x)) with the first/last `units` rows of one weight.
    int64_t u = layer.units;
    Value bias = biasOrNull(1);
    Value proj = attn::DenseOp::create(
        builder, l, args[0], weightRows(l, w[0], 0, u),
        bias ? weightRows(l, bias, 0, u) : Value(), attn::ActivationKind::none);
    Value gate =
        attn::DenseOp::create(builder, l, args[0], weightRows(l, w[0], u, u),
                              bias ? weightRows(l, bias, u, u) : Value(),
                              attn::ActivationKind::sigmoid);
    return {
        attn::BinaryOp::create(builder, l, proj, gate, attn::BinaryKind::mul)
            .getResult()};
  }
  default:
    return {attn::DenseOp::create(builder, l, args[0], w[0], biasOrNull(1),
                                  activationKind(layer.activation))
                .getResult()};
  }
}

Value Generator::genLayerNorm(Location l, Value x, double epsilon, Value weight,
                              Value bias) {
  // nn.LayerNorm over the last axis: (x − mean) / √(var + eps) · γ + β, with
  // the biased variance, as PyTorch computes it.
  int64_t last = cast<RankedTensorType>(x.getType()).getRank() - 1;
  auto binary = [&](Value a, Value b, attn::BinaryKind kind) -> Value {
    return attn::BinaryOp::create(builder, l, a, b, kind);
  };
  auto mean = [&](Value v) -> Value {
    return attn::ReduceOp::create(builder, l, v, attn::ReduceKind::mean, last,
                                  /*keepdim=*/true);
  };
  Value centered = binary(x, mean(x), attn::BinaryKind::sub);
  Value variance = mean(binary(centered, centered, attn::BinaryKind::mul));
  Value eps = arith::ConstantOp::create(
      builder, l,
      DenseElementsAttr::get(RankedTensorType::get({1}, builder.getF32Type()),
                             float(epsilon)));
  Value scale = activate(l, binary(variance, eps, attn::BinaryKind::add),
                         attn::ActivationKind::rsqrt);
  Value y = binary(centered, scale, attn::BinaryKind::mul);
  if (weight)
    y = binary(y, weight, attn::BinaryKind::mul);
  if (bias)
    y = binary(y, bias, attn::BinaryKind::add);
  return y;
}
