//===- BlockProgram.cpp - One kernel shape, on a GPU or on the host -------===//
//
// Part of Heed. See BlockProgram.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace heed;

void heed::emitBlockProgramLaunch(OpBuilder &b, Location loc,
                                  const BlockProgram &p) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  SmallVector<Type> shared;
  for (MemRefType t : p.shared)
    shared.push_back(
        MemRefType::get(t.getShape(), t.getElementType(), nullptr, workgroup));
  auto launch = gpu::LaunchOp::create(
      b, loc, c(p.grid[0]), c(p.grid[1]), c(p.grid[2]), c(p.threads), c(1),
      c(1), /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange{}, shared);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  BlockPlace place;
  place.block = {launch.getBlockIds().x, launch.getBlockIds().y,
                 launch.getBlockIds().z};
  place.thread = launch.getThreadIds().x;
  for (BlockArgument a : launch.getWorkgroupAttributions())
    place.shared.push_back(a);
  SmallVector<Value> init = p.init(b, place);
  place.end = p.end(b, place);
  auto loop = scf::ForOp::create(b, loc, c(0), place.end, c(p.step), init);
  // A loop without state comes with its terminator; the one below replaces
  // it.
  if (init.empty())
    loop.getBody()->getTerminator()->erase();
  {
    OpBuilder::InsertionGuard loopGuard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    p.load(b, place, i);
    gpu::BarrierOp::create(b, loc);
    SmallVector<Value> next = p.compute(b, place, i, loop.getRegionIterArgs());
    // The next step's loads overwrite what this step read.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, next);
  }
  p.finish(b, place, loop.getResults());
  gpu::TerminatorOp::create(b, loc);
}

namespace {

/// A thread's state on the host: one array per state value, indexed by
/// the thread (and the vector's lanes).
class HostState {
public:
  /// Allocates the arrays with `alloc`; reads and writes them with `b`.
  HostState(OpBuilder &alloc, OpBuilder &b, Location loc, const BlockProgram &p)
      : b(b), loc(loc) {
    for (Type t : p.state) {
      SmallVector<int64_t> shape = {p.threads};
      Type element = t;
      if (auto v = dyn_cast<VectorType>(t)) {
        shape.push_back(v.getNumElements());
        element = v.getElementType();
      }
      arrays.push_back(memref::AllocaOp::create(
          alloc, loc, MemRefType::get(shape, element)));
    }
  }
  SmallVector<Value> read(Value thread) {
    SmallVector<Value> values;
    for (Value a : arrays) {
      auto type = cast<MemRefType>(a.getType());
      if (type.getRank() == 1)
        values.push_back(memref::LoadOp::create(b, loc, a, thread));
      else
        values.push_back(vector::LoadOp::create(
            b, loc,
            VectorType::get({type.getDimSize(1)}, type.getElementType()), a,
            ValueRange{thread, zero()}));
    }
    return values;
  }
  void write(Value thread, ValueRange values) {
    for (auto [a, v] : llvm::zip_equal(arrays, values)) {
      if (cast<MemRefType>(a.getType()).getRank() == 1)
        memref::StoreOp::create(b, loc, v, a, thread);
      else
        vector::StoreOp::create(b, loc, v, a, ValueRange{thread, zero()});
    }
  }

private:
  Value zero() { return arith::ConstantIndexOp::create(b, loc, 0); }
  OpBuilder &b;
  Location loc;
  SmallVector<Value> arrays;
};

} // namespace

void heed::emitBlockProgramOnHost(OpBuilder &b, Location loc,
                                  const BlockProgram &p) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  // The stack arrays at the function's entry: the program may sit in a
  // loop (a decoder step's products), and scf.for, though an allocation
  // scope, frees nothing per iteration once lowered to branches (the stack
  // grew by 25 KB a step). Every run writes them before it reads them.
  BlockPlace place;
  auto function = b.getInsertionBlock()
                      ->getParentOp()
                      ->getParentOfType<FunctionOpInterface>();
  if (auto self =
          dyn_cast<FunctionOpInterface>(b.getInsertionBlock()->getParentOp()))
    function = self;
  OpBuilder entry(b.getContext());
  entry.setInsertionPointToStart(&function.getFunctionBody().front());
  for (MemRefType t : p.shared)
    place.shared.push_back(memref::AllocaOp::create(entry, loc, t));
  HostState state(entry, b, loc, p);
  /// `fn` inside a new loop over [0, n).
  auto loop = [&](int64_t n, function_ref<void(Value)> fn) {
    auto forOp = scf::ForOp::create(b, loc, c(0), c(n), c(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    fn(forOp.getInductionVar());
  };
  auto eachThread = [&](function_ref<void(Value)> fn) {
    loop(p.threads, [&](Value thread) {
      place.thread = thread;
      fn(thread);
    });
  };
  loop(p.grid[2], [&](Value z) {
    loop(p.grid[1], [&](Value y) {
      loop(p.grid[0], [&](Value x) {
        place.block = {x, y, z};
        place.end = nullptr;
        eachThread(
            [&](Value thread) { state.write(thread, p.init(b, place)); });
        place.thread = nullptr; // the bound is the block's
        place.end = p.end(b, place);
        auto steps = scf::ForOp::create(b, loc, c(0), place.end, c(p.step));
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(steps.getBody());
        Value i = steps.getInductionVar();
        eachThread([&](Value) { p.load(b, place, i); });
        // (barrier)
        eachThread([&](Value thread) {
          state.write(thread, p.compute(b, place, i, state.read(thread)));
        });
        // (barrier)
        b.setInsertionPointAfter(steps);
        eachThread(
            [&](Value thread) { p.finish(b, place, state.read(thread)); });
      });
    });
  });
}
