//===- TiledContraction.cpp - Matrix products as shared-memory tiles ------===//
//
// Part of Heed. See Passes.td (heed-lower-contractions-to-gpu): the pass,
// and its f32 kernel (each thread a 4 × 4 tile of outputs in registers).
// The contractions it takes are Contraction.h's; the tensor-core kernel
// is MmaContraction.cpp.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LinalgToGPU/Contraction.h"
#include "compiler/Conversion/LinalgToGPU/TreeRounds.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Conversion/LoopsToGPU/WarpMma.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
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
constexpr int64_t kTileM = kBlockTileM, kTileN = kBlockTileN, kTileK = 16,
                  kThreadTile = 4;
constexpr int64_t kThreadsN = kTileN / kThreadTile; // 16
constexpr int64_t kThreads = (kTileM / kThreadTile) * kThreadsN;
/// Shared rows padded to keep vector loads aligned and stores spread.
constexpr int64_t kPad = 4;
/// Blocks along y and z: CUDA's limit.
constexpr int64_t kMaxGridYZ = 65535;

/// The kernel pieces of one contraction, emitted at a builder's position.
class TileBody {
public:
  TileBody(OpBuilder &b, Location loc, const Contraction &c)
      : b(b), loc(loc), c(c) {}

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  VectorType vec() { return VectorType::get({kThreadTile}, b.getF32Type()); }

  /// Element e of operand `i`'s tile of the K step from `k0` ([TK][TM +
  /// pad] of a, [TK][TN + pad] of b, for the block's M or N tile
  /// `tileIndex`; zero past M, N or K), and its store into `tile`.
  /// Consecutive elements are consecutive K where the operand's last axis
  /// is a K dim (that is where its memory is contiguous), consecutive M
  /// or N otherwise.
  Value readTile(unsigned i, Value tileIndex, Value batch, Value k0, Value e) {
    auto [kk, ff] = tilePlace(i, e);
    Value first = arith::MulIOp::create(b, loc, tileIndex, idx(side(i)));
    ContractionAccess access(b, loc, c);
    SmallVector<Value> values = access.batchValues(batch);
    return access.load(i, values, arith::AddIOp::create(b, loc, first, ff),
                       arith::AddIOp::create(b, loc, k0, kk));
  }
  void writeTile(unsigned i, Value e, Value x, Value tile) {
    auto [kk, ff] = tilePlace(i, e);
    memref::StoreOp::create(b, loc, x, tile, ValueRange{kk, ff});
  }
  static int64_t side(unsigned i) { return i == 0 ? kTileM : kTileN; }

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
    ContractionAccess access(b, loc, c);
    SmallVector<Value> values = access.batchValues(block[2]);
    for (int64_t i = 0; i < kThreadTile; ++i) {
      Value m = arith::AddIOp::create(b, loc, row0, idx(i));
      for (int64_t j = 0; j < kThreadTile; ++j) {
        Value n = arith::AddIOp::create(b, loc, col0, idx(j));
        access.store(values, m, n,
                     vector::ExtractOp::create(b, loc, acc[i], j));
      }
    }
  }

private:
  /// Element e's (K, M or N) in operand `i`'s tile.
  std::pair<Value, Value> tilePlace(unsigned i, Value e) {
    bool kFastest = c.kContiguous(i);
    Value kk = kFastest
                   ? Value(arith::RemUIOp::create(b, loc, e, idx(kTileK)))
                   : Value(arith::DivUIOp::create(b, loc, e, idx(side(i))));
    Value ff = kFastest
                   ? Value(arith::DivUIOp::create(b, loc, e, idx(kTileK)))
                   : Value(arith::RemUIOp::create(b, loc, e, idx(side(i))));
    return {kk, ff};
  }

  OpBuilder &b;
  Location loc;
  const Contraction &c;
};

} // namespace

void heed::emitTiledContraction(const Contraction &c, bool prefetch,
                                llvm::DenseSet<Operation *> &erased) {
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
  // a's tile is block y's, b's block x's.
  OperandTiles tiles;
  tiles.elements = {kTileK * kTileM, kTileK * kTileN};
  tiles.read = [&c](OpBuilder &b, const BlockPlace &place, unsigned i, Value k0,
                    Value e) {
    return TileBody(b, b.getUnknownLoc(), c)
        .readTile(i, place.block[i == 0 ? 1 : 0], place.block[2], k0, e);
  };
  tiles.write = [&c](OpBuilder &b, const BlockPlace &place, unsigned i, Value e,
                     Value x) {
    TileBody(b, b.getUnknownLoc(), c).writeTile(i, e, x, place.shared[i]);
  };
  setOperandTileCopies(p, tiles, prefetch);
  p.compute = [&](OpBuilder &b, const BlockPlace &place, Value,
                  ValueRange acc) {
    return TileBody(b, loc, c).multiply(place.thread, place.shared[0],
                                        place.shared[1], acc);
  };
  p.finish = [&](OpBuilder &b, const BlockPlace &place, ValueRange acc) {
    TileBody(b, loc, c).accumulate(place.thread, place.block, acc);
  };
  emitBlockProgramLaunch(b, loc, p);
  ContractionAccess::erase(c, erased);
}

namespace {

struct LowerContractionsToGPUPass
    : heed::impl::LowerContractionsToGPUBase<LowerContractionsToGPUPass> {
  using LowerContractionsToGPUBase::LowerContractionsToGPUBase;

  void runOnOperation() override {
    FailureOr<Type> parsed =
        parsePrecision(getOperation(), "heed-lower-contractions-to-gpu", precision);
    if (failed(parsed))
      return signalPassFailure();
    Type element = *parsed;
    std::vector<Contraction> found;
    getOperation().walk([&](linalg::GenericOp op) {
      std::optional<Contraction> c = matchContraction(op, kMinSide);
      if (c && llvm::divideCeil(c->size(c->m), kBlockTileM) <= kMaxGridYZ &&
          c->size(c->batch) <= kMaxGridYZ &&
          !(c->size(c->k) <= stepThreadTerms && inLoopStep(op)))
        found.push_back(*c);
    });
    // A product's epilogue may be what the next product's parts were
    // computed by (erased with the first): that next product then reads
    // its operand whole.
    llvm::DenseSet<Operation *> erased;
    for (Contraction c : found) {
      for (std::optional<Concatenation> &parts : c.parts)
        if (parts && llvm::any_of(parts->producers, [&](linalg::GenericOp p) {
              return p && erased.contains(p);
            }))
          parts.reset();
      if (element)
        emitMmaContraction(c, onHost, element, prefetch, erased);
      else
        emitTiledContraction(c, prefetch, erased);
    }
  }
};

} // namespace
