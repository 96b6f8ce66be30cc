//===- AttnToLinalg.h - Lower attn ops to linalg ----------------*- C++ -*-===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_ATTNTOLINALG_ATTNTOLINALG_H
#define HEED_COMPILER_CONVERSION_ATTNTOLINALG_ATTNTOLINALG_H

#include "compiler/Transforms/FastMath.h"
#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/PatternMatch.h"

namespace heed {

/// Patterns rewriting every `attn` op except `attn.attention` into linalg,
/// tensor, arith and math ops on static shapes.
void populateAttnToLinalgPatterns(mlir::RewritePatternSet &patterns);

/// An empty tensor of `type` (a destination for linalg ops).
mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type);

/// A tensor of `type` filled with `v` (linalg.fill).
mlir::Value filled(mlir::OpBuilder &b, mlir::Location loc,
                   mlir::RankedTensorType type, double v);

/// A `linalg.generic` producing `outType` from `inputs`, NumPy-broadcast
/// against it (size-1 dims read index 0); `body` maps the input scalars to
/// the output scalar.
mlir::Value
elementwise(mlir::OpBuilder &b, mlir::Location loc,
            mlir::RankedTensorType outType, mlir::ValueRange inputs,
            llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                           mlir::ValueRange)>
                body);

/// Patterns for the generated recurrent cells, batch normalization,
/// embedding and argmax (SequenceToLinalg.cpp); `gatherElementwise`: a
/// beam's row gathers as one element-wise generic (the GPU targets) rather
/// than a loop of row copies; `directConvolution`: a Conv1D of few terms a
/// window as one product that reads its input itself (the GPU targets)
/// rather than a product over its unfolded windows.
void populateSequenceToLinalgPatterns(mlir::RewritePatternSet &patterns,
                                      bool gatherElementwise = false,
                                      bool directConvolution = false);

/// The fast-math flags of all Heed arithmetic (compiler/Transforms/FastMath.h).
mlir::arith::FastMathFlagsAttr fastMath(mlir::OpBuilder &b);

/// `kind` applied to one f32 scalar or vector value (softmax: identity).
mlir::Value emitActivationScalar(mlir::OpBuilder &b, mlir::Location loc,
                                 attn::ActivationKind kind, mlir::Value x);

/// `kind` applied to two f32 scalars (comparisons give 1.0 or 0.0).
mlir::Value emitBinaryScalar(mlir::OpBuilder &b, mlir::Location loc,
                             attn::BinaryKind kind, mlir::Value x,
                             mlir::Value y);

} // namespace heed

#endif
