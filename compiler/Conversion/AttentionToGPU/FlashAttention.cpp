//===- FlashAttention.cpp - Dot-product attention as one kernel per op ----===//
//
// Part of Heed. See Passes.td (heed-lower-dot-attention-to-gpu,
// heed-build-flash-attention-kernels). The first pass runs on tensors: each
// attention op it takes becomes a call of a declared function, which
// bufferization and its deallocation treat like a runtime kernel. The
// second, on buffers, gives each such function its kernel.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToGPU/FlashKernel.h"
#include "compiler/Conversion/LoopsToGPU/WarpMma.h"
#include "compiler/Passes.h"
#include "compiler/Transforms/DotScore.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace heed {
#define GEN_PASS_DEF_LOWERDOTATTENTIONTOGPU
#define GEN_PASS_DEF_BUILDFLASHATTENTIONKERNELS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// The attribute that marks a kernel's declaration: {scale, causal,
/// lengths}. The sizes are its argument types.
constexpr StringLiteral kFlashAttr = "heed.flash_attention";

std::optional<FlashShape> shapeOf(attn::AttentionOp op) {
  std::optional<float> scale = matchOnlineSoftmaxDotAttention(op);
  if (!scale)
    return std::nullopt;
  ArrayRef<int64_t> q =
      cast<RankedTensorType>(op.getQuery().getType()).getShape();
  ArrayRef<int64_t> k =
      cast<RankedTensorType>(op.getMemoryKeys().getType()).getShape();
  ArrayRef<int64_t> v =
      cast<RankedTensorType>(op.getValues().getType()).getShape();
  return FlashShape::choose(q[0], q[1], q[2], k[1], v[2], *scale,
                            op.getCausal(), static_cast<bool>(op.getLengths()));
}

/// `tensor` rounded to `element`: an element-wise op (the rounding the
/// kernel would do as it staged it).
Value rounded(OpBuilder &b, Location loc, Value tensor, Type element) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Value init =
      tensor::EmptyOp::create(b, loc, type.getShape(), element).getResult();
  AffineMap identity = b.getMultiDimIdentityMap(type.getRank());
  SmallVector<utils::IteratorType> parallel(type.getRank(),
                                            utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b, loc, init.getType(), tensor, init,
             ArrayRef<AffineMap>{identity, identity}, parallel,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   nb, l,
                   Value(arith::TruncFOp::create(nb, l, element, args[0])));
             })
      .getResult(0);
}

struct LowerDotAttentionToGPUPass
    : heed::impl::LowerDotAttentionToGPUBase<LowerDotAttentionToGPUPass> {
  using LowerDotAttentionToGPUBase::LowerDotAttentionToGPUBase;

  void runOnOperation() override {
    FailureOr<Type> parsed = parsePrecision(
        getOperation(), "heed-lower-dot-attention-to-gpu", precision);
    if (failed(parsed))
      return signalPassFailure();
    element = *parsed;
    SmallVector<attn::AttentionOp> ops;
    getOperation().walk([&](attn::AttentionOp op) { ops.push_back(op); });
    int64_t number = 0;
    for (attn::AttentionOp op : ops)
      if (std::optional<FlashShape> shape = shapeOf(op))
        lower(op, *shape, number++);
  }

  /// `op` as a call of a new kernel declaration: its operands read through
  /// to_buffer, its context a fresh buffer.
  void lower(attn::AttentionOp op, const FlashShape &s, int64_t number) {
    ModuleOp module = getOperation();
    Location loc = op.getLoc();
    OpBuilder b(op);
    auto bufferType = [](Value tensor) {
      auto t = cast<RankedTensorType>(tensor.getType());
      return MemRefType::get(t.getShape(), t.getElementType());
    };
    // Heads split from a [B, T, H·D] projection are read from it in place
    // (the split, a copy, is left dead), and a context whose one use merges
    // the heads back is written merged.
    SmallVector<Value> operands = {op.getQuery(), op.getMemoryKeys(),
                                   op.getValues()};
    SmallVector<int64_t> heads(4, 0);
    for (auto [i, operand] : llvm::enumerate(operands))
      if (HeadView view = headsOf(operand); view.source) {
        operand = view.source;
        heads[i] = view.heads;
      }
    // Keys and values the tensor-core kernel copies by cp.async, rounded
    // (each tensor once: keys and values may be heads of one projection).
    if (roundsKeysBeforeKernel(s, element, asyncCopy)) {
      llvm::SmallDenseMap<Value, Value> done;
      for (Value &operand : MutableArrayRef<Value>(operands).slice(1, 2)) {
        Value &r = done[operand];
        if (!r)
          r = rounded(b, loc, operand, element);
        operand = r;
      }
    }
    if (s.lengths)
      operands.push_back(op.getLengths());
    SmallVector<Value> args;
    for (Value tensor : operands)
      args.push_back(bufferization::ToBufferOp::create(
          b, loc, bufferType(tensor), tensor, /*read_only=*/true));
    Value context = op.getContextVector();
    tensor::CollapseShapeOp merged = headsMergedFrom(context);
    if (merged) {
      heads[3] = mergedHeads(merged).heads;
      context = merged.getResult();
    }
    Value out = memref::AllocOp::create(b, loc, bufferType(context),
                                        b.getI64IntegerAttr(64));
    args.push_back(out);

    OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
    std::string name = "heed_flash_attention_" + std::to_string(number);
    while (module.lookupSymbol(name))
      name += "_";
    auto fn = func::FuncOp::create(
        mb, loc, name,
        mb.getFunctionType(ValueRange(args).getTypes(), TypeRange{}));
    fn.setPrivate();
    fn->setAttr(
        kFlashAttr,
        mb.getDictionaryAttr(
            {mb.getNamedAttr("scale", mb.getF32FloatAttr(s.scale)),
             mb.getNamedAttr("causal", mb.getBoolAttr(s.causal)),
             mb.getNamedAttr("heads", mb.getDenseI64ArrayAttr(heads))}));

    func::CallOp::create(b, loc, fn, args);
    Value result = bufferization::ToTensorOp::create(
        b, loc, context.getType(), out, /*restrict=*/true, /*writable=*/true);
    context.replaceAllUsesWith(result);
    if (merged) {
      // The merge's expand and permute, now unused, go before the op.
      Operation *permute = merged.getSrc().getDefiningOp();
      Operation *expand = permute->getOperand(0).getDefiningOp();
      merged.erase();
      permute->erase();
      expand->erase();
    }
    op.erase();
  }

  /// The tensor-core kernels' multiplicands (null for f32).
  Type element;
};

/// The FlashShape a declaration's arguments and attribute describe.
std::optional<FlashShape> shapeOf(func::FuncOp fn, DictionaryAttr attr) {
  auto scale = attr.getAs<FloatAttr>("scale");
  auto causal = attr.getAs<BoolAttr>("causal");
  auto heads = attr.getAs<DenseI64ArrayAttr>("heads");
  unsigned n = fn.getNumArguments();
  if (!scale || !causal || !heads || heads.size() != 4 || (n != 4 && n != 5))
    return std::nullopt;
  // Each buffer's shape as [B·H, T, depth] (a head view [B, T, H·depth]
  // unfolded).
  SmallVector<SmallVector<int64_t>> shapes;
  for (auto [i, t] : llvm::enumerate(fn.getArgumentTypes())) {
    auto m = dyn_cast<MemRefType>(t);
    // Keys and values may come rounded to bf16 or f16 (for the tensor-core
    // kernel's asynchronous copies), both alike.
    Type e = m ? m.getElementType() : Type();
    bool rounded =
        (i == 1 || i == 2) && e &&
        e == cast<MemRefType>(fn.getArgumentTypes()[1]).getElementType() &&
        (e.isBF16() || e.isF16());
    if (!m || !m.hasStaticShape() || !(e.isF32() || rounded))
      return std::nullopt;
    SmallVector<int64_t> shape(m.getShape());
    int64_t h = i < 3 ? heads[i] : i + 1 == n ? heads[3] : 0;
    if (h < 0 || (h > 0 && (shape.size() != 3 || shape[2] % h)))
      return std::nullopt;
    if (h > 0)
      shape = {shape[0] * h, shape[1], shape[2] / h};
    shapes.push_back(shape);
  }
  ArrayRef<int64_t> q = shapes[0], k = shapes[1], v = shapes[2],
                    out = shapes.back();
  if (q.size() != 3 || k.size() != 3 || v.size() != 3 || out.size() != 3 ||
      k[0] != q[0] || k[2] != q[2] || v[0] != q[0] || v[1] != k[1] ||
      out != ArrayRef<int64_t>{q[0], q[1], v[2]} ||
      (n == 5 && shapes[3] != ArrayRef<int64_t>{q[0]}))
    return std::nullopt;
  std::optional<FlashShape> shape =
      FlashShape::choose(q[0], q[1], q[2], k[1], v[2], scale.getValueAsDouble(),
                         causal.getValue(), n == 5);
  if (shape)
    llvm::copy(heads.asArrayRef(), shape->heads.begin());
  return shape;
}

struct BuildFlashAttentionKernelsPass
    : heed::impl::BuildFlashAttentionKernelsBase<
          BuildFlashAttentionKernelsPass> {
  using BuildFlashAttentionKernelsBase::BuildFlashAttentionKernelsBase;

  void runOnOperation() override {
    FailureOr<Type> parsed =
        parsePrecision(getOperation(), "heed-build-flash-attention-kernels", precision);
    if (failed(parsed))
      return signalPassFailure();
    Type element = *parsed;
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      auto attr = fn->getAttrOfType<DictionaryAttr>(kFlashAttr);
      if (!attr || !fn.isDeclaration())
        continue;
      std::optional<FlashShape> shape = shapeOf(fn, attr);
      if (!shape) {
        fn.emitError("not a flash attention kernel's signature: ")
            << fn.getFunctionType();
        return signalPassFailure();
      }
      // Rounded keys and values have only the tensor-core kernel of their
      // type.
      Type keys = cast<MemRefType>(fn.getArgumentTypes()[1]).getElementType();
      if (!keys.isF32() &&
          (keys != element || !takesTensorCores(*shape, element))) {
        std::string name;
        llvm::raw_string_ostream(name) << keys;
        fn.emitError("keys and values rounded to ")
            << name << " need the tensor-core kernel with precision=" << name;
        return signalPassFailure();
      }
      if (!element ||
          !buildFlashAttentionMmaBody(fn, *shape, onHost, element, prefetch,
                                      asyncCopy, multiprocessors))
        buildFlashAttentionBody(fn, *shape, onHost);
      fn->removeAttr(kFlashAttr);
    }
  }
};

} // namespace
