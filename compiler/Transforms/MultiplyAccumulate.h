//===- MultiplyAccumulate.h - linalg ops that are products ------*- C++ -*-===//
//
// Part of Heed. The one test of whether a linalg.generic's body is
// `out + a · b`, shared by the passes that treat such ops as matrix
// products.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_TRANSFORMS_MULTIPLYACCUMULATE_H
#define HEED_COMPILER_TRANSFORMS_MULTIPLYACCUMULATE_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace heed {

/// True when `op` has two inputs and one init, its body is exactly
/// `out + in0 · in1` (either operand order of each operation, f32), and
/// every indexing map is a projected permutation; with `unitAxes`, one
/// whose results may also be 0 (an operand's unit axis, as `@` of batched
/// tensors expands them).
bool isMultiplyAccumulate(mlir::linalg::GenericOp op, bool unitAxes = false);

} // namespace heed

#endif
