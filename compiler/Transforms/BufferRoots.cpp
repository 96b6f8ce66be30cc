//===- BufferRoots.cpp - The buffer a memref value is a view of -----------===//
//
// Part of Heed. See BufferRoots.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/BufferRoots.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;

Value heed::rootBuffer(Value buffer) {
  while (true) {
    if (auto view = buffer.getDefiningOp<ViewLikeOpInterface>()) {
      buffer = view.getViewSource();
      continue;
    }
    if (auto arg = dyn_cast<BlockArgument>(buffer))
      if (auto loop = dyn_cast<scf::ForOp>(arg.getOwner()->getParentOp()))
        if (OpOperand *init = loop.getTiedLoopInit(arg)) {
          buffer = init->get();
          continue;
        }
    if (auto result = dyn_cast<OpResult>(buffer))
      if (auto loop = dyn_cast<scf::ForOp>(result.getOwner())) {
        buffer = loop.getInits()[result.getResultNumber()];
        continue;
      }
    return buffer;
  }
}

Value heed::viewedBuffer(Value buffer) {
  while (auto view = buffer.getDefiningOp<ViewLikeOpInterface>())
    buffer = view.getViewSource();
  return buffer;
}

namespace {

/// Whether `root` is a fresh allocation.
bool isAllocation(Value root) {
  return root.getDefiningOp<memref::AllocOp>() ||
         root.getDefiningOp<memref::AllocaOp>();
}

/// The global `root` is, if it is one (a model's constant tensor).
memref::GetGlobalOp global(Value root) {
  return root.getDefiningOp<memref::GetGlobalOp>();
}

/// Whether `root` is an argument of the function itself.
bool isFunctionArgument(Value root) {
  auto arg = dyn_cast<BlockArgument>(root);
  return arg && isa<FunctionOpInterface>(arg.getOwner()->getParentOp()) &&
         arg.getOwner()->isEntryBlock();
}

/// Adds the allocations and function arguments `value` may be (through
/// views and the values loops carry: a loop's inits and what its body
/// yields) to `sources`. False when it may be something else.
bool collectSources(Value value, llvm::SmallPtrSetImpl<Value> &visited,
                    llvm::SmallPtrSetImpl<Value> &sources) {
  value = heed::viewedBuffer(value);
  if (!visited.insert(value).second)
    return true;
  if (isAllocation(value) || isFunctionArgument(value) || global(value)) {
    sources.insert(value);
    return true;
  }
  auto both = [&](Value x, Value y) {
    return collectSources(x, visited, sources) &&
           collectSources(y, visited, sources);
  };
  if (auto arg = dyn_cast<BlockArgument>(value)) {
    Operation *parent = arg.getOwner()->getParentOp();
    unsigned i = arg.getArgNumber();
    if (auto loop = dyn_cast<scf::ForOp>(parent)) {
      if (i == 0)
        return false; // the induction variable
      return both(loop.getInitArgs()[i - 1], loop.getYieldedValues()[i - 1]);
    }
    if (auto loop = dyn_cast<scf::WhileOp>(parent)) {
      if (arg.getOwner() == loop.getBeforeBody())
        return both(loop.getInits()[i], loop.getYieldOp().getOperand(i));
      return collectSources(loop.getConditionOp().getArgs()[i], visited,
                            sources);
    }
    return false;
  }
  auto result = cast<OpResult>(value);
  unsigned i = result.getResultNumber();
  if (auto loop = dyn_cast<scf::ForOp>(result.getOwner()))
    return both(loop.getInitArgs()[i], loop.getYieldedValues()[i]);
  if (auto loop = dyn_cast<scf::WhileOp>(result.getOwner()))
    return collectSources(loop.getConditionOp().getArgs()[i], visited, sources);
  return false;
}

/// Whether two buffers carried by loops are made by different allocations
/// (or are different function arguments) whatever the iteration: each
/// live at once, so distinct.
bool carriedDistinctly(Value a, Value b) {
  llvm::SmallPtrSet<Value, 8> visitedA, visitedB, fromA, fromB;
  if (!collectSources(a, visitedA, fromA) ||
      !collectSources(b, visitedB, fromB))
    return false;
  return llvm::none_of(fromA, [&](Value x) {
    return llvm::any_of(fromB, [&](Value y) {
      if (x == y)
        return true;
      if (global(x) && global(y))
        return global(x).getName() == global(y).getName();
      // A global may be passed to a function as an argument.
      return (global(x) && isFunctionArgument(y)) ||
             (isFunctionArgument(x) && global(y));
    });
  });
}

} // namespace

bool heed::mayAlias(Value a, Value b) {
  if (a == b)
    return true;
  if (isAllocation(a) && isAllocation(b))
    return false;
  // A global is none of the allocations, nor another global.
  if (global(a) && global(b))
    return global(a).getName() == global(b).getName();
  if ((global(a) && isAllocation(b)) || (isAllocation(a) && global(b)))
    return false;
  if (isFunctionArgument(a) && isFunctionArgument(b))
    return false;
  for (auto [x, y] : {std::pair(a, b), std::pair(b, a)}) {
    if (!isAllocation(x))
      continue;
    if (isFunctionArgument(y))
      return false;
    if (auto arg = dyn_cast<BlockArgument>(y))
      if (arg.getOwner()->getParentOp()->isProperAncestor(x.getDefiningOp()))
        return false;
  }
  return !carriedDistinctly(a, b);
}
