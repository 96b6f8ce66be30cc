//===- BufferAccesses.h - Which buffers a loop reads and writes -*- C++ -*-===//
//
// Part of Heed. The buffers an op's body reads and writes, traced to the
// allocation or argument they view, and whether two such buffers may be
// one: what the passes that merge, fuse or reorder loops of a GPU step
// check before they do.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LOOPSTOGPU_BUFFERACCESSES_H
#define HEED_COMPILER_CONVERSION_LOOPSTOGPU_BUFFERACCESSES_H

#include "compiler/Transforms/BufferRoots.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/SmallVector.h"

#include <vector>

namespace heed {

// viewedBuffer and mayAlias: compiler/Transforms/BufferRoots.h.

/// The part of a viewed buffer an access reaches: the box (in the
/// buffer's coordinates) of a subview with static offsets and sizes and
/// unit strides taken directly from the buffer, else all of it (`offsets`
/// empty).
struct BufferRegion {
  mlir::Value buffer;
  llvm::SmallVector<int64_t> offsets, sizes;
  bool operator==(const BufferRegion &o) const {
    return buffer == o.buffer && offsets == o.offsets && sizes == o.sizes;
  }
};
BufferRegion regionOf(mlir::Value memref);

/// Whether two regions may overlap: their buffers may alias and, when they
/// are one buffer, their boxes intersect.
bool mayOverlap(const BufferRegion &a, const BufferRegion &b);

/// The regions `op` (with everything nested in it) reads and writes.
/// Allocations and frees of buffers made inside `op` are its own business.
/// False when an effect is unknown (an op without the memory effect
/// interface, such as a call, or an effect on no value).
struct BufferAccesses {
  std::vector<BufferRegion> reads, writes;
};
/// What collectBufferAccesses may also take as `op`'s own business.
struct OwnEffects {
  /// Barriers, and every effect on a gpu.launch's workgroup buffers or on a
  /// buffer allocated inside `op` (kernels between loops that move).
  bool kernels = false;
  /// `op` is an scf.for and its frees of the buffers it carries (the
  /// deallocation pipeline frees the previous step's state) are its own;
  /// reads and writes through them count.
  bool carriedFrees = false;
};
bool collectBufferAccesses(mlir::Operation *op, BufferAccesses &accesses,
                           OwnEffects own = {});

/// Whether `op` touches no memory but may allocate: an op without effects,
/// or an allocation (no reads, writes or frees, no regions). Such ops may
/// stand between loops that merge or fuse.
bool touchesNoMemory(mlir::Operation &op);

/// Whether one side writes a region the other reads or writes.
bool conflict(const BufferAccesses &a, const BufferAccesses &b);

} // namespace heed

#endif
