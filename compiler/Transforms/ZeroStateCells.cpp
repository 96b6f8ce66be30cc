//===- ZeroStateCells.cpp - Cells run from a zero state -------------------===//
//
// Part of Heed. A recurrent cell stepped from a constant zero state (seed
// 004's decoder GRU is called without an initial state every step, the
// previous hidden state entering through its input instead) needs no
// h·Wₕₕᵀ product: that term is its bias. Such a cell becomes a dense layer
// over its input (which convert-attn-to-runtime may run on oneDNN) and the
// gate arithmetic as elementwise attn ops; a oneDNN cell primitive would
// multiply the zeros, a third of a GRU step's work at the seed's sizes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace heed {
#define GEN_PASS_DEF_SIMPLIFYZEROSTATECELLS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// Gate `k` (of width `h`) of `gates` along the last axis: [B, G·h] → [B, h],
/// or [G·h] → [h] for a bias.
Value gate(OpBuilder &b, Location loc, Value gates, int64_t k, int64_t h) {
  auto type = cast<RankedTensorType>(gates.getType());
  int64_t rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes,
      strides(rank, b.getIndexAttr(1));
  for (int64_t d : type.getShape().drop_back())
    sizes.push_back(b.getIndexAttr(d));
  sizes.push_back(b.getIndexAttr(h));
  offsets.back() = b.getIndexAttr(k * h);
  SmallVector<int64_t> shape(type.getShape());
  shape.back() = h;
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()), gates,
      offsets, sizes, strides);
}

struct GateMath {
  OpBuilder &b;
  Location loc;
  Value binary(Value x, Value y, attn::BinaryKind kind) {
    return attn::BinaryOp::create(b, loc, x, y, kind);
  }
  Value add(Value x, Value y) { return binary(x, y, attn::BinaryKind::add); }
  Value mul(Value x, Value y) { return binary(x, y, attn::BinaryKind::mul); }
  Value sub(Value x, Value y) { return binary(x, y, attn::BinaryKind::sub); }
  Value sigmoid(Value x) {
    return attn::ActivateOp::create(b, loc, x, attn::ActivationKind::sigmoid);
  }
  Value tanh(Value x) {
    return attn::ActivateOp::create(b, loc, x, attn::ActivationKind::tanh);
  }
};

bool isZero(Value v) { return matchPattern(v, m_AnyZeroFloat()); }

/// gru_cell(x, 0): r = σ(iᵣ + bₕᵣ), z = σ(i_z + bₕ_z),
/// n = tanh(iₙ + r ⊙ bₕₙ), h' = (1 − z) ⊙ n = n − z ⊙ n, with i = x Wᵢₕᵀ + bᵢₕ.
struct ZeroStateGru : OpRewritePattern<attn::GruCellOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::GruCellOp op,
                                PatternRewriter &rw) const override {
    if (!isZero(op.getH()))
      return failure();
    Location loc = op.getLoc();
    int64_t h = op.getType().getShape().back();
    GateMath m{rw, loc};
    Value i = attn::DenseOp::create(rw, loc, op.getInput(), op.getWeightIh(),
                                    op.getBiasIh(), attn::ActivationKind::none);
    Value bh = op.getBiasHh();
    Value r = m.sigmoid(m.add(gate(rw, loc, i, 0, h), gate(rw, loc, bh, 0, h)));
    Value z = m.sigmoid(m.add(gate(rw, loc, i, 1, h), gate(rw, loc, bh, 1, h)));
    Value n = m.tanh(
        m.add(gate(rw, loc, i, 2, h), m.mul(r, gate(rw, loc, bh, 2, h))));
    rw.replaceOp(op, m.sub(n, m.mul(z, n)));
    return success();
  }
};

/// lstm_cell(x, 0, c): gates = x Wᵢₕᵀ + bᵢₕ + bₕₕ split into i, f, g, o;
/// c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g) (just σ(i) ⊙ tanh(g) when c is zero too),
/// h' = σ(o) ⊙ tanh(c').
struct ZeroStateLstm : OpRewritePattern<attn::LstmCellOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::LstmCellOp op,
                                PatternRewriter &rw) const override {
    if (!isZero(op.getH()))
      return failure();
    Location loc = op.getLoc();
    int64_t h = cast<RankedTensorType>(op.getH().getType()).getShape().back();
    GateMath m{rw, loc};
    // The second bias is added after the product, so that the dense layer's
    // operands stay the weights as bound.
    Value gates =
        m.add(attn::DenseOp::create(rw, loc, op.getInput(), op.getWeightIh(),
                                    op.getBiasIh(), attn::ActivationKind::none),
              op.getBiasHh());
    Value in = m.mul(m.sigmoid(gate(rw, loc, gates, 0, h)),
                     m.tanh(gate(rw, loc, gates, 2, h)));
    Value c =
        isZero(op.getC())
            ? in
            : m.add(m.mul(m.sigmoid(gate(rw, loc, gates, 1, h)), op.getC()),
                    in);
    Value hNext = m.mul(m.sigmoid(gate(rw, loc, gates, 3, h)), m.tanh(c));
    rw.replaceOp(op, {hNext, c});
    return success();
  }
};

struct SimplifyZeroStateCellsPass
    : heed::impl::SimplifyZeroStateCellsBase<SimplifyZeroStateCellsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ZeroStateGru, ZeroStateLstm>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
