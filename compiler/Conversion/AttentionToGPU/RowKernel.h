//===- RowKernel.h - The attention-rows kernel body -------------*- C++ -*-===//
//
// Part of Heed. The body of one attention-rows declaration
// (heed-build-attention-row-kernels; Passes.td): a block per (batch row,
// query) in phases between barriers, or a normalization's steps in chunks on
// blocks of their own and a second kernel that combines them.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_ATTENTIONTOGPU_ROWKERNEL_H
#define HEED_COMPILER_CONVERSION_ATTENTIONTOGPU_ROWKERNEL_H

#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace heed {

/// What a declaration's attribute asks of its kernel besides the score.
struct RowKernelOptions {
  attn::Normalization normalization = attn::Normalization::softmax;
  /// Hard attention: the context is the value at the weights' first maximum.
  bool hard = false;
  /// local_p: the window D (weights times exp(−(t − p)² / (2 (D/2)²))), and
  /// the argument with the positions p ([B]); 0 and -1 otherwise.
  int64_t gaussianWindow = 0, positionArg = -1;
  /// The chip's multiprocessors (0: unknown): fewer blocks than this share
  /// a softmax's or smoothing's steps in chunks (kMinChunkSteps).
  int64_t multiprocessors = 0;
};

/// The score of a declaration: one function of a step, or the terms of a
/// step shared by `lanes` threads and their total finished.
struct RowScore {
  mlir::func::FuncOp score;
  mlir::func::FuncOp term, finish;
  int64_t terms = 0, lanes = 0;
  bool maximum = false;
  bool split() const { return bool(term); }
};

/// Gives the declaration `fn` (values, score tensors..., context, weights)
/// its body: the launches of its kernel with `score` inlined. Fails, with
/// a diagnostic, on buffers or score functions that do not match.
mlir::LogicalResult buildRowKernel(mlir::func::FuncOp fn, const RowScore &score,
                                   const RowKernelOptions &options);

} // namespace heed

#endif
