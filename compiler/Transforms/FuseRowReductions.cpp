//===- FuseRowReductions.cpp - Row-reduction chains a few rows at a time --===//
//
// Part of Heed. See Passes.td (heed-fuse-row-reductions).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/Dominance.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"
#include "llvm/ADT/EquivalenceClasses.h"
#include "llvm/ADT/SetVector.h"

namespace heed {
#define GEN_PASS_DEF_FUSEROWREDUCTIONS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// A static generic on tensors over at least two loops, all parallel but
/// perhaps the innermost, which may reduce (a row statistic), with one
/// result written in its loops' order (identity map, or the map without
/// the innermost loop for a reduction).
bool isRowShaped(linalg::GenericOp g) {
  if (!g.hasPureTensorSemantics() || g.getNumDpsInits() != 1 ||
      g.getNumLoops() < 2 ||
      llvm::any_of(g.getStaticLoopRanges(), ShapedType::isDynamic))
    return false;
  auto iterators = g.getIteratorTypesArray();
  for (size_t i = 0; i + 1 < iterators.size(); ++i)
    if (iterators[i] != utils::IteratorType::parallel)
      return false;
  bool reduces = iterators.back() == utils::IteratorType::reduction;
  unsigned n = g.getNumLoops();
  AffineMap out = g.getIndexingMapMatchingResult(g->getResult(0));
  AffineMap expected =
      reduces ? AffineMap::getMultiDimIdentityMap(n, g.getContext())
                    .dropResult(n - 1)
              : AffineMap::getMultiDimIdentityMap(n, g.getContext());
  return out == expected;
}

bool reducesRows(linalg::GenericOp g) {
  return g.getIteratorTypesArray().back() == utils::IteratorType::reduction;
}

/// The generics around row reductions, through reshapes: the ops whose
/// unit dims are dropped so that the chain's ops read each other directly.
llvm::DenseSet<Operation *> rowNeighbourhood(func::FuncOp func) {
  SmallVector<Operation *> work;
  func.walk([&](linalg::GenericOp g) {
    if (g.hasPureTensorSemantics() && g.getNumLoops() >= 2 &&
        g.getIteratorTypesArray().back() == utils::IteratorType::reduction &&
        llvm::count(g.getIteratorTypesArray(),
                    utils::IteratorType::reduction) == 1)
      work.push_back(g);
  });
  llvm::DenseSet<Operation *> seen(work.begin(), work.end());
  auto visit = [&](Operation *op) {
    if (op && isa<linalg::GenericOp, tensor::ExpandShapeOp,
                  tensor::CollapseShapeOp>(op) &&
        seen.insert(op).second)
      work.push_back(op);
  };
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    for (Value v : op->getOperands())
      visit(v.getDefiningOp());
    for (Operation *user : op->getUsers())
      visit(user);
  }
  return seen;
}

/// Whether `consumer` reads `producer`'s result row by row in the same
/// iteration space (so a tile of the consumer's rows needs the same rows
/// of the producer and nothing else).
bool readsRowByRow(linalg::GenericOp producer, linalg::GenericOp consumer,
                   OpOperand &operand) {
  if (producer->getBlock() != consumer->getBlock() ||
      producer.getStaticLoopRanges() != consumer.getStaticLoopRanges())
    return false;
  unsigned n = consumer.getNumLoops();
  AffineMap identity = AffineMap::getMultiDimIdentityMap(n, consumer.getContext());
  AffineMap read = consumer.getMatchingIndexingMap(&operand);
  return read == (reducesRows(producer) ? identity.dropResult(n - 1) : identity);
}

struct FuseRowReductionsPass
    : heed::impl::FuseRowReductionsBase<FuseRowReductionsPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func->hasAttr("heed.weight_preparation"))
      return;
    dropUnitDims(func);

    // Chains: row-shaped generics joined by row-by-row reads.
    SmallVector<linalg::GenericOp> rowOps;
    func.walk([&](linalg::GenericOp g) {
      if (isRowShaped(g))
        rowOps.push_back(g);
    });
    llvm::EquivalenceClasses<Operation *> chains;
    for (linalg::GenericOp g : rowOps)
      chains.insert(g);
    llvm::DenseSet<Operation *> isRowOp;
    for (linalg::GenericOp g : rowOps)
      isRowOp.insert(g);
    for (linalg::GenericOp consumer : rowOps)
      for (OpOperand *operand : consumer.getDpsInputOperands()) {
        auto producer = operand->get().getDefiningOp<linalg::GenericOp>();
        if (producer && isRowOp.contains(producer) &&
            readsRowByRow(producer, consumer, *operand))
          chains.unionSets(producer, consumer);
      }
    // A chain's member is fused into the loops of the members that read
    // it, unless its result leaves the chain (a sink, tiled itself).
    auto inChainOf = [&](Operation *member, Operation *user) {
      return isRowOp.contains(user) && chains.isEquivalent(member, user) &&
             llvm::any_of(user->getOpOperands(), [&](OpOperand &use) {
               return use.get().getDefiningOp() == member &&
                      readsRowByRow(cast<linalg::GenericOp>(member),
                                    cast<linalg::GenericOp>(user), use);
             });
    };
    llvm::SetVector<Operation *> sinks;
    llvm::DenseSet<Operation *> fusable;
    for (linalg::GenericOp g : rowOps) {
      if (llvm::any_of(g->getUsers(),
                       [&](Operation *user) { return !inChainOf(g, user); }))
        sinks.insert(g);
      else
        fusable.insert(g);
    }
    IRRewriter rw(&getContext());
    SmallVector<Operation *> loops;
    for (Operation *sink : sinks)
      if (Operation *loop =
              tileSink(rw, cast<linalg::GenericOp>(sink), fusable))
        loops.push_back(loop);
    if (loops.empty())
      return;
    // The fused producers' originals (and the slices that fused them) are
    // dead now; each tile loop computed a producer once per reader, and CSE
    // inside the loops keeps one.
    (void)runRegionDCE(rw, func->getRegions());
    DominanceInfo dominance(func);
    for (Operation *loop : loops)
      eliminateCommonSubExpressions(rw, dominance, loop);
  }

  /// Drops the unit dims of the generics around row reductions, and folds
  /// the reshapes that were between them.
  void dropUnitDims(func::FuncOp func) {
    llvm::DenseSet<Operation *> around = rowNeighbourhood(func);
    if (around.empty())
      return;
    linalg::ControlDropUnitDims control;
    control.controlFn = [&](Operation *op) -> SmallVector<unsigned> {
      auto g = dyn_cast<linalg::GenericOp>(op);
      if (!g || !around.contains(op))
        return {};
      return llvm::to_vector(llvm::seq<unsigned>(0, g.getNumLoops()));
    };
    RewritePatternSet folding(&getContext());
    linalg::populateFoldUnitExtentDimsPatterns(folding, control);
    walkAndApplyPatterns(func, std::move(folding));
    RewritePatternSet cleanup(&getContext());
    linalg::populateFoldUnitExtentDimsCanonicalizationPatterns(cleanup,
                                                               control);
    // Not converging leaves correct IR with fewer folds.
    (void)applyPatternsGreedily(func, std::move(cleanup));
  }

  /// Tiles `sink` by rows and fuses its producers in the chain (and the
  /// fills that initialize their reductions) into the tile loops; returns
  /// the outermost loop, or null when `sink` is left as it was.
  Operation *tileSink(IRRewriter &rw, linalg::GenericOp sink,
                      const llvm::DenseSet<Operation *> &fusable) {
    // Only worth it when a reduction is fused: elementwise fusion already
    // made the rest one loop.
    bool fusesReduction = false;
    SmallVector<Operation *> work = {sink};
    llvm::DenseSet<Operation *> seen = {sink};
    while (!work.empty()) {
      Operation *op = work.pop_back_val();
      for (Value v : op->getOperands()) {
        Operation *def = v.getDefiningOp();
        if (def && fusable.contains(def) && seen.insert(def).second) {
          fusesReduction |= reducesRows(cast<linalg::GenericOp>(def));
          work.push_back(def);
        }
      }
    }
    if (!fusesReduction)
      return nullptr;
    SmallVector<int64_t> ranges = sink.getStaticLoopRanges();
    size_t n = ranges.size();
    int64_t rowsPerTile = std::max<int64_t>(1, tileBytes / 4 / ranges[n - 1]);
    int64_t rows = 1;
    for (int64_t d = 1; d <= ranges[n - 2] && d <= rowsPerTile; ++d)
      if (ranges[n - 2] % d == 0)
        rows = d;
    SmallVector<int64_t> tiles(n, 1);
    tiles[n - 2] = rows;
    tiles[n - 1] = 0; // whole rows
    int64_t tileCount = 1;
    for (size_t i = 0; i + 1 < n; ++i)
      tileCount *= ranges[i] / tiles[i];
    if (tileCount == 1)
      return nullptr; // the whole tensor is one tile already

    scf::SCFTileAndFuseOptions options;
    scf::SCFTilingOptions tiling;
    tiling.setTileSizes(getAsIndexOpFoldResult(&getContext(), tiles));
    options.setTilingOptions(tiling);
    options.setFusionControlFn(
        [&](tensor::ExtractSliceOp, OpResult producer,
            bool) -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
          Operation *op = producer.getOwner();
          if (isa<linalg::FillOp>(op) || fusable.contains(op))
            return scf::SCFTileAndFuseOptions::ControlFnResult{};
          return std::nullopt;
        });
    rw.setInsertionPoint(sink);
    FailureOr<scf::SCFTileAndFuseResult> fused =
        scf::tileConsumerAndFuseProducersUsingSCF(
            rw, cast<TilingInterface>(sink.getOperation()), options);
    if (failed(fused) || fused->loops.empty())
      return nullptr; // left as it was: correct, just not fused
    for (OpResult result : sink->getResults())
      if (Value replacement = fused->replacements.lookup(result))
        rw.replaceAllUsesWith(result, replacement);
    if (sink->use_empty())
      rw.eraseOp(sink);
    return fused->loops.front().getOperation();
  }
};

} // namespace
