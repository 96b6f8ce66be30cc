//===- BufferAccesses.cpp - Which buffers a loop reads and writes ---------===//
//
// Part of Heed. See BufferAccesses.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BufferAccesses.h"
#include "compiler/Transforms/BufferRoots.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/ADT/SmallPtrSet.h"

using namespace mlir;
using namespace heed;

BufferRegion heed::regionOf(Value memref) {
  // The whole buffer unless every dim of a subview is a static unit-stride
  // range (a strided view, a pooling window's, covers no box).
  BufferRegion whole{viewedBuffer(memref), {}, {}};
  auto view = memref.getDefiningOp<memref::SubViewOp>();
  if (!view || viewedBuffer(view.getSource()) != view.getSource())
    return whole;
  BufferRegion region = whole;
  for (auto [offset, size, stride] :
       llvm::zip(view.getStaticOffsets(), view.getStaticSizes(),
                 view.getStaticStrides())) {
    if (ShapedType::isDynamic(offset) || ShapedType::isDynamic(size) ||
        stride != 1)
      return whole;
    region.offsets.push_back(offset);
    region.sizes.push_back(size);
  }
  return region;
}

bool heed::mayOverlap(const BufferRegion &a, const BufferRegion &b) {
  if (!mayAlias(a.buffer, b.buffer))
    return false;
  if (a.buffer != b.buffer || a.offsets.empty() || b.offsets.empty() ||
      a.offsets.size() != b.offsets.size())
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
