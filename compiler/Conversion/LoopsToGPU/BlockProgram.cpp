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

namespace {

/// A gpu.launch of `grid` blocks of `threads` threads with `shared` as
/// workgroup buffers; `place` gets its ids and buffers.
gpu::LaunchOp createLaunch(OpBuilder &b, Location loc,
                           std::array<int64_t, 3> grid, int64_t threads,
                           ArrayRef<MemRefType> sharedTypes,
                           BlockPlace &place) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  SmallVector<Type> shared;
  for (MemRefType t : sharedTypes)
    shared.push_back(
        MemRefType::get(t.getShape(), t.getElementType(), nullptr, workgroup));
  auto launch = gpu::LaunchOp::create(
      b, loc, c(grid[0]), c(grid[1]), c(grid[2]), c(threads), c(1), c(1),
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange{}, shared);
  place.block = {launch.getBlockIds().x, launch.getBlockIds().y,
                 launch.getBlockIds().z};
  place.thread = launch.getThreadIds().x;
  for (BlockArgument a : launch.getWorkgroupAttributions())
    place.shared.push_back(a);
  return launch;
}

/// The function the builder's position is in (or the function itself, at
/// its body's top level): on the host, where stack arrays are allocated.
OpBuilder atFunctionEntry(OpBuilder &b) {
  auto function = b.getInsertionBlock()
                      ->getParentOp()
                      ->getParentOfType<FunctionOpInterface>();
  if (auto self =
          dyn_cast<FunctionOpInterface>(b.getInsertionBlock()->getParentOp()))
    function = self;
  OpBuilder entry(b.getContext());
  entry.setInsertionPointToStart(&function.getFunctionBody().front());
  return entry;
}

/// `fn` inside a new scf.for over [0, n) at the builder's position.
void hostLoop(OpBuilder &b, Location loc, int64_t n,
              function_ref<void(Value)> fn) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto forOp = scf::ForOp::create(b, loc, c(0), c(n), c(1));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forOp.getBody());
  fn(forOp.getInductionVar());
}

/// `fn` once per block of `grid`, inside host loops over z, y and x; the
/// shared buffers as stack arrays at the function's entry in `place`.
/// (The program may sit in a loop, a decoder step's products, and scf.for,
/// though an allocation scope, frees nothing per iteration once lowered to
/// branches: the stack grew by 25 KB a step. Every run writes the arrays
/// before it reads them.)
void eachBlockOnHost(OpBuilder &b, Location loc, std::array<int64_t, 3> grid,
                     ArrayRef<MemRefType> shared, BlockPlace &place,
                     function_ref<void()> fn) {
  OpBuilder entry = atFunctionEntry(b);
  for (MemRefType t : shared)
    place.shared.push_back(memref::AllocaOp::create(entry, loc, t));
  hostLoop(b, loc, grid[2], [&](Value z) {
    hostLoop(b, loc, grid[1], [&](Value y) {
      hostLoop(b, loc, grid[0], [&](Value x) {
        place.block = {x, y, z};
        fn();
      });
    });
  });
}

} // namespace

void heed::emitBlockProgramLaunch(OpBuilder &b, Location loc,
                                  const BlockProgram &p) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  BlockPlace place;
  auto launch = createLaunch(b, loc, p.grid, p.threads, p.shared, place);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
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
    for (const BlockProgram::Compute &stage : p.laterStages) {
      gpu::BarrierOp::create(b, loc);
      next = stage(b, place, i, next);
    }
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
  BlockPlace place;
  OpBuilder entry = atFunctionEntry(b);
  HostState state(entry, b, loc, p);
  auto eachThread = [&](function_ref<void(Value)> fn) {
    hostLoop(b, loc, p.threads, [&](Value thread) {
      place.thread = thread;
      fn(thread);
    });
  };
  eachBlockOnHost(b, loc, p.grid, p.shared, place, [&] {
    place.end = nullptr;
    eachThread([&](Value thread) { state.write(thread, p.init(b, place)); });
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
    for (const BlockProgram::Compute &stage : p.laterStages)
      eachThread([&](Value thread) {
        // (barrier)
        state.write(thread, stage(b, place, i, state.read(thread)));
      });
    // (barrier)
    b.setInsertionPointAfter(steps);
    eachThread([&](Value thread) { p.finish(b, place, state.read(thread)); });
  });
}

void heed::emitBlockPhasesLaunch(OpBuilder &b, Location loc,
                                 const BlockPhases &p) {
  BlockPlace place;
  auto launch = createLaunch(b, loc, p.grid, p.threads, p.shared, place);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  for (auto [i, phase] : llvm::enumerate(p.phases)) {
    if (i > 0)
      gpu::BarrierOp::create(b, loc);
    phase(b, place);
  }
  gpu::TerminatorOp::create(b, loc);
}

void heed::emitBlockPhasesOnHost(OpBuilder &b, Location loc,
                                 const BlockPhases &p) {
  BlockPlace place;
  eachBlockOnHost(b, loc, p.grid, p.shared, place, [&] {
    // (a barrier between phases: each runs for every thread first)
    for (const BlockPhases::Phase &phase : p.phases)
      hostLoop(b, loc, p.threads, [&](Value thread) {
        place.thread = thread;
        phase(b, place);
      });
  });
}

void BlockPhases::appendTreeReduction(
    unsigned buffer, std::function<Value(OpBuilder &, Value, Value)> combine) {
  for (int64_t stride = threads / 2; stride >= 1; stride /= 2)
    phases.push_back([=](OpBuilder &b, const BlockPlace &place) {
      // Threads below the stride add the partial a stride above their own
      // (which no thread writes this round).
      Location loc = b.getUnknownLoc();
      Value cStride = arith::ConstantIndexOp::create(b, loc, stride);
      Value active = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                           place.thread, cStride);
      auto branch = scf::IfOp::create(b, loc, TypeRange{}, active, false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      Value partials = place.shared[buffer];
      Value mine = memref::LoadOp::create(b, loc, partials, place.thread);
      Value other = memref::LoadOp::create(
          b, loc, partials,
          ValueRange{arith::AddIOp::create(b, loc, place.thread, cStride)});
      memref::StoreOp::create(b, loc, combine(b, mine, other), partials,
                              place.thread);
    });
}

void heed::emitStridedCopy(
    OpBuilder &b, Location loc, Value thread, int64_t threads, int64_t total,
    bool unrolled, function_ref<Value(OpBuilder &, Value)> read,
    function_ref<void(OpBuilder &, Value, Value)> write) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  int64_t perThread = (total + threads - 1) / threads;
  if (!unrolled || perThread > 64) {
    auto loop = scf::ForOp::create(b, loc, thread, c(total), c(threads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value e = loop.getInductionVar();
    write(b, e, read(b, e));
    return;
  }
  constexpr int64_t kBatch = 16;
  for (int64_t first = 0; first < perThread; first += kBatch) {
    SmallVector<std::tuple<Value, Value, bool>> loaded; // (e, x, partial)
    for (int64_t k = first; k < std::min(first + kBatch, perThread); ++k) {
      Value e = arith::AddIOp::create(b, loc, thread, c(k * threads));
      // The last round's threads past the end read the last element and
      // write nothing.
      bool partial = (k + 1) * threads > total;
      Value at =
          partial ? Value(arith::MinUIOp::create(b, loc, e, c(total - 1))) : e;
      loaded.push_back({e, read(b, at), partial});
    }
    for (auto [e, x, partial] : loaded) {
      if (!partial) {
        write(b, e, x);
        continue;
      }
      Value inside =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, e, c(total));
      auto branch = scf::IfOp::create(b, loc, TypeRange{}, inside, false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      write(b, e, x);
    }
  }
}
