//===- AttnSequenceShapes.cpp - Result types of the sequence ops ----------===//
//
// Part of Heed. Shape inference for the recurrent layers and cells, Conv1D,
// batch normalization, embedding and argmax (see AttnSequenceOps.td). Each
// mismatch names the operand and both shapes.
//
//===----------------------------------------------------------------------===//

#include "dialects/attn/IR/AttnOps.h"
#include "dialects/attn/IR/ShapeHelpers.h"

using namespace mlir;
using namespace heed::attn;
using namespace heed::attn::detail;

namespace {

/// Checks the weights of a whole-sequence recurrent layer and builds its
/// result types: the sequence, then `states` final states `[D, B, H]`.
LogicalResult inferRecurrent(MLIRContext *ctx, std::optional<Location> loc,
                             StringRef name, int64_t gates, Value input,
                             Value lengths, ArrayRef<Value> initial,
                             ValueRange weights, IntegerAttr hiddenAttr,
                             DirectionAttr dirAttr, unsigned states,
                             SmallVectorImpl<Type> &results) {
  if (!hiddenAttr || !dirAttr)
    return emitOptionalError(loc, name, " needs 'hidden_size' and 'direction'");
  int64_t h = hiddenAttr.getInt();
  if (h <= 0)
    return emitOptionalError(loc, name, " hidden_size must be positive");
  Direction dir = dirAttr.getValue();
  int64_t d = dir == Direction::bidirectional_concat ||
                      dir == Direction::bidirectional_sum
                  ? 2 : 1;
  ArrayRef<int64_t> x = shapeOf(input);
  if (x.size() != 3)
    return emitOptionalError(loc, name, " input must be [B, T, I], got ",
                             shapeStr(x));
  if (weights.size() != size_t(4 * d))
    return emitOptionalError(loc, name, " expects ", 4 * d,
                             " weights (weight_ih, weight_hh, bias_ih, bias_hh",
                             d == 2 ? " per direction" : "", "), got ",
                             weights.size());
  const char *names[] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
  for (int64_t dirIndex = 0; dirIndex < d; ++dirIndex) {
    for (int k = 0; k < 4; ++k) {
      SmallVector<int64_t> want = {gates * h};
      if (k == 0)
        want.push_back(x[2]);
      if (k == 1)
        want.push_back(h);
      ArrayRef<int64_t> got = shapeOf(weights[dirIndex * 4 + k]);
      if (!compatibleShapes(got, want))
        return emitOptionalError(loc, name, " ", names[k],
                                 dirIndex ? "_reverse" : "", " must be ",
                                 shapeStr(want), " (", gates, " gates x ",
                                 "hidden ", h, "), got ", shapeStr(got));
    }
  }
  if (lengths) {
    ArrayRef<int64_t> l = shapeOf(lengths);
    if (l.size() != 1 || !compatible(l[0], x[0]))
      return emitOptionalError(loc, name, " lengths must be [", x[0],
                               "] (one per batch row), got ", shapeStr(l));
  }
  SmallVector<int64_t> state = {d, x[0], h};
  for (Value v : initial) {
    if (!v)
      continue;
    ArrayRef<int64_t> s = shapeOf(v);
    if (!compatibleShapes(s, state))
      return emitOptionalError(loc, name, " initial state must be ",
                               shapeStr(state), ", got ", shapeStr(s));
  }
  int64_t outFeatures = dir == Direction::bidirectional_concat ? 2 * h : h;
  results.push_back(f32Tensor(ctx, {x[0], x[1], outFeatures}));
  for (unsigned i = 0; i < states; ++i)
    results.push_back(f32Tensor(ctx, state));
  return success();
}

/// Checks a cell's operands: x [B, I], states [B, H], weights.
LogicalResult checkCell(std::optional<Location> loc, StringRef name,
                        int64_t gates, Value x, ArrayRef<Value> states,
                        Value wih, Value whh, Value bih, Value bhh) {
  ArrayRef<int64_t> xs = shapeOf(x), hs = shapeOf(states[0]);
  if (xs.size() != 2 || hs.size() != 2 || !compatible(xs[0], hs[0]))
    return emitOptionalError(loc, name, " input must be [B, I] and state "
                             "[B, H], got ", shapeStr(xs), " and ",
                             shapeStr(hs));
  for (Value s : states)
    if (shapeOf(s) != hs)
      return emitOptionalError(loc, name, " states must have one shape, got ",
                               shapeStr(hs), " and ", shapeStr(shapeOf(s)));
  int64_t h = hs[1];
  struct Expect { Value v; SmallVector<int64_t> shape; const char *what; };
  Expect expects[] = {{wih, {gates * h, xs[1]}, "weight_ih"},
                      {whh, {gates * h, h}, "weight_hh"},
                      {bih, {gates * h}, "bias_ih"},
                      {bhh, {gates * h}, "bias_hh"}};
  for (auto &e : expects) {
    ArrayRef<int64_t> got = shapeOf(e.v);
    if (!compatibleShapes(got, e.shape))
      return emitOptionalError(loc, name, " ", e.what, " must be ",
                               shapeStr(e.shape), " for input ", shapeStr(xs),
                               " and state ", shapeStr(hs), ", got ",
                               shapeStr(got));
  }
  return success();
}

} // namespace

LogicalResult LstmOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  return inferRecurrent(
      ctx, loc, "attn.lstm", LstmOp::kGates, op.getInput(), op.getLengths(),
      {op.getH0(), op.getC0()}, op.getWeights(),
      inherent(op.getProperties().hidden_size, attrs, "hidden_size"),
      inherent(op.getProperties().direction, attrs, "direction"), 2, results);
}

LogicalResult GruOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  return inferRecurrent(
      ctx, loc, "attn.gru", GruOp::kGates, op.getInput(), op.getLengths(),
      {op.getH0()}, op.getWeights(),
      inherent(op.getProperties().hidden_size, attrs, "hidden_size"),
      inherent(op.getProperties().direction, attrs, "direction"), 1, results);
}

LogicalResult LstmCellOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  if (failed(checkCell(loc, "attn.lstm_cell", LstmOp::kGates, op.getInput(),
                       {op.getH(), op.getC()}, op.getWeightIh(),
                       op.getWeightHh(), op.getBiasIh(), op.getBiasHh())))
    return failure();
  results.push_back(op.getH().getType());
  results.push_back(op.getH().getType());
  return success();
}

LogicalResult GruCellOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  if (failed(checkCell(loc, "attn.gru_cell", GruOp::kGates, op.getInput(), {op.getH()},
                       op.getWeightIh(), op.getWeightHh(), op.getBiasIh(),
                       op.getBiasHh())))
    return failure();
  results.push_back(op.getH().getType());
  return success();
}

LogicalResult Conv1DOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  ArrayRef<int64_t> x = shapeOf(op.getInput()), w = shapeOf(op.getWeight());
  auto stride = intAttr(op.getProperties().stride, attrs, "stride", loc, "attn.conv1d");
  auto padL = intAttr(op.getProperties().pad_left, attrs, "pad_left", loc, "attn.conv1d");
  auto padR = intAttr(op.getProperties().pad_right, attrs, "pad_right", loc, "attn.conv1d");
  if (failed(stride) || failed(padL) || failed(padR))
    return failure();
  if (x.size() != 3 || w.size() != 3)
    return emitOptionalError(loc, "attn.conv1d input must be [B, T, C] and "
                             "weight [O, C, K], got ", shapeStr(x), " and ",
                             shapeStr(w));
  if (!compatible(w[1], x[2]))
    return emitOptionalError(loc, "attn.conv1d weight ", shapeStr(w),
                             " does not take ", x[2], " input channels");
  if (*stride < 1 || *padL < 0 || *padR < 0)
    return emitOptionalError(loc, "attn.conv1d needs stride >= 1 and "
                             "non-negative padding");
  if (op.getBias()) {
    ArrayRef<int64_t> b = shapeOf(op.getBias());
    if (b.size() != 1 || !compatible(b[0], w[0]))
      return emitOptionalError(loc, "attn.conv1d bias must be [", w[0],
                               "], got ", shapeStr(b));
  }
  int64_t t = kDyn;
  if (x[1] != kDyn && w[2] != kDyn) {
    int64_t padded = x[1] + *padL + *padR;
    if (padded < w[2])
      return emitOptionalError(loc, "attn.conv1d kernel of width ", w[2],
                               " is wider than the padded input (", padded,
                               " steps)");
    t = (padded - w[2]) / *stride + 1;
  }
  results.push_back(f32Tensor(ctx, {x[0], t, w[0]}));
  return success();
}

LogicalResult BatchNormOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  ArrayRef<int64_t> x = shapeOf(op.getInput());
  if (x.empty())
    return emitOptionalError(loc, "attn.batch_norm input must have rank >= 1");
  for (Value p : {op.getWeight(), op.getBias(), op.getRunningMean(),
                  op.getRunningVar()}) {
    ArrayRef<int64_t> s = shapeOf(p);
    if (s.size() != 1 || !compatible(s[0], x.back()))
      return emitOptionalError(loc, "attn.batch_norm parameters must be [",
                               x.back(), "], got ", shapeStr(s));
  }
  results.push_back(op.getInput().getType());
  return success();
}

LogicalResult EmbeddingOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  ArrayRef<int64_t> table = shapeOf(op.getTable());
  if (table.size() != 2)
    return emitOptionalError(loc, "attn.embedding table must be [V, E], got ",
                             shapeStr(table));
  SmallVector<int64_t> out(shapeOf(op.getIds()));
  out.push_back(table[1]);
  results.push_back(f32Tensor(ctx, out));
  return success();
}

LogicalResult
GatherRowsOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                               ValueRange operands, DictionaryAttr attrs,
                               OpaqueProperties props, RegionRange regions,
                               SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  ArrayRef<int64_t> input = shapeOf(op.getInput()),
                    rows = shapeOf(op.getRows());
  if (input.empty())
    return emitOptionalError(loc, "attn.gather_rows input must have rank >= 1");
  if (rows.size() != 1)
    return emitOptionalError(loc, "attn.gather_rows rows must be [C], got ",
                             shapeStr(rows));
  SmallVector<int64_t> out(input);
  out[0] = rows[0];
  results.push_back(f32Tensor(ctx, out));
  return success();
}

LogicalResult
TopKOp::inferReturnTypes(MLIRContext *ctx, std::optional<Location> loc,
                         ValueRange operands, DictionaryAttr attrs,
                         OpaqueProperties props, RegionRange regions,
                         SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  SmallVector<int64_t> out(shapeOf(op.getInput()));
  if (out.empty())
    return emitOptionalError(loc, "attn.topk input must have rank >= 1");
  int64_t k = op.getK();
  if (!ShapedType::isDynamic(out.back()) && k > out.back())
    return emitOptionalError(loc, "attn.topk takes k = ", k,
                             " of a last axis of ", out.back());
  out.back() = k;
  results.push_back(f32Tensor(ctx, out));
  results.push_back(f32Tensor(ctx, out));
  return success();
}

LogicalResult ArgmaxOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  SmallVector<int64_t> out(shapeOf(operands[0]));
  if (out.empty())
    return emitOptionalError(loc, "attn.argmax input must have rank >= 1");
  out.pop_back();
  results.push_back(f32Tensor(ctx, out));
  return success();
}
