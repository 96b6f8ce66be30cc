//===- ApproximateMath.cpp - Polynomial math approximations ---------------===//
//
// Part of Heed. MLIR ships the patterns but only a test pass; this is the
// production pass. tanh/exp/... become arithmetic that LLVM vectorizes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace heed {
#define GEN_PASS_DEF_APPROXIMATEMATH
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {
struct ApproximateMathPass
    : heed::impl::ApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    // The polynomials clamp their argument with ordered comparisons, which
    // turn a NaN into a clamp bound and so into a finite result. A NaN must
    // stay NaN (as in PyTorch): each approximated op gets `isnan(x) ? x :
    // f(x)` around it, one compare and select per element.
    getOperation()->walk([&](Operation *op) {
      if (!isa<math::TanhOp, math::ExpOp, math::ExpM1Op, math::LogOp,
               math::Log1pOp, math::Log2Op, math::ErfOp, math::AtanOp,
               math::SinOp, math::CosOp>(op))
        return;
      Value x = op->getOperand(0);
      OpBuilder b(op->getContext());
      b.setInsertionPointAfter(op);
      Value isNan = arith::CmpFOp::create(b, op->getLoc(),
                                          arith::CmpFPredicate::UNO, x, x);
      Value guarded = arith::SelectOp::create(b, op->getLoc(), isNan, x,
                                              op->getResult(0));
      op->getResult(0).replaceAllUsesExcept(guarded,
                                            guarded.getDefiningOp());
    });
    RewritePatternSet patterns(&getContext());
    MathPolynomialApproximationOptions options;
    options.enableAvx2 = false; // keep results identical across x86 targets
    populateMathPolynomialApproximationPatterns(patterns, options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
