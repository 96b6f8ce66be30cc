//===- HoistNestedInvariantOps.cpp - attn ops out of branches of loops ----===//
//
// Part of Heed. Loop-invariant code motion moves an op out of a loop only
// when the op sits directly in the loop's body; an op inside an scf.if or
// an inner loop of the body stays even when it reads only values from
// before the loop. A decoding loop that chooses per step between the whole
// batch and chunks of its running rows (frontends/dsl/MLIRGenLiveRows.cpp)
// has its key projections there, one per branch, where
// attn-hoist-key-projections put them. This pass moves such attn ops in
// front of the loop. attn ops have no side effects and cannot fault (their
// shapes are static and checked), so computing one whether or not its
// branch runs is safe, and before the loop it runs once.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace heed {
#define GEN_PASS_DEF_HOISTNESTEDINVARIANTOPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// Moves the attn ops nested in `loop`'s regions that compute from values
/// defined outside `loop` (or by ops moved before them) in front of it.
void hoistNested(Operation *loop) {
  llvm::SmallPtrSet<Operation *, 8> moved;
  SmallVector<Operation *> invariant;
  for (Region &region : loop->getRegions())
    region.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (op->getParentOp() == loop ||
          !isa<attn::AttnDialect>(op->getDialect()) ||
          op->getNumRegions() != 0 || !isMemoryEffectFree(op))
        return; // directly in the body: LICM's
      bool outside = llvm::all_of(op->getOperands(), [&](Value v) {
        Operation *def = v.getDefiningOp();
        if (def && moved.contains(def))
          return true;
        return !loop->isAncestor(v.getParentRegion()->getParentOp());
      });
      if (outside) {
        invariant.push_back(op);
        moved.insert(op);
      }
    });
  for (Operation *op : invariant)
    op->moveBefore(loop);
}

struct HoistNestedInvariantOpsPass
    : heed::impl::HoistNestedInvariantOpsBase<HoistNestedInvariantOpsPass> {
  void runOnOperation() override {
    // Innermost loops first: an op moved out of an inner loop is then in
    // the outer loop's body, for that loop (or LICM) to consider.
    SmallVector<Operation *> loops;
    getOperation().walk([&](Operation *op) {
      if (isa<scf::WhileOp, scf::ForOp>(op))
        loops.push_back(op);
    });
    for (Operation *loop : loops)
      hoistNested(loop);
  }
};

} // namespace
