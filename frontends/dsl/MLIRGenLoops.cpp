//===- MLIRGenLoops.cpp - Time loops and loops that stop ------------------===//
//
// Part of Heed. `for` loops become one scf.for with carried states and stacked
// yields; loops with `until` become one scf.while that freezes finished rows
// (and, with `beam`, reorders its hypotheses: MLIRGenBeam.cpp).
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/MLIRGenImpl.h"

#include "llvm/ADT/ScopeExit.h"

#include <cmath>

using namespace mlir;
using namespace heed;
using namespace heed::dsl;
using namespace heed::dsl::gen;

/// Collects the names yielded directly in a loop body, in order.
static void yieldedNames(const std::vector<std::unique_ptr<Stmt>> &body,
                         std::vector<const Stmt *> &out) {
  for (auto &s : body)
    if (s->kind == Stmt::Kind::Yield)
      out.push_back(s.get());
}

bool Generator::genFor(const Stmt &s) {
  // for t in range(N) carry (...) { ... yield y = ... } becomes one scf.for
  // whose iteration arguments are the carried states and the stacked
  // outputs ([B, N, ...], one slice written per step).
  Location l = loc(s.loc);
  int64_t count =
      s.count.isKnown() ? s.count.size : dims.lookup(s.count.symbol);
  if (count <= 0) {
    emitError(l, "loop count '")
        << s.count.str()
        << "' is a symbolic dimension with no value; bind it (heed does so "
           "from the inputs; heed compile takes --dim "
        << s.count.str() << "=N)";
    return false;
  }
  SmallVector<Value> inits;
  for (auto &init : s.carryInits) {
    Value v = gen(*init);
    if (!v)
      return false;
    inits.push_back(v);
  }
  // A beam search runs on batch × width hypotheses: the states start
  // repeated, and inside the loop the batch symbol means the hypotheses.
  std::optional<int64_t> beamBatch;
  std::string batch = s.carryInits.empty() || s.carryInits[0]->type.empty()
                                 ? std::string()
                                 : s.carryInits[0]->type[0].symbol;
  if (s.beam) {
    auto bound = dims.find(batch);
    if (bound == dims.end()) {
      emitError(loc(s.beamLoc), "a loop with 'beam' needs a bound batch "
                                "size; bind ")
          << batch
          << " (heed does so from the inputs; heed compile takes --dim "
          << batch << "=N)";
      return false;
    }
    beamBatch = bound->second;
    for (Value &v : inits)
      v = repeatRows(l, v, s.beam);
    dims[batch] = *beamBatch * s.beam;
  }
  llvm::scope_exit restoreBatch([&] {
    if (beamBatch)
      dims[batch] = *beamBatch;
  });
  std::vector<const Stmt *> yields;
  yieldedNames(s.body, yields);
  for (const Stmt *y : yields) {
    Shape stacked = y->value->type;
    stacked.insert(stacked.begin() + std::min<size_t>(1, stacked.size()),
                   Dim::known(count));
    RankedTensorType type = tensorType(stacked);
    // With `until`, steps a row never reaches stay zero.
    inits.push_back(
        s.until ? Value(arith::ConstantOp::create(
                      builder, l, DenseElementsAttr::get(type, 0.0f)))
                : Value(tensor::EmptyOp::create(builder, l, type.getShape(),
                                                type.getElementType())));
  }
  if (s.until)
    return genStoppingLoop(s, count, inits, yields);
  Value lb = arith::ConstantIndexOp::create(builder, l, 0);
  Value ub = arith::ConstantIndexOp::create(builder, l, count);
  Value one = arith::ConstantIndexOp::create(builder, l, 1);
  llvm::StringMap<Value> outer = values;
  bool ok = true;
  auto loop = scf::ForOp::create(
      builder, l, lb, ub, one, inits,
      [&](OpBuilder &b, Location bl, Value iv, ValueRange args) {
        OpBuilder::InsertionGuard guard(builder);
        builder.setInsertionPointToStart(b.getInsertionBlock());
        for (size_t i = 0; i < s.carryNames.size(); ++i)
          values[s.carryNames[i]] = args[i];
        LoopFrame frame{iv, {}, s.names[0], Value(), count};
        for (size_t i = 0; i < yields.size(); ++i)
          frame.stacked[yields[i]->names[0]] = args[s.carryNames.size() + i];
        loops.push_back(&frame);
        SmallVector<Value> unused;
        ok = genStmts(s.body, unused);
        loops.pop_back();
        SmallVector<Value> next;
        if (ok) {
          for (auto &name : s.carryNames)
            next.push_back(values[name]);
          for (const Stmt *y : yields)
            next.push_back(frame.stacked[y->names[0]]);
        } else {
          next.assign(args.begin(), args.end());
        }
        scf::YieldOp::create(builder, bl, next);
      });
  values = std::move(outer);
  if (!ok)
    return false;
  for (size_t i = 0; i < s.carryNames.size(); ++i)
    values[s.carryNames[i]] = loop.getResult(i);
  for (size_t i = 0; i < yields.size(); ++i)
    values[yields[i]->names[0]] = loop.getResult(s.carryNames.size() + i);
  return true;
}

Value Generator::rowMask(Location l, Value mask, int64_t rank) {
  if (rank == 1)
    return mask;
  int64_t batch = cast<RankedTensorType>(mask.getType()).getDimSize(0);
  SmallVector<int64_t> shape(rank, 1);
  shape[0] = batch;
  ReassociationIndices all;
  for (int64_t i = 0; i < rank; ++i)
    all.push_back(i);
  return tensor::ExpandShapeOp::create(
      builder, l, RankedTensorType::get(shape, builder.getF32Type()), mask,
      SmallVector<ReassociationIndices>{all});
}

bool Generator::genStoppingLoop(const Stmt &s, int64_t count,
                                ArrayRef<Value> inits,
                                ArrayRef<const Stmt *> yields) {
  // for t in range(N) carry (...) until cond lengths n { ... } becomes one
  // scf.while. Iteration arguments: the step, the number of rows still
  // running, `finished` [B] (1 once a row's condition held), the per-row
  // lengths [B], the carried states and the stacked outputs. The loop runs
  // while step < N and some row is running. Each step computes every row
  // (the batch stays whole) and then freezes finished rows: their states
  // keep their values and their yields are zeros. With chunks of running
  // rows (GenOptions::liveRowChunk), a step computes only the running rows
  // once few of them remain (genLiveRowsStep).
  // A beam search (of any width, 1 included) also carries each hypothesis'
  // score; its rows are the hypotheses, and choose() reorders them.
  Location l = loc(s.loc);
  Type f32 = builder.getF32Type();
  int64_t batch = cast<RankedTensorType>(inits[0].getType()).getDimSize(0);
  if (ShapedType::isDynamic(batch)) {
    emitError(l, "a loop with 'until' needs a bound batch size");
    return false;
  }
  auto rowType = RankedTensorType::get({batch}, f32);
  auto zerosOf = [&](RankedTensorType type) -> Value {
    return arith::ConstantOp::create(builder, l,
                                     DenseElementsAttr::get(type, 0.0f));
  };
  // Positions of the iteration arguments. The count of running rows comes
  // last: only the condition reads it, so canonicalization drops it from
  // what the condition passes on, and the tensors before it keep their
  // positions (bufferization then reuses their buffers from one step to
  // the next instead of copying each at the start of every step).
  enum : unsigned { kStep, kFinished, kLengths, kScores };
  const unsigned kFirstState = s.beam ? kScores + 1 : kScores;
  SmallVector<Value> loopInits = {arith::ConstantIndexOp::create(builder, l, 0),
                                  zerosOf(rowType), zerosOf(rowType)};
  if (s.beam) {
    // Hypothesis 0 of each row starts at score 0; the others at -inf, so
    // that the first step picks K continuations of one hypothesis.
    SmallVector<float> start(batch, -INFINITY);
    for (int64_t r = 0; r < batch; r += s.beam)
      start[r] = 0;
    loopInits.push_back(arith::ConstantOp::create(
        builder, l, DenseElementsAttr::get(rowType, ArrayRef<float>(start))));
  }
  loopInits.append(inits.begin(), inits.end()); // states, stacked outputs
  size_t states = s.carryNames.size(), firstYield = kFirstState + states;
  const unsigned kRunning = loopInits.size();
  loopInits.push_back(
      arith::ConstantOp::create(builder, l, builder.getF32FloatAttr(batch)));
  SmallVector<Type> types;
  for (Value v : loopInits)
    types.push_back(v.getType());
  auto loop = scf::WhileOp::create(builder, l, types, loopInits);
  SmallVector<Location> locs(types.size(), l);

  // Before: continue while step < N and a row is running.
  Block *before = builder.createBlock(&loop.getBefore(), {}, types, locs);
  {
    Value step = before->getArgument(kStep),
          running = before->getArgument(kRunning);
    Value ub = arith::ConstantIndexOp::create(builder, l, count);
    Value zero =
        arith::ConstantOp::create(builder, l, builder.getF32FloatAttr(0));
    auto someRunning = arith::CmpFOp::create(
        builder, l, arith::CmpFPredicate::OGT, running, zero);
    // Extra steps are no-ops (finished rows are frozen below): the GPU
    // target may test an earlier step's count (heed-lag-stop-tests).
    someRunning->setAttr(attn::kStopTestAttrName, builder.getUnitAttr());
    Value more = arith::AndIOp::create(
        builder, l,
        arith::CmpIOp::create(builder, l, arith::CmpIPredicate::slt, step, ub),
        someRunning);
    scf::ConditionOp::create(builder, l, more, before->getArguments());
  }

  // After: one step of the body.
  Block *after = builder.createBlock(&loop.getAfter(), {}, types, locs);
  llvm::StringMap<Value> outer = values;
  Value step = after->getArgument(kStep),
        finished = after->getArgument(kFinished),
        lengths = after->getArgument(kLengths);
  for (size_t i = 0; i < states; ++i)
    values[s.carryNames[i]] = after->getArgument(kFirstState + i);
  LoopFrame frame{step, {}, s.names[0], finished, count};
  for (size_t i = 0; i < yields.size(); ++i)
    frame.stacked[yields[i]->names[0]] = after->getArgument(firstYield + i);
  BeamFrame beam;
  if (s.beam) {
    beam.width = s.beam;
    beam.rows = batch / s.beam;
    beam.penalty = s.beamPenalty;
    beam.batch = s.carryInits[0]->type[0];
    beam.outer = outer;
    beam.scores = after->getArgument(kScores);
    beam.lengths = lengths;
    beam.finished = finished;
    frame.beam = &beam;
  }
  SmallVector<Value> oldStates;
  for (size_t i = 0; i < states; ++i)
    oldStates.push_back(after->getArgument(kFirstState + i));
  Value stop;
  if (int64_t chunk = s.beam ? 0 : liveRowChunk(s, batch)) {
    // Only the rows still running, a chunk at a time.
    if (!genLiveRowsStep(s, frame, chunk, batch, stop))
      stop = Value();
  } else {
    loops.push_back(&frame);
    SmallVector<Value> unused;
    bool ok = genStmts(s.body, unused);
    if (ok && s.beam) {
      // The new hypotheses continue from their sources: their states before
      // this step, their lengths and finished flags; the condition sees the
      // states in the new order.
      Location bl = loc(s.beamLoc);
      for (size_t i = 0; i < states; ++i) {
        Value &now = values[s.carryNames[i]];
        if (beam.pending.contains(now))
          now = gatherRows(bl, now, beam.source);
        oldStates[i] = gatherRows(bl, oldStates[i], beam.source);
      }
      finished = beam.sourceFinished;
      lengths = beam.sourceLengths;
    }
    stop = ok ? gen(*s.until) : Value();
    loops.pop_back();
  }
  if (!stop) {
    values = std::move(outer);
    builder.setInsertionPointAfter(loop);
    return false;
  }
  Location ul = loc(s.until->loc);
  if (cast<RankedTensorType>(stop.getType()).getRank() == 2) // [B, 1]
    stop = tensor::CollapseShapeOp::create(
        builder, ul, rowType, stop, SmallVector<ReassociationIndices>{{0, 1}});
  Value zeroRow = zerosOf(rowType);
  auto binary = [&](Value a, Value b, attn::BinaryKind kind) -> Value {
    return attn::BinaryOp::create(builder, ul, a, b, kind);
  };
  Value oneRow = arith::ConstantOp::create(
      builder, ul, DenseElementsAttr::get(rowType, 1.0f));
  SmallVector<Value> next(types.size());
  next[kStep] = arith::AddIOp::create(
      builder, ul, step, arith::ConstantIndexOp::create(builder, ul, 1));
  // A row that was running when the step began counts it.
  next[kLengths] =
      binary(lengths, binary(oneRow, finished, attn::BinaryKind::sub),
             attn::BinaryKind::add);
  next[kFinished] =
      binary(finished, binary(stop, zeroRow, attn::BinaryKind::ne),
             attn::BinaryKind::max);
  Value finishedCount = attn::ReduceOp::create(
      builder, ul, next[kFinished], attn::ReduceKind::sum, 0, /*keepdim=*/true);
  Value index0 = arith::ConstantIndexOp::create(builder, ul, 0);
  next[kRunning] = arith::SubFOp::create(
      builder, ul,
      arith::ConstantOp::create(builder, ul, builder.getF32FloatAttr(batch)),
      tensor::ExtractOp::create(builder, ul, finishedCount,
                                ValueRange{index0}));
  for (size_t i = 0; i < states; ++i) {
    Value old = oldStates[i], now = values[s.carryNames[i]];
    int64_t rank = cast<RankedTensorType>(now.getType()).getRank();
    next[kFirstState + i] = attn::SelectOp::create(
        builder, ul, rowMask(ul, finished, rank), old, now);
  }
  for (size_t i = 0; i < yields.size(); ++i)
    next[firstYield + i] = frame.stacked[yields[i]->names[0]];
  if (s.beam)
    next[kScores] = beam.newScores;
  scf::YieldOp::create(builder, l, next);

  builder.setInsertionPointAfter(loop);
  values = std::move(outer);
  // A beam search's results are each row's first hypothesis, the best:
  // choose() keeps the hypotheses sorted by their ranking key.
  auto result = [&](unsigned i) -> Value {
    Value v = loop.getResult(i);
    return s.beam ? firstHypotheses(l, v, s.beam) : v;
  };
  for (size_t i = 0; i < states; ++i)
    values[s.carryNames[i]] = result(kFirstState + i);
  for (size_t i = 0; i < yields.size(); ++i)
    values[yields[i]->names[0]] = result(firstYield + i);
  if (!s.lengthsName.empty())
    values[s.lengthsName] = result(kLengths);
  if (!s.scoresName.empty())
    values[s.scoresName] =
        lengthNormalized(l, result(kScores), result(kLengths), s.beamPenalty);
  return true;
}
