//===- DuplicateEmptyTensors.cpp - An empty tensor per use ----------------===//
//
// Part of Heed. See Passes.td (heed-duplicate-empty-tensors).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace heed {
#define GEN_PASS_DEF_DUPLICATEEMPTYTENSORS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

struct DuplicateEmptyTensorsPass
    : heed::impl::DuplicateEmptyTensorsBase<DuplicateEmptyTensorsPass> {
  void runOnOperation() override {
    SmallVector<tensor::EmptyOp> empties;
    getOperation().walk(
        [&](tensor::EmptyOp empty) { empties.push_back(empty); });
    for (tensor::EmptyOp empty : empties) {
      // Every use but one gets a clone right before its op (the sizes
      // dominate the original, so they dominate that op too). The use list
      // is newest first: the oldest use, usually the first in the block,
      // keeps the original.
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : empty.getResult().getUses())
        uses.push_back(&use);
      for (OpOperand *use : ArrayRef(uses).drop_back()) {
        OpBuilder b(use->getOwner());
        use->set(b.clone(*empty)->getResult(0));
      }
    }
  }
};

} // namespace
