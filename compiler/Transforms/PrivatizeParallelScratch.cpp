//===- PrivatizeParallelScratch.cpp - Each parallel loop its own scratch --===//
//
// Part of Heed. See Passes.td (heed-privatize-parallel-scratch).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/ParallelLoops.h"

namespace heed {
#define GEN_PASS_DEF_PRIVATIZEPARALLELSCRATCH
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

struct PrivatizeParallelScratchPass
    : heed::impl::PrivatizeParallelScratchBase<PrivatizeParallelScratchPass> {
  using Base::Base;

  void runOnOperation() override {
    // Outer loops first: a clone in an outer body is from above for the
    // loops inside it, which clone it again.
    getOperation().walk<WalkOrder::PreOrder>([&](scf::ForOp loop) {
      if (!heed::isMarkedParallel(loop))
        return;
      Region &body = loop.getRegion();
      llvm::SetVector<tensor::EmptyOp> above;
      body.walk([&](Operation *op) {
        for (Value v : op->getOperands())
          if (auto empty = v.getDefiningOp<tensor::EmptyOp>())
            if (!loop->isAncestor(empty))
              above.insert(empty);
      });
      OpBuilder b = OpBuilder::atBlockBegin(loop.getBody());
      for (tensor::EmptyOp empty : above) {
        Operation *copy = b.clone(*empty);
        empty.getResult().replaceUsesWithIf(
            copy->getResult(0), [&](OpOperand &use) {
              return loop->isProperAncestor(use.getOwner());
            });
      }
    });
  }
};

} // namespace
