//===- BlockReduction.cpp - Long reductions as one block per output -------===//
//
// Part of Heed. See Passes.td (heed-lower-reductions-to-gpu).
//
// A reduction whose body is `out = combine(out, x)`, x computed from the
// inputs alone and combine associative (addf, mulf, maximumf, minimumf,
// maxnumf, minnumf), reduces per thread from the combiner's identity, then
// across the block through shared memory, and combines the result with
// `out` once (or with the buffer a copy right before the op fills `out`
// from: a bias broadcast into the accumulator costs no launch of its own).
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LinalgToGPU/BlockArgmax.h"
#include "compiler/Conversion/LinalgToGPU/LoopIndices.h"
#include "compiler/Conversion/LinalgToGPU/TreeRounds.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Passes.h"
#include "compiler/Transforms/BufferRoots.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

namespace heed {
#define GEN_PASS_DEF_LOWERREDUCTIONSTOGPU
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

struct BlockReductionMatch {
  linalg::GenericOp op;
  Operation *combiner; // out = combiner(out, x)
  Value element;       // x, from the inputs alone
  float identity;      // the combiner's identity
  SmallVector<unsigned> parallel, reduction;
  SmallVector<int64_t> sizes;
  /// A copy right before the op that fills `out` (a bias broadcast) and
  /// the buffer it copies: the kernel starts from that instead, one launch
  /// fewer.
  memref::CopyOp initCopy;
  Value init;
  int64_t size(ArrayRef<unsigned> dims) const {
    int64_t s = 1;
    for (unsigned d : dims)
      s *= sizes[d];
    return s;
  }
};

std::optional<float> identityOf(Operation *op) {
  if (isa<arith::AddFOp>(op))
    return 0.0f;
  if (isa<arith::MulFOp>(op))
    return 1.0f;
  if (isa<arith::MaximumFOp, arith::MaxNumFOp>(op))
    return -INFINITY;
  if (isa<arith::MinimumFOp, arith::MinNumFOp>(op))
    return INFINITY;
  return std::nullopt;
}

/// Whether `copy` only sets the initial value of every output of `m`'s op:
/// it writes the op's init, which the op (one block per output, every
/// output) reads nowhere else and overwrites everywhere, from a buffer the
/// op does not write.
bool fillsEveryOutput(const BlockReductionMatch &m, memref::CopyOp copy) {
  linalg::GenericOp op = m.op;
  Value out = op.getDpsInits()[0];
  AffineMap outMap = op.getIndexingMapsArray().back();
  if (copy.getTarget() != out ||
      cast<MemRefType>(copy.getSource().getType()).getShape() !=
          cast<MemRefType>(out.getType()).getShape() ||
      !outMap.isProjectedPermutation() ||
      outMap.getNumResults() != m.parallel.size())
    return false;
  Value root = rootBuffer(out);
  if (rootBuffer(copy.getSource()) == root)
    return false;
  return llvm::none_of(op.getDpsInputs(),
                       [&](Value in) { return rootBuffer(in) == root; });
}

std::optional<BlockReductionMatch> match(linalg::GenericOp op) {
  if (!onStaticF32Buffers(op) || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0)
    return std::nullopt;
  Block &body = op.getRegion().front();
  BlockArgument out = body.getArguments().back();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  Operation *combiner = yield.getOperand(0).getDefiningOp();
  if (!combiner || combiner->getBlock() != &body ||
      combiner->getNumOperands() != 2 || !out.hasOneUse() ||
      out.getUses().begin()->getOwner() != combiner)
    return std::nullopt;
  std::optional<float> identity = identityOf(combiner);
  if (!identity)
    return std::nullopt;
  Value element = combiner->getOperand(combiner->getOperand(0) == out ? 1 : 0);
  // Everything else is pure and region-free (cloned per element).
  for (Operation &inner : body.without_terminator())
    if (&inner != combiner &&
        (inner.getNumRegions() != 0 || !isMemoryEffectFree(&inner) ||
         isa<linalg::IndexOp>(inner)))
      return std::nullopt;
  BlockReductionMatch m{op, combiner, element, *identity, {}, {}, {}, {}, {}};
  m.sizes = op.getStaticLoopRanges();
  for (auto [d, it] : llvm::enumerate(op.getIteratorTypesArray()))
    (it == utils::IteratorType::parallel ? m.parallel : m.reduction)
        .push_back(d);
  if (m.size(m.reduction) < kBlockReductionMinLength ||
      m.size(m.parallel) > kBlockReductionMaxOutputs)
    return std::nullopt;
  m.init = op.getDpsInits()[0];
  if (auto copy = dyn_cast_or_null<memref::CopyOp>(op->getPrevNode()))
    if (fillsEveryOutput(m, copy)) {
      m.initCopy = copy;
      m.init = copy.getSource();
    }
  return m;
}

/// The combiner applied to `x` and `y` (a clone of the body's).
Value combine(OpBuilder &b, const BlockReductionMatch &m, Value x, Value y) {
  IRMapping map;
  map.map(m.combiner->getOperand(0), x);
  map.map(m.combiner->getOperand(1), y);
  return b.clone(*m.combiner, map)->getResult(0);
}

void lower(const BlockReductionMatch &m, bool onHost) {
  linalg::GenericOp op = m.op;
  OpBuilder b(op);
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  int64_t length = m.size(m.reduction);
  int64_t threads =
      std::min<int64_t>(kBlockReductionMaxThreads, llvm::PowerOf2Ceil(length));
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto c = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };

  BlockProgram p;
  // One block per output, each thread a strided share of the reduction.
  p.grid = {m.size(m.parallel), 1, 1};
  p.threads = threads;
  // The threads' partial results.
  p.shared = {MemRefType::get({threads}, f32)};
  // The tree: log2(threads) rounds, each halving the partials.
  useTreeRounds(p, loc, threads);
  p.init = [&](OpBuilder &b, const BlockPlace &place) {
    SmallVector<Value> values(m.sizes.size());
    splitLinearIndex(b, loc, place.block[0], m.parallel, m.sizes, values);
    Value identity =
        arith::ConstantOp::create(b, loc, b.getF32FloatAttr(m.identity));
    auto loop = scf::ForOp::create(b, loc, place.thread, c(b, length),
                                   c(b, threads), ValueRange{identity});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      splitLinearIndex(b, loc, loop.getInductionVar(), m.reduction, m.sizes,
                       values);
      IRMapping map;
      Block &body = op.getRegion().front();
      for (unsigned i = 0; i < op.getNumDpsInputs(); ++i)
        map.map(body.getArgument(i),
                memref::LoadOp::create(b, loc, op.getDpsInputs()[i],
                                       operandIndices(maps[i], values)));
      for (Operation &inner : body.without_terminator())
        if (&inner != m.combiner)
          b.clone(inner, map);
      Value x = map.lookupOrDefault(m.element);
      scf::YieldOp::create(b, loc, combine(b, m, loop.getRegionIterArg(0), x));
    }
    memref::StoreOp::create(b, loc, loop.getResult(0), place.shared[0],
                            place.thread);
    return SmallVector<Value>{};
  };
  p.compute = [&](OpBuilder &b, const BlockPlace &place, Value round,
                  ValueRange) {
    emitTreeRound(
        b, loc, threads, place.thread, round, [&](OpBuilder &b, Value other) {
          Value mine =
              memref::LoadOp::create(b, loc, place.shared[0], place.thread);
          Value theirs = memref::LoadOp::create(b, loc, place.shared[0], other);
          memref::StoreOp::create(b, loc, combine(b, m, mine, theirs),
                                  place.shared[0], place.thread);
        });
    return SmallVector<Value>{};
  };
  p.finish = [&](OpBuilder &b, const BlockPlace &place, ValueRange) {
    emitOnThreadZero(b, loc, place.thread, [&](OpBuilder &b) {
      SmallVector<Value> values(m.sizes.size());
      splitLinearIndex(b, loc, place.block[0], m.parallel, m.sizes, values);
      Value out = op.getDpsInits()[0];
      SmallVector<Value> at = operandIndices(maps.back(), values);
      Value total = memref::LoadOp::create(b, loc, place.shared[0], c(b, 0));
      Value result =
          combine(b, m, memref::LoadOp::create(b, loc, m.init, at), total);
      memref::StoreOp::create(b, loc, result, out, at);
    });
  };
  if (onHost)
    emitBlockProgramOnHost(b, loc, p);
  else
    emitBlockProgramLaunch(b, loc, p);
  op.erase();
  if (m.initCopy)
    m.initCopy->erase();
}

struct LowerReductionsToGPUPass
    : heed::impl::LowerReductionsToGPUBase<LowerReductionsToGPUPass> {
  using LowerReductionsToGPUBase::LowerReductionsToGPUBase;

  void runOnOperation() override {
    std::vector<BlockReductionMatch> found;
    std::vector<linalg::GenericOp> others;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<BlockReductionMatch> m = match(op))
        found.push_back(*m);
      else
        others.push_back(op);
    });
    for (const BlockReductionMatch &m : found)
      lower(m, onHost);
    // Argmaxes (two outputs: BlockArgmax.cpp).
    for (linalg::GenericOp op : others)
      lowerBlockArgmax(op, onHost);
  }
};

} // namespace
