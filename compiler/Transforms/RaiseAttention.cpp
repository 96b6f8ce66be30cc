//===- RaiseAttention.cpp - Keras-style attention to attn.attention -------===//
//
// Part of Heed. Matches, from the end:
//
//   context = reduce<sum>(binary<mul>(values, alphas), axis = 1)  [B, Dv]
//   alphas  = softmax(energies, axis = 1)                          [B, T, 1]
//   energies = f(repeat(query, axis = 1, count = T), keys)         [B, T, 1]
//
// where f is a DAG of per-row ops (dense, activations, broadcasting
// arithmetic, concat on the feature axis) over exactly one repeated query
// and one keys tensor. f becomes the score region, applied to rows.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "compiler/Transforms/RowOps.h"

#include "mlir/IR/Dominance.h"

#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"

namespace heed {
#define GEN_PASS_DEF_RAISEATTENTION
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}

/// Whether `v` is a [B, T, ...] tensor.
bool hasRowPrefix(Value v, int64_t batch, int64_t steps) {
  ArrayRef<int64_t> s = shapeOf(v);
  return s.size() >= 3 && s[0] == batch && s[1] == steps;
}

struct Match {
  attn::ReduceOp reduce;
  attn::SoftmaxOp softmax;
  Value values, query, keys;
  SmallVector<Operation *> chain; // topological order
};

/// Collects the score DAG feeding `energies`; fails unless it is per-row
/// over one query (through a repeat) and one keys tensor.
LogicalResult collectScore(Value energies, int64_t batch, int64_t steps,
                           Match &m) {
  llvm::SetVector<Operation *> seen;
  SmallVector<Value> work{energies};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    Operation *def = v.getDefiningOp();
    if (auto rep = dyn_cast_or_null<attn::RepeatOp>(def);
        rep && rep.getAxis() == 1 && int64_t(rep.getCount()) == steps &&
        shapeOf(rep.getInput()).size() == 2) {
      if (m.query && m.query != rep.getInput())
        return failure(); // two different queries
      m.query = rep.getInput();
      continue;
    }
    if (!def || !isRowOp(def) || isa<attn::RepeatOp>(def)) {
      if (!hasRowPrefix(v, batch, steps) || shapeOf(v).size() != 3)
        return failure();
      if (m.keys && m.keys != v)
        return failure(); // two different key tensors
      m.keys = v;
      continue;
    }
    if (seen.contains(def))
      continue;
    if (isa<arith::ConstantOp>(def)) {
      if (shapeOf(v).size() >= 3)
        return failure();
      continue; // constants broadcast on trailing axes; cloned as-is
    }
    if (!hasRowPrefix(v, batch, steps))
      return failure();
    seen.insert(def);
    // Dense weights and biases are captured, not part of the row data.
    unsigned dataOperands =
        isa<attn::DenseOp>(def) ? 1 : def->getNumOperands();
    for (unsigned i = 0; i < dataOperands; ++i) {
      Value operand = def->getOperand(i);
      if (shapeOf(operand).size() < 3 && !operand.getDefiningOp<attn::RepeatOp>()) {
        // A constant of rank 1 broadcasts on the feature axis (e.g. a
        // scalar). One of rank 2 spans the steps too (avg_pool1d's [T, 1]
        // divisors): its rows differ by step, so there is no row form.
        if (!operand.getDefiningOp<arith::ConstantOp>() ||
            shapeOf(operand).size() > 1)
          return failure();
        continue;
      }
      work.push_back(operand);
    }
  }
  if (!m.query || !m.keys)
    return failure();
  // Every intermediate must be private to the score, or it would be
  // computed twice.
  for (Operation *op : seen)
    for (Operation *user : op->getUsers())
      if (!seen.contains(user) && user != m.softmax)
        return failure();
  // Topological order = block order (all ops are in one block).
  m.chain.assign(seen.begin(), seen.end());
  llvm::sort(m.chain, [](Operation *a, Operation *b) {
    return a->isBeforeInBlock(b);
  });
  return success();
}

FailureOr<Match> matchAttention(attn::ReduceOp reduce) {
  Match m;
  m.reduce = reduce;
  auto inShape = shapeOf(reduce.getInput());
  if (reduce.getKind() != attn::ReduceKind::sum || reduce.getKeepdim() ||
      inShape.size() != 3 || attn::normalizeAxis(reduce.getAxis(), 3) != 1)
    return failure();
  auto mul = reduce.getInput().getDefiningOp<attn::BinaryOp>();
  if (!mul || mul.getKind() != attn::BinaryKind::mul)
    return failure();
  for (int side = 0; side < 2; ++side) {
    Value a = side ? mul.getRhs() : mul.getLhs();
    Value v = side ? mul.getLhs() : mul.getRhs();
    auto sm = a.getDefiningOp<attn::SoftmaxOp>();
    ArrayRef<int64_t> as = shapeOf(a), vs = shapeOf(v);
    if (!sm || as.size() != 3 || as[2] != 1 ||
        attn::normalizeAxis(sm.getAxis(), 3) != 1 || vs.size() != 3 ||
        vs[0] != as[0] || vs[1] != as[1])
      continue;
    m.softmax = sm;
    m.values = v;
    if (ShapedType::isDynamic(as[1])) // the repeat count must match T
      return failure();
    if (failed(collectScore(sm.getInput(), as[0], as[1], m)))
      return failure();
    return m;
  }
  return failure();
}

LogicalResult raise(Match &m) {
  // The op replaces the softmax (whose users may precede the reduce), so
  // the values must be available there.
  // (Inside a decoder loop the values usually come from before the loop.)
  if (!DominanceInfo().properlyDominates(m.values, m.softmax))
    return success(); // leave this subgraph unfused
  OpBuilder b(m.softmax);
  Location loc = m.softmax.getLoc();
  auto rowType = [](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return RankedTensorType::get({t.getShape().back()}, t.getElementType());
  };
  auto attention = attn::AttentionOp::create(
      b, loc, m.query, ValueRange{m.keys}, m.values, /*lengths=*/Value(),
      /*previous=*/Value());
  Block *body = new Block();
  attention.getScore().push_back(body);
  Value qRow = body->addArgument(rowType(m.query), m.query.getLoc());
  Value kRow = body->addArgument(rowType(m.keys), m.keys.getLoc());
  OpBuilder rb = OpBuilder::atBlockEnd(body);
  IRMapping map;
  for (Operation *op : m.chain) {
    SmallVector<Value> operands;
    for (Value v : op->getOperands()) {
      if (auto rep = v.getDefiningOp<attn::RepeatOp>(); rep && rep.getInput() == m.query)
        operands.push_back(qRow);
      else if (v == m.keys)
        operands.push_back(kRow);
      else
        operands.push_back(map.lookupOrDefault(v));
    }
    Operation *row = cloneWithRankShift(rb, op, operands, -2);
    if (!row) {
      // An op with no row form: the subgraph stays as it is (the pass
      // raises what it can; nothing here is an error).
      attention.erase();
      return success();
    }
    map.map(op->getResults(), row->getResults());
  }
  attn::YieldOp::create(rb, loc, map.lookup(m.softmax.getInput()));

  // alphas [B, T, 1] stay available to other users (e.g. an output).
  Value alphas = attn::RepeatOp::create(b, loc, attention.getWeights(), 2, 1);
  m.reduce.getResult().replaceAllUsesWith(attention.getContextVector());
  m.softmax.getResult().replaceAllUsesWith(alphas);
  return success();
}

struct RaiseAttentionPass
    : heed::impl::RaiseAttentionBase<RaiseAttentionPass> {
  void runOnOperation() override {
    SmallVector<attn::ReduceOp> candidates;
    getOperation().walk([&](attn::ReduceOp op) { candidates.push_back(op); });
    for (attn::ReduceOp reduce : candidates) {
      FailureOr<Match> m = matchAttention(reduce);
      if (succeeded(m) && failed(raise(*m)))
        return signalPassFailure();
    }
    // The raised chain, the old softmax/mul/reduce are now dead; the
    // canonicalizer in the pipeline removes them.
  }
};

} // namespace
