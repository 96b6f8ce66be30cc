//===- MLIRGen.h - Build `attn` IR from a checked model ---------*- C++ -*-===//
//
// Part of Heed. Emits one `func.func` whose arguments are the model's inputs
// followed by its weights (state_dict order) and whose results are its
// outputs. Symbolic dimensions bound in `dims` become static sizes; unbound
// ones stay dynamic (`?`).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_MLIRGEN_H
#define HEED_FRONTENDS_DSL_MLIRGEN_H

#include "frontends/dsl/AST.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/SourceMgr.h"

namespace heed::dsl {

/// Choices the generated IR depends on.
struct GenOptions {
  /// A loop with `until` (not a beam search) runs a step on its running
  /// rows only, this many at a time, once they fit in chunks covering at
  /// most half the batch (the whole batch before that); 0 runs every row
  /// every step; -1 picks a quarter of the batch from 8 rows on.
  int64_t liveRowChunk = -1;
};

mlir::OwningOpRef<mlir::ModuleOp>
genModule(mlir::MLIRContext &context, const Model &model,
          const llvm::StringMap<int64_t> &dims, llvm::SourceMgr &sourceMgr,
          const GenOptions &options = {});

} // namespace heed::dsl

#endif // HEED_FRONTENDS_DSL_MLIRGEN_H
