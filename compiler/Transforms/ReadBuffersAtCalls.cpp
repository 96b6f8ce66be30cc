//===- ReadBuffersAtCalls.cpp - Kernel inputs read where the call runs ----===//
//
// Part of Heed. See Passes.td (heed-read-buffers-at-calls).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/IR/IRMapping.h"

namespace heed {
#define GEN_PASS_DEF_READBUFFERSATCALLS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

struct ReadBuffersAtCallsPass
    : heed::impl::ReadBuffersAtCallsBase<ReadBuffersAtCallsPass> {
  void runOnOperation() override {
    SmallVector<func::CallOp> calls;
    getOperation().walk([&](func::CallOp call) { calls.push_back(call); });
    OpBuilder b(&getContext());
    for (func::CallOp call : calls) {
      for (OpOperand &operand : call->getOpOperands()) {
        // to_buffer, or a cast of one: the forms AttnToRuntime passes.
        Value v = operand.get();
        auto cast = v.getDefiningOp<memref::CastOp>();
        auto toBuffer = (cast ? cast.getSource() : v)
                            .getDefiningOp<bufferization::ToBufferOp>();
        if (!toBuffer)
          continue;
        b.setInsertionPoint(call);
        Operation *read = b.clone(*toBuffer);
        Value replacement = read->getResult(0);
        if (cast) {
          IRMapping map;
          map.map(cast.getSource(), replacement);
          replacement = b.clone(*cast, map)->getResult(0);
        }
        operand.set(replacement);
        if (cast && cast->use_empty())
          cast->erase();
        if (toBuffer->use_empty())
          toBuffer->erase();
      }
    }
  }
};

} // namespace
