//===- CopiedOperands.h - Operands that copies fill first -------*- C++ -*-===//
//
// Part of Heed. Bufferization leaves copies right before a linalg op that
// only fill one of its buffers: a bias copied into the accumulator, the
// parts of a concatenation copied side by side into the buffer a product
// reads. On the GPU each copy is a launch of its own; a block kernel can read
// the copies' sources itself instead, and the copies go.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LINALGTOGPU_COPIEDOPERANDS_H
#define HEED_COMPILER_CONVERSION_LINALGTOGPU_COPIEDOPERANDS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "llvm/ADT/DenseSet.h"

#include <optional>

namespace heed {

/// The copy among the allocations, views and copies right before `op` that
/// only sets the initial value of `op`'s init `init`: it writes that whole
/// buffer, which `op` (one block per output, every output, the init's map
/// over the `parallelDims` parallel dims) overwrites everywhere and reads
/// nowhere else, from a buffer `op` does not write and no other of those
/// copies writes. A block kernel reads the initial values from the copy's
/// source instead (one launch fewer: the copy was a kernel of its own).
mlir::memref::CopyOp initCopyOf(mlir::linalg::GenericOp op, unsigned init,
                                size_t parallelDims);

/// An input of a linalg op that copies right before it assemble from parts
/// side by side along one dim (a concatenation: an LSTM cell's [x, h], a
/// decoder's [context, output]), and which nothing else reads or writes.
struct Concatenation {
  mlir::Value buffer; // the op's input, an allocation
  unsigned dim;       // the dim the parts lie along
  /// Each part's first index along `dim` (ascending, the first 0), its size
  /// there, and the buffer copied into it.
  llvm::SmallVector<int64_t> offsets, sizes;
  llvm::SmallVector<mlir::Value> sources;
  llvm::SmallVector<mlir::memref::CopyOp> copies;
  /// Per part, the element-wise op that computes its source right before
  /// the copies (an embedding lookup), where there is one: the kernel
  /// computes the part's elements itself, and the op goes too.
  llvm::SmallVector<mlir::linalg::GenericOp> producers;
};

/// `op`'s input `input` as such a concatenation: an allocation whose only
/// uses are `op`'s inputs, deallocations, and static unit-stride views,
/// each the target of one copy among the allocations, views and copies
/// right before `op`, that tile it along one dim. No source may be written
/// by `op` or by any of those copies (the kernel reads the sources where
/// the copies did). The part whose source an element-wise op computes
/// right before those copies (all parallel, writing every element of a
/// buffer nothing else uses, its body loads and ops without effects) is
/// computed by the kernel the same way, where neither `op` nor the copies
/// write what it reads.
std::optional<Concatenation> concatenationOf(mlir::linalg::GenericOp op,
                                             mlir::Value input);

/// The element of `c`'s buffer at `indices`, read from its parts (or
/// computed as their producers do): each part is read at indices clamped
/// into it, the one `indices` fall in selected (no branch: the loads of an
/// unrolled loop stay in flight).
mlir::Value loadConcatenated(mlir::OpBuilder &b, mlir::Location loc,
                             const Concatenation &c,
                             llvm::ArrayRef<mlir::Value> indices);

/// Erases the copies of `concatenations` (each once: an input read twice
/// has them once), their views once unused, and the parts' producers, which
/// go into `erased`, once a kernel reads the parts instead.
void eraseConcatenations(
    llvm::ArrayRef<std::optional<Concatenation>> concatenations,
    llvm::DenseSet<mlir::Operation *> &erased);

} // namespace heed

#endif
