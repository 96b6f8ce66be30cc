//===- ParallelCodegen.h - LLVM's work for one model on several threads ---===//
//
// Part of Heed. LLVM optimizes and compiles a module on one thread. A
// model's functions (its loop nests, outlined by heed-outline-loop-nests)
// are split into partitions of about equal weight; each is translated to
// LLVM IR in its own LLVMContext, optimized (O3) and compiled to an object
// file on its own thread, and ORC links the objects together. The code of
// every function is the one a single-threaded compilation makes: functions
// are never inlined across partitions, and the outlined ones are never
// inlined at all.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_JIT_PARALLELCODEGEN_H
#define HEED_COMPILER_JIT_PARALLELCODEGEN_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <string>
#include <vector>

namespace heed {

/// How an LLVM-dialect module splits: the partition of each function with
/// a body that is not internal (internal functions and globals are copied
/// into every partition). Fewer than two partitions when it does not
/// split: one heavy function, `parts` < 2, or a global that may not be
/// copied (writable and internal, or defined and external).
std::vector<std::vector<std::string>> partitionFunctions(mlir::ModuleOp module,
                                                         unsigned parts);

/// Object files for `module` (LLVM dialect) compiled as `partitions` on up
/// to as many threads (fewer while other processes keep the CPUs busy).
/// Each partition with an entry point of `entries` gets its packed
/// wrapper `_mlir__mlir_ciface_<entry>(void **)`, as mlir::ExecutionEngine
/// makes them. `optimizeSeconds`: the longest partition's O3 time.
llvm::Expected<std::vector<std::string>>
compilePartitions(mlir::ModuleOp module,
                  const std::vector<std::vector<std::string>> &partitions,
                  llvm::ArrayRef<std::string> entries, unsigned threads,
                  double *optimizeSeconds);

} // namespace heed

#endif
