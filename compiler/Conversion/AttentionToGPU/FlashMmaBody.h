//===- FlashMmaBody.h - The tensor-core flash kernel's pieces ---*- C++ -*-===//
//
// Part of Heed. Private to FlashMmaKernel.cpp: the tiles of a tensor-core
// flash kernel (rows a block, warps, key tile, shared-memory padding) and
// the code a thread of it runs (staging, fragments, products, the
// weights' registers), from which FlashMmaKernel.cpp assembles the
// kernel's BlockProgram.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_ATTENTIONTOGPU_FLASHMMABODY_H
#define HEED_COMPILER_CONVERSION_ATTENTIONTOGPU_FLASHMMABODY_H

#include "compiler/Conversion/AttentionToGPU/FlashKernel.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Conversion/LoopsToGPU/IndexMath.h"
#include "compiler/Conversion/LoopsToGPU/WarpMma.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "llvm/Support/MathExtras.h"

#include <optional>

namespace heed::flash_mma {

using namespace mlir;

constexpr int64_t kWarpSize = 32;
constexpr int64_t kMaxDepth = 128;
/// Blocks along a grid's x axis: CUDA's limit.
constexpr int64_t kMaxBlocks = 2147483647;

/// A batch row's blocks of `rows` query rows. The grid is one axis of
/// batch rows × query tiles, the query tiles fastest: blocks running
/// together share a row's keys and values in L2.
inline int64_t queryTiles(const FlashShape &s, int64_t rows) {
  return llvm::divideCeil(s.queries, rows);
}

/// Shared rows padded so that the rows a fragment's lanes read fall in
/// distinct banks. 16-bit elements: by 8 (a 4-word shift a row: ldmatrix's
/// 8 rows). f32: the query and key tiles by 8 floats (rows 8 words apart
/// modulo the 32 banks, D a multiple of 32: the 4 rows times 4 lanes of
/// each half-warp's 8-byte loads of A and B), the value tile by 4 (rows 2t
/// + r, 8t or 24t words apart modulo 32, Dv a multiple of 8: scalar loads).
struct Pads {
  int64_t query, value;
  explicit Pads(Type element) : query(8), value(element.isF32() ? 4 : 8) {}
};

/// A block's tiles: a warp per 16 query rows times `rowTiles`; shared rows
/// padded by `pads`, of `bytes` an element.
struct Tiles {
  int64_t rows, rowTiles, keyTile;
  Pads pads;
  int64_t bytes;
  /// The key and value tiles' staging software-pipelined (BlockProgram):
  /// the next step's read into registers while this one computes.
  bool pipelined = false;
  /// Or copied by cp.async, keys and values already of the tiles' element
  /// type (FlashAttention-2's loop: each step's value tile in flight while
  /// the step's scores compute, the next key tile while its context
  /// does).
  bool asyncCopies = false;
  int64_t threads() const { return rows / (16 * rowTiles) * kWarpSize; }
  /// The floats a thread reads of a [rows][width] tile.
  int64_t fetchedFloats(int64_t rows, int64_t width) const {
    return llvm::divideCeil(rows * width / 4, threads()) * 4;
  }
  /// A lane's accumulators (O and S of each of its row tiles).
  int64_t accumulators(int64_t valueDepth) const {
    return rowTiles * (valueDepth / 8 + keyTile / 8) * 4;
  }
  /// The block's shared memory on a GPU (the host's weights tile aside).
  int64_t sharedBytes(int64_t depth, int64_t valueDepth) const {
    return bytes * ((rows + keyTile) * (depth + pads.query) +
                    keyTile * (valueDepth + pads.value));
  }
};

/// Where there are more than 64 queries, 128 query rows a block: each key
/// and value tile in shared memory then serves twice the rows it would
/// with 64, half the loads of keys and values from global memory per
/// product. Preferably as 4 warps of 32 rows (two 16-row tiles), so that
/// each fragment a warp loads of them serves two products, half the loads
/// from shared memory too (FlashAttention-2's blocks), where the two row
/// tiles' accumulators (O and S) fit 128 registers a lane, else (heads of
/// 128) as 8 warps of 16. 4 warps of 16 rows for up to 64 queries. BK is
/// the largest of 64, 32 and 16 (up to the keys rounded up to a power of
/// two) whose tiles fit the shared memory a kernel may take
/// (BlockProgram.h) and whose accumulators fit: `ptxas` then finds room
/// for the rest without spilling (flash-attention-ptx.test). With
/// `prefetch`, the staging is pipelined where the accumulators and the
/// next tiles' floats together fit kPipelinedFloats; `asyncCopies`: the
/// keys and values are of the tiles' element type (rounded before the
/// kernel, or f32) and copied by cp.async, which takes no registers. Given
/// the chip's
/// `multiprocessors`, 64 rows a block also where 128-row blocks would not
/// give each multiprocessor one (8 heads × 1024 queries: 64 blocks of 128
/// rows on an H100's 132, 128 of 64 rows).
constexpr int64_t kPipelinedFloats = 160;
std::optional<Tiles> chooseTiles(const FlashShape &s, Type element,
                                 bool prefetch, int64_t multiprocessors,
                                 bool asyncCopies) {
  Pads pads(element);
  int64_t bytes = element.getIntOrFloatBitWidth() / 8;
  int64_t longest =
      static_cast<int64_t>(llvm::PowerOf2Ceil(std::max<int64_t>(s.steps, 16)));
  auto fits = [&](const Tiles &tiles, int64_t registers) {
    return tiles.keyTile <= longest &&
           tiles.sharedBytes(s.depth, s.valueDepth) <= kMaxSharedBytes &&
           tiles.accumulators(s.valueDepth) <= registers;
  };
  auto pipelined = [&](Tiles tiles) {
    tiles.asyncCopies = asyncCopies;
    tiles.pipelined =
        prefetch && !tiles.asyncCopies &&
        tiles.accumulators(s.valueDepth) +
                tiles.fetchedFloats(tiles.keyTile, s.depth) +
                tiles.fetchedFloats(tiles.keyTile, s.valueDepth) <=
            kPipelinedFloats;
    return tiles;
  };
  bool smallGrid = s.batch * queryTiles(s, 128) < multiprocessors;
  int64_t rows = s.queries > 64 && !smallGrid ? 128 : 64;
  if (rows == 128)
    for (int64_t keyTile : {64, 32, 16})
      if (Tiles tiles{128, 2, keyTile, pads, bytes}; fits(tiles, 128))
        return pipelined(tiles);
  for (int64_t keyTile : {64, 32, 16})
    if (Tiles tiles{rows, 1, keyTile, pads, bytes};
        keyTile == 16 || fits(tiles, 160))
      return pipelined(tiles);
  return std::nullopt;
}

/// On a GPU, a thread's wait for its copies (MmaFlashBody::copyTile); a
/// barrier after it shows every thread's to the block. Nothing on the
/// host, which copies synchronously.
inline void emitWaitForCopies(OpBuilder &b, Location loc, bool onHost) {
  if (!onHost)
    NVVM::CpAsyncWaitGroupOp::create(b, loc, 0);
}

/// The shared buffers, in BlockProgram::shared's order; the weights only
/// on the host.
enum Shared { kQuery, kKeys, kValues, kWeights };

class MmaFlashBody : public IndexMath {
public:
  MmaFlashBody(OpBuilder &b, Location loc, const FlashShape &s,
               const Tiles &tiles, Type element, bool onHost, ValueRange io,
               const BlockPlace &place)
      : IndexMath(b, loc), s(s), tiles(tiles), keyTile(tiles.keyTile),
        element(element), onHost(onHost), io(io.begin(), io.end()),
        place(place), f32(b.getF32Type()) {}

  Value cf(float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value lessThan(Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  VectorType vec(int64_t n) { return VectorType::get({n}, f32); }
  Value constantVector(int64_t n, float v) {
    return arith::ConstantOp::create(b, loc, vec(n),
                                     DenseElementsAttr::get(vec(n), v));
  }
  Value shared(Shared which) { return place.shared[which]; }
  /// Block (b, i) of the grid's one axis is b · queryTiles + i.
  Value batchRow() { return div(place.block[0], queryTiles(s, tiles.rows)); }
  Value firstRow() {
    return mul(rem(place.block[0], queryTiles(s, tiles.rows)), tiles.rows);
  }
  Value lane() { return rem(place.thread, kWarpSize); }
  /// The first row (of the block) of the warp's row tile `rt`.
  Value warpRow(int64_t rt) {
    return add(mul(div(place.thread, kWarpSize), 16 * tiles.rowTiles),
               idx(16 * rt));
  }

  /// Where batch row `batchRow` of buffer `i` starts (FlashShape::heads).
  std::pair<Value, Value> rowOf(unsigned i, int64_t depth) {
    int64_t heads = s.heads[i];
    if (heads == 0)
      return {batchRow(), idx(0)};
    return {div(batchRow(), heads), mul(rem(batchRow(), heads), depth)};
  }

  /// Copies a [rows, width] slice of buffer `i` from row `first` (zeros
  /// from row `end` on, each element times `scale`) into `tile` at [r][c],
  /// rounded. Neighbouring threads read neighbouring groups of 4 floats
  /// (D and Dv are multiples of 8). Where the buffer's memory is 16-byte
  /// aligned (a runtime test; every row and head starts at a multiple of
  /// 8 floats from it, and Heed's allocations are aligned to 64 bytes or
  /// more) each group is one 16-byte load, otherwise four loads of a
  /// float. (Loads that differ only in their alignment would not do: LLVM
  /// merges the two branches, keeping the smaller.)
  void stage(unsigned i, int64_t rows, int64_t width, Value first, Value end,
             int64_t limit, float scale, Value tile) {
    onAlignment(i, TypeRange{}, [&](bool aligned) {
      emitStridedCopy(
          b, loc, place.thread, tiles.threads(), rows * (width / kGroup),
          /*unrolled=*/!onHost,
          [&](OpBuilder &, Value e) {
            return readGroup(i, width, first, limit, aligned, e);
          },
          [&](OpBuilder &, Value e, Value x) {
            writeGroup(width, first, end, scale, tile, e, x);
          });
      return SmallVector<Value>();
    });
  }

  /// stage's copy in two halves (BlockProgram::fetch and store): the
  /// thread's groups, read into registers, and their stores into `tile`.
  int64_t fetchedGroups(int64_t rows, int64_t width) const {
    return tiles.fetchedFloats(rows, width) / kGroup;
  }
  SmallVector<Value> fetch(unsigned i, int64_t rows, int64_t width, Value first,
                           int64_t limit) {
    SmallVector<Type> types(fetchedGroups(rows, width), vec(kGroup));
    return onAlignment(i, types, [&](bool aligned) {
      return emitStridedReads(
          b, loc, place.thread, tiles.threads(), rows * (width / kGroup),
          [&](OpBuilder &, Value e) {
            return readGroup(i, width, first, limit, aligned, e);
          });
    });
  }
  void store(int64_t rows, int64_t width, Value first, Value end, float scale,
             Value tile, ValueRange groups) {
    emitStridedWrites(b, loc, place.thread, tiles.threads(),
                      rows * (width / kGroup), groups,
                      [&](OpBuilder &, Value e, Value x) {
                        writeGroup(width, first, end, scale, tile, e, x);
                      });
  }

  /// Copies rows [first, first + rows) of buffer `i`, of the tiles'
  /// element type, into `tile` at [r][c], zeros from row `end` on (rows
  /// clamped below `limit`), in 16-byte groups, neighbouring threads
  /// neighbouring groups. On a GPU, where the buffer's memory is 16-byte
  /// aligned, each group is a cp.async (zero-filled from `end` on: a
  /// source size of 0), all of them one committed group, which the thread
  /// waits for before its next barrier (waitForCopies); otherwise, and on
  /// the host, a load and a store, from the same places.
  void copyTile(unsigned i, int64_t rows, int64_t width, Value first, Value end,
                int64_t limit, Value tile) {
    int64_t n = kCopyBytes / tiles.bytes, groups = rows * width / n;
    auto groupType = VectorType::get({n}, element);
    // (Not a structured binding: a lambda capturing one is C++20.)
    std::pair<Value, Value> rowAndOffset = rowOf(i, width);
    Value row = rowAndOffset.first, offset = rowAndOffset.second;
    onAlignment(i, TypeRange{}, [&](bool aligned) {
      for (int64_t k = 0; k * tiles.threads() < groups; ++k) {
        Value e = add(place.thread, idx(k * tiles.threads()));
        OpBuilder::InsertionGuard guard(b);
        if ((k + 1) * tiles.threads() > groups) {
          auto inside = scf::IfOp::create(b, loc, TypeRange{},
                                          lessThan(e, idx(groups)), false);
          b.setInsertionPointToStart(&inside.getThenRegion().front());
        }
        Value r = div(e, width / n), c = mul(rem(e, width / n), n);
        Value valid = lessThan(add(first, r), end);
        Value clamped =
            arith::MinUIOp::create(b, loc, add(first, r), idx(limit - 1));
        SmallVector<Value> from = {row, clamped, add(offset, c)};
        if (aligned && !onHost) {
          Value size = arith::SelectOp::create(b, loc, valid, idx(n), idx(0));
          nvgpu::DeviceAsyncCopyOp::create(
              b, loc, nvgpu::DeviceAsyncTokenType::get(b.getContext()), tile,
              ValueRange{r, c}, io[i], from, b.getIndexAttr(n), size,
              b.getUnitAttr());
          continue;
        }
        Value x;
        if (aligned) {
          x = vector::LoadOp::create(b, loc, groupType, io[i], from,
                                     /*nontemporal=*/false,
                                     llvm::Align(kCopyBytes));
        } else {
          SmallVector<Value> elements;
          for (int64_t j = 0; j < n; ++j) {
            from.back() = add(offset, add(c, idx(j)));
            elements.push_back(memref::LoadOp::create(b, loc, io[i], from));
          }
          x = vector::FromElementsOp::create(b, loc, groupType, elements);
        }
        x = arith::SelectOp::create(
            b, loc, valid, x,
            arith::ConstantOp::create(b, loc, b.getZeroAttr(groupType)));
        vector::StoreOp::create(b, loc, x, tile, ValueRange{r, c},
                                /*nontemporal=*/false, llvm::Align(kCopyBytes));
      }
      if (aligned && !onHost)
        NVVM::CpAsyncCommitGroupOp::create(b, loc);
      return SmallVector<Value>();
    });
  }

  void waitForCopies() { emitWaitForCopies(b, loc, onHost); }

  int64_t perRegister() const { return mmaRegisterElements(element); }
  int64_t depthStep() const { return mmaDepth(element); }
  VectorType registerType() const {
    return VectorType::get({perRegister()}, element);
  }

  // In f32 (tf32 products, K = 8) the instruction's k of each 8 is element
  // 2 (k % 4) + k / 4 of every operand (WarpMma.h: f32RowPairsFragment),
  // of the depth in S = Q K^T and of the keys in O += P V: so a lane's P
  // registers are its accumulators of S (weightsRegister).

  /// Where lane `lane`'s register `reg` of A lies in a [rows][K] tile (the
  /// warp's rows from `row0`, columns from `col0`): row g + 8 (r % 2),
  /// columns 2t + 8 (r / 2) + {0, 1} (WarpMma.h's table), in f32 column
  /// 2t + r / 2 (its column t + 4 (r / 2) by the order above).
  std::pair<Value, Value> placeA(Value lane, Value reg, Value row0,
                                 Value col0) {
    Value row = add(add(row0, div(lane, 4)), mul(rem(reg, 2), 8));
    Value col = add(add(col0, mul(rem(lane, 4), 2)),
                    element.isF32() ? div(reg, 2) : mul(div(reg, 2), 8));
    return {row, col};
  }

  /// Lane `lane`'s register `reg` of A read from `tile` by placeA: the
  /// host's reading of the weights the lanes stored.
  WarpMmaLoad tableA(Value tile, Value row0, Value col0) {
    return [=](OpBuilder &, Value lane, Value reg) -> Value {
      auto [row, col] = placeA(lane, reg, row0, col0);
      return vector::LoadOp::create(b, loc, registerType(), tile,
                                    ValueRange{row, col});
    };
  }

  /// A's fragment of the warp's row tile `rt` of `tile`, columns from
  /// `col0`: ldmatrix.x4, lane l pointing at row l % 16, column 8 (l / 16),
  /// so matrix r is rows 8 (r % 2), columns 8 (r / 2): A's register r. In
  /// f32, two 8-byte loads (f32RowPairsFragment; placeA's places).
  WarpFragment fragmentA(Value tile, Value col0, int64_t rt) {
    if (element.isF32())
      return f32RowPairsFragment(loc, onHost, tile, warpRow(rt), col0,
                                 /*rowsOfA=*/true);
    LdMatrixSource source{tile, /*transpose=*/false, [=](OpBuilder &, Value l) {
                            return std::make_pair(
                                add(warpRow(rt), rem(l, 16)),
                                add(col0, mul(div(l, 16), 8)));
                          }};
    return ldmatrixFragment(loc, onHost, element, source, 4);
  }

  /// B's fragment of its 8 columns from `n0`, K from `k0`, by ldmatrix.x2.
  /// `tile` holds B transposed (a row per column of B: the key tile), or
  /// with `rowsAreK` as it is (a row per K: the value tile, which ldmatrix
  /// reads transposed).
  /// Lane l points at row l % 8, column 8 ((l / 8) % 2) of the first, or
  /// at row l % 16 of the second (lanes from 16 on repeat the first 16),
  /// so that matrix r is K 8r: B's register r.
  /// In f32, B's register r is element 2t + r of K along column g (the
  /// order above): of the key tile, one 8-byte load of row g; of the value
  /// tile, a load from each of rows 2t and 2t + 1.
  WarpFragment fragmentB(Value tile, Value n0, Value k0, bool rowsAreK) {
    if (element.isF32() && !rowsAreK)
      return f32RowPairsFragment(loc, onHost, tile, n0, k0, /*rowsOfA=*/false);
    if (element.isF32())
      return laneLoadedFragment(
          loc, onHost, [=](OpBuilder &, Value lane) -> SmallVector<Value> {
            Value g = add(n0, div(lane, 4)), k = add(k0, mul(rem(lane, 4), 2));
            SmallVector<Value> registers;
            for (int64_t r = 0; r < 2; ++r)
              registers.push_back(vector::LoadOp::create(
                  b, loc, registerType(), tile, ValueRange{add(k, idx(r)), g}));
            return registers;
          });
    LdMatrixSource source{
        tile, /*transpose=*/rowsAreK, [=](OpBuilder &, Value l) {
          if (rowsAreK)
            return std::make_pair(add(k0, rem(l, 16)), n0);
          return std::make_pair(add(n0, rem(l, 8)),
                                add(k0, mul(rem(div(l, 8), 2), 8)));
        }};
    return ldmatrixFragment(loc, onHost, element, source, 2);
  }

  /// `accs += A · B` over `depth` (a multiple of K) for each of the
  /// warp's row tiles rt: A from `aAt(rt, kc)`, B's 8-column tiles j from
  /// `bTile` (fragmentB), `accs` rt-major. On a GPU the steps along the
  /// depth are unrolled (the fragments' offsets are immediates) and each B
  /// fragment is loaded once for all row tiles; on the host they are a
  /// loop, which keeps the emulation's code small.
  SmallVector<Value>
  products(function_ref<WarpFragment(int64_t rt, Value kc)> aAt, Value bTile,
           bool rowsAreK, int64_t depth, ValueRange accs) {
    auto step = [&](Value kc, ValueRange in) {
      SmallVector<WarpFragment> aLoads, bLoads;
      for (int64_t rt = 0; rt < tiles.rowTiles; ++rt)
        aLoads.push_back(aAt(rt, kc));
      int64_t columnTiles = in.size() / tiles.rowTiles;
      for (int64_t j = 0; j < columnTiles; ++j)
        bLoads.push_back(fragmentB(bTile, idx(8 * j), kc, rowsAreK));
      return emitWarpMmaGrid(b, loc, onHost, element, lane(), aLoads, bLoads,
                             in);
    };
    if (!onHost) {
      SmallVector<Value> out(accs.begin(), accs.end());
      for (int64_t kc = 0; kc < depth; kc += depthStep())
        out = step(idx(kc), out);
      return out;
    }
    auto loop =
        scf::ForOp::create(b, loc, idx(0), idx(depth), idx(depthStep()), accs);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(loop.getBody());
    scf::YieldOp::create(
        b, loc, step(loop.getInductionVar(), loop.getRegionIterArgs()));
    return SmallVector<Value>(loop.getResults());
  }

  /// The row (of the block) of the lane's accumulator i of row tile rt,
  /// and its column in an 8-column tile.
  Value accumulatorRow(int64_t rt, int64_t i) {
    return add(add(warpRow(rt), div(lane(), 4)), idx(8 * (i / 2)));
  }
  Value accumulatorColumn(int64_t i) {
    return add(mul(rem(lane(), 4), 2), idx(i % 2));
  }

  /// The lane's A register `r` (0-3) of the weights' K-key chunk `chunk`,
  /// from its accumulators of P (`weights`: the 8-key tiles). With 16-bit
  /// elements, register r holds row g + 8 (r % 2), keys 2t + 8 (r / 2) +
  /// {0, 1} of the chunk, which are accumulators 2 (r % 2) and 2 (r % 2) +
  /// 1 of tile 2 chunk + r / 2 (WarpMma.h's tables). In f32 (K = 8, a
  /// chunk is tile `chunk`), register r is row g + 8 (r % 2), key 2t +
  /// r / 2 (placeA): accumulator 2 (r % 2) + r / 2.
  Value weightsRegister(ValueRange weights, int64_t chunk, int64_t r) {
    if (element.isF32())
      return vector::FromElementsOp::create(
          b, loc, registerType(),
          ValueRange{vector::ExtractOp::create(b, loc, weights[chunk],
                                               2 * (r % 2) + r / 2)});
    Value tile = weights[2 * chunk + r / 2];
    SmallVector<Value> pair;
    for (int64_t e = 0; e < 2; ++e)
      pair.push_back(arith::TruncFOp::create(
          b, loc, element,
          vector::ExtractOp::create(b, loc, tile, 2 * (r % 2) + e)));
    return vector::FromElementsOp::create(b, loc, registerType(), pair);
  }

  /// On the host: stores the lane's A registers of row tile rt's P where
  /// the fragment layout puts them in a [rows][BK] tile, for the other
  /// lanes' emulated products to read.
  void storeWeightsFragments(ValueRange weights, int64_t rt) {
    for (int64_t chunk = 0; chunk < keyTile / depthStep(); ++chunk)
      for (int64_t r = 0; r < 4; ++r) {
        auto [row, col] =
            placeA(lane(), idx(r), warpRow(rt), idx(depthStep() * chunk));
        vector::StoreOp::create(b, loc, weightsRegister(weights, chunk, r),
                                shared(kWeights), ValueRange{row, col});
      }
  }

  Value keyEnd() {
    Value end = idx(s.steps);
    if (s.lengths) {
      Value len = memref::LoadOp::create(b, loc, io[3], batchRow());
      len = arith::MaxNumFOp::create(b, loc, len, cf(0.0f));
      len = arith::MinNumFOp::create(b, loc, len, cf(float(s.steps)));
      Value n = arith::FPToSIOp::create(b, loc, b.getI64Type(), len);
      n = arith::IndexCastOp::create(b, loc, b.getIndexType(), n);
      end = arith::MinUIOp::create(b, loc, end, n);
    }
    if (s.causal)
      end =
          arith::MinUIOp::create(b, loc, end, add(firstRow(), idx(tiles.rows)));
    return end;
  }

  static constexpr int64_t kGroup = 4;
  /// cp.async's largest copy, which skips L1 (.cg).
  static constexpr int64_t kCopyBytes = 16;

  /// `emit(aligned)`'s values, in a branch on whether buffer `i`'s memory
  /// is 16-byte aligned.
  SmallVector<Value>
  onAlignment(unsigned i, TypeRange types,
              function_ref<SmallVector<Value>(bool aligned)> emit) {
    Value address =
        memref::ExtractAlignedPointerAsIndexOp::create(b, loc, io[i]);
    Value aligned = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          rem(address, 16), idx(0));
    auto branch = scf::IfOp::create(b, loc, types, aligned,
                                    /*withElseRegion=*/true);
    OpBuilder::InsertionGuard guard(b);
    for (bool isAligned : {true, false}) {
      b.setInsertionPointToStart(isAligned ? &branch.getThenRegion().front()
                                           : &branch.getElseRegion().front());
      SmallVector<Value> values = emit(isAligned);
      if (!types.empty())
        scf::YieldOp::create(b, loc, values);
    }
    return SmallVector<Value>(branch.getResults());
  }

  /// Group e of a [rows, width] slice: [r][c, c + 4), r = e / (width / 4).
  std::pair<Value, Value> groupAt(Value e, int64_t width) {
    int64_t groups = width / kGroup;
    return {div(e, groups), mul(rem(e, groups), kGroup)};
  }

  /// Group e of buffer `i`'s slice from row `first` (rows clamped below
  /// `limit`), by one 16-byte load where `aligned`.
  Value readGroup(unsigned i, int64_t width, Value first, int64_t limit,
                  bool aligned, Value e) {
    auto [row, offset] = rowOf(i, width);
    auto [r, c] = groupAt(e, width);
    Value clamped =
        arith::MinUIOp::create(b, loc, add(first, r), idx(limit - 1));
    if (aligned)
      return vector::LoadOp::create(b, loc, vec(kGroup), io[i],
                                    ValueRange{row, clamped, add(offset, c)},
                                    /*nontemporal=*/false, llvm::Align(16));
    SmallVector<Value> elements;
    for (int64_t k = 0; k < kGroup; ++k)
      elements.push_back(memref::LoadOp::create(
          b, loc, io[i],
          ValueRange{row, clamped, add(offset, add(c, idx(k)))}));
    return vector::FromElementsOp::create(b, loc, vec(kGroup), elements);
  }

  /// Group e, read, into `tile`: times `scale`, zeros from row `end` on,
  /// rounded to the element type.
  void writeGroup(int64_t width, Value first, Value end, float scale,
                  Value tile, Value e, Value x) {
    auto [r, c] = groupAt(e, width);
    if (scale != 1.0f)
      x = arith::MulFOp::create(b, loc, x, constantVector(kGroup, scale));
    x = arith::SelectOp::create(b, loc, lessThan(add(first, r), end), x,
                                constantVector(kGroup, 0.0f));
    if (!element.isF32())
      x = arith::TruncFOp::create(b, loc, VectorType::get({kGroup}, element),
                                  x);
    // 8 bytes (16 in f32): rows of (width + pad) elements, a multiple of 4
    // (Pads), c a multiple of 4.
    vector::StoreOp::create(b, loc, x, tile, ValueRange{r, c},
                            /*nontemporal=*/false,
                            llvm::Align(kGroup * tiles.bytes));
  }

  const FlashShape &s;
  Tiles tiles;
  int64_t keyTile;
  Type element;
  bool onHost;
  SmallVector<Value> io; // query, keys, values, [lengths]
  const BlockPlace &place;
  Type f32;
};

} // namespace heed::flash_mma

#endif
