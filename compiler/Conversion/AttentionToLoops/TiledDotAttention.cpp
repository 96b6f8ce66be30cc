//===- TiledDotAttention.cpp - Online-softmax tiles for dot scores --------===//
//
// Part of Heed. Scaled dot-product attention without a [Tq × T] matrix:
//
//   Kᵀ = permute(keys)                 once, [B, D, T] or by key blocks
//   (heads split from a [B, T, H·D] projection are read from it in place)
//   for b, for a tile of kRows queries i0..i0+kRows (from 512 keys, two
//   tiles, each block's steps below done for one, then the other):
//     m = -inf, l = 0, O = 0                      per query row
//     for a block of kCols keys j0..j0+kCols (causal/lengths: only blocks
//     that can hold an unmasked key):
//       S = Q[i0:, :] · Kᵀ[:, j0:] · scale        kRows × kCols/16 vectors
//       S = masked (lengths, causal) to -inf
//       m' = max(m, max S); α = exp(m - m'); P = exp(S - m')
//       l = α l + Σ P;  O = α O + P · V[j0:, :]   (P staged in a small tile)
//     context[b, i0 + r] = O_r / l_r             (l = 0: a masked row → 0)
//
// The register tiles are explicit vector<16xf32> values (zmm registers):
// the score tile is kRows × kCols/16 accumulators over the D loop; the
// context tile kRows × Dv/16 accumulators over the key block.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToLoops/TiledDotAttention.h"
#include "compiler/Conversion/AttnToLinalg/AttnToLinalg.h"
#include "compiler/Transforms/DotScore.h"
#include "compiler/Transforms/ParallelLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <cmath>

using namespace mlir;
using namespace heed;

namespace {

constexpr int64_t kLanes = 16;   // f32 lanes of a zmm register
constexpr int64_t kMaxCols = 64; // keys per block
constexpr int64_t kMaxDv = 128;  // context row kept in registers

/// Where row `bi` of a [B·H, T, D] operand starts: the tensor to read, its
/// first index, and the offset along the last axis.
struct RowBase {
  Value tensor, first, offset;
};

RowBase rowBase(OpBuilder &b, Location loc, Value operand, const HeadView &v,
                Value bi) {
  if (!v.source)
    return {operand, bi, arith::ConstantIndexOp::create(b, loc, 0)};
  Value heads = arith::ConstantIndexOp::create(b, loc, v.heads);
  Value head = arith::RemUIOp::create(b, loc, bi, heads);
  return {v.source, arith::DivUIOp::create(b, loc, bi, heads),
          arith::MulIOp::create(
              b, loc, head, arith::ConstantIndexOp::create(b, loc, v.depth))};
}

struct TileBuilder {
  OpBuilder &b;
  Location loc;
  VectorType vec;
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value f(float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value splat(float v) {
    return arith::ConstantOp::create(b, loc, vec,
                                     DenseElementsAttr::get(vec, v));
  }
  Value bcast(Value scalar) {
    return vector::BroadcastOp::create(b, loc, vec, scalar);
  }
  /// A vector from `at`; past the end (`inBounds` false) reads zeros.
  Value read(Value tensor, ValueRange at, bool inBounds = true) {
    return vector::TransferReadOp::create(b, loc, vec, tensor, at, f(0.0f),
                                          ArrayRef<bool>{inBounds});
  }
  Value fma(Value a, Value x, Value acc) {
    return vector::FMAOp::create(b, loc, a, x, acc);
  }
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y, fastMath(b)); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y, fastMath(b)); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y, fastMath(b)); }
  /// x > y ? x : y, one `vmaxps`. A NaN score need not survive the row
  /// maximum: exp(NaN - m) makes the row's sum, and so its context, NaN.
  Value max(Value x, Value y) {
    Value greater =
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, y);
    return arith::SelectOp::create(b, loc, greater, x, y);
  }
  /// The largest lane, by `max` over halves rotated onto each other (a
  /// NaN lane need not survive, as for `max`; no `nnan` flag, whose
  /// poison would let LLVM assume there is no NaN at all).
  Value reduceMax(Value v) {
    int64_t lanes = cast<VectorType>(v.getType()).getNumElements();
    for (int64_t half = lanes / 2; half >= 1; half /= 2) {
      SmallVector<int64_t> rotate;
      for (int64_t i = 0; i < lanes; ++i)
        rotate.push_back((i + half) % lanes);
      v = max(v, vector::ShuffleOp::create(b, loc, v, v, rotate));
    }
    return vector::ExtractOp::create(b, loc, v, 0);
  }
  Value exp(Value x) { return math::ExpOp::create(b, loc, x, fastMath(b)); }
  Value reduce(vector::CombiningKind kind, Value v) {
    return vector::ReductionOp::create(b, loc, kind, v);
  }
};

} // namespace

LogicalResult heed::lowerTiledDotAttention(attn::AttentionOp op) {
  std::optional<float> scale = matchOnlineSoftmaxDotAttention(op);
  if (!scale)
    return failure();
  auto qType = cast<RankedTensorType>(op.getQuery().getType());
  auto kType = cast<RankedTensorType>(op.getMemoryKeys().getType());
  auto vType = cast<RankedTensorType>(op.getValues().getType());
  int64_t batch = qType.getDimSize(0), queries = qType.getDimSize(1),
          depth = qType.getDimSize(2), steps = kType.getDimSize(1),
          dv = vType.getDimSize(2);
  if (dv % kLanes || dv > kMaxDv)
    return failure();
  // Tiles fit the sizes: key blocks of up to 64 keys in whole vectors, and
  // as many query rows as divide the queries (8, 4, 2 or 1: a decoder's
  // single query), at most 8 while a row's scores are at most 2 vectors
  // (32 keys) and at most 4 beyond: 8 × 4 score accumulators do not fit the
  // 32 zmm registers beside the key vectors, and their spills in the
  // depth loop made 8 rows 12% slower than 4 on 32 × 128² × 64 (heads of a
  // transformer layer; 8 × 1024² × 64 ran the same with either), while at
  // 16 keys 8 rows ran 10% faster than 4 on 256 × 16² × 64 (each loaded
  // key and value vector serves twice the rows). A last key block that
  // runs past the keys (T = 8…128 need not be a multiple of 16 or 64) reads
  // zeros there, masks those scores to -inf, and stops its value loop at
  // the last key.
  const int64_t kCols = std::min<int64_t>(kMaxCols, llvm::alignTo(steps, kLanes));
  const int64_t maxRows = kCols <= 2 * kLanes ? 8 : 4;
  const int64_t kRows = queries % 8 == 0 && maxRows == 8 ? 8
                        : queries % 4 == 0               ? 4
                        : queries % 2 == 0               ? 2
                                                         : 1;
  const bool tail = steps % kCols != 0;
  const int64_t sVecs = kCols / kLanes, oVecs = dv / kLanes;

  OpBuilder ob(op);
  Location loc = op.getLoc();
  Type f32 = ob.getF32Type();
  TileBuilder h{ob, loc, VectorType::get({kLanes}, f32)};
  // Kᵀ: a key block's scores are then contiguous vectors. From 512 keys
  // (whole blocks), [B, T/kCols, D, kCols]: each block is one contiguous
  // run of memory (as [B, D, T] a block's depth rows lie T floats apart and
  // fall into the same few L1 sets), and two query tiles in turn use each
  // key and value block while it is in L1, halving what the loops stream
  // from L2. 8 × 1024² × 64, one thread: 12.5-12.8 ms against 14.1-14.8
  // (2 × 2048² × 64: 12.8-14.9 against 16.8-20.8); four tiles per block
  // ran as two, and from 128 to 256 keys neither change moved. Otherwise
  // [B, D, T], read at the block's offset. Keys split into heads are
  // transposed from the unsplit tensor in one copy.
  const bool blockedKeys = steps % kCols == 0 && steps >= 512;
  const int64_t keyBlocks = blockedKeys ? steps / kCols : 1;
  const int64_t kGroup = blockedKeys && queries % (2 * kRows) == 0 ? 2 : 1;
  Value keysT;
  Value keys = op.getMemoryKeys();
  HeadView kv = headsOf(keys);
  if (!kv.source && !blockedKeys) {
    keysT = attn::PermuteOp::create(ob, loc, keys, ArrayRef<int64_t>{0, 2, 1});
  } else {
    Value source = kv.source ? kv.source : keys;
    int64_t outer = cast<RankedTensorType>(source.getType()).getDimSize(0);
    int64_t heads = kv.source ? kv.heads : 1;
    SmallVector<int64_t> blocked{outer, steps, heads, depth};
    SmallVector<int64_t> perm{0, 2, 3, 1};
    SmallVector<ReassociationIndices> splitDims{{0}, {1}, {2, 3}},
        mergeDims{{0, 1}, {2}, {3}};
    if (blockedKeys) {
      // [B, T, H·D] → [B, nb, kCols, H, D] → [B, H, nb, D, kCols].
      blocked = {outer, keyBlocks, kCols, heads, depth};
      perm = {0, 3, 1, 4, 2};
      splitDims = {{0}, {1, 2}, {3, 4}};
      mergeDims = {{0, 1}, {2}, {3}, {4}};
    }
    Value split = tensor::ExpandShapeOp::create(
        ob, loc, RankedTensorType::get(blocked, f32), source, splitDims);
    Value transposed = attn::PermuteOp::create(ob, loc, split, perm);
    // → [B·H, nb, D, kCols] or [B·H, D, T].
    keysT = tensor::CollapseShapeOp::create(ob, loc, transposed, mergeDims);
  }
  HeadView queryHeads = headsOf(op.getQuery()),
           valueHeads = headsOf(op.getValues());
  auto ctxType = cast<RankedTensorType>(op.getContextVector().getType());
  // Rows written straight into the merged [B, T, H·Dv] tensor when that is
  // all the context is used for.
  tensor::CollapseShapeOp merged = headsMergedFrom(op.getContextVector());
  HeadView contextHeads;
  // Only the layout matters here (rowBase's first index and offset): the
  // rows go to the loop's own tensor, which replaces `merged` at the end.
  if (merged)
    contextHeads = mergedHeads(merged);
  Value ctxInit = tensor::EmptyOp::create(
      ob, loc, merged ? merged.getResultType().getShape() : ctxType.getShape(),
      f32);
  Value c0 = h.idx(0), c1 = h.idx(1);
  Value negInf = h.f(-INFINITY), zero = h.f(0.0f);
  bool causal = op.getCausal();
  Value lengths = op.getLengths();
  auto iota = arith::ConstantOp::create(
      ob, loc, VectorType::get({kLanes}, ob.getI64Type()),
      DenseElementsAttr::get(VectorType::get({kLanes}, ob.getI64Type()),
                             ArrayRef<int64_t>(llvm::to_vector(
                                 llvm::seq<int64_t>(0, kLanes)))));

  auto batchLoop = scf::ForOp::create(
      ob, loc, c0, h.idx(batch), c1, ValueRange{ctxInit},
      [&](OpBuilder &bb, Location, Value bi, ValueRange bArgs) {
        TileBuilder g{bb, loc, h.vec};
        RowBase qBase = rowBase(bb, loc, op.getQuery(), queryHeads, bi);
        RowBase vBase = rowBase(bb, loc, op.getValues(), valueHeads, bi);
        RowBase cBase = rowBase(bb, loc, Value(), contextHeads, bi);
        // The key blocks that can hold an unmasked key: [0, limit).
        Value keyLimit = g.idx(steps);
        if (lengths) {
          Value len = tensor::ExtractOp::create(bb, loc, lengths, ValueRange{bi});
          Value n = arith::FPToSIOp::create(bb, loc, bb.getI64Type(), len);
          keyLimit = arith::MinSIOp::create(
              bb, loc, keyLimit,
              arith::IndexCastOp::create(bb, loc, bb.getIndexType(), n));
        }
        auto queryLoop = scf::ForOp::create(
            bb, loc, c0, g.idx(queries), g.idx(kRows * kGroup), bArgs,
            [&](OpBuilder &qb, Location, Value i0, ValueRange qArgs) {
              TileBuilder t{qb, loc, h.vec};
              Value limit = keyLimit;
              if (causal)
                limit = arith::MinSIOp::create(
                    qb, loc, limit,
                    arith::AddIOp::create(qb, loc, i0, t.idx(kRows * kGroup)));
              // Round up to whole blocks.
              Value blocks = arith::CeilDivSIOp::create(qb, loc, limit, t.idx(kCols));
              Value blockEnd = arith::MulIOp::create(qb, loc, blocks, t.idx(kCols));
              // Loop state per tile: m (kRows), l (kRows), O (kRows × oVecs).
              SmallVector<Value> init;
              for (int64_t g = 0; g < kGroup; ++g) {
                for (int64_t r = 0; r < kRows; ++r)
                  init.push_back(negInf);
                for (int64_t r = 0; r < kRows; ++r)
                  init.push_back(zero);
                for (int64_t i = 0; i < kRows * oVecs; ++i)
                  init.push_back(t.splat(0.0f));
              }
              auto keyLoop = scf::ForOp::create(
                  qb, loc, c0, blockEnd, t.idx(kCols), init,
                  [&](OpBuilder &kb, Location, Value j0, ValueRange st) {
                    TileBuilder k{kb, loc, h.vec};
                    Value block;
                    if (blockedKeys)
                      block = arith::DivUIOp::create(kb, loc, j0, k.idx(kCols));
                    SmallVector<Value> next(st.begin(), st.end());
                    const int64_t tileState = 2 * kRows + kRows * oVecs;
                    for (int64_t g = 0; g < kGroup; ++g) {
                      Value ti0 = i0;
                      if (g)
                        ti0 = arith::AddIOp::create(kb, loc, i0,
                                                    k.idx(g * kRows));
                      ValueRange ts = st.slice(g * tileState, tileState);
                      MutableArrayRef<Value> tn =
                          MutableArrayRef<Value>(next).slice(g * tileState,
                                                             tileState);
                      // S = Q · Kᵀ over the depth.
                      SmallVector<Value> sInit(kRows * sVecs, k.splat(0.0f));
                      auto depthLoop = scf::ForOp::create(
                          kb, loc, c0, k.idx(depth), c1, sInit,
                          [&](OpBuilder &db, Location, Value d,
                              ValueRange acc) {
                            TileBuilder x{db, loc, h.vec};
                            SmallVector<Value> kt;
                            for (int64_t c = 0; c < sVecs; ++c) {
                              Value col = x.idx(c * kLanes);
                              if (!blockedKeys)
                                col = arith::AddIOp::create(db, loc, j0, col);
                              SmallVector<Value> at{bi, d, col};
                              if (blockedKeys)
                                at.insert(at.begin() + 1, block);
                              kt.push_back(x.read(keysT, at, !tail));
                            }
                            SmallVector<Value> next;
                            for (int64_t r = 0; r < kRows; ++r) {
                              Value row =
                                  arith::AddIOp::create(db, loc, ti0, x.idx(r));
                              Value q = tensor::ExtractOp::create(
                                  db, loc, qBase.tensor,
                                  ValueRange{qBase.first, row,
                                             arith::AddIOp::create(
                                                 db, loc, qBase.offset, d)});
                              Value qv = x.bcast(q);
                              for (int64_t c = 0; c < sVecs; ++c)
                                next.push_back(
                                    x.fma(qv, kt[c], acc[r * sVecs + c]));
                            }
                            scf::YieldOp::create(db, loc, next);
                          });
                      SmallVector<Value> s(depthLoop.getResults());
                      if (*scale != 1.0f) {
                        Value scaleV = k.splat(*scale);
                        for (Value &v : s)
                          v = k.mul(v, scaleV);
                      }
                      // Masks: key j masked when j >= length (or past the
                      // keys, in a tail block) or (causal) j > i.
                      if (lengths || causal || tail) {
                        Value j64 = arith::IndexCastOp::create(
                            kb, loc, kb.getI64Type(), j0);
                        Value lim64 = arith::IndexCastOp::create(
                            kb, loc, kb.getI64Type(), keyLimit);
                        auto i64Vec =
                            VectorType::get({kLanes}, kb.getI64Type());
                        Value negInfV = k.splat(-INFINITY);
                        for (int64_t c = 0; c < sVecs; ++c) {
                          Value base = arith::AddIOp::create(
                              kb, loc, j64,
                              arith::ConstantOp::create(
                                  kb, loc, kb.getI64IntegerAttr(c * kLanes)));
                          Value cols =
                              arith::AddIOp::create(kb, loc,
                                                    vector::BroadcastOp::create(
                                                        kb, loc, i64Vec, base),
                                                    iota);
                          Value past = arith::CmpIOp::create(
                              kb, loc, arith::CmpIPredicate::sge, cols,
                              vector::BroadcastOp::create(kb, loc, i64Vec,
                                                          lim64));
                          for (int64_t r = 0; r < kRows; ++r) {
                            Value masked = past;
                            if (causal) {
                              Value row = arith::AddIOp::create(
                                  kb, loc,
                                  arith::IndexCastOp::create(
                                      kb, loc, kb.getI64Type(), ti0),
                                  arith::ConstantOp::create(
                                      kb, loc, kb.getI64IntegerAttr(r)));
                              Value future = arith::CmpIOp::create(
                                  kb, loc, arith::CmpIPredicate::sgt, cols,
                                  vector::BroadcastOp::create(kb, loc, i64Vec,
                                                              row));
                              masked =
                                  arith::OrIOp::create(kb, loc, masked, future);
                            }
                            Value &sv = s[r * sVecs + c];
                            sv = arith::SelectOp::create(kb, loc, masked,
                                                         negInfV, sv);
                          }
                        }
                      }
                      // Online softmax per row; P staged in a [kRows, kCols]
                      // tile so the context update broadcasts its scalars.
                      Value pTile = tensor::EmptyOp::create(
                          kb, loc, ArrayRef<int64_t>{kRows, kCols}, f32);
                      SmallVector<Value> alphas;
                      for (int64_t r = 0; r < kRows; ++r) {
                        Value rowMax = s[r * sVecs];
                        for (int64_t c = 1; c < sVecs; ++c)
                          rowMax = k.max(rowMax, s[r * sVecs + c]);
                        Value mNew = k.max(k.reduceMax(rowMax), ts[r]);
                        // A row masked so far has m' = -inf: shift by 0.
                        Value none = arith::CmpFOp::create(
                            kb, loc, arith::CmpFPredicate::OEQ, mNew, negInf);
                        Value shift =
                            arith::SelectOp::create(kb, loc, none, zero, mNew);
                        Value alpha = k.exp(k.sub(ts[r], shift));
                        Value shiftV = k.bcast(shift);
                        Value sum;
                        for (int64_t c = 0; c < sVecs; ++c) {
                          Value p = k.exp(k.sub(s[r * sVecs + c], shiftV));
                          sum = sum ? k.add(sum, p) : p;
                          pTile = vector::TransferWriteOp::create(
                                      kb, loc, p, pTile,
                                      ValueRange{k.idx(r), k.idx(c * kLanes)},
                                      ArrayRef<bool>{true})
                                      .getResult();
                        }
                        tn[r] = mNew;
                        tn[kRows + r] =
                            k.add(k.mul(ts[kRows + r], alpha),
                                  k.reduce(vector::CombiningKind::ADD, sum));
                        alphas.push_back(k.bcast(alpha));
                      }
                      // O = α O + P · V[j0:, :]
                      SmallVector<Value> oInit;
                      for (int64_t r = 0; r < kRows; ++r)
                        for (int64_t c = 0; c < oVecs; ++c)
                          oInit.push_back(
                              k.mul(ts[2 * kRows + r * oVecs + c], alphas[r]));
                      Value valueEnd = k.idx(kCols);
                      if (tail)
                        valueEnd = arith::MinSIOp::create(
                            kb, loc, valueEnd,
                            arith::SubIOp::create(kb, loc, k.idx(steps), j0));
                      auto valueLoop = scf::ForOp::create(
                          kb, loc, c0, valueEnd, c1, oInit,
                          [&](OpBuilder &vb, Location, Value jj,
                              ValueRange acc) {
                            TileBuilder x{vb, loc, h.vec};
                            Value j = arith::AddIOp::create(vb, loc, j0, jj);
                            SmallVector<Value> vrow;
                            for (int64_t c = 0; c < oVecs; ++c)
                              vrow.push_back(x.read(
                                  vBase.tensor,
                                  {vBase.first, j,
                                   arith::AddIOp::create(vb, loc, vBase.offset,
                                                         x.idx(c * kLanes))}));
                            SmallVector<Value> out;
                            for (int64_t r = 0; r < kRows; ++r) {
                              Value p = tensor::ExtractOp::create(
                                  vb, loc, pTile, ValueRange{x.idx(r), jj});
                              Value pv = x.bcast(p);
                              for (int64_t c = 0; c < oVecs; ++c)
                                out.push_back(
                                    x.fma(pv, vrow[c], acc[r * oVecs + c]));
                            }
                            scf::YieldOp::create(vb, loc, out);
                          });
                      for (int64_t i = 0; i < kRows * oVecs; ++i)
                        tn[2 * kRows + i] = valueLoop.getResult(i);
                    }
                    scf::YieldOp::create(kb, loc, next);
                  });
              // context = O / l (0 for a row with no unmasked key).
              Value ctx = qArgs[0];
              const int64_t tileState = 2 * kRows + kRows * oVecs;
              for (int64_t gr = 0; gr < kGroup * kRows; ++gr) {
                int64_t base = gr / kRows * tileState, r = gr % kRows;
                Value l = keyLoop.getResult(base + kRows + r);
                Value empty = arith::CmpFOp::create(qb, loc, arith::CmpFPredicate::OLE,
                                                    l, zero);
                Value inv = arith::DivFOp::create(qb, loc, t.f(1.0f), l, fastMath(qb));
                inv = t.bcast(arith::SelectOp::create(qb, loc, empty, zero, inv));
                Value row = arith::AddIOp::create(qb, loc, i0, t.idx(gr));
                for (int64_t c = 0; c < oVecs; ++c) {
                  Value o = t.mul(
                      keyLoop.getResult(base + 2 * kRows + r * oVecs + c), inv);
                  ctx = vector::TransferWriteOp::create(
                            qb, loc, o, ctx,
                            ValueRange{
                                cBase.first, row,
                                arith::AddIOp::create(qb, loc, cBase.offset,
                                                      t.idx(c * kLanes))},
                            ArrayRef<bool>{true})
                            .getResult();
                }
              }
              scf::YieldOp::create(qb, loc, ctx);
            });
        markParallelLoop(queryLoop);
        scf::YieldOp::create(bb, loc, queryLoop.getResults());
      });
  // Batch rows (and heads) and query tiles are independent.
  markParallelLoop(batchLoop);
  // The weights are unused (a precondition); give them a placeholder.
  auto wType = cast<RankedTensorType>(op.getWeights().getType());
  Value weights = tensor::EmptyOp::create(ob, loc, wType.getShape(), f32);
  Value context = batchLoop.getResult(0);
  if (merged) {
    // The merge chain is left dead on a placeholder.
    merged.getResult().replaceAllUsesWith(context);
    context = tensor::EmptyOp::create(ob, loc, ctxType.getShape(), f32);
  }
  op.replaceAllUsesWith(ValueRange{context, weights});
  op.erase();
  return success();
}
