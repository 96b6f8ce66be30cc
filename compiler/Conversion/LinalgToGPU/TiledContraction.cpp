//===- TiledContraction.cpp - Matrix products as shared-memory tiles ------===//
//
// Part of Heed. See Passes.td (heed-lower-contractions-to-gpu).
//
// A contraction `out[...] += a[...] · b[...]` (a linalg.generic on buffers
// whose maps are projected permutations) is a batch of matrix products
// once its loop dims are grouped: batch dims (in a, b and out), M (a and
// out), N (b and out), K (reduction, in a and b). Each group is one linear
// index, split back into its dims (row-major, in loop order) wherever an
// operand is read or written, so any layout the maps describe works.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LinalgToGPU/LoopIndices.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Passes.h"
#include "compiler/Transforms/BufferRoots.h"
#include "compiler/Transforms/MultiplyAccumulate.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/MathExtras.h"

namespace heed {
#define GEN_PASS_DEF_LOWERCONTRACTIONSTOGPU
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// Output tile of a block (TM × TN), its K step, and each thread's share
/// (a 4 × 4 register tile: 256 threads).
constexpr int64_t kTileM = 64, kTileN = 64, kTileK = 16, kThreadTile = 4;
constexpr int64_t kThreadsN = kTileN / kThreadTile; // 16
constexpr int64_t kThreads = (kTileM / kThreadTile) * kThreadsN;
/// Shared rows padded to keep vector loads aligned and stores spread.
constexpr int64_t kPad = 4;
/// Smaller products stay one thread per output element.
constexpr int64_t kMinSide = 16;
/// Blocks along y and z: CUDA's limit.
constexpr int64_t kMaxGridYZ = 65535;

/// The loop dims of a contraction by role, each in loop order.
struct Contraction {
  linalg::GenericOp op;
  SmallVector<AffineMap> maps; // a, b, out
  SmallVector<Value> operands; // a, b, out
  /// A copy right before the op that fills out with its init (a bias
  /// broadcast per row): the kernel reads the init from its source instead
  /// and the copy goes, one pass over out the fewer.
  memref::CopyOp initCopy;
  Value init; // the buffer the init is read from: out, or the copy's source
  /// An elementwise op right after the product that reads out (a bias's
  /// activation, a residual add): computed in the kernel's epilogue from
  /// each output element as it is written.
  linalg::GenericOp consumer;
  SmallVector<unsigned> batch, m, n, k;
  SmallVector<int64_t> sizes; // every loop dim's size
  int64_t size(ArrayRef<unsigned> dims) const {
    int64_t s = 1;
    for (unsigned d : dims)
      s *= sizes[d];
    return s;
  }
};

/// Whether `e`, the op after the product `c`, can run in its epilogue: all
/// parallel over out's shape, reading out (with the identity map) and
/// writing its init with the identity map, each other input read where no
/// thread of the kernel writes (or, if it is its own init, only at the
/// element the thread writes).
bool fusesAsEpilogue(const Contraction &c, linalg::GenericOp e) {
  Value out = c.operands[2];
  auto outType = cast<MemRefType>(out.getType());
  if (!e || !e.hasPureBufferSemantics() || e.getNumDpsInits() != 1 ||
      e.getNumLoops() != outType.getRank() ||
      e.getNumParallelLoops() != e.getNumLoops())
    return false;
  Value dest = e.getDpsInits()[0];
  auto destType = dyn_cast<MemRefType>(dest.getType());
  if (!destType || destType.getShape() != outType.getShape() ||
      !destType.getElementType().isF32() ||
      !e.getMatchingIndexingMap(e.getDpsInitOperand(0)).isIdentity())
    return false;
  for (Operation &inner : e.getRegion().front().without_terminator())
    if (inner.getNumRegions() != 0 || !isMemoryEffectFree(&inner) ||
        isa<linalg::IndexOp>(inner))
      return false;
  // The kernel reads a, b and the init everywhere: nothing may write them.
  Value destRoot = rootBuffer(dest);
  for (Value read : {c.operands[0], c.operands[1], c.init})
    if (rootBuffer(read) == destRoot && read != dest)
      return false;
  if (rootBuffer(c.operands[0]) == destRoot ||
      rootBuffer(c.operands[1]) == destRoot)
    return false;
  bool readsOut = false;
  for (OpOperand *input : e.getDpsInputOperands()) {
    Value v = input->get();
    auto type = dyn_cast<MemRefType>(v.getType());
    AffineMap map = e.getMatchingIndexingMap(input);
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        !map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return false;
    if (v == out) {
      if (!map.isIdentity())
        return false;
      readsOut = true;
      continue;
    }
    // Another thread writes out (and dest) elsewhere: read neither, except
    // dest itself at the thread's own element.
    Value root = rootBuffer(v);
    if (root == rootBuffer(out) ||
        (root == destRoot && !(v == dest && map.isIdentity())))
      return false;
  }
  return readsOut;
}

std::optional<Contraction> matchContraction(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || !isMultiplyAccumulate(op))
    return std::nullopt;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<MemRefType>(operand.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return std::nullopt;
  }
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  Contraction c;
  c.op = op;
  c.maps = maps;
  c.operands = llvm::to_vector(op->getOperands());
  c.init = c.operands[2];
  if (auto copy = dyn_cast_or_null<memref::CopyOp>(op->getPrevNode()))
    if (copy.getTarget() == c.operands[2] &&
        copy.getSource() != c.operands[0] &&
        copy.getSource() != c.operands[1] &&
        cast<MemRefType>(copy.getSource().getType()).getShape() ==
            cast<MemRefType>(c.operands[2].getType()).getShape()) {
      c.initCopy = copy;
      c.init = copy.getSource();
    }
  auto next = dyn_cast_or_null<linalg::GenericOp>(op->getNextNode());
  if (fusesAsEpilogue(c, next))
    c.consumer = next;
  c.sizes = op.getStaticLoopRanges();
  auto uses = [&](AffineMap map, unsigned d) { return map.isFunctionOfDim(d); };
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < op.getNumLoops(); ++d) {
    bool inA = uses(maps[0], d), inB = uses(maps[1], d),
         inOut = uses(maps[2], d);
    bool parallel = iterators[d] == utils::IteratorType::parallel;
    if (parallel != inOut)
      return std::nullopt;
    if (!parallel && inA && inB)
      c.k.push_back(d);
    else if (parallel && inA && inB)
      c.batch.push_back(d);
    else if (parallel && inA)
      c.m.push_back(d);
    else if (parallel && inB)
      c.n.push_back(d);
    else
      return std::nullopt; // a dim of one operand only, or of out only
  }
  if (c.m.empty() || c.n.empty() || c.k.empty() || c.size(c.m) < kMinSide ||
      c.size(c.n) < kMinSide || c.size(c.k) < kMinSide ||
      llvm::divideCeil(c.size(c.m), kTileM) > kMaxGridYZ ||
      c.size(c.batch) > kMaxGridYZ)
    return std::nullopt;
  return c;
}

/// The kernel pieces of one contraction, emitted at a builder's position.
class TileBody {
public:
  TileBody(OpBuilder &b, Location loc, const Contraction &c)
      : b(b), loc(loc), c(c) {}

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cf(float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  VectorType vec() { return VectorType::get({kThreadTile}, b.getF32Type()); }

  void split(Value linear, ArrayRef<unsigned> dims,
             SmallVectorImpl<Value> &values) {
    splitLinearIndex(b, loc, linear, dims, c.sizes, values);
  }
  SmallVector<Value> indices(unsigned i, ArrayRef<Value> values) {
    return operandIndices(c.maps[i], values);
  }

  /// Thread `thread`'s share of the K step from `k0`: the TK × TM tile of
  /// a into `aTile` ([TK][TM + pad]) and the TK × TN tile of b into
  /// `bTile`; zeros past M, N or K.
  void loadTiles(Value thread, ArrayRef<Value> block, Value k0, Value aTile,
                 Value bTile) {
    loadTile(0, c.m, kTileM, block[1], thread, block[2], k0, aTile);
    loadTile(1, c.n, kTileN, block[0], thread, block[2], k0, bTile);
  }

  /// The thread's 4 × 4 accumulators after the K step's tiles.
  SmallVector<Value> multiply(Value thread, Value aTile, Value bTile,
                              ValueRange acc) {
    Value row = arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, thread, idx(kThreadsN)),
        idx(kThreadTile));
    Value col = arith::MulIOp::create(
        b, loc, arith::RemUIOp::create(b, loc, thread, idx(kThreadsN)),
        idx(kThreadTile));
    auto loop = scf::ForOp::create(b, loc, idx(0), idx(kTileK), idx(1), acc);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value kk = loop.getInductionVar();
    Value a = vector::LoadOp::create(b, loc, vec(), aTile, ValueRange{kk, row});
    Value x = vector::LoadOp::create(b, loc, vec(), bTile, ValueRange{kk, col});
    SmallVector<Value> next;
    for (int64_t i = 0; i < kThreadTile; ++i) {
      Value ai = vector::ExtractOp::create(b, loc, a, i);
      next.push_back(vector::FMAOp::create(
          b, loc, vector::BroadcastOp::create(b, loc, vec(), ai), x,
          loop.getRegionIterArg(i)));
    }
    scf::YieldOp::create(b, loc, next);
    return SmallVector<Value>(loop.getResults());
  }

  /// out = init + the thread's accumulators, for the elements inside
  /// M × N.
  void accumulate(Value thread, ArrayRef<Value> block, ValueRange acc) {
    Value out = c.operands[2];
    Value row0 = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, block[1], idx(kTileM)),
        arith::MulIOp::create(
            b, loc, arith::DivUIOp::create(b, loc, thread, idx(kThreadsN)),
            idx(kThreadTile)));
    Value col0 = arith::AddIOp::create(
        b, loc, arith::MulIOp::create(b, loc, block[0], idx(kTileN)),
        arith::MulIOp::create(
            b, loc, arith::RemUIOp::create(b, loc, thread, idx(kThreadsN)),
            idx(kThreadTile)));
    // The batch dims once, a row's dims per row, a column's per column
    // (each group writes its own dims of `values`).
    SmallVector<Value> values(c.sizes.size());
    split(block[2], c.batch, values);
    for (int64_t i = 0; i < kThreadTile; ++i) {
      Value m = arith::AddIOp::create(b, loc, row0, idx(i));
      split(m, c.m, values);
      for (int64_t j = 0; j < kThreadTile; ++j) {
        Value n = arith::AddIOp::create(b, loc, col0, idx(j));
        split(n, c.n, values);
        Value inside = arith::AndIOp::create(b, loc, lessThan(m, c.size(c.m)),
                                             lessThan(n, c.size(c.n)));
        auto branch = scf::IfOp::create(b, loc, TypeRange{}, inside, false);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&branch.getThenRegion().front());
        SmallVector<Value> at = indices(2, values);
        Value sum = arith::AddFOp::create(
            b, loc, memref::LoadOp::create(b, loc, c.init, at),
            vector::ExtractOp::create(b, loc, acc[i], j));
        memref::StoreOp::create(b, loc, sum, out, at);
        if (c.consumer)
          applyConsumer(sum, at);
      }
    }
  }

private:
  /// The fused consumer's body for the output element `value` at `at`
  /// (its loop dims are out's axes), stored to its init.
  void applyConsumer(Value value, ArrayRef<Value> at) {
    linalg::GenericOp e = c.consumer;
    Block &body = e.getRegion().front();
    IRMapping map;
    for (OpOperand &operand : e->getOpOperands()) {
      BlockArgument arg = body.getArgument(operand.getOperandNumber());
      if (arg.use_empty())
        continue;
      map.map(arg,
              operand.get() == c.operands[2]
                  ? value
                  : memref::LoadOp::create(
                        b, loc, operand.get(),
                        operandIndices(e.getMatchingIndexingMap(&operand), at))
                        .getResult());
    }
    for (Operation &inner : body.without_terminator())
      b.clone(inner, map);
    Value result = map.lookupOrDefault(body.getTerminator()->getOperand(0));
    memref::StoreOp::create(b, loc, result, e.getDpsInits()[0], at);
  }

  Value lessThan(Value v, int64_t bound) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, v,
                                 idx(bound));
  }

  /// Operand `i`'s tile [TK][side + pad] for its free dims `dims` (M or N)
  /// from `tileIndex · side` and K from `k0`. Consecutive threads take
  /// consecutive K where the operand's last axis is a K dim (that is where
  /// its memory is contiguous), consecutive M or N otherwise.
  void loadTile(unsigned i, ArrayRef<unsigned> dims, int64_t side,
                Value tileIndex, Value thread, Value batch, Value k0,
                Value tile) {
    AffineMap map = c.maps[i];
    unsigned last = cast<AffineDimExpr>(map.getResults().back()).getPosition();
    bool kFastest = llvm::is_contained(c.k, last);
    int64_t free = c.size(dims), depth = c.size(c.k);
    Value first = arith::MulIOp::create(b, loc, tileIndex, idx(side));
    auto loop =
        scf::ForOp::create(b, loc, thread, idx(kTileK * side), idx(kThreads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value e = loop.getInductionVar();
    Value kk = kFastest ? Value(arith::RemUIOp::create(b, loc, e, idx(kTileK)))
                        : Value(arith::DivUIOp::create(b, loc, e, idx(side)));
    Value ff = kFastest ? Value(arith::DivUIOp::create(b, loc, e, idx(kTileK)))
                        : Value(arith::RemUIOp::create(b, loc, e, idx(side)));
    Value f = arith::AddIOp::create(b, loc, first, ff);
    Value k = arith::AddIOp::create(b, loc, k0, kk);
    Value inside =
        arith::AndIOp::create(b, loc, lessThan(f, free), lessThan(k, depth));
    // Every thread loads (from a clamped, valid element) and keeps zero
    // outside: no divergent branch around the load.
    SmallVector<Value> values(c.sizes.size());
    split(batch, c.batch, values);
    split(arith::MinUIOp::create(b, loc, f, idx(free - 1)), dims, values);
    split(arith::MinUIOp::create(b, loc, k, idx(depth - 1)), c.k, values);
    Value x = memref::LoadOp::create(b, loc, c.operands[i], indices(i, values));
    x = arith::SelectOp::create(b, loc, inside, x, cf(0.0f));
    memref::StoreOp::create(b, loc, x, tile, ValueRange{kk, ff});
  }

  OpBuilder &b;
  Location loc;
  const Contraction &c;
};

void lowerContraction(const Contraction &c, bool onHost) {
  linalg::GenericOp op = c.op;
  OpBuilder b(op);
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  BlockProgram p;
  // Blocks over (N tiles, M tiles, batch), 256 threads of 4 × 4 outputs.
  p.grid = {static_cast<int64_t>(llvm::divideCeil(c.size(c.n), kTileN)),
            static_cast<int64_t>(llvm::divideCeil(c.size(c.m), kTileM)),
            c.size(c.batch)};
  p.threads = kThreads;
  // The K step's tiles of a and b, K-major.
  p.shared = {MemRefType::get({kTileK, kTileM + kPad}, f32),
              MemRefType::get({kTileK, kTileN + kPad}, f32)};
  // Four rows of four accumulators.
  p.state.assign(kThreadTile, VectorType::get({kThreadTile}, f32));
  p.step = kTileK;
  p.init = [&](OpBuilder &b, const BlockPlace &) {
    Value zero = arith::ConstantOp::create(
        b, loc,
        DenseElementsAttr::get(VectorType::get({kThreadTile}, f32), 0.0f));
    return SmallVector<Value>(kThreadTile, zero);
  };
  p.end = [&](OpBuilder &b, const BlockPlace &) -> Value {
    return arith::ConstantIndexOp::create(b, loc, c.size(c.k));
  };
  p.load = [&](OpBuilder &b, const BlockPlace &place, Value k0) {
    TileBody(b, loc, c).loadTiles(place.thread, place.block, k0,
                                  place.shared[0], place.shared[1]);
  };
  p.compute = [&](OpBuilder &b, const BlockPlace &place, Value,
                  ValueRange acc) {
    return TileBody(b, loc, c).multiply(place.thread, place.shared[0],
                                        place.shared[1], acc);
  };
  p.finish = [&](OpBuilder &b, const BlockPlace &place, ValueRange acc) {
    TileBody(b, loc, c).accumulate(place.thread, place.block, acc);
  };
  if (onHost)
    emitBlockProgramOnHost(b, loc, p);
  else
    emitBlockProgramLaunch(b, loc, p);
  op.erase();
  if (memref::CopyOp copy = c.initCopy)
    copy.erase();
  if (linalg::GenericOp consumer = c.consumer)
    consumer.erase();
}

struct LowerContractionsToGPUPass
    : heed::impl::LowerContractionsToGPUBase<LowerContractionsToGPUPass> {
  using LowerContractionsToGPUBase::LowerContractionsToGPUBase;

  void runOnOperation() override {
    std::vector<Contraction> found;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Contraction> c = matchContraction(op))
        found.push_back(*c);
    });
    for (const Contraction &c : found)
      lowerContraction(c, onHost);
  }
};

} // namespace
