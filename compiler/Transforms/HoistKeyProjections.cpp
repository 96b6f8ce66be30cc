//===- HoistKeyProjections.cpp - Key-side score work on whole tensors -----===//
//
// Part of Heed. The part of a score function that reads key rows alone
// (Bahdanau's U·h_j + b, Luong general's W·h_j, Tacotron2's V·h_j) is the
// same for every query and every decoder step. This pass computes it once
// on the whole key tensor, before the attention op, and passes the result
// to the score region as an extra key tensor. In a decoder loop the new
// whole-tensor op depends only on values from before the loop, so
// loop-invariant code motion moves it out: once per sequence instead of
// once per step. Feature tensors that only lifted work read are dropped
// from the op.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/RowOps.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace heed {
#define GEN_PASS_DEF_HOISTKEYPROJECTIONS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

/// Lifts the key-only ops of `op`'s score region (replacing `op`).
static void hoist(attn::AttentionOp op) {
  Block &body = op.getScore().front();
  // Ops computed from key rows and captured values only.
  llvm::SetVector<Operation *> liftable =
      opsComputedFrom(body, op.getKeyRows());
  // The frontier: lifted values that non-lifted ops (or the yield) read.
  SmallVector<Value> frontier = frontierOf(liftable);
  if (frontier.empty())
    return;

  // Keys that are rows picked from whole batches (a decoder loop running
  // on its live rows, attn.gather_rows) by the same row numbers: the lifted
  // ops work on every row alike, so they run on the whole batches (before
  // the loop, once LICM has moved them) and their results are picked.
  Value pickedRows;
  SmallVector<Value> wholeKeys;
  for (Value key : op.getKeys()) {
    auto gather = key.getDefiningOp<attn::GatherRowsOp>();
    if (!gather || (pickedRows && gather.getRows() != pickedRows)) {
      pickedRows = nullptr;
      break;
    }
    pickedRows = gather.getRows();
    wholeKeys.push_back(gather.getInput());
  }
  OpBuilder b(op);
  IRMapping map;
  for (auto [i, row, keys] : llvm::enumerate(op.getKeyRows(), op.getKeys()))
    map.map(row, pickedRows ? wholeKeys[i] : keys);
  if (!cloneOntoWholeTensors(b, liftable, map, 2))
    return; // an op on an axis the row form does not have: keep all
  // Feature tensors whose rows only lifted ops read leave the op (the
  // memory, key 0, stays: it defines the steps), so that their producers
  // (Tacotron2's location convolution) have the lifted op as only user.
  SmallVector<Value> keys;
  SmallVector<unsigned> droppedRows;
  for (auto [i, row, key] : llvm::enumerate(op.getKeyRows(), op.getKeys())) {
    bool read = llvm::any_of(
        row.getUsers(), [&](Operation *u) { return !liftable.contains(u); });
    if (i == 0 || read)
      keys.push_back(key);
    else
      droppedRows.push_back(cast<BlockArgument>(row).getArgNumber());
  }
  for (Value v : frontier) {
    Value whole = map.lookup(v);
    keys.push_back(pickedRows ? attn::GatherRowsOp::create(b, op.getLoc(),
                                                           whole, pickedRows)
                                    .getResult()
                              : whole);
  }
  auto lifted = attn::AttentionOp::create(
      b, op.getLoc(), op.getQuery(), keys, op.getValues(), op.getLengths(),
      op.getPrevious(), op.getNormalization(), op.getCausal(),
      op.getConstraint(), op.getWindow(), op.getHard());
  lifted.getScore().takeBody(op.getScore());
  Block &moved = lifted.getScore().front();
  for (Value v : frontier)
    v.replaceAllUsesWith(moved.addArgument(v.getType(), v.getLoc()));
  for (Operation *inner : llvm::reverse(liftable))
    if (inner->use_empty())
      inner->erase();
  for (unsigned arg : llvm::reverse(droppedRows))
    moved.eraseArgument(arg);
  op.replaceAllUsesWith(lifted.getResults());
  op.erase();
}

namespace {
struct HoistKeyProjectionsPass
    : heed::impl::HoistKeyProjectionsBase<HoistKeyProjectionsPass> {
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
