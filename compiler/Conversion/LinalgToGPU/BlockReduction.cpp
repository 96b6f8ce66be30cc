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
// An input that copies right before the op assemble from parts (an LSTM
// cell's [x, h]) is read from the parts, and those copies go too.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LinalgToGPU/BlockArgmax.h"
#include "compiler/Conversion/LinalgToGPU/CopiedOperands.h"
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
  /// Each input read from the parts copies assemble it from, where they do.
  std::vector<std::optional<Concatenation>> concatenated;
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

std::optional<BlockReductionMatch> match(linalg::GenericOp op,
                                         bool threadsInSteps) {
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
  BlockReductionMatch m{op, combiner, element, *identity, {},
                        {}, {},       {},      {},        {}};
  m.sizes = op.getStaticLoopRanges();
  for (auto [d, it] : llvm::enumerate(op.getIteratorTypesArray()))
    (it == utils::IteratorType::parallel ? m.parallel : m.reduction)
        .push_back(d);
  if (!wantsBlockReduction(m.size(m.reduction), m.size(m.parallel),
                           threadsInSteps && inLoopStep(op)))
    return std::nullopt;
  m.init = op.getDpsInits()[0];
  if (memref::CopyOp copy = initCopyOf(op, 0, m.parallel.size())) {
    m.initCopy = copy;
    m.init = copy.getSource();
  }
  for (Value input : op.getDpsInputs())
    m.concatenated.push_back(concatenationOf(op, input));
  return m;
}

/// The combiner applied to `x` and `y` (a clone of the body's).
Value combine(OpBuilder &b, const BlockReductionMatch &m, Value x, Value y) {
  IRMapping map;
  map.map(m.combiner->getOperand(0), x);
  map.map(m.combiner->getOperand(1), y);
  return b.clone(*m.combiner, map)->getResult(0);
}

/// Outputs a block reduces side by side when an operand's memory runs along
/// the last parallel dim (a matrix-vector product with its weight [K, N]):
/// a block of threads along the reduction would read one float per 32-byte
/// sector of it, a block over 8 neighbouring outputs reads whole sectors. 1
/// otherwise.
constexpr int64_t kColumnTile = 8;
int64_t outputsPerBlock(const BlockReductionMatch &m) {
  if (m.parallel.empty()) // one output
    return 1;
  unsigned last = m.parallel.back();
  if (m.sizes[last] < kColumnTile)
    return 1;
  linalg::GenericOp op = m.op;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (OpOperand *input : op.getDpsInputOperands()) {
    AffineMap map = maps[input->getOperandNumber()];
    auto type = cast<MemRefType>(input->get().getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (map.getNumResults() == 0 ||
        map.getResults().back() != getAffineDimExpr(last, op.getContext()) ||
        failed(type.getStridesAndOffset(strides, offset)) ||
        strides.back() != 1)
      continue;
    // The operand spans the reduction too (a matrix, not a broadcast row).
    if (llvm::any_of(m.reduction,
                     [&](unsigned d) { return map.isFunctionOfDim(d); }))
      return kColumnTile;
  }
  return 1;
}

/// Loads per thread issued before their combines (the loop over a thread's
/// share is unrolled by this): in a loop each load would wait for the one
/// before.
constexpr int64_t kUnroll = 8;

/// Lowers `m`; the element-wise ops it computes in the kernel instead (and
/// erases) go into `erased`.
void lower(const BlockReductionMatch &m, llvm::DenseSet<Operation *> &erased) {
  linalg::GenericOp op = m.op;
  OpBuilder b(op);
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  int64_t length = m.size(m.reduction), outputs = m.size(m.parallel);
  // A block: `tile` neighbouring outputs (thread % tile) times `slices`
  // strided shares of the reduction (thread / tile).
  int64_t tile = outputsPerBlock(m);
  int64_t threads = std::min<int64_t>(kBlockReductionMaxThreads,
                                      tile * llvm::PowerOf2Ceil(length));
  int64_t slices = threads / tile;
  int64_t trips = llvm::divideCeil(length, slices);
  int64_t unroll = std::min<int64_t>(kUnroll, trips);
  int64_t rounds = llvm::divideCeil(trips, unroll);
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  auto c = [&](OpBuilder &b, int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  // The block's output for thread `thread`, and whether it is one.
  auto outputOf = [&](OpBuilder &b,
                      const BlockPlace &place) -> std::pair<Value, Value> {
    Value output = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, place.block[0], c(b, tile)),
        arith::RemUIOp::create(b, loc, place.thread, c(b, tile)));
    Value valid = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                        output, c(b, outputs));
    return {arith::MinUIOp::create(b, loc, output, c(b, outputs - 1)), valid};
  };

  BlockProgram p;
  p.grid = {int64_t(llvm::divideCeil(outputs, tile)), 1, 1};
  p.threads = threads;
  // The threads' partial results.
  p.shared = {MemRefType::get({threads}, f32)};
  // The tree: log2(slices) rounds, each halving the shares.
  useTreeRounds(p, loc, slices);
  p.init = [&](OpBuilder &b, const BlockPlace &place) {
    SmallVector<Value> values(m.sizes.size());
    splitLinearIndex(b, loc, outputOf(b, place).first, m.parallel, m.sizes,
                     values);
    Value slice = arith::DivUIOp::create(b, loc, place.thread, c(b, tile));
    Value identity =
        arith::ConstantOp::create(b, loc, b.getF32FloatAttr(m.identity));
    // Element `r` of the share: r = slice + j slices for j below trips (the
    // identity past the reduction's end, read at its last element).
    auto element = [&](OpBuilder &b, Value j) -> Value {
      Value r = arith::AddIOp::create(
          b, loc, slice, arith::MulIOp::create(b, loc, j, c(b, slices)));
      Value inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, r,
                                           c(b, length));
      splitLinearIndex(b, loc,
                       arith::MinUIOp::create(b, loc, r, c(b, length - 1)),
                       m.reduction, m.sizes, values);
      IRMapping map;
      Block &body = op.getRegion().front();
      for (unsigned i = 0; i < op.getNumDpsInputs(); ++i) {
        SmallVector<Value> at = operandIndices(maps[i], values);
        map.map(body.getArgument(i),
                m.concatenated[i]
                    ? loadConcatenated(b, loc, *m.concatenated[i], at)
                    : memref::LoadOp::create(b, loc, op.getDpsInputs()[i], at)
                          .getResult());
      }
      for (Operation &inner : body.without_terminator())
        if (&inner != m.combiner)
          b.clone(inner, map);
      Value x = map.lookupOrDefault(m.element);
      if (length == rounds * unroll * slices)
        return x;
      return arith::SelectOp::create(b, loc, inside, x, identity);
    };
    auto loop = scf::ForOp::create(b, loc, c(b, 0), c(b, rounds * unroll),
                                   c(b, unroll), ValueRange{identity});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      SmallVector<Value> xs;
      for (int64_t u = 0; u < unroll; ++u)
        xs.push_back(element(
            b, arith::AddIOp::create(b, loc, loop.getInductionVar(), c(b, u))));
      Value acc = loop.getRegionIterArg(0);
      for (Value x : xs)
        acc = combine(b, m, acc, x);
      scf::YieldOp::create(b, loc, acc);
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
  // Threads below `tile` (slice 0) hold their output's total.
  p.finish = [&](OpBuilder &b, const BlockPlace &place, ValueRange) {
    Value output, valid;
    std::tie(output, valid) = outputOf(b, place);
    Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                        place.thread, c(b, tile));
    auto branch =
        scf::IfOp::create(b, loc, TypeRange{},
                          arith::AndIOp::create(b, loc, first, valid), false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
    SmallVector<Value> values(m.sizes.size());
    splitLinearIndex(b, loc, output, m.parallel, m.sizes, values);
    Value out = op.getDpsInits()[0];
    SmallVector<Value> at = operandIndices(maps.back(), values);
    Value total = memref::LoadOp::create(b, loc, place.shared[0], place.thread);
    Value result =
        combine(b, m, memref::LoadOp::create(b, loc, m.init, at), total);
    memref::StoreOp::create(b, loc, result, out, at);
  };
  emitBlockProgramLaunch(b, loc, p);
  op.erase();
  if (m.initCopy)
    m.initCopy->erase();
  eraseConcatenations(m.concatenated, erased);
}

struct LowerReductionsToGPUPass
    : heed::impl::LowerReductionsToGPUBase<LowerReductionsToGPUPass> {
  using LowerReductionsToGPUBase::LowerReductionsToGPUBase;

  void runOnOperation() override {
    std::vector<BlockReductionMatch> found;
    std::vector<linalg::GenericOp> others;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<BlockReductionMatch> m = match(op, threadsInSteps))
        found.push_back(*m);
      else
        others.push_back(op);
    });
    llvm::DenseSet<Operation *> erased;
    for (const BlockReductionMatch &m : found)
      lower(m, erased);
    // Argmaxes (two outputs: BlockArgmax.cpp).
    for (linalg::GenericOp op : others)
      if (!erased.contains(op.getOperation()))
        lowerBlockArgmax(op, threadsInSteps);
  }
};

} // namespace
