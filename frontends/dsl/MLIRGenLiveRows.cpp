//===- MLIRGenLiveRows.cpp - Decoder steps on their live rows only --------===//
//
// Part of Heed. A loop with `until` over a batch finishes rows at different
// steps. Generated as one batch, every step computes every row and throws
// the finished ones away. Here a step lists its running rows (in batch
// order) and, once they fit in chunks covering at most half the batch, runs
// the body on chunks of them (static shapes: the body is generated once for
// a chunk of rows) and writes each chunk's results back to their rows;
// before that it runs the whole batch, whose products cost less than the
// same rows in chunks. Values from before the loop are picked by the same
// rows (attn.gather_rows); key projections still run once, on the whole
// batch (attn-hoist-key-projections lifts them through the gather,
// attn-hoist-nested-invariant-ops out of the step's branches).
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/BatchRows.h"
#include "frontends/dsl/MLIRGenImpl.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace heed;
using namespace heed::dsl;
using namespace heed::dsl::gen;

int64_t Generator::liveRowChunk(const Stmt &s, int64_t batch) {
  // Automatic: a quarter of the batch from 8 rows on (a step then runs in
  // chunks once at most half the batch still runs: one or two chunks).
  int64_t chunk = options.liveRowChunk >= 0 ? options.liveRowChunk
                  : batch >= 8              ? batch / 4
                                            : 0;
  if (chunk <= 0 || 2 * chunk > batch || s.carryInits.empty())
    return 0;
  // The chunks run the body on some rows alone: every row must be
  // computed from its own row of every input, and every carried state and
  // yield must have the batch first.
  const Dim &rows =
      s.carryInits[0]->type.empty() ? Dim::known(0) : s.carryInits[0]->type[0];
  if (rows.symbol.empty() || independentBatchRows(model) != rows.symbol)
    return 0;
  for (auto &init : s.carryInits)
    if (init->type.empty() || init->type[0] != rows)
      return 0;
  for (auto &stmt : s.body)
    if (stmt->kind == Stmt::Kind::Yield &&
        (stmt->value->type.empty() || stmt->value->type[0] != rows))
      return 0;
  return chunk;
}

Value Generator::liveRowsValue(const Expr &name, Value v) {
  LiveRowsFrame *live = nullptr;
  for (LoopFrame *frame : llvm::reverse(loops))
    if ((live = frame->liveRows))
      break;
  if (!live || name.type.empty() || name.type[0] != live->batch)
    return v;
  auto before = live->outer.find(name.name);
  if (before == live->outer.end() || before->second != v)
    return v;
  v = attn::GatherRowsOp::create(builder, loc(name.loc), v, live->rows);
  values[name.name] = v;
  return v;
}

/// The index held by element `i` of a [N] tensor of f32 row numbers.
static Value rowAt(OpBuilder &b, Location l, Value rows, Value i) {
  Value f = tensor::ExtractOp::create(b, l, rows, ValueRange{i});
  Value n = arith::FPToSIOp::create(b, l, b.getI64Type(), f);
  return arith::IndexCastOp::create(b, l, b.getIndexType(), n);
}

Value Generator::scatterRows(Location l, Value into, Value part, Value rows,
                             Value at) {
  auto partType = cast<RankedTensorType>(part.getType());
  int64_t rank = partType.getRank();
  Value zero = arith::ConstantIndexOp::create(builder, l, 0);
  Value one = arith::ConstantIndexOp::create(builder, l, 1);
  Value count =
      arith::ConstantIndexOp::create(builder, l, partType.getDimSize(0));
  auto loop = scf::ForOp::create(
      builder, l, zero, count, one, ValueRange{into},
      [&](OpBuilder &b, Location bl, Value j, ValueRange args) {
        SmallVector<OpFoldResult> from(rank, b.getIndexAttr(0)), sizes,
            strides(rank, b.getIndexAttr(1));
        SmallVector<int64_t> pieceShape(partType.getShape());
        pieceShape[0] = 1;
        for (int64_t d : pieceShape)
          sizes.push_back(b.getIndexAttr(d));
        from[0] = j;
        Value piece = tensor::ExtractSliceOp::create(
            b, bl, RankedTensorType::get(pieceShape, partType.getElementType()),
            part, from, sizes, strides);
        SmallVector<OpFoldResult> to(rank, b.getIndexAttr(0));
        to[0] = rowAt(b, bl, rows, j);
        if (at)
          to[1] = at;
        // The row copied by a linalg op (vectorized; a bare insert_slice
        // becomes a memref.copy into a strided view, element by element).
        Value row =
            tensor::ExtractSliceOp::create(b, bl, args[0], to, sizes, strides);
        Value copied = linalg::CopyOp::create(b, bl, piece, row).getResult(0);
        Value next = tensor::InsertSliceOp::create(b, bl, copied, args[0], to,
                                                   sizes, strides);
        scf::YieldOp::create(b, bl, next);
      });
  return loop.getResult(0);
}

Value Generator::stepFlags(const Stmt &s, LoopFrame &frame, Location l) {
  loops.push_back(&frame);
  SmallVector<Value> unused;
  Value stop;
  if (genStmts(s.body, unused))
    stop = gen(*s.until);
  loops.pop_back();
  auto type = stop ? cast<RankedTensorType>(stop.getType()) : nullptr;
  if (!type || type.getRank() != 2)
    return stop;
  return tensor::CollapseShapeOp::create(
      builder, l,
      RankedTensorType::get({type.getDimSize(0)}, type.getElementType()), stop,
      SmallVector<ReassociationIndices>{{0, 1}});
}

bool Generator::genLiveRowsStep(const Stmt &s, LoopFrame &frame, int64_t chunk,
                                int64_t batch, Value &stop) {
  Location l = loc(s.loc);
  Type f32 = builder.getF32Type();
  int64_t chunks = (batch + chunk - 1) / chunk;
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(builder, l, v);
  };
  auto zerosOf = [&](ArrayRef<int64_t> shape) -> Value {
    return arith::ConstantOp::create(
        builder, l,
        DenseElementsAttr::get(RankedTensorType::get(shape, f32), 0.0f));
  };

  // The running rows in batch order: order[0, live) (the rest stay row 0,
  // computed and discarded when the last chunk is not full).
  auto orderLoop = scf::ForOp::create(
      builder, l, index(0), index(batch), index(1),
      ValueRange{zerosOf({chunks * chunk}), index(0)},
      [&](OpBuilder &b, Location bl, Value r, ValueRange args) {
        Value done =
            tensor::ExtractOp::create(b, bl, frame.finished, ValueRange{r});
        Value running = arith::CmpFOp::create(
            b, bl, arith::CmpFPredicate::OEQ, done,
            arith::ConstantOp::create(b, bl, b.getF32FloatAttr(0)));
        auto pick = scf::IfOp::create(
            b, bl, running,
            [&](OpBuilder &t, Location tl) {
              Value row = arith::SIToFPOp::create(
                  t, tl, t.getF32Type(),
                  arith::IndexCastOp::create(t, tl, t.getI64Type(), r));
              Value order = tensor::InsertOp::create(t, tl, row, args[0],
                                                     ValueRange{args[1]});
              Value next = arith::AddIOp::create(
                  t, tl, args[1], arith::ConstantIndexOp::create(t, tl, 1));
              scf::YieldOp::create(t, tl, ValueRange{order, next});
            },
            [&](OpBuilder &e, Location el) {
              scf::YieldOp::create(e, el, args);
            });
        scf::YieldOp::create(b, bl, pick.getResults());
      });
  Value order = orderLoop.getResult(0), live = orderLoop.getResult(1);
  Value chunkCount = arith::CeilDivSIOp::create(builder, l, live, index(chunk));

  // Carried through the chunks: the states, the stacked outputs and the
  // stop condition, each for the whole batch.
  size_t states = s.carryNames.size();
  std::vector<const Stmt *> yields;
  for (auto &stmt : s.body)
    if (stmt->kind == Stmt::Kind::Yield)
      yields.push_back(stmt.get());
  SmallVector<Value> inits;
  for (size_t i = 0; i < states; ++i)
    inits.push_back(values[s.carryNames[i]]);
  for (const Stmt *y : yields)
    inits.push_back(frame.stacked[y->names[0]]);
  inits.push_back(zerosOf({batch}));

  llvm::StringMap<Value> before = values;
  LiveRowsFrame liveRows{s.carryInits[0]->type[0], Value(), before};
  const std::string &batchName = liveRows.batch.symbol;
  SmallVector<Type> types;
  for (Value v : inits)
    types.push_back(v.getType());

  // Chunks only once they cover at most half the batch: while more rows
  // run, the whole batch in one step costs less (its products run on all
  // rows at once, and it reads the step's weights once).
  Value fewRows = arith::CmpIOp::create(
      builder, l, arith::CmpIPredicate::sle,
      arith::MulIOp::create(builder, l, chunkCount, index(2 * chunk)),
      index(batch));
  auto choice = scf::IfOp::create(builder, l, types, fewRows,
                                  /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(builder);
  bool wholeOk = false;
  {
    // Every row, as without chunks (finished ones computed and discarded).
    builder.setInsertionPointToStart(&choice.getElseRegion().front());
    LoopFrame whole = frame;
    whole.liveRows = nullptr;
    whole.yieldAt = nullptr;
    Value wholeStop = stepFlags(s, whole, l);
    SmallVector<Value> next(inits);
    if (wholeStop) {
      wholeOk = true;
      for (size_t i = 0; i < states; ++i)
        next[i] = values[s.carryNames[i]];
      for (size_t i = 0; i < yields.size(); ++i)
        next[states + i] = whole.stacked[yields[i]->names[0]];
      next.back() = wholeStop;
    }
    scf::YieldOp::create(builder, l, next);
    values = before;
  }
  builder.setInsertionPointToStart(&choice.getThenRegion().front());
  bool ok = false;
  auto loop = scf::ForOp::create(
      builder, l, index(0), chunkCount, index(1), inits,
      [&](OpBuilder &b, Location bl, Value c, ValueRange args) {
        OpBuilder::InsertionGuard guard(builder);
        builder.setInsertionPointToStart(b.getInsertionBlock());
        Value start = arith::MulIOp::create(builder, bl, c, index(chunk));
        liveRows.rows = tensor::ExtractSliceOp::create(
            builder, bl, RankedTensorType::get({chunk}, f32), order,
            ArrayRef<OpFoldResult>{start},
            ArrayRef<OpFoldResult>{builder.getIndexAttr(chunk)},
            ArrayRef<OpFoldResult>{builder.getIndexAttr(1)});
        Value rows = liveRows.rows;
        // The body sees the chunk as its batch.
        LoopFrame chunkFrame{frame.step, {}, frame.var, Value(), frame.count};
        chunkFrame.finished =
            attn::GatherRowsOp::create(builder, bl, frame.finished, rows);
        chunkFrame.yieldAt = index(0);
        chunkFrame.liveRows = &liveRows;
        for (size_t i = 0; i < states; ++i)
          values[s.carryNames[i]] = attn::GatherRowsOp::create(
              builder, bl, before[s.carryNames[i]], rows);
        for (size_t i = 0; i < yields.size(); ++i) {
          auto type = cast<RankedTensorType>(args[states + i].getType());
          SmallVector<int64_t> shape(type.getShape());
          shape[0] = chunk;
          shape[1] = 1;
          chunkFrame.stacked[yields[i]->names[0]] =
              tensor::EmptyOp::create(builder, bl, shape, f32);
        }
        dims[batchName] = chunk;
        Value chunkStop = stepFlags(s, chunkFrame, bl);
        dims[batchName] = batch;
        SmallVector<Value> next(args.begin(), args.end());
        if (chunkStop) {
          ok = true;
          for (size_t i = 0; i < states; ++i)
            next[i] = scatterRows(bl, args[i], values[s.carryNames[i]], rows);
          for (size_t i = 0; i < yields.size(); ++i)
            next[states + i] = scatterRows(
                bl, args[states + i], chunkFrame.stacked[yields[i]->names[0]],
                rows, frame.step);
          next.back() = scatterRows(bl, args.back(), chunkStop, rows);
        }
        scf::YieldOp::create(builder, bl, next);
      });
  scf::YieldOp::create(builder, l, loop.getResults());
  values = std::move(before);
  builder.setInsertionPointAfter(choice);
  if (!ok || !wholeOk)
    return false;
  for (size_t i = 0; i < states; ++i)
    values[s.carryNames[i]] = choice.getResult(i);
  for (size_t i = 0; i < yields.size(); ++i)
    frame.stacked[yields[i]->names[0]] = choice.getResult(states + i);
  stop = choice.getResults().back();
  return true;
}
