//===- FlashKernel.cpp - The flash-style attention kernel's body ----------===//
//
// Part of Heed. See FlashKernel.h and Passes.td
// (heed-lower-dot-attention-to-gpu, heed-build-flash-attention-kernels).
//
// The kernel body is written once, as the pieces of a BlockProgram
// (compiler/Conversion/LoopsToGPU/BlockProgram.h) a thread runs: load its
// query row, load its share of a key/value tile, score the tile into its
// running softmax, write its context row. Placed inside a gpu.launch, or
// (on-host) inside loops over blocks and threads: the arithmetic, the
// tiles and the masks are the same code in both.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToGPU/FlashKernel.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
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
/// Blocks along x (batch rows × query tiles): CUDA's limit.
constexpr int64_t kMaxGridX = 2147483647;

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
  if (s.queryTiles() > kMaxGridX / batch)
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
  /// `unrolled`: the tile copies unrolled (on a GPU; emitStridedCopy).
  FlashBody(OpBuilder &b, Location loc, const FlashShape &s, FlashBuffers m,
            bool unrolled)
      : b(b), loc(loc), s(s), m(m), unrolled(unrolled), f32(b.getF32Type()) {}

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
    auto [first, offset] = rowOf(0, batchRow, s.depth);
    Value q = vector::LoadOp::create(b, loc, vec(s.depth), m.query,
                                     ValueRange{first, row, offset});
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
    copyTile(1, thread, batchRow, first, end, m.keys, m.keyTile, s.depth);
    copyTile(2, thread, batchRow, first, end, m.values, m.valueTile,
             s.valueDepth);
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
    auto [first, offset] = rowOf(3, batchRow, s.valueDepth);
    vector::StoreOp::create(b, loc, context, m.out,
                            ValueRange{first, row, offset});
  }

private:
  /// Where batch row `batchRow` of buffer `i` (FlashShape::heads) starts:
  /// its index along the buffer's first axis and its offset along the last.
  std::pair<Value, Value> rowOf(unsigned i, Value batchRow, int64_t depth) {
    int64_t heads = s.heads[i];
    if (heads == 0)
      return {batchRow, idx(0)};
    Value head = arith::RemUIOp::create(b, loc, batchRow, idx(heads));
    return {arith::DivUIOp::create(b, loc, batchRow, idx(heads)),
            arith::MulIOp::create(b, loc, head, idx(depth))};
  }

  void copyTile(unsigned buffer, Value thread, Value batchRow, Value first,
                Value end, Value source, Value tile, int64_t width) {
    auto [row, offset] = rowOf(buffer, batchRow, width);
    auto at = [&](Value e) {
      return std::make_pair(arith::DivUIOp::create(b, loc, e, idx(width)),
                            arith::RemUIOp::create(b, loc, e, idx(width)));
    };
    emitStridedCopy(
        b, loc, thread, s.threads, s.keyTile * width, unrolled,
        [&, row = row, offset = offset](OpBuilder &, Value e) -> Value {
          auto [j, d] = at(e);
          // Every thread loads (from a valid key), then keeps zero past
          // `end`: no divergent branch around the load.
          Value t = arith::AddIOp::create(b, loc, first, j);
          Value clamped = arith::MinUIOp::create(b, loc, t, idx(s.steps - 1));
          return memref::LoadOp::create(
              b, loc, source,
              ValueRange{row, clamped,
                         arith::AddIOp::create(b, loc, offset, d)});
        },
        [&](OpBuilder &, Value e, Value x) {
          auto [j, d] = at(e);
          Value t = arith::AddIOp::create(b, loc, first, j);
          x = arith::SelectOp::create(b, loc, lessThan(t, end), x, cf(0.0f));
          memref::StoreOp::create(b, loc, x, tile, ValueRange{j, d});
        });
  }

  OpBuilder &b;
  Location loc;
  const FlashShape &s;
  FlashBuffers m;
  bool unrolled;
  Type f32;
};

} // namespace

void heed::buildFlashAttentionBody(func::FuncOp fn, const FlashShape &s,
                                   bool onHost) {
  Location loc = fn.getLoc();
  OpBuilder b = OpBuilder::atBlockBegin(fn.addEntryBlock());
  Type f32 = b.getF32Type();
  FlashBuffers io;
  io.query = fn.getArgument(0);
  io.keys = fn.getArgument(1);
  io.values = fn.getArgument(2);
  io.lengths = s.lengths ? fn.getArgument(3) : Value();
  io.out = fn.getArguments().back();
  // The pieces for the block and thread at `place`.
  auto body = [&](OpBuilder &b, const BlockPlace &place) {
    FlashBuffers m = io;
    m.keyTile = place.shared[0];
    m.valueTile = place.shared[1];
    m.scores = place.shared[2];
    return FlashBody(b, loc, s, m, /*unrolled=*/!onHost);
  };
  // The grid is one axis of batch rows × query tiles, the query tiles
  // fastest: blocks running together share a row's keys and values in L2.
  auto batchRowOf = [&](OpBuilder &b, const BlockPlace &place) -> Value {
    return arith::DivUIOp::create(
        b, loc, place.block[0],
        arith::ConstantIndexOp::create(b, loc, s.queryTiles()));
  };
  auto rowsOf = [&](OpBuilder &b, const BlockPlace &place) {
    Value tile = arith::RemUIOp::create(
        b, loc, place.block[0],
        arith::ConstantIndexOp::create(b, loc, s.queryTiles()));
    Value first = arith::MulIOp::create(
        b, loc, tile, arith::ConstantIndexOp::create(b, loc, s.threads));
    Value row = place.thread
                    ? arith::AddIOp::create(b, loc, first, place.thread)
                    : Value();
    return std::make_pair(first, row);
  };

  BlockProgram p;
  // Grid (batch rows × query tiles), one thread per query row.
  p.grid = {s.batch * s.queryTiles(), 1, 1};
  p.threads = s.threads;
  // Key and value tiles, and each thread's padded row of scores.
  p.shared = {MemRefType::get({s.keyTile, s.depth}, f32),
              MemRefType::get({s.keyTile, s.valueDepth}, f32),
              MemRefType::get({s.threads, s.keyTile + 1}, f32)};
  // Running maximum, sum, context row; the scaled query row.
  p.state = {f32, f32, VectorType::get({s.valueDepth}, f32),
             VectorType::get({s.depth}, f32)};
  p.step = s.keyTile;
  p.init = [&](OpBuilder &b, const BlockPlace &place) {
    FlashBody flash = body(b, place);
    RowState st = flash.initialState();
    Value query =
        flash.loadQuery(batchRowOf(b, place), rowsOf(b, place).second);
    return SmallVector<Value>{st.max, st.sum, st.context, query};
  };
  p.end = [&](OpBuilder &b, const BlockPlace &place) {
    return body(b, place).keyEnd(batchRowOf(b, place), rowsOf(b, place).first);
  };
  p.load = [&](OpBuilder &b, const BlockPlace &place, Value first) {
    body(b, place).loadTile(place.thread, batchRowOf(b, place), first,
                            place.end);
  };
  p.compute = [&](OpBuilder &b, const BlockPlace &place, Value first,
                  ValueRange state) {
    RowState next = body(b, place).scoreTile(
        place.thread, rowsOf(b, place).second, state[3], first, place.end,
        {state[0], state[1], state[2]});
    return SmallVector<Value>{next.max, next.sum, next.context, state[3]};
  };
  p.finish = [&](OpBuilder &b, const BlockPlace &place, ValueRange state) {
    body(b, place).writeContext(batchRowOf(b, place), rowsOf(b, place).second,
                                {state[0], state[1], state[2]});
  };
  if (onHost)
    emitBlockProgramOnHost(b, loc, p);
  else
    emitBlockProgramLaunch(b, loc, p);
  func::ReturnOp::create(b, loc);
}
