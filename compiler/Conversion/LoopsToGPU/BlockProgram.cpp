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

OpBuilder heed::atFunctionEntry(OpBuilder &b) {
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

namespace {

/// Where each shared buffer starts in a block's dynamic shared memory
/// (16-byte aligned), and the total.
std::pair<SmallVector<int64_t>, int64_t>
sharedLayout(ArrayRef<MemRefType> sharedTypes) {
  SmallVector<int64_t> offsets;
  int64_t bytes = 0;
  for (MemRefType t : sharedTypes) {
    offsets.push_back(bytes);
    bytes +=
        (t.getNumElements() * t.getElementTypeBitWidth() / 8 + 15) / 16 * 16;
  }
  return {offsets, bytes};
}

/// A gpu.launch of `grid` blocks of `threads` threads with `shared` as
/// workgroup buffers; `place` gets its ids and buffers. Up to 48 KB they
/// are the launch's workgroup attributions (static shared memory); beyond
/// that, views of its dynamic shared memory, which a kernel may have up to
/// the device's opt-in limit (the runtime raises the kernel's limit).
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
  auto [offsets, bytes] = sharedLayout(sharedTypes);
  bool dynamic = bytes > kStaticSharedBytes;
  Value dynamicBytes =
      dynamic
          ? Value(arith::ConstantIntOp::create(b, loc, b.getI32Type(), bytes))
          : Value();
  auto launch = gpu::LaunchOp::create(
      b, loc, c(grid[0]), c(grid[1]), c(grid[2]), c(threads), c(1), c(1),
      dynamicBytes, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange{},
      dynamic ? TypeRange{} : TypeRange(shared));
  place.block = {launch.getBlockIds().x, launch.getBlockIds().y,
                 launch.getBlockIds().z};
  place.thread = launch.getThreadIds().x;
  for (BlockArgument a : launch.getWorkgroupAttributions())
    place.shared.push_back(a);
  if (dynamic) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToEnd(&launch.getBody().front());
    Value all = gpu::DynamicSharedMemoryOp::create(
        b, loc,
        MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), nullptr,
                        workgroup));
    for (auto [type, offset] : llvm::zip_equal(shared, offsets))
      place.shared.push_back(
          memref::ViewOp::create(b, loc, type, all, c(offset), ValueRange{}));
  }
  return launch;
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
    place.shared.push_back(
        memref::AllocaOp::create(entry, loc, t, ValueRange{}, ValueRange{},
                                 entry.getI64IntegerAttr(16)));
  hostLoop(b, loc, grid[2], [&](Value z) {
    hostLoop(b, loc, grid[1], [&](Value y) {
      hostLoop(b, loc, grid[0], [&](Value x) {
        place.block = {x, y, z};
        fn();
      });
    });
  });
}

/// `value` (f32 or a vector of f32) of the lane `mask` lanes away
/// (lane ^ mask) in the warp.
Value shuffleXor(OpBuilder &b, Location loc, Value value, int64_t mask) {
  auto i32 = [&](int64_t v) -> Value {
    return arith::ConstantIntOp::create(b, loc, b.getI32Type(), v);
  };
  auto one = [&](Value x) -> Value {
    return gpu::ShuffleOp::create(b, loc, x, i32(mask), i32(32),
                                  gpu::ShuffleMode::XOR)
        .getShuffleResult();
  };
  auto vector = dyn_cast<VectorType>(value.getType());
  if (!vector)
    return one(value);
  SmallVector<Value> elements;
  for (int64_t e = 0; e < vector.getNumElements(); ++e)
    elements.push_back(one(vector::ExtractOp::create(b, loc, value, e)));
  return vector::FromElementsOp::create(b, loc, vector, elements);
}

/// The reductions over groups of `group` lanes, on a GPU: a butterfly,
/// lane k combining its value with lane k ^ 1's, then k ^ 2's, ...
/// (combine is commutative, so every lane gets the host's tree).
void reduceLanesOnGPU(OpBuilder &b, Location loc, int64_t group,
                      ArrayRef<BlockProgram::LaneReduction> reductions,
                      SmallVector<Value> &state) {
  for (const BlockProgram::LaneReduction &r : reductions)
    for (int64_t mask = 1; mask < group; mask *= 2)
      state[r.index] = r.combine(b, state[r.index],
                                 shuffleXor(b, loc, state[r.index], mask));
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
  b.setInsertionPointToEnd(&launch.getBody().front()); // after any views
  auto barrier = [&] {
    if (p.beforeBarrier)
      p.beforeBarrier(b);
    gpu::BarrierOp::create(b, loc);
  };
  SmallVector<Value> init = p.init(b, place);
  size_t stateSize = init.size();
  place.end = p.end(b, place);
  // Pipelined, the first step's tiles are fetched before the loop and
  // carried in it after the state.
  if (p.pipelined())
    llvm::append_range(init, p.fetch(b, place, c(0)));
  auto loop = scf::ForOp::create(b, loc, c(0), place.end, c(p.step), init);
  // A loop without state comes with its terminator; the one below replaces
  // it.
  if (init.empty())
    loop.getBody()->getTerminator()->erase();
  {
    OpBuilder::InsertionGuard loopGuard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    ValueRange args = loop.getRegionIterArgs();
    SmallVector<Value> fetched;
    if (p.pipelined())
      p.store(b, place, i, args.drop_front(stateSize));
    else
      p.load(b, place, i);
    barrier();
    // The next step's loads, in flight while this step computes.
    if (p.pipelined())
      fetched = p.fetch(
          b, place, arith::AddIOp::create(b, loc, i, c(p.step)).getResult());
    SmallVector<Value> next =
        p.compute(b, place, i, args.take_front(stateSize));
    for (const BlockProgram::Stage &stage : p.laterStages) {
      if (stage.barrier)
        barrier();
      reduceLanesOnGPU(b, loc, p.laneGroup, stage.reduceBefore, next);
      next = stage.compute(b, place, i, next);
    }
    // The next step's stores overwrite what this step read.
    if (p.barrierAfterStep)
      barrier();
    llvm::append_range(next, fetched);
    scf::YieldOp::create(b, loc, next);
  }
  SmallVector<Value> final(loop.getResults().take_front(stateSize));
  reduceLanesOnGPU(b, loc, p.laneGroup, p.reduceBeforeFinish, final);
  p.finish(b, place, final);
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
    for (Type t : llvm::concat<const Type>(p.state, p.fetched)) {
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
    for (Value a : arrays)
      values.push_back(load(a, thread));
    for (auto [index, array] : reduced)
      values[index] = load(array, thread);
    return values;
  }
  void write(Value thread, ValueRange values) {
    for (auto [a, v] : llvm::zip_equal(arrays, values))
      store(a, thread, v);
  }

  /// Before a stage: every thread's reduced values, from its group's
  /// state, into arrays of their own at the function's entry (the stage
  /// overwrites the state as it goes); `read` then returns them in their
  /// place, until the next call (none: `read` returns the state alone).
  /// `eachThread` runs its callback in a loop over the threads.
  void reduceLanes(int64_t group,
                   ArrayRef<BlockProgram::LaneReduction> reductions,
                   function_ref<void(function_ref<void(Value)>)> eachThread) {
    reduced.clear();
    if (reductions.empty())
      return;
    // (A builder at the entry now: one made while the entry block was
    // empty would append to it.)
    OpBuilder alloc = atFunctionEntry(b);
    SmallVector<Value> targets;
    for (const BlockProgram::LaneReduction &r : reductions)
      targets.push_back(memref::AllocaOp::create(
          alloc, loc, cast<MemRefType>(arrays[r.index].getType())));
    eachThread([&](Value thread) {
      Value first = arith::MulIOp::create(
          b, loc,
          arith::DivUIOp::create(b, loc, thread,
                                 arith::ConstantIndexOp::create(b, loc, group)),
          arith::ConstantIndexOp::create(b, loc, group));
      for (auto [r, target] : llvm::zip_equal(reductions, targets)) {
        SmallVector<Value> values;
        for (int64_t k = 0; k < group; ++k)
          values.push_back(load(
              arrays[r.index],
              arith::AddIOp::create(
                  b, loc, first, arith::ConstantIndexOp::create(b, loc, k))));
        // The tree: neighbours first, then pairs of pairs.
        for (size_t width = 1; width < values.size(); width *= 2)
          for (size_t k = 0; k + width < values.size(); k += 2 * width)
            values[k] = r.combine(b, values[k], values[k + width]);
        store(target, thread, values[0]);
      }
    });
    for (auto [r, target] : llvm::zip_equal(reductions, targets))
      reduced.push_back({r.index, target});
  }

private:
  Value zero() { return arith::ConstantIndexOp::create(b, loc, 0); }
  Value load(Value array, Value thread) {
    auto type = cast<MemRefType>(array.getType());
    if (type.getRank() == 1)
      return memref::LoadOp::create(b, loc, array, thread);
    return vector::LoadOp::create(
        b, loc, VectorType::get({type.getDimSize(1)}, type.getElementType()),
        array, ValueRange{thread, zero()});
  }
  void store(Value array, Value thread, Value v) {
    if (cast<MemRefType>(array.getType()).getRank() == 1)
      memref::StoreOp::create(b, loc, v, array, thread);
    else
      vector::StoreOp::create(b, loc, v, array, ValueRange{thread, zero()});
  }
  OpBuilder &b;
  Location loc;
  SmallVector<Value> arrays;
  /// The reduced values the next read returns: (state index, array).
  SmallVector<std::pair<unsigned, Value>> reduced;
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
  // The arrays hold the state, then (pipelined) the fetched tiles, which
  // the stages carry along.
  size_t stateSize = p.state.size();
  auto stateOf = [&](Value thread) {
    SmallVector<Value> all = state.read(thread);
    all.truncate(stateSize);
    return all;
  };
  auto fetchedOf = [&](Value thread) {
    return ArrayRef<Value>(state.read(thread)).drop_front(stateSize).vec();
  };
  eachBlockOnHost(b, loc, p.grid, p.shared, place, [&] {
    place.end = nullptr;
    eachThread([&](Value thread) {
      SmallVector<Value> initial = p.init(b, place);
      if (p.pipelined())
        llvm::append_range(initial, p.fetch(b, place, c(0)));
      state.write(thread, initial);
    });
    place.thread = nullptr; // the bound is the block's
    place.end = p.end(b, place);
    auto steps = scf::ForOp::create(b, loc, c(0), place.end, c(p.step));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(steps.getBody());
    Value i = steps.getInductionVar();
    eachThread([&](Value thread) {
      if (p.pipelined())
        p.store(b, place, i, fetchedOf(thread));
      else
        p.load(b, place, i);
    });
    // (barrier)
    eachThread([&](Value thread) {
      SmallVector<Value> fetched;
      if (p.pipelined())
        fetched = p.fetch(
            b, place, arith::AddIOp::create(b, loc, i, c(p.step)).getResult());
      SmallVector<Value> next = p.compute(b, place, i, stateOf(thread));
      llvm::append_range(next, fetched);
      state.write(thread, next);
    });
    for (const BlockProgram::Stage &stage : p.laterStages) {
      // (barrier or lane reductions)
      state.reduceLanes(p.laneGroup, stage.reduceBefore, eachThread);
      // The fetched tiles are carried along as they are.
      eachThread([&](Value thread) {
        SmallVector<Value> all = state.read(thread);
        ArrayRef<Value> values(all);
        SmallVector<Value> next =
            stage.compute(b, place, i, values.take_front(stateSize));
        llvm::append_range(next, values.drop_front(stateSize));
        state.write(thread, next);
      });
    }
    state.reduceLanes(p.laneGroup, {}, eachThread); // the next step reads
                                                    // the state alone
    // (barrier)
    b.setInsertionPointAfter(steps);
    state.reduceLanes(p.laneGroup, p.reduceBeforeFinish, eachThread);
    eachThread([&](Value thread) { p.finish(b, place, stateOf(thread)); });
  });
}

void heed::emitBlockPhasesLaunch(OpBuilder &b, Location loc,
                                 const BlockPhases &p) {
  BlockPlace place;
  auto launch = createLaunch(b, loc, p.grid, p.threads, p.shared, place);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToEnd(&launch.getBody().front()); // after any views
  for (auto [i, phase] : llvm::enumerate(p.phases)) {
    if (i > 0)
      gpu::BarrierOp::create(b, loc);
    phase(b, place);
  }
  gpu::TerminatorOp::create(b, loc);
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

namespace {

/// Elements thread + k · threads of a strided copy for k in [kFirst,
/// kEnd): their reads (the last round's threads past the end read the
/// last element), then their writes (none past the end).
SmallVector<Value> stridedReads(OpBuilder &b, Location loc, Value thread,
                                int64_t threads, int64_t total, int64_t kFirst,
                                int64_t kEnd,
                                function_ref<Value(OpBuilder &, Value)> read) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  SmallVector<Value> values;
  for (int64_t k = kFirst; k < kEnd; ++k) {
    Value e = arith::AddIOp::create(b, loc, thread, c(k * threads));
    if ((k + 1) * threads > total)
      e = arith::MinUIOp::create(b, loc, e, c(total - 1));
    values.push_back(read(b, e));
  }
  return values;
}

void stridedWrites(OpBuilder &b, Location loc, Value thread, int64_t threads,
                   int64_t total, int64_t kFirst, ValueRange values,
                   function_ref<void(OpBuilder &, Value, Value)> write) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  for (auto [n, x] : llvm::enumerate(values)) {
    int64_t k = kFirst + static_cast<int64_t>(n);
    Value e = arith::AddIOp::create(b, loc, thread, c(k * threads));
    if ((k + 1) * threads <= total) {
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

int64_t perThread(int64_t total, int64_t threads) {
  return (total + threads - 1) / threads;
}

} // namespace

void heed::emitStridedCopy(
    OpBuilder &b, Location loc, Value thread, int64_t threads, int64_t total,
    bool unrolled, function_ref<Value(OpBuilder &, Value)> read,
    function_ref<void(OpBuilder &, Value, Value)> write) {
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  int64_t each = perThread(total, threads);
  if (!unrolled || each > 64) {
    auto loop = scf::ForOp::create(b, loc, thread, c(total), c(threads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value e = loop.getInductionVar();
    write(b, e, read(b, e));
    return;
  }
  constexpr int64_t kBatch = 16;
  for (int64_t first = 0; first < each; first += kBatch) {
    SmallVector<Value> loaded =
        stridedReads(b, loc, thread, threads, total, first,
                     std::min(first + kBatch, each), read);
    stridedWrites(b, loc, thread, threads, total, first, loaded, write);
  }
}

SmallVector<Value>
heed::emitStridedReads(OpBuilder &b, Location loc, Value thread,
                       int64_t threads, int64_t total,
                       function_ref<Value(OpBuilder &, Value)> read) {
  return stridedReads(b, loc, thread, threads, total, 0,
                      perThread(total, threads), read);
}

void heed::emitStridedWrites(
    OpBuilder &b, Location loc, Value thread, int64_t threads, int64_t total,
    ValueRange values, function_ref<void(OpBuilder &, Value, Value)> write) {
  stridedWrites(b, loc, thread, threads, total, 0, values, write);
}
