//===- FastMath.h - The fast-math flags of Heed's arithmetic ----*- C++ -*-===//
//
// Part of Heed. One definition for every pass that creates floating-point
// arithmetic: everything LLVM's `fast` allows except nnan and ninf.
// Reassociation and contraction let LLVM vectorize reductions and fuse
// multiply-adds. NaN and infinities must survive: masked attention energies
// are -inf on purpose (exp(-inf) = σ(-inf) = 0), and a NaN or Inf in an
// input must come out as PyTorch gives it, never as a plausible number
// (with nnan, LLVM may turn a NaN-propagating maximum into one that drops
// the NaN).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_TRANSFORMS_FASTMATH_H
#define HEED_COMPILER_TRANSFORMS_FASTMATH_H

#include "mlir/Dialect/Arith/IR/Arith.h"

namespace heed {

inline mlir::arith::FastMathFlags fastMathFlags() {
  using F = mlir::arith::FastMathFlags;
  return F::reassoc | F::contract | F::afn | F::arcp | F::nsz;
}

inline mlir::arith::FastMathFlagsAttr fastMath(mlir::MLIRContext *context) {
  return mlir::arith::FastMathFlagsAttr::get(context, fastMathFlags());
}

} // namespace heed

#endif
