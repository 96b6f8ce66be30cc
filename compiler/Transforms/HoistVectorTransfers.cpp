//===- HoistVectorTransfers.cpp - Accumulators stay in registers ----------===//
//
// Part of Heed. See Passes.td (heed-hoist-vector-transfers).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/Transforms/Hoisting.h"
#include "mlir/Dialect/MemRef/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace heed {
#define GEN_PASS_DEF_HOISTVECTORTRANSFERS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {
struct HoistVectorTransfersPass
    : heed::impl::HoistVectorTransfersBase<HoistVectorTransfersPass> {
  void runOnOperation() override {
    // Transfers through subviews become transfers on the base buffer, so
    // reads and writes of one accumulator have identical operands.
    RewritePatternSet patterns(&getContext());
    memref::populateFoldMemRefAliasOpPatterns(patterns);
    // Not converging within the driver's iteration limit leaves correct IR
    // with fewer folds; it is not an error.
    (void)applyPatternsGreedily(getOperation(), std::move(patterns));
    linalg::hoistRedundantVectorTransfers(getOperation());
  }
};
} // namespace
