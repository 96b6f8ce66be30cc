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
  auto rowType = [](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return RankedTensorType::get({t.getShape().back()}, t.getElementType());
  };
  if (body.getNumArguments() != 1 + getKeys().size())
    return emitOpError("score region takes the query row and one row per key "
                       "tensor (")
           << 1 + getKeys().size() << " arguments), got "
           << body.getNumArguments();
  if (body.getArgument(0).getType() != rowType(getQuery()))
    return emitOpError("score region's query row must be ")
           << rowType(getQuery()) << ", got " << body.getArgument(0).getType();
  for (auto [i, keys] : llvm::enumerate(getKeys()))
    if (body.getArgument(1 + i).getType() != rowType(keys))
      return emitOpError("score region's row of key tensor #")
             << i << " must be " << rowType(keys) << ", got "
             << body.getArgument(1 + i).getType();
  auto yield = dyn_cast<YieldOp>(body.getTerminator());
  if (!yield)
    return emitOpError("score region must end in attn.yield");
  auto scoreType = cast<RankedTensorType>(yield.getValue().getType());
  if (!scoreType.hasStaticShape() || scoreType.getNumElements() != 1)
    return emitOpError("score region must yield a one-element tensor, got ")
           << scoreType;
  if (getCausal() && !hasQuerySequence())
    return emitOpError("a causal mask needs a sequence of queries [B, Tq, Dq]");
  bool constrained = getConstraint() != Constraint::none;
  bool local = getConstraint() == Constraint::local_m ||
               getConstraint() == Constraint::local_p;
  if (constrained != bool(getPrevious()))
    return emitOpError("a window/monotonic/local constraint and the "
                       "positions operand go together");
  if (local) {
    // Half-width D; the Gaussian of local_p has σ = D / 2.
    int64_t least = getConstraint() == Constraint::local_p ? 1 : 0;
    if (getWindow() < least)
      return emitOpError("local attention's half-width must be at least ")
             << least << ", got " << getWindow();
  } else if (constrained) {
    if (getWindow() < 1)
      return emitOpError("constraint window must be at least 1, got ")
             << getWindow();
    int64_t steps = cast<RankedTensorType>(getMemoryKeys().getType())
                        .getDimSize(1);
    if (!ShapedType::isDynamic(steps) && getWindow() > steps)
      return emitOpError("constraint window of ")
             << getWindow() << " steps is larger than the memory (" << steps
             << " steps)";
  }
  return success();
}
