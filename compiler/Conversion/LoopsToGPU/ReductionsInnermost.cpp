//===- ReductionsInnermost.cpp - Parallel dims of linalg ops first --------===//
//
// Part of Heed. See Passes.td (heed-linalg-reductions-innermost).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"

namespace heed {
#define GEN_PASS_DEF_LINALGREDUCTIONSINNERMOST
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {
struct LinalgReductionsInnermostPass
    : heed::impl::LinalgReductionsInnermostBase<LinalgReductionsInnermostPass> {
  void runOnOperation() override {
    func::FuncOp op = getOperation();
    // Parallel dims outermost, reductions innermost: one scf.parallel over
    // every parallel dim per op (the axpy form of a dense layer would give
    // parallel, for, parallel).
    IRRewriter rewriter(op->getContext());
    SmallVector<linalg::GenericOp> generics;
    op.walk([&](linalg::GenericOp g) { generics.push_back(g); });
    for (linalg::GenericOp g : generics) {
      SmallVector<unsigned> order;
      auto iterators = g.getIteratorTypesArray();
      for (unsigned i = 0; i < iterators.size(); ++i)
        if (linalg::isParallelIterator(iterators[i]))
          order.push_back(i);
      for (unsigned i = 0; i < iterators.size(); ++i)
        if (!linalg::isParallelIterator(iterators[i]))
          order.push_back(i);
      if (llvm::equal(order, llvm::seq<unsigned>(0, iterators.size())))
        continue;
      rewriter.setInsertionPoint(g);
      if (failed(linalg::interchangeGenericOp(rewriter, g, order))) {
        g.emitError("cannot move this op's reduction dims innermost");
        return signalPassFailure();
      }
    }
  }
};
} // namespace
