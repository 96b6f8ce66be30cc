//===- Outlining.h - Moving code into functions of its own ------*- C++ -*-===//
//
// Part of Heed. What heed-outline-loop-nests and heed-outline-parallel-loops
// share: the values a piece of code uses from above, and the functions it
// moves to.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_TRANSFORMS_OUTLINING_H
#define HEED_COMPILER_TRANSFORMS_OUTLINING_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include <optional>

namespace heed {

/// The values `op` uses from above, as the function it moves to takes them.
struct CapturedValues {
  /// Become the function's arguments.
  llvm::SmallVector<mlir::Value> arguments;
  /// Constants, cloned into the function instead (LLVM folds them).
  llvm::SmallVector<mlir::Operation *> constants;
};

/// The values the regions of `op` use from above, and `op`'s own operands
/// when `withOperands`; nullopt if one of them has a type a function does
/// not take here (only memrefs, indices, integers, floats and vectors).
std::optional<CapturedValues> captureValuesFromAbove(mlir::Operation *op,
                                                     bool withOperands);

/// Whether a function argument or result may have `type`.
bool isPassableType(mlir::Type type);

/// A new public function `name` after `after`, never inlined into its
/// callers (no_inline for MLIR's inliner; func-to-llvm drops it but passes
/// LLVM's own attribute through), with an entry block whose arguments
/// follow `arguments`.
mlir::func::FuncOp createOutlinedFunction(mlir::Operation *after,
                                          mlir::Location loc,
                                          llvm::StringRef name,
                                          mlir::TypeRange arguments,
                                          mlir::TypeRange results);

} // namespace heed

#endif // HEED_COMPILER_TRANSFORMS_OUTLINING_H
