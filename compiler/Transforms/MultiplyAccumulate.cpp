//===- MultiplyAccumulate.cpp - linalg ops that are products --------------===//
//
// Part of Heed. See MultiplyAccumulate.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/MultiplyAccumulate.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

bool heed::isMultiplyAccumulate(linalg::GenericOp op, bool unitAxes) {
  if (op.getNumDpsInputs() != 2 || op.getNumDpsInits() != 1)
    return false;
  for (AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/unitAxes))
      return false;
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 3)
    return false;
  auto mul = dyn_cast<arith::MulFOp>(&body.front());
  auto add =
      dyn_cast_or_null<arith::AddFOp>(mul ? mul->getNextNode() : nullptr);
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (!mul || !add || !mul.getType().isF32() || yield.getNumOperands() != 1 ||
      yield.getOperand(0) != add.getResult())
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1),
        out = body.getArgument(2);
  bool product = (mul.getLhs() == a && mul.getRhs() == b) ||
                 (mul.getLhs() == b && mul.getRhs() == a);
  bool accumulate = (add.getLhs() == out && add.getRhs() == mul) ||
                    (add.getLhs() == mul && add.getRhs() == out);
  return product && accumulate;
}
