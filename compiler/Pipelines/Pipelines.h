//===- Pipelines.h - Heed's compilation pipelines ---------------*- C++ -*-===//
//
// Part of Heed. Pipelines are C++ builder functions; registerHeedPipelines()
// makes each available to heed-opt by name.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_PIPELINES_PIPELINES_H
#define HEED_COMPILER_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"

#include <string>

namespace heed {

struct PipelineOptions {
  /// Recognize Keras-style attention subgraphs and raise them to
  /// attn.attention before lowering.
  bool raiseAttention = true;
  /// Lower attn.attention to the fused loop nest (true) or decompose it
  /// into whole-tensor ops (false).
  bool fusedAttention = true;
  /// Recurrent cells inside loops: "fused" (generated), "onednn" (one-step
  /// oneDNN primitives) or "auto" (the faster one for the batch size).
  std::string cells = "auto";
  /// Dense layers: "generated", "onednn" (oneDNN's inner product, where the
  /// weights allow) or "auto" (oneDNN for many rows of large enough layers).
  std::string dense = "auto";
};

/// attn (as the frontend emits it) → attn with attention ops raised.
void buildAttnOptimizationPipeline(mlir::OpPassManager &pm,
                                   const PipelineOptions &options);
/// attn → linalg/tensor/arith/math (+ fused attention loops).
void buildAttnToLinalgPipeline(mlir::OpPassManager &pm,
                               const PipelineOptions &options);
/// linalg on tensors → LLVM dialect, ready for translation and the JIT.
void buildLinalgToLLVMPipeline(mlir::OpPassManager &pm,
                               const PipelineOptions &options);
/// The whole way from frontend attn IR to the LLVM dialect.
void buildHeedPipeline(mlir::OpPassManager &pm, const PipelineOptions &options);

/// Registers heed-attn-opt, heed-attn-to-linalg, heed-linalg-to-llvm and
/// heed-pipeline with the global pass-pipeline registry.
void registerHeedPipelines();

} // namespace heed

#endif
