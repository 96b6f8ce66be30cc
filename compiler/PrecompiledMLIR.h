//===- PrecompiledMLIR.h - MLIR and LLVM headers, precompiled ---*- C++ -*-===//
//
// Part of Heed. The MLIR and LLVM headers most of the compiler's sources
// include, compiled once per build tree into a precompiled header that every
// MLIR-using library reuses (HEED_PRECOMPILED_HEADERS in the top-level
// CMakeLists.txt). Parsing these headers was most of each translation unit's
// compile time (README.md, "Building"). Headers from /usr/lib/llvm-22, and
// one of Heed's: the attn dialect's ops, which nearly every compiler source
// includes (1-2 s each) and whose change rebuilds them all anyway. Nothing
// else of Heed's belongs here (compiler/Passes.h changes with every new
// pass), and the sources keep their own includes (a build with
// -DHEED_PRECOMPILED_HEADERS=OFF must still compile).
//
//===----------------------------------------------------------------------===//

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/DialectConversion.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include "dialects/attn/IR/AttnOps.h"
