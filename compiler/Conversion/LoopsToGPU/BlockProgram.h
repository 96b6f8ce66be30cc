//===- BlockProgram.h - A kernel on a GPU or on the host --------*- C++ -*-===//
//
// Part of Heed. The shape the tiled kernels share (flash attention, tiled
// contractions): every thread of a block sets up its state, then the block
// steps through a loop whose bound is the same for all its threads; each
// step, the threads fill shared memory together, wait, fold it into their
// own state, and wait again; at the end each thread writes its results.
//
//   state = init(thread)
//   for i in [0, end) step s:       (end: the same for every thread)
//     load(thread, i); barrier; state = compute(thread, i, state)
//     [barrier or lane reductions; state = stage(thread, i, state)]
//                                    for each later stage
//     barrier                         (unless barrierAfterStep is false)
//   [lane reductions]; finish(thread, state)
//
// or, software-pipelined, with `load` in two halves (fetch: a thread's
// share of the tiles from global memory into registers; store: into
// shared memory), step i + s's fetch issued before step i's compute, so
// that its loads are in flight while the step computes:
//
//   state = init(thread); tiles = fetch(thread, 0)
//   for i in [0, end) step s:
//     store(thread, i, tiles); barrier; tiles = fetch(thread, i + s)
//     state = compute(thread, i, state); ... as above
//
// Placed as one gpu.launch (the state in registers, as scf.for iter_args)
// or, to check its arithmetic without a GPU, as loops over blocks and
// threads on the host: one loop over the threads per stretch between
// barriers, the state a thread carries over a barrier in arrays indexed by
// the thread. The callbacks emit the same code in both. A lane reduction
// (a row's maximum over the lanes holding its columns) is butterfly
// shuffles on a GPU; on the host, a stretch boundary, after which each
// thread reads its group's values.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LOOPSTOGPU_BLOCKPROGRAM_H
#define HEED_COMPILER_CONVERSION_LOOPSTOGPU_BLOCKPROGRAM_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

#include <array>
#include <functional>
#include <vector>

namespace heed {

/// A block's shared memory beyond which a launch takes it as dynamic
/// shared memory (CUDA's limit for static shared memory).
constexpr int64_t kStaticSharedBytes = 48 * 1024;
/// The most shared memory a kernel here asks for: the smallest opt-in
/// limit of a block among the chips the tensor-core kernels take (sm_86
/// and sm_89: 99 KB; sm_80 163 KB, sm_90 227 KB), so that a block fits
/// every one.
constexpr int64_t kMaxSharedBytes = 99 * 1024;

/// Where a callback runs: the block's ids (x, y, z), the thread's id
/// (threads are one-dimensional), the shared buffers in the order of
/// BlockProgram::shared, and (for load, compute and finish) the loop's
/// bound.
struct BlockPlace {
  std::array<mlir::Value, 3> block;
  mlir::Value thread;
  llvm::SmallVector<mlir::Value> shared;
  mlir::Value end;
};

struct BlockProgram {
  /// Blocks along x, y, z; threads per block.
  std::array<int64_t, 3> grid = {1, 1, 1};
  int64_t threads = 1;
  /// Shared buffers (static shapes, no memory space: workgroup memory on
  /// the GPU, stack arrays on the host), at most kMaxSharedBytes in all.
  llvm::SmallVector<mlir::MemRefType> shared;
  /// The types of a thread's state: f32 scalars or vectors of f32.
  llvm::SmallVector<mlir::Type> state;
  /// The loop's step.
  int64_t step = 1;

  using Builder = mlir::OpBuilder;
  /// A thread's initial state.
  std::function<llvm::SmallVector<mlir::Value>(Builder &, const BlockPlace &)>
      init;
  /// The loop's bound; may read the block ids, never the thread.
  std::function<mlir::Value(Builder &, const BlockPlace &)> end;
  /// A thread's share of filling shared memory for step `i`.
  std::function<void(Builder &, const BlockPlace &, mlir::Value i)> load;
  /// Or (set all three, and not `load`) the same in two halves, software-
  /// pipelined: `fetch` reads the thread's share of step i's tiles into
  /// values of the types `fetched` (f32 or vectors of f32; it may read past
  /// the loop's end, never past a buffer's), `store` writes them into
  /// shared memory.
  llvm::SmallVector<mlir::Type> fetched;
  std::function<llvm::SmallVector<mlir::Value>(Builder &, const BlockPlace &,
                                               mlir::Value i)>
      fetch;
  std::function<void(Builder &, const BlockPlace &, mlir::Value i,
                     mlir::ValueRange fetched)>
      store;
  bool pipelined() const { return static_cast<bool>(fetch); }
  /// A thread's state after step `i`.
  using Compute = std::function<llvm::SmallVector<mlir::Value>(
      Builder &, const BlockPlace &, mlir::Value i, mlir::ValueRange state)>;
  Compute compute;
  /// A state value combined over a group of lanes: each lane of the group
  /// gets combine(combine(x0, x1), combine(x2, x3)) (for 4 lanes; a tree in
  /// lane order for any power of two), with x_k lane k's value.
  struct LaneReduction {
    unsigned index; ///< into the state
    std::function<mlir::Value(Builder &, mlir::Value, mlir::Value)> combine;
  };
  /// A further stretch of step `i`. After a barrier (`barrier`) threads
  /// exchange what they computed through shared memory (a tile for the
  /// next product); without one, only the lanes of a warp's groups of
  /// `laneGroup` exchange, through `reduceBefore` (butterfly shuffles on a
  /// GPU). On the host every stage is a stretch of its own either way.
  struct Stage {
    Compute compute;
    bool barrier = true;
    llvm::SmallVector<LaneReduction> reduceBefore;
  };
  std::vector<Stage> laterStages;
  /// Lanes (consecutive, a power of two up to 32) that reduce together.
  int64_t laneGroup = 1;
  /// On a GPU, emitted before each barrier of the loop: a thread's wait
  /// for the asynchronous copies it issued (cp.async), which the barrier
  /// then shows to the block. The host copies synchronously and skips it.
  std::function<void(Builder &)> beforeBarrier;
  /// A barrier at the end of each step, so that the next step's `load`
  /// does not overwrite what this one reads. A program whose later stages
  /// start with a barrier after the last read of what `load` writes, and
  /// that writes what those stages read only after the next step's first
  /// barrier, goes without (FlashAttention-2's loop with asynchronous
  /// copies: the next key tile issued after the barrier that ends the
  /// scores, the value tile after the step's first barrier).
  bool barrierAfterStep = true;
  /// Reductions of the final state before `finish`.
  llvm::SmallVector<LaneReduction> reduceBeforeFinish;
  /// A thread's results written from its final state.
  std::function<void(Builder &, const BlockPlace &, mlir::ValueRange state)>
      finish;
};

/// A kernel without a loop: the stretches its threads run between
/// barriers, in order. What a thread carries from one phase to the next
/// lives in shared (or global) memory.
struct BlockPhases {
  std::array<int64_t, 3> grid = {1, 1, 1};
  int64_t threads = 1;
  llvm::SmallVector<mlir::MemRefType> shared;
  using Phase = std::function<void(mlir::OpBuilder &, const BlockPlace &)>;
  std::vector<Phase> phases;

  /// Appends the phases that combine `shared[buffer]` (one partial per
  /// thread; `threads` a power of two) into its element 0: a tree of
  /// log2(threads) rounds, each halving the partials.
  void appendTreeReduction(
      unsigned buffer,
      std::function<mlir::Value(mlir::OpBuilder &, mlir::Value, mlir::Value)>
          combine);
};

/// A builder at the start of the function the builder's position is in (or
/// of the function itself, at its body's top level): on the host, where
/// stack arrays are allocated. (A program may sit in a loop, a decoder
/// step's products, and scf.for, though an allocation scope, frees nothing
/// per iteration once lowered to branches.)
mlir::OpBuilder atFunctionEntry(mlir::OpBuilder &b);

/// The program as one gpu.launch at the builder's position.
void emitBlockProgramLaunch(mlir::OpBuilder &b, mlir::Location loc,
                            const BlockProgram &program);

/// The program as loops over blocks and threads at the builder's position.
void emitBlockProgramOnHost(mlir::OpBuilder &b, mlir::Location loc,
                            const BlockProgram &program);

/// The phases as one gpu.launch (a barrier between consecutive phases; the
/// CPU-run schedule runs it as loops, heed-launches-to-host-loops).
void emitBlockPhasesLaunch(mlir::OpBuilder &b, mlir::Location loc,
                           const BlockPhases &program);

/// Thread `thread`'s share of a copy of `total` elements by `threads`
/// threads: elements thread, thread + threads, ..., so that neighbouring
/// threads touch neighbouring elements. `read(e)` loads element e (an
/// index below `total`), `write(e, x)` stores what it returned. With
/// `unrolled` (on a GPU) the copy is unrolled, each batch of 16 reads
/// before their writes: a thread's loads are in flight together, where a
/// loop would wait for each load before its store (the latency of global
/// memory, per element). Otherwise, and past 64 elements a thread, a loop.
void emitStridedCopy(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value thread, int64_t threads,
    int64_t total, bool unrolled,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Value)> read,
    llvm::function_ref<void(mlir::OpBuilder &, mlir::Value, mlir::Value)>
        write);

/// emitStridedCopy's two halves, unrolled, for a software-pipelined copy:
/// the values thread `thread` reads (element thread + k · threads for
/// each k; a last round's threads past the end read the last element),
/// and their writes (none past the end).
llvm::SmallVector<mlir::Value> emitStridedReads(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value thread, int64_t threads,
    int64_t total,
    llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Value)> read);
void emitStridedWrites(
    mlir::OpBuilder &b, mlir::Location loc, mlir::Value thread, int64_t threads,
    int64_t total, mlir::ValueRange values,
    llvm::function_ref<void(mlir::OpBuilder &, mlir::Value, mlir::Value)>
        write);

} // namespace heed

#endif
