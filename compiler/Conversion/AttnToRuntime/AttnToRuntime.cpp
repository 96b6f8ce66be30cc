//===- AttnToRuntime.cpp - Recurrent, Conv1D and dense layers as calls ----===//
//
// Part of Heed. oneDNN's RNN primitives run a whole LSTM/GRU sequence with
// its gate matmuls batched over time; Heed calls them (runtime/Kernels.h)
// instead of generating recurrent loops. Dense layers over many rows are
// matrix products, which oneDNN's inner product runs near the FMA peak. The calls work on buffers, so each
// op reads its operands through `bufferization.to_buffer` and returns
// `bufferization.to_tensor` of freshly allocated results; one-shot
// bufferization later sees through both. Buffers are passed as memrefs
// (C-interface descriptors), never as bare addresses, so that later passes
// know what the call reads and writes.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"

namespace heed {
#define GEN_PASS_DEF_CONVERTATTNTORUNTIME
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

constexpr StringLiteral kContextSymbol = "heed_kernel_context";
constexpr StringLiteral kRnnFunction = "heed_rnn_forward";
constexpr StringLiteral kConvFunction = "heed_conv1d_forward";
constexpr StringLiteral kDenseFunction = "heed_dense_forward";
/// Up to this batch the generated cell beats a one-step oneDNN primitive.
constexpr int64_t kFusedCellMaxBatch = 2;
/// oneDNN's direct convolution vectorizes over input channels; with this
/// many or fewer (Tacotron2's location convolution over the alignments has
/// one) the generated unfold-and-dense form is faster (docs/benchmarks.md).
constexpr int64_t kGeneratedConvMaxChannels = 4;

/// The ranks of the buffers a kernel takes, in order, after its leading i64
/// scalars (runtime/Kernels.h).
constexpr unsigned kRnnScalars = 8, kConvScalars = 11;
constexpr int64_t kRnnBufferRanks[] = {3, 3, 3, 2, 2, 1, 1, 2, 2, 1, 1, 3, 3, 3};
constexpr int64_t kConvBufferRanks[] = {3, 3, 1, 3};
constexpr unsigned kDenseScalars = 6;
constexpr int64_t kDenseBufferRanks[] = {2, 2, 1, 2};
/// The weight and bias come as views (rows of a packed weight).
constexpr bool kDenseBufferViews[] = {false, true, true, false};
/// With `dense=auto`, whether oneDNN's inner product beats the generated
/// product for `rows` (the leading dims, flattened) of an `ins` → `outs`
/// layer. Measured one layer at a time (docs/benchmarks.md, "Dense
/// layers"): from 4 rows on for 128×128 weights and up, from 2 rows for
/// 256×256, and for a single row above 512×512 (a 512×512 one ties).
/// From 4 rows on, weights of 64×128 and up go to oneDNN too: the generated
/// product is at most about 0.5 µs faster there (a 64×64 layer over 32
/// rows: 3.6 against 4.1 µs), but its unrolled tiles cost seconds of LLVM
/// time per layer (a 64-wide transformer block's feed-forward and 48/40 →
/// 256 key/value projections took 4 s of a 5 s first compile).
bool onednnDenseIsFaster(int64_t rows, int64_t ins, int64_t outs) {
  int64_t perRow = ins * outs;
  if (rows >= 4)
    return perRow >= 64 * 128;
  if (rows >= 2)
    return perRow >= 256 * 256;
  return perRow > 512 * 512;
}

class KernelCallBuilder {
public:
  explicit KernelCallBuilder(ModuleOp module) : module(module) {}

  /// Declares the context global and a kernel function: `numScalars` i64
  /// arguments, then one dynamically shaped f32 memref per entry of
  /// `bufferRanks`. Buffers cross as memref descriptors (the C interface),
  /// so every pass sees that the call reads and writes them: an address
  /// smuggled through an i64 is invisible to alias analysis, and the
  /// vector-transfer hoisting once moved reads of a kernel's results above
  /// the call.
  void declare(StringRef function, unsigned numScalars,
               ArrayRef<int64_t> bufferRanks,
               ArrayRef<bool> anyLayout = {}) {
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    if (!module.lookupSymbol(kContextSymbol)) {
      // No initializer: an external symbol the JIT binds to the model's
      // kernel context.
      auto type = MemRefType::get({1}, b.getI64Type());
      memref::GlobalOp::create(b, module.getLoc(), kContextSymbol,
                               b.getStringAttr("public"), type, Attribute(),
                               /*constant=*/false, IntegerAttr());
    }
    if (!module.lookupSymbol(function)) {
      SmallVector<Type> args(numScalars, b.getI64Type());
      for (auto [i, rank] : llvm::enumerate(bufferRanks))
        args.push_back(dynamicType(b, rank,
                                   i < anyLayout.size() && anyLayout[i]));
      auto fn = func::FuncOp::create(b, module.getLoc(), function,
                                     b.getFunctionType(args, {}));
      fn.setPrivate();
      fn->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                  b.getUnitAttr());
    }
  }

  Value i64(OpBuilder &b, Location loc, int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  }
  Value context(OpBuilder &b, Location loc) {
    auto type = MemRefType::get({1}, b.getI64Type());
    Value g = memref::GetGlobalOp::create(b, loc, type, kContextSymbol);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    return memref::LoadOp::create(b, loc, g, ValueRange{zero});
  }
  /// A tensor's contents as a dense buffer of rank `rank` for a kernel to
  /// read; an empty buffer (no elements) when there is no tensor.
  Value input(OpBuilder &b, Location loc, Value tensor, int64_t rank) {
    if (!tensor)
      return absent(b, loc, rank);
    auto type = cast<RankedTensorType>(tensor.getType());
    auto memrefType = MemRefType::get(type.getShape(), type.getElementType());
    Value buffer = bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                                     /*read_only=*/true);
    return erase(b, loc, buffer);
  }
  /// A tensor's contents as a buffer of any strides and offset: a slice of
  /// a function argument (rows of a packed weight) is passed as the view it
  /// is, never copied into a fresh buffer per call (the kernel checks that
  /// the view is dense).
  Value view(OpBuilder &b, Location loc, Value tensor, int64_t rank) {
    if (!tensor)
      return absent(b, loc, rank, /*anyLayout=*/true);
    auto type = cast<RankedTensorType>(tensor.getType());
    auto memrefType = MemRefType::get(type.getShape(), type.getElementType(),
                                      anyStrides(b, rank));
    Value buffer = bufferization::ToBufferOp::create(b, loc, memrefType, tensor,
                                                     /*read_only=*/true);
    return erase(b, loc, buffer, /*anyLayout=*/true);
  }
  /// The buffer cast to the kernels' dynamically shaped argument type.
  Value erase(OpBuilder &b, Location loc, Value buffer, bool anyLayout = false) {
    auto type = cast<MemRefType>(buffer.getType());
    return memref::CastOp::create(
        b, loc, dynamicType(b, type.getRank(), anyLayout), buffer);
  }
  /// A fresh result buffer of `type`.
  Value allocate(OpBuilder &b, Location loc, Type type) {
    auto t = cast<RankedTensorType>(type);
    auto memrefType = MemRefType::get(t.getShape(), t.getElementType());
    return memref::AllocOp::create(b, loc, memrefType, b.getI64IntegerAttr(64));
  }
  Value asTensor(OpBuilder &b, Location loc, Value buffer, Type type) {
    return bufferization::ToTensorOp::create(b, loc, type, buffer,
                                             /*restrict=*/true,
                                             /*writable=*/true);
  }

  int64_t nextSite() { return site++; }

private:
  static MemRefLayoutAttrInterface anyStrides(OpBuilder &b, int64_t rank) {
    return StridedLayoutAttr::get(
        b.getContext(), ShapedType::kDynamic,
        SmallVector<int64_t>(rank, ShapedType::kDynamic));
  }
  static MemRefType dynamicType(OpBuilder &b, int64_t rank,
                                bool anyLayout = false) {
    return MemRefType::get(SmallVector<int64_t>(rank, ShapedType::kDynamic),
                           b.getF32Type(),
                           anyLayout ? anyStrides(b, rank)
                                     : MemRefLayoutAttrInterface());
  }
  /// An empty constant buffer of `rank` (a module global).
  Value absent(OpBuilder &b, Location loc, int64_t rank,
               bool anyLayout = false) {
    std::string name = "heed_absent_" + std::to_string(rank) + "d";
    auto type = MemRefType::get(SmallVector<int64_t>(rank, 0), b.getF32Type());
    if (!module.lookupSymbol(name)) {
      OpBuilder top = OpBuilder::atBlockBegin(module.getBody());
      auto tensorType = RankedTensorType::get(type.getShape(), b.getF32Type());
      memref::GlobalOp::create(top, loc, name, top.getStringAttr("private"),
                               type, DenseElementsAttr::get(tensorType,
                                                            ArrayRef<float>{}),
                               /*constant=*/true, IntegerAttr());
    }
    Value empty = memref::GetGlobalOp::create(b, loc, type, name);
    return erase(b, loc, empty, anyLayout);
  }

  ModuleOp module;
  int64_t site = 0;
};

/// Cell kinds as heed_rnn_forward numbers them (rt::CellKind).
constexpr int64_t kLstm = 0, kGru = 1, kLinearBeforeResetGru = 2;

/// Emits heed_rnn_forward for a whole-sequence layer; returns the output
/// sequence, h_n and (LSTM) c_n as tensors.
SmallVector<Value> emitRnnCall(KernelCallBuilder &k, OpBuilder &b,
                               Location loc, int64_t cell, int64_t direction,
                               int64_t hidden, Value x, Value h0, Value c0,
                               ValueRange weights, ArrayRef<Type> resultTypes) {
  auto xType = cast<RankedTensorType>(x.getType());
  int64_t n = xType.getDimSize(0), t = xType.getDimSize(1),
          in = xType.getDimSize(2);
  SmallVector<Value> args = {k.context(b, loc),     k.i64(b, loc, k.nextSite()),
                             k.i64(b, loc, cell),   k.i64(b, loc, direction),
                             k.i64(b, loc, t),      k.i64(b, loc, n),
                             k.i64(b, loc, in),     k.i64(b, loc, hidden),
                             k.input(b, loc, x, 3), k.input(b, loc, h0, 3),
                             k.input(b, loc, c0, 3)};
  for (unsigned i = 0; i < 8; ++i)
    args.push_back(k.input(b, loc, i < weights.size() ? weights[i] : Value(),
                           kRnnBufferRanks[3 + i]));
  SmallVector<Value> buffers;
  for (Type type : resultTypes) {
    buffers.push_back(k.allocate(b, loc, type));
    args.push_back(k.erase(b, loc, buffers.back()));
  }
  if (resultTypes.size() == 2) // GRU: no cell state
    args.push_back(k.input(b, loc, Value(), 3));
  func::CallOp::create(b, loc, kRnnFunction, TypeRange{}, args);
  SmallVector<Value> results;
  for (auto [buffer, type] : llvm::zip(buffers, resultTypes))
    results.push_back(k.asTensor(b, loc, buffer, type));
  return results;
}

/// [B, F] -> [1, B, F] (a state) or [B, 1, F] (a one-step sequence).
Value expandAt(OpBuilder &b, Location loc, Value v, int64_t axis) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape.insert(shape.begin() + axis, 1);
  auto outType = RankedTensorType::get(shape, type.getElementType());
  // Either way the unit dim joins the group of the dim it sits next to.
  return tensor::ExpandShapeOp::create(
      b, loc, outType, v, SmallVector<ReassociationIndices>{{0, 1}, {2}});
}

/// For a cell state h [B, H]: H, the one-step sequence type [B, 1, H] and
/// the oneDNN state type [1, B, H].
std::tuple<int64_t, Type, Type> oneStepTypes(Value h) {
  auto t = cast<RankedTensorType>(h.getType());
  int64_t batch = t.getDimSize(0), hidden = t.getDimSize(1);
  return {hidden,
          RankedTensorType::get({batch, 1, hidden}, t.getElementType()),
          RankedTensorType::get({1, batch, hidden}, t.getElementType())};
}
Value collapseLeading(OpBuilder &b, Location loc, Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  auto outType = RankedTensorType::get(
      {type.getDimSize(0) * type.getDimSize(1), type.getDimSize(2)},
      type.getElementType());
  return tensor::CollapseShapeOp::create(
      b, loc, outType, v, SmallVector<ReassociationIndices>{{0, 1}, {2}});
}

/// Whether `v` is a function argument (a weight) or a contiguous slice of
/// one (leading-axis ranges: rows of a weight matrix, a range of a bias).
/// Such a buffer keeps its address from call to call, so a kernel plan may
/// keep the weights it reordered from it.
bool isStableWeight(Value v) {
  while (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>()) {
    auto from = slice.getSourceType();
    if (!slice.hasUnitStride() || !from.hasStaticShape())
      return false;
    for (int64_t d = 1; d < from.getRank(); ++d)
      if (slice.getStaticOffsets()[d] != 0 ||
          slice.getStaticSizes()[d] != from.getDimSize(d))
        return false;
    v = slice.getSource();
  }
  auto arg = dyn_cast<BlockArgument>(v);
  return arg && arg.getOwner()->isEntryBlock() &&
         isa<func::FuncOp>(arg.getOwner()->getParentOp());
}

/// The kernel's activation code (rt::DenseActivation) for `kind`; 0 for
/// softmax and the activations the kernel lacks (`kernelApplies` false),
/// which run after the call.
int64_t denseActivationCode(attn::ActivationKind kind) {
  switch (kind) {
  case attn::ActivationKind::tanh:
    return 1;
  case attn::ActivationKind::sigmoid:
    return 2;
  case attn::ActivationKind::relu:
    return 3;
  case attn::ActivationKind::exp:
    return 4;
  case attn::ActivationKind::none:
  case attn::ActivationKind::softmax:
    return 0;
  case attn::ActivationKind::sqrt:
  case attn::ActivationKind::rsqrt:
  case attn::ActivationKind::log:
  case attn::ActivationKind::abs:
  case attn::ActivationKind::gelu:
    return 0;
  }
  return 0;
}

/// Whether the kernel applies `kind` itself (else an attn.activate follows).
bool kernelApplies(attn::ActivationKind kind) {
  return kind == attn::ActivationKind::none ||
         denseActivationCode(kind) != 0;
}

/// Whether a dense layer can run on oneDNN: static shapes, an input that is
/// not a constant zero (then the layer is its bias), weights that stay put.
bool denseFitsKernel(attn::DenseOp op) {
  auto in = cast<RankedTensorType>(op.getInput().getType());
  if (!in.hasStaticShape() || in.getRank() < 2 ||
      matchPattern(op.getInput(), m_AnyZeroFloat()))
    return false;
  return isStableWeight(op.getWeight()) &&
         (!op.getBias() || isStableWeight(op.getBias()));
}

/// Emits heed_dense_forward for `op` over its rows; returns the result.
Value emitDenseCall(KernelCallBuilder &k, OpBuilder &b, attn::DenseOp op) {
  Location loc = op.getLoc();
  auto inType = cast<RankedTensorType>(op.getInput().getType());
  RankedTensorType outType = op.getType();
  int64_t rank = inType.getRank(), ins = inType.getDimSize(rank - 1),
          outs = outType.getDimSize(rank - 1);
  int64_t rows = inType.getNumElements() / ins;
  SmallVector<ReassociationIndices> groups(2);
  for (int64_t d = 0; d + 1 < rank; ++d)
    groups[0].push_back(d);
  groups[1].push_back(rank - 1);
  Value x = op.getInput();
  if (rank > 2)
    x = tensor::CollapseShapeOp::create(b, loc, x, groups);
  auto flatOut = RankedTensorType::get({rows, outs}, outType.getElementType());
  Value y = k.allocate(b, loc, flatOut);
  SmallVector<Value> args = {
      k.context(b, loc),
      k.i64(b, loc, k.nextSite()),
      k.i64(b, loc, rows),
      k.i64(b, loc, ins),
      k.i64(b, loc, outs),
      k.i64(b, loc, denseActivationCode(op.getActivation())),
      k.input(b, loc, x, 2),
      k.view(b, loc, op.getWeight(), 2),
      k.view(b, loc, op.getBias(), 1),
      k.erase(b, loc, y)};
  func::CallOp::create(b, loc, kDenseFunction, TypeRange{}, args);
  Value result = k.asTensor(b, loc, y, flatOut);
  if (rank > 2)
    result = tensor::ExpandShapeOp::create(b, loc, outType, result, groups);
  if (!kernelApplies(op.getActivation()))
    result = attn::ActivateOp::create(b, loc, result, op.getActivation());
  return result;
}

struct ConvertAttnToRuntimePass
    : heed::impl::ConvertAttnToRuntimeBase<ConvertAttnToRuntimePass> {
  using ConvertAttnToRuntimeBase::ConvertAttnToRuntimeBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (cells != "auto" && cells != "fused" && cells != "onednn") {
      module.emitError("cells must be auto, fused or onednn, not '") << cells
                                                                    << "'";
      return signalPassFailure();
    }
    auto cellOnOnednn = [&](Operation *op) {
      if (cells != "auto")
        return cells == "onednn";
      int64_t batch = cast<RankedTensorType>(op->getOperand(1).getType()).getDimSize(0);
      return batch > kFusedCellMaxBatch;
    };
    if (dense != "auto" && dense != "generated" && dense != "onednn") {
      module.emitError("dense must be auto, generated or onednn, not '")
          << dense << "'";
      return signalPassFailure();
    }
    auto denseOnOnednn = [&](attn::DenseOp op) {
      if (dense == "generated" || !denseFitsKernel(op))
        return false;
      if (dense == "onednn")
        return true;
      auto in = cast<RankedTensorType>(op.getInput().getType());
      int64_t ins = in.getShape().back();
      return onednnDenseIsFaster(in.getNumElements() / ins, ins,
                                 op.getType().getShape().back());
    };
    KernelCallBuilder k(module);
    SmallVector<Operation *> ops;
    module.walk([&](Operation *op) {
      auto conv = dyn_cast<attn::Conv1DOp>(op);
      if (conv && cast<RankedTensorType>(conv.getInput().getType()).getDimSize(2) <=
                      kGeneratedConvMaxChannels)
        return; // generated by convert-attn-to-linalg
      if (isa<attn::LstmOp, attn::GruOp, attn::Conv1DOp>(op) ||
          (isa<attn::LstmCellOp, attn::GruCellOp>(op) && cellOnOnednn(op)))
        ops.push_back(op);
      if (auto d = dyn_cast<attn::DenseOp>(op); d && denseOnOnednn(d))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      auto lstm = dyn_cast<attn::LstmOp>(op);
      auto gru = dyn_cast<attn::GruOp>(op);
      if ((lstm && lstm.getLengths()) || (gru && gru.getLengths())) {
        op->emitError("a recurrent layer with lengths has no oneDNN "
                      "primitive; run attn-expand-packed-recurrence first");
        return signalPassFailure();
      }
      for (Type t : op->getResultTypes())
        if (!cast<RankedTensorType>(t).hasStaticShape()) {
          op->emitError("convert-attn-to-runtime needs static shapes");
          return signalPassFailure();
        }
      OpBuilder b(op);
      Location loc = op->getLoc();
      SmallVector<Value> results;
      if (auto lstm = dyn_cast<attn::LstmOp>(op)) {
        k.declare(kRnnFunction, kRnnScalars, kRnnBufferRanks);
        results = emitRnnCall(k, b, loc, kLstm, int64_t(lstm.getDirection()),
                              lstm.getHiddenSize(), lstm.getInput(),
                              lstm.getH0(), lstm.getC0(), lstm.getWeights(),
                              SmallVector<Type>(op->getResultTypes()));
      } else if (auto gru = dyn_cast<attn::GruOp>(op)) {
        k.declare(kRnnFunction, kRnnScalars, kRnnBufferRanks);
        results = emitRnnCall(
            k, b, loc, gru.getLinearBeforeReset() ? kLinearBeforeResetGru : kGru,
            int64_t(gru.getDirection()), gru.getHiddenSize(), gru.getInput(),
            gru.getH0(), Value(), gru.getWeights(),
            SmallVector<Type>(op->getResultTypes()));
      } else if (auto cell = dyn_cast<attn::LstmCellOp>(op)) {
        // A one-step sequence: x [B, 1, I], states [1, B, H].
        k.declare(kRnnFunction, kRnnScalars, kRnnBufferRanks);
        auto [hidden, seq, state] = oneStepTypes(cell.getH());
        auto r = emitRnnCall(
            k, b, loc, kLstm, 0, hidden,
            expandAt(b, loc, cell.getInput(), 1), expandAt(b, loc, cell.getH(), 0),
            expandAt(b, loc, cell.getC(), 0),
            ValueRange{cell.getWeightIh(), cell.getWeightHh(), cell.getBiasIh(),
                       cell.getBiasHh()},
            {seq, state, state});
        results = {collapseLeading(b, loc, r[1]), collapseLeading(b, loc, r[2])};
      } else if (auto cell = dyn_cast<attn::GruCellOp>(op)) {
        k.declare(kRnnFunction, kRnnScalars, kRnnBufferRanks);
        auto [hidden, seq, state] = oneStepTypes(cell.getH());
        auto r = emitRnnCall(
            k, b, loc, kLinearBeforeResetGru, 0, hidden,
            expandAt(b, loc, cell.getInput(), 1), expandAt(b, loc, cell.getH(), 0),
            Value(),
            ValueRange{cell.getWeightIh(), cell.getWeightHh(), cell.getBiasIh(),
                       cell.getBiasHh()},
            {seq, state});
        results = {collapseLeading(b, loc, r[1])};
      } else if (auto denseOp = dyn_cast<attn::DenseOp>(op)) {
        k.declare(kDenseFunction, kDenseScalars, kDenseBufferRanks,
                  kDenseBufferViews);
        results = {emitDenseCall(k, b, denseOp)};
      } else if (auto conv = dyn_cast<attn::Conv1DOp>(op)) {
        k.declare(kConvFunction, kConvScalars, kConvBufferRanks);
        auto xType = cast<RankedTensorType>(conv.getInput().getType());
        auto wType = cast<RankedTensorType>(conv.getWeight().getType());
        auto yType = conv.getType();
        Value y = k.allocate(b, loc, yType);
        SmallVector<Value> args = {
            k.context(b, loc),
            k.i64(b, loc, k.nextSite()),
            k.i64(b, loc, xType.getDimSize(0)),
            k.i64(b, loc, xType.getDimSize(1)),
            k.i64(b, loc, xType.getDimSize(2)),
            k.i64(b, loc, wType.getDimSize(0)),
            k.i64(b, loc, wType.getDimSize(2)),
            k.i64(b, loc, conv.getStride()),
            k.i64(b, loc, conv.getPadLeft()),
            k.i64(b, loc, conv.getPadRight()),
            k.i64(b, loc, yType.getDimSize(1)),
            k.input(b, loc, conv.getInput(), 3),
            k.input(b, loc, conv.getWeight(), 3),
            k.input(b, loc, conv.getBias(), 1),
            k.erase(b, loc, y)};
        func::CallOp::create(b, loc, kConvFunction, TypeRange{}, args);
        results = {k.asTensor(b, loc, y, yType)};
      }
      op->replaceAllUsesWith(results);
      op->erase();
    }
  }
};

} // namespace
