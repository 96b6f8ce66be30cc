//===- Passes.h - Heed compiler passes --------------------------*- C++ -*-===//
//
// Part of Heed. Declarations generated from Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_PASSES_H
#define HEED_COMPILER_PASSES_H

#include "dialects/attn/IR/AttnOps.h"

// The dialects the passes depend on (Passes.td's dependentDialects), except
// NVVM and NVGPU: their headers take about 13 s of each translation unit's
// compile (not in the precompiled header), so only the two passes that
// load them (FlashAttention.cpp, TiledContraction.cpp) include them.

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace heed {

#define GEN_PASS_DECL
#include "compiler/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "compiler/Passes.h.inc"

} // namespace heed

#endif // HEED_COMPILER_PASSES_H
