//===- HoistQueryProjections.cpp - Query-side score work on whole tensors -===//
//
// Part of Heed. The part of a score function that reads the query row alone
// (Bahdanau's W·s, Tacotron2's processed query W·s_i) is one small product
// per batch row in the fused loop nest: at batch 32, a decoder step reads a
// 1024 × 1024 weight 32 times. This pass computes it once for the whole
// query tensor, before the attention op (a matrix product over all rows,
// which convert-attn-to-runtime may give to oneDNN), and makes the result
// the op's query. It applies when the query-only work ends in one value and
// nothing else in the region reads the query row.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/RowOps.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace heed {
#define GEN_PASS_DEF_HOISTQUERYPROJECTIONS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

/// Lifts the query-only ops of `op`'s score region (replacing `op`).
static void hoist(attn::AttentionOp op) {
  Block &body = op.getScore().front();
  BlockArgument queryRow = op.getQueryRow();
  // Ops computed from the query row and captured values (weights) only.
  llvm::SetVector<Operation *> liftable = opsComputedFrom(body, queryRow);
  SmallVector<Value> frontier = frontierOf(liftable);
  bool rowReadElsewhere = llvm::any_of(
      queryRow.getUsers(), [&](Operation *u) { return !liftable.contains(u); });
  if (frontier.size() != 1 || rowReadElsewhere)
    return;

  OpBuilder b(op);
  IRMapping map;
  map.map(queryRow, op.getQuery());
  int64_t shift = cast<RankedTensorType>(op.getQuery().getType()).getRank() - 1;
  if (!cloneOntoWholeTensors(b, liftable, map, shift))
    return; // an op on an axis the row form does not have: keep all
  auto lifted = attn::AttentionOp::create(
      b, op.getLoc(), map.lookup(frontier[0]), op.getKeys(), op.getValues(),
      op.getLengths(), op.getPrevious(), op.getNormalization(), op.getCausal(),
      op.getConstraint(), op.getWindow(), op.getHard());
  lifted.getScore().takeBody(op.getScore());
  Block &moved = lifted.getScore().front();
  // The projected row becomes the region's query row.
  BlockArgument newRow =
      moved.insertArgument(0u, frontier[0].getType(), frontier[0].getLoc());
  frontier[0].replaceAllUsesWith(newRow);
  for (Operation *inner : llvm::reverse(liftable))
    inner->erase();
  moved.eraseArgument(1); // the old query row, now unused
  op.replaceAllUsesWith(lifted.getResults());
  op.erase();
}

namespace {
struct HoistQueryProjectionsPass
    : heed::impl::HoistQueryProjectionsBase<HoistQueryProjectionsPass> {
  void runOnOperation() override {
    SmallVector<attn::AttentionOp> ops;
    getOperation().walk([&](attn::AttentionOp op) { ops.push_back(op); });
    for (attn::AttentionOp op : ops) {
      // Weight-only work (`q @ W`'s transpose) must not keep the ops that
      // read it inside the region.
      hoistWeightOnlyScoreOps(op);
      hoist(op);
    }
  }
};
} // namespace
