//===- TreeRounds.h - A block's tree over shared partials -------*- C++ -*-===//
//
// Part of Heed. The block reductions (BlockReduction.cpp, BlockArgmax.cpp)
// leave one partial per thread in shared memory, then halve them in
// log2(threads) rounds, a barrier each (the BlockProgram's steps), and
// thread 0 stores the total.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LINALGTOGPU_TREEROUNDS_H
#define HEED_COMPILER_CONVERSION_LINALGTOGPU_TREEROUNDS_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

namespace heed {

/// Round `round` of the tree over `threads` partials: the threads below
/// stride = threads >> (round + 1) run `body` with the index of the partial
/// a stride above their own (which no thread writes this round).
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
