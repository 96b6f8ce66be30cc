//===- MLIRGen.cpp - Build `attn` IR from a checked model -----------------===//
//
// Part of Heed. Reads Sema's annotations; every op's result type is inferred
// by the dialect, so this file states no shapes except those of arguments.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/MLIRGen.h"
#include "frontends/dsl/Sema.h"

#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/ScopedHashTable.h"

#include <cmath>

using namespace mlir;
using namespace heed;
using namespace heed::dsl;

namespace {

class Generator {
public:
  Generator(MLIRContext &ctx, const Model &model,
            const llvm::StringMap<int64_t> &dims, llvm::SourceMgr &sm)
      : ctx(ctx), builder(&ctx), model(model), dims(dims), sm(sm) {}

  OwningOpRef<ModuleOp> run();

private:
  Location loc(llvm::SMLoc at) {
    auto [line, col] = sm.getLineAndColumn(at);
    StringRef file =
        sm.getMemoryBuffer(sm.FindBufferContainingLoc(at))->getBufferIdentifier();
    return FileLineColLoc::get(&ctx, file, line, col);
  }
  RankedTensorType tensorType(const Shape &shape) {
    SmallVector<int64_t> sizes;
    for (const Dim &d : shape) {
      if (d.isKnown()) {
        sizes.push_back(d.size);
      } else {
        auto it = dims.find(d.symbol);
        sizes.push_back(it == dims.end() ? ShapedType::kDynamic : it->second);
      }
    }
    return RankedTensorType::get(sizes, builder.getF32Type());
  }

  bool genStmts(const std::vector<std::unique_ptr<Stmt>> &stmts,
                SmallVectorImpl<Value> &results);
  bool genFor(const Stmt &s);
  Value gen(const Expr &e);
  /// Every result of `e` (one, or several for calls returning states).
  SmallVector<Value> genAll(const Expr &e);
  SmallVector<Value> genCall(const Expr &e);
  SmallVector<Value> genLayerCall(const Expr &e, ArrayRef<Value> args);
  Value genBuiltin(const Expr &e, ArrayRef<Value> args);
  /// attention(...): one attn.attention whose score region is the score
  /// function generated on the region's row arguments.
  SmallVector<Value> genAttention(const Expr &e);
  /// multi_head_attention: projections, heads folded into the batch, one
  /// scaled dot-product attention, heads merged, output projection.
  Value genMultiHead(const Expr &e, ArrayRef<Value> args);
  /// Fills `op`'s score region with Σ q·k (times `scale` unless 1).
  void buildDotScore(attn::AttentionOp op, float scale);
  /// Rows [offset, offset + n) of a weight [N, ...] (or bias [N]).
  Value weightRows(Location l, Value weight, int64_t offset, int64_t n);
  /// Yield handling inside a loop body: name -> stacked tensor, step index.
  struct LoopFrame {
    Value step;
    llvm::StringMap<Value> stacked;
    std::string var; // the loop variable's name
    Value finished;  // loops with `until`: [B], 1 for rows already finished
  };
  /// `for ... until cond`: the scf.while form of genFor.
  bool genStoppingLoop(const Stmt &s, int64_t count, ArrayRef<Value> inits,
                       ArrayRef<const Stmt *> yields);
  /// `mask` [B] reshaped to [B, 1, ...] of `rank`, to broadcast over rows.
  Value rowMask(Location l, Value mask, int64_t rank);
  SmallVector<LoopFrame *> loops;
  Value activate(Location l, Value x, attn::ActivationKind kind) {
    return attn::ActivateOp::create(builder, l, x, kind);
  }

  MLIRContext &ctx;
  OpBuilder builder;
  const Model &model;
  const llvm::StringMap<int64_t> &dims;
  llvm::SourceMgr &sm;
  llvm::StringMap<Value> values;
  llvm::StringMap<SmallVector<Value>> layerWeights;
};

} // namespace

static attn::ActivationKind activationKind(StringRef name) {
  return attn::symbolizeActivationKind(name).value_or(attn::ActivationKind::none);
}

OwningOpRef<ModuleOp> Generator::run() {
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc(model.loc));
  builder.setInsertionPointToEnd(module->getBody());

  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (auto &in : model.inputs) {
    argTypes.push_back(tensorType(in.shape));
    argNames.push_back(in.name);
  }
  std::vector<WeightSpec> weights = weightSpecs(model);
  for (auto &w : weights) {
    Shape shape;
    for (int64_t d : w.shape)
      shape.push_back(Dim::known(d));
    argTypes.push_back(tensorType(shape));
    argNames.push_back(w.name);
  }
  SmallVector<Type> resultTypes;
  for (auto &out : model.outputs)
    resultTypes.push_back(tensorType(out.value->type));

  auto func = func::FuncOp::create(builder, loc(model.loc), model.name,
                                   builder.getFunctionType(argTypes, resultTypes));
  Block *entry = func.addEntryBlock();
  for (unsigned i = 0; i < argNames.size(); ++i) {
    func.setArgAttr(i, "heed.name", builder.getStringAttr(argNames[i]));
    // Inputs and weights belong to the caller: never updated in place.
    func.setArgAttr(i, "bufferization.writable", builder.getBoolAttr(false));
    if (i >= model.inputs.size())
      func.setArgAttr(i, "heed.weight", builder.getUnitAttr());
  }
  SmallVector<Attribute> outNames;
  for (auto &out : model.outputs)
    outNames.push_back(builder.getStringAttr(out.name));
  func->setAttr("heed.outputs", builder.getArrayAttr(outNames));
  builder.setInsertionPointToStart(entry);

  for (unsigned i = 0; i < model.inputs.size(); ++i)
    values[model.inputs[i].name] = entry->getArgument(i);
  unsigned arg = model.inputs.size();
  for (auto &w : weights) {
    // "layer.param": weights of one layer are consecutive.
    StringRef layer = StringRef(w.name).rsplit('.').first;
    layerWeights[layer].push_back(entry->getArgument(arg++));
  }

  SmallVector<Value> results;
  if (!genStmts(model.stmts, results))
    return nullptr;
  func::ReturnOp::create(builder, loc(model.loc), results);
  if (failed(verify(*module)))
    return nullptr;
  return module;
}

bool Generator::genStmts(const std::vector<std::unique_ptr<Stmt>> &stmts,
                         SmallVectorImpl<Value> &results) {
  for (auto &stmt : stmts) {
    switch (stmt->kind) {
    case Stmt::Kind::Assign: {
      SmallVector<Value> vs = genAll(*stmt->value);
      if (vs.empty())
        return false;
      for (auto [name, v] : llvm::zip(stmt->names, vs))
        if (name != "_")
          values[name] = v;
      break;
    }
    case Stmt::Kind::Output: {
      Value v = gen(*stmt->value);
      if (!v)
        return false;
      values[stmt->names[0]] = v;
      results.push_back(v);
      break;
    }
    case Stmt::Kind::For:
      if (!genFor(*stmt))
        return false;
      break;
    case Stmt::Kind::Yield: {
      // stacked[:, step] = value
      Value v = gen(*stmt->value);
      if (!v)
        return false;
      LoopFrame &frame = *loops.back();
      Value &dest = frame.stacked[stmt->names[0]];
      auto type = cast<RankedTensorType>(dest.getType());
      Location l = loc(stmt->loc);
      if (frame.finished) { // finished rows yield zeros
        auto scalar = RankedTensorType::get({1}, builder.getF32Type());
        Value zero = arith::ConstantOp::create(
            builder, l, DenseElementsAttr::get(scalar, 0.0f));
        int64_t rank = cast<RankedTensorType>(v.getType()).getRank();
        v = attn::SelectOp::create(builder, l, rowMask(l, frame.finished, rank),
                                   zero, v);
      }
      SmallVector<OpFoldResult> offsets(type.getRank(), builder.getIndexAttr(0)),
          sizes, strides(type.getRank(), builder.getIndexAttr(1));
      for (int64_t d : type.getShape())
        sizes.push_back(builder.getIndexAttr(d));
      int64_t axis = type.getRank() > 1 ? 1 : 0;
      offsets[axis] = frame.step;
      sizes[axis] = builder.getIndexAttr(1);
      dest = tensor::InsertSliceOp::create(builder, l, v, dest, offsets, sizes,
                                           strides);
      break;
    }
    default:
      break;
    }
  }
  return true;
}

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
  int64_t count = s.count.isKnown() ? s.count.size : dims.lookup(s.count.symbol);
  if (count <= 0) {
    emitError(l, "loop count '") << s.count.str()
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
  std::vector<const Stmt *> yields;
  yieldedNames(s.body, yields);
  for (const Stmt *y : yields) {
    Shape stacked = y->value->type;
    stacked.insert(stacked.begin() + std::min<size_t>(1, stacked.size()),
                   Dim::known(count));
    RankedTensorType type = tensorType(stacked);
    // With `until`, steps a row never reaches stay zero.
    inits.push_back(s.until ? Value(arith::ConstantOp::create(
                                  builder, l, DenseElementsAttr::get(type, 0.0f)))
                            : Value(tensor::EmptyOp::create(
                                  builder, l, type.getShape(),
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
        LoopFrame frame{iv, {}, s.names[0]};
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
  // keep their values and their yields are zeros.
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
  // Positions of the iteration arguments.
  enum : unsigned { kStep, kRunning, kFinished, kLengths, kFirstState };
  SmallVector<Value> loopInits = {
      arith::ConstantIndexOp::create(builder, l, 0),
      arith::ConstantOp::create(builder, l, builder.getF32FloatAttr(batch)),
      zerosOf(rowType), zerosOf(rowType)};
  loopInits.append(inits.begin(), inits.end()); // states, stacked outputs
  size_t states = s.carryNames.size(), firstYield = kFirstState + states;
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
    Value zero = arith::ConstantOp::create(builder, l, builder.getF32FloatAttr(0));
    Value more = arith::AndIOp::create(
        builder, l,
        arith::CmpIOp::create(builder, l, arith::CmpIPredicate::slt, step, ub),
        arith::CmpFOp::create(builder, l, arith::CmpFPredicate::OGT, running,
                              zero));
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
  LoopFrame frame{step, {}, s.names[0], finished};
  for (size_t i = 0; i < yields.size(); ++i)
    frame.stacked[yields[i]->names[0]] = after->getArgument(firstYield + i);
  loops.push_back(&frame);
  SmallVector<Value> unused;
  bool ok = genStmts(s.body, unused);
  loops.pop_back();
  Value stop = ok ? gen(*s.until) : Value();
  if (!stop) {
    values = std::move(outer);
    builder.setInsertionPointAfter(loop);
    return false;
  }
  Location ul = loc(s.until->loc);
  if (cast<RankedTensorType>(stop.getType()).getRank() == 2) // [B, 1]
    stop = tensor::CollapseShapeOp::create(builder, ul, rowType, stop,
                                           SmallVector<ReassociationIndices>{{0, 1}});
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
  next[kLengths] = binary(lengths, binary(oneRow, finished, attn::BinaryKind::sub),
                          attn::BinaryKind::add);
  next[kFinished] = binary(finished, binary(stop, zeroRow, attn::BinaryKind::ne),
                           attn::BinaryKind::max);
  Value finishedCount = attn::ReduceOp::create(
      builder, ul, next[kFinished], attn::ReduceKind::sum, 0, /*keepdim=*/true);
  Value index0 = arith::ConstantIndexOp::create(builder, ul, 0);
  next[kRunning] = arith::SubFOp::create(
      builder, ul, arith::ConstantOp::create(builder, ul, builder.getF32FloatAttr(batch)),
      tensor::ExtractOp::create(builder, ul, finishedCount, ValueRange{index0}));
  for (size_t i = 0; i < states; ++i) {
    Value old = after->getArgument(kFirstState + i), now = values[s.carryNames[i]];
    int64_t rank = cast<RankedTensorType>(now.getType()).getRank();
    next[kFirstState + i] = attn::SelectOp::create(builder, ul, rowMask(ul, finished, rank),
                                         old, now);
  }
  for (size_t i = 0; i < yields.size(); ++i)
    next[firstYield + i] = frame.stacked[yields[i]->names[0]];
  scf::YieldOp::create(builder, l, next);

  builder.setInsertionPointAfter(loop);
  values = std::move(outer);
  for (size_t i = 0; i < states; ++i)
    values[s.carryNames[i]] = loop.getResult(kFirstState + i);
  for (size_t i = 0; i < yields.size(); ++i)
    values[yields[i]->names[0]] = loop.getResult(firstYield + i);
  if (!s.lengthsName.empty())
    values[s.lengthsName] = loop.getResult(kLengths);
  return true;
}

SmallVector<Value> Generator::genAll(const Expr &e) {
  if (e.kind == Expr::Kind::Call)
    return genCall(e);
  Value v = gen(e);
  if (!v)
    return {};
  return {v};
}

Value Generator::gen(const Expr &e) {
  Location l = loc(e.loc);
  switch (e.kind) {
  case Expr::Kind::Number: {
    auto type = RankedTensorType::get({1}, builder.getF32Type());
    return arith::ConstantOp::create(
        builder, l, DenseElementsAttr::get(type, float(e.number)));
  }
  case Expr::Kind::Name: {
    auto it = values.find(e.name);
    if (it != values.end())
      return it->second;
    for (auto &p : model.params)
      if (p.name == e.name) {
        auto type = RankedTensorType::get({1}, builder.getF32Type());
        return arith::ConstantOp::create(
            builder, l, DenseElementsAttr::get(type, float(p.number)));
      }
    emitError(l, "internal: unbound name ") << e.name;
    return nullptr;
  }
  case Expr::Kind::Neg: {
    Value x = gen(*e.args[0]);
    if (!x)
      return nullptr;
    auto type = RankedTensorType::get({1}, builder.getF32Type());
    Value minusOne = arith::ConstantOp::create(
        builder, l, DenseElementsAttr::get(type, -1.0f));
    return attn::BinaryOp::create(builder, l, x, minusOne, attn::BinaryKind::mul);
  }
  case Expr::Kind::Binary: {
    Value lhs = gen(*e.args[0]), rhs = lhs ? gen(*e.args[1]) : Value();
    if (!rhs)
      return nullptr;
    attn::BinaryKind kind = e.op == '+'     ? attn::BinaryKind::add
                            : e.op == '-'   ? attn::BinaryKind::sub
                            : e.op == '*'   ? attn::BinaryKind::mul
                            : e.op == '/'   ? attn::BinaryKind::div
                            : e.op == CmpEq ? attn::BinaryKind::eq
                            : e.op == CmpNe ? attn::BinaryKind::ne
                            : e.op == CmpLt ? attn::BinaryKind::lt
                            : e.op == CmpLe ? attn::BinaryKind::le
                            : e.op == CmpGt ? attn::BinaryKind::gt
                                            : attn::BinaryKind::ge;
    return attn::BinaryOp::create(builder, l, lhs, rhs, kind);
  }
  case Expr::Kind::Call: {
    SmallVector<Value> vs = genCall(e);
    return vs.empty() ? Value() : vs[0];
  }
  case Expr::Kind::Index: {
    Value x = gen(*e.args[0]);
    if (!x)
      return nullptr;
    auto type = cast<RankedTensorType>(x.getType());
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<int64_t> resultShape;
    for (size_t axis = 0; axis < e.sliceOffsets.size(); ++axis) {
      int64_t size = e.sliceSizes[axis] >= 0 ? e.sliceSizes[axis]
                                             : type.getDimSize(axis);
      if (ShapedType::isDynamic(size) ||
          ShapedType::isDynamic(type.getDimSize(axis))) {
        emitError(l, "indexing needs static shapes; bind the dimensions");
        return nullptr;
      }
      if (e.sliceOffsets[axis] + size > type.getDimSize(axis)) {
        emitError(l, "index ") << e.sliceOffsets[axis] << " (size " << size
                               << ") is outside axis " << axis << " of size "
                               << type.getDimSize(axis);
        return nullptr;
      }
      offsets.push_back(builder.getIndexAttr(e.sliceOffsets[axis]));
      if (!e.sliceVar[axis].empty())
        for (LoopFrame *frame : loops)
          if (frame->var == e.sliceVar[axis])
            offsets.back() = frame->step;
      sizes.push_back(builder.getIndexAttr(size));
      strides.push_back(builder.getIndexAttr(1));
      if (!e.sliceDrop[axis])
        resultShape.push_back(size);
    }
    bool scalar = resultShape.empty();
    if (scalar)
      resultShape.push_back(1); // x[i, j] of a matrix: a one-element tensor
    auto resultType = RankedTensorType::get(resultShape, type.getElementType());
    if (!scalar)
      return tensor::ExtractSliceOp::create(builder, l, resultType, x, offsets,
                                            sizes, strides);
    auto full = RankedTensorType::get(SmallVector<int64_t>(type.getRank(), 1),
                                      type.getElementType());
    Value one = tensor::ExtractSliceOp::create(builder, l, full, x, offsets,
                                               sizes, strides);
    SmallVector<ReassociationIndices> groups(1);
    for (int64_t d = 0; d < type.getRank(); ++d)
      groups[0].push_back(d);
    return tensor::CollapseShapeOp::create(builder, l, resultType, one, groups);
  }
  case Expr::Kind::List:
  case Expr::Kind::Slice:
    break;
  }
  emitError(l, "internal: unexpected expression");
  return nullptr;
}

SmallVector<Value> Generator::genCall(const Expr &e) {
  if (e.attention)
    return genAttention(e);
  SmallVector<Value> args;
  for (auto &a : e.args) {
    if (a->kind == Expr::Kind::List || !a->type.size())
      continue; // compile-time arguments (counts, axes, permutations)
    Value v = gen(*a);
    if (!v)
      return {};
    args.push_back(v);
  }
  if (e.layer)
    return genLayerCall(e, args);
  Value v = genBuiltin(e, args);
  if (!v)
    return {};
  return {v};
}

Value Generator::genBuiltin(const Expr &e, ArrayRef<Value> args) {
  Location l = loc(e.loc);
  switch (e.builtin) {
  case Builtin::Dropout:
    return args[0];
  case Builtin::Argmax: {
    Value r = attn::ArgmaxOp::create(builder, l, args[0]);
    if (e.args[0]->type.size() == 1) { // [C] -> [1], as Sema types it
      auto type = RankedTensorType::get({1}, builder.getF32Type());
      r = tensor::ExpandShapeOp::create(builder, l, type, r,
                                        SmallVector<ReassociationIndices>{});
    }
    return r;
  }
  case Builtin::Tanh:
    return activate(l, args[0], attn::ActivationKind::tanh);
  case Builtin::Sigmoid:
    return activate(l, args[0], attn::ActivationKind::sigmoid);
  case Builtin::Relu:
    return activate(l, args[0], attn::ActivationKind::relu);
  case Builtin::Exp:
    return activate(l, args[0], attn::ActivationKind::exp);
  case Builtin::Softmax:
    return attn::SoftmaxOp::create(builder, l, args[0], e.axis);
  case Builtin::Squeeze:
    return attn::SqueezeOp::create(builder, l, args[0], e.axis);
  case Builtin::Sum:
  case Builtin::Mean:
  case Builtin::Max: {
    attn::ReduceKind kind = e.builtin == Builtin::Sum    ? attn::ReduceKind::sum
                            : e.builtin == Builtin::Mean ? attn::ReduceKind::mean
                                                         : attn::ReduceKind::max;
    return attn::ReduceOp::create(builder, l, args[0], kind, e.axis, e.keepdim);
  }
  case Builtin::PositionalEncoding: {
    // x + PE, PE[t, 2i] = sin(t / 10000^(2i/D)), PE[t, 2i+1] = cos(...).
    auto type = cast<RankedTensorType>(args[0].getType());
    int64_t steps = type.getDimSize(1), depth = type.getDimSize(2);
    if (ShapedType::isDynamic(steps)) {
      emitError(l, "positional_encoding needs a bound sequence length");
      return nullptr;
    }
    std::vector<float> table(steps * depth);
    for (int64_t t = 0; t < steps; ++t)
      for (int64_t i = 0; i < depth; i += 2) {
        double angle = double(t) / std::pow(10000.0, double(i) / double(depth));
        table[t * depth + i] = float(std::sin(angle));
        table[t * depth + i + 1] = float(std::cos(angle));
      }
    auto tableType = RankedTensorType::get({steps, depth}, builder.getF32Type());
    Value pe = arith::ConstantOp::create(
        builder, l, DenseElementsAttr::get(tableType, ArrayRef<float>(table)));
    return attn::BinaryOp::create(builder, l, args[0], pe, attn::BinaryKind::add);
  }
  case Builtin::Zeros: {
    auto type = tensorType(e.type);
    if (!type.hasStaticShape()) {
      emitError(l, "zeros(...) needs bound dimensions");
      return nullptr;
    }
    return arith::ConstantOp::create(builder, l,
                                     DenseElementsAttr::get(type, 0.0f));
  }
  case Builtin::Dot: {
    Value product =
        attn::BinaryOp::create(builder, l, args[0], args[1], attn::BinaryKind::mul);
    int64_t last = cast<RankedTensorType>(product.getType()).getRank() - 1;
    return attn::ReduceOp::create(builder, l, product, attn::ReduceKind::sum,
                                  last, /*keepdim=*/true);
  }
  case Builtin::Where:
    return attn::SelectOp::create(builder, l, args[0], args[1], args[2]);
  case Builtin::Repeat:
    return attn::RepeatOp::create(builder, l, args[0], e.axis, e.count);
  case Builtin::Concat:
    return attn::ConcatOp::create(builder, l, args, e.axis);
  case Builtin::Permute:
    return attn::PermuteOp::create(builder, l, args[0], e.perm);
  default:
    emitError(l, "internal: no lowering for call to ") << e.name;
    return nullptr;
  }
}

SmallVector<Value> Generator::genAttention(const Expr &e) {
  const Expr::AttentionCall &call = *e.attention;
  Location l = loc(e.loc);
  auto genOpt = [&](const Expr *x) { return x ? gen(*x) : Value(); };
  Value query = gen(*call.query), memoryValues = gen(*call.values);
  SmallVector<Value> keys{gen(*call.keys)};
  for (const Expr *f : call.features)
    keys.push_back(gen(*f));
  Value lengths = genOpt(call.lengths), previous = genOpt(call.previous);
  if (!query || !memoryValues || llvm::is_contained(keys, Value()) ||
      (call.lengths && !lengths) || (call.previous && !previous))
    return {};
  auto normalization = call.normalization == "smoothing"
                           ? attn::Normalization::smoothing
                           : attn::Normalization::softmax;
  auto constraint = attn::symbolizeConstraint(call.constraint)
                        .value_or(attn::Constraint::none);
  auto op = attn::AttentionOp::create(builder, l, query, keys, memoryValues,
                                      lengths,
                                      previous, normalization, call.causal,
                                      constraint, call.window);
  Block *body = new Block();
  op.getScore().push_back(body);
  auto rowType = [](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return RankedTensorType::get({t.getShape().back()}, t.getElementType());
  };
  SmallVector<Value> rows{body->addArgument(rowType(query), l)};
  for (Value k : keys)
    rows.push_back(body->addArgument(rowType(k), l));

  if (!call.score) {
    // dot: Σ q·k; scaled_dot: Σ q·k / √d_k.
    int64_t dk = cast<RankedTensorType>(rows[1].getType()).getDimSize(0);
    buildDotScore(op, call.scoreName == "scaled_dot" ? 1.0 / std::sqrt(dk) : 1.0);
    return {op.getContextVector(), op.getWeights()};
  }
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(body);
  Value energy;
  {
    // The score's parameters name the rows while its body is generated.
    llvm::StringMap<Value> saved = values;
    for (auto [name, row] : llvm::zip(call.score->params, rows))
      values[name] = row;
    energy = gen(*call.score->body);
    values = std::move(saved);
    if (!energy)
      return {};
  }
  attn::YieldOp::create(builder, l, energy);
  return {op.getContextVector(), op.getWeights()};
}

void Generator::buildDotScore(attn::AttentionOp op, float scale) {
  Location l = op.getLoc();
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&op.getScore().front());
  Value product = attn::BinaryOp::create(builder, l, op.getQueryRow(),
                                         op.getKeyRow(), attn::BinaryKind::mul);
  Value energy = attn::ReduceOp::create(builder, l, product,
                                        attn::ReduceKind::sum, 0, true);
  if (scale != 1.0f) {
    auto one = RankedTensorType::get({1}, builder.getF32Type());
    Value c = arith::ConstantOp::create(builder, l,
                                        DenseElementsAttr::get(one, scale));
    energy = attn::BinaryOp::create(builder, l, energy, c, attn::BinaryKind::mul);
  }
  attn::YieldOp::create(builder, l, energy);
}

Value Generator::weightRows(Location l, Value weight, int64_t offset, int64_t n) {
  auto type = cast<RankedTensorType>(weight.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[0] = n;
  SmallVector<OpFoldResult> offsets(type.getRank(), builder.getIndexAttr(0)),
      sizes, strides(type.getRank(), builder.getIndexAttr(1));
  offsets[0] = builder.getIndexAttr(offset);
  for (int64_t d : shape)
    sizes.push_back(builder.getIndexAttr(d));
  return tensor::ExtractSliceOp::create(
      builder, l, RankedTensorType::get(shape, type.getElementType()), weight,
      offsets, sizes, strides);
}

Value Generator::genMultiHead(const Expr &e, ArrayRef<Value> args) {
  Location l = loc(e.loc);
  const Layer &layer = *e.layer;
  SmallVector<Value> &in = layerWeights[layer.name];               // in_proj
  SmallVector<Value> &out = layerWeights[layer.name + ".out_proj"]; // out_proj
  int64_t d = layer.units, heads = layer.heads, dk = d / heads;
  Value q = args[0], k = args.size() > 1 ? args[1] : args[0],
        v = args.size() > 2 ? args[2] : k;
  auto project = [&](Value x, int64_t i) -> Value {
    return attn::DenseOp::create(builder, l, x, weightRows(l, in[0], i * d, d),
                                 weightRows(l, in[1], i * d, d),
                                 attn::ActivationKind::none);
  };
  Type f32 = builder.getF32Type();
  // [B, T, H·dk] -> [B·H, T, dk]
  auto split = [&](Value x) -> Value {
    auto t = cast<RankedTensorType>(x.getType());
    int64_t b = t.getDimSize(0), n = t.getDimSize(1);
    Value e4 = tensor::ExpandShapeOp::create(
        builder, l, RankedTensorType::get({b, n, heads, dk}, f32), x,
        SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
    Value p = attn::PermuteOp::create(builder, l, e4,
                                      ArrayRef<int64_t>{0, 2, 1, 3});
    return tensor::CollapseShapeOp::create(
        builder, l, RankedTensorType::get({b * heads, n, dk}, f32), p,
        SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
  };
  auto qType = cast<RankedTensorType>(q.getType());
  if (!qType.hasStaticShape() ||
      !cast<RankedTensorType>(k.getType()).hasStaticShape()) {
    emitError(l, "multi_head_attention needs bound dimensions");
    return nullptr;
  }
  Value lengths;
  if (const Expr *len = e.kwarg("lengths")) {
    // [B] -> [B, H] -> [B·H]: every head of a row has the row's length.
    Value x = gen(*len);
    if (!x)
      return nullptr;
    Value r = attn::RepeatOp::create(builder, l, x, 1, heads);
    lengths = tensor::CollapseShapeOp::create(
        builder, l, RankedTensorType::get({qType.getDimSize(0) * heads}, f32), r,
        SmallVector<ReassociationIndices>{{0, 1}});
  }
  auto op = attn::AttentionOp::create(
      builder, l, split(project(q, 0)), ValueRange{split(project(k, 1))},
      split(project(v, 2)), lengths, /*previous=*/Value(),
      attn::Normalization::softmax, layer.causal);
  Block *body = new Block();
  op.getScore().push_back(body);
  auto row = RankedTensorType::get({dk}, f32);
  body->addArgument(row, l);
  body->addArgument(row, l);
  buildDotScore(op, float(1.0 / std::sqrt(double(dk))));
  // [B·H, Tq, dk] -> [B, Tq, H·dk]
  int64_t b = qType.getDimSize(0), tq = qType.getDimSize(1);
  Value e4 = tensor::ExpandShapeOp::create(
      builder, l, RankedTensorType::get({b, heads, tq, dk}, f32),
      op.getContextVector(), SmallVector<ReassociationIndices>{{0, 1}, {2}, {3}});
  Value p = attn::PermuteOp::create(builder, l, e4, ArrayRef<int64_t>{0, 2, 1, 3});
  Value merged = tensor::CollapseShapeOp::create(
      builder, l, RankedTensorType::get({b, tq, d}, f32), p,
      SmallVector<ReassociationIndices>{{0}, {1}, {2, 3}});
  return attn::DenseOp::create(builder, l, merged, out[0], out[1],
                               attn::ActivationKind::none);
}

SmallVector<Value> Generator::genLayerCall(const Expr &e, ArrayRef<Value> args) {
  Location l = loc(e.loc);
  const Layer &layer = *e.layer;
  SmallVector<Value> &w = layerWeights[layer.name];
  auto biasOrNull = [&](size_t i) { return i < w.size() ? w[i] : Value(); };
  switch (layer.kind) {
  case Builtin::LstmCell: {
    auto cell = attn::LstmCellOp::create(builder, l, args[0], args[1], args[2],
                                         w[0], w[1], w[2], w[3]);
    return {cell.getHNext(), cell.getCNext()};
  }
  case Builtin::GruCell:
    return {attn::GruCellOp::create(builder, l, args[0], args[1], w[0], w[1],
                                    w[2], w[3])
                .getResult()};
  case Builtin::Lstm:
  case Builtin::Gru:
  case Builtin::Bidirectional: {
    bool lstm = layer.cell == Builtin::Lstm;
    attn::Direction dir =
        layer.directions == 2
            ? (layer.merge == "sum" ? attn::Direction::bidirectional_sum
                                    : attn::Direction::bidirectional_concat)
            : (layer.goBackwards ? attn::Direction::reverse
                                 : attn::Direction::forward);
    // Unidirectional states are [B, H] in the language, [1, B, H] in the op.
    auto toOpState = [&](Value v) -> Value {
      if (!v || layer.directions == 2)
        return v;
      auto t = cast<RankedTensorType>(v.getType());
      auto type = RankedTensorType::get({1, t.getDimSize(0), t.getDimSize(1)},
                                        t.getElementType());
      return tensor::ExpandShapeOp::create(
          builder, l, type, v, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    };
    auto fromOpState = [&](Value v) -> Value {
      if (layer.directions == 2)
        return v;
      return attn::SqueezeOp::create(builder, l, v, 0);
    };
    Value h0 = toOpState(args.size() > 1 ? args[1] : Value());
    Value c0 = toOpState(args.size() > 2 ? args[2] : Value());
    SmallVector<Value> states;
    Value seq;
    auto hidden = builder.getI64IntegerAttr(layer.units);
    auto dirAttr = attn::DirectionAttr::get(&ctx, dir);
    if (lstm) {
      auto op = attn::LstmOp::create(builder, l, args[0], h0, c0, w, hidden,
                                     dirAttr);
      seq = op.getOutput();
      states = {op.getHN(), op.getCN()};
    } else {
      auto op = attn::GruOp::create(builder, l, args[0], h0, w, hidden, dirAttr,
                                    builder.getBoolAttr(true));
      seq = op.getOutput();
      states = {op.getHN()};
    }
    Value out = seq;
    if (!layer.returnSequences) {
      // The last output is the final hidden state (summed over directions
      // for merge=sum; Sema rejects merge=concat here).
      Value hN = states[0];
      out = layer.directions == 2
                ? Value(attn::ReduceOp::create(builder, l, hN,
                                               attn::ReduceKind::sum, 0, false))
                : Value(attn::SqueezeOp::create(builder, l, hN, 0));
    }
    SmallVector<Value> results = {out};
    if (layer.returnState)
      for (Value st : states)
        results.push_back(fromOpState(st));
    return results;
  }
  case Builtin::Conv1D: {
    int64_t t = cast<RankedTensorType>(args[0].getType()).getDimSize(1);
    int64_t k = layer.kernelSize, st = layer.stride, padL = 0, padR = 0;
    if (layer.padding == "same") {
      // TensorFlow's rule: output ceil(T / stride), extra padding on the right.
      int64_t out = (t + st - 1) / st;
      int64_t total = std::max<int64_t>((out - 1) * st + k - t, 0);
      padL = total / 2;
      padR = total - padL;
    }
    return {attn::Conv1DOp::create(builder, l, args[0], w[0], biasOrNull(1),
                                   st, padL, padR)
                .getResult()};
  }
  case Builtin::BatchNorm:
    return {attn::BatchNormOp::create(builder, l, args[0], w[0], w[1], w[2],
                                      w[3],
                                      builder.getF32FloatAttr(layer.epsilon))
                .getResult()};
  case Builtin::Embedding:
    return {attn::EmbeddingOp::create(builder, l, args[0], w[0]).getResult()};
  case Builtin::MultiHeadAttention: {
    Value y = genMultiHead(e, args);
    if (!y)
      return {};
    return {y};
  }
  case Builtin::Glu: {
    // proj(x) ⊙ σ(gate(x)) with the first/last `units` rows of one weight.
    int64_t u = layer.units;
    Value bias = biasOrNull(1);
    Value proj = attn::DenseOp::create(
        builder, l, args[0], weightRows(l, w[0], 0, u),
        bias ? weightRows(l, bias, 0, u) : Value(), attn::ActivationKind::none);
    Value gate = attn::DenseOp::create(
        builder, l, args[0], weightRows(l, w[0], u, u),
        bias ? weightRows(l, bias, u, u) : Value(), attn::ActivationKind::sigmoid);
    return {attn::BinaryOp::create(builder, l, proj, gate, attn::BinaryKind::mul)
                .getResult()};
  }
  default:
    return {attn::DenseOp::create(builder, l, args[0], w[0], biasOrNull(1),
                                  activationKind(layer.activation))
                .getResult()};
  }
}

OwningOpRef<ModuleOp>
heed::dsl::genModule(MLIRContext &context, const Model &model,
                     const llvm::StringMap<int64_t> &dims,
                     llvm::SourceMgr &sourceMgr) {
  context.loadDialect<attn::AttnDialect, func::FuncDialect,
                      arith::ArithDialect, scf::SCFDialect,
                      tensor::TensorDialect>();
  return Generator(context, model, dims, sourceMgr).run();
}
