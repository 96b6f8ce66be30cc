//===- SplitConcatDense.cpp - Dense layers over concatenated rows, split --===//
//
// Part of Heed. See Passes.td (attn-split-concat-dense). Seed 001's score,
// `relu(W2 · tanh(W1 · [q; k] + b1) + b2)`, reads the query and the key
// row through one product; as `W1[:, :Dq] · q + b1 + W1[:, Dq:] · k` its
// query part and key part are products of their own, which
// attn-hoist-query-projections and attn-hoist-key-projections then compute
// on whole tensors (the key part once per sequence).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/RowOps.h"

namespace heed {
#define GEN_PASS_DEF_SPLITCONCATDENSE
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// The concat of rank-1 parts along axis 0 that `dense` reads, when its
/// weight comes from above `region` (so its columns can be sliced there).
attn::ConcatOp splittable(attn::DenseOp dense, Region &region,
                          int64_t minSize) {
  auto concat = dense.getInput().getDefiningOp<attn::ConcatOp>();
  if (!concat || concat.getAxis() != 0 || concat.getInputs().size() < 2 ||
      region.isAncestor(dense.getWeight().getParentRegion()))
    return nullptr;
  auto weight = dyn_cast<RankedTensorType>(dense.getWeight().getType());
  if (!weight || weight.getRank() != 2 || !weight.hasStaticShape() ||
      weight.getNumElements() < minSize)
    return nullptr;
  for (Value part : concat.getInputs()) {
    auto type = dyn_cast<RankedTensorType>(part.getType());
    if (!type || type.getRank() != 1 || !type.hasStaticShape())
      return nullptr;
  }
  return concat;
}

void split(attn::AttentionOp op, int64_t minSize) {
  Region &region = op.getScore();
  SmallVector<attn::DenseOp> denses;
  region.walk([&](attn::DenseOp dense) {
    if (splittable(dense, region, minSize))
      denses.push_back(dense);
  });
  OpBuilder outside(op);
  for (attn::DenseOp dense : denses) {
    auto concat = dense.getInput().getDefiningOp<attn::ConcatOp>();
    Location loc = dense.getLoc();
    int64_t offset = 0;
    OpBuilder b(dense);
    Value sum;
    for (Value part : concat.getInputs()) {
      int64_t width = cast<RankedTensorType>(part.getType()).getDimSize(0);
      // W[:, offset : offset + width], once, before the attention op.
      Value columns =
          weightColumns(outside, loc, dense.getWeight(), offset, width);
      offset += width;
      Value term = attn::DenseOp::create(b, loc, part, columns,
                                         sum ? Value() : dense.getBias(),
                                         attn::ActivationKind::none);
      sum =
          sum ? attn::BinaryOp::create(b, loc, sum, term, attn::BinaryKind::add)
                    .getResult()
              : term;
    }
    if (dense.getActivation() != attn::ActivationKind::none)
      sum = attn::ActivateOp::create(b, loc, sum, dense.getActivation());
    dense.replaceAllUsesWith(sum);
    dense.erase();
    if (concat->use_empty())
      concat.erase();
  }
}

struct SplitConcatDensePass
    : heed::impl::SplitConcatDenseBase<SplitConcatDensePass> {
  using SplitConcatDenseBase::SplitConcatDenseBase;

  void runOnOperation() override {
    SmallVector<attn::AttentionOp> ops;
    getOperation().walk([&](attn::AttentionOp op) { ops.push_back(op); });
    for (attn::AttentionOp op : ops)
      split(op, minSize);
  }
};

} // namespace
