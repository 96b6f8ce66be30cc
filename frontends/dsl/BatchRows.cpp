//===- BatchRows.cpp - Are a model's batch rows independent? --------------===//
//
// Part of Heed. See BatchRows.h.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/BatchRows.h"

#include "llvm/ADT/STLExtras.h"

using namespace heed::dsl;

namespace {

class BatchRowCheck {
public:
  BatchRowCheck(const Model &model, std::string batch)
      : model(model), batch(std::move(batch)) {}

  /// Empty when every row is independent, else the first reason found.
  std::string run() {
    for (auto &out : model.outputs)
      if (!leadsWithBatch(out.value->type))
        return "output '" + out.name + "' " + shapeStr(out.value->type) +
               " does not have the batch " + batch + " as its first axis";
    for (auto &stmt : model.stmts)
      if (!visit(*stmt))
        return why;
    return "";
  }

private:
  bool leadsWithBatch(const Shape &shape) const {
    return !shape.empty() && !shape[0].isKnown() && shape[0].symbol == batch;
  }

  bool reject(const std::string &reason) {
    why = reason;
    return false;
  }

  bool visit(const Stmt &stmt) {
    switch (stmt.kind) {
    case Stmt::Kind::Input:
    case Stmt::Kind::Layer:
    case Stmt::Kind::Score: // score bodies see single rows
    case Stmt::Kind::Weight:
      return true;
    case Stmt::Kind::Assign:
    case Stmt::Kind::Output:
    case Stmt::Kind::Yield:
      return !stmt.value || visit(*stmt.value);
    case Stmt::Kind::For:
      // The count is a number or a dimension; `until` stops the loop when
      // every row has finished, and a finished row's values stay fixed, so
      // a block of rows computes the same values for those rows.
      for (auto &init : stmt.carryInits)
        if (init && !visit(*init))
          return false;
      for (auto &inner : stmt.body)
        if (!visit(*inner))
          return false;
      return !stmt.until || visit(*stmt.until);
    }
    return true;
  }

  bool visit(const Expr &e) {
    // Null children: the missing bounds of a slice (`a:`, `:`).
    for (auto &arg : e.args)
      if (arg && !visit(*arg))
        return false;
    for (auto &arg : e.kwArgs)
      if (arg && !visit(*arg))
        return false;
    switch (e.kind) {
    case Expr::Kind::Number:
    case Expr::Kind::Slice:
    case Expr::Kind::List:
      return true;
    default:
      break;
    }
    // Scalars (loop variables, integer arguments) carry no rows.
    if (e.type.empty())
      return true;
    if (!leadsWithBatch(e.type)) {
      // Constants without rows: zeros(4), the model's parameters.
      if (e.kind == Expr::Kind::Call &&
          (e.builtin == Builtin::Zeros || e.builtin == Builtin::Arange))
        return true;
      if (e.kind == Expr::Kind::Name &&
          llvm::any_of(model.params,
                       [&](const Param &p) { return p.name == e.name; }))
        return true;
      // Weight tensors (`parameter v_a: [128]`) are shared by every row.
      if (e.kind == Expr::Kind::Name &&
          llvm::any_of(model.weightOwners, [&](const auto &owner) {
            auto *w = std::get_if<Model::WeightTensor>(&owner);
            return w && w->name == e.name;
          }))
        return true;
      return reject("a value of shape " + shapeStr(e.type) +
                    " does not have the batch " + batch + " as its first axis");
    }
    // The batch size used as another axis would change with the block.
    for (size_t i = 1; i < e.type.size(); ++i)
      if (!e.type[i].isKnown() && e.type[i].symbol == batch)
        return reject("a value of shape " + shapeStr(e.type) +
                      " uses the batch " + batch + " as another axis");
    if (e.kind == Expr::Kind::Index) {
      if (!e.sliceDrop.empty() && (e.sliceDrop[0] || e.sliceOffsets[0] != 0))
        return reject("an index into the batch axis");
      return true;
    }
    if (e.kind != Expr::Kind::Call || e.layer)
      return true;
    auto operandRank = [&]() -> size_t {
      return e.args.empty() ? 0 : e.args[0]->type.size();
    };
    switch (e.builtin) {
    case Builtin::Softmax:
    case Builtin::LogSoftmax:
    case Builtin::Sum:
    case Builtin::Mean:
    case Builtin::Max:
    case Builtin::Concat:
    case Builtin::Squeeze:
    case Builtin::Repeat:
    case Builtin::Cumsum:
      if (e.axis == 0)
        return reject("'" + e.name + "' over the batch axis");
      return true;
    case Builtin::Argmax:
    case Builtin::Dot:
      if (operandRank() == 1)
        return reject("'" + e.name + "' of a [" + batch +
                      "] tensor works over the batch axis");
      return true;
    case Builtin::Permute:
      if (!e.perm.empty() && e.perm[0] != 0)
        return reject("'permute' moves the batch axis");
      return true;
    case Builtin::Stack:
      if (e.axis == 0)
        return reject("'stack' on the batch axis");
      return true;
    case Builtin::Reshape:
      // Rows stay rows when the batch axis leads both shapes.
      if (e.args.empty() || !leadsWithBatch(e.args[0]->type))
        return reject("'reshape' of a value without the batch axis first");
      return true;
    default:
      return true;
    }
  }

  const Model &model;
  std::string batch;
  std::string why;
};

} // namespace

std::optional<std::string> heed::dsl::independentBatchRows(const Model &model,
                                                          std::string *why) {
  auto fail = [&](const std::string &reason) -> std::optional<std::string> {
    if (why)
      *why = reason;
    return std::nullopt;
  };
  if (model.inputs.empty() || model.inputs[0].shape.empty() ||
      model.inputs[0].shape[0].isKnown())
    return fail("the first input has no symbolic first axis");
  std::string batch = model.inputs[0].shape[0].symbol;
  for (auto &in : model.inputs)
    if (in.shape.empty() || in.shape[0].isKnown() || in.shape[0].symbol != batch)
      return fail("input '" + in.name + "' " + shapeStr(in.shape) +
                  " does not have the batch " + batch + " as its first axis");
  std::string reason = BatchRowCheck(model, batch).run();
  if (!reason.empty())
    return fail(reason);
  return batch;
}
