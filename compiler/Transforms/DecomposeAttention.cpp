//===- DecomposeAttention.cpp - attn.attention as whole-tensor ops --------===//
//
// Part of Heed. The unfused reference lowering of attn.attention:
//   scores  = score region lifted to [B, T, ·] (query repeated over T)
//   weights = softmax(scores, axis = 1)        (or σ(e) / Σ σ(e))
//   context = Σ_t weights[b, t] · values[b, t]
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/RowOps.h"

#include "mlir/IR/IRMapping.h"

namespace heed {
#define GEN_PASS_DEF_DECOMPOSEATTENTION
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

static LogicalResult decompose(attn::AttentionOp op) {
  if (op.getMask())
    return op.emitError("attn-decompose-attention does not lower masks; use "
                        "the fused lowering");
  OpBuilder b(op);
  Location loc = op.getLoc();
  auto keysType = cast<RankedTensorType>(op.getKeys().getType());
  int64_t steps = keysType.getDimSize(1);

  IRMapping map;
  map.map(op.getQueryRow(),
          attn::RepeatOp::create(b, loc, op.getQuery(), 1, steps).getResult());
  map.map(op.getKeyRow(), op.getKeys());
  for (Operation &inner : op.getScore().front().without_terminator()) {
    SmallVector<Value> operands;
    for (Value v : inner.getOperands())
      operands.push_back(map.lookupOrDefault(v));
    // Constants and captured weights keep their rank; data rows gain [B, T].
    Operation *lifted = cloneWithRankShift(b, &inner, operands, 2);
    if (!lifted)
      return inner.emitError("cannot lift this score-region op to [B, T]");
    map.map(inner.getResults(), lifted->getResults());
  }
  Value energies = map.lookup(op.getScoreValue()); // [B, T, 1]
  energies = attn::SqueezeOp::create(b, loc, energies, 2);

  Value weights;
  if (op.getNormalization() == attn::Normalization::softmax) {
    weights = attn::SoftmaxOp::create(b, loc, energies, 1);
  } else {
    Value s = attn::ActivateOp::create(b, loc, energies,
                                       attn::ActivationKind::sigmoid);
    Value total = attn::ReduceOp::create(b, loc, s, attn::ReduceKind::sum, 1,
                                         /*keepdim=*/true);
    weights = attn::BinaryOp::create(b, loc, s, total, attn::BinaryKind::div);
  }
  Value column = attn::RepeatOp::create(b, loc, weights, 2, 1); // [B, T, 1]
  Value weighted = attn::BinaryOp::create(b, loc, op.getValues(), column,
                                          attn::BinaryKind::mul);
  Value context = attn::ReduceOp::create(b, loc, weighted,
                                         attn::ReduceKind::sum, 1, false);
  op.replaceAllUsesWith(ValueRange{context, weights});
  op.erase();
  return success();
}

namespace {
struct DecomposeAttentionPass
    : heed::impl::DecomposeAttentionBase<DecomposeAttentionPass> {
  void runOnOperation() override {
    SmallVector<attn::AttentionOp> ops;
    getOperation().walk([&](attn::AttentionOp op) { ops.push_back(op); });
    for (attn::AttentionOp op : ops)
      if (failed(decompose(op)))
        return signalPassFailure();
  }
};
} // namespace
