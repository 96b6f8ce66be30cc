//===- OutlineLoopNests.cpp - Loop nests as functions of their own --------===//
//
// Part of Heed. See Passes.td (heed-outline-loop-nests).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace heed {
#define GEN_PASS_DEF_OUTLINELOOPNESTS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// What an op costs LLVM, roughly in instructions: an n-D vector op is one
/// op per 1-D row once unrolled (LowerVectorOps, VectorToSCF), and a math
/// function becomes a polynomial of a dozen or more.
int64_t weightOf(Operation *op) {
  int64_t weight = 0;
  op->walk([&](Operation *inner) {
    int64_t rows = 1;
    auto count = [&](Type t) {
      if (auto v = dyn_cast<VectorType>(t); v && v.getRank() > 1)
        rows = std::max(rows, v.getNumElements() / v.getShape().back());
    };
    llvm::for_each(inner->getOperandTypes(), count);
    llvm::for_each(inner->getResultTypes(), count);
    weight += rows * (isa<math::MathDialect>(inner->getDialect()) ? 16 : 1);
  });
  return weight;
}

bool isPassable(Type type) {
  return isa<MemRefType, IndexType, IntegerType, FloatType, VectorType>(type);
}

struct OutlineLoopNestsPass
    : heed::impl::OutlineLoopNestsBase<OutlineLoopNestsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions;
    // The model's functions; not private helpers (bufferization's
    // dealloc_helper, run at every deallocation) or the weight preparation.
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal() && !func.isPrivate() &&
          !func->hasAttr("heed.weight_preparation"))
        functions.push_back(func);
    for (func::FuncOp func : functions) {
      unsigned count = 0;
      Operation *last = func; // the new functions follow their parent
      SmallVector<Operation *> nests;
      collect(func.getBody(), nests);
      for (Operation *nest : nests)
        outline(func, nest, count, last);
    }
  }

  /// The ops of `region` to outline: each loop or branch of at most
  /// `maxWeight` (and at least `minWeight`) as a whole; inside a larger one,
  /// its own nests.
  void collect(Region &region, SmallVectorImpl<Operation *> &nests) {
    for (Block &block : region)
      for (Operation &op : block) {
        if (op.getNumRegions() == 0 ||
            !isa<scf::ForOp, scf::WhileOp, scf::IfOp, scf::ParallelOp>(op))
          continue;
        int64_t weight = weightOf(&op);
        if (weight > maxWeight) {
          for (Region &inner : op.getRegions())
            collect(inner, nests);
          continue;
        }
        if (weight >= minWeight)
          nests.push_back(&op);
      }
  }

  void outline(func::FuncOp parent, Operation *nest, unsigned &count,
               Operation *&last) {
    // Values from above become arguments; constants are cloned instead
    // (LLVM folds them into the code).
    llvm::SetVector<Value> above(nest->operand_begin(), nest->operand_end());
    for (Region &region : nest->getRegions())
      getUsedValuesDefinedAbove(region, above);
    SmallVector<Value> arguments;
    SmallVector<Operation *> constants;
    for (Value v : above) {
      Operation *def = v.getDefiningOp();
      if (def && def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
          def->hasTrait<OpTrait::ConstantLike>()) {
        constants.push_back(def);
        continue;
      }
      if (!isPassable(v.getType()))
        return; // (none today; such a nest stays where it is)
      arguments.push_back(v);
    }
    for (Type t : nest->getResultTypes())
      if (!isPassable(t))
        return;
    OpBuilder b(parent.getContext());
    b.setInsertionPointAfter(last);
    SmallVector<Type> argumentTypes;
    for (Value v : arguments)
      argumentTypes.push_back(v.getType());
    std::string name = (parent.getSymName() + "__loops" + Twine(count++)).str();
    auto callee = func::FuncOp::create(
        b, nest->getLoc(), name,
        b.getFunctionType(argumentTypes, nest->getResultTypes()));
    // A function of its own for LLVM: never inlined back into its caller
    // (no_inline for MLIR's inliner; func-to-llvm drops it but passes
    // LLVM's own attribute through).
    callee.setNoInline(true);
    callee->setAttr("passthrough",
                    b.getArrayAttr({b.getStringAttr("noinline")}));
    last = callee;
    Block *entry = callee.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping map;
    for (Operation *c : constants)
      map.map(c->getResult(0), b.clone(*c)->getResult(0));
    for (auto [v, arg] : llvm::zip(arguments, entry->getArguments()))
      map.map(v, arg);
    Operation *copy = b.clone(*nest, map);
    func::ReturnOp::create(b, nest->getLoc(), copy->getResults());
    b.setInsertionPoint(nest);
    auto call = func::CallOp::create(b, nest->getLoc(), callee, arguments);
    nest->replaceAllUsesWith(call.getResults());
    nest->erase();
  }
};

} // namespace
