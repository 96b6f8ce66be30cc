//===- BlockArgmax.cpp - Long argmaxes as one block per output ------------===//
//
// Part of Heed. See BlockArgmax.h and Passes.td
// (heed-lower-reductions-to-gpu).
//
// attn.argmax lowers to a reduction with two outputs, the maximum and its
// index (f32), whose body keeps the first maximum:
//
//   better = cmpf ogt x, max;  yield select(better, x, max),
//                                    select(better, float(index), at)
//
// At batch 1 it has no parallel dim and would run on one thread (a
// decoder's argmax over a vocabulary of 1000 every step). Here each output
// gets a block: each thread keeps the first maximum of its strided share,
// then a tree through shared memory keeps the larger of two partials, the
// smaller index on a tie, so the result is the first maximum, as the
// sequential loop's; NaNs never win, as there.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LinalgToGPU/BlockArgmax.h"
#include "compiler/Conversion/LinalgToGPU/CopiedOperands.h"
#include "compiler/Conversion/LinalgToGPU/LoopIndices.h"
#include "compiler/Conversion/LinalgToGPU/TreeRounds.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <optional>

using namespace mlir;
using namespace heed;

namespace {

/// A thread's index before it has seen an element: above every real one.
constexpr float kNoIndex = 3.0e38f;

struct ArgmaxMatch {
  linalg::GenericOp op;
  Operation *better, *keepMax, *keepIndex; // the cmpf and the two selects
  Value element, index;                    // x and float(index)
  unsigned dim;                            // the reduction dim
  SmallVector<unsigned> parallel;
  SmallVector<int64_t> sizes;
  /// Copies right before the op that only set the outputs' initial values
  /// (initCopyOf), and where those values are read: the copies' sources,
  /// or the outputs themselves.
  memref::CopyOp initCopies[2];
  Value inits[2];
};

/// Whether `v` is sitofp(index_cast(linalg.index `dim`)).
bool isFloatIndex(Value v, unsigned dim) {
  auto toFloat = v.getDefiningOp<arith::SIToFPOp>();
  auto cast =
      toFloat ? toFloat.getIn().getDefiningOp<arith::IndexCastOp>() : nullptr;
  auto index = cast ? cast.getIn().getDefiningOp<linalg::IndexOp>() : nullptr;
  return index && index.getDim() == dim;
}

std::optional<ArgmaxMatch> match(linalg::GenericOp op, bool threadsInSteps) {
  if (!onStaticF32Buffers(op) || op.getNumDpsInits() != 2 ||
      op.getNumReductionLoops() != 1)
    return std::nullopt;
  ArgmaxMatch m{op, nullptr, nullptr, nullptr, {}, {}, 0, {}, {}};
  m.sizes = op.getStaticLoopRanges();
  for (auto [d, it] : llvm::enumerate(op.getIteratorTypesArray())) {
    if (it == utils::IteratorType::parallel)
      m.parallel.push_back(d);
    else
      m.dim = d;
  }
  int64_t outputs = 1;
  for (unsigned d : m.parallel)
    outputs *= m.sizes[d];
  if (!wantsBlockReduction(m.sizes[m.dim], outputs,
                           threadsInSteps && inLoopStep(op)))
    return std::nullopt;

  Block &body = op.getRegion().front();
  unsigned inputs = op.getNumDpsInputs();
  BlockArgument max = body.getArgument(inputs),
                at = body.getArgument(inputs + 1);
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto keepMax = yield.getOperand(0).getDefiningOp<arith::SelectOp>();
  auto keepIndex = yield.getOperand(1).getDefiningOp<arith::SelectOp>();
  if (!keepMax || !keepIndex ||
      keepMax.getCondition() != keepIndex.getCondition() ||
      keepMax.getFalseValue() != max || keepIndex.getFalseValue() != at)
    return std::nullopt;
  auto better = keepMax.getCondition().getDefiningOp<arith::CmpFOp>();
  if (!better || better.getPredicate() != arith::CmpFPredicate::OGT ||
      better.getLhs() != keepMax.getTrueValue() || better.getRhs() != max ||
      !isFloatIndex(keepIndex.getTrueValue(), m.dim))
    return std::nullopt;
  // The running maximum and index feed only the comparison and selects.
  for (OpOperand &use : max.getUses())
    if (use.getOwner() != better && use.getOwner() != keepMax)
      return std::nullopt;
  if (!at.hasOneUse())
    return std::nullopt;
  // Everything else is pure and region-free (cloned per element).
  for (Operation &inner : body.without_terminator())
    if (inner.getNumRegions() != 0 || !isMemoryEffectFree(&inner))
      return std::nullopt;
  m.better = better;
  m.keepMax = keepMax;
  m.keepIndex = keepIndex;
  m.element = keepMax.getTrueValue();
  m.index = keepIndex.getTrueValue();
  for (unsigned i = 0; i < 2; ++i) {
    m.initCopies[i] = initCopyOf(op, i, m.parallel.size());
    m.inits[i] =
        m.initCopies[i] ? m.initCopies[i].getSource() : op.getDpsInits()[i];
  }
  return m;
}

void lower(const ArgmaxMatch &m) {
  linalg::GenericOp op = m.op;
  OpBuilder b(op);
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  int64_t length = m.sizes[m.dim];
  int64_t threads =
      std::min<int64_t>(kBlockReductionMaxThreads, llvm::PowerOf2Ceil(length));
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto c = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto f = [&](OpBuilder &b, float v) -> Value {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  // (ov, oi) replaces (mv, mi): larger, or equal with a smaller index.
  auto takes = [&](OpBuilder &b, Value ov, Value oi, Value mv,
                   Value mi) -> Value {
    using P = arith::CmpFPredicate;
    return arith::OrIOp::create(
        b, loc, arith::CmpFOp::create(b, loc, P::OGT, ov, mv),
        arith::AndIOp::create(b, loc,
                              arith::CmpFOp::create(b, loc, P::OEQ, ov, mv),
                              arith::CmpFOp::create(b, loc, P::OLT, oi, mi)));
  };

  BlockProgram p;
  p.grid = {1, 1, 1};
  for (unsigned d : m.parallel)
    p.grid[0] *= m.sizes[d];
  p.threads = threads;
  p.shared = {MemRefType::get({threads}, f32), MemRefType::get({threads}, f32)};
  useTreeRounds(p, loc, threads);
  p.init = [&](OpBuilder &b, const BlockPlace &place) {
    SmallVector<Value> values(m.sizes.size());
    splitLinearIndex(b, loc, place.block[0], m.parallel, m.sizes, values);
    auto loop =
        scf::ForOp::create(b, loc, place.thread, c(b, length), c(b, threads),
                           ValueRange{f(b, -INFINITY), f(b, kNoIndex)});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      values[m.dim] = loop.getInductionVar();
      IRMapping map;
      Block &body = op.getRegion().front();
      for (unsigned i = 0; i < op.getNumDpsInputs(); ++i)
        map.map(body.getArgument(i),
                memref::LoadOp::create(b, loc, op.getDpsInputs()[i],
                                       operandIndices(maps[i], values)));
      for (Operation &inner : body.without_terminator()) {
        if (&inner == m.better || &inner == m.keepMax || &inner == m.keepIndex)
          continue;
        if (auto index = dyn_cast<linalg::IndexOp>(inner))
          map.map(index.getResult(), values[index.getDim()]);
        else
          b.clone(inner, map);
      }
      Value x = map.lookupOrDefault(m.element);
      Value at = map.lookupOrDefault(m.index);
      Value mv = loop.getRegionIterArg(0), mi = loop.getRegionIterArg(1);
      // Strictly greater: within a thread's share, in increasing order, the
      // first maximum stays.
      Value better =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, mv);
      scf::YieldOp::create(
          b, loc,
          ValueRange{arith::SelectOp::create(b, loc, better, x, mv),
                     arith::SelectOp::create(b, loc, better, at, mi)});
    }
    for (unsigned i = 0; i < 2; ++i)
      memref::StoreOp::create(b, loc, loop.getResult(i), place.shared[i],
                              place.thread);
    return SmallVector<Value>{};
  };
  p.compute = [&](OpBuilder &b, const BlockPlace &place, Value round,
                  ValueRange) {
    // The partial a stride above replaces this thread's when it wins.
    emitTreeRound(
        b, loc, threads, place.thread, round, [&](OpBuilder &b, Value other) {
          auto load = [&](unsigned i, Value at) -> Value {
            return memref::LoadOp::create(b, loc, place.shared[i], at);
          };
          Value mv = load(0, place.thread), mi = load(1, place.thread);
          Value ov = load(0, other), oi = load(1, other);
          Value take = takes(b, ov, oi, mv, mi);
          std::pair<Value, Value> picks[] = {{ov, mv}, {oi, mi}};
          for (auto [i, pick] : llvm::enumerate(picks))
            memref::StoreOp::create(
                b, loc,
                arith::SelectOp::create(b, loc, take, pick.first, pick.second),
                place.shared[i], place.thread);
        });
    return SmallVector<Value>{};
  };
  p.finish = [&](OpBuilder &b, const BlockPlace &place, ValueRange) {
    emitOnThreadZero(b, loc, place.thread, [&](OpBuilder &b) {
      SmallVector<Value> values(m.sizes.size());
      splitLinearIndex(b, loc, place.block[0], m.parallel, m.sizes, values);
      Value maxOut = op.getDpsInits()[0], atOut = op.getDpsInits()[1];
      SmallVector<Value> maxAt = operandIndices(maps[maps.size() - 2], values);
      SmallVector<Value> atAt = operandIndices(maps.back(), values);
      Value tv = memref::LoadOp::create(b, loc, place.shared[0], c(b, 0));
      Value ti = memref::LoadOp::create(b, loc, place.shared[1], c(b, 0));
      Value mv = memref::LoadOp::create(b, loc, m.inits[0], maxAt);
      Value mi = memref::LoadOp::create(b, loc, m.inits[1], atAt);
      // The elements come after what the outputs held: strictly greater.
      Value take =
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, tv, mv);
      memref::StoreOp::create(
          b, loc, arith::SelectOp::create(b, loc, take, tv, mv), maxOut, maxAt);
      memref::StoreOp::create(
          b, loc, arith::SelectOp::create(b, loc, take, ti, mi), atOut, atAt);
    });
  };
  emitBlockProgramLaunch(b, loc, p);
  op.erase();
  for (memref::CopyOp copy : m.initCopies)
    if (copy)
      copy->erase();
}

} // namespace

bool heed::lowerBlockArgmax(linalg::GenericOp op, bool threadsInSteps) {
  std::optional<ArgmaxMatch> m = match(op, threadsInSteps);
  if (!m)
    return false;
  lower(*m);
  return true;
}
