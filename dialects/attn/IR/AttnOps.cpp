//===- AttnOps.cpp - Operations of the attention dialect ------------------===//
//
// Part of Heed. Generated op definitions plus the verifiers that type
// inference does not already cover. Shape rules live in AttnShapes.cpp.
//
//===----------------------------------------------------------------------===//

#include "dialects/attn/IR/AttnOps.h"

#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace heed::attn;

#define GET_OP_CLASSES
#include "dialects/attn/IR/AttnOps.cpp.inc"

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError("needs at least one input");
  return success();
}

Value AttentionOp::getScoreValue() {
  return cast<YieldOp>(getScore().front().getTerminator()).getValue();
}

LogicalResult AttentionOp::verifyRegions() {
  Block &body = getScore().front();
  auto queryType = cast<RankedTensorType>(getQuery().getType());
  auto keysType = cast<RankedTensorType>(getKeys().getType());
  if (body.getNumArguments() != 2)
    return emitOpError("score region takes (query row, key row), got ")
           << body.getNumArguments() << " arguments";
  auto rowType = [](RankedTensorType t) {
    return RankedTensorType::get({t.getShape().back()}, t.getElementType());
  };
  if (body.getArgument(0).getType() != rowType(queryType))
    return emitOpError("score region's query row must be ")
           << rowType(queryType) << ", got " << body.getArgument(0).getType();
  if (body.getArgument(1).getType() != rowType(keysType))
    return emitOpError("score region's key row must be ")
           << rowType(keysType) << ", got " << body.getArgument(1).getType();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("score region must end in attn.yield");
  auto scoreType = cast<RankedTensorType>(yield.getValue().getType());
  if (!scoreType.hasStaticShape() || scoreType.getNumElements() != 1)
    return emitOpError("score region must yield a one-element tensor, got ")
           << scoreType;
  return success();
}
