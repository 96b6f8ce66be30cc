//===- RowAttention.cpp - Attention as one block per (row, query) ---------===//
//
// Part of Heed. See Passes.td (heed-lower-attention-rows-to-gpu,
// heed-build-attention-row-kernels). Like the flash kernels: on tensors,
// each attention op becomes a call of a declared kernel (and its score
// region a function of one step, ScoreFunction.h); on buffers, after
// bufferization, each declaration gets its body, the score function
// inlined into it (RowKernel.h).
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToGPU/RowKernel.h"
#include "compiler/Conversion/AttentionToGPU/ScoreFunction.h"
#include "compiler/Passes.h"
#include "compiler/Transforms/DotScore.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/Support/MathExtras.h"

namespace heed {
#define GEN_PASS_DEF_LOWERATTENTIONROWSTOGPU
#define GEN_PASS_DEF_BUILDATTENTIONROWKERNELS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// The attribute that marks a kernel's declaration: {score (the score
/// function) or, for a split score (SplitScore), term and finish (its
/// functions), terms, lanes (threads per step) and `maximum` (terms combine
/// by maximum); normalization (attn::Normalization as an integer); for hard
/// attention `hard`, for local_p `local_p` (its window D) and `position`
/// (the argument holding the positions p)}.
constexpr StringLiteral kRowsAttr = "heed.attention_rows";
/// Dot-product attention over at least this many queries per row stays
/// decomposed when the flash kernel does not take it (its weights are
/// used): batched tiled products reuse each key and value tile across
/// queries, a block per query reads them all again.
constexpr int64_t kMaxDotQueries = 16;
/// A score that ends in a reduction (SplitScore) shares each step's terms
/// among up to this many threads (a power of two, at most the terms), each
/// lane getting at least kMinLaneCost operations; their partial sums,
/// kMaxPartials at most, wait in shared memory for the thread that
/// finishes the step. A thread per step alone would run the whole
/// reduction (1024 terms a step for the seed-size NMT: 73 µs a decoder
/// step at batch 1 on an H200), and threads of neighbouring steps would
/// read the keys a row apart.
constexpr int64_t kMaxLanes = 32;
constexpr int64_t kMinLaneCost = 16;
constexpr int64_t kMaxPartials = 8192;
/// Blocks along x (batch rows) and y (queries): CUDA's limits.
constexpr int64_t kMaxGridX = 2147483647;
constexpr int64_t kMaxGridY = 65535;

bool isStatic(Value v, int64_t rank) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.hasStaticShape() && type.getRank() == rank;
}

/// Whether the kernel takes `op` (the score region is checked apart).
bool applies(attn::AttentionOp op) {
  bool sequence = op.hasQuerySequence();
  if (!isStatic(op.getQuery(), sequence ? 3 : 2) ||
      !isStatic(op.getValues(), 3) ||
      !isStatic(op.getContextVector(), sequence ? 3 : 2) ||
      !isStatic(op.getWeights(), sequence ? 3 : 2))
    return false;
  for (Value keys : op.getKeys())
    if (!isStatic(keys, 3))
      return false;
  auto q = cast<RankedTensorType>(op.getQuery().getType()).getShape();
  if (sequence && q[1] >= kMaxDotQueries && dotProductScoreScale(op))
    return false;
  return q[0] > 0 && q[0] <= kMaxGridX && (!sequence || q[1] <= kMaxGridY);
}

struct LowerAttentionRowsToGPUPass
    : heed::impl::LowerAttentionRowsToGPUBase<LowerAttentionRowsToGPUPass> {
  void runOnOperation() override {
    SmallVector<attn::AttentionOp> ops;
    getOperation().walk([&](attn::AttentionOp op) { ops.push_back(op); });
    int64_t number = 0;
    for (attn::AttentionOp op : ops) {
      if (!applies(op))
        continue;
      if (std::optional<SmallVector<Value>> captures =
              scoreFunctionCaptures(op))
        lower(op, *captures, number++);
    }
  }

  /// Threads per step for a score of `terms` terms costing `cost` over
  /// `steps` steps; below 2 the score is not split (nor over no steps: no
  /// empty shared array).
  static int64_t lanesFor(int64_t steps, int64_t terms, int64_t cost) {
    if (steps < 1)
      return 0;
    int64_t lanes =
        std::min({kMaxLanes, terms, cost / kMinLaneCost, kMaxPartials / steps});
    return lanes < 1 ? 0 : int64_t(llvm::bit_floor(uint64_t(lanes)));
  }

  std::string freshName(StringRef stem, int64_t number) {
    std::string name = (stem + std::to_string(number)).str();
    while (getOperation().lookupSymbol(name))
      name += "_";
    return name;
  }

  /// `op` as a call of a new kernel declaration: the values and the score
  /// function's tensors read through to_buffer, the context and weights
  /// fresh buffers.
  void lower(attn::AttentionOp op, ArrayRef<Value> captures, int64_t number) {
    ModuleOp module = getOperation();
    Location loc = op.getLoc();
    int64_t steps =
        cast<RankedTensorType>(op.getValues().getType()).getDimSize(1);
    std::optional<ScoreTerms> terms = splitScoreTerms(op);
    int64_t lanes = terms ? lanesFor(steps, terms->terms, terms->cost) : 0;
    std::string scoreName = freshName("heed_attention_score_", number);
    func::FuncOp score;
    SplitScore split;
    if (lanes >= 2)
      split = buildSplitScoreFunctions(module, op, captures, scoreName);
    else
      score = buildScoreFunction(module, op, captures, scoreName);
    OpBuilder b(op);
    auto bufferType = [](Value tensor) {
      auto t = cast<RankedTensorType>(tensor.getType());
      return MemRefType::get(t.getShape(), t.getElementType());
    };
    SmallVector<Value> args;
    SmallVector<Value> inputs = {op.getValues()};
    llvm::append_range(inputs, scoreFunctionOperands(op, captures));
    for (Value tensor : inputs)
      args.push_back(bufferization::ToBufferOp::create(
          b, loc, bufferType(tensor), tensor, /*read_only=*/true));
    SmallVector<Value> results = {op.getContextVector(), op.getWeights()};
    SmallVector<Value> outs;
    for (Value result : results)
      outs.push_back(memref::AllocOp::create(b, loc, bufferType(result),
                                             b.getI64IntegerAttr(64)));
    llvm::append_range(args, outs);

    OpBuilder mb = OpBuilder::atBlockEnd(module.getBody());
    auto fn = func::FuncOp::create(
        mb, loc, freshName("heed_attention_rows_", number),
        mb.getFunctionType(ValueRange(args).getTypes(), TypeRange{}));
    fn.setPrivate();
    SmallVector<NamedAttribute> attrs = {mb.getNamedAttr(
        "normalization",
        mb.getI64IntegerAttr(static_cast<int64_t>(op.getNormalization())))};
    if (score) {
      attrs.push_back(mb.getNamedAttr("score", FlatSymbolRefAttr::get(score)));
    } else {
      attrs.push_back(
          mb.getNamedAttr("term", FlatSymbolRefAttr::get(split.term)));
      attrs.push_back(
          mb.getNamedAttr("finish", FlatSymbolRefAttr::get(split.finish)));
      attrs.push_back(
          mb.getNamedAttr("terms", mb.getI64IntegerAttr(split.terms)));
      attrs.push_back(mb.getNamedAttr("lanes", mb.getI64IntegerAttr(lanes)));
      if (split.maximum)
        attrs.push_back(mb.getNamedAttr("maximum", mb.getUnitAttr()));
    }
    if (op.getHard())
      attrs.push_back(mb.getNamedAttr("hard", mb.getUnitAttr()));
    if (op.getConstraint() == attn::Constraint::local_p) {
      // (values, query, keys..., [lengths], previous, ...)
      int64_t position = 2 + op.getKeys().size() + (op.getLengths() ? 1 : 0);
      attrs.push_back(
          mb.getNamedAttr("local_p", mb.getI64IntegerAttr(op.getWindow())));
      attrs.push_back(
          mb.getNamedAttr("position", mb.getI64IntegerAttr(position)));
    }
    fn->setAttr(kRowsAttr, mb.getDictionaryAttr(attrs));
    func::CallOp::create(b, loc, fn, args);
    for (auto [result, out] : llvm::zip(results, outs))
      result.replaceAllUsesWith(bufferization::ToTensorOp::create(
          b, loc, result.getType(), out, /*restrict=*/true,
          /*writable=*/true));
    op.erase();
  }
};

struct BuildAttentionRowKernelsPass
    : heed::impl::BuildAttentionRowKernelsBase<BuildAttentionRowKernelsPass> {
  using BuildAttentionRowKernelsBase::BuildAttentionRowKernelsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    llvm::SetVector<func::FuncOp> scores;
    for (auto fn : module.getOps<func::FuncOp>()) {
      auto attr = fn->getAttrOfType<DictionaryAttr>(kRowsAttr);
      if (!attr || !fn.isDeclaration())
        continue;
      auto function = [&](StringRef key) {
        auto name = attr.getAs<FlatSymbolRefAttr>(key);
        return name ? module.lookupSymbol<func::FuncOp>(name) : func::FuncOp();
      };
      auto integer = [&](StringRef key) -> int64_t {
        auto value = attr.getAs<IntegerAttr>(key);
        return value ? value.getInt() : 0;
      };
      RowScore score;
      score.score = function("score");
      score.term = function("term");
      score.finish = function("finish");
      score.terms = integer("terms");
      score.lanes = integer("lanes");
      score.maximum = attr.contains("maximum");
      auto norm = attr.getAs<IntegerAttr>("normalization");
      std::optional<attn::Normalization> normalization =
          norm ? attn::symbolizeNormalization(norm.getInt()) : std::nullopt;
      if (!(score.score || (score.term && score.finish)) || !normalization) {
        fn.emitError("attention-rows kernel without a score function or "
                     "normalization: ")
            << attr;
        return signalPassFailure();
      }
      RowKernelOptions options;
      options.normalization = *normalization;
      options.hard = attr.contains("hard");
      options.multiprocessors = multiprocessors;
      if (auto window = attr.getAs<IntegerAttr>("local_p")) {
        auto position = attr.getAs<IntegerAttr>("position");
        options.gaussianWindow = window.getInt();
        options.positionArg = position ? position.getInt() : -1;
        if (options.gaussianWindow <= 0) {
          fn.emitError("attention-rows kernel's local_p window is not "
                       "positive: ")
              << attr;
          return signalPassFailure();
        }
      }
      if (failed(buildRowKernel(fn, score, options)))
        return signalPassFailure();
      fn->removeAttr(kRowsAttr);
      for (func::FuncOp f : {score.score, score.term, score.finish})
        if (f)
          scores.insert(f);
    }
    for (func::FuncOp score : scores)
      score.erase();
  }
};

} // namespace
