//===- DistinctResults.cpp - Every result its own tensor ------------------===//
//
// Part of Heed. See Passes.td (heed-distinct-results).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace heed {
#define GEN_PASS_DEF_DISTINCTRESULTS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {
struct DistinctResultsPass
    : heed::impl::DistinctResultsBase<DistinctResultsPass> {
  void runOnOperation() override {
    getOperation().walk([](func::ReturnOp ret) {
      llvm::SmallPtrSet<Value, 8> seen;
      OpBuilder b(ret);
      for (OpOperand &operand : ret->getOpOperands()) {
        Value v = operand.get();
        auto type = dyn_cast<RankedTensorType>(v.getType());
        if (!type || seen.insert(v).second)
          continue;
        SmallVector<OpFoldResult> sizes =
            tensor::getMixedSizes(b, ret.getLoc(), v);
        Value empty = tensor::EmptyOp::create(b, ret.getLoc(), sizes,
                                              type.getElementType());
        operand.set(linalg::CopyOp::create(b, ret.getLoc(), v, empty)
                        .getResult(0));
      }
    });
  }
};
} // namespace
