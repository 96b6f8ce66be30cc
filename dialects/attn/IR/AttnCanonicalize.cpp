//===- AttnCanonicalize.cpp - Canonical forms of attn ops -----------------===//
//
// Part of Heed. Rewrites that give one computation one form, so the passes
// that look for a form (the attention lowerings' dot products over a score's
// last dense layer) see it however a model wrote it.
//
//===----------------------------------------------------------------------===//

#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"

using namespace mlir;
using namespace heed::attn;

namespace {

/// Whether `v` is computed outside every score region: a weight or a value
/// of the model function, never a row of the attention being scored.
bool outsideScoreRegions(Value v) {
  Operation *scope = v.getParentRegion()->getParentOp();
  return !isa<AttentionOp>(scope) && !scope->getParentOfType<AttentionOp>();
}

/// reduce sum over the last axis of mul(x, v), v: [N] from outside score
/// regions and x: [..., N] the product's shape → dense(x, v as [1, N])
/// (squeezed without keepdim). In a score region x is a row [N] and the
/// sum keeps its axis: [1], the score.
struct WeightedSumToDense : OpRewritePattern<ReduceOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReduceOp op,
                                PatternRewriter &rw) const override {
    auto inType = cast<RankedTensorType>(op.getInput().getType());
    int64_t rank = inType.getRank();
    if (op.getKind() != ReduceKind::sum ||
        normalizeAxis(op.getAxis(), rank) != rank - 1 ||
        (rank < 2 && !op.getKeepdim()))
      return failure();
    auto mul = op.getInput().getDefiningOp<BinaryOp>();
    if (!mul || mul.getKind() != BinaryKind::mul || !mul->hasOneUse())
      return failure();
    int64_t n = inType.getShape().back();
    auto isVector = [&](Value v) {
      auto t = cast<RankedTensorType>(v.getType());
      return t.getRank() == 1 && t.getDimSize(0) == n &&
             !ShapedType::isDynamic(n) && outsideScoreRegions(v);
    };
    Value x, v;
    if (isVector(mul.getRhs()) && mul.getLhs().getType() == inType)
      x = mul.getLhs(), v = mul.getRhs();
    else if (isVector(mul.getLhs()) && mul.getRhs().getType() == inType)
      x = mul.getRhs(), v = mul.getLhs();
    else
      return failure();
    Location loc = op.getLoc();
    auto weightType = RankedTensorType::get({1, n}, inType.getElementType());
    // The weight's reshape reads v alone: it sits next to v, outside the
    // score region, where the attention lowerings expect weights.
    OpBuilder::InsertionGuard guard(rw);
    if (auto def = v.getDefiningOp())
      rw.setInsertionPointAfter(def);
    else
      rw.setInsertionPointToStart(cast<BlockArgument>(v).getOwner());
    Value weight = tensor::ExpandShapeOp::create(
        rw, loc, weightType, v, SmallVector<ReassociationIndices>{{0, 1}});
    rw.setInsertionPoint(op);
    Value dense =
        DenseOp::create(rw, loc, x, weight, Value(), ActivationKind::none);
    if (!op.getKeepdim())
      dense = SqueezeOp::create(rw, loc, dense, rank - 1);
    rw.replaceOp(op, dense);
    return success();
  }
};

} // namespace

void ReduceOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<WeightedSumToDense>(context);
}
