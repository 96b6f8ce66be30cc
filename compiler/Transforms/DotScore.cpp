//===- DotScore.cpp - Which attn.attention ops are dot-product attention --===//
//
// Part of Heed. See DotScore.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/DotScore.h"

#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace heed;

std::optional<float> heed::dotProductScoreScale(attn::AttentionOp op) {
  Block &body = op.getScore().front();
  Value e = op.getScoreValue();
  float scale = 1.0f;
  if (auto scaled = e.getDefiningOp<attn::BinaryOp>()) {
    DenseElementsAttr c;
    if (!matchPattern(scaled.getRhs(), m_Constant(&c)) || !c.isSplat())
      return std::nullopt;
    float v = c.getSplatValue<float>();
    if (scaled.getKind() == attn::BinaryKind::mul)
      scale = v;
    else if (scaled.getKind() == attn::BinaryKind::div && v != 0)
      scale = 1.0f / v;
    else
      return std::nullopt;
    e = scaled.getLhs();
  }
  auto reduce = e.getDefiningOp<attn::ReduceOp>();
  if (!reduce || reduce.getKind() != attn::ReduceKind::sum)
    return std::nullopt;
  auto product = reduce.getInput().getDefiningOp<attn::BinaryOp>();
  if (!product || product.getKind() != attn::BinaryKind::mul)
    return std::nullopt;
  Value q = op.getQueryRow(), k = op.getKeyRow();
  bool operandsMatch = (product.getLhs() == q && product.getRhs() == k) ||
                       (product.getLhs() == k && product.getRhs() == q);
  // mul, reduce, [constant, scale,] yield: nothing else may hide in there.
  size_t ops = std::distance(body.begin(), body.end());
  if (!operandsMatch || ops > 5)
    return std::nullopt;
  return scale;
}

std::optional<float>
heed::matchOnlineSoftmaxDotAttention(attn::AttentionOp op) {
  if (!op.hasQuerySequence() || op.getKeys().size() != 1 ||
      op.getNormalization() != attn::Normalization::softmax ||
      op.getConstraint() != attn::Constraint::none || op.getHard() ||
      op.getPrevious() || !op.getWeights().use_empty())
    return std::nullopt;
  for (Value operand : op->getOperands())
    if (!cast<RankedTensorType>(operand.getType()).hasStaticShape())
      return std::nullopt;
  return dotProductScoreScale(op);
}

HeadView heed::headsOf(Value v) {
  auto collapse = v.getDefiningOp<tensor::CollapseShapeOp>();
  if (!collapse || collapse.getReassociationIndices() !=
                       SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}})
    return {};
  auto permute = collapse.getSrc().getDefiningOp<attn::PermuteOp>();
  if (!permute || permute.getPerm() != ArrayRef<int64_t>{0, 2, 1, 3})
    return {};
  auto expand = permute.getInput().getDefiningOp<tensor::ExpandShapeOp>();
  if (!expand || expand.getReassociationIndices() !=
                     SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}})
    return {};
  auto split = cast<RankedTensorType>(expand.getType());
  if (!split.hasStaticShape() ||
      !cast<RankedTensorType>(expand.getSrc().getType()).hasStaticShape())
    return {};
  return {expand.getSrc(), split.getDimSize(2), split.getDimSize(3)};
}

tensor::CollapseShapeOp heed::headsMergedFrom(Value context) {
  if (!context.hasOneUse())
    return {};
  auto expand = dyn_cast<tensor::ExpandShapeOp>(*context.user_begin());
  if (!expand || !expand.getResult().hasOneUse() ||
      expand.getReassociationIndices() !=
          SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}})
    return {};
  auto permute = dyn_cast<attn::PermuteOp>(*expand.getResult().user_begin());
  if (!permute || !permute.getResult().hasOneUse() ||
      permute.getPerm() != ArrayRef<int64_t>{0, 2, 1, 3})
    return {};
  auto collapse =
      dyn_cast<tensor::CollapseShapeOp>(*permute.getResult().user_begin());
  if (!collapse ||
      collapse.getReassociationIndices() !=
          SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}} ||
      !cast<RankedTensorType>(expand.getType()).hasStaticShape())
    return {};
  return collapse;
}

HeadView heed::mergedHeads(tensor::CollapseShapeOp merged) {
  auto split = cast<RankedTensorType>(
      merged.getSrc().getDefiningOp<attn::PermuteOp>().getInput().getType());
  return {merged.getResult(), split.getDimSize(1), split.getDimSize(3)};
}
