//===- IndexMath.h - Index arithmetic for kernel bodies ---------*- C++ -*-===//
//
// Part of Heed. The index arithmetic the warp-level kernels write most
// (a lane's row and column from its id, a fragment's offsets): constants,
// sums, and products, quotients and remainders by constants.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LOOPSTOGPU_INDEXMATH_H
#define HEED_COMPILER_CONVERSION_LOOPSTOGPU_INDEXMATH_H

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace heed {

/// Emits at `b`'s position, with `loc`.
struct IndexMath {
  IndexMath(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  mlir::Value idx(int64_t v) {
    return mlir::arith::ConstantIndexOp::create(b, loc, v);
  }
  mlir::Value add(mlir::Value x, mlir::Value y) {
    return mlir::arith::AddIOp::create(b, loc, x, y);
  }
  mlir::Value mul(mlir::Value x, int64_t m) {
    return mlir::arith::MulIOp::create(b, loc, x, idx(m));
  }
  mlir::Value div(mlir::Value x, int64_t d) {
    return mlir::arith::DivUIOp::create(b, loc, x, idx(d));
  }
  mlir::Value rem(mlir::Value x, int64_t d) {
    return mlir::arith::RemUIOp::create(b, loc, x, idx(d));
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
};

} // namespace heed

#endif
