//===- VectorizeLinalg.cpp - Tile and vectorize static linalg ops ---------===//
//
// Part of Heed. The C++ schedule for CPU code: every static linalg op is cut
// into register-sized tiles (divisors of its leading parallel dims) and
// vectorized with MLIR's linalg::vectorize; LowerVectorOps then brings the
// resulting n-D vector ops down to 1-D forms.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/FastMath.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace heed {
#define GEN_PASS_DEF_VECTORIZELINALG
#define GEN_PASS_DEF_LOWERVECTOROPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// Tile sizes (0 = untiled) for register-sized tiles. First the parallel
/// dims but the innermost (the tile's rows: independent accumulators, each
/// one unrolled 1-D vector op) are cut to at most `maxRows` rows; then the
/// reduction dims (and only if that is not enough, the rows), outermost
/// first, are cut until the tile has at most `limit` elements; last, a long
/// innermost dim (a matrix-vector product's 3072 outputs) is cut, to whole
/// 16-lane vectors where it can be, and a power-of-two number of them.
/// Sizes are divisors of the dims, so every
/// tile is static; a cut reduction dim carries its accumulator from tile to
/// tile. Returns the tile's element count, or limit + 1 when no tiling fits.
int64_t chooseTiles(ArrayRef<int64_t> ranges,
                    ArrayRef<utils::IteratorType> iterators, int64_t limit,
                    int64_t maxRows, SmallVectorImpl<int64_t> &tiles) {
  size_t n = ranges.size();
  tiles.assign(n, 0);
  SmallVector<int64_t> size(ranges);
  auto largestDivisor = [](int64_t of, int64_t atMost) {
    int64_t best = 1;
    for (int64_t d = 1; d <= of && d <= atMost; ++d)
      if (of % d == 0)
        best = d;
    return best;
  };
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < n; ++i) {
    if (iterators[i] != utils::IteratorType::parallel)
      continue;
    int64_t d = largestDivisor(ranges[i], std::max<int64_t>(maxRows / rows, 1));
    if (d != ranges[i])
      tiles[i] = size[i] = d;
    rows *= d;
  }
  auto product = [&] {
    int64_t p = 1;
    for (int64_t s : size)
      p *= s;
    return p;
  };
  // Cut the other (reduction) dims first, keeping the rows; rows only when
  // that is not enough.
  for (bool cutRows : {false, true}) {
    for (size_t i = 0; i + 1 < n && product() > limit; ++i) {
      bool isRow = iterators[i] == utils::IteratorType::parallel;
      if (isRow != cutRows)
        continue;
      int64_t rest = product() / size[i];
      int64_t d = largestDivisor(ranges[i], std::max<int64_t>(limit / rest, 1));
      if (d != size[i])
        tiles[i] = size[i] = d;
    }
  }
  if (n && product() > limit) {
    int64_t rest = product() / size[n - 1];
    int64_t atMost = std::max<int64_t>(limit / rest, 1);
    int64_t d = largestDivisor(ranges[n - 1], atMost);
    // A power-of-two number of 16-lane vectors (see below).
    int64_t lanes = 16;
    while (lanes * 2 <= atMost)
      lanes *= 2;
    for (; lanes >= 16; lanes /= 2)
      if (ranges[n - 1] % lanes == 0) {
        d = lanes;
        break;
      }
    if (d != size[n - 1])
      tiles[n - 1] = size[n - 1] = d;
  }
  // LLVM legalizes a vector of 12 or 20 registers (a GRU's 3·128 gates)
  // through shuffles of widened vectors, 5-8x slower than the same work
  // as whole powers of two: an innermost parallel tile of 16-lane vectors
  // is cut to its largest power-of-two part (384 -> 128, 192 -> 64). An
  // innermost reduction stays whole: LowerVectorOps adds its 16-lane parts
  // before one horizontal reduction per row, where cut tiles would carry a
  // scalar accumulator and reduce every part horizontally (a dot score over
  // 48 features: three reductions per key instead of one).
  if (n && iterators[n - 1] == utils::IteratorType::parallel) {
    int64_t inner = size[n - 1], part = 16;
    if (inner % 16 == 0) {
      while (inner % (part * 2) == 0)
        part *= 2;
      if (part != inner)
        tiles[n - 1] = size[n - 1] = part;
    }
  }
  return product() > limit ? limit + 1 : product();
}

/// A transpose that moves the innermost dim (the keys of an attention
/// transposed to [B, D, T]), by 16 × 16 blocks: each block is 16 rows read
/// along the input's innermost dim, one 16 × 16 vector.transpose (lowered
/// with shuffles, LowerVectorOps) and 16 rows written along the output's.
/// linalg::vectorize would read each output row as a strided gather, one
/// insert per element (1.1 ms for [32, 128, 4, 64]).
LogicalResult vectorizeBlockTranspose(IRRewriter &rw,
                                      linalg::TransposeOp transpose) {
  constexpr int64_t kBlock = 16;
  ArrayRef<int64_t> perm = transpose.getPermutation();
  int64_t rank = perm.size();
  auto inType = cast<RankedTensorType>(transpose.getInput().getType());
  auto outType = cast<RankedTensorType>(transpose.getInit().getType());
  if (rank < 2 || !inType.getElementType().isF32() ||
      !inType.hasStaticShape() || perm.back() == rank - 1)
    return failure();
  // Output dims: `toInner` reads the input's innermost dim; the output's
  // innermost dim reads input dim perm.back().
  int64_t toInner = llvm::find(perm, rank - 1) - perm.begin();
  if (outType.getDimSize(toInner) % kBlock ||
      outType.getDimSize(rank - 1) % kBlock)
    return failure();
  SmallVector<int64_t> tiles(rank, 1);
  tiles[toInner] = tiles[rank - 1] = kBlock;
  scf::SCFTilingOptions options;
  options.setTileSizes(getAsIndexOpFoldResult(rw.getContext(), tiles));
  rw.setInsertionPoint(transpose);
  auto tiled = scf::tileUsingSCF(
      rw, cast<TilingInterface>(transpose.getOperation()), options);
  if (failed(tiled))
    return failure();
  rw.replaceOp(transpose, tiled->replacements);
  auto block = cast<linalg::TransposeOp>(tiled->tiledOps.front());
  Location loc = block.getLoc();
  rw.setInsertionPoint(block);
  // Both tiles have two dims of 16 and unit dims elsewhere: as 2-D
  // tensors, the input block is [perm.back(), innermost] and the output
  // block [toInner, innermost], its transpose.
  auto square = RankedTensorType::get({kBlock, kBlock}, rw.getF32Type());
  auto vecType = VectorType::get({kBlock, kBlock}, rw.getF32Type());
  // The whole tile, rank-reduced to 2-D (extract) or expanded back (insert).
  SmallVector<OpFoldResult> zeros(rank, rw.getIndexAttr(0)),
      ones(rank, rw.getIndexAttr(1));
  auto sizesOf = [&](Value tile) {
    return getAsIndexOpFoldResult(
        rw.getContext(), cast<RankedTensorType>(tile.getType()).getShape());
  };
  auto squareOf = [&](Value tile) -> Value {
    return tensor::ExtractSliceOp::create(rw, loc, square, tile, zeros,
                                          sizesOf(tile), ones);
  };
  Value c0 = arith::ConstantIndexOp::create(rw, loc, 0);
  Value pad = arith::ConstantOp::create(rw, loc, rw.getF32FloatAttr(0.0f));
  Value rows = vector::TransferReadOp::create(
      rw, loc, vecType, squareOf(block.getInput()), ValueRange{c0, c0}, pad,
      ArrayRef<bool>{true, true});
  Value columns =
      vector::TransposeOp::create(rw, loc, rows, ArrayRef<int64_t>{1, 0});
  Value init = block.getInit();
  Value written = vector::TransferWriteOp::create(
                      rw, loc, columns, squareOf(init), ValueRange{c0, c0},
                      ArrayRef<bool>{true, true})
                      .getResult();
  rw.replaceOp(block, tensor::InsertSliceOp::create(rw, loc, written, init,
                                                    zeros, sizesOf(init), ones)
                          .getResult());
  return success();
}

struct VectorizeLinalgPass
    : heed::impl::VectorizeLinalgBase<VectorizeLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    // Weight preparation (transposes, padding, copies) runs once per
    // compilation: its scalar loops cost less than compiling unrolled
    // vector code (an elementwise-lowered 16 x 16 transpose is 512 ops).
    if (getOperation()->hasAttr("heed.weight_preparation"))
      return;
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) { ops.push_back(op); });
    IRRewriter rw(&getContext());
    for (linalg::LinalgOp op : ops) {
      if (!op.hasPureTensorSemantics())
        continue;
      // Generics that read with tensor.extract (a mask reading lengths[b],
      // an embedding gather) stay scalar loops: MLIR 22's gather
      // vectorization emits an invalid vector.shape_cast for some tiles
      // (the decomposed attention mask at batch 5, T = 30), and these ops
      // are small.
      bool extracts = false;
      op->walk([&](tensor::ExtractOp) { extracts = true; });
      if (extracts)
        continue;
      // A permutation that keeps the innermost dim (a head split or merge,
      // [B, T, H, D] -> [B, H, T, D]) copies contiguous rows: LLVM's loop
      // passes make the innermost loop a vector copy. Vector tiles of it
      // were fully unrolled into blocks of hundreds of loads and stores
      // (a head split at T = 16: 512), 25% of a multi-head encoder's
      // compile time, for no speed (measured: docs/benchmarks.md).
      if (auto transpose = dyn_cast<linalg::TransposeOp>(op.getOperation())) {
        if (transpose.getPermutation().back() ==
            int64_t(transpose.getPermutation().size()) - 1)
          continue;
        if (succeeded(vectorizeBlockTranspose(rw, transpose)))
          continue;
      }
      SmallVector<int64_t> ranges = op.getStaticLoopRanges();
      if (llvm::any_of(ranges, ShapedType::isDynamic))
        continue;
      SmallVector<int64_t> tiles;
      int64_t size = chooseTiles(ranges, op.getIteratorTypesArray(),
                                 maxElements, maxRows, tiles);
      if (size > maxElements)
        continue; // a reduction too large for registers: keep the loops
      Operation *target = op;
      if (llvm::any_of(tiles, [](int64_t t) { return t != 0; })) {
        scf::SCFTilingOptions options;
        options.setTileSizes(getAsIndexOpFoldResult(&getContext(), tiles));
        rw.setInsertionPoint(op);
        auto tiled = scf::tileUsingSCF(
            rw, cast<TilingInterface>(op.getOperation()), options);
        if (failed(tiled))
          continue;
        rw.replaceOp(op, tiled->replacements);
        target = tiled->tiledOps.front();
      }
      if (failed(linalg::vectorizeOpPrecondition(target)))
        continue;
      rw.setInsertionPoint(target);
      FailureOr<linalg::VectorizationResult> vectorized =
          linalg::vectorize(rw, target);
      if (succeeded(vectorized))
        rw.replaceOp(target, vectorized->replacements);
    }
  }
};

/// A multi-reduction over the innermost dim only becomes one horizontal
/// `vector.reduction` per row (the generic inner-parallel lowering would
/// transpose it into scalar work). A row of several 16-lane vectors is
/// first added part by part (elementwise), so each row costs one 16-lane
/// horizontal reduction whatever its length.
struct InnermostReductionToRows : OpRewritePattern<vector::MultiDimReductionOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::MultiDimReductionOp op,
                                PatternRewriter &rw) const override {
    VectorType type = op.getSourceVectorType();
    int64_t rank = type.getRank();
    ArrayRef<int64_t> dims = op.getReductionDims();
    if (rank < 2 || dims.size() != 1 || dims[0] != rank - 1 ||
        type.isScalable() || op.isMasked())
      return failure();
    Location loc = op.getLoc();
    int64_t inner = type.getShape().back();
    auto rowsShape = type.getShape().drop_back();
    int64_t rows = 1;
    for (int64_t d : rowsShape)
      rows *= d;
    auto flatType = VectorType::get({rows, inner}, type.getElementType());
    Value flat = vector::ShapeCastOp::create(rw, loc, flatType, op.getSource());
    auto accType = VectorType::get({rows}, type.getElementType());
    Value acc = vector::ShapeCastOp::create(rw, loc, accType, op.getAcc());
    Value result = acc;
    constexpr int64_t lanes = 16;
    bool addParts = inner > lanes && inner % lanes == 0 &&
                    isa<FloatType>(type.getElementType()) &&
                    op.getKind() == vector::CombiningKind::ADD;
    for (int64_t r = 0; r < rows; ++r) {
      Value row = vector::ExtractOp::create(rw, loc, flat, r);
      if (addParts) {
        Value sum;
        for (int64_t part = 0; part < inner; part += lanes) {
          Value piece = vector::ExtractStridedSliceOp::create(
              rw, loc, row, ArrayRef<int64_t>{part}, ArrayRef<int64_t>{lanes},
              ArrayRef<int64_t>{1});
          sum = sum ? arith::AddFOp::create(rw, loc, sum, piece).getResult()
                    : piece;
        }
        row = sum;
      }
      Value init = vector::ExtractOp::create(rw, loc, acc, r);
      Value red = vector::ReductionOp::create(rw, loc, op.getKind(), row, init);
      result = vector::InsertOp::create(rw, loc, red, result, r);
    }
    rw.replaceOpWithNewOp<vector::ShapeCastOp>(op, op.getDestType(), result);
    return success();
  }
};

/// A transfer_read that broadcasts along its innermost vector dim (a
/// matrix-vector product reading x[k] for a tile of outputs: permutation
/// map (d0, d1, d2) -> (d0, d2, 0)) reads the narrower vector and stretches
/// it: one splat per row. MLIR's permutation lowering would read it with
/// the broadcast dim elsewhere and transpose, one extract and insert per
/// element (256 for an 8 x 32 tile).
struct InnermostBroadcastReadToStretch
    : OpRewritePattern<vector::TransferReadOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(vector::TransferReadOp op,
                                PatternRewriter &rw) const override {
    VectorType type = op.getVectorType();
    AffineMap map = op.getPermutationMap();
    int64_t rank = type.getRank();
    if (rank < 2 || type.isScalable() || op.getMask() ||
        !isa<MemRefType>(op.getShapedType()))
      return failure();
    auto last = dyn_cast<AffineConstantExpr>(map.getResult(rank - 1));
    if (!last || last.getValue() != 0 ||
        llvm::any_of(op.getInBoundsValues(), [](bool b) { return !b; }))
      return failure();
    auto narrowType =
        VectorType::get(type.getShape().drop_back(), type.getElementType());
    AffineMap narrowMap = map.dropResult(rank - 1);
    auto read = vector::TransferReadOp::create(
        rw, op.getLoc(), narrowType, op.getBase(), op.getIndices(),
        AffineMapAttr::get(narrowMap), op.getPadding(), /*mask=*/Value(),
        rw.getBoolArrayAttr(SmallVector<bool>(rank - 1, true)));
    SmallVector<int64_t> unitShape(narrowType.getShape());
    unitShape.push_back(1);
    Value column = vector::ShapeCastOp::create(
        rw, op.getLoc(), VectorType::get(unitShape, type.getElementType()),
        read);
    rw.replaceOpWithNewOp<vector::BroadcastOp>(op, type, column);
    return success();
  }
};

struct LowerVectorOpsPass
    : heed::impl::LowerVectorOpsBase<LowerVectorOpsPass> {
  void runOnOperation() override {
    // 16 x 16 f32 blocks (vectorizeBlockTranspose) as AVX-512 shuffles:
    // 64 unpack/shuffle instructions per block instead of 256 element
    // moves. Other transposes keep the element-wise lowering below.
    SmallVector<Operation *> blocks;
    getOperation()->walk([&](vector::TransposeOp t) {
      if (t.getSourceVectorType() ==
          VectorType::get({16, 16}, Float32Type::get(&getContext())))
        blocks.push_back(t);
    });
    if (!blocks.empty()) {
      RewritePatternSet shuffles(&getContext());
      vector::populateVectorTransposeLoweringPatterns(
          shuffles, vector::VectorTransposeLowering::Shuffle16x16);
      (void)applyOpPatternsGreedily(blocks, std::move(shuffles));
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<InnermostReductionToRows, InnermostBroadcastReadToStretch>(
        &getContext(), /*benefit=*/10);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerParallel);
    vector::populateVectorContractLoweringPatterns(
        patterns, vector::VectorContractLowering::OuterProduct);
    vector::populateVectorTransposeLoweringPatterns(
        patterns, vector::VectorTransposeLowering::EltWise);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::populateVectorShapeCastLoweringPatterns(patterns);
    vector::populateVectorMaskOpLoweringPatterns(patterns);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
    // The lowerings above create plain adds and reductions from ops that
    // were fast-math; give them back the same flags so LLVM may fuse
    // multiply-adds and reassociate horizontal reductions (never nnan/ninf:
    // those let a NaN input become a finite output).
    auto fast = heed::fastMath(&getContext());
    getOperation()->walk([&](arith::ArithFastMathInterface op) {
      if (op.getFastMathFlagsAttr() &&
          op.getFastMathFlagsAttr().getValue() == arith::FastMathFlags::none)
        op->setAttr(op.getFastMathAttrName(), fast);
    });
  }
};

} // namespace
