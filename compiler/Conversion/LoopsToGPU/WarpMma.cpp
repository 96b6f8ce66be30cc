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
  return {};
}

FailureOr<Type> heed::parsePrecision(Operation *op, StringRef pass,
                                     StringRef precision) {
  Type element = mmaElementType(op->getContext(), precision);
  if (precision != "f32" && !element)
    return op->emitError() << pass
                           << ": precision must be f32, bf16 or f16, not '"
                           << precision << "'";
  return element;
}

namespace {

Value idx(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

/// The lane's registers of a fragment: the NVVM op takes f16 pairs as
/// vector<2xf16>, bf16 pairs as i32.
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
  SmallVector<Value> regs;
  for (Value pair : pairs)
    regs.push_back(element.isF16()
                       ? pair
                       : LLVM::BitcastOp::create(b, loc, b.getI32Type(), pair));
  return regs;
}

/// The instruction, on the lane's registers of A and B.
Value emitOnGPU(OpBuilder &b, Location loc, Type element, ValueRange a,
                ValueRange bRegs, Value acc) {
  Type f32 = b.getF32Type();
  SmallVector<Value> c;
  for (int64_t i = 0; i < 4; ++i)
    c.push_back(vector::ExtractOp::create(b, loc, acc, i));
  auto result = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                 SmallVector<Type>(4, f32));
  NVVM::MMATypes type =
      element.isBF16() ? NVVM::MMATypes::bf16 : NVVM::MMATypes::f16;
  Value d = NVVM::MmaOp::create(
      b, loc, result, a, bRegs, c, /*shape=*/{16, 8, 16}, std::nullopt,
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

/// Lane `lane`'s accumulators from the fragments of the lanes that hold
/// its row of A and its column of B (WarpMma.h's table, backwards):
///   A[row][k]: lane 4 (row % 8) + (k % 8) / 2, register row / 8 + 2 (k / 8)
///   B[k][col]: lane 4 col + (k % 8) / 2, register k / 8
///   element k % 2 of the register in both.
Value emitOnHost(OpBuilder &b, Location loc, Value lane,
                 const WarpMmaLoad &loadA, const WarpMmaLoad &loadB,
                 Value acc) {
  IndexMath m(b, loc);
  Type f32 = b.getF32Type();
  Value g = m.div(lane, 4), t = m.rem(lane, 4);
  Value out = acc;
  for (int64_t i = 0; i < 4; ++i) {
    Value row = m.add(g, m.idx(8 * (i / 2)));
    Value col = m.add(m.mul(t, 2), m.idx(i % 2));
    Value start = vector::ExtractOp::create(b, loc, acc, i);
    auto loop =
        scf::ForOp::create(b, loc, m.idx(0), m.idx(16), m.idx(1), start);
    {
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(loop.getBody());
      Value k = loop.getInductionVar();
      Value half = m.rem(k, 2), quad = m.div(m.rem(k, 8), 2),
            upper = m.div(k, 8);
      Value laneA = m.add(m.mul(m.rem(row, 8), 4), quad);
      Value regA = m.add(m.div(row, 8), m.mul(upper, 2));
      Value laneB = m.add(m.mul(col, 4), quad);
      auto element = [&](Value pair) -> Value {
        Value x = vector::ExtractOp::create(b, loc, pair,
                                            ArrayRef<OpFoldResult>{half});
        return arith::ExtFOp::create(b, loc, f32, x);
      };
      Value x = element(loadA(b, laneA, regA));
      Value y = element(loadB(b, laneB, upper));
      Value sum = arith::AddFOp::create(b, loc, loop.getRegionIterArg(0),
                                        arith::MulFOp::create(b, loc, x, y));
      scf::YieldOp::create(b, loc, sum);
    }
    out = vector::InsertOp::create(b, loc, loop.getResult(0), out, i);
  }
  return out;
}

} // namespace

WarpFragment heed::ldmatrixFragment(Location loc, bool onHost, Type element,
                                    LdMatrixSource source, int64_t matrices) {
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
        results.push_back(emitOnHost(b, loc, lane, fragmentA.perRegister,
                                     fragmentB.perRegister,
                                     accs[a * loadB.size() + j]));
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
