//===- TreeRounds.h - A block's tree over shared partials -------*- C++ -*-===//
//
// Part of Heed. The block reductions (BlockReduction.cpp, BlockArgmax.cpp)
// take linalg ops on static f32 buffers, leave one partial per thread in
// shared memory, then halve them in log2(threads) rounds, a barrier each
// (the BlockProgram's steps), and thread 0 stores the total.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LINALGTOGPU_TREEROUNDS_H
#define HEED_COMPILER_CONVERSION_LINALGTOGPU_TREEROUNDS_H

#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/Support/MathExtras.h"

namespace heed {

/// Reductions (sums, maxima, argmaxes) at least this long, with at most
/// this many outputs, get a block per output; others keep one thread per
/// output.
inline constexpr int64_t kBlockReductionMinLength = 128;
inline constexpr int64_t kBlockReductionMaxOutputs = 4096;
/// Except, in a loop's step, reductions no longer than this whose outputs
/// fit one block's threads: a thread per output is then one block, which a
/// decoder step at batch 1 runs inside its one block (heed-one-block-steps)
/// rather than as a launch of its own (the date translator's cell product,
/// 256 outputs of 128 terms, was 32 blocks of 8 outputs). Outside a loop
/// such a reduction keeps its blocks: a launch of its own either way, the
/// blocks finish sooner.
inline constexpr int64_t kThreadReductionMaxLength = 128;
inline constexpr int64_t kThreadReductionMaxOutputs = 256;
/// Whether a reduction of `length` terms into each of `outputs` outputs
/// gets a block per output (or per few neighbouring outputs); `inStep`:
/// the reduction is in a loop's step on the host.
inline bool wantsBlockReduction(int64_t length, int64_t outputs, bool inStep) {
  if (length < kBlockReductionMinLength || outputs > kBlockReductionMaxOutputs)
    return false;
  return !inStep || length > kThreadReductionMaxLength ||
         outputs > kThreadReductionMaxOutputs;
}
/// Whether `op` is in a loop's step on the host (an `scf.for` or
/// `scf.while` holds it).
inline bool inLoopStep(mlir::Operation *op) {
  return op->getParentOfType<mlir::scf::ForOp>() ||
         op->getParentOfType<mlir::scf::WhileOp>();
}
/// Threads of such a block (a power of two: the tree halves it).
inline constexpr int64_t kBlockReductionMaxThreads = 256;

/// Whether `op` works on buffers of static shape and f32 elements, each
/// read or written through a projected permutation of the loop dims.
inline bool onStaticF32Buffers(mlir::linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics())
    return false;
  for (mlir::Value operand : op->getOperands()) {
    auto type = llvm::dyn_cast<mlir::MemRefType>(operand.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return false;
  }
  for (mlir::AffineMap map : op.getIndexingMapsArray())
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return false;
  return true;
}

/// `p`'s steps as the tree's rounds over `shares` partials per output (a
/// power of two): log2(shares) steps, nothing to stage in shared memory per
/// step.
inline void useTreeRounds(BlockProgram &p, mlir::Location loc, int64_t shares) {
  p.step = 1;
  p.end = [loc, shares](mlir::OpBuilder &b, const BlockPlace &) {
    return mlir::Value(
        mlir::arith::ConstantIndexOp::create(b, loc, llvm::Log2_64(shares)));
  };
  p.load = [](mlir::OpBuilder &, const BlockPlace &, mlir::Value) {};
}

/// Round `round` of the tree over `threads` partials: the threads below
/// stride = threads >> (round + 1) run `body` with the index of the partial
/// a stride above their own (which no thread writes this round). With
/// `outputs` neighbouring threads per share (thread = share · outputs +
/// output), log2(threads / outputs) rounds leave each output's total at
/// thread `output`.
inline void
emitTreeRound(mlir::OpBuilder &b, mlir::Location loc, int64_t threads,
              mlir::Value thread, mlir::Value round,
              llvm::function_ref<void(mlir::OpBuilder &, mlir::Value)> body) {
  using namespace mlir;
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value stride = arith::ShRUIOp::create(
      b, loc, c(threads), arith::AddIOp::create(b, loc, round, c(1)));
  Value active =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, thread, stride);
  auto branch = scf::IfOp::create(b, loc, TypeRange{}, active, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&branch.getThenRegion().front());
  body(b, arith::AddIOp::create(b, loc, thread, stride));
}

/// `body` on thread 0 alone (which stores the block's total).
inline void emitOnThreadZero(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::Value thread,
                             llvm::function_ref<void(mlir::OpBuilder &)> body) {
  using namespace mlir;
  Value first =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, thread,
                            arith::ConstantIndexOp::create(b, loc, 0));
  auto branch = scf::IfOp::create(b, loc, TypeRange{}, first, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&branch.getThenRegion().front());
  body(b);
}

} // namespace heed

#endif // HEED_COMPILER_CONVERSION_LINALGTOGPU_TREEROUNDS_H
