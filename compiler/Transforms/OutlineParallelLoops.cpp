//===- OutlineParallelLoops.cpp - Independent iterations on threads -------===//
//
// Part of Heed. See Passes.td (heed-outline-parallel-loops).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/BufferRoots.h"
#include "compiler/Transforms/Outlining.h"
#include "compiler/Transforms/ParallelLoops.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace heed {
#define GEN_PASS_DEF_OUTLINEPARALLELLOOPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using heed::rootBuffer;

namespace {

/// Whether every use of `buffer`, and of the views of it, is inside `loop`.
bool usedOnlyInside(Value buffer, Operation *loop) {
  for (Operation *user : buffer.getUsers()) {
    if (!loop->isAncestor(user)) {
      auto view = dyn_cast<ViewLikeOpInterface>(user);
      if (!view || view.getViewSource() != buffer)
        return false;
      if (!usedOnlyInside(view->getResult(0), loop))
        return false;
    }
  }
  return true;
}

/// Whether every buffer the body of `loop` may write is its own (allocated
/// inside), one of `shared` (its outputs, each iteration writing its own
/// part: the mark says so) or one of `privatized`.
bool writesOwnBuffers(scf::ForOp loop, const llvm::DenseSet<Value> &shared,
                      const llvm::DenseSet<Value> &privatized) {
  auto allowed = [&](Value buffer) {
    Value root = rootBuffer(buffer);
    Operation *def = root.getDefiningOp();
    return (def && loop->isProperAncestor(def)) || shared.contains(root) ||
           privatized.contains(root);
  };
  WalkResult walk = loop.getBody()->walk([&](Operation *op) {
    if (auto call = dyn_cast<func::CallOp>(op)) {
      // An inner parallel loop, outlined first, writes what it was allowed.
      auto callee = SymbolTable::lookupNearestSymbolFrom<func::FuncOp>(
          call, call.getCalleeAttr());
      if (callee && callee->hasAttr(heed::kParallelBodyAttr))
        return WalkResult::advance();
    }
    if (isa<CallOpInterface>(op)) {
      // Any other call may write any buffer it is given.
      for (Value v : op->getOperands())
        if (isa<MemRefType>(v.getType()) && !allowed(v))
          return WalkResult::interrupt();
      return WalkResult::advance();
    }
    if (op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      return WalkResult::advance();
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects)
      return WalkResult::interrupt(); // unknown: may write anything
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (auto &effect : list)
      if (isa<MemoryEffects::Write>(effect.getEffect()) &&
          (!effect.getValue() || !allowed(effect.getValue())))
        return WalkResult::interrupt();
    return WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

/// The allocation `buffer` is a view of (or is), or null.
Operation *rootAllocation(Value buffer) {
  Operation *def = rootBuffer(buffer).getDefiningOp();
  return isa_and_nonnull<memref::AllocOp, memref::AllocaOp>(def) ? def
                                                                 : nullptr;
}

struct OutlineParallelLoopsPass
    : heed::impl::OutlineParallelLoopsBase<OutlineParallelLoopsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> functions;
    for (auto func : module.getOps<func::FuncOp>()) {
      bool marked = false;
      func.walk(
          [&](scf::ForOp loop) { marked |= heed::isMarkedParallel(loop); });
      if (marked)
        functions.push_back(func);
    }
    // Bufferization leaves each loop carrying the buffer it writes in place
    // (every iteration yields the buffer it got): fold those, so that a
    // marked loop carries nothing; what they carried are its outputs.
    RewritePatternSet patterns(&getContext());
    scf::ForOp::getCanonicalizationPatterns(patterns, &getContext());
    FrozenRewritePatternSet frozen(std::move(patterns));
    for (func::FuncOp func : functions) {
      outputs.clear();
      func.walk([&](scf::ForOp loop) {
        if (heed::isMarkedParallel(loop))
          for (Value init : loop.getInits())
            if (isa<MemRefType>(init.getType()))
              outputs.insert(rootBuffer(init));
      });
      (void)applyPatternsGreedily(func, frozen);
      SmallVector<scf::ForOp> loops; // inner loops first
      func.walk<WalkOrder::PostOrder>([&](scf::ForOp loop) {
        if (heed::isMarkedParallel(loop))
          loops.push_back(loop);
      });
      unsigned count = 0;
      Operation *last = func;
      for (scf::ForOp loop : loops)
        outline(func, loop, count, last);
    }
  }

  /// The buffers the marked loops of the function at hand carry.
  llvm::DenseSet<Value> outputs;

  void outline(func::FuncOp parent, scf::ForOp loop, unsigned &count,
               Operation *&last) {
    if (loop.getNumResults() != 0)
      return;
    if (std::optional<APInt> trips = loop.getStaticTripCount();
        trips && trips->getZExtValue() < 2)
      return;
    std::optional<heed::CapturedValues> captured =
        heed::captureValuesFromAbove(loop, /*withOperands=*/false);
    if (!captured)
      return;
    // Scratch buffers from above that only this loop uses become each
    // iteration's own (what the iterations write there is dead at the next
    // one: the loop was marked so). A view of such a buffer cannot be
    // moved: the loop stays sequential.
    SmallVector<Value> arguments;
    SmallVector<Operation *> privatized;
    for (Value v : captured->arguments) {
      Operation *root =
          isa<MemRefType>(v.getType()) ? rootAllocation(v) : nullptr;
      if (!root || !usedOnlyInside(root->getResult(0), loop)) {
        arguments.push_back(v);
        continue;
      }
      if (root->getResult(0) != v || root->getNumOperands() != 0)
        return;
      privatized.push_back(root);
    }
    // Anything else a body writes would be shared by iterations running at
    // once: such a loop stays sequential.
    llvm::DenseSet<Value> ownRoots;
    for (Operation *alloc : privatized)
      ownRoots.insert(alloc->getResult(0));
    if (!writesOwnBuffers(loop, outputs, ownRoots))
      return;

    OpBuilder b(loop);
    Location loc = loop.getLoc();
    std::string name =
        (parent.getSymName() + "__parallel" + Twine(count++)).str();
    // The body: one iteration, at the index it is given.
    SmallVector<Type> bodyTypes{b.getIndexType()};
    for (Value v : arguments)
      bodyTypes.push_back(v.getType());
    func::FuncOp body =
        heed::createOutlinedFunction(last, loc, name, bodyTypes, {});
    Block *entry = &body.front();
    OpBuilder bb = OpBuilder::atBlockBegin(entry);
    IRMapping map;
    for (Operation *c : captured->constants)
      map.map(c->getResult(0), bb.clone(*c)->getResult(0));
    for (Operation *alloc : privatized)
      map.map(alloc->getResult(0), bb.clone(*alloc)->getResult(0));
    map.map(loop.getInductionVar(), entry->getArgument(0));
    for (auto [v, arg] :
         llvm::zip(arguments, entry->getArguments().drop_front()))
      map.map(v, arg);
    for (Operation &op : loop.getBody()->without_terminator())
      bb.clone(op, map);
    func::ReturnOp::create(bb, loc);

    // The dispatch: (count, lower bound, step, arguments), defined in the
    // LLVM dialect by heed-lower-parallel-dispatch.
    SmallVector<Type> dispatchTypes(3, b.getIndexType());
    dispatchTypes.append(bodyTypes.begin() + 1, bodyTypes.end());
    OpBuilder db(parent.getContext());
    db.setInsertionPointAfter(body);
    auto dispatch = func::FuncOp::create(db, loc, name + "__dispatch",
                                         db.getFunctionType(dispatchTypes, {}));
    dispatch.setPrivate();
    dispatch->setAttr(heed::kParallelBodyAttr, FlatSymbolRefAttr::get(body));
    last = dispatch;

    Value span = arith::SubIOp::create(b, loc, loop.getUpperBound(),
                                       loop.getLowerBound());
    Value iterations = arith::CeilDivSIOp::create(b, loc, span, loop.getStep());
    SmallVector<Value> operands{iterations, loop.getLowerBound(),
                                loop.getStep()};
    operands.append(arguments);
    func::CallOp::create(b, loc, dispatch, operands);
    loop.erase();
    for (Operation *alloc : privatized)
      if (alloc->use_empty())
        alloc->erase();
  }
};

} // namespace
