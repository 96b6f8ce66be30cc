//===- SequenceToLinalg.cpp - Cells and sequence layers to linalg ---------===//
//
// Part of Heed. The generated ("fused") recurrent cells used inside decoder
// loops, and batch normalization, embedding and argmax.
//
// An LSTM cell is one dense layer over concat(x, h) with the two weight
// matrices side by side ([4H, I + H], the biases summed; both weight-only,
// so prepared once) followed by one elementwise pass over the gate slices.
// A GRU cell needs the recurrent product apart (r scales it), so it is two
// dense layers and one elementwise pass.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttnToLinalg/AttnToLinalg.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

using namespace mlir;
using namespace heed;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// Columns [k*H, (k+1)*H) of a [B, G*H] gate tensor.
Value gate(OpBuilder &b, Location loc, Value gates, int64_t k, int64_t h) {
  int64_t batch = typeOf(gates).getDimSize(0);
  auto type = RankedTensorType::get({batch, h}, b.getF32Type());
  return tensor::ExtractSliceOp::create(
      b, loc, type, gates,
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(k * h)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(batch), b.getIndexAttr(h)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// An elementwise generic over same-shaped inputs.
Value pointwise(OpBuilder &b, Location loc, ValueRange inputs,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  return elementwise(b, loc, typeOf(inputs[0]), inputs, body);
}

Value sigmoid(OpBuilder &b, Location l, Value x) {
  return emitActivationScalar(b, l, attn::ActivationKind::sigmoid, x);
}
Value tanhOf(OpBuilder &b, Location l, Value x) {
  return emitActivationScalar(b, l, attn::ActivationKind::tanh, x);
}
Value add(OpBuilder &b, Location l, Value x, Value y) {
  return arith::AddFOp::create(b, l, x, y, fastMath(b));
}
Value mul(OpBuilder &b, Location l, Value x, Value y) {
  return arith::MulFOp::create(b, l, x, y, fastMath(b));
}

struct LstmCellLowering : OpRewritePattern<attn::LstmCellOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::LstmCellOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    int64_t h = typeOf(op.getH()).getDimSize(1);
    Value xh = attn::ConcatOp::create(rw, loc, ValueRange{op.getInput(), op.getH()}, 1);
    Value w = attn::ConcatOp::create(
        rw, loc, ValueRange{op.getWeightIh(), op.getWeightHh()}, 1);
    Value bias = attn::BinaryOp::create(rw, loc, op.getBiasIh(), op.getBiasHh(),
                                        attn::BinaryKind::add);
    Value gates = attn::DenseOp::create(rw, loc, xh, w, bias,
                                        attn::ActivationKind::none);
    Value i = gate(rw, loc, gates, 0, h), f = gate(rw, loc, gates, 1, h),
          g = gate(rw, loc, gates, 2, h), o = gate(rw, loc, gates, 3, h);
    // c' = σ(f) c + σ(i) tanh(g)
    Value c = pointwise(rw, loc, ValueRange{i, f, g, op.getC()},
                        [](OpBuilder &b, Location l, ValueRange a) {
                          return add(b, l, mul(b, l, sigmoid(b, l, a[1]), a[3]),
                                     mul(b, l, sigmoid(b, l, a[0]),
                                         tanhOf(b, l, a[2])));
                        });
    // h' = σ(o) tanh(c')
    Value hNext = pointwise(rw, loc, ValueRange{o, c},
                            [](OpBuilder &b, Location l, ValueRange a) {
                              return mul(b, l, sigmoid(b, l, a[0]),
                                         tanhOf(b, l, a[1]));
                            });
    rw.replaceOp(op, {hNext, c});
    return success();
  }
};

struct GruCellLowering : OpRewritePattern<attn::GruCellOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::GruCellOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    int64_t h = typeOf(op.getH()).getDimSize(1);
    Value gi = attn::DenseOp::create(rw, loc, op.getInput(), op.getWeightIh(),
                                     op.getBiasIh(), attn::ActivationKind::none);
    Value gh = attn::DenseOp::create(rw, loc, op.getH(), op.getWeightHh(),
                                     op.getBiasHh(), attn::ActivationKind::none);
    SmallVector<Value> in;
    for (Value gates : {gi, gh})
      for (int64_t k = 0; k < 3; ++k)
        in.push_back(gate(rw, loc, gates, k, h));
    in.push_back(op.getH());
    // r = σ(i_r + h_r), z = σ(i_z + h_z), n = tanh(i_n + r h_n),
    // h' = (1 - z) n + z h = n + z (h - n)
    Value next = pointwise(
        rw, loc, in, [](OpBuilder &b, Location l, ValueRange a) {
          Value r = sigmoid(b, l, add(b, l, a[0], a[3]));
          Value z = sigmoid(b, l, add(b, l, a[1], a[4]));
          Value n = tanhOf(b, l, add(b, l, a[2], mul(b, l, r, a[5])));
          Value d = arith::SubFOp::create(b, l, a[6], n, fastMath(b));
          return add(b, l, n, mul(b, l, z, d));
        });
    rw.replaceOp(op, next);
    return success();
  }
};

struct BatchNormLowering : OpRewritePattern<attn::BatchNormOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::BatchNormOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    float eps = op.getEpsilon().convertToFloat();
    // Weight-only (prepared once): scale = γ / sqrt(var + ε),
    // shift = β - mean · scale.
    Value scale = pointwise(
        rw, loc, ValueRange{op.getWeight(), op.getRunningVar()},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value e = arith::ConstantOp::create(b, l, b.getF32FloatAttr(eps));
          Value s = math::SqrtOp::create(b, l, add(b, l, a[1], e));
          return arith::DivFOp::create(b, l, a[0], s).getResult();
        });
    Value shift = pointwise(
        rw, loc, ValueRange{op.getBias(), op.getRunningMean(), scale},
        [](OpBuilder &b, Location l, ValueRange a) {
          return arith::SubFOp::create(b, l, a[0], mul(b, l, a[1], a[2]))
              .getResult();
        });
    // [C] parameters broadcast over the leading axes.
    Value y = elementwise(rw, loc, op.getType(),
                          ValueRange{op.getInput(), scale, shift},
                          [](OpBuilder &b, Location l, ValueRange a) {
                            return add(b, l, mul(b, l, a[0], a[1]), a[2]);
                          });
    rw.replaceOp(op, y);
    return success();
  }
};

struct EmbeddingLowering : OpRewritePattern<attn::EmbeddingOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::EmbeddingOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    Value table = op.getTable();
    int64_t vocab = typeOf(table).getDimSize(0);
    SmallVector<AffineExpr> idExprs;
    for (int64_t i = 0; i + 1 < rank; ++i)
      idExprs.push_back(getAffineDimExpr(i, rw.getContext()));
    SmallVector<AffineMap> maps = {
        AffineMap::get(rank, 0, idExprs, rw.getContext()),
        rw.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    Value y = linalg::GenericOp::create(
                  rw, loc, type, ValueRange{op.getIds()}, emptyTensor(rw, loc, type),
                  maps, iters,
                  [&](OpBuilder &b, Location l, ValueRange a) {
                    // Ids outside [0, V) read a zero row.
                    Value id = arith::FPToSIOp::create(b, l, b.getI64Type(), a[0]);
                    Value zero = arith::ConstantOp::create(b, l, b.getI64IntegerAttr(0));
                    Value v = arith::ConstantOp::create(b, l, b.getI64IntegerAttr(vocab));
                    Value ok = arith::AndIOp::create(
                        b, l,
                        arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, id, zero),
                        arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, id, v));
                    Value safe = arith::SelectOp::create(b, l, ok, id, zero);
                    Value row = arith::IndexCastOp::create(b, l, b.getIndexType(), safe);
                    Value col = linalg::IndexOp::create(b, l, rank - 1);
                    Value x = tensor::ExtractOp::create(b, l, table, ValueRange{row, col});
                    Value z = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0));
                    linalg::YieldOp::create(b, l,
                                            arith::SelectOp::create(b, l, ok, x, z).getResult());
                  })
                  .getResult(0);
    rw.replaceOp(op, y);
    return success();
  }
};

/// A row number of attn.gather_rows (f32) clamped into [0, count).
static Value clampedRow(OpBuilder &b, Location l, Value f, int64_t count) {
  Value id = arith::FPToSIOp::create(b, l, b.getI64Type(), f);
  id = arith::MaxSIOp::create(
      b, l, id, arith::ConstantOp::create(b, l, b.getI64IntegerAttr(0)));
  id = arith::MinSIOp::create(
      b, l, id,
      arith::ConstantOp::create(b, l, b.getI64IntegerAttr(count - 1)));
  return arith::IndexCastOp::create(b, l, b.getIndexType(), id);
}

/// attn.gather_rows: one copy per picked row (a contiguous block: memcpy
/// once bufferized), the row number clamped into [0, N). With
/// `elementwise` (the GPU targets), one linalg.generic whose elements read
/// their row number and their element of the input: one kernel, where the
/// loop of copies would be host code that reads every row number.
struct GatherRowsLowering : OpRewritePattern<attn::GatherRowsOp> {
  GatherRowsLowering(MLIRContext *ctx, bool elementwise)
      : OpRewritePattern(ctx), elementwise(elementwise) {}
  bool elementwise;

  LogicalResult matchAndRewrite(attn::GatherRowsOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    RankedTensorType type = op.getType();
    int64_t rank = type.getRank();
    Value input = op.getInput(), rows = op.getRows();
    int64_t count = typeOf(input).getDimSize(0);
    if (elementwise) {
      SmallVector<utils::IteratorType> iters(rank,
                                             utils::IteratorType::parallel);
      Value y =
          linalg::GenericOp::create(
              rw, loc, type, ValueRange{}, emptyTensor(rw, loc, type),
              SmallVector<AffineMap>{rw.getMultiDimIdentityMap(rank)}, iters,
              [&](OpBuilder &b, Location l, ValueRange) {
                SmallVector<Value> at;
                for (int64_t d = 0; d < rank; ++d)
                  at.push_back(linalg::IndexOp::create(b, l, d));
                Value f =
                    tensor::ExtractOp::create(b, l, rows, ValueRange{at[0]});
                at[0] = clampedRow(b, l, f, count);
                linalg::YieldOp::create(
                    b, l,
                    ValueRange{tensor::ExtractOp::create(b, l, input, at)});
              })
              .getResult(0);
      rw.replaceOp(op, y);
      return success();
    }
    Value zero = arith::ConstantIndexOp::create(rw, loc, 0);
    Value one = arith::ConstantIndexOp::create(rw, loc, 1);
    Value picked = arith::ConstantIndexOp::create(rw, loc, type.getDimSize(0));
    auto loop = scf::ForOp::create(
        rw, loc, zero, picked, one, ValueRange{emptyTensor(rw, loc, type)},
        [&](OpBuilder &b, Location l, Value j, ValueRange args) {
          Value f = tensor::ExtractOp::create(b, l, rows, ValueRange{j});
          Value row = clampedRow(b, l, f, count);
          SmallVector<OpFoldResult> from(rank, b.getIndexAttr(0)),
              to(rank, b.getIndexAttr(0)), sizes,
              strides(rank, b.getIndexAttr(1));
          SmallVector<int64_t> shape(type.getShape());
          shape[0] = 1;
          for (int64_t d : shape)
            sizes.push_back(b.getIndexAttr(d));
          from[0] = row;
          to[0] = j;
          Value piece = tensor::ExtractSliceOp::create(
              b, l, RankedTensorType::get(shape, type.getElementType()), input,
              from, sizes, strides);
          scf::YieldOp::create(b, l,
                               ValueRange{tensor::InsertSliceOp::create(
                                   b, l, piece, args[0], to, sizes, strides)});
        });
    rw.replaceOp(op, loop.getResult(0));
    return success();
  }
};

/// (d0, ..., d{rank-1}) -> (d0, ..., d{rank-2}): the result of a reduction
/// over the last axis.
static AffineMap dropLastDim(int64_t rank, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i + 1 < rank; ++i)
    exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

struct ArgmaxLowering : OpRewritePattern<attn::ArgmaxOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::ArgmaxOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    RankedTensorType inType = typeOf(op.getInput()), outType = op.getType();
    int64_t rank = inType.getRank();
    AffineMap outMap = dropLastDim(rank, rw.getContext());
    auto fill = [&](double v) {
      Value c = arith::ConstantOp::create(rw, loc, rw.getF32FloatAttr(v));
      return linalg::FillOp::create(rw, loc, c, emptyTensor(rw, loc, outType))
          .getResult(0);
    };
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.back() = utils::IteratorType::reduction;
    auto generic = linalg::GenericOp::create(
        rw, loc, TypeRange{outType, outType}, ValueRange{op.getInput()},
        ValueRange{fill(-INFINITY), fill(0)},
        ArrayRef<AffineMap>{rw.getMultiDimIdentityMap(rank), outMap, outMap},
        iters, [&](OpBuilder &b, Location l, ValueRange a) {
          // Strictly greater: the first maximum wins, as in NumPy/PyTorch.
          Value index = linalg::IndexOp::create(b, l, rank - 1);
          Value asInt = arith::IndexCastOp::create(b, l, b.getI64Type(), index);
          Value asFloat = arith::SIToFPOp::create(b, l, b.getF32Type(), asInt);
          Value better = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT,
                                               a[0], a[1]);
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::SelectOp::create(b, l, better, a[0], a[1]),
                         arith::SelectOp::create(b, l, better, asFloat, a[2])});
        });
    rw.replaceOp(op, generic.getResult(1));
    return success();
  }
};

/// Whether candidate (xv, xi) goes above slot (yv, yi) of a top-k list: the
/// slot is empty (index -1), or xv is larger, or xv is NaN and yv is not,
/// or they are equal (both NaN included) and xi comes first.
static Value topkBetter(OpBuilder &b, Location l, Value xv, Value xi, Value yv,
                        Value yi) {
  using P = arith::CmpFPredicate;
  auto cmp = [&](P p, Value x, Value y) -> Value {
    return arith::CmpFOp::create(b, l, p, x, y);
  };
  auto any = [&](Value x, Value y) -> Value {
    return arith::OrIOp::create(b, l, x, y);
  };
  auto both = [&](Value x, Value y) -> Value {
    return arith::AndIOp::create(b, l, x, y);
  };
  Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0));
  Value xNan = cmp(P::UNO, xv, xv), yNan = cmp(P::UNO, yv, yv);
  Value yNumber = cmp(P::ORD, yv, yv);
  Value equal = any(cmp(P::OEQ, xv, yv), both(xNan, yNan));
  return any(any(cmp(P::OLT, yi, zero), cmp(P::OGT, xv, yv)),
             any(both(xNan, yNumber), both(equal, cmp(P::OLT, xi, yi))));
}

/// attn.topk as one reduction over the last axis whose outputs are k value
/// slots and k index slots, the best k so far in order: an element that
/// beats the last slot goes into the first slot it beats, and each slot
/// below takes the old contents of the one above (a compare-and-swap down
/// the slots). The slots are then joined into `[..., k]`. The reduction
/// stays scalar (its body is no combiner the vectorizer knows); against k
/// vectorized passes over the row it compiles to far less code.
struct TopKLowering : OpRewritePattern<attn::TopKOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::TopKOp op,
                                PatternRewriter &rw) const override {
    Location loc = op.getLoc();
    RankedTensorType inType = typeOf(op.getInput());
    int64_t rank = inType.getRank(), k = op.getK();
    if (!inType.hasStaticShape())
      return rw.notifyMatchFailure(op, "needs a static shape");
    auto slotType =
        RankedTensorType::get(inType.getShape().drop_back(), rw.getF32Type());
    AffineMap slotMap = dropLastDim(rank, rw.getContext());
    SmallVector<Value> inits;
    for (double empty : {-double(INFINITY), -1.0})
      for (int64_t s = 0; s < k; ++s)
        inits.push_back(filled(rw, loc, slotType, empty));
    SmallVector<AffineMap> maps(2 * k + 1, slotMap);
    maps[0] = rw.getMultiDimIdentityMap(rank);
    SmallVector<utils::IteratorType> iters(rank, utils::IteratorType::parallel);
    iters.back() = utils::IteratorType::reduction;
    auto generic = linalg::GenericOp::create(
        rw, loc, SmallVector<Type>(2 * k, slotType), ValueRange{op.getInput()},
        inits, maps, iters, [&](OpBuilder &b, Location l, ValueRange a) {
          Value index = linalg::IndexOp::create(b, l, rank - 1);
          Value asInt = arith::IndexCastOp::create(b, l, b.getI64Type(), index);
          Value value = a[0],
                at = arith::SIToFPOp::create(b, l, b.getF32Type(), asInt);
          // Most elements do not beat the last slot: they skip the chain.
          ValueRange slots = a.drop_front();
          Value enters =
              topkBetter(b, l, value, at, slots[k - 1], slots.back());
          auto insert = scf::IfOp::create(
              b, l, enters,
              [&](OpBuilder &t, Location tl) {
                SmallVector<Value> values(k), indices(k);
                for (int64_t s = 0; s < k; ++s) {
                  Value slotValue = slots[s], slotIndex = slots[k + s];
                  Value better =
                      topkBetter(t, tl, value, at, slotValue, slotIndex);
                  auto pick = [&](Value x, Value y) -> Value {
                    return arith::SelectOp::create(t, tl, better, x, y);
                  };
                  values[s] = pick(value, slotValue);
                  indices[s] = pick(at, slotIndex);
                  value = pick(slotValue, value);
                  at = pick(slotIndex, at);
                }
                values.append(indices);
                scf::YieldOp::create(t, tl, values);
              },
              [&](OpBuilder &e, Location el) {
                scf::YieldOp::create(e, el, slots);
              });
          linalg::YieldOp::create(b, l, insert.getResults());
        });
    // The k slots of each kind side by side: [...] each into [..., k].
    auto join = [&](ValueRange slots) -> Value {
      RankedTensorType type = op.getValues().getType();
      Value joined = emptyTensor(rw, loc, type);
      SmallVector<OpFoldResult> offsets(rank, rw.getIndexAttr(0)), sizes,
          strides(rank, rw.getIndexAttr(1));
      for (int64_t d : type.getShape().drop_back())
        sizes.push_back(rw.getIndexAttr(d));
      sizes.push_back(rw.getIndexAttr(1));
      for (int64_t s = 0; s < k; ++s) {
        offsets.back() = rw.getIndexAttr(s);
        joined = tensor::InsertSliceOp::create(rw, loc, slots[s], joined,
                                               offsets, sizes, strides);
      }
      return joined;
    };
    ValueRange results = generic.getResults();
    rw.replaceOp(op,
                 {join(results.take_front(k)), join(results.drop_front(k))});
    return success();
  }
};

/// A direct convolution's most terms a window (K·C): one thread per output
/// runs them in a loop; longer windows are unfolded for the tiled products.
constexpr int64_t kMaxDirectConvolutionTerms = 64;

/// A Conv1D that convert-attn-to-runtime left here (few input channels) as
/// a dense layer over unfolded windows: cols[b, t, k, c] = x[b, t·s + k -
/// left, c] (zero outside x), then `[B, T', K·C] × [K·C, O]` with the weight
/// permuted to `[O, K, C]` (weight-only, so prepared once).
/// With `direct` (the GPU targets) and at most kMaxDirectConvolutionTerms
/// terms a window, one product whose body reads x itself:
/// out[b, t, o] = Σ_r x[b, t·s + r / C − left, r % C] · W'[r, o] (zero
/// outside x), with W' the weight as `[K·C, O]`.
struct Conv1DLowering : OpRewritePattern<attn::Conv1DOp> {
  Conv1DLowering(MLIRContext *ctx, bool direct)
      : OpRewritePattern(ctx), direct(direct) {}
  bool direct;

  LogicalResult matchAndRewrite(attn::Conv1DOp op,
                                PatternRewriter &rw) const override {
    if (direct && typeOf(op.getWeight()).getDimSize(1) *
                          typeOf(op.getWeight()).getDimSize(2) <=
                      kMaxDirectConvolutionTerms)
      return lowerDirect(op, rw);
    Location loc = op.getLoc();
    RankedTensorType xType = typeOf(op.getInput()), wType = typeOf(op.getWeight());
    int64_t batch = xType.getDimSize(0), channels = xType.getDimSize(2),
            outs = wType.getDimSize(0), kernel = wType.getDimSize(2),
            outSteps = op.getType().getDimSize(1);
    Type f32 = rw.getF32Type();
    auto colsType =
        RankedTensorType::get({batch, outSteps, kernel, channels}, f32);
    // A gather, kept out of linalg: elementwise fusion would pull its window
    // map (t·s + k) into the dense product, which then cannot be vectorized.
    // The zero padding is a bound test here, not a padded copy of x: inside
    // a decoder step (Tacotron2's location features) that copy was a whole
    // buffer written every step (two launches a step on the GPU).
    Value cols = tensor::GenerateOp::create(
        rw, loc, colsType, ValueRange{},
        [&](OpBuilder &nb, Location l, ValueRange idx) {
          tensor::YieldOp::create(
              nb, l, windowElement(nb, l, op, idx[0], idx[1], idx[2], idx[3]));
        });
    cols = tensor::CollapseShapeOp::create(
        rw, loc, RankedTensorType::get({batch, outSteps, kernel * channels}, f32),
        cols, SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    Value weight = attn::PermuteOp::create(rw, loc, op.getWeight(),
                                           ArrayRef<int64_t>{0, 2, 1});
    weight = tensor::CollapseShapeOp::create(
        rw, loc, RankedTensorType::get({outs, kernel * channels}, f32), weight,
        SmallVector<ReassociationIndices>{{0}, {1, 2}});
    rw.replaceOp(op, attn::DenseOp::create(rw, loc, cols, weight, op.getBias(),
                                           attn::ActivationKind::none));
    return success();
  }

  /// x[b, t·s + k − left, c] of `op`'s input, zero outside it.
  static Value windowElement(OpBuilder &b, Location l, attn::Conv1DOp op,
                             Value batch, Value t, Value k, Value c) {
    auto index = [&](int64_t v) {
      return arith::ConstantIndexOp::create(b, l, v);
    };
    Value x = op.getInput();
    int64_t steps = typeOf(x).getDimSize(1);
    int64_t left = op.getPadLeft(), right = op.getPadRight();
    Value step = arith::AddIOp::create(
        b, l, arith::MulIOp::create(b, l, t, index(op.getStride())), k);
    if (!left && !right)
      return tensor::ExtractOp::create(b, l, x, ValueRange{batch, step, c});
    step = arith::SubIOp::create(b, l, step, index(left));
    Value inside = arith::AndIOp::create(
        b, l,
        arith::CmpIOp::create(b, l, arith::CmpIPredicate::sge, step, index(0)),
        arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, step,
                              index(steps)));
    // Outside, read step 0 (always there) and yield zero instead.
    Value safe = arith::SelectOp::create(b, l, inside, step, index(0));
    Value v = tensor::ExtractOp::create(b, l, x, ValueRange{batch, safe, c});
    Value zero = arith::ConstantOp::create(b, l, b.getF32FloatAttr(0.0f));
    return arith::SelectOp::create(b, l, inside, v, zero);
  }

  LogicalResult lowerDirect(attn::Conv1DOp op, PatternRewriter &rw) const {
    Location loc = op.getLoc();
    MLIRContext *ctx = rw.getContext();
    RankedTensorType wType = typeOf(op.getWeight()), outType = op.getType();
    int64_t outs = wType.getDimSize(0), channels = wType.getDimSize(1),
            kernel = wType.getDimSize(2), terms = kernel * channels;
    // [O, C, K] → [K, C, O] → [K·C, O]: weight-only, so prepared once.
    Value weight = attn::PermuteOp::create(rw, loc, op.getWeight(),
                                           ArrayRef<int64_t>{2, 1, 0});
    weight = tensor::CollapseShapeOp::create(
        rw, loc, RankedTensorType::get({terms, outs}, rw.getF32Type()), weight,
        SmallVector<ReassociationIndices>{{0, 1}, {2}});
    Value init = op.getBias() ? elementwise(rw, loc, outType, op.getBias(),
                                            [](OpBuilder &, Location,
                                               ValueRange a) { return a[0]; })
                              : filled(rw, loc, outType, 0.0);
    // Iterations (b, t, o, r): the weight at (r, o), the output at (b, t, o).
    AffineExpr b = getAffineDimExpr(0, ctx), t = getAffineDimExpr(1, ctx),
               o = getAffineDimExpr(2, ctx), r = getAffineDimExpr(3, ctx);
    SmallVector<AffineMap> maps = {AffineMap::get(4, 0, {r, o}, ctx),
                                   AffineMap::get(4, 0, {b, t, o}, ctx)};
    SmallVector<utils::IteratorType> iters(3, utils::IteratorType::parallel);
    iters.push_back(utils::IteratorType::reduction);
    auto generic = linalg::GenericOp::create(
        rw, loc, outType, ValueRange{weight}, init, maps, iters,
        [&](OpBuilder &nb, Location l, ValueRange a) {
          Value term = linalg::IndexOp::create(nb, l, 3);
          Value k = term, c = arith::ConstantIndexOp::create(nb, l, 0);
          if (channels > 1) {
            Value width = arith::ConstantIndexOp::create(nb, l, channels);
            k = arith::DivUIOp::create(nb, l, term, width);
            c = arith::RemUIOp::create(nb, l, term, width);
          }
          Value x = windowElement(nb, l, op, linalg::IndexOp::create(nb, l, 0),
                                  linalg::IndexOp::create(nb, l, 1), k, c);
          Value m = arith::MulFOp::create(nb, l, x, a[0], fastMath(nb));
          Value sum = arith::AddFOp::create(nb, l, a[1], m, fastMath(nb));
          linalg::YieldOp::create(nb, l, sum);
        });
    rw.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

void heed::populateSequenceToLinalgPatterns(RewritePatternSet &patterns,
                                            bool gatherElementwise,
                                            bool directConvolution) {
  patterns.add<LstmCellLowering, GruCellLowering, BatchNormLowering,
               EmbeddingLowering, ArgmaxLowering, TopKLowering>(
      patterns.getContext());
  patterns.add<Conv1DLowering>(patterns.getContext(), directConvolution);
  patterns.add<GatherRowsLowering>(patterns.getContext(), gatherElementwise);
}
