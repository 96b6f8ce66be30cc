//===- FlashMmaKernel.cpp - Flash attention on tensor cores ---------------===//
//
// Part of Heed. heed-build-flash-attention-kernels{precision=bf16|f16}: the
// flash kernel (FlashKernel.h) with both products on tensor cores
// (mma.sync.m16n8k16, WarpMma.h), for heads whose D is a multiple of 16
// and Dv of 8, both up to 128; with precision=tf32x3 the same in f32
// (three mma.sync.m16n8k8.tf32 a product; D a multiple of 8). A block is 8
// warps and 128 query rows (4 and 64 for up to 64 queries), 16 a warp; the
// query tile is staged once, scaled by scale · log2(e) (the softmax in base
// 2: exp(x) = 2^(x log2 e), each exponential one ex2.approx) and rounded,
// and each step of BK keys
// (FlashAttention-2's loop) runs as:
//
//   load:    K tile [BK][D] and V tile [BK][Dv], rounded; barrier
//            (with prefetch, where a lane's accumulators and its share of
//            the tiles fit kPipelinedFloats: the tiles were read into
//            registers during the step before, and the next step's are
//            read right after this barrier; BlockProgram.h)
//
// or, where the keys and values are of the tiles' type already (rounded
// to bf16 or f16 before the kernel, or f32 with async-copy), each tile
// by cp.async (FlashMmaBody::copyTile), FlashAttention-2's order:
//
//   init:    ... K tile 0 issued
//   load:    wait for the copies; barrier       (K tile j0 in shared memory)
//   scores:  V tile j0 issued; S = Q K^T ...
//   weights: as below
//   context: wait for the copies; barrier       (V tile j0; K tile j0 read)
//            K tile j0 + BK issued (if any); O += P V
//            (no barrier at the step's end: V is rewritten only after the
//            next step's first barrier)
//   scores:  S = Q K^T (D / 16 × BK / 8 products a warp), masked keys -inf
//            (only in tiles that reach the end or the diagonal);
//            each lane's maxima of its two rows
//   weights: m' = max(m, the row's maximum over the 4 lanes holding it:
//            butterfly shuffles); P = 2^(S - m'); O *= 2^(m - m'),
//            l = 2^(m - m') l + the lane's sums of its P
//   context: O += P V (BK / 16 × Dv / 8 products a warp), barrier
//
// The lanes of a row (g = lane / 4 the same, t = lane % 4) hold two
// columns of each 8-column tile. P stays in registers on a GPU: the
// accumulators of two neighbouring 16 × 8 tiles of S are a lane's A
// fragment of a 16 × 16 tile. Each lane's l sums only its own columns;
// the 4 lanes' sums are added at the end, and each lane writes its
// accumulators of O / l (zeros where l = 0).
//
// The tiles' fragments come by ldmatrix (the value tile's transposed).
// The tiles and the code a thread runs are in FlashMmaBody.h; this file
// assembles them into the kernel's BlockProgram.
// Blocks whose tiles pass 48 KB take dynamic shared memory (BlockProgram).
//
// On the host (the CPU-run schedule, one thread at a time) each stage is
// a stretch of its own, the shuffles read the group's values from arrays,
// and each lane stores the A fragment its P makes (the same mapping from
// accumulators to fragment registers) into a shared tile at the positions
// the fragment layout gives, from which the emulated product reads the
// other lanes' registers: so the host run checks the mapping too.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToGPU/FlashMmaBody.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"

#include <cfloat>
#include <cmath>

using namespace mlir;
using namespace heed;
using namespace heed::flash_mma;

namespace {

/// The state's layout, for each of the warp's R row tiles rt: m (the
/// lane's 2 rows), l (the lane's share of its 2 rows' sums), the lane's
/// maxima of its 2 rows in this key tile's scores, O (Dv / 8 tiles), S and
/// then P (BK / 8 tiles).
struct StateLayout {
  int64_t rowTiles, outTiles, scoreTiles;
  unsigned max(int64_t rt) const { return rt; }
  unsigned sum(int64_t rt) const { return rowTiles + rt; }
  unsigned tileMax(int64_t rt) const { return 2 * rowTiles + rt; }
  int64_t o(int64_t rt, int64_t j) const {
    return 3 * rowTiles + rt * outTiles + j;
  }
  int64_t sc(int64_t rt, int64_t j) const {
    return 3 * rowTiles + rowTiles * outTiles + rt * scoreTiles + j;
  }
  size_t size() const { return rowTiles * (3 + outTiles + scoreTiles); }
};

} // namespace

bool heed::takesTensorCores(const FlashShape &s, Type element) {
  return s.depth % mmaDepth(element) == 0 && s.valueDepth % 8 == 0 &&
         s.depth <= kMaxDepth && s.valueDepth <= kMaxDepth &&
         s.batch * queryTiles(s, 64) <= kMaxBlocks;
}

bool heed::roundsKeysBeforeKernel(const FlashShape &s, Type element,
                                  bool asyncCopy) {
  return element && !element.isF32() && asyncCopy &&
         takesTensorCores(s, element);
}

bool heed::buildFlashAttentionMmaBody(func::FuncOp fn, const FlashShape &s,
                                      bool onHost, Type element, bool prefetch,
                                      bool asyncCopy, int64_t multiprocessors) {
  Type keysElement =
      cast<MemRefType>(fn.getArgumentTypes()[1]).getElementType();
  std::optional<Tiles> chosen =
      chooseTiles(s, element, prefetch, multiprocessors,
                  keysElement == element && (asyncCopy || !element.isF32()));
  // (128-row blocks are never more than 64-row ones.)
  if (!takesTensorCores(s, element) || !chosen)
    return false;
  Tiles tiles = *chosen;
  int64_t keyTile = tiles.keyTile, rows = tiles.rows, rowTiles = tiles.rowTiles;

  Location loc = fn.getLoc();
  OpBuilder b = OpBuilder::atBlockBegin(fn.addEntryBlock());
  Type f32 = b.getF32Type();
  SmallVector<Value> io(fn.getArguments().begin(), fn.getArguments().end() - 1);
  Value out = fn.getArguments().back();
  StateLayout layout{rowTiles, s.valueDepth / 8, keyTile / 8};
  auto body = [&](OpBuilder &b, const BlockPlace &place) {
    return MmaFlashBody(b, loc, s, tiles, element, onHost, io, place);
  };
  // State values of each row tile, in place: `at(rt, j)` for j < count.
  auto slice = [](ValueRange state, int64_t count,
                  function_ref<int64_t(int64_t)> at) {
    SmallVector<Value> values;
    for (int64_t j = 0; j < count; ++j)
      values.push_back(state[at(j)]);
    return values;
  };

  BlockProgram p;
  p.grid = {s.batch * queryTiles(s, rows), 1, 1};
  p.threads = tiles.threads();
  Pads pads = tiles.pads;
  p.shared = {MemRefType::get({rows, s.depth + pads.query}, element),
              MemRefType::get({keyTile, s.depth + pads.query}, element),
              MemRefType::get({keyTile, s.valueDepth + pads.value}, element)};
  if (onHost)
    p.shared.push_back(MemRefType::get({rows, keyTile + pads.value}, element));
  p.state.assign(layout.size(), VectorType::get({4}, f32));
  for (int64_t rt = 0; rt < rowTiles; ++rt)
    for (unsigned i : {layout.max(rt), layout.sum(rt), layout.tileMax(rt)})
      p.state[i] = VectorType::get({2}, f32);
  p.step = keyTile;
  p.laneGroup = 4;
  p.init = [&](OpBuilder &b, const BlockPlace &place) {
    MmaFlashBody m = body(b, place);
    // The block's query rows, scaled into base 2 and rounded (read from the
    // first step's scores on, after its barriers).
    m.stage(0, rows, s.depth, m.firstRow(), m.idx(s.queries), s.queries,
            s.scale * static_cast<float>(M_LOG2E), m.shared(kQuery));
    // With asynchronous copies, the first key tile is in flight from here.
    if (tiles.asyncCopies)
      m.copyTile(1, keyTile, s.depth, m.idx(0), m.keyEnd(), s.steps,
                 m.shared(kKeys));
    SmallVector<Value> state(layout.size(), m.constantVector(4, 0.0f));
    for (int64_t rt = 0; rt < rowTiles; ++rt) {
      state[layout.max(rt)] = m.constantVector(2, -FLT_MAX);
      state[layout.sum(rt)] = m.constantVector(2, 0.0f);
      state[layout.tileMax(rt)] = m.constantVector(2, -FLT_MAX);
    }
    return state;
  };
  p.end = [&](OpBuilder &b, const BlockPlace &place) {
    return body(b, place).keyEnd();
  };
  if (tiles.asyncCopies) {
    // FlashAttention-2's loop: a step's key tile was issued before it (by
    // init or the step before), its value tile is issued as the scores
    // start, the next key tile as the context starts (after the barrier
    // that ends the step's reading of the key tile: the stage's), and each
    // thread waits for its copies before each barrier, which shows them to
    // the block. No barrier ends a step: the next writes of the value tile
    // come after the next step's first barrier.
    p.load = [](OpBuilder &, const BlockPlace &, Value) {};
    p.beforeBarrier = [&](OpBuilder &b) { emitWaitForCopies(b, loc, onHost); };
    p.barrierAfterStep = false;
  } else if (tiles.pipelined) {
    // The key tile's groups, then the value tile's.
    int64_t keyGroups = tiles.fetchedFloats(keyTile, s.depth) / 4;
    p.fetched.assign(keyGroups + tiles.fetchedFloats(keyTile, s.valueDepth) / 4,
                     VectorType::get({4}, f32));
    p.fetch = [&](OpBuilder &b, const BlockPlace &place, Value first) {
      MmaFlashBody m = body(b, place);
      SmallVector<Value> groups = m.fetch(1, keyTile, s.depth, first, s.steps);
      llvm::append_range(groups,
                         m.fetch(2, keyTile, s.valueDepth, first, s.steps));
      return groups;
    };
    p.store = [&, keyGroups](OpBuilder &b, const BlockPlace &place, Value first,
                             ValueRange groups) {
      MmaFlashBody m = body(b, place);
      m.store(keyTile, s.depth, first, place.end, 1.0f, m.shared(kKeys),
              groups.take_front(keyGroups));
      m.store(keyTile, s.valueDepth, first, place.end, 1.0f, m.shared(kValues),
              groups.drop_front(keyGroups));
    };
  } else {
    p.load = [&](OpBuilder &b, const BlockPlace &place, Value first) {
      MmaFlashBody m = body(b, place);
      m.stage(1, keyTile, s.depth, first, place.end, s.steps, 1.0f,
              m.shared(kKeys));
      m.stage(2, keyTile, s.valueDepth, first, place.end, s.steps, 1.0f,
              m.shared(kValues));
    };
  }
  // Scores, masked; the lane's maxima of its two rows of each row tile.
  p.compute = [&](OpBuilder &b, const BlockPlace &place, Value first,
                  ValueRange state) {
    MmaFlashBody m = body(b, place);
    if (tiles.asyncCopies)
      m.copyTile(2, keyTile, s.valueDepth, first, place.end, s.steps,
                 m.shared(kValues));
    SmallVector<Value> next(state.begin(), state.end());
    SmallVector<Value> scores = m.products(
        [&](int64_t rt, Value kc) {
          return m.fragmentA(m.shared(kQuery), kc, rt);
        },
        m.shared(kKeys), /*rowsAreK=*/false, s.depth,
        SmallVector<Value>(rowTiles * layout.scoreTiles,
                           m.constantVector(4, 0.0f)));
    // Each row tile's scores and its lane's maxima of its two rows, with
    // the masks or without.
    Value negInf = m.cf(-INFINITY);
    auto finish = [&](bool masks) {
      SmallVector<Value> finished;
      for (int64_t rt = 0; rt < rowTiles; ++rt) {
        Value rowMax[2] = {negInf, negInf};
        for (int64_t j = 0; j < layout.scoreTiles; ++j) {
          Value tile = scores[rt * layout.scoreTiles + j];
          for (int64_t i = 0; i < 4; ++i) {
            Value x = vector::ExtractOp::create(b, loc, tile, i);
            if (masks) {
              Value key =
                  m.add(first, m.add(m.idx(8 * j), m.accumulatorColumn(i)));
              Value masked = arith::CmpIOp::create(
                  b, loc, arith::CmpIPredicate::uge, key, place.end);
              if (s.causal)
                masked = arith::OrIOp::create(
                    b, loc, masked,
                    arith::CmpIOp::create(
                        b, loc, arith::CmpIPredicate::ugt, key,
                        m.add(m.firstRow(), m.accumulatorRow(rt, i))));
              x = arith::SelectOp::create(b, loc, masked, negInf, x);
              tile = vector::InsertOp::create(b, loc, x, tile, i);
            }
            rowMax[i / 2] = arith::MaximumFOp::create(b, loc, rowMax[i / 2], x);
          }
          finished.push_back(tile);
        }
        finished.push_back(
            vector::FromElementsOp::create(b, loc, m.vec(2), rowMax));
      }
      return finished;
    };
    // A tile whose keys all lie before the end and, causal, at or before
    // the block's first row masks nothing (FlashAttention-2 masks only the
    // tiles at the end and on the diagonal): a uniform branch.
    Value whole =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ule,
                              m.add(first, m.idx(keyTile)), place.end);
    if (s.causal)
      whole = arith::AndIOp::create(
          b, loc, whole,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                m.add(first, m.idx(keyTile - 1)),
                                m.add(m.firstRow(), m.idx(1))));
    SmallVector<Type> types;
    for (int64_t rt = 0; rt < rowTiles; ++rt) {
      types.append(layout.scoreTiles, m.vec(4));
      types.push_back(m.vec(2));
    }
    auto branch = scf::IfOp::create(b, loc, types, whole, true);
    for (bool masks : {false, true}) {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(masks ? &branch.getElseRegion().front()
                                       : &branch.getThenRegion().front());
      scf::YieldOp::create(b, loc, finish(masks));
    }
    for (int64_t rt = 0, r = 0; rt < rowTiles; ++rt) {
      for (int64_t j = 0; j < layout.scoreTiles; ++j)
        next[layout.sc(rt, j)] = branch.getResult(r++);
      next[layout.tileMax(rt)] = branch.getResult(r++);
    }
    return next;
  };
  // After the rows' maxima over their 4 lanes: the rows' new maxima;
  // weights, rescaled O and l, the lane's sums of its weights.
  BlockProgram::Stage weights;
  weights.barrier = false;
  for (int64_t rt = 0; rt < rowTiles; ++rt)
    weights.reduceBefore.push_back(
        {layout.tileMax(rt), [](OpBuilder &b, Value x, Value y) -> Value {
           return arith::MaximumFOp::create(b, b.getUnknownLoc(), x, y);
         }});
  weights.compute = [&](OpBuilder &b, const BlockPlace &place, Value,
                        ValueRange state) {
    MmaFlashBody m = body(b, place);
    SmallVector<Value> next(state.begin(), state.end());
    for (int64_t rt = 0; rt < rowTiles; ++rt) {
      Value newMax = arith::MaximumFOp::create(b, loc, state[layout.max(rt)],
                                               state[layout.tileMax(rt)]);
      Value alphas = math::Exp2Op::create(
          b, loc, arith::SubFOp::create(b, loc, state[layout.max(rt)], newMax));
      Value rowSum[2] = {m.cf(0.0f), m.cf(0.0f)};
      for (int64_t j = 0; j < layout.scoreTiles; ++j) {
        Value tile = state[layout.sc(rt, j)];
        for (int64_t i = 0; i < 4; ++i) {
          Value score = vector::ExtractOp::create(b, loc, tile, i);
          Value p = math::Exp2Op::create(
              b, loc,
              arith::SubFOp::create(
                  b, loc, score,
                  vector::ExtractOp::create(b, loc, newMax, i / 2)));
          rowSum[i / 2] = arith::AddFOp::create(b, loc, rowSum[i / 2], p);
          tile = vector::InsertOp::create(b, loc, p, tile, i);
        }
        next[layout.sc(rt, j)] = tile;
      }
      Value alpha[2] = {vector::ExtractOp::create(b, loc, alphas, 0),
                        vector::ExtractOp::create(b, loc, alphas, 1)};
      Value perAccumulator = vector::FromElementsOp::create(
          b, loc, m.vec(4), ValueRange{alpha[0], alpha[0], alpha[1], alpha[1]});
      for (int64_t j = 0; j < layout.outTiles; ++j)
        next[layout.o(rt, j)] = arith::MulFOp::create(
            b, loc, state[layout.o(rt, j)], perAccumulator);
      next[layout.max(rt)] = newMax;
      next[layout.sum(rt)] = arith::AddFOp::create(
          b, loc, arith::MulFOp::create(b, loc, state[layout.sum(rt)], alphas),
          vector::FromElementsOp::create(b, loc, m.vec(2), rowSum));
      if (onHost)
        m.storeWeightsFragments(
            slice(next, layout.scoreTiles,
                  [&](int64_t j) { return layout.sc(rt, j); }),
            rt);
    }
    return next;
  };
  p.laterStages.push_back(std::move(weights));
  // O += P V: on a GPU with P from the lane's registers, on the host from
  // the fragments the lanes stored.
  // With asynchronous copies, after a barrier: the value tile has landed,
  // and the next key tile is issued (the block is done with this one).
  BlockProgram::Stage context;
  context.barrier = tiles.asyncCopies;
  context.compute = [&](OpBuilder &b, const BlockPlace &place, Value first,
                        ValueRange state) {
    MmaFlashBody m = body(b, place);
    if (tiles.asyncCopies) {
      Value next = m.add(first, m.idx(keyTile));
      auto more = scf::IfOp::create(b, loc, TypeRange{},
                                    m.lessThan(next, place.end), false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&more.getThenRegion().front());
      m.copyTile(1, keyTile, s.depth, next, place.end, s.steps,
                 m.shared(kKeys));
    }
    SmallVector<Value> next(state.begin(), state.end());
    SmallVector<SmallVector<Value>> weightTiles;
    SmallVector<Value> o;
    for (int64_t rt = 0; rt < rowTiles; ++rt) {
      weightTiles.push_back(slice(state, layout.scoreTiles,
                                  [&](int64_t j) { return layout.sc(rt, j); }));
      llvm::append_range(o, slice(state, layout.outTiles,
                                  [&](int64_t j) { return layout.o(rt, j); }));
    }
    o = m.products(
        [&](int64_t rt, Value kc) -> WarpFragment {
          if (onHost)
            return m.tableA(m.shared(kWeights), m.warpRow(rt), kc);
          int64_t chunk = *getConstantIntValue(kc) / m.depthStep();
          ValueRange tiles = weightTiles[rt];
          return WarpMmaLoad([&m, tiles, chunk](OpBuilder &, Value,
                                                Value reg) -> Value {
            return m.weightsRegister(tiles, chunk, *getConstantIntValue(reg));
          });
        },
        m.shared(kValues), /*rowsAreK=*/true, keyTile, o);
    for (int64_t rt = 0; rt < rowTiles; ++rt)
      for (int64_t j = 0; j < layout.outTiles; ++j)
        next[layout.o(rt, j)] = o[rt * layout.outTiles + j];
    return next;
  };
  p.laterStages.push_back(std::move(context));
  for (int64_t rt = 0; rt < rowTiles; ++rt)
    p.reduceBeforeFinish.push_back(
        {layout.sum(rt), [](OpBuilder &b, Value x, Value y) -> Value {
           return arith::AddFOp::create(b, b.getUnknownLoc(), x, y);
         }});
  p.finish = [&](OpBuilder &b, const BlockPlace &place, ValueRange state) {
    MmaFlashBody m = body(b, place);
    // (A block with no key tiles left its first in flight.)
    if (tiles.asyncCopies)
      m.waitForCopies();
    auto [row0, offset] = m.rowOf(3, s.valueDepth);
    for (int64_t rt = 0; rt < rowTiles; ++rt)
      for (int64_t i = 0; i < 4; ++i) {
        Value row = m.add(m.firstRow(), m.accumulatorRow(rt, i));
        auto branch = scf::IfOp::create(
            b, loc, TypeRange{}, m.lessThan(row, m.idx(s.queries)), false);
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPointToStart(&branch.getThenRegion().front());
        Value l =
            vector::ExtractOp::create(b, loc, state[layout.sum(rt)], i / 2);
        Value any = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, l,
                                          m.cf(0));
        Value inverse = arith::SelectOp::create(
            b, loc, any, arith::DivFOp::create(b, loc, m.cf(1.0f), l),
            m.cf(0.0f));
        for (int64_t j = 0; j < layout.outTiles; ++j) {
          Value x =
              vector::ExtractOp::create(b, loc, state[layout.o(rt, j)], i);
          Value col =
              m.add(offset, m.add(m.idx(8 * j), m.accumulatorColumn(i)));
          memref::StoreOp::create(b, loc,
                                  arith::MulFOp::create(b, loc, x, inverse),
                                  out, ValueRange{row0, row, col});
        }
      }
  };
  if (onHost)
    emitBlockProgramOnHost(b, loc, p);
  else
    emitBlockProgramLaunch(b, loc, p);
  func::ReturnOp::create(b, loc);
  return true;
}
