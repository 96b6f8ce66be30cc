//===- ForwardThreadLocalStores.cpp - Scratch buffers out of fused loops --===//
//
// Part of Heed. See Passes.td (heed-forward-thread-local-stores).
//
// After heed-fuse-thread-local-loops an iteration often stores a value and
// loads it back (a cell's new state stored into a scratch buffer, then
// copied from it into the output sequence and the next step's state). The
// load is the stored value. A buffer that is then only stored to is
// dropped: bufferization reuses one such scratch buffer for the two
// directions of a bidirectional layer, and its stores alone would make the
// directions' kernels depend on each other.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BufferAccesses.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

namespace heed {
#define GEN_PASS_DEF_FORWARDTHREADLOCALSTORES
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// What an index of `loop`'s body is, for comparing two accesses: a
/// constant (a dimension of one iteration is its lower bound) or the value
/// itself.
OpFoldResult canonicalIndex(scf::ParallelOp loop, Value index) {
  if (auto arg = dyn_cast<BlockArgument>(index);
      arg && arg.getOwner() == loop.getBody()) {
    unsigned d = arg.getArgNumber();
    std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound()[d]),
                           ub = getConstantIntValue(loop.getUpperBound()[d]),
                           step = getConstantIntValue(loop.getStep()[d]);
    if (lb && ub && step && *step > 0 && *lb < *ub && *lb + *step >= *ub)
      return IntegerAttr::get(index.getType(), *lb);
  }
  if (std::optional<int64_t> c = getConstantIntValue(index))
    return IntegerAttr::get(index.getType(), *c);
  return index;
}

bool sameElement(scf::ParallelOp loop, ValueRange a, ValueRange b) {
  return a.size() == b.size() && llvm::all_of(llvm::zip(a, b), [&](auto pair) {
           return canonicalIndex(loop, std::get<0>(pair)) ==
                  canonicalIndex(loop, std::get<1>(pair));
         });
}

/// Whether `op` may write `region` (unknown effects may).
bool mayWrite(Operation *op, const BufferRegion &region) {
  BufferAccesses accesses;
  if (!collectBufferAccesses(op, accesses))
    return true;
  return llvm::any_of(accesses.writes, [&](const BufferRegion &written) {
    return mayOverlap(written, region);
  });
}

/// Replaces loads in `loop`'s body (its own block) by the value a store
/// before them put at the same element of the same memref, with no op
/// between that may write it.
void forwardStores(scf::ParallelOp loop) {
  SmallVector<memref::StoreOp> stores;
  for (Operation &op : loop.getBody()->without_terminator())
    if (auto store = dyn_cast<memref::StoreOp>(op))
      stores.push_back(store);
  for (memref::StoreOp store : stores) {
    BufferRegion region = regionOf(store.getMemRef());
    for (Operation *op = store->getNextNode();
         op && !op->hasTrait<OpTrait::IsTerminator>();) {
      Operation *next = op->getNextNode();
      if (auto load = dyn_cast<memref::LoadOp>(op)) {
        if (load.getMemRef() == store.getMemRef() &&
            sameElement(loop, load.getIndices(), store.getIndices())) {
          load.replaceAllUsesWith(store.getValueToStore());
          load.erase();
        }
      } else if (mayWrite(op, region)) {
        break;
      }
      op = next;
    }
  }
}

/// Drops `alloc` when nothing reads it: its uses are stores into it and its
/// deallocation.
void dropIfWriteOnly(memref::AllocOp alloc) {
  SmallVector<Operation *> users(alloc->getUsers());
  bool writeOnly = llvm::all_of(users, [&](Operation *user) {
    if (auto store = dyn_cast<memref::StoreOp>(user))
      return store.getMemRef() == alloc.getResult() &&
             store.getValueToStore() != alloc.getResult();
    return isa<memref::DeallocOp>(user);
  });
  if (!writeOnly)
    return;
  for (Operation *user : users)
    user->erase();
  alloc.erase();
}

struct ForwardThreadLocalStoresPass
    : heed::impl::ForwardThreadLocalStoresBase<ForwardThreadLocalStoresPass> {
  void runOnOperation() override {
    getOperation().walk([](scf::ParallelOp loop) {
      if (!loop->getParentOfType<scf::ParallelOp>())
        forwardStores(loop);
    });
    SmallVector<memref::AllocOp> allocs;
    getOperation().walk(
        [&](memref::AllocOp alloc) { allocs.push_back(alloc); });
    for (memref::AllocOp alloc : allocs)
      dropIfWriteOnly(alloc);
  }
};

} // namespace
