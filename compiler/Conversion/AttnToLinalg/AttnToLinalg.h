//===- AttnToLinalg.h - Lower attn ops to linalg ----------------*- C++ -*-===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_ATTNTOLINALG_ATTNTOLINALG_H
#define HEED_COMPILER_CONVERSION_ATTNTOLINALG_ATTNTOLINALG_H

#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"

namespace heed {

/// Patterns rewriting every `attn` op except `attn.attention` into linalg,
/// tensor, arith and math ops on static shapes.
void populateAttnToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// Patterns for the generated recurrent cells, batch normalization,
/// embedding and argmax (SequenceToLinalg.cpp).
void populateSequenceToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// The fast-math flags of all Heed arithmetic (reassociation and
/// contraction let LLVM vectorize reductions and fuse multiply-adds).
mlir::arith::FastMathFlagsAttr fastMath(mlir::OpBuilder &b);

/// `kind` applied to one f32 scalar or vector value (softmax: identity).
mlir::Value emitActivationScalar(mlir::OpBuilder &b, mlir::Location loc,
                                 attn::ActivationKind kind, mlir::Value x);

} // namespace heed

#endif
