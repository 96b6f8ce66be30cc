//===- RowKernel.cpp - The attention-rows kernel body ---------------------===//
//
// Part of Heed. See RowKernel.h and Passes.td
// (heed-build-attention-row-kernels).
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToGPU/RowKernel.h"
#include "compiler/Conversion/AttnToLinalg/AttnToLinalg.h"
#include "compiler/Conversion/LoopsToGPU/BlockProgram.h"
#include "compiler/Transforms/AttentionMasks.h"
#include "compiler/Transforms/FastMath.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

using namespace mlir;
using namespace heed;

namespace {

/// Threads of a block: a power of two between a warp and this.
constexpr int64_t kMaxThreads = 256;
/// Threads of a block whose steps' terms are shared.
constexpr int64_t kMaxSplitThreads = 512;
/// Where a kernel's blocks (batch rows × queries) are fewer than the
/// chip's multiprocessors, a softmax's steps are shared among blocks in
/// chunks of at least this many, each block's weights and context
/// combined by a second kernel (FlashDecoding's split): a block per row
/// left all but a few multiprocessors idle (Tacotron2 at batch 1: one
/// block read the row's 200 × 512 values, 49 µs a step on an H200).
constexpr int64_t kMinChunkSteps = 16;

Value maxf(OpBuilder &b, Value x, Value y) {
  return arith::MaximumFOp::create(b, b.getUnknownLoc(), x, y, fastMath(b));
}
Value addf(OpBuilder &b, Value x, Value y) {
  return arith::AddFOp::create(b, b.getUnknownLoc(), x, y, fastMath(b));
}

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
  /// (`threads` is the block's being built.)
  Value forOwn(OpBuilder &b, const BlockPlace &place, Value count, float init,
               function_ref<Value(OpBuilder &, Value, Value)> body) {
    auto loop = scf::ForOp::create(
        b, loc, place.thread, count, c(b, threads), ValueRange{cF32(b, init)},
        [&](OpBuilder &b, Location, Value t, ValueRange acc) {
          scf::YieldOp::create(b, loc, body(b, t, acc[0]));
        });
    return loop.getResult(0);
  }
  /// The first step of the block's chunk (0 without chunks).
  Value chunkStart(OpBuilder &b, const BlockPlace &place) {
    if (chunks == 1)
      return c(b, 0);
    return arith::MulIOp::create(b, loc, place.block[2], c(b, chunkSteps));
  }
  /// Step `local` of the chunk from `start`, and back.
  Value stepOf(OpBuilder &b, Value start, Value local) {
    return chunks == 1 ? local : arith::AddIOp::create(b, loc, start, local);
  }
  Value localOf(OpBuilder &b, Value start, Value t) {
    return chunks == 1 ? t : arith::SubIOp::create(b, loc, t, start);
  }
  /// The steps of the block's chunk (from `start`) times `per`: chunkSteps
  /// · per, fewer in a last chunk that is shorter.
  Value chunkItems(OpBuilder &b, Value start, int64_t per) {
    if (steps % chunkSteps == 0)
      return c(b, chunkSteps * per);
    Value left = arith::SubIOp::create(b, loc, c(b, steps), start);
    Value n = arith::MinUIOp::create(b, loc, left, c(b, chunkSteps));
    return arith::MulIOp::create(b, loc, n, c(b, per));
  }
  /// `body(t, acc)` for the thread's share of the block's chunk of steps.
  Value forOwnSteps(OpBuilder &b, const BlockPlace &place, float init,
                    function_ref<Value(OpBuilder &, Value, Value)> body) {
    Value start = chunkStart(b, place);
    return forOwn(b, place, chunkItems(b, start, 1), init,
                  [&](OpBuilder &b, Value i, Value acc) {
                    return body(b, stepOf(b, start, i), acc);
                  });
  }
  /// The masked energy of step `t`, the chunk's step `local` (the score
  /// function inlined; a split score's finish of the step's partial sums).
  Value energy(OpBuilder &b, const BlockPlace &place, Value t, Value local);
  /// The phases that leave exp(e[t] − M) in the weights for the steps of
  /// the block's chunk (M their maximum, at least −FLT_MAX), M in
  /// shared[0][0] and Σ exp(e[t] − M) in shared[1][0] (softmax; smoothing:
  /// σ(e[t]) and their sum; otherwise the energies).
  void appendChunkPhases(BlockPhases &p);
  /// Without chunks, the weights (w = p / S, times local_p's Gaussian) and
  /// the context, Σ_t w[t] values[b, t, d] (hard attention: the value at the
  /// weights' first maximum); with them, the chunk's M and S and its
  /// Σ_t p[t] values[b, t, d].
  void appendContextPhase(BlockPhases &p);
  /// The kernel that combines the chunks' weights and partial contexts
  /// (chunkStats: each chunk's M and S; partialContexts: its Σ_t p[t]
  /// values[b, t, d]).
  BlockPhases combineChunks();
  /// `f` inlined at the builder with `leading` for its first arguments and
  /// the kernel's for the rest.
  Value inlineScore(OpBuilder &b, func::FuncOp f, ArrayRef<Value> leading);
  /// Whether `f` takes `leading` and then the kernel's score tensors, and
  /// returns an f32.
  bool takesScoreTensors(func::FuncOp f, ArrayRef<Type> leading);
  /// A split score's terms: thread i of the block's share (i = thread,
  /// thread + threads, ... below the chunk's steps · lanes) sums the terms
  /// k ≡ lane (mod lanes) of the chunk's step i / lanes, lane = i % lanes,
  /// into partials[i].
  void emitPartialSums(OpBuilder &b, const BlockPlace &place, Value partials);
  Value combineTerms(OpBuilder &b, Value x, Value y) {
    return score.maximum ? maxf(b, x, y) : addf(b, x, y);
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
  /// Steps shared among blocks: `chunks` of `chunkSteps` (one of all the
  /// steps without).
  int64_t chunks = 1, chunkSteps = 0;
  Value values, context, weights, chunkStats, partialContexts;
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

Value RowKernel::energy(OpBuilder &b, const BlockPlace &place, Value t,
                        Value local) {
  Value query = sequence ? place.block[1] : c(b, 0);
  if (!score.split())
    return inlineScore(b, score.score, {place.block[0], query, t});
  // The step's partial sums, in lane order.
  Value first = arith::MulIOp::create(b, loc, local, c(b, score.lanes));
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
  Value start = chunkStart(b, place);
  forOwn(b, place, chunkItems(b, start, lanes), 0.0f,
         [&](OpBuilder &b, Value i, Value acc) {
           Value t =
               stepOf(b, start, arith::DivUIOp::create(b, loc, i, c(b, lanes)));
           Value lane = arith::RemUIOp::create(b, loc, i, c(b, lanes));
           auto loop = scf::ForOp::create(
               b, loc, c(b, 0), c(b, trips), c(b, unroll),
               ValueRange{cF32(b, identity)},
               [&](OpBuilder &b, Location, Value j0, ValueRange sum) {
                 SmallVector<Value> xs;
                 for (int64_t u = 0; u < unroll; ++u) {
                   // k = lane + (j0 + u) lanes; past the terms (their count not
                   // a multiple of lanes) the last one is read and not counted.
                   Value j = arith::AddIOp::create(b, loc, j0, c(b, u));
                   Value k = arith::AddIOp::create(
                       b, loc, lane,
                       arith::MulIOp::create(b, loc, j, c(b, lanes)));
                   Value inside;
                   if (terms % lanes != 0) {
                     inside = arith::CmpIOp::create(
                         b, loc, arith::CmpIPredicate::ult, k, c(b, terms));
                     k = arith::MinUIOp::create(b, loc, k, c(b, terms - 1));
                   }
                   Value x = inlineScore(b, score.term,
                                         {place.block[0], query, t, k});
                   if (inside)
                     x = arith::SelectOp::create(b, loc, inside, x,
                                                 cF32(b, identity));
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
  // A softmax or smoothing over fewer blocks than the multiprocessors: its
  // steps in chunks, as many as fill the multiprocessors or leave each
  // chunk kMinChunkSteps steps.
  chunkSteps = steps;
  int64_t blocks = batch * queries;
  bool normalized = options.normalization == attn::Normalization::softmax ||
                    options.normalization == attn::Normalization::smoothing;
  if (normalized && !options.hard && options.gaussianWindow == 0 &&
      blocks < options.multiprocessors) {
    int64_t wanted =
        std::min<int64_t>(llvm::divideCeil(options.multiprocessors, blocks),
                          steps / kMinChunkSteps);
    if (wanted >= 2) {
      chunkSteps = llvm::divideCeil(steps, wanted);
      chunks = llvm::divideCeil(steps, chunkSteps);
    }
  }
  int64_t items = score.split() ? chunkSteps * score.lanes : chunkSteps;
  threads =
      std::clamp<int64_t>(llvm::PowerOf2Ceil(std::max(items, valueDepth)), 32,
                          score.split() ? kMaxSplitThreads : kMaxThreads);

  BlockPhases p;
  p.grid = {batch, queries, chunks};
  p.threads = threads;
  // The threads' partial maxima and sums (and a split score's partial
  // sums of each step's terms).
  p.shared = {MemRefType::get({threads}, f32), MemRefType::get({threads}, f32)};
  if (score.split())
    p.shared.push_back(MemRefType::get({items}, f32));
  appendChunkPhases(p);
  OpBuilder b = OpBuilder::atBlockBegin(entry);
  if (chunks > 1) {
    // Each chunk's M and S, and its Σ_t p[t] values[b, t, d].
    auto chunkType = [&](int64_t last) {
      return MemRefType::get({batch, queries, chunks, last}, f32);
    };
    chunkStats =
        memref::AllocOp::create(b, loc, chunkType(2), b.getI64IntegerAttr(64));
    partialContexts = memref::AllocOp::create(b, loc, chunkType(valueDepth),
                                              b.getI64IntegerAttr(64));
  }
  appendContextPhase(p);
  emitBlockPhasesLaunch(b, loc, p);
  if (chunks > 1) {
    BlockPhases combine = combineChunks();
    threads = combine.threads; // (forOwn's stride in its phases)
    emitBlockPhasesLaunch(b, loc, combine);
    memref::DeallocOp::create(b, loc, chunkStats);
    memref::DeallocOp::create(b, loc, partialContexts);
  }
  func::ReturnOp::create(b, loc);
  return success();
}

void RowKernel::appendChunkPhases(BlockPhases &p) {
  if (score.split())
    p.phases.push_back([this](OpBuilder &b, const BlockPlace &place) {
      emitPartialSums(b, place, place.shared[2]);
    });
  bool softmax = options.normalization == attn::Normalization::softmax;
  bool smoothing = options.normalization == attn::Normalization::smoothing;
  // Energies of the thread's steps into the weights (smoothing: σ(e)), and
  // the thread's partial max (softmax) or sum (smoothing).
  p.phases.push_back([this, softmax, smoothing](OpBuilder &b,
                                                const BlockPlace &place) {
    Value start = chunkStart(b, place);
    Value partial = forOwnSteps(
        b, place, softmax ? -INFINITY : 0.0f,
        [&](OpBuilder &b, Value t, Value acc) -> Value {
          Value e = energy(b, place, t, localOf(b, start, t));
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
    // p = exp(e - M) in place (M at least -FLT_MAX), and the thread's
    // partial sum.
    p.phases.push_back([this](OpBuilder &b, const BlockPlace &place) {
      Value top = memref::LoadOp::create(b, loc, place.shared[0], c(b, 0));
      top = maxf(b, top, cF32(b, -FLT_MAX));
      Value partial =
          forOwnSteps(b, place, 0.0f, [&](OpBuilder &b, Value t, Value acc) {
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
}

void RowKernel::appendContextPhase(BlockPhases &p) {
  bool softmax = options.normalization == attn::Normalization::softmax;
  bool smoothing = options.normalization == attn::Normalization::smoothing;
  if (chunks == 1 && (softmax || smoothing || options.gaussianWindow > 0)) {
    // w = p / S, times local_p's Gaussian around the row's position.
    p.phases.push_back(
        [this, softmax, smoothing](OpBuilder &b, const BlockPlace &place) {
          Value total;
          if (softmax || smoothing) {
            total = memref::LoadOp::create(b, loc, place.shared[1], c(b, 0));
            total = maxf(b, total, cF32(b, FLT_MIN));
          }
          Value position;
          if (options.gaussianWindow > 0)
            position = memref::LoadOp::create(
                b, loc, fn.getArgument(options.positionArg), place.block[0]);
          forOwnSteps(b, place, 0.0f, [&](OpBuilder &b, Value t, Value acc) {
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
  // The thread's columns of the context: Σ_t w[t] values[b, t, d] over the
  // chunk's steps (hard: values[b, t, d] at the weights' first maximum,
  // zero when it is not above zero). With chunks, the sums of exp(e[t] −
  // M) into partialContexts and the chunk's M and S into chunkStats.
  p.phases.push_back([this, softmax](OpBuilder &b, const BlockPlace &place) {
    Value query = sequence ? place.block[1] : c(b, 0);
    if (chunks > 1) {
      Value first = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                          place.thread, c(b, 0));
      auto branch = scf::IfOp::create(b, loc, TypeRange{}, first, false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(&branch.getThenRegion().front());
      // (Smoothing: σ(e[t]) needs no shift, M_c = 0.)
      Value top = cF32(b, 0.0f);
      if (softmax) {
        top = memref::LoadOp::create(b, loc, place.shared[0], c(b, 0));
        top = maxf(b, top, cF32(b, -FLT_MAX));
      }
      Value total = memref::LoadOp::create(b, loc, place.shared[1], c(b, 0));
      for (auto [i, x] : llvm::enumerate(SmallVector<Value>{top, total}))
        memref::StoreOp::create(
            b, loc, x, chunkStats,
            ValueRange{place.block[0], query, place.block[2], c(b, i)});
    }
    Value start = chunkStart(b, place);
    Value end = stepOf(b, start, chunkItems(b, start, 1));
    forOwn(b, place, c(b, valueDepth), 0.0f,
           [&](OpBuilder &b, Value d, Value acc) {
             SmallVector<Value> at = {place.block[0]};
             if (sequence)
               at.push_back(place.block[1]);
             at.push_back(d);
             if (options.hard) {
               memref::StoreOp::create(b, loc, hardContext(b, place, d),
                                       context, at);
               return acc;
             }
             auto sum = scf::ForOp::create(
                 b, loc, start, end, c(b, 1), ValueRange{cF32(b, 0.0f)},
                 [&](OpBuilder &b, Location, Value t, ValueRange s) {
                   Value w = memref::LoadOp::create(b, loc, weights,
                                                    weightAt(place, t));
                   Value v = memref::LoadOp::create(
                       b, loc, values, ValueRange{place.block[0], t, d});
                   Value wv = arith::MulFOp::create(b, loc, w, v, fastMath(b));
                   scf::YieldOp::create(b, loc, addf(b, s[0], wv));
                 });
             if (chunks > 1)
               memref::StoreOp::create(
                   b, loc, sum.getResult(0), partialContexts,
                   ValueRange{place.block[0], query, place.block[2], d});
             else
               memref::StoreOp::create(b, loc, sum.getResult(0), context, at);
             return acc;
           });
  });
}

BlockPhases RowKernel::combineChunks() {
  BlockPhases p;
  auto contextType = cast<MemRefType>(context.getType());
  p.grid = {contextType.getDimSize(0), sequence ? contextType.getDimSize(1) : 1,
            1};
  p.threads = std::clamp<int64_t>(
      llvm::PowerOf2Ceil(std::max(steps, valueDepth)), 32, kMaxThreads);
  p.phases.push_back([this](OpBuilder &b, const BlockPlace &place) {
    // Every thread reads the chunks' M and S: M = max_c M_c, S = Σ_c S_c
    // exp(M_c − M) (at least FLT_MIN: a row with every step masked gets
    // zeros), and scales a chunk's weights and context by exp(M_c − M) / S.
    Value query = sequence ? place.block[1] : c(b, 0);
    auto stat = [&](OpBuilder &b, Value chunk, int64_t i) -> Value {
      return memref::LoadOp::create(
          b, loc, chunkStats,
          ValueRange{place.block[0], query, chunk, c(b, i)});
    };
    auto overChunks =
        [&](OpBuilder &b, float init,
            function_ref<Value(OpBuilder &, Value, Value)> body) -> Value {
      auto loop = scf::ForOp::create(
          b, loc, c(b, 0), c(b, chunks), c(b, 1), ValueRange{cF32(b, init)},
          [&](OpBuilder &b, Location, Value chunk, ValueRange acc) {
            scf::YieldOp::create(b, loc, body(b, chunk, acc[0]));
          });
      return loop.getResult(0);
    };
    Value top = overChunks(b, -FLT_MAX, [&](OpBuilder &b, Value k, Value acc) {
      return maxf(b, acc, stat(b, k, 0));
    });
    auto scaleOf = [&](OpBuilder &b, Value chunk) -> Value {
      Value shifted =
          arith::SubFOp::create(b, loc, stat(b, chunk, 0), top, fastMath(b));
      return math::ExpOp::create(b, loc, shifted, fastMath(b));
    };
    Value total = overChunks(b, 0.0f, [&](OpBuilder &b, Value k, Value acc) {
      Value scaled = arith::MulFOp::create(b, loc, stat(b, k, 1), scaleOf(b, k),
                                           fastMath(b));
      return addf(b, acc, scaled);
    });
    total = maxf(b, total, cF32(b, FLT_MIN));
    forOwn(b, place, c(b, steps), 0.0f, [&](OpBuilder &b, Value t, Value acc) {
      Value chunk = arith::DivUIOp::create(b, loc, t, c(b, chunkSteps));
      SmallVector<Value> at = weightAt(place, t);
      Value w = memref::LoadOp::create(b, loc, weights, at);
      w = arith::MulFOp::create(b, loc, w, scaleOf(b, chunk), fastMath(b));
      w = arith::DivFOp::create(b, loc, w, total, fastMath(b));
      memref::StoreOp::create(b, loc, w, weights, at);
      return acc;
    });
    forOwn(
        b, place, c(b, valueDepth), 0.0f,
        [&](OpBuilder &b, Value d, Value acc) {
          Value sum = overChunks(b, 0.0f, [&](OpBuilder &b, Value k, Value s) {
            Value x =
                memref::LoadOp::create(b, loc, partialContexts,
                                       ValueRange{place.block[0], query, k, d});
            Value scaled =
                arith::MulFOp::create(b, loc, x, scaleOf(b, k), fastMath(b));
            return addf(b, s, scaled);
          });
          sum = arith::DivFOp::create(b, loc, sum, total, fastMath(b));
          SmallVector<Value> at = {place.block[0]};
          if (sequence)
            at.push_back(place.block[1]);
          at.push_back(d);
          memref::StoreOp::create(b, loc, sum, context, at);
          return acc;
        });
  });
  return p;
}

} // namespace

LogicalResult heed::buildRowKernel(func::FuncOp fn, const RowScore &score,
                                   const RowKernelOptions &options) {
  return RowKernel(fn, score, options).build();
}
