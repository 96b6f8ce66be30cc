//===- MLIRGenScans.cpp - Built-ins that read along one axis --------------===//
//
// Part of Heed. topk, cumsum and 1-D pooling, composed from attn ops:
// - topk: k rounds of "the largest value not yet taken, and the first place
//   it occurs" (a max reduction, a comparison, an argmax), each marking its
//   place as taken: O(k·n) per row, for the small k of beams and top-k
//   sampling. NaN counts as the largest value, as in torch.topk.
// - cumsum: a select against a lower-triangular constant and a sum, so the
//   sums of all steps come from one reduction (O(n²) per row, no loop).
// - pooling: one strided slice per window position, combined by max or sum.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/MLIRGenImpl.h"

#include <cmath>

using namespace mlir;
using namespace heed;
using namespace heed::dsl;
using namespace heed::dsl::gen;

namespace {

/// Small builders for attn ops with a fixed builder and location.
struct Ops {
  OpBuilder &b;
  Location l;
  Value binary(Value x, Value y, attn::BinaryKind kind) {
    return attn::BinaryOp::create(b, l, x, y, kind);
  }
  Value select(Value c, Value x, Value y) {
    return attn::SelectOp::create(b, l, c, x, y);
  }
  Value reduce(Value x, attn::ReduceKind kind, int64_t axis, bool keepdim) {
    return attn::ReduceOp::create(b, l, x, kind, axis, keepdim);
  }
  /// A constant of `shape` filled with `v`.
  Value splat(ArrayRef<int64_t> shape, float v) {
    auto type = RankedTensorType::get(shape, b.getF32Type());
    return arith::ConstantOp::create(b, l, DenseElementsAttr::get(type, v));
  }
  Value constant(ArrayRef<int64_t> shape, ArrayRef<float> values) {
    auto type = RankedTensorType::get(shape, b.getF32Type());
    return arith::ConstantOp::create(b, l,
                                     DenseElementsAttr::get(type, values));
  }
  Value moveAxis(Value x, int64_t from, int64_t to) {
    return gen::moveAxis(b, l, x, from, to);
  }
};

/// values, indices = topk(x, k) along the last axis (attn.topk); the
/// smallest of x are the largest of −x.
SmallVector<Value> topk(Ops &o, Value x, int64_t k, bool largest) {
  if (!largest)
    x = o.binary(x, o.splat({1}, -1.0f), attn::BinaryKind::mul);
  auto top = attn::TopKOp::create(o.b, o.l, x, k);
  Value values = top.getValues();
  if (!largest)
    values = o.binary(values, o.splat({1}, -1.0f), attn::BinaryKind::mul);
  return {values, top.getIndices()};
}

/// cumsum along `axis`: out[..., i] = Σ_{j ≤ i} x[..., j], as one select
/// against the lower triangle of an n × n constant and one sum.
Value cumsum(Ops &o, Value x, int64_t axis) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t rank = type.getRank(), n = type.getDimSize(axis);
  Value last = o.moveAxis(x, axis, rank - 1);
  SmallVector<float> lower(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j <= i; ++j)
      lower[i * n + j] = 1.0f;
  // [..., 1, n] against [n, n]: row i keeps x[..., j] for j ≤ i. A select,
  // not a product, so an inf past i does not turn the sum into NaN.
  Value rows =
      o.select(o.constant({n, n}, lower),
               insertUnitAxis(o.b, o.l, last, rank - 1), o.splat({1}, 0.0f));
  Value sums = o.reduce(rows, attn::ReduceKind::sum, rank, false);
  return o.moveAxis(sums, rank - 1, axis);
}

/// max_pool1d / avg_pool1d over the steps of x [B, T, C].
Value pool1d(Ops &o, Value x, int64_t window, int64_t stride, bool same,
             bool isMax, int64_t outSteps) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t batch = type.getDimSize(0), steps = type.getDimSize(1),
          channels = type.getDimSize(2);
  int64_t padLeft = 0, padRight = 0;
  if (same) {
    // TensorFlow's rule, as conv1d: the extra step of padding on the right.
    int64_t total =
        std::max<int64_t>((outSteps - 1) * stride + window - steps, 0);
    padLeft = total / 2;
    padRight = total - padLeft;
  }
  // Padding never wins a max and adds nothing to a sum.
  float padValue = isMax ? -INFINITY : 0.0f;
  SmallVector<Value> parts;
  if (padLeft)
    parts.push_back(o.splat({batch, padLeft, channels}, padValue));
  parts.push_back(x);
  if (padRight)
    parts.push_back(o.splat({batch, padRight, channels}, padValue));
  Value padded =
      parts.size() == 1 ? x : Value(attn::ConcatOp::create(o.b, o.l, parts, 1));
  auto outType =
      RankedTensorType::get({batch, outSteps, channels}, o.b.getF32Type());
  Value result;
  for (int64_t j = 0; j < window; ++j) {
    // Steps j, j + stride, ..., of the padded sequence.
    SmallVector<OpFoldResult> offsets = {o.b.getIndexAttr(0),
                                         o.b.getIndexAttr(j),
                                         o.b.getIndexAttr(0)},
                              sizes = {o.b.getIndexAttr(batch),
                                       o.b.getIndexAttr(outSteps),
                                       o.b.getIndexAttr(channels)},
                              strides = {o.b.getIndexAttr(1),
                                         o.b.getIndexAttr(stride),
                                         o.b.getIndexAttr(1)};
    Value slice = tensor::ExtractSliceOp::create(o.b, o.l, outType, padded,
                                                 offsets, sizes, strides);
    result = !result ? slice
                     : o.binary(result, slice,
                                isMax ? attn::BinaryKind::max
                                      : attn::BinaryKind::add);
  }
  if (isMax)
    return result;
  // The mean over each window's steps of the input (padding not counted,
  // as TensorFlow's same padding).
  SmallVector<float> inverse(outSteps);
  for (int64_t t = 0; t < outSteps; ++t) {
    int64_t first = t * stride - padLeft, end = first + window;
    int64_t counted =
        std::min<int64_t>(end, steps) - std::max<int64_t>(first, 0);
    inverse[t] = 1.0f / float(counted);
  }
  return o.binary(result, o.constant({outSteps, 1}, inverse),
                  attn::BinaryKind::mul);
}

} // namespace

SmallVector<Value> heed::dsl::gen::topkLastAxis(OpBuilder &b, Location l,
                                                Value x, int64_t k,
                                                bool largest) {
  Ops o{b, l};
  return topk(o, x, k, largest);
}

SmallVector<Value> Generator::genScanBuiltin(const Expr &e,
                                             ArrayRef<Value> args) {
  Location l = loc(e.loc);
  RankedTensorType type = tensorType(e.type);
  if (!type.hasStaticShape() ||
      !cast<RankedTensorType>(args[0].getType()).hasStaticShape()) {
    emitError(l, "'" + e.name + "' needs bound dimensions");
    return {};
  }
  Ops o{builder, l};
  switch (e.builtin) {
  case Builtin::TopK: {
    // Along the last axis; another axis moves there and back.
    int64_t last = cast<RankedTensorType>(args[0].getType()).getRank() - 1;
    SmallVector<Value> r =
        topk(o, o.moveAxis(args[0], e.axis, last), e.count, e.largest);
    return {o.moveAxis(r[0], last, e.axis), o.moveAxis(r[1], last, e.axis)};
  }
  case Builtin::Cumsum:
    return {cumsum(o, args[0], e.axis)};
  case Builtin::MaxPool1D:
  case Builtin::AvgPool1D:
    return {pool1d(o, args[0], e.count, e.stride, e.samePadding,
                   e.builtin == Builtin::MaxPool1D, type.getDimSize(1))};
  default:
    emitError(l, "internal: not a scan built-in");
    return {};
  }
}
