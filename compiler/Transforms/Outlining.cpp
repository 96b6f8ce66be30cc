//===- Outlining.cpp - Moving code into functions of its own --------------===//
//
// Part of Heed. See Outlining.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/Outlining.h"

#include "mlir/Transforms/RegionUtils.h"

using namespace mlir;

bool heed::isPassableType(Type type) {
  return isa<MemRefType, IndexType, IntegerType, FloatType, VectorType>(type);
}

std::optional<heed::CapturedValues>
heed::captureValuesFromAbove(Operation *op, bool withOperands) {
  llvm::SetVector<Value> above;
  if (withOperands)
    above.insert(op->operand_begin(), op->operand_end());
  for (Region &region : op->getRegions())
    getUsedValuesDefinedAbove(region, above);
  CapturedValues captured;
  for (Value v : above) {
    Operation *def = v.getDefiningOp();
    if (def && def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
        def->hasTrait<OpTrait::ConstantLike>()) {
      captured.constants.push_back(def);
      continue;
    }
    if (!isPassableType(v.getType()))
      return std::nullopt;
    captured.arguments.push_back(v);
  }
  return captured;
}

func::FuncOp heed::createOutlinedFunction(Operation *after, Location loc,
                                          StringRef name, TypeRange arguments,
                                          TypeRange results) {
  OpBuilder b(after->getContext());
  b.setInsertionPointAfter(after);
  auto callee =
      func::FuncOp::create(b, loc, name, b.getFunctionType(arguments, results));
  callee.setNoInline(true);
  callee->setAttr("passthrough", b.getArrayAttr({b.getStringAttr("noinline")}));
  callee.addEntryBlock();
  return callee;
}
