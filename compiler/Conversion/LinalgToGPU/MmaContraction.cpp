//===- MmaContraction.cpp - Matrix products on tensor cores ---------------===//
//
// Part of Heed. heed-lower-contractions-to-gpu{precision=bf16|f16|tf32x3}:
// a contraction (Contraction.h) as blocks of 64 × 64 outputs over (N
// tiles, M tiles, batch), 8 warps each, warp w computing rows 16 (w / 2)
// and columns 32 (w % 2) of the tile as four 16 × 8 tiles of f32
// accumulators (mma.sync.m16n8k16, or in f32 three m16n8k8.tf32 per
// product and 8 of K: WarpMma.h). K runs in steps of 16 (32 in f32): all
// threads stage the step's 64 × 16 (× 32) tiles of a and b in shared
// memory, rounded to the multiplicands' type (f32: as they are) and
// K-contiguous, rows padded by 8 elements so that the words each fragment
// load reads lie in distinct banks (a stride of 12 words for ldmatrix's 8
// rows; of 40 in f32 for each half-warp's 8-byte loads of 4 rows); then
// each warp runs its products.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LinalgToGPU/Contraction.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Conversion/LoopsToGPU/IndexMath.h"
#include "compiler/Conversion/LoopsToGPU/WarpMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace heed;

namespace {

constexpr int64_t kTileM = kBlockTileM, kTileN = kBlockTileN;
constexpr int64_t kWarps = 8, kWarpSize = 32, kThreads = kWarps * kWarpSize;
/// A warp's share of the block tile: 16 rows × 32 columns, four products
/// of 8 columns.
constexpr int64_t kWarpRows = 16, kWarpCols = 32, kWarpsN = kTileN / kWarpCols;
constexpr int64_t kProducts = kWarpCols / 8;
/// K a step: 16 (one m16n8k16 product) in bf16 and f16; 32 in f32 (four
/// m16n8k8 steps of three products each: twice the K a barrier pair, from
/// 20 KB of tiles).
int64_t tileK(Type element) { return element.isF32() ? 32 : 16; }
/// Shared rows: K plus 8 elements (a stride of 12 words in 16 bits, of 40
/// in f32: 8 modulo the 32 banks).
int64_t rowLength(Type element) { return tileK(element) + 8; }

class MmaBody : IndexMath {
public:
  MmaBody(OpBuilder &b, Location loc, const Contraction &c, Type element)
      : IndexMath(b, loc), c(c), element(element) {}

  /// Element e of operand `i`'s 64 × K tile of the K step from `k0`, and
  /// its store into `tile` ([64][K + 8], K last), rounded. Consecutive
  /// elements are consecutive K where the operand's memory runs along K,
  /// consecutive M or N otherwise.
  std::pair<Value, Value> tilePlace(unsigned i, Value e) {
    int64_t side = i == 0 ? kTileM : kTileN;
    bool kFastest = c.kContiguous(i);
    Value kk = kFastest ? rem(e, tileK(element)) : div(e, side);
    Value ff = kFastest ? div(e, tileK(element)) : rem(e, side);
    return {ff, kk};
  }
  Value readTile(unsigned i, Value tileIndex, Value batch, Value k0, Value e) {
    int64_t side = i == 0 ? kTileM : kTileN;
    auto [ff, kk] = tilePlace(i, e);
    ContractionAccess access(b, loc, c);
    SmallVector<Value> values = access.batchValues(batch);
    return access.load(i, values, add(mul(tileIndex, side), ff), add(k0, kk));
  }
  void writeTile(unsigned i, Value e, Value x, Value tile) {
    auto [ff, kk] = tilePlace(i, e);
    if (!element.isF32())
      x = arith::TruncFOp::create(b, loc, element, x);
    memref::StoreOp::create(b, loc, x, tile, ValueRange{ff, kk});
  }
  static int64_t tileElements(unsigned i, Type element) {
    return tileK(element) * (i == 0 ? kTileM : kTileN);
  }

  /// The warp's row and column in the block tile.
  std::pair<Value, Value> warpOrigin(Value thread) {
    Value warp = div(thread, kWarpSize);
    return {mul(div(warp, kWarpsN), kWarpRows),
            mul(rem(warp, kWarpsN), kWarpCols)};
  }

  /// The thread's accumulators after the step's four products. The
  /// fragments come by ldmatrix (WarpMma.h): A's from the warp's 16 rows,
  /// lane l pointing at row l % 16, K 8 (l / 16) (matrix r: A's register
  /// r); B's per 8 columns, lane l at column l % 8, K 8 ((l / 8) % 2).
  /// In f32, per 8 of K: A's fragment by two 8-byte loads, B's by one a
  /// product (f32RowPairsFragment).
  SmallVector<Value> multiply(Value thread, Value aTile, Value bTile,
                              ValueRange acc, bool onHost) {
    auto [row0, col0] = warpOrigin(thread);
    if (element.isF32()) {
      SmallVector<Value> out(acc.begin(), acc.end());
      for (int64_t k0 = 0; k0 < tileK(element); k0 += mmaDepth(element)) {
        SmallVector<WarpFragment> loadB;
        for (int64_t j = 0; j < kProducts; ++j)
          loadB.push_back(f32RowPairsFragment(loc, onHost, bTile,
                                              add(col0, idx(8 * j)), idx(k0),
                                              /*rowsOfA=*/false));
        out = emitWarpMmas(
            b, loc, onHost, element, rem(thread, kWarpSize),
            f32RowPairsFragment(loc, onHost, aTile, row0, idx(k0), true), loadB,
            out);
      }
      return out;
    }
    LdMatrixSource aSource{
        aTile, /*transpose=*/false, [&, row0 = row0](OpBuilder &, Value l) {
          return std::make_pair(add(row0, rem(l, 16)), mul(div(l, 16), 8));
        }};
    SmallVector<WarpFragment> loadB;
    for (int64_t j = 0; j < kProducts; ++j) {
      LdMatrixSource bSource{bTile, /*transpose=*/false,
                             [&, j, col0 = col0](OpBuilder &, Value l) {
                               return std::make_pair(
                                   add(add(col0, idx(8 * j)), rem(l, 8)),
                                   mul(rem(div(l, 8), 2), 8));
                             }};
      loadB.push_back(ldmatrixFragment(loc, onHost, element, bSource, 2));
    }
    return emitWarpMmas(b, loc, onHost, element, rem(thread, kWarpSize),
                        ldmatrixFragment(loc, onHost, element, aSource, 4),
                        loadB, acc);
  }

  /// out = init + accumulators: accumulator i of product j is row
  /// g + 8 (i / 2), column 8j + 2t + i % 2 of the warp's tile.
  void accumulate(Value thread, ArrayRef<Value> block, ValueRange acc) {
    auto [row0, col0] = warpOrigin(thread);
    Value lane = rem(thread, kWarpSize);
    Value rowBase = add(add(mul(block[1], kTileM), row0), div(lane, 4));
    Value colBase = add(add(mul(block[0], kTileN), col0), mul(rem(lane, 4), 2));
    ContractionAccess access(b, loc, c);
    SmallVector<Value> values = access.batchValues(block[2]);
    for (int64_t j = 0; j < kProducts; ++j)
      for (int64_t i = 0; i < 4; ++i)
        access.store(values, add(rowBase, idx(8 * (i / 2))),
                     add(colBase, idx(8 * j + i % 2)),
                     vector::ExtractOp::create(b, loc, acc[j], i));
  }

private:
  const Contraction &c;
  Type element;
};

} // namespace

void heed::emitMmaContraction(const Contraction &c, bool onHost, Type element,
                              bool prefetch,
                              llvm::DenseSet<Operation *> &erased) {
  linalg::GenericOp op = c.op;
  OpBuilder b(op);
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  VectorType accType = VectorType::get({4}, f32);
  BlockProgram p;
  p.grid = {static_cast<int64_t>(llvm::divideCeil(c.size(c.n), kTileN)),
            static_cast<int64_t>(llvm::divideCeil(c.size(c.m), kTileM)),
            c.size(c.batch)};
  p.threads = kThreads;
  // The K step's tiles of a and b, K last, in the multiplicands' type.
  p.shared = {MemRefType::get({kTileM, rowLength(element)}, element),
              MemRefType::get({kTileN, rowLength(element)}, element)};
  // A lane's 4 accumulators of each of its warp's 4 products.
  p.state.assign(kProducts, accType);
  p.step = tileK(element);
  p.init = [&](OpBuilder &b, const BlockPlace &) {
    Value zero = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(accType, 0.0f));
    return SmallVector<Value>(kProducts, zero);
  };
  p.end = [&](OpBuilder &b, const BlockPlace &) -> Value {
    return arith::ConstantIndexOp::create(b, loc, c.size(c.k));
  };
  // a's tile is block y's, b's block x's.
  OperandTiles tiles;
  tiles.elements = {MmaBody::tileElements(0, element),
                    MmaBody::tileElements(1, element)};
  tiles.read = [&c, element](OpBuilder &b, const BlockPlace &place, unsigned i,
                             Value k0, Value e) {
    return MmaBody(b, b.getUnknownLoc(), c, element)
        .readTile(i, place.block[i == 0 ? 1 : 0], place.block[2], k0, e);
  };
  tiles.write = [&c, element](OpBuilder &b, const BlockPlace &place, unsigned i,
                              Value e, Value x) {
    MmaBody(b, b.getUnknownLoc(), c, element)
        .writeTile(i, e, x, place.shared[i]);
  };
  setOperandTileCopies(p, tiles, prefetch);
  p.compute = [&](OpBuilder &b, const BlockPlace &place, Value,
                  ValueRange acc) {
    return MmaBody(b, loc, c, element)
        .multiply(place.thread, place.shared[0], place.shared[1], acc, onHost);
  };
  p.finish = [&](OpBuilder &b, const BlockPlace &place, ValueRange acc) {
    MmaBody(b, loc, c, element).accumulate(place.thread, place.block, acc);
  };
  if (onHost)
    emitBlockProgramOnHost(b, loc, p);
  else
    emitBlockProgramLaunch(b, loc, p);
  ContractionAccess::erase(c, erased);
}
