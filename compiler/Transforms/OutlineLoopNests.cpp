//===- OutlineLoopNests.cpp - Loop nests as functions of their own --------===//
//
// Part of Heed. See Passes.td (heed-outline-loop-nests).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/Outlining.h"

#include "mlir/IR/IRMapping.h"

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
    // Values from above become arguments; constants are cloned instead.
    std::optional<heed::CapturedValues> captured =
        heed::captureValuesFromAbove(nest, /*withOperands=*/true);
    if (!captured ||
        !llvm::all_of(nest->getResultTypes(), heed::isPassableType))
      return; // (none today; such a nest stays where it is)
    SmallVector<Type> argumentTypes;
    for (Value v : captured->arguments)
      argumentTypes.push_back(v.getType());
    std::string name = (parent.getSymName() + "__loops" + Twine(count++)).str();
    func::FuncOp callee = heed::createOutlinedFunction(
        last, nest->getLoc(), name, argumentTypes, nest->getResultTypes());
    last = callee;
    Block *entry = &callee.front();
    OpBuilder b = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    for (Operation *c : captured->constants)
      map.map(c->getResult(0), b.clone(*c)->getResult(0));
    for (auto [v, arg] : llvm::zip(captured->arguments, entry->getArguments()))
      map.map(v, arg);
    Operation *copy = b.clone(*nest, map);
    func::ReturnOp::create(b, nest->getLoc(), copy->getResults());
    b.setInsertionPoint(nest);
    auto call =
        func::CallOp::create(b, nest->getLoc(), callee, captured->arguments);
    nest->replaceAllUsesWith(call.getResults());
    nest->erase();
  }
};

} // namespace
