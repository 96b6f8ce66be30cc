//===- FlashKernel.cpp - The flash-style attention kernel's body ----------===//
//
// Part of Heed. See FlashKernel.h and Passes.td
// (heed-lower-dot-attention-to-gpu, heed-build-flash-attention-kernels).
//
// The kernel body is written once, as four pieces a thread runs (load its
// query row, load its share of a key/value tile, score the tile into its
// running softmax, write its context row), and placed two ways: inside a
// gpu.launch with barriers between the pieces and the running state in
// registers, or (on-host) inside loops over blocks and threads with the
// state in arrays indexed by the thread. The arithmetic, the tiles and the
// masks are the same code in both.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToGPU/FlashKernel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"

#include <cfloat>
#include <cmath>

using namespace mlir;
using namespace heed;

namespace {

/// Query rows per block: one thread each, at most two warps.
constexpr int64_t kMaxThreads = 64;
/// The largest D + Dv a thread keeps in registers (its query and context).
constexpr int64_t kMaxRegisterFloats = 256;
/// Static shared memory a block may use without opting in to more.
constexpr int64_t kSharedBytes = 48 * 1024;
/// Blocks along x (batch rows) and y (query tiles): CUDA's limits.
constexpr int64_t kMaxGridX = 2147483647;
constexpr int64_t kMaxGridY = 65535;

} // namespace

int64_t FlashShape::sharedBytes(int64_t threads, int64_t keyTile, int64_t depth,
                                int64_t valueDepth) {
  return 4 * (keyTile * (depth + valueDepth) + threads * (keyTile + 1));
}

std::optional<FlashShape> FlashShape::choose(int64_t batch, int64_t queries,
                                             int64_t depth, int64_t steps,
                                             int64_t valueDepth, float scale,
                                             bool causal, bool lengths) {
  FlashShape s;
  s.batch = batch;
  s.queries = queries;
  s.depth = depth;
  s.steps = steps;
  s.valueDepth = valueDepth;
  s.scale = scale;
  s.causal = causal;
  s.lengths = lengths;
  if (batch <= 0 || queries <= 0 || steps <= 0 || depth <= 0 ||
      valueDepth <= 0 || depth + valueDepth > kMaxRegisterFloats)
    return std::nullopt;
  s.threads = std::min<int64_t>(kMaxThreads, llvm::alignTo(queries, 32));
  if (s.queryTiles() > kMaxGridY || batch > kMaxGridX)
    return std::nullopt;
  // No tile longer than the keys (rounded up to a power of two).
  int64_t longest = static_cast<int64_t>(llvm::PowerOf2Ceil(steps));
  s.keyTile = 0;
  for (int64_t tile : {64, 32, 16, 8, 4, 2, 1})
    if (tile <= longest &&
        sharedBytes(s.threads, tile, depth, valueDepth) <= kSharedBytes) {
      s.keyTile = tile;
      break;
    }
  if (s.keyTile == 0)
    return std::nullopt;
  return s;
}

namespace {

/// What a thread carries from one key tile to the next: the running
/// maximum, the running sum and the unnormalized context row.
struct RowState {
  Value max, sum, context;
};

/// The buffers a kernel body reads and writes; `keyTile`, `valueTile` and
/// `scores` are the block's shared memory.
struct FlashBuffers {
  Value query, keys, values, lengths, out;
  Value keyTile, valueTile, scores;
};

/// The pieces of the kernel body, emitted at the builder's position.
class FlashBody {
public:
  FlashBody(OpBuilder &b, Location loc, const FlashShape &s,
            const FlashBuffers &m)
      : b(b), loc(loc), s(s), m(m), f32(b.getF32Type()) {}

  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value cf(float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  VectorType vec(int64_t n) { return VectorType::get({n}, f32); }
  Value splat(Value scalar, int64_t n) {
    return vector::BroadcastOp::create(b, loc, vec(n), scalar);
  }
  Value zeros(int64_t n) {
    return arith::ConstantOp::create(b, loc, vec(n),
                                     DenseElementsAttr::get(vec(n), 0.0f));
  }
  Value lessThan(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }

  /// The initial state: no key seen yet.
  RowState initialState() {
    return {cf(-FLT_MAX), cf(0.0f), zeros(s.valueDepth)};
  }

  /// Query row `row` of batch row `batchRow`, times the score's scale;
  /// zeros past the last query (a tail thread computes but never writes).
  Value loadQuery(Value batchRow, Value row) {
    Value active = lessThan(row, idx(s.queries));
    auto branch = scf::IfOp::create(b, loc, vec(s.depth), active,
                                    /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
    Value q = vector::LoadOp::create(b, loc, vec(s.depth), m.query,
                                     ValueRange{batchRow, row, idx(0)});
    q = arith::MulFOp::create(b, loc, q, splat(cf(s.scale), s.depth));
    scf::YieldOp::create(b, loc, q);
    b.setInsertionPointToStart(&branch.getElseRegion().front());
    scf::YieldOp::create(b, loc, zeros(s.depth));
    return branch.getResult(0);
  }

  /// One past the last key any row of the block attends to: T, at most
  /// lengths[b] (truncated, as the masks read it; below 0 or NaN is 0) and,
  /// causal, at most the block's last row + 1. The same for every thread
  /// of a block, so the key loop (and its barriers) is uniform.
  Value keyEnd(Value batchRow, Value firstRow) {
    Value end = idx(s.steps);
    if (s.lengths) {
      Value len = memref::LoadOp::create(b, loc, m.lengths, batchRow);
      len = arith::MaxNumFOp::create(b, loc, len, cf(0.0f));
      len = arith::MinNumFOp::create(b, loc, len, cf(float(s.steps)));
      Value n = arith::FPToSIOp::create(b, loc, b.getI64Type(), len);
      n = arith::IndexCastOp::create(b, loc, b.getIndexType(), n);
      end = arith::MinUIOp::create(b, loc, end, n);
    }
    if (s.causal) {
      Value last = arith::AddIOp::create(b, loc, firstRow, idx(s.threads));
      end = arith::MinUIOp::create(b, loc, end, last);
    }
    return end;
  }

  /// Thread `thread`'s share of the tile of keys and values from `first`:
  /// elements thread, thread + BQ, ... of the flattened [BK, D] tile, so
  /// that neighbouring threads read neighbouring floats. Keys from `end`
  /// on are zeros.
  void loadTile(Value thread, Value batchRow, Value first, Value end) {
    copyTile(thread, batchRow, first, end, m.keys, m.keyTile, s.depth);
    copyTile(thread, batchRow, first, end, m.values, m.valueTile, s.valueDepth);
  }

  /// The tile from `first` folded into the thread's state: scores of its
  /// query row (masked keys -inf) into its row of `scores`, then the
  /// online softmax update.
  RowState scoreTile(Value thread, Value row, Value query, Value first,
                     Value end, RowState state) {
    Value negInf = cf(-INFINITY);
    auto scoreLoop = scf::ForOp::create(b, loc, idx(0), idx(s.keyTile), idx(1),
                                        ValueRange{state.max});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(scoreLoop.getBody());
      Value j = scoreLoop.getInductionVar();
      Value key = vector::LoadOp::create(b, loc, vec(s.depth), m.keyTile,
                                         ValueRange{j, idx(0)});
      Value product = arith::MulFOp::create(b, loc, query, key);
      Value score = vector::ReductionOp::create(
          b, loc, vector::CombiningKind::ADD, product);
      Value t = arith::AddIOp::create(b, loc, first, j);
      Value masked =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, t, end);
      if (s.causal)
        masked = arith::OrIOp::create(
            b, loc, masked,
            arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, t, row));
      score = arith::SelectOp::create(b, loc, masked, negInf, score);
      memref::StoreOp::create(b, loc, score, m.scores, ValueRange{thread, j});
      Value running = scoreLoop.getRegionIterArg(0);
      scf::YieldOp::create(
          b, loc,
          ValueRange{arith::MaximumFOp::create(b, loc, running, score)});
    }
    Value newMax = scoreLoop.getResult(0);
    Value alpha = math::ExpOp::create(
        b, loc, arith::SubFOp::create(b, loc, state.max, newMax));
    Value sum = arith::MulFOp::create(b, loc, state.sum, alpha);
    Value context = arith::MulFOp::create(b, loc, state.context,
                                          splat(alpha, s.valueDepth));
    auto valueLoop = scf::ForOp::create(b, loc, idx(0), idx(s.keyTile), idx(1),
                                        ValueRange{sum, context});
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(valueLoop.getBody());
      Value j = valueLoop.getInductionVar();
      Value score =
          memref::LoadOp::create(b, loc, m.scores, ValueRange{thread, j});
      Value p = math::ExpOp::create(
          b, loc, arith::SubFOp::create(b, loc, score, newMax));
      Value value = vector::LoadOp::create(b, loc, vec(s.valueDepth),
                                           m.valueTile, ValueRange{j, idx(0)});
      Value nextContext = vector::FMAOp::create(
          b, loc, splat(p, s.valueDepth), value, valueLoop.getRegionIterArg(1));
      Value nextSum =
          arith::AddFOp::create(b, loc, valueLoop.getRegionIterArg(0), p);
      scf::YieldOp::create(b, loc, ValueRange{nextSum, nextContext});
    }
    return {newMax, valueLoop.getResult(0), valueLoop.getResult(1)};
  }

  /// The context row O / l (0 where every key was masked: l = 0), written
  /// for rows below Tq.
  void writeContext(Value batchRow, Value row, RowState state) {
    Value active = lessThan(row, idx(s.queries));
    auto branch = scf::IfOp::create(b, loc, TypeRange{}, active,
                                    /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&branch.getThenRegion().front());
    Value any = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                      state.sum, cf(0.0f));
    Value inverse = arith::DivFOp::create(b, loc, cf(1.0f), state.sum);
    inverse = arith::SelectOp::create(b, loc, any, inverse, cf(0.0f));
    Value context = arith::MulFOp::create(b, loc, state.context,
                                          splat(inverse, s.valueDepth));
    vector::StoreOp::create(b, loc, context, m.out,
                            ValueRange{batchRow, row, idx(0)});
  }

private:
  void copyTile(Value thread, Value batchRow, Value first, Value end,
                Value source, Value tile, int64_t width) {
    auto loop = scf::ForOp::create(b, loc, thread, idx(s.keyTile * width),
                                   idx(s.threads));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    Value i = loop.getInductionVar();
    Value j = arith::DivUIOp::create(b, loc, i, idx(width));
    Value d = arith::RemUIOp::create(b, loc, i, idx(width));
    Value t = arith::AddIOp::create(b, loc, first, j);
    // Every thread loads (from a valid key), then keeps zero past `end`:
    // no divergent branch around the load.
    Value clamped = arith::MinUIOp::create(b, loc, t, idx(s.steps - 1));
    Value x = memref::LoadOp::create(b, loc, source,
                                     ValueRange{batchRow, clamped, d});
    x = arith::SelectOp::create(b, loc, lessThan(t, end), x, cf(0.0f));
    memref::StoreOp::create(b, loc, x, tile, ValueRange{j, d});
  }

  OpBuilder &b;
  Location loc;
  const FlashShape &s;
  const FlashBuffers &m;
  Type f32;
};

/// Shared-memory types of a block (in `space`: workgroup on the GPU, none
/// on the host).
struct SharedTypes {
  MemRefType keyTile, valueTile, scores;
  SharedTypes(const FlashShape &s, Type f32, Attribute space) {
    keyTile = MemRefType::get({s.keyTile, s.depth}, f32, nullptr, space);
    valueTile = MemRefType::get({s.keyTile, s.valueDepth}, f32, nullptr, space);
    scores = MemRefType::get({s.threads, s.keyTile + 1}, f32, nullptr, space);
  }
};

/// The kernel as one gpu.launch: grid (B, query tiles), BQ threads, the
/// state in registers (scf.for iter_args) across the barriers.
void emitLaunch(OpBuilder &b, Location loc, const FlashShape &s,
                FlashBuffers m) {
  auto workgroup =
      gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  SharedTypes shared(s, b.getF32Type(), workgroup);
  auto c = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  auto launch = gpu::LaunchOp::create(
      b, loc, c(s.batch), c(s.queryTiles()), c(1), c(s.threads), c(1), c(1),
      /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
      /*asyncDependencies=*/ValueRange{},
      TypeRange{shared.keyTile, shared.valueTile, shared.scores});
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&launch.getBody().front());
  ArrayRef<BlockArgument> attributions = launch.getWorkgroupAttributions();
  m.keyTile = attributions[0];
  m.valueTile = attributions[1];
  m.scores = attributions[2];
  FlashBody body(b, loc, s, m);
  Value batchRow = launch.getBlockIds().x;
  Value thread = launch.getThreadIds().x;
  Value firstRow =
      arith::MulIOp::create(b, loc, launch.getBlockIds().y, c(s.threads));
  Value row = arith::AddIOp::create(b, loc, firstRow, thread);
  Value query = body.loadQuery(batchRow, row);
  Value end = body.keyEnd(batchRow, firstRow);
  RowState init = body.initialState();
  auto keyLoop =
      scf::ForOp::create(b, loc, c(0), end, c(s.keyTile),
                         ValueRange{init.max, init.sum, init.context});
  {
    OpBuilder::InsertionGuard loopGuard(b);
    b.setInsertionPointToStart(keyLoop.getBody());
    Value first = keyLoop.getInductionVar();
    body.loadTile(thread, batchRow, first, end);
    gpu::BarrierOp::create(b, loc);
    RowState next = body.scoreTile(thread, row, query, first, end,
                                   {keyLoop.getRegionIterArg(0),
                                    keyLoop.getRegionIterArg(1),
                                    keyLoop.getRegionIterArg(2)});
    // The next tile overwrites what this one's scores read.
    gpu::BarrierOp::create(b, loc);
    scf::YieldOp::create(b, loc, ValueRange{next.max, next.sum, next.context});
  }
  body.writeContext(
      batchRow, row,
      {keyLoop.getResult(0), keyLoop.getResult(1), keyLoop.getResult(2)});
  gpu::TerminatorOp::create(b, loc);
}

/// The same body on the host: loops over blocks and threads, one loop over
/// the threads per stretch between barriers, and the state a thread
/// carries over a barrier in arrays indexed by the thread.
void emitHostLoops(OpBuilder &b, Location loc, const FlashShape &s,
                   FlashBuffers m) {
  Type f32 = b.getF32Type();
  SharedTypes shared(s, f32, nullptr);
  m.keyTile = memref::AllocaOp::create(b, loc, shared.keyTile);
  m.valueTile = memref::AllocaOp::create(b, loc, shared.valueTile);
  m.scores = memref::AllocaOp::create(b, loc, shared.scores);
  Value queries = memref::AllocaOp::create(
      b, loc, MemRefType::get({s.threads, s.depth}, f32));
  Value maxima =
      memref::AllocaOp::create(b, loc, MemRefType::get({s.threads}, f32));
  Value sums =
      memref::AllocaOp::create(b, loc, MemRefType::get({s.threads}, f32));
  Value contexts = memref::AllocaOp::create(
      b, loc, MemRefType::get({s.threads, s.valueDepth}, f32));
  FlashBody body(b, loc, s, m);
  auto c = [&](int64_t v) { return body.idx(v); };
  auto loop = [&](int64_t n, function_ref<void(Value)> fn) {
    auto forOp = scf::ForOp::create(b, loc, c(0), c(n), c(1));
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(forOp.getBody());
    fn(forOp.getInductionVar());
  };
  auto loadState = [&](Value thread) -> RowState {
    return {memref::LoadOp::create(b, loc, maxima, thread),
            memref::LoadOp::create(b, loc, sums, thread),
            vector::LoadOp::create(b, loc, body.vec(s.valueDepth), contexts,
                                   ValueRange{thread, c(0)})};
  };
  auto storeState = [&](Value thread, RowState state) {
    memref::StoreOp::create(b, loc, state.max, maxima, thread);
    memref::StoreOp::create(b, loc, state.sum, sums, thread);
    vector::StoreOp::create(b, loc, state.context, contexts,
                            ValueRange{thread, c(0)});
  };
  loop(s.batch, [&](Value batchRow) {
    loop(s.queryTiles(), [&](Value tile) {
      Value firstRow = arith::MulIOp::create(b, loc, tile, c(s.threads));
      auto rowOf = [&](Value thread) -> Value {
        return arith::AddIOp::create(b, loc, firstRow, thread);
      };
      loop(s.threads, [&](Value thread) {
        vector::StoreOp::create(b, loc, body.loadQuery(batchRow, rowOf(thread)),
                                queries, ValueRange{thread, c(0)});
        storeState(thread, body.initialState());
      });
      Value end = body.keyEnd(batchRow, firstRow);
      auto keyLoop = scf::ForOp::create(b, loc, c(0), end, c(s.keyTile));
      {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(keyLoop.getBody());
        Value first = keyLoop.getInductionVar();
        loop(s.threads, [&](Value thread) {
          body.loadTile(thread, batchRow, first, end);
        });
        // (barrier)
        loop(s.threads, [&](Value thread) {
          Value query = vector::LoadOp::create(
              b, loc, body.vec(s.depth), queries, ValueRange{thread, c(0)});
          storeState(thread, body.scoreTile(thread, rowOf(thread), query, first,
                                            end, loadState(thread)));
        });
        // (barrier)
      }
      loop(s.threads, [&](Value thread) {
        body.writeContext(batchRow, rowOf(thread), loadState(thread));
      });
    });
  });
}

} // namespace

void heed::buildFlashAttentionBody(func::FuncOp fn, const FlashShape &s,
                                   bool onHost) {
  Location loc = fn.getLoc();
  OpBuilder b = OpBuilder::atBlockBegin(fn.addEntryBlock());
  FlashBuffers buffers;
  buffers.query = fn.getArgument(0);
  buffers.keys = fn.getArgument(1);
  buffers.values = fn.getArgument(2);
  buffers.lengths = s.lengths ? fn.getArgument(3) : Value();
  buffers.out = fn.getArguments().back();
  if (onHost)
    emitHostLoops(b, loc, s, buffers);
  else
    emitLaunch(b, loc, s, buffers);
  func::ReturnOp::create(b, loc);
}
