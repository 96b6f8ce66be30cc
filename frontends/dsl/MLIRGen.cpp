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
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/ScopedHashTable.h"

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

  Value gen(const Expr &e);
  Value genCall(const Expr &e);
  Value activate(Location l, Value x, attn::ActivationKind kind) {
    return attn::ActivateOp::create(builder, l, x, kind);
  }

  MLIRContext &ctx;
  OpBuilder builder;
  const Model &model;
  const llvm::StringMap<int64_t> &dims;
  llvm::SourceMgr &sm;
  llvm::StringMap<Value> values;
  llvm::StringMap<std::pair<Value, Value>> layerWeights;
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
  for (auto &layer : model.layers) {
    Value w = entry->getArgument(arg++);
    Value b = layer->useBias ? entry->getArgument(arg++) : Value();
    layerWeights[layer->name] = {w, b};
  }

  SmallVector<Value> results;
  for (auto &stmt : model.stmts) {
    switch (stmt->kind) {
    case Stmt::Kind::Assign: {
      Value v = gen(*stmt->value);
      if (!v)
        return nullptr;
      values[stmt->names[0]] = v;
      break;
    }
    case Stmt::Kind::Output: {
      Value v = gen(*stmt->value);
      if (!v)
        return nullptr;
      values[stmt->names[0]] = v;
      results.push_back(v);
      break;
    }
    default:
      break;
    }
  }
  func::ReturnOp::create(builder, loc(model.loc), results);
  if (failed(verify(*module)))
    return nullptr;
  return module;
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
    attn::BinaryKind kind = e.op == '+'   ? attn::BinaryKind::add
                            : e.op == '-' ? attn::BinaryKind::sub
                            : e.op == '*' ? attn::BinaryKind::mul
                                          : attn::BinaryKind::div;
    return attn::BinaryOp::create(builder, l, lhs, rhs, kind);
  }
  case Expr::Kind::Call:
    return genCall(e);
  case Expr::Kind::List:
    break;
  }
  emitError(l, "internal: unexpected expression");
  return nullptr;
}

Value Generator::genCall(const Expr &e) {
  Location l = loc(e.loc);
  SmallVector<Value> args;
  for (auto &a : e.args) {
    if (a->kind == Expr::Kind::List || !a->type.size())
      continue; // compile-time arguments (counts, axes, permutations)
    Value v = gen(*a);
    if (!v)
      return nullptr;
    args.push_back(v);
  }
  if (e.layer) {
    auto [w, b] = layerWeights[e.layer->name];
    return attn::DenseOp::create(builder, l, args[0], w, b,
                                 activationKind(e.layer->activation));
  }
  switch (e.builtin) {
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

OwningOpRef<ModuleOp>
heed::dsl::genModule(MLIRContext &context, const Model &model,
                     const llvm::StringMap<int64_t> &dims,
                     llvm::SourceMgr &sourceMgr) {
  context.loadDialect<attn::AttnDialect, func::FuncDialect,
                      arith::ArithDialect>();
  return Generator(context, model, dims, sourceMgr).run();
}
