//===- RowAttention.cpp - Attention as one block per (row, query) ---------===//
//
// Part of Heed. See Passes.td (heed-lower-attention-rows-to-gpu,
// heed-build-attention-row-kernels). Like the flash kernels: on tensors,
// each attention op becomes a call of a declared kernel (and its score
// region a function of one step, ScoreFunction.h); on buffers, after
// bufferization, each declaration gets its body, the score function
// inlined into it.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToGPU/ScoreFunction.h"
#include "compiler/Conversion/AttnToLinalg/AttnToLinalg.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Passes.h"
#include "compiler/Transforms/AttentionMasks.h"
#include "compiler/Transforms/DotScore.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/MathExtras.h"

#include <cfloat>
#include <cmath>

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
/// Threads of a block: a power of two between a warp and this.
constexpr int64_t kMaxThreads = 256;
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
/// Threads of a block whose steps' terms are shared.
constexpr int64_t kMaxSplitThreads = 512;
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

/// What a declaration's attribute asks of its kernel besides the score.
struct RowKernelOptions {
  attn::Normalization normalization = attn::Normalization::softmax;
  /// Hard attention: the context is the value at the weights' first maximum.
  bool hard = false;
  /// local_p: the window D (weights times exp(−(t − p)² / (2 (D/2)²))), and
  /// the argument with the positions p ([B]); 0 and -1 otherwise.
  int64_t gaussianWindow = 0, positionArg = -1;
};

/// The score of a declaration: one function of a step, or the terms of a
/// step shared by `lanes` threads and their total finished.
struct RowScore {
  func::FuncOp score;
  func::FuncOp term, finish;
  int64_t terms = 0, lanes = 0;
  bool maximum = false;
  bool split() const { return bool(term); }
};

/// Builds one declaration's body.
class RowKernel {
public:
  RowKernel(func::FuncOp fn, RowScore score, RowKernelOptions options)
      : fn(fn), score(score), options(options), loc(fn.getLoc()) {}

  /// Fails (with a diagnostic) on a signature that does not match.
  LogicalResult build();

private:
  Value c(OpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value cF32(OpBuilder &b, float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  /// The weights' indices of step `t` for the block's (row, query).
  SmallVector<Value> weightAt(const BlockPlace &place, Value t) {
    if (sequence)
      return {place.block[0], place.block[1], t};
    return {place.block[0], t};
  }
  /// `body(t, acc)` for the thread's share of [0, count) (t = thread, thread
  /// + threads, ...), folding one f32 from `init`; returns the fold.
  Value forOwn(OpBuilder &b, const BlockPlace &place, int64_t count, float init,
               function_ref<Value(OpBuilder &, Value, Value)> body) {
    auto loop = scf::ForOp::create(
        b, loc, place.thread, c(b, count), c(b, threads),
        ValueRange{cF32(b, init)},
        [&](OpBuilder &b, Location, Value t, ValueRange acc) {
          scf::YieldOp::create(b, loc, body(b, t, acc[0]));
        });
    return loop.getResult(0);
  }
  /// The masked energy of step `t` (the score function inlined; a split
  /// score's finish of the step's partial sums).
  Value energy(OpBuilder &b, const BlockPlace &place, Value t);
  /// `f` inlined at the builder with `leading` for its first arguments and
  /// the kernel's for the rest.
  Value inlineScore(OpBuilder &b, func::FuncOp f, ArrayRef<Value> leading);
  /// Whether `f` takes `leading` and then the kernel's score tensors, and
  /// returns an f32.
  bool takesScoreTensors(func::FuncOp f, ArrayRef<Type> leading);
  /// A split score's terms: thread i of the block's share (i = thread,
  /// thread + threads, ... below steps · lanes) sums the terms k ≡ lane (mod
  /// lanes) of step i / lanes, lane = i % lanes, into partials[i].
  void emitPartialSums(OpBuilder &b, const BlockPlace &place, Value partials);
  Value combineTerms(OpBuilder &b, Value x, Value y) {
    if (score.maximum)
      return arith::MaximumFOp::create(b, loc, x, y, fastMath(b));
    return arith::AddFOp::create(b, loc, x, y, fastMath(b));
  }
  /// local_p's exp((t − p)² · (−2 / D²)) for step `t` (an index).
  Value gaussian(OpBuilder &b, Value t, Value position) {
    Value ti = arith::IndexCastOp::create(b, loc, b.getI64Type(), t);
    Value tf = arith::SIToFPOp::create(b, loc, b.getF32Type(), ti);
    Value offset = arith::SubFOp::create(b, loc, tf, position, fastMath(b));
    Value square = arith::MulFOp::create(b, loc, offset, offset, fastMath(b));
    double window = double(options.gaussianWindow);
    Value scaled = arith::MulFOp::create(
        b, loc, square, cF32(b, float(-2.0 / (window * window))), fastMath(b));
    return math::ExpOp::create(b, loc, scaled, fastMath(b));
  }
  /// Hard attention's context column `d`: the value at the first step with
  /// the largest weight, or zero when no weight is above zero.
  Value hardContext(OpBuilder &b, const BlockPlace &place, Value d) {
    auto [attended, at] =
        hardAttentionStep(b, loc, steps, [&](OpBuilder &b, Value t) -> Value {
          return memref::LoadOp::create(b, loc, weights, weightAt(place, t));
        });
    Value v = memref::LoadOp::create(b, loc, values,
                                     ValueRange{place.block[0], at, d});
    return arith::SelectOp::create(b, loc, attended, v, cF32(b, 0.0f));
  }

  func::FuncOp fn;
  RowScore score;
  RowKernelOptions options;
  Location loc;
  bool sequence = false;
  int64_t steps = 0, valueDepth = 0, threads = 0;
  Value values, context, weights;
};

Value RowKernel::inlineScore(OpBuilder &b, func::FuncOp f,
                             ArrayRef<Value> leading) {
  IRMapping map;
  Block &body = f.getBody().front();
  for (auto [i, value] : llvm::enumerate(leading))
    map.map(body.getArgument(i), value);
  // The kernel's arguments: (values, score tensors..., context, weights).
  for (unsigned i = leading.size(); i < body.getNumArguments(); ++i)
    map.map(body.getArgument(i), fn.getArgument(i - leading.size() + 1));
  for (Operation &inner : body.without_terminator())
    b.clone(inner, map);
  return map.lookup(body.getTerminator()->getOperand(0));
}

Value RowKernel::energy(OpBuilder &b, const BlockPlace &place, Value t) {
  Value query = sequence ? place.block[1] : c(b, 0);
  if (!score.split())
    return inlineScore(b, score.score, {place.block[0], query, t});
  // The step's partial sums, in lane order.
  Value first = arith::MulIOp::create(b, loc, t, c(b, score.lanes));
  auto total = scf::ForOp::create(
      b, loc, c(b, 0), c(b, score.lanes), c(b, 1),
      ValueRange{cF32(b, score.maximum ? -INFINITY : 0.0f)},
      [&](OpBuilder &b, Location, Value lane, ValueRange acc) {
        Value x = memref::LoadOp::create(
            b, loc, place.shared[2],
            ValueRange{arith::AddIOp::create(b, loc, first, lane)});
        scf::YieldOp::create(b, loc, combineTerms(b, acc[0], x));
      });
  return inlineScore(b, score.finish,
                     {place.block[0], query, t, total.getResult(0)});
}

void RowKernel::emitPartialSums(OpBuilder &b, const BlockPlace &place,
                                Value partials) {
  int64_t lanes = score.lanes, terms = score.terms;
  int64_t trips = llvm::divideCeil(terms, lanes);
  // Independent terms in flight per thread (their loads before the adds).
  int64_t unroll = trips % 4 == 0 ? 4 : trips % 2 == 0 ? 2 : 1;
  Value query = sequence ? place.block[1] : c(b, 0);
  float identity = score.maximum ? -INFINITY : 0.0f;
  forOwn(b, place, steps * lanes, 0.0f, [&](OpBuilder &b, Value i, Value acc) {
    Value t = arith::DivUIOp::create(b, loc, i, c(b, lanes));
    Value lane = arith::RemUIOp::create(b, loc, i, c(b, lanes));
    auto loop = scf::ForOp::create(
        b, loc, c(b, 0), c(b, trips), c(b, unroll),
        ValueRange{cF32(b, identity)},
        [&](OpBuilder &b, Location, Value j0, ValueRange sum) {
          SmallVector<Value> xs;
          for (int64_t u = 0; u < unroll; ++u) {
            // k = lane + (j0 + u) lanes; past the terms (their count not a
            // multiple of lanes) the last one is read and not counted.
            Value j = arith::AddIOp::create(b, loc, j0, c(b, u));
            Value k = arith::AddIOp::create(
                b, loc, lane, arith::MulIOp::create(b, loc, j, c(b, lanes)));
            Value inside;
            if (terms % lanes != 0) {
              inside = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                             k, c(b, terms));
              k = arith::MinUIOp::create(b, loc, k, c(b, terms - 1));
            }
            Value x = inlineScore(b, score.term, {place.block[0], query, t, k});
            if (inside)
              x = arith::SelectOp::create(b, loc, inside, x, cF32(b, identity));
            xs.push_back(x);
          }
          Value next = sum[0];
          for (Value x : xs)
            next = combineTerms(b, next, x);
          scf::YieldOp::create(b, loc, next);
        });
    memref::StoreOp::create(b, loc, loop.getResult(0), partials, i);
    return acc;
  });
}

bool RowKernel::takesScoreTensors(func::FuncOp f, ArrayRef<Type> leading) {
  FunctionType type = f.getFunctionType();
  unsigned n = fn.getNumArguments();
  return !f.isDeclaration() && type.getNumInputs() == n - 3 + leading.size() &&
         type.getNumResults() == 1 && type.getResult(0).isF32() &&
         type.getInputs().take_front(leading.size()) == leading &&
         type.getInputs().drop_front(leading.size()) ==
             fn.getArgumentTypes().drop_front().drop_back(2);
}

LogicalResult RowKernel::build() {
  // (values, score tensors..., context, weights)
  unsigned n = fn.getNumArguments();
  Type index = IndexType::get(fn.getContext());
  Type f32 = Float32Type::get(fn.getContext());
  if (n < 4)
    return fn.emitError("not an attention-rows kernel's buffers: ")
           << fn.getFunctionType();
  if (!score.split() && !takesScoreTensors(score.score, {index, index, index}))
    return fn.emitError("not an attention-rows kernel for its score ")
           << score.score.getFunctionType() << ": " << fn.getFunctionType();
  if (score.split() &&
      (!takesScoreTensors(score.term, {index, index, index, index}) ||
       !takesScoreTensors(score.finish, {index, index, index, f32}) ||
       score.terms < 1 || score.lanes < 1 || !llvm::isPowerOf2_64(score.lanes)))
    return fn.emitError("not an attention-rows kernel for its split score ")
           << score.term.getFunctionType() << ", "
           << score.finish.getFunctionType() << " (" << score.terms
           << " terms, " << score.lanes << " lanes): " << fn.getFunctionType();
  auto vType = dyn_cast<MemRefType>(fn.getArgumentTypes()[0]);
  auto cType = dyn_cast<MemRefType>(fn.getArgumentTypes()[n - 2]);
  auto wType = dyn_cast<MemRefType>(fn.getArgumentTypes()[n - 1]);
  if (!vType || !cType || !wType || vType.getRank() != 3 ||
      !vType.hasStaticShape() || !cType.hasStaticShape() ||
      !wType.hasStaticShape() || cType.getRank() != wType.getRank() ||
      (cType.getRank() != 2 && cType.getRank() != 3))
    return fn.emitError("not an attention-rows kernel's buffers: ")
           << fn.getFunctionType();
  sequence = cType.getRank() == 3;
  int64_t batch = vType.getDimSize(0),
          queries = sequence ? cType.getDimSize(1) : 1;
  steps = vType.getDimSize(1);
  valueDepth = vType.getDimSize(2);
  if (cType.getDimSize(0) != batch || wType.getDimSize(0) != batch ||
      cType.getShape().back() != valueDepth ||
      wType.getShape().back() != steps ||
      (sequence && wType.getDimSize(1) != queries))
    return fn.emitError("attention-rows kernel's buffers disagree: ")
           << fn.getFunctionType();
  if (options.gaussianWindow > 0) {
    int64_t arg = options.positionArg;
    auto positions = arg >= 1 && arg < int64_t(n) - 2
                         ? dyn_cast<MemRefType>(fn.getArgumentTypes()[arg])
                         : MemRefType();
    if (!positions || positions.getShape() != ArrayRef<int64_t>{batch} ||
        !positions.getElementType().isF32())
      return fn.emitError("attention-rows kernel's positions are not a [")
             << batch << "] argument: " << fn.getFunctionType();
  }
  Block *entry = fn.addEntryBlock();
  values = fn.getArgument(0);
  context = fn.getArgument(n - 2);
  weights = fn.getArgument(n - 1);
  int64_t items = score.split() ? steps * score.lanes : steps;
  threads =
      std::clamp<int64_t>(llvm::PowerOf2Ceil(std::max(items, valueDepth)), 32,
                          score.split() ? kMaxSplitThreads : kMaxThreads);

  BlockPhases p;
  p.grid = {batch, queries, 1};
  p.threads = threads;
  // The threads' partial maxima and sums (and a split score's partial
  // sums of each step's terms).
  p.shared = {MemRefType::get({threads}, f32), MemRefType::get({threads}, f32)};
  if (score.split()) {
    p.shared.push_back(MemRefType::get({items}, f32));
    p.phases.push_back([&](OpBuilder &b, const BlockPlace &place) {
      emitPartialSums(b, place, place.shared[2]);
    });
  }
  bool softmax = options.normalization == attn::Normalization::softmax;
  bool smoothing = options.normalization == attn::Normalization::smoothing;
  auto maxf = [](OpBuilder &b, Value x, Value y) -> Value {
    return arith::MaximumFOp::create(b, b.getUnknownLoc(), x, y, fastMath(b));
  };
  auto addf = [](OpBuilder &b, Value x, Value y) -> Value {
    return arith::AddFOp::create(b, b.getUnknownLoc(), x, y, fastMath(b));
  };
  // Energies of the thread's steps into the weights (smoothing: σ(e)), and
  // the thread's partial max (softmax) or sum (smoothing).
  p.phases.push_back([&, softmax, smoothing](OpBuilder &b,
                                             const BlockPlace &place) {
    Value partial = forOwn(
        b, place, steps, softmax ? -INFINITY : 0.0f,
        [&](OpBuilder &b, Value t, Value acc) -> Value {
          Value e = energy(b, place, t);
          if (smoothing)
            e = emitActivationScalar(b, loc, attn::ActivationKind::sigmoid, e);
          memref::StoreOp::create(b, loc, e, weights, weightAt(place, t));
          return softmax ? maxf(b, acc, e) : smoothing ? addf(b, acc, e) : acc;
        });
    if (softmax || smoothing)
      memref::StoreOp::create(b, loc, partial, place.shared[softmax ? 0 : 1],
                              place.thread);
  });
  if (softmax) {
    p.appendTreeReduction(0, maxf);
    // p = exp(e - M) in place, and the thread's partial sum.
    p.phases.push_back([&](OpBuilder &b, const BlockPlace &place) {
      Value top = memref::LoadOp::create(b, loc, place.shared[0], c(b, 0));
      top = maxf(b, top, cF32(b, -FLT_MAX));
      Value partial =
          forOwn(b, place, steps, 0.0f, [&](OpBuilder &b, Value t, Value acc) {
            SmallVector<Value> at = weightAt(place, t);
            Value e = memref::LoadOp::create(b, loc, weights, at);
            Value shifted = arith::SubFOp::create(b, loc, e, top, fastMath(b));
            Value pe = math::ExpOp::create(b, loc, shifted, fastMath(b));
            memref::StoreOp::create(b, loc, pe, weights, at);
            return addf(b, acc, pe);
          });
      memref::StoreOp::create(b, loc, partial, place.shared[1], place.thread);
    });
  }
  if (softmax || smoothing)
    p.appendTreeReduction(1, addf);
  if (softmax || smoothing || options.gaussianWindow > 0) {
    // w = p / S, times local_p's Gaussian around the row's position.
    p.phases.push_back([&](OpBuilder &b, const BlockPlace &place) {
      Value total;
      if (softmax || smoothing) {
        total = memref::LoadOp::create(b, loc, place.shared[1], c(b, 0));
        total = maxf(b, total, cF32(b, FLT_MIN));
      }
      Value position;
      if (options.gaussianWindow > 0)
        position = memref::LoadOp::create(
            b, loc, fn.getArgument(options.positionArg), place.block[0]);
      forOwn(b, place, steps, 0.0f, [&](OpBuilder &b, Value t, Value acc) {
        SmallVector<Value> at = weightAt(place, t);
        Value w = memref::LoadOp::create(b, loc, weights, at);
        if (total)
          w = arith::DivFOp::create(b, loc, w, total, fastMath(b));
        if (position)
          w = arith::MulFOp::create(b, loc, w, gaussian(b, t, position),
                                    fastMath(b));
        memref::StoreOp::create(b, loc, w, weights, at);
        return acc;
      });
    });
  }
  // The thread's columns of the context: Σ_t w[t] values[b, t, d] (hard:
  // values[b, t, d] at the weights' first maximum, zero when it is not
  // above zero).
  p.phases.push_back([&](OpBuilder &b, const BlockPlace &place) {
    forOwn(b, place, valueDepth, 0.0f, [&](OpBuilder &b, Value d, Value acc) {
      SmallVector<Value> at = {place.block[0]};
      if (sequence)
        at.push_back(place.block[1]);
      at.push_back(d);
      if (options.hard) {
        memref::StoreOp::create(b, loc, hardContext(b, place, d), context, at);
        return acc;
      }
      auto sum = scf::ForOp::create(
          b, loc, c(b, 0), c(b, steps), c(b, 1), ValueRange{cF32(b, 0.0f)},
          [&](OpBuilder &b, Location, Value t, ValueRange s) {
            Value w =
                memref::LoadOp::create(b, loc, weights, weightAt(place, t));
            Value v = memref::LoadOp::create(b, loc, values,
                                             ValueRange{place.block[0], t, d});
            Value wv = arith::MulFOp::create(b, loc, w, v, fastMath(b));
            scf::YieldOp::create(b, loc, addf(b, s[0], wv));
          });
      memref::StoreOp::create(b, loc, sum.getResult(0), context, at);
      return acc;
    });
  });

  OpBuilder b = OpBuilder::atBlockBegin(entry);
  emitBlockPhasesLaunch(b, loc, p);
  func::ReturnOp::create(b, loc);
  return success();
}

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
      if (failed(RowKernel(fn, score, options).build()))
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
