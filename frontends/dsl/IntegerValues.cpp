//===- IntegerValues.cpp - Which outputs hold integers --------------------===//
//
// Part of Heed. A forward pass over the statements with one flag per name
// ("every value is an integer"); loop states start from their initial
// values and are narrowed until the body no longer changes them. Only what
// is integer by construction counts: a float that happens to be whole does
// not, and comparisons (0/1 masks) stay float32, as in the model's math.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/IntegerValues.h"

#include "llvm/ADT/StringMap.h"

#include <cmath>

using namespace heed::dsl;

namespace {

class IntegerValues {
public:
  explicit IntegerValues(const Model &model) {
    for (const Param &p : model.params)
      env[p.name] = p.number == std::floor(p.number);
    for (const Model::Input &in : model.inputs)
      env[in.name] = in.isInteger();
  }

  void statements(const std::vector<std::unique_ptr<Stmt>> &body,
                  llvm::StringMap<bool> *yields) {
    for (const auto &s : body)
      statement(*s, yields);
  }

  bool expr(const Expr &e) {
    switch (e.kind) {
    case Expr::Kind::Number:
      return e.isInt;
    case Expr::Kind::Name: {
      auto it = env.find(e.name);
      return it != env.end() && it->second;
    }
    case Expr::Kind::Neg:
      return expr(*e.args[0]);
    case Expr::Kind::Binary:
      return !isComparison(e.op) && e.op != '/' && e.op != '@' && expr(*e.args[0]) &&
             expr(*e.args[1]);
    case Expr::Kind::Index:
      return expr(*e.args[0]);
    case Expr::Kind::List:
    case Expr::Kind::Slice:
      return false;
    case Expr::Kind::Call:
      return call(e);
    }
    return false;
  }

  /// Each output's flag, taken where it is declared.
  llvm::StringMap<bool> outputs;

private:
  llvm::StringMap<bool> env;

  bool call(const Expr &e) {
    if (e.layer)
      return false; // layers compute in floats
    switch (e.builtin) {
    case Builtin::Argmax:
    case Builtin::Choose:
    case Builtin::Zeros:
    case Builtin::Arange:
      return true;
    case Builtin::Reshape:
    case Builtin::Take:
    case Builtin::Cumsum:
    case Builtin::MaxPool1D:
      return !e.args.empty() && expr(*e.args[0]);
    case Builtin::Max:
    case Builtin::Sum:
    case Builtin::Repeat:
    case Builtin::Squeeze:
    case Builtin::Permute:
    case Builtin::Dropout:
    case Builtin::Abs:
      return !e.args.empty() && expr(*e.args[0]);
    case Builtin::Minimum:
    case Builtin::Maximum:
    case Builtin::Clip:
    case Builtin::Stack:
    case Builtin::Concat:
      for (const auto &a : e.args)
        if (!expr(*a))
          return false;
      return !e.args.empty();
    case Builtin::Where:
      return e.args.size() == 3 && expr(*e.args[1]) && expr(*e.args[2]);
    default:
      return false;
    }
  }

  void statement(const Stmt &s, llvm::StringMap<bool> *yields) {
    switch (s.kind) {
    case Stmt::Kind::Assign: {
      // Several results come from layers and cells (floats), or from
      // topk: its values are what it picks from, its indices integers.
      if (s.value->kind == Expr::Kind::Call && !s.value->layer &&
          s.value->builtin == Builtin::TopK && s.names.size() == 2) {
        env[s.names[0]] = expr(*s.value->args[0]);
        env[s.names[1]] = true;
        return;
      }
      bool integer = s.names.size() == 1 && expr(*s.value);
      for (const std::string &name : s.names)
        if (name != "_")
          env[name] = integer;
      return;
    }
    case Stmt::Kind::Output:
      env[s.names[0]] = outputs[s.names[0]] = expr(*s.value);
      return;
    case Stmt::Kind::Yield:
      if (yields)
        (*yields)[s.names[0]] = expr(*s.value);
      return;
    case Stmt::Kind::For:
      loop(s);
      return;
    default:
      return;
    }
  }

  void loop(const Stmt &s) {
    std::vector<bool> carried;
    for (const auto &init : s.carryInits)
      carried.push_back(expr(*init));
    llvm::StringMap<bool> outer = env, yields;
    // Narrow the states until a pass through the body keeps them: each
    // pass can only turn flags off, so this ends within #states passes.
    for (size_t pass = 0; pass <= carried.size(); ++pass) {
      env = outer;
      env[s.names[0]] = true; // the loop variable
      for (size_t i = 0; i < carried.size(); ++i)
        env[s.carryNames[i]] = carried[i];
      yields.clear();
      statements(s.body, &yields);
      bool changed = false;
      for (size_t i = 0; i < carried.size(); ++i) {
        bool after = carried[i] && env[s.carryNames[i]];
        changed |= after != carried[i];
        carried[i] = after;
      }
      if (!changed)
        break;
    }
    env = outer;
    for (size_t i = 0; i < carried.size(); ++i)
      env[s.carryNames[i]] = carried[i];
    for (auto &y : yields)
      env[y.getKey()] = y.getValue();
    if (!s.lengthsName.empty())
      env[s.lengthsName] = true;
  }
};

} // namespace

void heed::dsl::markIntegerOutputs(Model &model) {
  IntegerValues values(model);
  values.statements(model.stmts, nullptr);
  for (Model::Output &out : model.outputs)
    out.integer = values.outputs.lookup(out.name);
}
