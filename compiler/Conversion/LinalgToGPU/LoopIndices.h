//===- LoopIndices.h - Loop dims from linear indices ------------*- C++ -*-===//
//
// Part of Heed. The kernels of LinalgToGPU number a group of a linalg op's
// loop dims (its M rows, its reduced elements, ...) with one linear index;
// these split it back into the dims and read an operand's indices from them.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LINALGTOGPU_LOOPINDICES_H
#define HEED_COMPILER_CONVERSION_LINALGTOGPU_LOOPINDICES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/AffineMap.h"

namespace heed {

/// Splits `linear` into the values of `dims` (row-major in loop order;
/// `sizes` holds every loop dim's size), stored at `values[dim]`.
inline void splitLinearIndex(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value linear, llvm::ArrayRef<unsigned> dims,
                             llvm::ArrayRef<int64_t> sizes,
                             llvm::SmallVectorImpl<mlir::Value> &values) {
  for (unsigned d : llvm::reverse(dims)) {
    if (d == dims.front()) {
      values[d] = linear;
      break;
    }
    mlir::Value size = mlir::arith::ConstantIndexOp::create(b, loc, sizes[d]);
    values[d] = mlir::arith::RemUIOp::create(b, loc, linear, size);
    linear = mlir::arith::DivUIOp::create(b, loc, linear, size);
  }
}

/// An operand's indices for the loop dims' `values`, by its indexing map (a
/// projected permutation).
inline llvm::SmallVector<mlir::Value>
operandIndices(mlir::AffineMap map, llvm::ArrayRef<mlir::Value> values) {
  llvm::SmallVector<mlir::Value> at;
  for (mlir::AffineExpr e : map.getResults())
    at.push_back(values[llvm::cast<mlir::AffineDimExpr>(e).getPosition()]);
  return at;
}

/// The same for maps whose results may also be 0 (unit axes).
inline llvm::SmallVector<mlir::Value>
operandIndices(mlir::OpBuilder &b, mlir::Location loc, mlir::AffineMap map,
               llvm::ArrayRef<mlir::Value> values) {
  llvm::SmallVector<mlir::Value> at;
  for (mlir::AffineExpr e : map.getResults()) {
    if (auto dim = llvm::dyn_cast<mlir::AffineDimExpr>(e))
      at.push_back(values[dim.getPosition()]);
    else
      at.push_back(mlir::arith::ConstantIndexOp::create(
          b, loc, llvm::cast<mlir::AffineConstantExpr>(e).getValue()));
  }
  return at;
}

} // namespace heed

#endif
