//===- FoldDenseIntoConv1D.cpp - One convolution instead of conv + dense --===//
//
// Part of Heed. A dense layer over a Conv1D's output (Tacotron2's location
// layer U over the location convolution F) is linear in the convolution's
// input, so the two compose into one Conv1D:
//   G[o, i, k] = Σ_c U[o, c] F[c, i, k],    b' = U b_F + b_U.
// G and b' depend on weights only (prepared once). The fold is made when
// it does not add work per output step: I·K·O ≤ I·K·C + C·O.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace heed {
#define GEN_PASS_DEF_FOLDDENSEINTOCONV1D
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

struct DenseOfConv1D : OpRewritePattern<attn::DenseOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(attn::DenseOp dense,
                                PatternRewriter &rw) const override {
    auto conv = dense.getInput().getDefiningOp<attn::Conv1DOp>();
    if (!conv || !conv->hasOneUse())
      return failure();
    auto f = cast<RankedTensorType>(conv.getWeight().getType()); // [C, I, K]
    auto u = cast<RankedTensorType>(dense.getWeight().getType()); // [O, C]
    int64_t c = f.getDimSize(0), i = f.getDimSize(1), k = f.getDimSize(2),
            o = u.getDimSize(0);
    if (i * k * o > i * k * c + c * o)
      return failure(); // composing would cost more than it saves
    Location loc = dense.getLoc();
    // [C, I, K] -> [I, K, C] -> dense with U -> [I, K, O] -> [O, I, K].
    Value taps = attn::PermuteOp::create(rw, loc, conv.getWeight(),
                                         ArrayRef<int64_t>{1, 2, 0});
    Value composed = attn::DenseOp::create(rw, loc, taps, dense.getWeight(),
                                           Value(), attn::ActivationKind::none);
    composed = attn::PermuteOp::create(rw, loc, composed,
                                       ArrayRef<int64_t>{2, 0, 1});
    Value bias = dense.getBias();
    if (Value convBias = conv.getBias())
      bias = attn::DenseOp::create(rw, loc, convBias, dense.getWeight(), bias,
                                   attn::ActivationKind::none);
    Value y = attn::Conv1DOp::create(rw, loc, conv.getInput(), composed, bias,
                                     conv.getStride(), conv.getPadLeft(),
                                     conv.getPadRight());
    if (dense.getActivation() != attn::ActivationKind::none)
      y = attn::ActivateOp::create(rw, loc, y, dense.getActivation());
    rw.replaceOp(dense, y);
    rw.eraseOp(conv);
    return success();
  }
};

struct FoldDenseIntoConv1DPass
    : heed::impl::FoldDenseIntoConv1DBase<FoldDenseIntoConv1DPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<DenseOfConv1D>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};

} // namespace
