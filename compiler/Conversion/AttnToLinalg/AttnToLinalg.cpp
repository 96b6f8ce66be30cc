//===- AttnToLinalg.cpp - Lower attn ops to linalg ------------------------===//
//
// Part of Heed. One rewrite pattern per `attn` op. Everything becomes
// `linalg.generic` on tensors (elementwise ops with broadcasting maps, so
// linalg's elementwise fusion can merge chains afterwards), except concat
// (`tensor.insert_slice`), permute (`linalg.transpose`) and squeeze
// (`tensor.collapse_shape`). Floating-point ops carry `fastmath<fast>` so
// LLVM may reassociate and vectorize reductions.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttnToLinalg/AttnToLinalg.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/DialectConversion.h"

namespace heed {
#define GEN_PASS_DEF_CONVERTATTNTOLINALG
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// Dense layers with at least this many outputs vectorize over the outputs
/// (axpy form); smaller ones over the inputs (dot form).
constexpr int64_t kMinAxpyOutputs = 8;
/// f32 lanes of one AVX-512 register: axpy outputs are padded to this.
constexpr int64_t kOutputVector = 16;

RankedTensorType tensorTypeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

arith::FastMathFlagsAttr fast(OpBuilder &b) { return heed::fastMath(b); }

Value f32Const(OpBuilder &b, Location loc, double v) {
  return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
}

} // namespace

Value heed::emptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
}

Value heed::filled(OpBuilder &b, Location loc, RankedTensorType type,
                   double v) {
  return linalg::FillOp::create(b, loc, f32Const(b, loc, v),
                                emptyTensor(b, loc, type))
      .getResult(0);
}

namespace {

/// The indexing map reading `operand` (NumPy-broadcast against an iteration
/// space of `rank` dims aligned on the right): size-1 dims read index 0.
AffineMap broadcastMap(MLIRContext *ctx, RankedTensorType operand,
                       ArrayRef<int64_t> outShape) {
  int64_t rank = outShape.size(), opRank = operand.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < opRank; ++i) {
    int64_t outDim = rank - opRank + i;
    if (operand.getDimSize(i) == 1 && outShape[outDim] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(outDim, ctx));
  }
  return AffineMap::get(rank, 0, exprs, ctx);
}

/// The identity map over `rank` dims without dim `drop`.
AffineMap mapDropping(MLIRContext *ctx, int64_t rank, int64_t drop) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i)
    if (i != drop)
      exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

} // namespace

Value heed::elementwise(OpBuilder &b, Location loc, RankedTensorType outType,
                        ValueRange inputs, BodyFn body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(ctx, tensorTypeOf(in), outType.getShape()));
  maps.push_back(b.getMultiDimIdentityMap(outType.getRank()));
  SmallVector<utils::IteratorType> iters(outType.getRank(),
                                         utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, outType, inputs, emptyTensor(b, loc, outType), maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               Value r = body(nb, nl, args.drop_back());
               linalg::YieldOp::create(nb, nl, r);
             })
      .getResult(0);
}

namespace {

/// Reduces `axis` of `input` with `combine`, starting from `init`.
Value reduceAxis(OpBuilder &b, Location loc, Value input, int64_t axis,
                 double init, BodyFn combine) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType inType = tensorTypeOf(input);
  int64_t rank = inType.getRank();
  SmallVector<int64_t> outShape(inType.getShape());
  outShape.erase(outShape.begin() + axis);
  auto outType = RankedTensorType::get(outShape, inType.getElementType());
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 mapDropping(ctx, rank, axis)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  iters[axis] = utils::IteratorType::reduction;
  return linalg::GenericOp::create(
             b, loc, outType, input, filled(b, loc, outType, init), maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, combine(nb, nl, args));
             })
      .getResult(0);
}

/// Applies `x ↦ f(x, r[axis dropped])` where `r` was reduced over `axis`.
Value combineWithReduced(OpBuilder &b, Location loc, Value x, Value reduced,
                         int64_t axis, BodyFn body) {
  MLIRContext *ctx = b.getContext();
  RankedTensorType type = tensorTypeOf(x);
  int64_t rank = type.getRank();
  SmallVector<AffineMap> maps = {b.getMultiDimIdentityMap(rank),
                                 mapDropping(ctx, rank, axis),
                                 b.getMultiDimIdentityMap(rank)};
  SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, type, ValueRange{x, reduced}, emptyTensor(b, loc, type),
             maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, body(nb, nl, args.drop_back()));
             })
      .getResult(0);
}

Value maxf(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::MaximumFOp::create(b, loc, x, y, fast(b));
}
Value addf(OpBuilder &b, Location loc, Value x, Value y) {
  return arith::AddFOp::create(b, loc, x, y, fast(b));
}

/// softmax over `axis`: exp(x - max) / Σ exp(x - max).
Value softmax(OpBuilder &b, Location loc, Value x, int64_t axis) {
  Value mx = reduceAxis(b, loc, x, axis, -INFINITY,
                        [](OpBuilder &b, Location l, ValueRange a) {
                          return maxf(b, l, a[0], a[1]);
                        });
  Value e = combineWithReduced(
      b, loc, x, mx, axis, [](OpBuilder &b, Location l, ValueRange a) {
        Value d = arith::SubFOp::create(b, l, a[0], a[1], fast(b));
        return math::ExpOp::create(b, l, d, fast(b)).getResult();
      });
  Value sum = reduceAxis(b, loc, e, axis, 0.0,
                         [](OpBuilder &b, Location l, ValueRange a) {
                           return addf(b, l, a[0], a[1]);
                         });
  return combineWithReduced(
      b, loc, e, sum, axis, [](OpBuilder &b, Location l, ValueRange a) {
        return arith::DivFOp::create(b, l, a[0], a[1], fast(b)).getResult();
      });
}

} // namespace

arith::FastMathFlagsAttr heed::fastMath(OpBuilder &b) {
  return fastMath(b.getContext());
}

Value heed::emitActivationScalar(OpBuilder &b, Location loc,
                                 attn::ActivationKind kind, Value x) {
  switch (kind) {
  case attn::ActivationKind::none:
  case attn::ActivationKind::softmax:
    return x;
  case attn::ActivationKind::tanh:
    return math::TanhOp::create(b, loc, x, fast(b));
  case attn::ActivationKind::exp:
    return math::ExpOp::create(b, loc, x, fast(b));
  case attn::ActivationKind::relu: {
    Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(x.getType()));
    return arith::MaximumFOp::create(b, loc, x, zero, fast(b));
  }
  case attn::ActivationKind::sqrt:
    return math::SqrtOp::create(b, loc, x, fast(b));
  case attn::ActivationKind::rsqrt: {
    // 1 / sqrt(x) in two correctly rounded steps, with `contract` only:
    // with `afn`/`arcp` LLVM may use the reciprocal-root estimate, whose
    // Newton step turns rsqrt(inf) = 0 into NaN. (Flags that are not
    // `none` survive heed-vectorize-linalg's fast-math pass.)
    auto exact = arith::FastMathFlagsAttr::get(b.getContext(),
                                               arith::FastMathFlags::contract);
    Value one = arith::ConstantOp::create(b, loc, b.getOneAttr(x.getType()));
    Value root = math::SqrtOp::create(b, loc, x, exact);
    return arith::DivFOp::create(b, loc, one, root, exact);
  }
  case attn::ActivationKind::log:
    return math::LogOp::create(b, loc, x, fast(b));
  case attn::ActivationKind::abs:
    return math::AbsFOp::create(b, loc, x, fast(b));
  case attn::ActivationKind::gelu: {
    // x · Φ(x) = x/2 · (1 + erf(x/√2)): PyTorch's exact GELU.
    auto c = [&](double v) {
      return arith::ConstantOp::create(b, loc, b.getFloatAttr(x.getType(), v));
    };
    Value scaled = arith::MulFOp::create(b, loc, x, c(M_SQRT1_2), fast(b));
    Value erf = math::ErfOp::create(b, loc, scaled, fast(b));
    Value onePlus = arith::AddFOp::create(b, loc, c(1.0), erf, fast(b));
    Value half = arith::MulFOp::create(b, loc, x, c(0.5), fast(b));
    return arith::MulFOp::create(b, loc, half, onePlus, fast(b));
  }
  case attn::ActivationKind::sigmoid: {
    // 1 / (1 + exp(-x)): the logistic function.
    Value one = arith::ConstantOp::create(b, loc, b.getOneAttr(x.getType()));
    Value neg = arith::NegFOp::create(b, loc, x, fast(b));
    Value e = math::ExpOp::create(b, loc, neg, fast(b));
    Value den = arith::AddFOp::create(b, loc, one, e, fast(b));
    return arith::DivFOp::create(b, loc, one, den, fast(b));
  }
  }
  return x;
}

Value heed::emitBinaryScalar(OpBuilder &b, Location l, attn::BinaryKind kind,
                             Value x, Value y) {
  switch (kind) {
  case attn::BinaryKind::add:
    return arith::AddFOp::create(b, l, x, y, fast(b));
  case attn::BinaryKind::sub:
    return arith::SubFOp::create(b, l, x, y, fast(b));
  case attn::BinaryKind::mul:
    return arith::MulFOp::create(b, l, x, y, fast(b));
  case attn::BinaryKind::div:
    return arith::DivFOp::create(b, l, x, y, fast(b));
  case attn::BinaryKind::max:
    return maxf(b, l, x, y);
  case attn::BinaryKind::min:
    return arith::MinimumFOp::create(b, l, x, y, fast(b));
  case attn::BinaryKind::pow:
    // `contract` only: with `afn` LLVM rewrites pow(x, 1.5) as x·sqrt(x),
    // NaN at -inf.
    return math::PowFOp::create(
        b, l, x, y,
        arith::FastMathFlagsAttr::get(b.getContext(),
                                      arith::FastMathFlags::contract));
  default: {
    // 1.0 where the comparison holds, else 0.0 (ordered: NaN compares false
    // except for `ne`).
    using P = arith::CmpFPredicate;
    P p = kind == attn::BinaryKind::eq   ? P::OEQ
          : kind == attn::BinaryKind::ne ? P::UNE
          : kind == attn::BinaryKind::lt ? P::OLT
          : kind == attn::BinaryKind::le ? P::OLE
          : kind == attn::BinaryKind::gt ? P::OGT
                                         : P::OGE;
    Value holds = arith::CmpFOp::create(b, l, p, x, y);
    return arith::SelectOp::create(b, l, holds, f32Const(b, l, 1.0),
                                   f32Const(b, l, 0.0));
  }
  }
}

namespace {

Value activation(OpBuilder &b, Location loc, Value x, attn::ActivationKind kind) {
  if (kind == attn::ActivationKind::none)
    return x;
  if (kind == attn::ActivationKind::softmax)
    return softmax(b, loc, x, tensorTypeOf(x).getRank() - 1);
  return elementwise(b, loc, tensorTypeOf(x), x,
                     [&](OpBuilder &b, Location l, ValueRange a) {
                       return emitActivationScalar(b, l, kind, a[0]);
                     });
}

/// `v` without the padded tail of its last axis, as `type`.
Value unpadded(OpBuilder &b, Location loc, Value v, RankedTensorType type) {
  if (tensorTypeOf(v) == type)
    return v;
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes,
      strides(rank, b.getIndexAttr(1));
  for (int64_t d : type.getShape())
    sizes.push_back(b.getIndexAttr(d));
  return tensor::ExtractSliceOp::create(b, loc, type, v, offsets, sizes, strides);
}

struct DenseLowering : OpRewritePattern<attn::DenseOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::DenseOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    RankedTensorType outType = op.getType();
    int64_t rank = outType.getRank(); // iteration: rank dims + 1 reduction
    // out[..., n] = Σ_k x[..., k] · W[n, k] (+ b[n])
    // With enough output features, iterate (leading..., k, n): the
    // reduction k sits outside the outputs n and the weight is read
    // transposed ([in, out], made once; loop-invariant code motion hoists it
    // out of loops), so each vectorized k step is a broadcast-multiply-add
    // into a vector of outputs (axpy form). With few outputs (a score
    // layer with one unit), iterate (leading..., n, k) and reduce each
    // output horizontally over contiguous inputs (dot form).
    auto wType = cast<RankedTensorType>(op.getWeight().getType());
    int64_t outs = wType.getDimSize(0), ins = wType.getDimSize(1);
    bool axpy = outs >= kMinAxpyOutputs;
    // In the axpy form the outputs are padded with zero weights to whole
    // vectors, so every weight row is one aligned vector load and every
    // accumulator one full register; the padding is sliced off after.
    int64_t padded = axpy ? llvm::alignTo(outs, kOutputVector) : outs;
    // Zero-filled, then the data inserted: bufferizes to a fill and an
    // in-place write through a subview (no generic strided copy).
    auto padTo = [&](Value v, ArrayRef<int64_t> shape) -> Value {
      auto type = RankedTensorType::get(shape, rw.getF32Type());
      if (type == tensorTypeOf(v))
        return v;
      ArrayRef<int64_t> from = tensorTypeOf(v).getShape();
      SmallVector<OpFoldResult> offsets(from.size(), rw.getIndexAttr(0)), sizes,
          strides(from.size(), rw.getIndexAttr(1));
      for (int64_t d : from)
        sizes.push_back(rw.getIndexAttr(d));
      return tensor::InsertSliceOp::create(rw, loc, v,
                                           filled(rw, loc, type, 0.0), offsets,
                                           sizes, strides);
    };
    attn::ActivationKind act = op.getActivation();
    SmallVector<int64_t> accShape(outType.getShape());
    accShape.back() = padded;
    auto accType = RankedTensorType::get(accShape, outType.getElementType());
    Value init;
    if (Value bias = op.getBias())
      init = elementwise(rw, loc, accType, padTo(bias, {padded}),
                         [](OpBuilder &, Location, ValueRange a) { return a[0]; });
    else
      init = filled(rw, loc, accType, 0.0);
    // Over zeros (a GRU run from a zero state every step, as seed 004's
    // decoder), the layer is its bias: no product, no weight read.
    if (matchPattern(op.getInput(), m_AnyZeroFloat())) {
      rw.replaceOp(op, activation(rw, loc, unpadded(rw, loc, init, outType), act));
      return success();
    }
    Value weight = op.getWeight();
    if (axpy) {
      auto wtType = RankedTensorType::get({ins, outs}, wType.getElementType());
      weight = linalg::TransposeOp::create(rw, loc, weight,
                                           emptyTensor(rw, loc, wtType),
                                           ArrayRef<int64_t>{1, 0})
                   .getResult()[0];
      weight = padTo(weight, {ins, padded});
    }
    int64_t kDim = axpy ? rank - 1 : rank, nDim = axpy ? rank : rank - 1;
    SmallVector<AffineExpr> inExprs, outExprs;
    for (int64_t i = 0; i < rank - 1; ++i)
      inExprs.push_back(getAffineDimExpr(i, ctx));
    outExprs = inExprs;
    inExprs.push_back(getAffineDimExpr(kDim, ctx));
    outExprs.push_back(getAffineDimExpr(nDim, ctx));
    AffineExpr k = getAffineDimExpr(kDim, ctx), n = getAffineDimExpr(nDim, ctx);
    AffineMap inMap = AffineMap::get(rank + 1, 0, inExprs, ctx);
    AffineMap wMap = AffineMap::get(rank + 1, 0,
                                    axpy ? ArrayRef<AffineExpr>{k, n}
                                         : ArrayRef<AffineExpr>{n, k},
                                    ctx);
    AffineMap outMap = AffineMap::get(rank + 1, 0, outExprs, ctx);
    SmallVector<utils::IteratorType> iters(rank + 1, utils::IteratorType::parallel);
    iters[kDim] = utils::IteratorType::reduction;
    Value acc =
        linalg::GenericOp::create(
            rw, loc, accType, ValueRange{op.getInput(), weight}, init,
            ArrayRef<AffineMap>{inMap, wMap, outMap}, iters,
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value m = arith::MulFOp::create(b, l, a[0], a[1], fast(b));
              linalg::YieldOp::create(b, l, addf(b, l, a[2], m));
            })
            .getResult(0);
    auto unpad = [&](Value v) { return unpadded(rw, loc, v, outType); };
    // Activations run on whole vectors before slicing, except softmax,
    // whose sum must not see the padding.
    Value result = act == attn::ActivationKind::softmax
                       ? activation(rw, loc, unpad(acc), act)
                       : unpad(activation(rw, loc, acc, act));
    rw.replaceOp(op, result);
    return success();
  }
};

struct ActivateLowering : OpRewritePattern<attn::ActivateOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::ActivateOp op,
                                PatternRewriter &rw) const override {
    rw.replaceOp(op, activation(rw, op.getLoc(), op.getInput(), op.getKind()));
    return success();
  }
};

struct BinaryLowering : OpRewritePattern<attn::BinaryOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::BinaryOp op,
                                PatternRewriter &rw) const override {
    attn::BinaryKind kind = op.getKind();
    rw.replaceOp(op, elementwise(rw, op.getLoc(), op.getType(),
                                 ValueRange{op.getLhs(), op.getRhs()},
                                 [&](OpBuilder &b, Location l, ValueRange a) {
                                   return emitBinaryScalar(b, l, kind, a[0],
                                                           a[1]);
                                 }));
    return success();
  }
};

struct SelectLowering : OpRewritePattern<attn::SelectOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::SelectOp op,
                                PatternRewriter &rw) const override {
    rw.replaceOp(op, elementwise(rw, op.getLoc(), op.getType(),
                                 ValueRange{op.getCond(), op.getA(), op.getB()},
                                 [](OpBuilder &b, Location l, ValueRange a) -> Value {
                                   Value set = arith::CmpFOp::create(
                                       b, l, arith::CmpFPredicate::UNE, a[0],
                                       f32Const(b, l, 0.0));
                                   return arith::SelectOp::create(b, l, set, a[1], a[2]);
                                 }));
    return success();
  }
};

struct SoftmaxLowering : OpRewritePattern<attn::SoftmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::SoftmaxOp op,
                                PatternRewriter &rw) const override {
    int64_t axis = attn::normalizeAxis(op.getAxis(), op.getType().getRank());
    rw.replaceOp(op, softmax(rw, op.getLoc(), op.getInput(), axis));
    return success();
  }
};

struct RepeatLowering : OpRewritePattern<attn::RepeatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::RepeatOp op,
                                PatternRewriter &rw) const override {
    RankedTensorType outType = op.getType();
    int64_t rank = outType.getRank();
    int64_t axis = attn::normalizeAxis(op.getAxis(), rank);
    if (op.getCount() == 1 && rank > 1) {
      // One copy: only a new unit axis, a reshape rather than a copy
      // (Tacotron2's `repeat(state, 1, axis=2)` was a kernel a step).
      SmallVector<ReassociationIndices> groups;
      for (int64_t d = 0; d < rank - 1; ++d)
        groups.push_back({d});
      int64_t into = axis < rank - 1 ? axis : rank - 2;
      groups[into] = {into, into + 1};
      for (int64_t d = into + 1; d < rank - 1; ++d)
        groups[d] = {d + 1};
      rw.replaceOpWithNewOp<tensor::ExpandShapeOp>(op, outType, op.getInput(),
                                                   groups);
      return success();
    }
    SmallVector<AffineMap> maps = {mapDropping(rw.getContext(), rank, axis),
                                   rw.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    Location loc = op.getLoc();
    auto generic = linalg::GenericOp::create(
        rw, loc, outType, op.getInput(), emptyTensor(rw, loc, outType), maps,
        iters, [](OpBuilder &b, Location l, ValueRange a) {
          linalg::YieldOp::create(b, l, a[0]);
        });
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
};

struct ConcatLowering : OpRewritePattern<attn::ConcatOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::ConcatOp op,
                                PatternRewriter &rw) const override {
    RankedTensorType outType = op.getType();
    int64_t rank = outType.getRank();
    int64_t axis = attn::normalizeAxis(op.getAxis(), rank);
    Location loc = op.getLoc();
    Value result = emptyTensor(rw, loc, outType);
    int64_t offset = 0;
    for (Value in : op.getInputs()) {
      ArrayRef<int64_t> shape = tensorTypeOf(in).getShape();
      SmallVector<OpFoldResult> offsets(rank, rw.getIndexAttr(0)), sizes,
          strides(rank, rw.getIndexAttr(1));
      offsets[axis] = rw.getIndexAttr(offset);
      for (int64_t d : shape)
        sizes.push_back(rw.getIndexAttr(d));
      result = tensor::InsertSliceOp::create(rw, loc, in, result, offsets,
                                             sizes, strides);
      offset += shape[axis];
    }
    rw.replaceOp(op, result);
    return success();
  }
};

struct PermuteLowering : OpRewritePattern<attn::PermuteOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::PermuteOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    auto t = linalg::TransposeOp::create(rw, loc, op.getInput(),
                                         emptyTensor(rw, loc, op.getType()),
                                         op.getPerm());
    rw.replaceOp(op, t.getResult()[0]);
    return success();
  }
};

struct ReduceLowering : OpRewritePattern<attn::ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::ReduceOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    RankedTensorType inType = tensorTypeOf(op.getInput());
    int64_t axis = attn::normalizeAxis(op.getAxis(), inType.getRank());
    bool isMax = op.getKind() == attn::ReduceKind::max;
    Value r = reduceAxis(rw, loc, op.getInput(), axis, isMax ? -INFINITY : 0.0,
                         [&](OpBuilder &b, Location l, ValueRange a) {
                           return isMax ? maxf(b, l, a[0], a[1])
                                        : addf(b, l, a[0], a[1]);
                         });
    if (op.getKind() == attn::ReduceKind::mean) {
      double inv = 1.0 / double(inType.getDimSize(axis));
      r = elementwise(rw, loc, tensorTypeOf(r), r,
                      [&](OpBuilder &b, Location l, ValueRange a) {
                        return arith::MulFOp::create(b, l, a[0],
                                                     f32Const(b, l, inv), fast(b))
                            .getResult();
                      });
    }
    if (op.getKeepdim())
      r = tensor::ExpandShapeOp::create(
          rw, loc, op.getType(), r,
          getReassociationIndicesForReshape(tensorTypeOf(r), op.getType())
              .value());
    rw.replaceOp(op, r);
    return success();
  }
};

struct SqueezeLowering : OpRewritePattern<attn::SqueezeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::SqueezeOp op,
                                PatternRewriter &rw) const override {
    auto reassoc = getReassociationIndicesForReshape(
        tensorTypeOf(op.getInput()), op.getType());
    if (!reassoc)
      return rw.notifyMatchFailure(op, "no reassociation");
    rw.replaceOpWithNewOp<tensor::CollapseShapeOp>(op, op.getType(),
                                                   op.getInput(), *reassoc);
    return success();
  }
};

struct ConvertAttnToLinalgPass
    : heed::impl::ConvertAttnToLinalgBase<ConvertAttnToLinalgPass> {
  using ConvertAttnToLinalgBase::ConvertAttnToLinalgBase;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    WalkResult dynamic = func.walk([&](Operation *op) {
      if (!isa<attn::AttnDialect>(op->getDialect()))
        return WalkResult::advance();
      for (Type t : op->getResultTypes())
        if (auto rt = dyn_cast<RankedTensorType>(t); rt && !rt.hasStaticShape()) {
          op->emitError("convert-attn-to-linalg needs static shapes; bind "
                        "every symbolic dimension (heed does so from the "
                        "inputs, or with --dim NAME=SIZE)");
          return WalkResult::interrupt();
        }
      return WalkResult::advance();
    });
    if (dynamic.wasInterrupted())
      return signalPassFailure();

    RewritePatternSet patterns(&getContext());
    populateAttnToLinalgPatterns(patterns);
    populateSequenceToLinalgPatterns(patterns, gatherElementwise,
                                     directConvolution);
    ConversionTarget target(getContext());
    target.addIllegalDialect<attn::AttnDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    if (failed(applyPartialConversion(func, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void heed::populateAttnToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<DenseLowering, ActivateLowering, BinaryLowering, SelectLowering,
               SoftmaxLowering, RepeatLowering, ConcatLowering, PermuteLowering,
               ReduceLowering, SqueezeLowering>(patterns.getContext());
}
