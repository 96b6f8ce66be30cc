//===- MLIRGen.cpp - Build `attn` IR from a checked model -----------------===//
//
// Part of Heed. Reads Sema's annotations; every op's result type is inferred
// by the dialect, so this file states no shapes except those of arguments.
// MLIRGenImpl.h lists the files that build loops, layers and attention.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/MLIRGenImpl.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Verifier.h"

#include <cmath>

using namespace mlir;
using namespace heed;
using namespace heed::dsl;
using namespace heed::dsl::gen;

attn::ActivationKind heed::dsl::gen::activationKind(StringRef name) {
  return attn::symbolizeActivationKind(name).value_or(
      attn::ActivationKind::none);
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

  auto func =
      func::FuncOp::create(builder, loc(model.loc), model.name,
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
    Value v = entry->getArgument(arg++);
    if (w.layer.empty()) // a weight tensor is a value of its own name
      values[w.name] = v;
    else
      layerWeights[w.layer].push_back(v);
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
      SmallVector<OpFoldResult> offsets(type.getRank(),
                                        builder.getIndexAttr(0)),
          sizes, strides(type.getRank(), builder.getIndexAttr(1));
      for (int64_t d : type.getShape())
        sizes.push_back(builder.getIndexAttr(d));
      int64_t axis = type.getRank() > 1 ? 1 : 0;
      offsets[axis] = frame.yieldAt ? frame.yieldAt : frame.step;
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
      return liveRowsValue(e, beamValue(e, it->second));
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
    return attn::BinaryOp::create(builder, l, x, minusOne,
                                  attn::BinaryKind::mul);
  }
  case Expr::Kind::Binary: {
    Value lhs = gen(*e.args[0]), rhs = lhs ? gen(*e.args[1]) : Value();
    if (!rhs)
      return nullptr;
    if (e.op == '@')
      return genMatmul(l, lhs, rhs);
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
      int64_t size =
          e.sliceSizes[axis] >= 0 ? e.sliceSizes[axis] : type.getDimSize(axis);
      if (ShapedType::isDynamic(size) ||
          ShapedType::isDynamic(type.getDimSize(axis))) {
        emitError(l, "indexing needs static shapes; bind the dimensions");
        return nullptr;
      }
      int64_t offset = e.sliceFromEnd[axis]
                           ? type.getDimSize(axis) - e.sliceOffsets[axis]
                           : e.sliceOffsets[axis];
      // A slice moving with a loop variable reaches its farthest at the
      // last step.
      const LoopFrame *moving = nullptr;
      if (!e.sliceVar[axis].empty())
        for (LoopFrame *frame : loops)
          if (frame->var == e.sliceVar[axis])
            moving = frame;
      int64_t scale = e.sliceScale.empty() ? 1 : e.sliceScale[axis];
      if (moving && (scale != 1 || offset != 0)) {
        // The start at the first and at the last step bound every other.
        int64_t last = scale * (moving->count - 1) + offset;
        if (std::min(offset, last) < 0 ||
            std::max(offset, last) + size > type.getDimSize(axis)) {
          emitError(l, "the slice ")
              << scale << "·" << e.sliceVar[axis] << " + " << offset
              << " (size " << size << ") leaves axis " << axis << " of size "
              << type.getDimSize(axis) << " at step " << moving->count - 1;
          return nullptr;
        }
      } else if (offset < 0 || offset + size > type.getDimSize(axis)) {
        if (e.sliceFromEnd[axis])
          emitError(l, "index ")
              << -e.sliceOffsets[axis] << " from the end (size " << size
              << ") is outside axis " << axis << " of size "
              << type.getDimSize(axis);
        else
          emitError(l, "index ")
              << offset << " (size " << size << ") is outside axis " << axis
              << " of size " << type.getDimSize(axis);
        return nullptr;
      }
      offsets.push_back(builder.getIndexAttr(offset));
      if (moving) {
        Value start = moving->step;
        if (scale != 1)
          start = arith::MulIOp::create(
              builder, l, start,
              arith::ConstantIndexOp::create(builder, l, scale));
        if (offset != 0)
          start = arith::AddIOp::create(
              builder, l, start,
              arith::ConstantIndexOp::create(builder, l, offset));
        offsets.back() = start;
      }
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
  switch (e.builtin) {
  case Builtin::TopK:
  case Builtin::Cumsum:
  case Builtin::MaxPool1D:
  case Builtin::AvgPool1D:
    return genScanBuiltin(e, args);
  default:
    break;
  }
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
  case Builtin::LogSoftmax: {
    // (x - max) - log Σ exp(x - max), as torch.log_softmax.
    Value shifted = attn::BinaryOp::create(
        builder, l, args[0],
        attn::ReduceOp::create(builder, l, args[0], attn::ReduceKind::max,
                               e.axis, /*keepdim=*/true),
        attn::BinaryKind::sub);
    Value total = attn::ReduceOp::create(
        builder, l, activate(l, shifted, attn::ActivationKind::exp),
        attn::ReduceKind::sum, e.axis, /*keepdim=*/true);
    return attn::BinaryOp::create(builder, l, shifted,
                                  activate(l, total, attn::ActivationKind::log),
                                  attn::BinaryKind::sub);
  }
  case Builtin::Choose:
    return genChoose(e, args[0]);
  case Builtin::Squeeze:
    return attn::SqueezeOp::create(builder, l, args[0], e.axis);
  case Builtin::Sum:
  case Builtin::Mean:
  case Builtin::Max: {
    attn::ReduceKind kind = e.builtin == Builtin::Sum ? attn::ReduceKind::sum
                            : e.builtin == Builtin::Mean
                                ? attn::ReduceKind::mean
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
    auto tableType =
        RankedTensorType::get({steps, depth}, builder.getF32Type());
    Value pe = arith::ConstantOp::create(
        builder, l, DenseElementsAttr::get(tableType, ArrayRef<float>(table)));
    return attn::BinaryOp::create(builder, l, args[0], pe,
                                  attn::BinaryKind::add);
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
    Value product = attn::BinaryOp::create(builder, l, args[0], args[1],
                                           attn::BinaryKind::mul);
    int64_t last = cast<RankedTensorType>(product.getType()).getRank() - 1;
    return attn::ReduceOp::create(builder, l, product, attn::ReduceKind::sum,
                                  last, /*keepdim=*/true);
  }
  case Builtin::Sqrt:
    return activate(l, args[0], attn::ActivationKind::sqrt);
  case Builtin::Rsqrt:
    return activate(l, args[0], attn::ActivationKind::rsqrt);
  case Builtin::Log:
    return activate(l, args[0], attn::ActivationKind::log);
  case Builtin::Abs:
    return activate(l, args[0], attn::ActivationKind::abs);
  case Builtin::Gelu:
    return activate(l, args[0], attn::ActivationKind::gelu);
  case Builtin::Pow:
    return genPow(l, args[0], args[1], e.exponent);
  case Builtin::Minimum:
    return attn::BinaryOp::create(builder, l, args[0], args[1],
                                  attn::BinaryKind::min);
  case Builtin::Maximum:
    return attn::BinaryOp::create(builder, l, args[0], args[1],
                                  attn::BinaryKind::max);
  case Builtin::Clip: {
    Value lower = attn::BinaryOp::create(builder, l, args[0], args[1],
                                         attn::BinaryKind::max);
    return attn::BinaryOp::create(builder, l, lower, args[2],
                                  attn::BinaryKind::min);
  }
  case Builtin::Reshape:
  case Builtin::Stack:
  case Builtin::Arange:
  case Builtin::SequenceMask:
  case Builtin::Take:
    return genShapeBuiltin(e, args);
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

OwningOpRef<ModuleOp> heed::dsl::genModule(MLIRContext &context,
                                           const Model &model,
                                           const llvm::StringMap<int64_t> &dims,
                                           llvm::SourceMgr &sourceMgr,
                                           const GenOptions &options) {
  context.loadDialect<attn::AttnDialect, func::FuncDialect, arith::ArithDialect,
                      scf::SCFDialect, tensor::TensorDialect,
                      linalg::LinalgDialect>();
  return Generator(context, model, dims, sourceMgr, options).run();
}

Value Generator::genMatmul(Location l, Value a, Value b) {
  int64_t rankA = cast<RankedTensorType>(a.getType()).getRank();
  int64_t rankB = cast<RankedTensorType>(b.getType()).getRank();
  if (rankB == 1) {
    // [..., K] @ [K]: Σ_k a[..., k] · b[k]; a vector · vector is one
    // number, kept as [1]. Only ops every attention lowering can lift.
    Value terms =
        attn::BinaryOp::create(builder, l, a, b, attn::BinaryKind::mul);
    return attn::ReduceOp::create(builder, l, terms, attn::ReduceKind::sum,
                                  rankA - 1, /*keepdim=*/rankA == 1);
  }
  if (rankB == 2) {
    // [..., K] @ [K, N] is a dense layer with weight [N, K]: the transpose
    // of a weight is weight-only work, done once when weights are bound.
    Value weight =
        attn::PermuteOp::create(builder, l, b, ArrayRef<int64_t>{1, 0});
    return attn::DenseOp::create(builder, l, a, weight, Value(),
                                 attn::ActivationKind::none);
  }
  // Batched: Σ_k a[..., m, k, 1] · b[..., 1, k, n] over k; the product
  // broadcasts the batch axes and fuses into the reduction. A 1-D `a` is
  // the row [1, K], whose axis the result drops.
  bool rowVector = rankA == 1;
  if (rowVector)
    a = insertUnitAxis(builder, l, a, 0);
  int64_t rank = cast<RankedTensorType>(a.getType()).getRank();
  Value left = insertUnitAxis(builder, l, a, rank);
  Value right = insertUnitAxis(builder, l, b, rankB - 2);
  Value terms =
      attn::BinaryOp::create(builder, l, left, right, attn::BinaryKind::mul);
  int64_t termsRank = cast<RankedTensorType>(terms.getType()).getRank();
  Value product = attn::ReduceOp::create(builder, l, terms,
                                         attn::ReduceKind::sum, termsRank - 2,
                                         /*keepdim=*/false);
  if (rowVector)
    product = attn::SqueezeOp::create(
        builder, l, product,
        cast<RankedTensorType>(product.getType()).getRank() - 2);
  return product;
}

Value Generator::genPow(Location l, Value x, Value y,
                        std::optional<double> exponent) {
  // PyTorch computes these exponents without pow() (its CPU kernel's
  // special cases), which differs from powf on special values:
  // pow(-inf, 0.5) is sqrt(-inf) = NaN there, +inf in C.
  auto mul = [&](Value a, Value b) -> Value {
    return attn::BinaryOp::create(builder, l, a, b, attn::BinaryKind::mul);
  };
  auto reciprocal = [&](Value a) -> Value {
    Value one = arith::ConstantOp::create(
        builder, l,
        DenseElementsAttr::get(RankedTensorType::get({1}, builder.getF32Type()),
                               1.0f));
    return attn::BinaryOp::create(builder, l, one, a, attn::BinaryKind::div);
  };
  // A constant exponent is a number, [1], so the result has x's shape.
  Value v;
  if (exponent && *exponent == 2)
    v = mul(x, x);
  else if (exponent && *exponent == 3)
    v = mul(mul(x, x), x);
  else if (exponent && *exponent == 0.5)
    v = activate(l, x, attn::ActivationKind::sqrt);
  else if (exponent && *exponent == -0.5)
    v = activate(l, x, attn::ActivationKind::rsqrt);
  else if (exponent && *exponent == -1)
    v = reciprocal(x);
  else if (exponent && *exponent == -2)
    v = reciprocal(mul(x, x));
  return v ? v
           : attn::BinaryOp::create(builder, l, x, y, attn::BinaryKind::pow)
                 .getResult();
}
