//===- CarryPickedRows.cpp - Pick loop-invariant rows once per change -----===//
//
// Part of Heed. A decoding loop that runs its steps on its running rows
// (frontends/dsl/MLIRGenLiveRows.cpp) picks, in every chunk of every step,
// the chunk's rows of each value from before the loop (the encoder's output,
// its hoisted key projection): a copy of every running row of them each
// step. The running rows change only when a row finishes. This pass picks
// each such value once in the order of all running rows, carries the
// result through the loop, and picks again only when that order changed;
// a chunk reads its rows as a slice of the carried copy.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "llvm/ADT/MapVector.h"

namespace heed {
#define GEN_PASS_DEF_CARRYPICKEDROWS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// The chunks of one loop that stops: `order` [N] lists the running rows,
/// chunk c of `chunk` rows is order[c·chunk, (c+1)·chunk); `picks` maps each
/// value from before the loop to its gathers by a chunk's rows.
struct ChunkedPicks {
  Value order;
  int64_t chunk = 0;
  llvm::MapVector<Value, SmallVector<attn::GatherRowsOp>> picks;
};

/// Whether `offset` is `iv · chunk` for the induction variable of an
/// scf.for directly in `block`.
bool isChunkStart(OpFoldResult offset, int64_t chunk, Block *block) {
  auto value = dyn_cast<Value>(offset);
  auto mul = value ? value.getDefiningOp<arith::MulIOp>() : nullptr;
  if (!mul)
    return false;
  for (auto [iv, size] : {std::pair(mul.getLhs(), mul.getRhs()),
                          std::pair(mul.getRhs(), mul.getLhs())}) {
    auto arg = dyn_cast<BlockArgument>(iv);
    auto loop =
        arg ? dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp()) : nullptr;
    std::optional<int64_t> c = getConstantIntValue(size);
    if (loop && loop.getInductionVar() == arg && loop->getBlock() == block &&
        c && *c == chunk)
      return true;
  }
  return false;
}

ChunkedPicks findPicks(scf::WhileOp loop) {
  ChunkedPicks found;
  Block *after = &loop.getAfter().front();
  loop.getAfter().walk([&](attn::GatherRowsOp gather) {
    Value input = gather.getInput();
    if (loop->isAncestor(input.getParentRegion()->getParentOp()))
      return; // computed in the loop
    auto slice = gather.getRows().getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || slice.getSource().getParentBlock() != after ||
        slice.getSourceType().getRank() != 1 || !slice.hasUnitStride())
      return;
    int64_t chunk = slice.getResultType().getDimSize(0);
    if (!isChunkStart(slice.getMixedOffsets()[0], chunk, after))
      return;
    if (found.order &&
        (found.order != slice.getSource() || found.chunk != chunk))
      return; // another order: leave it
    found.order = slice.getSource();
    found.chunk = chunk;
    found.picks[input].push_back(gather);
  });
  return found;
}

/// Whether the f32 tensors `x` and `y` ([N]) hold the same values.
Value sameOrder(OpBuilder &b, Location loc, Value x, Value y) {
  int64_t n = cast<RankedTensorType>(x.getType()).getDimSize(0);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = arith::ConstantIndexOp::create(b, loc, n);
  Value yes = arith::ConstantIntOp::create(b, loc, 1, 1);
  auto loop = scf::ForOp::create(
      b, loc, zero, count, one, ValueRange{yes},
      [&](OpBuilder &lb, Location l, Value i, ValueRange same) {
        Value u = tensor::ExtractOp::create(lb, l, x, ValueRange{i});
        Value v = tensor::ExtractOp::create(lb, l, y, ValueRange{i});
        Value eq =
            arith::CmpFOp::create(lb, l, arith::CmpFPredicate::OEQ, u, v);
        scf::YieldOp::create(
            lb, l, ValueRange{arith::AndIOp::create(lb, l, same[0], eq)});
      });
  return loop.getResult(0);
}

void carryPicks(scf::WhileOp loop, ChunkedPicks &found) {
  Location loc = loop.getLoc();
  OpBuilder b(loop);
  auto orderType = cast<RankedTensorType>(found.order.getType());
  int64_t rows = orderType.getDimSize(0);
  // New iteration arguments: the previous order (-1s: the first step
  // picks) and one picked copy per value.
  SmallVector<Value> inits(loop.getInits());
  SmallVector<Type> types(loop.getResultTypes());
  inits.push_back(arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(orderType, -1.0f)));
  for (auto &[input, gathers] : found.picks) {
    auto type = cast<RankedTensorType>(input.getType());
    SmallVector<int64_t> shape(type.getShape());
    shape[0] = rows;
    inits.push_back(
        tensor::EmptyOp::create(b, loc, shape, type.getElementType()));
  }
  SmallVector<Type> extra;
  for (Value v : ArrayRef(inits).drop_front(loop.getInits().size()))
    extra.push_back(v.getType());
  // (The loop's results are what its condition forwards, not necessarily
  // its iteration arguments: the new ones are forwarded after them.)
  unsigned results = loop->getNumResults();
  types.append(extra);
  auto carried = scf::WhileOp::create(b, loc, types, inits);
  carried.getBefore().takeBody(loop.getBefore());
  carried.getAfter().takeBody(loop.getAfter());
  SmallVector<Location> locs(extra.size(), loc);
  Block &before = carried.getBefore().front();
  SmallVector<BlockArgument> passed(before.addArguments(extra, locs));
  auto condition = cast<scf::ConditionOp>(before.getTerminator());
  condition.getArgsMutable().append(
      SmallVector<Value>(passed.begin(), passed.end()));
  Block &after = carried.getAfter().front();
  SmallVector<BlockArgument> args(after.addArguments(extra, locs));

  // After the order is known: pick again only if it changed.
  b.setInsertionPointAfterValue(found.order);
  Value same = sameOrder(b, loc, found.order, args[0]);
  SmallVector<Value> next = {found.order};
  for (auto [k, entry] : llvm::enumerate(found.picks)) {
    auto &[input, gathers] = entry;
    Value previous = args[k + 1];
    auto pick = scf::IfOp::create(
        b, loc, same,
        [&](OpBuilder &t, Location l) {
          scf::YieldOp::create(t, l, ValueRange{previous});
        },
        [&](OpBuilder &e, Location l) {
          Value all = attn::GatherRowsOp::create(e, l, input, found.order);
          scf::YieldOp::create(e, l, ValueRange{all});
        });
    Value copy = pick.getResult(0);
    next.push_back(copy);
    // Each chunk's gather becomes a slice of the copy at the chunk's start.
    for (attn::GatherRowsOp gather : gathers) {
      OpBuilder at(gather);
      auto slice = gather.getRows().getDefiningOp<tensor::ExtractSliceOp>();
      RankedTensorType type = gather.getType();
      SmallVector<OpFoldResult> offsets(type.getRank(), at.getIndexAttr(0)),
          sizes, strides(type.getRank(), at.getIndexAttr(1));
      offsets[0] = slice.getMixedOffsets()[0];
      for (int64_t d : type.getShape())
        sizes.push_back(at.getIndexAttr(d));
      Value rowsOfCopy = tensor::ExtractSliceOp::create(
          at, gather.getLoc(), type, copy, offsets, sizes, strides);
      gather.replaceAllUsesWith(rowsOfCopy);
      gather.erase();
    }
  }
  auto yield = cast<scf::YieldOp>(after.getTerminator());
  yield.getResultsMutable().append(next);
  loop.replaceAllUsesWith(carried.getResults().take_front(results));
  loop.erase();
}

struct CarryPickedRowsPass
    : heed::impl::CarryPickedRowsBase<CarryPickedRowsPass> {
  void runOnOperation() override {
    SmallVector<scf::WhileOp> loops;
    getOperation().walk([&](scf::WhileOp loop) { loops.push_back(loop); });
    for (scf::WhileOp loop : loops) {
      ChunkedPicks found = findPicks(loop);
      if (found.order && !found.picks.empty())
        carryPicks(loop, found);
    }
  }
};

} // namespace
