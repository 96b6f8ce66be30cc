//===- WarpMma.cpp - A warp's tensor-core product, on a GPU or host -------===//
//
// Part of Heed. See WarpMma.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/WarpMma.h"
#include "compiler/Conversion/LoopsToGPU/IndexMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace heed;

Type heed::mmaElementType(MLIRContext *context, StringRef name) {
  if (name == "bf16")
    return BFloat16Type::get(context);
  if (name == "f16")
    return Float16Type::get(context);
  if (name == "tf32x3")
    return Float32Type::get(context);
  return {};
}

int64_t heed::mmaDepth(Type element) { return element.isF32() ? 8 : 16; }

int64_t heed::mmaRegisterElements(Type element) {
  return element.isF32() ? 1 : 2;
}

std::pair<Value, Value> heed::splitTF32(OpBuilder &b, Location loc, Value x) {
  // cvt.rna.tf32.f32 by integer arithmetic, the same on a GPU and the host:
  // adding half of the 13 dropped bits' unit to the magnitude rounds to
  // nearest, ties away from zero.
  auto round = [&](Value v) -> Value {
    Type i32 = b.getI32Type();
    Value bits = arith::BitcastOp::create(b, loc, i32, v);
    bits = arith::AddIOp::create(
        b, loc, bits,
        arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(0x1000)));
    bits = arith::AndIOp::create(
        b, loc, bits,
        arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(~0x1fff)));
    return arith::BitcastOp::create(b, loc, b.getF32Type(), bits);
  };
  Value big = round(x);
  Value small = round(arith::SubFOp::create(b, loc, x, big));
  return {big, small};
}

bool heed::isPrecision(StringRef name) {
  return llvm::is_contained(kPrecisions, name);
}

std::string heed::precisionList(StringRef quote) {
  std::string list;
  for (auto [i, name] : llvm::enumerate(kPrecisions)) {
    if (i > 0)
      list += i + 1 == std::size(kPrecisions) ? " or " : ", ";
    list += (quote + name + quote).str();
  }
  return list;
}

FailureOr<Type> heed::parsePrecision(Operation *op, StringRef pass,
                                     StringRef precision) {
  if (!isPrecision(precision))
    return op->emitError() << pass << ": precision must be " << precisionList()
                           << ", not '" << precision << "'";
  return mmaElementType(op->getContext(), precision);
}

namespace {

Value idx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// The lane's registers of a fragment as the NVVM op takes them: f16
/// pairs as vector<2xf16>, bf16 pairs as i32; for 3xTF32 (f32), each
/// register's tf32 parts, big ones first then small ones, as i32.
SmallVector<Value> loadRegisters(OpBuilder &b, Location loc, Type element,
                                 Value lane, const WarpFragment &load,
                                 int64_t count) {
  SmallVector<Value> pairs;
  if (load.ownRegisters)
    pairs = load.ownRegisters(b, lane);
  else
    for (int64_t r = 0; r < count; ++r)
      pairs.push_back(load.perRegister(b, lane, idx(b, loc, r)));
  assert(static_cast<int64_t>(pairs.size()) == count && "a fragment's size");
  Type i32 = b.getI32Type();
  SmallVector<Value> regs;
  if (element.isF32()) {
    SmallVector<Value> small;
    for (Value one : pairs) {
      auto [bigPart, smallPart] =
          splitTF32(b, loc, vector::ExtractOp::create(b, loc, one, 0));
      regs.push_back(arith::BitcastOp::create(b, loc, i32, bigPart));
      small.push_back(arith::BitcastOp::create(b, loc, i32, smallPart));
    }
    llvm::append_range(regs, small);
    return regs;
  }
  for (Value pair : pairs)
    regs.push_back(
        element.isF16() ? pair : LLVM::BitcastOp::create(b, loc, i32, pair));
  return regs;
}

/// One mma.sync on the lane's registers of A and B.
Value emitInstruction(OpBuilder &b, Location loc, Type element, ValueRange a,
                      ValueRange bRegs, Value acc) {
  Type f32 = b.getF32Type();
  SmallVector<Value> c;
  for (int64_t i = 0; i < 4; ++i)
    c.push_back(vector::ExtractOp::create(b, loc, acc, i));
  auto result = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                 SmallVector<Type>(4, f32));
  NVVM::MMATypes type = element.isF32()    ? NVVM::MMATypes::tf32
                        : element.isBF16() ? NVVM::MMATypes::bf16
                                           : NVVM::MMATypes::f16;
  Value d = NVVM::MmaOp::create(
      b, loc, result, a, bRegs, c,
      /*shape=*/{16, 8, static_cast<int32_t>(mmaDepth(element))}, std::nullopt,
      std::nullopt, std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  Value out = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(VectorType::get({4}, f32), 0.0f));
  for (int64_t i = 0; i < 4; ++i)
    out = vector::InsertOp::create(
        b, loc, LLVM::ExtractValueOp::create(b, loc, d, i), out, i);
  return out;
}

/// The product on the lane's registers (loadRegisters's). For 3xTF32, A's
/// and B's small parts times the other's big ones first, then the big
/// parts' product: A B to about f32's precision (the small parts' product,
/// 2^-22 of it, left out).
Value emitOnGPU(OpBuilder &b, Location loc, Type element, ValueRange a,
                ValueRange bRegs, Value acc) {
  if (!element.isF32())
    return emitInstruction(b, loc, element, a, bRegs, acc);
  ValueRange aBig = a.take_front(4), aSmall = a.drop_front(4);
  ValueRange bBig = bRegs.take_front(2), bSmall = bRegs.drop_front(2);
  acc = emitInstruction(b, loc, element, aSmall, bBig, acc);
  acc = emitInstruction(b, loc, element, aBig, bSmall, acc);
  return emitInstruction(b, loc, element, aBig, bBig, acc);
}

/// Lane `lane`'s accumulators from the fragments of the lanes that hold
/// its row of A and its column of B (WarpMma.h's tables, backwards). With
/// E elements a register and K = 8 E:
///   A[row][k]: lane 4 (row % 8) + (k % K/2) / E,
///              register row / 8 + 2 (k / (K/2))
///   B[k][col]: lane 4 col + (k % K/2) / E, register k / (K/2)
///   element k % E of the register in both.
Value emitOnHost(OpBuilder &b, Location loc, Type element, Value lane,
                 const WarpMmaLoad &loadA, const WarpMmaLoad &loadB,
                 Value acc) {
  IndexMath m(b, loc);
  Type f32 = b.getF32Type();
  int64_t perRegister = mmaRegisterElements(element);
  int64_t half = mmaDepth(element) / 2;
  Value g = m.div(lane, 4), t = m.rem(lane, 4);
  Value out = acc;
  for (int64_t i = 0; i < 4; ++i) {
    Value row = m.add(g, m.idx(8 * (i / 2)));
    Value col = m.add(m.mul(t, 2), m.idx(i % 2));
    Value start = vector::ExtractOp::create(b, loc, acc, i);
    auto loop = scf::ForOp::create(b, loc, m.idx(0), m.idx(mmaDepth(element)),
                                   m.idx(1), start);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value k = loop.getInductionVar();
      Value within = m.rem(k, perRegister),
            quad = m.div(m.rem(k, half), perRegister), upper = m.div(k, half);
      Value laneA = m.add(m.mul(m.rem(row, 8), 4), quad);
      Value regA = m.add(m.div(row, 8), m.mul(upper, 2));
      Value laneB = m.add(m.mul(col, 4), quad);
      auto value = [&](Value reg) -> Value {
        Value x = vector::ExtractOp::create(b, loc, reg,
                                            ArrayRef<OpFoldResult>{within});
        return element.isF32() ? x : arith::ExtFOp::create(b, loc, f32, x);
      };
      Value x = value(loadA(b, laneA, regA));
      Value y = value(loadB(b, laneB, upper));
      Value sum = loop.getRegionIterArg(0);
      auto multiplyAdd = [&](Value x, Value y) {
        sum = arith::AddFOp::create(b, loc, sum,
                                    arith::MulFOp::create(b, loc, x, y));
      };
      if (element.isF32()) {
        auto [xBig, xSmall] = splitTF32(b, loc, x);
        auto [yBig, ySmall] = splitTF32(b, loc, y);
        multiplyAdd(xSmall, yBig);
        multiplyAdd(xBig, ySmall);
        multiplyAdd(xBig, yBig);
      } else {
        multiplyAdd(x, y);
      }
      scf::YieldOp::create(b, loc, sum);
    }
    out = vector::InsertOp::create(b, loc, loop.getResult(0), out, i);
  }
  return out;
}

} // namespace

WarpFragment heed::ldmatrixFragment(Location loc, bool onHost, Type element,
                                    LdMatrixSource source, int64_t matrices) {
  assert(mmaRegisterElements(element) == 2 && "ldmatrix reads 16-bit elements");
  WarpFragment fragment([=](OpBuilder &b, Value lane, Value reg) -> Value {
    IndexMath m(b, loc);
    VectorType pair = VectorType::get({2}, element);
    if (!source.transpose) {
      auto [row, col] =
          source.rowAddress(b, m.add(m.mul(reg, 8), m.div(lane, 4)));
      return vector::LoadOp::create(
          b, loc, pair, source.tile,
          ValueRange{row, m.add(col, m.mul(m.rem(lane, 4), 2))});
    }
    SmallVector<Value> elements;
    for (int64_t e = 0; e < 2; ++e) {
      Value from =
          m.add(m.add(m.mul(reg, 8), m.mul(m.rem(lane, 4), 2)), m.idx(e));
      auto [row, col] = source.rowAddress(b, from);
      elements.push_back(memref::LoadOp::create(
          b, loc, source.tile, ValueRange{row, m.add(col, m.div(lane, 4))}));
    }
    return vector::FromElementsOp::create(b, loc, pair, elements);
  });
  if (onHost)
    return fragment;
  fragment.ownRegisters = [=](OpBuilder &b, Value lane) {
    auto [row, col] = source.rowAddress(b, lane);
    Value all = nvgpu::LdMatrixOp::create(
        b, loc, VectorType::get({matrices, 2}, element), source.tile,
        ValueRange{row, col}, source.transpose, matrices);
    SmallVector<Value> registers;
    for (int64_t j = 0; j < matrices; ++j)
      registers.push_back(vector::ExtractOp::create(b, loc, all, j));
    return registers;
  };
  return fragment;
}

WarpFragment heed::laneLoadedFragment(Location loc, bool onHost,
                                      LaneLoads own) {
  WarpFragment fragment([=](OpBuilder &b, Value lane, Value reg) -> Value {
    // Register `reg` of the lane's: a select over the register numbers.
    SmallVector<Value> registers = own(b, lane);
    Value picked = registers.back();
    for (int64_t r = static_cast<int64_t>(registers.size()) - 2; r >= 0; --r)
      picked = arith::SelectOp::create(
          b, loc,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, reg,
                                idx(b, loc, r)),
          registers[r], picked);
    return picked;
  });
  if (!onHost)
    fragment.ownRegisters = [=](OpBuilder &b, Value lane) {
      return own(b, lane);
    };
  return fragment;
}

WarpFragment heed::f32RowPairsFragment(Location loc, bool onHost, Value tile,
                                       Value row0, Value k0, bool rowsOfA) {
  Type f32 = Float32Type::get(tile.getContext());
  return laneLoadedFragment(
      loc, onHost, [=](OpBuilder &b, Value lane) -> SmallVector<Value> {
        IndexMath m(b, loc);
        VectorType one = VectorType::get({1}, f32);
        Value row = m.add(row0, m.div(lane, 4));
        Value col = m.add(k0, m.mul(m.rem(lane, 4), 2));
        // Columns 2t and 2t + 1 of `r` as two registers.
        auto pair = [&](Value r) -> std::pair<Value, Value> {
          Value two = vector::LoadOp::create(
              b, loc, VectorType::get({2}, f32), tile, ValueRange{r, col},
              /*nontemporal=*/false, llvm::Align(8));
          auto element = [&](int64_t i) -> Value {
            return vector::FromElementsOp::create(
                b, loc, one,
                ValueRange{vector::ExtractOp::create(b, loc, two, i)});
          };
          return {element(0), element(1)};
        };
        auto [r0, r2] = pair(row);
        if (!rowsOfA)
          return {r0, r2};
        auto [r1, r3] = pair(m.add(row, m.idx(8)));
        return {r0, r1, r2, r3};
      });
}

SmallVector<Value> heed::emitWarpMmas(OpBuilder &b, Location loc, bool onHost,
                                      Type element, Value lane,
                                      const WarpFragment &loadA,
                                      ArrayRef<WarpFragment> loadB,
                                      ValueRange accs) {
  return emitWarpMmaGrid(b, loc, onHost, element, lane, loadA, loadB, accs);
}

SmallVector<Value> heed::emitWarpMmaGrid(OpBuilder &b, Location loc,
                                         bool onHost, Type element, Value lane,
                                         ArrayRef<WarpFragment> loadA,
                                         ArrayRef<WarpFragment> loadB,
                                         ValueRange accs) {
  assert(accs.size() == loadA.size() * loadB.size() && "an accumulator each");
  SmallVector<Value> results;
  if (onHost) {
    for (auto [a, fragmentA] : llvm::enumerate(loadA))
      for (auto [j, fragmentB] : llvm::enumerate(loadB))
        results.push_back(
            emitOnHost(b, loc, element, lane, fragmentA.perRegister,
                       fragmentB.perRegister, accs[a * loadB.size() + j]));
    return results;
  }
  SmallVector<SmallVector<Value>> a, bRegs;
  for (const WarpFragment &fragment : loadA)
    a.push_back(loadRegisters(b, loc, element, lane, fragment, 4));
  for (const WarpFragment &fragment : loadB)
    bRegs.push_back(loadRegisters(b, loc, element, lane, fragment, 2));
  for (size_t i = 0; i < a.size(); ++i)
    for (size_t j = 0; j < bRegs.size(); ++j)
      results.push_back(emitOnGPU(b, loc, element, a[i], bRegs[j],
                                  accs[i * bRegs.size() + j]));
  return results;
}
