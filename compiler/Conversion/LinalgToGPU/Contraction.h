//===- Contraction.h - Matrix products the GPU kernels take -----*- C++ -*-===//
//
// Part of Heed. A contraction `out[...] += a[...] · b[...]` (a
// linalg.generic on buffers whose maps are projected permutations) is a
// batch of matrix products once its loop dims are grouped: batch dims (in
// a, b and out), M (a and out), N (b and out), K (reduction, in a and b).
// Each group is one linear index, split back into its dims (row-major, in
// loop order) wherever an operand is read or written, so any layout the
// maps describe works. The tiled kernels (f32 on the cores, reduced
// precision on tensor cores) share the match and the element accesses.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LINALGTOGPU_CONTRACTION_H
#define HEED_COMPILER_CONVERSION_LINALGTOGPU_CONTRACTION_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include "compiler/Conversion/LinalgToGPU/CopiedOperands.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"

#include <optional>

namespace heed {

/// The loop dims of a contraction by role, each in loop order.
struct Contraction {
  mlir::linalg::GenericOp op;
  llvm::SmallVector<mlir::AffineMap> maps; // a, b, out
  llvm::SmallVector<mlir::Value> operands; // a, b, out
  /// A copy right before the op that fills out with its init (a bias
  /// broadcast per row): the kernel reads the init from its source instead
  /// and the copy goes, one pass over out the fewer.
  mlir::memref::CopyOp initCopy;
  mlir::Value init; // the buffer the init is read from: out, or the source
  /// An elementwise op right after the product that reads out (a bias's
  /// activation, a residual add): computed in the kernel's epilogue from
  /// each output element as it is written.
  mlir::linalg::GenericOp consumer;
  /// Per operand (a, b), the parts copies right before the op assemble it
  /// from (an LSTM cell's [context, state] at batch 256), where they do: the
  /// kernel reads its tiles from the parts, and the copies (each a launch of
  /// its own) go.
  std::array<std::optional<Concatenation>, 2> parts;
  llvm::SmallVector<unsigned> batch, m, n, k;
  llvm::SmallVector<int64_t> sizes; // every loop dim's size
  int64_t size(llvm::ArrayRef<unsigned> dims) const {
    int64_t s = 1;
    for (unsigned d : dims)
      s *= sizes[d];
    return s;
  }
  /// Whether operand `i` (0: a, 1: b) has a K dim as its last axis, where
  /// its memory is contiguous.
  bool kContiguous(unsigned i) const;
};

/// The output tile of a block in both kernels (M × N), and the smallest
/// M, N and K they take: smaller products stay one thread per output.
constexpr int64_t kBlockTileM = 64, kBlockTileN = 64, kMinSide = 16;

/// `op` as a contraction of f32 buffers with static shapes whose M, N and K
/// are each at least `minSide`, with the copy before it and the consumer
/// after it that join its kernel; none otherwise.
std::optional<Contraction> matchContraction(mlir::linalg::GenericOp op,
                                            int64_t minSide);

/// Element accesses of a contraction's kernel, emitted at a builder's
/// position.
class ContractionAccess {
public:
  ContractionAccess(mlir::OpBuilder &b, mlir::Location loc,
                    const Contraction &c)
      : b(b), loc(loc), c(c) {}

  /// The loop dims' values with the batch group's set from `batch`.
  llvm::SmallVector<mlir::Value> batchValues(mlir::Value batch);
  /// Operand `i`'s element at free index `f` (its M or N group) and K
  /// index `k`, `values` holding the batch dims; zero past M, N or K. The
  /// load reads a clamped, valid element, so there is no branch around it.
  mlir::Value load(unsigned i, llvm::SmallVectorImpl<mlir::Value> &values,
                   mlir::Value f, mlir::Value k);
  /// out[m, n] = init[m, n] + `sum` (and the fused consumer of that
  /// element) if m and n lie inside M × N; `values` holds the batch dims.
  void store(llvm::SmallVectorImpl<mlir::Value> &values, mlir::Value m,
             mlir::Value n, mlir::Value sum);
  /// Removes the op, its init copy, its consumer and its operands' copies
  /// (and their producers, which go into `erased`) once a kernel has
  /// replaced them.
  static void erase(const Contraction &c,
                    llvm::DenseSet<mlir::Operation *> &erased);

private:
  mlir::Value idx(int64_t v);
  mlir::Value lessThan(mlir::Value v, int64_t bound);
  void applyConsumer(mlir::Value value, llvm::ArrayRef<mlir::Value> at);

  mlir::OpBuilder &b;
  mlir::Location loc;
  const Contraction &c;
};

/// How a kernel stages its K step's tiles of a (i = 0) and b (i = 1):
/// `elements[i]` elements each, `read(i, k0, e)` reading element e of
/// operand i's tile for the step from `k0` (zero outside the operand),
/// `write(i, e, x)` storing it into the tile.
struct OperandTiles {
  std::array<int64_t, 2> elements;
  std::function<mlir::Value(mlir::OpBuilder &, const BlockPlace &, unsigned i,
                            mlir::Value k0, mlir::Value e)>
      read;
  std::function<void(mlir::OpBuilder &, const BlockPlace &, unsigned i,
                     mlir::Value e, mlir::Value x)>
      write;
};

/// Sets `p`'s tile copies: each thread elements thread, thread + threads,
/// ... of each tile, in a loop (`load`), or with `prefetch` unrolled and
/// software-pipelined (`fetch` and `store`: the next step's elements read
/// into registers while a step computes). After `p.threads` and
/// `p.shared` are set.
void setOperandTileCopies(BlockProgram &p, OperandTiles tiles, bool prefetch);

/// Replaces `c` with the f32 kernel: 256 threads of 4 × 4 outputs each
/// (TiledContraction.cpp), a `gpu.launch` (which the CPU-run schedule runs
/// as loops: heed-launches-to-host-loops); `prefetch`: setOperandTileCopies.
void emitTiledContraction(const Contraction &c, bool prefetch,
                          llvm::DenseSet<mlir::Operation *> &erased);

/// Replaces `c` with the tensor-core kernel: 8 warps of 16 × 32 outputs,
/// the operands rounded to `element` (bf16 or f16) as they are staged, or
/// for f32 each product three tf32 ones (3xTF32), f32 accumulators
/// (MmaContraction.cpp).
void emitMmaContraction(const Contraction &c, bool onHost, mlir::Type element,
                        bool prefetch,
                        llvm::DenseSet<mlir::Operation *> &erased);

} // namespace heed

#endif
