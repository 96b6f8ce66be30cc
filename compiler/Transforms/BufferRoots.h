//===- BufferRoots.h - The buffer a memref value is a view of ---*- C++ -*-===//
//
// Part of Heed. Which allocation (or function argument) a memref value
// reads and writes, for passes that must know whether two buffers may be
// one.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_TRANSFORMS_BUFFERROOTS_H
#define HEED_COMPILER_TRANSFORMS_BUFFERROOTS_H

#include "mlir/IR/Value.h"

namespace heed {

/// The buffer `buffer` is a view of (through subviews, reshapes, casts), or
/// a loop-carried value that starts as (an allocation, a function
/// argument).
mlir::Value rootBuffer(mlir::Value buffer);

} // namespace heed

#endif
