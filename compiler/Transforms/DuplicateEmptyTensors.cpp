//===- DuplicateEmptyTensors.cpp - An empty tensor per use ----------------===//
//
// Part of Heed. See Passes.td (heed-duplicate-empty-tensors).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/LoopLikeInterface.h"

namespace heed {
#define GEN_PASS_DEF_DUPLICATEEMPTYTENSORS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// Whether `user` is inside a loop that `empty` is not inside.
bool insideOtherLoop(Operation *user, tensor::EmptyOp empty) {
  for (Operation *op = user->getParentOp(); op; op = op->getParentOp()) {
    if (op->isAncestor(empty))
      return false;
    if (isa<LoopLikeOpInterface>(op))
      return true;
  }
  return false;
}

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
      // keeps the original. A use inside a loop the empty tensor is
      // outside of always gets a clone: its step then writes a buffer of
      // its own rather than the one the last step wrote, which a decoder
      // that hands that value on to the next step would otherwise copy
      // (heed-forward-while-carries).
      SmallVector<OpOperand *> uses;
      for (OpOperand &use : empty.getResult().getUses())
        uses.push_back(&use);
      OpOperand *keeper = nullptr;
      for (OpOperand *use : llvm::reverse(uses))
        if (!insideOtherLoop(use->getOwner(), empty)) {
          keeper = use;
          break;
        }
      for (OpOperand *use : uses) {
        if (use == keeper)
          continue;
        OpBuilder b(use->getOwner());
        use->set(b.clone(*empty)->getResult(0));
      }
      if (empty->use_empty())
        empty->erase();
    }
  }
};

} // namespace
