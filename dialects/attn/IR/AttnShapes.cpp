//===- AttnShapes.cpp - Result types of the attention ops -----------------===//
//
// Part of Heed. Every `attn` op infers its result type from its operands; the
// generated verifiers compare the written type with the inferred one, and
// builders use the inferred type so no stage restates shapes by hand.
//
//===----------------------------------------------------------------------===//

#include "dialects/attn/IR/AttnOps.h"
#include "dialects/attn/IR/ShapeHelpers.h"

using namespace mlir;
using namespace heed::attn;
using namespace heed::attn::detail;

int64_t heed::attn::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < 0)
    axis += rank;
  return (axis < 0 || axis >= rank) ? -1 : axis;
}

FailureOr<SmallVector<int64_t>>
heed::attn::broadcastShapes(ArrayRef<int64_t> lhs, ArrayRef<int64_t> rhs) {
  size_t rank = std::max(lhs.size(), rhs.size());
  SmallVector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t l = i < rank - lhs.size() ? 1 : lhs[i - (rank - lhs.size())];
    int64_t r = i < rank - rhs.size() ? 1 : rhs[i - (rank - rhs.size())];
    if (l == 1)
      out[i] = r;
    else if (r == 1)
      out[i] = l;
    else if (l == kDyn)
      out[i] = r;
    else if (r == kDyn || l == r)
      out[i] = l;
    else
      return failure();
  }
  return out;
}

LogicalResult DenseOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  ArrayRef<int64_t> in = shapeOf(op.getInput()), w = shapeOf(op.getWeight());
  if (in.empty())
    return emitOptionalError(loc, "attn.dense input must have rank >= 1");
  if (w.size() != 2)
    return emitOptionalError(loc, "attn.dense weight must be [out, in], got ",
                             shapeStr(w));
  if (!compatible(w[1], in.back()))
    return emitOptionalError(loc, "attn.dense weight ", shapeStr(w),
                             " does not take inputs of size ", in.back());
  if (op.getBias()) {
    ArrayRef<int64_t> b = shapeOf(op.getBias());
    if (b.size() != 1 || !compatible(b[0], w[0]))
      return emitOptionalError(loc, "attn.dense bias must be [", w[0],
                               "], got ", shapeStr(b));
  }
  SmallVector<int64_t> out(in);
  out.back() = w[0];
  results.push_back(f32Tensor(ctx, out));
  return success();
}

LogicalResult ActivateOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  results.push_back(operands[0].getType());
  return success();
}

LogicalResult BinaryOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  ArrayRef<int64_t> l = shapeOf(operands[0]), r = shapeOf(operands[1]);
  auto out = broadcastShapes(l, r);
  if (failed(out))
    return emitOptionalError(loc, "attn.binary cannot broadcast ", shapeStr(l),
                             " with ", shapeStr(r));
  results.push_back(f32Tensor(ctx, *out));
  return success();
}

LogicalResult SelectOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  auto values = broadcastShapes(shapeOf(operands[1]), shapeOf(operands[2]));
  FailureOr<SmallVector<int64_t>> out = failure();
  if (succeeded(values))
    out = broadcastShapes(shapeOf(operands[0]), *values);
  if (failed(out))
    return emitOptionalError(loc, "attn.select cannot broadcast ",
                             shapeStr(shapeOf(operands[0])), ", ",
                             shapeStr(shapeOf(operands[1])), " and ",
                             shapeStr(shapeOf(operands[2])));
  results.push_back(f32Tensor(ctx, *out));
  return success();
}

LogicalResult SoftmaxOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  ArrayRef<int64_t> in = shapeOf(op.getInput());
  auto axis = intAttr(op.getProperties().axis, attrs, "axis", loc, "attn.softmax");
  if (failed(axis))
    return failure();
  if (normalizeAxis(*axis, in.size()) < 0)
    return emitOptionalError(loc, "attn.softmax axis ", *axis,
                             " out of range for rank ", in.size());
  results.push_back(op.getInput().getType());
  return success();
}

LogicalResult RepeatOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  SmallVector<int64_t> out(shapeOf(op.getInput()));
  auto rawAxis = intAttr(op.getProperties().axis, attrs, "axis", loc, "attn.repeat");
  auto count = intAttr(op.getProperties().count, attrs, "count", loc, "attn.repeat");
  if (failed(rawAxis) || failed(count))
    return failure();
  int64_t axis = normalizeAxis(*rawAxis, out.size() + 1);
  if (axis < 0)
    return emitOptionalError(loc, "attn.repeat axis ", *rawAxis,
                             " out of range");
  if (*count < 1)
    return emitOptionalError(loc, "attn.repeat count must be >= 1, got ",
                             *count);
  out.insert(out.begin() + axis, *count);
  results.push_back(f32Tensor(ctx, out));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  if (operands.empty())
    return emitOptionalError(loc, "attn.concat needs at least one input");
  SmallVector<int64_t> out(shapeOf(operands[0]));
  auto rawAxis = intAttr(op.getProperties().axis, attrs, "axis", loc, "attn.concat");
  if (failed(rawAxis))
    return failure();
  int64_t axis = normalizeAxis(*rawAxis, out.size());
  if (axis < 0)
    return emitOptionalError(loc, "attn.concat axis ", *rawAxis,
                             " out of range for rank ", out.size());
  for (Value v : operands.drop_front()) {
    ArrayRef<int64_t> s = shapeOf(v);
    if (s.size() != out.size())
      return emitOptionalError(loc, "attn.concat inputs differ in rank");
    for (size_t i = 0; i < s.size(); ++i) {
      if (int64_t(i) == axis) {
        out[i] = (out[i] == kDyn || s[i] == kDyn) ? kDyn : out[i] + s[i];
      } else if (!compatible(out[i], s[i])) {
        return emitOptionalError(loc, "attn.concat inputs ", shapeStr(out),
                                 " and ", shapeStr(s), " differ on axis ", i);
      } else if (out[i] == kDyn) {
        out[i] = s[i];
      }
    }
  }
  results.push_back(f32Tensor(ctx, out));
  return success();
}

LogicalResult PermuteOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  ArrayRef<int64_t> in = shapeOf(op.getInput());
  DenseI64ArrayAttr permAttr = inherent(op.getProperties().perm, attrs, "perm");
  if (!permAttr)
    return emitOptionalError(loc, "attn.permute needs the 'perm' attribute");
  ArrayRef<int64_t> perm = permAttr.asArrayRef();
  if (perm.size() != in.size())
    return emitOptionalError(loc, "attn.permute needs ", in.size(),
                             " axes, got ", perm.size());
  SmallVector<bool> seen(in.size(), false);
  SmallVector<int64_t> out;
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(in.size()) || seen[p])
      return emitOptionalError(loc, "attn.permute perm is not a permutation");
    seen[p] = true;
    out.push_back(in[p]);
  }
  results.push_back(f32Tensor(ctx, out));
  return success();
}

LogicalResult ReduceOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  SmallVector<int64_t> out(shapeOf(op.getInput()));
  auto rawAxis = intAttr(op.getProperties().axis, attrs, "axis", loc, "attn.reduce");
  if (failed(rawAxis))
    return failure();
  int64_t axis = normalizeAxis(*rawAxis, out.size());
  if (axis < 0)
    return emitOptionalError(loc, "attn.reduce axis ", *rawAxis,
                             " out of range for rank ", out.size());
  BoolAttr keep = inherent(op.getProperties().keepdim, attrs, "keepdim");
  if (keep && keep.getValue())
    out[axis] = 1;
  else
    out.erase(out.begin() + axis);
  results.push_back(f32Tensor(ctx, out));
  return success();
}

LogicalResult SqueezeOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  SmallVector<int64_t> out(shapeOf(op.getInput()));
  auto rawAxis = intAttr(op.getProperties().axis, attrs, "axis", loc, "attn.squeeze");
  if (failed(rawAxis))
    return failure();
  int64_t axis = normalizeAxis(*rawAxis, out.size());
  if (axis < 0)
    return emitOptionalError(loc, "attn.squeeze axis ", *rawAxis,
                             " out of range for rank ", out.size());
  if (out[axis] != 1)
    return emitOptionalError(loc, "attn.squeeze axis ", axis,
                             " has size ", out[axis] == kDyn ? "?" :
                             std::to_string(out[axis]), ", not 1");
  out.erase(out.begin() + axis);
  results.push_back(f32Tensor(ctx, out));
  return success();
}

LogicalResult AttentionOp::inferReturnTypes(
    MLIRContext *ctx, std::optional<Location> loc, ValueRange operands,
    DictionaryAttr attrs, OpaqueProperties props, RegionRange regions,
    SmallVectorImpl<Type> &results) {
  Adaptor op(operands, attrs, props, regions);
  if (op.getKeys().empty())
    return emitOptionalError(loc, "attn.attention needs at least one key tensor");
  ArrayRef<int64_t> q = shapeOf(op.getQuery()), k = shapeOf(op.getKeys()[0]),
                    v = shapeOf(op.getValues());
  if ((q.size() != 2 && q.size() != 3) || k.size() != 3 || v.size() != 3)
    return emitOptionalError(loc, "attn.attention takes query [B, Dq] or "
                             "[B, Tq, Dq], keys [B, T, Dk] and values "
                             "[B, T, Dv], got ", shapeStr(q), ", ",
                             shapeStr(k), ", ", shapeStr(v));
  if (!compatible(q[0], k[0]) || !compatible(k[0], v[0]))
    return emitOptionalError(loc, "attn.attention batch sizes differ: ",
                             shapeStr(q), ", ", shapeStr(k), ", ",
                             shapeStr(v));
  if (!compatible(k[1], v[1]))
    return emitOptionalError(loc, "attn.attention keys and values differ in "
                             "length: ", shapeStr(k), " vs ", shapeStr(v));
  for (Value extra : op.getKeys().drop_front()) {
    ArrayRef<int64_t> f = shapeOf(extra);
    if (f.size() != 3 || !compatible(f[0], k[0]) || !compatible(f[1], k[1]))
      return emitOptionalError(loc, "attn.attention key tensors must all be "
                               "[B, T, ·] like ", shapeStr(k), ", got ",
                               shapeStr(f));
  }
  for (Value perRow : {op.getLengths(), op.getPrevious()}) {
    if (!perRow)
      continue;
    ArrayRef<int64_t> l = shapeOf(perRow);
    if (l.size() != 1 || !compatible(l[0], k[0]))
      return emitOptionalError(loc, "attn.attention lengths and previous "
                               "positions must be [B] = [", k[0] == kDyn ? "?"
                               : std::to_string(k[0]), "], got ", shapeStr(l));
  }
  int64_t batch = q[0] != kDyn ? q[0] : k[0] != kDyn ? k[0] : v[0];
  int64_t steps = k[1] != kDyn ? k[1] : v[1];
  if (q.size() == 3) {
    results.push_back(f32Tensor(ctx, {batch, q[1], v[2]}));
    results.push_back(f32Tensor(ctx, {batch, q[1], steps}));
  } else {
    results.push_back(f32Tensor(ctx, {batch, v[2]}));
    results.push_back(f32Tensor(ctx, {batch, steps}));
  }
  return success();
}
