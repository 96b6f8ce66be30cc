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

/// The buffer `buffer` views (through subviews, reshapes, casts). Unlike
/// rootBuffer this stops at a loop-carried value: which
/// buffer that is changes from one iteration to the next.
mlir::Value viewedBuffer(mlir::Value buffer);

/// Whether two viewed buffers may be one. Two allocations, two function
/// arguments (distinct buffers the runtime passes: inputs, weights,
/// outputs) or two globals of different names are distinct; so are an
/// allocation and a global; an allocation is distinct from a function
/// argument, and from a loop-carried value of a loop it is made inside (a
/// carried buffer is live); two buffers carried by loops are distinct when
/// no allocation or argument can flow into both (through the loops' inits
/// and yields: they are live at once). Anything else may alias.
bool mayAlias(mlir::Value a, mlir::Value b);

} // namespace heed

#endif
