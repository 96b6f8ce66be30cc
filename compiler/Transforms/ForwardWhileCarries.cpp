//===- ForwardWhileCarries.cpp - No copy of a decoder's states per step ---===//
//
// Part of Heed. See Passes.td (heed-forward-while-carries).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/BufferRoots.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace heed {
#define GEN_PASS_DEF_FORWARDWHILECARRIES
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// Whether every use of `buffer` and of the views of it only reads: loads,
/// the inputs of structured ops, a copy's source. Anything else (a write, a
/// free, a call, a terminator that hands it on, an op that returns another
/// alias of it) answers no.
bool onlyRead(Value buffer) {
  for (OpOperand &use : buffer.getUses()) {
    Operation *user = use.getOwner();
    if (auto view = dyn_cast<ViewLikeOpInterface>(user)) {
      if (view.getViewSource() != buffer || user->getNumResults() != 1 ||
          !onlyRead(user->getResult(0)))
        return false;
      continue;
    }
    // A terminator hands it on (scf.yield, scf.condition: pure ops, so the
    // effects below would not say).
    if (user->hasTrait<OpTrait::IsTerminator>() ||
        llvm::any_of(user->getResultTypes(), llvm::IsaPred<BaseMemRefType>))
      return false;
    // (Ops with regions that take the buffer as an operand, scf.for's
    // iter_args, have no effects of their own to ask: no.)
    auto effects = dyn_cast<MemoryEffectOpInterface>(user);
    if (!effects)
      return false;
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const MemoryEffects::EffectInstance &effect : instances) {
      if (isa<MemoryEffects::Read>(effect.getEffect()))
        continue;
      // A write, free or allocation of this buffer, or of memory the op
      // does not name.
      if (!effect.getValue() || effect.getValue() == buffer)
        return false;
    }
  }
  return true;
}

/// The fresh buffer that condition argument `i` hands on, when it is a copy
/// of one of the before region's arguments made for that alone.
memref::CopyOp copyForwardedAt(scf::ConditionOp condition, unsigned i) {
  Value forwarded = condition.getArgs()[i];
  auto alloc = forwarded.getDefiningOp<memref::AllocOp>();
  if (!alloc || alloc->getBlock() != condition->getBlock())
    return {};
  memref::CopyOp copy;
  unsigned handedOn = 0;
  for (OpOperand &use : alloc->getUses()) {
    if (use.getOwner() == condition.getOperation()) {
      ++handedOn;
      continue;
    }
    auto c = dyn_cast<memref::CopyOp>(use.getOwner());
    if (!c || c.getTarget() != forwarded || copy)
      return {};
    copy = c;
  }
  if (!copy || handedOn != 1 || copy->getBlock() != alloc->getBlock())
    return {};
  // The loop's i-th result may alias its i-th initial value, as
  // bufferization assumed of it: only the before region's i-th argument.
  // (Bufferization copies from a cast of it to a fully dynamic layout.)
  Value from = copy.getSource();
  while (auto cast = from.getDefiningOp<memref::CastOp>())
    from = cast.getSource();
  auto source = dyn_cast<BlockArgument>(from);
  if (!source || source.getOwner() != condition->getBlock() ||
      source.getArgNumber() != i || source.getType() != forwarded.getType())
    return {};
  return copy;
}

/// Whether anything inside `loop` may write to `buffer` (or to memory it
/// cannot name, a call's).
bool writtenInside(scf::WhileOp loop, Value buffer) {
  Value viewed = heed::viewedBuffer(buffer);
  auto mayAlias = [&](Value v) {
    return isa<BaseMemRefType>(v.getType()) &&
           heed::mayAlias(heed::viewedBuffer(v), viewed);
  };
  WalkResult walk = loop->walk([&](Operation *op) {
    auto effects = dyn_cast<MemoryEffectOpInterface>(op);
    if (!effects) {
      // Loops and branches: what is nested in them is walked too.
      if (op == loop.getOperation() ||
          op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
        return WalkResult::advance();
      return llvm::any_of(op->getOperands(), mayAlias) ? WalkResult::interrupt()
                                                       : WalkResult::advance();
    }
    SmallVector<MemoryEffects::EffectInstance> instances;
    effects.getEffects(instances);
    for (const MemoryEffects::EffectInstance &effect : instances) {
      if (isa<MemoryEffects::Read>(effect.getEffect()) ||
          isa<MemoryEffects::Allocate>(effect.getEffect()))
        continue;
      if (!effect.getValue() || mayAlias(effect.getValue()))
        return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return walk.wasInterrupted();
}

struct ForwardWhileCarriesPass
    : heed::impl::ForwardWhileCarriesBase<ForwardWhileCarriesPass> {
  void runOnOperation() override {
    getOperation().walk([&](scf::WhileOp loop) {
      scf::ConditionOp condition = loop.getConditionOp();
      auto yield = cast<scf::YieldOp>(loop.getAfter().front().getTerminator());
      for (unsigned i = 0, e = condition.getArgs().size(); i < e; ++i) {
        memref::CopyOp copy = copyForwardedAt(condition, i);
        if (!copy)
          continue;
        // The before region's argument is handed on itself: the loop's
        // initial buffer, or what the last step yielded. So
        // - the before region and the step only read it (the step used to
        //   receive a copy it could overwrite);
        // - the last step yielded a buffer of its own (allocated by that
        //   step, or a view of one: the next step writes elsewhere);
        // - nothing in the loop writes the initial buffer (or may: a call,
        //   a buffer carried by another loop the initial one may flow into).
        Value source = loop.getBeforeArguments()[i]; // (copyForwardedAt)
        Value yielded = yield.getResults()[i];
        auto fresh =
            heed::viewedBuffer(yielded).getDefiningOp<memref::AllocOp>();
        if (!onlyRead(source) ||
            !onlyRead(loop.getAfter().front().getArgument(i)) || !fresh ||
            fresh->getBlock() != yield->getBlock() ||
            writtenInside(loop, loop.getInits()[i]))
          continue;
        Operation *alloc = copy.getTarget().getDefiningOp();
        condition->setOperand(condition.getArgsMutable()[i].getOperandNumber(),
                              source);
        Value copied = copy.getSource();
        copy.erase();
        alloc->erase();
        while (auto cast = copied.getDefiningOp<memref::CastOp>()) {
          if (!cast->use_empty())
            break;
          copied = cast.getSource();
          cast.erase();
        }
      }
    });
  }
};

} // namespace
