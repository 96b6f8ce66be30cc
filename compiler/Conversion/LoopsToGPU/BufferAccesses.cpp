//===- BufferAccesses.cpp - Which buffers a loop reads and writes ---------===//
//
// Part of Heed. See BufferAccesses.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BufferAccesses.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace heed;

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

BufferRegion heed::regionOf(Value memref) {
  BufferRegion region{viewedBuffer(memref), {}, {}};
  auto view = memref.getDefiningOp<memref::SubViewOp>();
  if (!view || viewedBuffer(view.getSource()) != view.getSource())
    return region;
  for (auto [offset, size, stride] :
       llvm::zip(view.getStaticOffsets(), view.getStaticSizes(),
                 view.getStaticStrides())) {
    if (ShapedType::isDynamic(offset) || ShapedType::isDynamic(size) ||
        stride != 1)
      return region;
    region.offsets.push_back(offset);
    region.sizes.push_back(size);
  }
  return region;
}

bool heed::mayOverlap(const BufferRegion &a, const BufferRegion &b) {
  if (!mayAlias(a.buffer, b.buffer))
    return false;
  if (a.buffer != b.buffer || a.offsets.empty() || b.offsets.empty())
    return true;
  for (size_t d = 0; d < a.offsets.size(); ++d)
    if (a.offsets[d] + a.sizes[d] <= b.offsets[d] ||
        b.offsets[d] + b.sizes[d] <= a.offsets[d])
      return false;
  return true;
}

bool heed::collectBufferAccesses(Operation *op, BufferAccesses &accesses,
                                 OwnEffects own) {
  auto loop = dyn_cast<scf::ForOp>(op);
  // A workgroup buffer of a kernel inside `op`, or a buffer made inside it.
  auto isPrivate = [&](Value root) {
    if (auto arg = dyn_cast<BlockArgument>(root)) {
      Operation *owner = arg.getOwner()->getParentOp();
      return isa<gpu::LaunchOp>(owner) && op->isAncestor(owner);
    }
    Operation *def = root.getDefiningOp();
    return def && op->isProperAncestor(def);
  };
  auto isCarried = [&](Value root) {
    // Base buffers of views (extract_strided_metadata) too.
    if (auto meta = root.getDefiningOp<memref::ExtractStridedMetadataOp>())
      root = viewedBuffer(meta.getSource());
    auto arg = dyn_cast<BlockArgument>(root);
    return loop && arg && arg.getOwner() == loop.getBody() &&
           arg.getArgNumber() > 0;
  };
  WalkResult walk = op->walk([&](Operation *inner) {
    if (inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>() ||
        (own.kernels && isa<gpu::BarrierOp>(inner)))
      return WalkResult::advance();
    auto effects = dyn_cast<MemoryEffectOpInterface>(inner);
    if (!effects)
      return WalkResult::interrupt();
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (const MemoryEffects::EffectInstance &e : list) {
      Value buffer = e.getValue();
      if (!buffer)
        return WalkResult::interrupt();
      Value root = viewedBuffer(buffer);
      if (own.kernels && isPrivate(root))
        continue;
      auto add = [&](std::vector<BufferRegion> &regions) {
        BufferRegion region = regionOf(buffer);
        if (!llvm::is_contained(regions, region))
          regions.push_back(region);
      };
      if (isa<MemoryEffects::Read>(e.getEffect()))
        add(accesses.reads);
      else if (isa<MemoryEffects::Write>(e.getEffect()))
        add(accesses.writes);
      else if (Operation *def = root.getDefiningOp();
               (!def || !op->isProperAncestor(def)) &&
               !(own.carriedFrees && isCarried(root)))
        return WalkResult::interrupt(); // allocates or frees another's
    }
    return WalkResult::advance();
  });
  return !walk.wasInterrupted();
}

bool heed::touchesNoMemory(Operation &op) {
  if (isMemoryEffectFree(&op))
    return true;
  auto effects = dyn_cast<MemoryEffectOpInterface>(&op);
  return effects && effects.hasEffect<MemoryEffects::Allocate>() &&
         !effects.hasEffect<MemoryEffects::Read>() &&
         !effects.hasEffect<MemoryEffects::Write>() &&
         !effects.hasEffect<MemoryEffects::Free>() && op.getNumRegions() == 0;
}

bool heed::conflict(const BufferAccesses &a, const BufferAccesses &b) {
  auto overlaps = [](ArrayRef<BufferRegion> x, ArrayRef<BufferRegion> y) {
    return llvm::any_of(x, [&](const BufferRegion &p) {
      return llvm::any_of(
          y, [&](const BufferRegion &q) { return mayOverlap(p, q); });
    });
  };
  return overlaps(a.writes, b.reads) || overlaps(a.writes, b.writes) ||
         overlaps(a.reads, b.writes);
}
