//===- ParallelLoops.h - Loops whose iterations may run at once -*- C++ -*-===//
//
// Part of Heed. A lowering that builds a loop whose iterations are
// independent (the batch rows, heads and query tiles of an attention: each
// iteration reads shared inputs and writes its own slice of the outputs)
// marks it here; heed-outline-parallel-loops later runs the marked loops on
// the runtime's threads.
//
// The mark rides on the loop's location: canonicalization and
// bufferization rebuild scf.for ops (dropping their discardable
// attributes) but keep their locations.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_TRANSFORMS_PARALLELLOOPS_H
#define HEED_COMPILER_TRANSFORMS_PARALLELLOOPS_H

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Location.h"

namespace heed {

/// The metadata of the fused location that marks a parallel loop.
inline constexpr llvm::StringLiteral kParallelLoopMark = "heed.parallel";

/// On a dispatch function of heed-outline-parallel-loops: its body.
inline constexpr llvm::StringLiteral kParallelBodyAttr = "heed.parallel_body";

/// Marks `loop`: its iterations are independent apart from writes to
/// disjoint parts of the buffers it carries, and any scratch it uses from
/// above holds nothing from one iteration to the next.
inline void markParallelLoop(mlir::scf::ForOp loop) {
  mlir::MLIRContext *ctx = loop.getContext();
  loop->setLoc(mlir::FusedLoc::get(
      ctx, {loop.getLoc()}, mlir::StringAttr::get(ctx, kParallelLoopMark)));
}

inline bool isMarkedParallel(mlir::scf::ForOp loop) {
  auto fused = llvm::dyn_cast<mlir::FusedLoc>(loop.getLoc());
  auto mark =
      fused ? llvm::dyn_cast_or_null<mlir::StringAttr>(fused.getMetadata())
            : mlir::StringAttr();
  return mark && mark.getValue() == kParallelLoopMark;
}

} // namespace heed

#endif // HEED_COMPILER_TRANSFORMS_PARALLELLOOPS_H
