//===- BufferRoots.cpp - The buffer a memref value is a view of -----------===//
//
// Part of Heed. See BufferRoots.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/BufferRoots.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

Value heed::rootBuffer(Value buffer) {
  while (true) {
    if (auto view = buffer.getDefiningOp<ViewLikeOpInterface>()) {
      buffer = view.getViewSource();
      continue;
    }
    if (auto arg = dyn_cast<BlockArgument>(buffer))
      if (auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp()))
        if (OpOperand *init = loop.getTiedLoopInit(arg)) {
          buffer = init->get();
          continue;
        }
    if (auto result = dyn_cast<OpResult>(buffer))
      if (auto loop = dyn_cast<scf::ForOp>(result.getOwner())) {
        buffer = loop.getInits()[result.getResultNumber()];
        continue;
      }
    return buffer;
  }
}
