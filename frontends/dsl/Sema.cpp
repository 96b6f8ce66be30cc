//===- Sema.cpp - Semantic checks of the Heed model language --------------===//
//
// Part of Heed. One pass over the statements in order, with a scope of names:
// parameters (numbers), layers, and tensors with symbolic shapes.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Sema.h"
#include "runtime/Limits.h"
#include "frontends/dsl/IdRanges.h"
#include "frontends/dsl/IntegerValues.h"
#include "frontends/dsl/Builtins.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <cstdio>

using namespace heed::dsl;
using llvm::SMLoc;
using llvm::Twine;

namespace {

/// What a name stands for.
struct Symbol {
  enum class Kind { Number, Tensor, Layer, LoopVar, Score };
  Kind kind;
  double number = 0;
  Shape shape;
  Layer *layer = nullptr;
  ScoreDef *score = nullptr;
};

class Sema {
public:
  Sema(Model &model, llvm::SourceMgr &sm, const llvm::StringMap<double> &params)
      : model(model), sm(sm), overrides(params) {}
  bool run();

private:
  bool error(SMLoc loc, const Twine &msg) {
    sm.PrintMessage(loc, llvm::SourceMgr::DK_Error, msg);
    return false;
  }
  /// A note after an error (returns false, as the error did).
  bool note(SMLoc loc, const Twine &msg) {
    sm.PrintMessage(loc, llvm::SourceMgr::DK_Note, msg);
    return false;
  }

  bool checkStmt(Stmt &s);
  bool checkFor(Stmt &s);
  /// The `until` part of a loop, checked after its body.
  bool checkStoppingLoop(Stmt &s, const std::vector<Shape> &carried,
                         const std::vector<std::pair<std::string, Shape>> &yields);
  bool checkLayerDecl(Layer &layer);
  bool checkRecurrentDecl(Layer &layer, Expr &decl, bool wrapped);
  bool checkSequenceLayerCall(Expr &e, Layer &layer);
  bool checkBody(std::vector<std::unique_ptr<Stmt>> &body,
                 std::vector<std::pair<std::string, Shape>> &yields);
  std::optional<int64_t> intKwarg(const Expr &call, llvm::StringRef name,
                                  int64_t defaultValue, size_t position = SIZE_MAX);
  bool fixInFeatures(Layer &layer, const Expr &arg, int64_t size);
  /// Evaluates a compile-time number (parameters, dims, counts).
  std::optional<double> evalNumber(const Expr &e, bool quiet = false);
  std::optional<int64_t> evalInt(const Expr &e, const Twine &what);
  /// Types a tensor-valued expression into `e.type`.
  bool checkTensor(Expr &e);
  bool checkTensorKind(Expr &e);
  bool checkCall(Expr &e);
  bool checkLayerCall(Expr &e, Layer &layer);
  bool checkBuiltinCall(Expr &e);
  bool checkAttention(Expr &e);
  bool checkIndex(Expr &e);
  bool checkMultiHeadCall(Expr &e, Layer &layer);
  /// Types a score function's body for the given row shapes.
  bool checkScoreBody(ScoreDef &def, const std::vector<Shape> &rows,
                      SMLoc useLoc);
  /// Records that input `arg` (when it is an input) must hold integers in
  /// [min, max], checked by the driver before each run.
  void constrainInput(const Expr &arg, const std::string &role, int64_t min,
                      Dim max);
  bool broadcast(const Shape &l, const Shape &r, Shape &out, SMLoc loc);
  bool axisArg(Expr &call, size_t position, int64_t rank, bool required,
               int64_t defaultAxis, bool forInsert = false);
  bool expectArgs(Expr &call, size_t minPos, size_t maxPos,
                  std::initializer_list<llvm::StringRef> keywords);
  bool define(const std::string &name, SMLoc loc, Symbol sym);

  Model &model;
  llvm::SourceMgr &sm;
  const llvm::StringMap<double> &overrides;
  llvm::StringMap<Symbol> scope;
};

} // namespace

bool Sema::define(const std::string &name, SMLoc loc, Symbol sym) {
  auto it = scope.find(name);
  if (it != scope.end()) {
    Symbol::Kind old = it->second.kind;
    // Tensors may be rebound (`x = tanh(x)`); nothing else may be shadowed.
    if (old != Symbol::Kind::Tensor || sym.kind != Symbol::Kind::Tensor) {
      const char *what = old == Symbol::Kind::Number    ? "parameter"
                         : old == Symbol::Kind::Layer   ? "layer"
                         : old == Symbol::Kind::LoopVar ? "loop variable"
                         : old == Symbol::Kind::Score   ? "score function"
                                                        : "tensor";
      return error(loc, "'" + name + "' is already defined as a " + what);
    }
  }
  if (sym.kind != Symbol::Kind::Tensor &&
      (lookupFunction(name) != Builtin::None ||
       lookupLayerKind(name) != Builtin::None))
    return error(loc, "'" + name + "' is a built-in name and cannot be redefined");
  scope[name] = std::move(sym);
  return true;
}

bool Sema::run() {
  for (Param &p : model.params) {
    auto given = overrides.find(p.name);
    auto v = given != overrides.end() ? std::optional<double>(given->second)
                                      : evalNumber(*p.value);
    if (!v)
      return false;
    p.number = *v;
    Symbol sym{Symbol::Kind::Number};
    sym.number = *v;
    if (!define(p.name, p.loc, sym))
      return false;
  }
  for (auto &s : model.stmts)
    if (!checkStmt(*s))
      return false;
  if (model.inputs.empty())
    return error(model.loc, "model '" + model.name + "' declares no input");
  if (model.outputs.empty())
    return error(model.loc, "model '" + model.name + "' declares no output");
  for (auto &layer : model.layers)
    if (!layer->inFeatures)
      return error(layer->loc, "layer '" + layer->name +
                                   "' is never used, so its input size is "
                                   "unknown; remove it or call it");
  return true;
}

bool Sema::checkStmt(Stmt &s) {
  switch (s.kind) {
  case Stmt::Kind::Input: {
    for (auto &in : model.inputs)
      if (in.name == s.names[0]) {
        error(s.nameLocs[0], "input '" + s.names[0] + "' is declared twice");
        return note(in.loc, "first declared here");
      }
    auto earlier = scope.find(s.names[0]);
    if (earlier != scope.end() &&
        earlier->second.kind == Symbol::Kind::Tensor)
      return error(s.nameLocs[0], "input '" + s.names[0] +
                                      "' is declared after '" + s.names[0] +
                                      "' was already defined");
    Shape shape;
    for (auto &d : s.shape) {
      // A bare name that is not a parameter introduces a symbolic dimension.
      if (d->kind == Expr::Kind::Name && !scope.count(d->name)) {
        shape.push_back(Dim::named(d->name));
        if (std::find(model.symbols.begin(), model.symbols.end(), d->name) ==
            model.symbols.end())
          model.symbols.push_back(d->name);
        continue;
      }
      auto n = evalInt(*d, "dimension");
      if (!n)
        return false;
      if (*n <= 0)
        return error(d->loc, "dimension must be positive, got " + Twine(*n));
      shape.push_back(Dim::known(*n));
    }
    Symbol sym{Symbol::Kind::Tensor};
    sym.shape = shape;
    if (!define(s.names[0], s.nameLocs[0], sym))
      return false;
    model.inputs.push_back({s.names[0], shape, s.nameLocs[0], s.elementType});
    return true;
  }
  case Stmt::Kind::Layer: {
    if (!checkLayerDecl(*s.layer))
      return false;
    Symbol sym{Symbol::Kind::Layer};
    sym.layer = s.layer;
    return define(s.names[0], s.nameLocs[0], sym);
  }
  case Stmt::Kind::Assign: {
    if (!checkTensor(*s.value))
      return false;
    size_t produced = s.value->results.empty() ? 1 : s.value->results.size();
    if (s.names.size() != produced)
      return error(s.names.size() > produced ? s.nameLocs[produced]
                                             : s.nameLocs[0],
                   "this expression yields " + Twine(produced) + " value" +
                       (produced == 1 ? "" : "s") + ", but " +
                       Twine(s.names.size()) + " names are assigned");
    for (size_t i = 0; i < s.names.size(); ++i) {
      if (s.names[i] == "_") // discarded, as in the seeds' `s, _, c = ...`
        continue;
      Symbol sym{Symbol::Kind::Tensor};
      sym.shape = produced == 1 ? s.value->type : s.value->results[i];
      if (!define(s.names[i], s.nameLocs[i], sym))
        return false;
    }
    return true;
  }
  case Stmt::Kind::Output: {
    for (auto &o : model.outputs)
      if (o.name == s.names[0])
        return error(s.nameLocs[0], "output '" + s.names[0] +
                                        "' is declared twice");
    if (!checkTensor(*s.value))
      return false;
    model.outputs.push_back({s.names[0], s.value.get(), s.nameLocs[0]});
    if (s.value->kind != Expr::Kind::Name || s.value->name != s.names[0]) {
      Symbol sym{Symbol::Kind::Tensor};
      sym.shape = s.value->type;
      return define(s.names[0], s.nameLocs[0], sym);
    }
    return true;
  }
  case Stmt::Kind::Score: {
    Symbol sym{Symbol::Kind::Score};
    sym.score = s.score;
    if (s.score->params.empty())
      return error(s.score->loc, "score '" + s.score->name +
                                     "' needs parameters: (query, key, ...)");
    return define(s.names[0], s.nameLocs[0], sym);
  }
  case Stmt::Kind::For:
    return checkFor(s);
  case Stmt::Kind::Yield:
    return error(s.loc, "'yield' outside of a loop");
  }
  return true;
}

/// A number as Python prints it (`1e+11`, `0.5`).
static std::string formatNumber(double v) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", v);
  return text;
}

bool Sema::checkFor(Stmt &s) {
  // The count: a number, a parameter, or a symbolic dimension of an input
  // (bound when inputs arrive).
  const Expr &countExpr = *s.value;
  if (countExpr.kind == Expr::Kind::Name &&
      std::find(model.symbols.begin(), model.symbols.end(), countExpr.name) !=
          model.symbols.end() &&
      !scope.count(countExpr.name)) {
    s.count = Dim::named(countExpr.name);
  } else {
    auto count = evalNumber(countExpr, /*quiet=*/true);
    if (!count || std::floor(*count) != *count || *count < 1)
      return error(countExpr.loc,
                   "loop count must be a known positive integer (a number, a "
                   "model parameter or a dimension of an input)");
    if (*count > double(heed::limits::kMaxDimension))
      return error(countExpr.loc, "loop count " + formatNumber(*count) +
                                      " is too large (the limit is " +
                                      Twine(heed::limits::kMaxDimension) + ")");
    s.count = Dim::known(int64_t(*count));
  }
  std::vector<Shape> carried;
  for (size_t i = 0; i < s.carryNames.size(); ++i) {
    if (!checkTensor(*s.carryInits[i]))
      return false;
    carried.push_back(s.carryInits[i]->type);
  }
  llvm::StringMap<Symbol> outer = scope;
  Symbol loopVar{Symbol::Kind::LoopVar};
  loopVar.shape = {s.count}; // x[:, t] indexes an axis of this size
  if (!define(s.names[0], s.nameLocs[0], loopVar))
    return false;
  for (size_t i = 0; i < s.carryNames.size(); ++i) {
    Symbol sym{Symbol::Kind::Tensor};
    sym.shape = carried[i];
    if (!define(s.carryNames[i], s.carryLocs[i], sym))
      return false;
  }
  std::vector<std::pair<std::string, Shape>> yields;
  if (!checkBody(s.body, yields))
    return false;
  if (s.until && !checkStoppingLoop(s, carried, yields))
    return false;
  for (size_t i = 0; i < s.carryNames.size(); ++i) {
    const Shape &end = scope[s.carryNames[i]].shape;
    if (end != carried[i])
      return error(s.carryLocs[i], "state '" + s.carryNames[i] + "' is " +
                                       shapeStr(carried[i]) +
                                       " when the loop starts but " +
                                       shapeStr(end) +
                                       " at the end of its body; a carried "
                                       "state must keep its shape");
  }
  scope = std::move(outer);
  for (size_t i = 0; i < s.carryNames.size(); ++i) {
    Symbol sym{Symbol::Kind::Tensor};
    sym.shape = carried[i];
    if (!define(s.carryNames[i], s.carryLocs[i], sym))
      return false;
  }
  // Yielded values are stacked over the steps on axis 1 (after the batch).
  for (auto &[name, shape] : yields) {
    Symbol sym{Symbol::Kind::Tensor};
    sym.shape = shape;
    sym.shape.insert(sym.shape.begin() + std::min<size_t>(1, shape.size()),
                     s.count);
    if (!define(name, s.loc, sym))
      return false;
  }
  if (!s.lengthsName.empty()) {
    Symbol sym{Symbol::Kind::Tensor};
    sym.shape = {carried[0][0]};
    if (!define(s.lengthsName, s.lengthsLoc, sym))
      return false;
  }
  return true;
}

bool Sema::checkStoppingLoop(
    Stmt &s, const std::vector<Shape> &carried,
    const std::vector<std::pair<std::string, Shape>> &yields) {
  // Finished rows are frozen row by row, so every state, every yielded
  // value and the condition share the batch as their first axis.
  if (carried.empty())
    return error(s.until->loc, "a loop with 'until' needs carried states: "
                               "the condition is evaluated on them after "
                               "each step");
  Dim batch = carried[0].empty() ? Dim::known(1) : carried[0][0];
  for (size_t i = 0; i < carried.size(); ++i)
    if (carried[i].empty() || carried[i][0] != batch)
      return error(s.carryLocs[i],
                   "state '" + s.carryNames[i] + "' is " +
                       shapeStr(carried[i]) + ", but in a loop with 'until' "
                       "every state has the batch first ([" + batch.str() +
                       ", ...], as '" + s.carryNames[0] + "'), so that "
                       "finished rows can be frozen");
  for (auto &[name, shape] : yields)
    if (shape.empty() || shape[0] != batch)
      return error(s.until->loc, "'" + name + "' is yielded as " +
                                     shapeStr(shape) + ", but a loop with "
                                     "'until' yields [" + batch.str() +
                                     ", ...] per step (zeros for finished rows)");
  if (!checkTensor(*s.until))
    return false;
  const Shape &cond = s.until->type;
  bool perRow = (cond.size() == 1 || (cond.size() == 2 && cond[1] == Dim::known(1))) &&
                cond[0] == batch;
  if (!perRow)
    return error(s.until->loc, "the condition after 'until' must give one flag "
                               "per batch row, [" + batch.str() + "] or [" +
                               batch.str() + ", 1], got " + shapeStr(cond));
  return true;
}

bool Sema::checkBody(std::vector<std::unique_ptr<Stmt>> &body,
                     std::vector<std::pair<std::string, Shape>> &yields) {
  for (auto &st : body) {
    switch (st->kind) {
    case Stmt::Kind::Yield: {
      for (auto &y : yields)
        if (y.first == st->names[0])
          return error(st->nameLocs[0], "'" + st->names[0] +
                                            "' is yielded twice in this loop");
      if (!checkTensor(*st->value))
        return false;
      yields.push_back({st->names[0], st->value->type});
      break;
    }
    case Stmt::Kind::Assign:
    case Stmt::Kind::For:
      if (!checkStmt(*st))
        return false;
      break;
    default:
      return error(st->loc, "only assignments, loops and 'yield' may appear "
                            "in a loop body");
    }
  }
  return true;
}

std::optional<int64_t> Sema::intKwarg(const Expr &call, llvm::StringRef name,
                                      int64_t defaultValue, size_t position) {
  const Expr *e = position < call.args.size() ? call.args[position].get()
                                              : call.kwarg(name);
  if (!e)
    return defaultValue;
  return evalInt(*e, name);
}

bool Sema::fixInFeatures(Layer &layer, const Expr &arg, int64_t size) {
  if (layer.inFeatures && *layer.inFeatures != size)
    return error(arg.loc, "layer '" + layer.name + "' was first called with " +
                              Twine(*layer.inFeatures) +
                              " input features, here with " + Twine(size) +
                              " (input " + shapeStr(arg.type) +
                              "); its weights are shared");
  layer.inFeatures = size;
  return true;
}

bool Sema::checkRecurrentDecl(Layer &layer, Expr &decl, bool wrapped) {
  Builtin kind = lookupLayerKind(decl.name);
  bool cellOnly = kind == Builtin::LstmCell || kind == Builtin::GruCell;
  if (!expectArgs(decl, 1, 1,
                  cellOnly ? std::initializer_list<llvm::StringRef>{"units"}
                           : std::initializer_list<llvm::StringRef>{
                                 "units", "return_sequences", "return_state",
                                 "go_backwards", "reset_after"}))
    return false;
  auto units = intKwarg(decl, "units", 0, 0);
  if (!units)
    return false;
  if (*units <= 0)
    return error(decl.args[0]->loc, "unit count must be positive, got " +
                                        Twine(*units));
  layer.units = *units;
  if (cellOnly)
    return true;
  layer.cell = kind;
  auto seq = intKwarg(decl, "return_sequences", 0);
  auto state = intKwarg(decl, "return_state", 0);
  auto back = intKwarg(decl, "go_backwards", 0);
  auto resetAfter = intKwarg(decl, "reset_after", 1);
  if (!seq || !state || !back || !resetAfter)
    return false;
  if (!*resetAfter)
    return error(decl.kwarg("reset_after")->loc,
                 "reset_after=0 GRUs are not supported; PyTorch and TF2 "
                 "default to reset_after=1");
  if (kind == Builtin::Lstm && decl.kwarg("reset_after"))
    return error(decl.kwarg("reset_after")->loc,
                 "reset_after applies to gru layers only");
  if (wrapped && *back)
    return error(decl.kwarg("go_backwards")->loc,
                 "go_backwards inside bidirectional(...) is not meaningful");
  layer.returnSequences = *seq;
  layer.returnState = *state;
  layer.goBackwards = *back;
  return true;
}

bool Sema::checkLayerDecl(Layer &layer) {
  Expr &decl = *layer.decl;
  layer.kind = lookupLayerKind(decl.name);
  switch (layer.kind) {
  case Builtin::None:
    if (isPlannedBuiltin(decl.name))
      return error(decl.loc, "layer kind '" + decl.name +
                                 "' is not implemented by this version of Heed");
    return error(decl.loc, "unknown layer kind '" + decl.name +
                               "' (known: dense, lstm, gru, bidirectional, "
                               "lstm_cell, gru_cell, conv1d, batch_norm, "
                               "embedding, multi_head_attention, glu)");
  case Builtin::Lstm:
  case Builtin::Gru:
  case Builtin::LstmCell:
  case Builtin::GruCell:
    return checkRecurrentDecl(layer, decl, false);
  case Builtin::Bidirectional: {
    // bidirectional(lstm(units, ...), merge=concat)
    if (!expectArgs(decl, 1, 1, {"merge"}))
      return false;
    Expr &inner = *decl.args[0];
    Builtin innerKind = inner.kind == Expr::Kind::Call
                            ? lookupLayerKind(inner.name) : Builtin::None;
    if (innerKind != Builtin::Lstm && innerKind != Builtin::Gru)
      return error(inner.loc, "bidirectional wraps an lstm(...) or gru(...) "
                              "layer");
    if (!checkRecurrentDecl(layer, inner, true))
      return false;
    layer.directions = 2;
    if (const Expr *m = decl.kwarg("merge")) {
      if (m->kind != Expr::Kind::Name || (m->name != "concat" && m->name != "sum"))
        return error(m->loc, "merge must be concat or sum");
      layer.merge = m->name;
    }
    return true;
  }
  case Builtin::Conv1D: {
    // conv1d(filters, kernel_size, strides=1, padding=valid, use_bias=1)
    if (!expectArgs(decl, 2, 2, {"strides", "padding", "use_bias"}))
      return false;
    auto filters = intKwarg(decl, "filters", 0, 0);
    auto kernel = intKwarg(decl, "kernel_size", 0, 1);
    auto stride = intKwarg(decl, "strides", 1);
    auto bias = intKwarg(decl, "use_bias", 1);
    if (!filters || !kernel || !stride || !bias)
      return false;
    if (*filters <= 0 || *kernel <= 0 || *stride <= 0)
      return error(decl.loc, "conv1d filters, kernel_size and strides must be "
                             "positive");
    layer.units = *filters;
    layer.kernelSize = *kernel;
    layer.stride = *stride;
    layer.useBias = *bias != 0;
    if (const Expr *p = decl.kwarg("padding")) {
      if (p->kind != Expr::Kind::Name || (p->name != "valid" && p->name != "same"))
        return error(p->loc, "padding must be valid or same");
      layer.padding = p->name;
    }
    return true;
  }
  case Builtin::BatchNorm: {
    // batch_norm(epsilon=1e-3): Keras' default epsilon.
    if (!expectArgs(decl, 0, 0, {"epsilon"}))
      return false;
    if (const Expr *e = decl.kwarg("epsilon")) {
      auto v = evalNumber(*e);
      if (!v)
        return false;
      if (*v <= 0)
        return error(e->loc, "epsilon must be positive");
      layer.epsilon = *v;
    }
    return true;
  }
  case Builtin::MultiHeadAttention: {
    // multi_head_attention(d_model, heads=8, causal=0)
    if (!expectArgs(decl, 1, 1, {"heads", "causal"}))
      return false;
    auto dModel = intKwarg(decl, "d_model", 0, 0);
    auto heads = intKwarg(decl, "heads", 8);
    auto causal = intKwarg(decl, "causal", 0);
    if (!dModel || !heads || !causal)
      return false;
    if (*dModel <= 0 || *heads <= 0)
      return error(decl.loc, "multi_head_attention needs a positive d_model "
                             "and head count");
    if (*dModel % *heads)
      return error(decl.kwarg("heads") ? decl.kwarg("heads")->loc : decl.loc,
                   Twine(*heads) + " heads do not divide d_model " +
                       Twine(*dModel) + " (each head gets d_model / heads "
                       "features)");
    layer.units = *dModel;
    layer.heads = *heads;
    layer.causal = *causal != 0;
    layer.inFeatures = *dModel;
    return true;
  }
  case Builtin::Glu: {
    // glu(units, use_bias=1): proj(x) ⊙ σ(gate(x)), one [2·units, in] weight
    if (!expectArgs(decl, 1, 1, {"use_bias"}))
      return false;
    auto units = intKwarg(decl, "units", 0, 0);
    auto bias = intKwarg(decl, "use_bias", 1);
    if (!units || !bias)
      return false;
    if (*units <= 0)
      return error(decl.loc, "glu units must be positive");
    layer.units = *units;
    layer.useBias = *bias != 0;
    return true;
  }
  case Builtin::Embedding: {
    // embedding(vocab, dim)
    if (!expectArgs(decl, 2, 2, {}))
      return false;
    auto vocab = intKwarg(decl, "vocab", 0, 0);
    auto dim = intKwarg(decl, "dim", 0, 1);
    if (!vocab || !dim)
      return false;
    if (*vocab <= 0 || *dim <= 0)
      return error(decl.loc, "embedding sizes must be positive");
    layer.vocab = *vocab;
    layer.units = *dim;
    layer.inFeatures = *vocab;
    return true;
  }
  default:
    break;
  }
  // dense(units, activation=none, use_bias=1)
  if (!expectArgs(decl, 0, 1, {"units", "activation", "use_bias"}))
    return false;
  const Expr *units = decl.args.empty() ? decl.kwarg("units") : decl.args[0].get();
  if (!units)
    return error(decl.loc, "dense layer needs a unit count: dense(units, ...)");
  auto n = evalInt(*units, "unit count");
  if (!n)
    return false;
  if (*n <= 0)
    return error(units->loc, "unit count must be positive, got " + Twine(*n));
  layer.units = *n;
  if (const Expr *act = decl.kwarg("activation")) {
    if (act->kind != Expr::Kind::Name || !isActivationName(act->name))
      return error(act->loc, "unknown activation; expected one of none, "
                             "linear, tanh, sigmoid, relu, exp, softmax");
    layer.activation = act->name == "linear" ? "none" : act->name;
  }
  if (const Expr *bias = decl.kwarg("use_bias")) {
    auto b = evalInt(*bias, "use_bias (0 or 1)");
    if (!b)
      return false;
    layer.useBias = *b != 0;
  }
  return true;
}

bool Sema::expectArgs(Expr &call, size_t minPos, size_t maxPos,
                      std::initializer_list<llvm::StringRef> keywords) {
  if (call.args.size() < minPos)
    return error(call.loc, "'" + call.name + "' expects at least " +
                               Twine(minPos) + " positional argument" +
                               (minPos == 1 ? "" : "s") + ", got " +
                               Twine(call.args.size()));
  if (call.args.size() > maxPos)
    return error(call.args[maxPos]->loc,
                 "'" + call.name + "' takes at most " + Twine(maxPos) +
                     " positional argument" + (maxPos == 1 ? "" : "s"));
  for (size_t i = 0; i < call.kwNames.size(); ++i) {
    if (std::find(keywords.begin(), keywords.end(), call.kwNames[i]) ==
        keywords.end()) {
      std::string known;
      for (auto k : keywords)
        known += (known.empty() ? "" : ", ") + k.str();
      return error(call.kwLocs[i], "'" + call.name +
                                       "' has no argument named '" +
                                       call.kwNames[i] + "'" +
                                       (known.empty() ? "" : " (known: " + known + ")"));
    }
    for (size_t j = 0; j < i; ++j)
      if (call.kwNames[j] == call.kwNames[i])
        return error(call.kwLocs[i], "argument '" + call.kwNames[i] +
                                         "' given twice");
  }
  return true;
}

std::optional<double> Sema::evalNumber(const Expr &e, bool quiet) {
  auto fail = [&](SMLoc loc, const Twine &msg) -> std::optional<double> {
    if (!quiet)
      error(loc, msg);
    return std::nullopt;
  };
  switch (e.kind) {
  case Expr::Kind::Number:
    return e.number;
  case Expr::Kind::Name: {
    auto it = scope.find(e.name);
    if (it == scope.end())
      return fail(e.loc, "unknown name '" + e.name + "'");
    if (it->second.kind != Symbol::Kind::Number)
      return fail(e.loc, "'" + e.name + "' is not a compile-time number");
    return it->second.number;
  }
  case Expr::Kind::Neg: {
    auto v = evalNumber(*e.args[0], quiet);
    return v ? std::optional<double>(-*v) : std::nullopt;
  }
  case Expr::Kind::Binary: {
    auto l = evalNumber(*e.args[0], quiet);
    if (!l)
      return std::nullopt;
    auto r = evalNumber(*e.args[1], quiet);
    if (!r)
      return std::nullopt;
    switch (e.op) {
    case '+': return *l + *r;
    case '-': return *l - *r;
    case '*': return *l * *r;
    case CmpEq: return double(*l == *r);
    case CmpNe: return double(*l != *r);
    case CmpLt: return double(*l < *r);
    case CmpLe: return double(*l <= *r);
    case CmpGt: return double(*l > *r);
    case CmpGe: return double(*l >= *r);
    default:
      if (*r == 0)
        return fail(e.loc, "division by zero");
      return *l / *r;
    }
  }
  default:
    return fail(e.loc, "expected a compile-time number");
  }
}

std::optional<int64_t> Sema::evalInt(const Expr &e, const Twine &what) {
  auto v = evalNumber(e);
  if (!v)
    return std::nullopt;
  if (std::floor(*v) != *v) {
    error(e.loc, what + " must be an integer");
    return std::nullopt;
  }
  if (std::fabs(*v) > double(heed::limits::kMaxDimension)) {
    error(e.loc, what + " is too large: " + formatNumber(*v) +
                     " (the limit is " + Twine(heed::limits::kMaxDimension) + ")");
    return std::nullopt;
  }
  return static_cast<int64_t>(*v);
}

bool Sema::broadcast(const Shape &l, const Shape &r, Shape &out, SMLoc loc) {
  size_t rank = std::max(l.size(), r.size());
  out.assign(rank, Dim::known(1));
  for (size_t i = 0; i < rank; ++i) {
    Dim a = i < rank - l.size() ? Dim::known(1) : l[i - (rank - l.size())];
    Dim b = i < rank - r.size() ? Dim::known(1) : r[i - (rank - r.size())];
    if (a == Dim::known(1))
      out[i] = b;
    else if (b == Dim::known(1) || a == b)
      out[i] = a;
    else
      return error(loc, "shapes " + shapeStr(l) + " and " + shapeStr(r) +
                            " do not broadcast (axis " + Twine(i) + ": " +
                            a.str() + " vs " + b.str() + ")");
  }
  return true;
}

bool Sema::checkTensor(Expr &e) {
  if (!checkTensorKind(e))
    return false;
  // Sizes known at compile time are checked here, with the expression's
  // location; symbolic ones when inputs bind them.
  int64_t known = 1;
  for (const Dim &d : e.type) {
    if (!d.isKnown())
      continue;
    if (d.size > heed::limits::kMaxDimension ||
        (d.size && known > heed::limits::kMaxTensorElements / d.size))
      return error(e.loc, "this tensor of shape " + shapeStr(e.type) +
                              " is too large (the limits are " +
                              Twine(heed::limits::kMaxDimension) + " per axis and " +
                              Twine(heed::limits::kMaxTensorElements) +
                              " elements)");
    known *= d.size;
  }
  if (e.type.size() > heed::limits::kMaxRank)
    return error(e.loc, "this tensor has rank " + Twine(e.type.size()) +
                            ", above the limit of " + Twine(heed::limits::kMaxRank));
  return true;
}

bool Sema::checkTensorKind(Expr &e) {
  switch (e.kind) {
  case Expr::Kind::Number:
    // A scalar in tensor arithmetic broadcasts like a one-element tensor.
    e.type = {Dim::known(1)};
    return true;
  case Expr::Kind::Name: {
    auto it = scope.find(e.name);
    if (it == scope.end()) {
      if (lookupFunction(e.name) != Builtin::None)
        return error(e.loc, "'" + e.name + "' is a function; call it as " +
                                e.name + "(...)");
      return error(e.loc, "unknown name '" + e.name + "'");
    }
    switch (it->second.kind) {
    case Symbol::Kind::Tensor:
      e.type = it->second.shape;
      return true;
    case Symbol::Kind::Number:
      e.type = {Dim::known(1)};
      return true;
    case Symbol::Kind::Layer:
      return error(e.loc, "layer '" + e.name + "' must be called: " + e.name +
                              "(x)");
    case Symbol::Kind::LoopVar:
      return error(e.loc, "loop variable '" + e.name + "' is not a tensor");
    case Symbol::Kind::Score:
      return error(e.loc, "'" + e.name + "' is a score function; use it as "
                          "attention(query, keys, score=" + e.name + ")");
    }
    return true;
  }
  case Expr::Kind::Neg:
    if (!checkTensor(*e.args[0]))
      return false;
    e.type = e.args[0]->type;
    return true;
  case Expr::Kind::Binary:
    if (!checkTensor(*e.args[0]) || !checkTensor(*e.args[1]))
      return false;
    return broadcast(e.args[0]->type, e.args[1]->type, e.type, e.loc);
  case Expr::Kind::List:
    return error(e.loc, "a list is not a tensor");
  case Expr::Kind::Slice:
    return error(e.loc, "a slice a:b is only valid inside x[...]");
  case Expr::Kind::Index:
    return checkIndex(e);
  case Expr::Kind::Call:
    return checkCall(e);
  }
  return true;
}

bool Sema::checkCall(Expr &e) {
  // Layers first; a tensor variable may share a built-in function's name
  // (`concat = concat(s, a)`), as in Python.
  auto it = scope.find(e.name);
  if (it != scope.end() && it->second.kind == Symbol::Kind::Layer)
    return checkLayerCall(e, *it->second.layer);
  if (it != scope.end() && lookupFunction(e.name) == Builtin::None)
    return error(e.loc, "'" + e.name + "' is not a layer or function");
  e.builtin = lookupFunction(e.name);
  if (e.builtin != Builtin::None)
    return checkBuiltinCall(e);
  if (lookupLayerKind(e.name) != Builtin::None)
    return error(e.loc, "'" + e.name + "' is a layer kind; declare it first: "
                        "layer my_" + e.name + " = " + e.name + "(...)");
  if (isPlannedBuiltin(e.name))
    return error(e.loc, "'" + e.name +
                            "' is not implemented by this version of Heed");
  return error(e.loc, "unknown function or layer '" + e.name + "'");
}

bool Sema::checkLayerCall(Expr &e, Layer &layer) {
  e.layer = &layer;
  if (layer.kind == Builtin::MultiHeadAttention)
    return checkMultiHeadCall(e, layer);
  if (layer.kind != Builtin::Dense && layer.kind != Builtin::Glu)
    return checkSequenceLayerCall(e, layer);
  if (!expectArgs(e, 1, 1, {}) || !checkTensor(*e.args[0]))
    return false;
  const Shape &in = e.args[0]->type;
  const Dim &last = in.back();
  if (!last.isKnown())
    return error(e.args[0]->loc, "layer '" + layer.name +
                                     "' needs a known feature size, but its "
                                     "input is " + shapeStr(in));
  if (layer.inFeatures && *layer.inFeatures != last.size)
    return error(e.args[0]->loc,
                 "layer '" + layer.name + "' was first called with " +
                     Twine(*layer.inFeatures) +
                     " input features, here with " + Twine(last.size) +
                     " (input " + shapeStr(in) + "); its weights are shared");
  layer.inFeatures = last.size;
  e.type = in;
  e.type.back() = Dim::known(layer.units);
  return true;
}

bool Sema::checkSequenceLayerCall(Expr &e, Layer &layer) {
  bool cell = layer.kind == Builtin::LstmCell || layer.kind == Builtin::GruCell;
  bool recurrent = cell || layer.cell != Builtin::None;
  bool lstm = layer.kind == Builtin::LstmCell || layer.cell == Builtin::Lstm;
  size_t states = recurrent ? (lstm ? 2 : 1) : 0;
  size_t minArgs = 1 + (cell ? states : 0);
  if (!expectArgs(e, minArgs, 1 + states, {}))
    return false;
  if (!cell && e.args.size() != 1 && e.args.size() != 1 + states)
    return error(e.args[1]->loc, "'" + layer.name + "' takes the input and " +
                                     Twine(states) +
                                     (lstm ? " initial states (h0, c0)"
                                           : " initial state (h0)") +
                                     ", or the input alone");
  for (auto &a : e.args)
    if (!checkTensor(*a))
      return false;
  Expr &x = *e.args[0];
  const Shape &in = x.type;
  auto needKnownLast = [&]() -> bool {
    if (in.back().isKnown())
      return true;
    return error(x.loc, "layer '" + layer.name + "' needs a known feature "
                        "size, but its input is " + shapeStr(in));
  };
  Dim h = Dim::known(layer.units);
  switch (layer.kind) {
  case Builtin::LstmCell:
  case Builtin::GruCell: {
    if (in.size() != 2)
      return error(x.loc, "cell '" + layer.name +
                              "' takes one step [B, F], got " + shapeStr(in));
    if (!needKnownLast())
      return false;
    Shape state = {in[0], h};
    for (size_t i = 1; i < e.args.size(); ++i)
      if (e.args[i]->type != state)
        return error(e.args[i]->loc,
                     "state of cell '" + layer.name + "' must be " +
                         shapeStr(state) + " (batch of the input, " +
                         Twine(layer.units) + " units), got " +
                         shapeStr(e.args[i]->type));
    if (!fixInFeatures(layer, x, in.back().size))
      return false;
    e.type = state;
    if (states > 1) // lstm_cell: h and c
      e.results.assign(states, state);
    return true;
  }
  case Builtin::Lstm:
  case Builtin::Gru:
  case Builtin::Bidirectional: {
    if (in.size() != 3)
      return error(x.loc, "recurrent layer '" + layer.name +
                              "' takes a sequence [B, T, F], got " +
                              shapeStr(in));
    if (!needKnownLast() || !fixInFeatures(layer, x, in.back().size))
      return false;
    Shape state = layer.directions == 1 ? Shape{in[0], h}
                                        : Shape{Dim::known(2), in[0], h};
    for (size_t i = 1; i < e.args.size(); ++i)
      if (e.args[i]->type != state)
        return error(e.args[i]->loc,
                     "initial state of '" + layer.name + "' must be " +
                         shapeStr(state) + ", got " + shapeStr(e.args[i]->type));
    Dim outF = layer.directions == 2 && layer.merge == "concat"
                   ? Dim::known(2 * layer.units) : h;
    if (layer.returnSequences)
      e.type = {in[0], in[1], outF};
    else if (layer.directions == 2 && layer.merge == "concat")
      return error(e.loc, "bidirectional(..., merge=concat) without "
                          "return_sequences=1 is not supported yet; return "
                          "the sequences or use merge=sum");
    else
      e.type = {in[0], outF};
    if (layer.returnState) {
      e.results = {e.type};
      for (size_t i = 0; i < states; ++i)
        e.results.push_back(state);
    }
    return true;
  }
  case Builtin::Conv1D: {
    if (in.size() != 3)
      return error(x.loc, "conv1d '" + layer.name +
                              "' takes a sequence [B, T, C], got " +
                              shapeStr(in));
    if (!needKnownLast() || !fixInFeatures(layer, x, in.back().size))
      return false;
    if (!in[1].isKnown()) {
      // 'same' with stride 1 keeps the length, whatever it is bound to.
      if (layer.padding == "same" && layer.stride == 1) {
        e.type = {in[0], in[1], Dim::known(layer.units)};
        return true;
      }
      return error(x.loc, "conv1d '" + layer.name +
                              "' needs a known sequence length (or "
                              "padding=same with stride 1), got " +
                              shapeStr(in));
    }
    int64_t t = in[1].size, k = layer.kernelSize, st = layer.stride, out;
    if (layer.padding == "same") {
      out = (t + st - 1) / st;
    } else {
      if (t < k)
        return error(x.loc, "conv1d '" + layer.name + "' has a kernel of " +
                                Twine(k) + " steps but its input only " +
                                Twine(t));
      out = (t - k) / st + 1;
    }
    e.type = {in[0], Dim::known(out), Dim::known(layer.units)};
    return true;
  }
  case Builtin::BatchNorm:
    if (!needKnownLast() || !fixInFeatures(layer, x, in.back().size))
      return false;
    e.type = in;
    return true;
  case Builtin::Embedding:
    constrainInput(x, "token ids of embedding '" + layer.name + "'", 0,
                   Dim::known(layer.vocab - 1));
    e.type = in;
    e.type.push_back(Dim::known(layer.units));
    return true;
  default:
    return error(e.loc, "internal: unexpected layer kind");
  }
}

bool Sema::axisArg(Expr &call, size_t position, int64_t rank, bool required,
                   int64_t defaultAxis, bool forInsert) {
  const Expr *axisExpr = call.args.size() > position ? call.args[position].get()
                                                     : call.kwarg("axis");
  int64_t axis = defaultAxis;
  if (!axisExpr) {
    if (required)
      return error(call.loc, "'" + call.name + "' needs an axis: " +
                                 call.name + "(x, axis=...)");
  } else {
    auto v = evalInt(*axisExpr, "axis");
    if (!v)
      return false;
    axis = *v;
  }
  int64_t limit = forInsert ? rank + 1 : rank;
  int64_t norm = axis < 0 ? axis + limit : axis;
  if (norm < 0 || norm >= limit)
    return error(axisExpr ? axisExpr->loc : call.loc,
                 "axis " + Twine(axis) + " is out of range for a tensor of "
                 "rank " + Twine(rank));
  call.axis = norm;
  return true;
}

bool Sema::checkBuiltinCall(Expr &e) {
  switch (e.builtin) {
  case Builtin::Tanh:
  case Builtin::Sigmoid:
  case Builtin::Relu:
  case Builtin::Exp:
    if (!expectArgs(e, 1, 1, {}) || !checkTensor(*e.args[0]))
      return false;
    e.type = e.args[0]->type;
    return true;
  case Builtin::Dropout:
    // dropout(x, rate): the identity at inference, as Keras and PyTorch.
    if (!expectArgs(e, 1, 2, {"rate"}) || !checkTensor(*e.args[0]))
      return false;
    e.type = e.args[0]->type;
    return true;
  case Builtin::Argmax: {
    if (!expectArgs(e, 1, 2, {"axis"}) || !checkTensor(*e.args[0]))
      return false;
    const Shape &in = e.args[0]->type;
    if (!axisArg(e, 1, in.size(), false, -1))
      return false;
    if (e.axis != int64_t(in.size()) - 1)
      return error(e.loc, "argmax works over the last axis only");
    e.type = in;
    e.type.pop_back();
    if (e.type.empty())
      e.type = {Dim::known(1)};
    return true;
  }
  case Builtin::Dot: {
    // dot(a, b): Σ a·b over the last axis, kept with size 1.
    if (!expectArgs(e, 2, 2, {}) || !checkTensor(*e.args[0]) ||
        !checkTensor(*e.args[1]))
      return false;
    const Shape &l = e.args[0]->type, &r = e.args[1]->type;
    if (l.back() != r.back())
      return error(e.loc, "dot needs equal last axes, got " + shapeStr(l) +
                              " and " + shapeStr(r));
    if (!broadcast(l, r, e.type, e.loc))
      return false;
    e.type.back() = Dim::known(1);
    return true;
  }
  case Builtin::Attention:
    return checkAttention(e);
  case Builtin::Where: {
    // where(cond, a, b): a where cond != 0, else b; all three broadcast.
    if (!expectArgs(e, 3, 3, {}))
      return false;
    for (auto &a : e.args)
      if (!checkTensor(*a))
        return false;
    Shape values;
    return broadcast(e.args[1]->type, e.args[2]->type, values, e.loc) &&
           broadcast(e.args[0]->type, values, e.type, e.loc);
  }
  case Builtin::PositionalEncoding: {
    // positional_encoding(x): x + the Transformer's sinusoids over [T, D].
    if (!expectArgs(e, 1, 1, {}) || !checkTensor(*e.args[0]))
      return false;
    const Shape &in = e.args[0]->type;
    if (in.size() != 3 || !in[2].isKnown() || in[2].size % 2)
      return error(e.args[0]->loc, "positional_encoding takes [B, T, D] with "
                                   "an even, known D, got " + shapeStr(in));
    e.type = in;
    return true;
  }
  case Builtin::Zeros: {
    // zeros(B, 4): sizes are numbers, parameters or symbolic dimensions.
    if (!expectArgs(e, 1, SIZE_MAX, {}))
      return false;
    e.type.clear();
    for (auto &a : e.args) {
      if (a->kind == Expr::Kind::Name && !scope.count(a->name) &&
          llvm::is_contained(model.symbols, a->name)) {
        e.type.push_back(Dim::named(a->name));
        continue;
      }
      auto n = evalInt(*a, "size");
      if (!n)
        return false;
      if (*n < 1)
        return error(a->loc, "size must be positive, got " + Twine(*n));
      e.type.push_back(Dim::known(*n));
    }
    return true;
  }
  case Builtin::Softmax:
    if (!expectArgs(e, 1, 2, {"axis"}) || !checkTensor(*e.args[0]))
      return false;
    e.type = e.args[0]->type;
    return axisArg(e, 1, e.type.size(), false, -1);
  case Builtin::Squeeze: {
    if (!expectArgs(e, 1, 2, {"axis"}) || !checkTensor(*e.args[0]))
      return false;
    const Shape &in = e.args[0]->type;
    if (!axisArg(e, 1, in.size(), true, 0))
      return false;
    if (in[e.axis] != Dim::known(1))
      return error(e.loc, "cannot squeeze axis " + Twine(e.axis) + " of " +
                              shapeStr(in) + ": its size is not 1");
    e.type = in;
    e.type.erase(e.type.begin() + e.axis);
    return true;
  }
  case Builtin::Sum:
  case Builtin::Mean:
  case Builtin::Max: {
    if (!expectArgs(e, 1, 2, {"axis", "keepdim"}) || !checkTensor(*e.args[0]))
      return false;
    const Shape &in = e.args[0]->type;
    if (!axisArg(e, 1, in.size(), true, 0))
      return false;
    if (const Expr *k = e.kwarg("keepdim")) {
      auto v = evalInt(*k, "keepdim (0 or 1)");
      if (!v)
        return false;
      e.keepdim = *v != 0;
    }
    e.type = in;
    if (e.keepdim)
      e.type[e.axis] = Dim::known(1);
    else
      e.type.erase(e.type.begin() + e.axis);
    return true;
  }
  case Builtin::Repeat: {
    // repeat(x, count, axis=1): Keras RepeatVector inserts the new axis at 1.
    if (!expectArgs(e, 2, 2, {"axis"}) || !checkTensor(*e.args[0]))
      return false;
    auto n = evalInt(*e.args[1], "repeat count");
    if (!n)
      return false;
    if (*n < 1)
      return error(e.args[1]->loc, "repeat count must be positive");
    e.count = *n;
    const Shape &in = e.args[0]->type;
    if (!axisArg(e, 2, in.size(), false, 1, /*forInsert=*/true))
      return false;
    e.type = in;
    e.type.insert(e.type.begin() + e.axis, Dim::known(*n));
    return true;
  }
  case Builtin::Concat: {
    if (!expectArgs(e, 1, SIZE_MAX, {"axis"}))
      return false;
    for (auto &a : e.args)
      if (!checkTensor(*a))
        return false;
    const Shape &first = e.args[0]->type;
    if (!axisArg(e, SIZE_MAX, first.size(), false, -1))
      return false;
    Shape out = first;
    for (size_t i = 1; i < e.args.size(); ++i) {
      const Shape &s = e.args[i]->type;
      if (s.size() != first.size())
        return error(e.args[i]->loc, "cannot concatenate " + shapeStr(first) +
                                         " with " + shapeStr(s) +
                                         ": ranks differ");
      for (size_t d = 0; d < s.size(); ++d) {
        if (int64_t(d) == e.axis) {
          if (!out[d].isKnown() || !s[d].isKnown())
            return error(e.args[i]->loc, "concatenation axis sizes must be "
                                         "known numbers");
          out[d].size += s[d].size;
        } else if (out[d] != s[d]) {
          return error(e.args[i]->loc,
                       "cannot concatenate " + shapeStr(first) + " with " +
                           shapeStr(s) + " on axis " + Twine(e.axis) +
                           ": axis " + Twine(d) + " differs");
        }
      }
    }
    e.type = out;
    return true;
  }
  case Builtin::Permute: {
    if (!expectArgs(e, 2, 2, {}) || !checkTensor(*e.args[0]))
      return false;
    const Shape &in = e.args[0]->type;
    const Expr &list = *e.args[1];
    if (list.kind != Expr::Kind::List)
      return error(list.loc, "permute expects a list of axes: permute(x, [0, 2, 1])");
    if (list.args.size() != in.size())
      return error(list.loc, "permutation has " + Twine(list.args.size()) +
                                 " axes, but the tensor " + shapeStr(in) +
                                 " has rank " + Twine(in.size()));
    std::vector<bool> seen(in.size(), false);
    e.type.clear();
    for (auto &item : list.args) {
      auto p = evalInt(*item, "axis");
      if (!p)
        return false;
      if (*p < 0 || *p >= int64_t(in.size()) || seen[*p])
        return error(item->loc, "not a permutation of 0.." +
                                    Twine(in.size() - 1));
      seen[*p] = true;
      e.perm.push_back(*p);
      e.type.push_back(in[*p]);
    }
    return true;
  }
  default:
    return error(e.loc, "'" + e.name + "' cannot be used here");
  }
}

void Sema::constrainInput(const Expr &arg, const std::string &role,
                          int64_t min, Dim max) {
  if (arg.kind != Expr::Kind::Name)
    return;
  for (auto &in : model.inputs)
    if (in.name == arg.name)
      model.inputRanges.push_back({in.name, role, min, max});
}

bool Sema::checkIndex(Expr &e) {
  // x[i, a:b, :]: integers select (and drop) an axis, slices keep it;
  // axes not named keep their full size. Negative numbers count from the
  // end, as in Python.
  if (!checkTensor(*e.args[0]))
    return false;
  const Shape &in = e.args[0]->type;
  size_t items = e.args.size() - 1;
  if (items > in.size())
    return error(e.loc, "index has " + Twine(items) + " items, but the tensor " +
                            shapeStr(in) + " has rank " + Twine(in.size()));
  e.type.clear();
  for (size_t axis = 0; axis < in.size(); ++axis) {
    const Expr *item = axis < items ? e.args[axis + 1].get() : nullptr;
    e.sliceVar.emplace_back();
    if (item && item->kind == Expr::Kind::Name) {
      auto it = scope.find(item->name);
      if (it != scope.end() && it->second.kind == Symbol::Kind::LoopVar) {
        // x[:, t]: step t of an axis as long as the loop.
        if (in[axis] != it->second.shape[0])
          return error(item->loc, "loop variable '" + item->name +
                                      "' counts to " +
                                      it->second.shape[0].str() +
                                      ", but axis " + Twine(axis) + " of " +
                                      shapeStr(in) + " has " + in[axis].str() +
                                      " steps");
        e.sliceVar.back() = item->name;
        e.sliceOffsets.push_back(0);
        e.sliceSizes.push_back(1);
        e.sliceDrop.push_back(true);
        continue;
      }
    }
    bool full = !item || (item->kind == Expr::Kind::Slice && !item->args[0] &&
                          !item->args[1]);
    if (full) {
      e.sliceOffsets.push_back(0);
      e.sliceSizes.push_back(in[axis].isKnown() ? in[axis].size : -1);
      e.sliceDrop.push_back(false);
      e.type.push_back(in[axis]);
      continue;
    }
    // A symbolic axis takes non-negative indices and explicit slice
    // bounds; MLIRGen checks them once the dimension is bound.
    bool symbolic = !in[axis].isKnown();
    int64_t n = symbolic ? INT64_MAX : in[axis].size;
    bool ok = true;
    auto bound = [&](const Expr *x, int64_t dflt) -> std::optional<int64_t> {
      if (!x) {
        if (symbolic && dflt == n) {
          ok = error(item->loc, "slice of the symbolic axis " + Twine(axis) +
                                    " of " + shapeStr(in) +
                                    " needs an explicit end");
          return std::nullopt;
        }
        return dflt;
      }
      auto v = evalInt(*x, "index");
      if (!v)
        return std::nullopt;
      if (*v < 0 && symbolic) {
        ok = error(x->loc, "negative index into the symbolic axis " +
                               Twine(axis) + " of " + shapeStr(in));
        return std::nullopt;
      }
      return *v < 0 ? *v + n : *v;
    };
    if (item->kind == Expr::Kind::Slice) {
      auto start = bound(item->args[0].get(), 0),
           stop = bound(item->args[1].get(), n);
      if (!start || !stop)
        return false;
      if (*start < 0 || *stop > n || *start >= *stop)
        return error(item->loc, "slice " + Twine(*start) + ":" + Twine(*stop) +
                                    " is empty or outside axis " + Twine(axis) +
                                    " of " + shapeStr(in));
      e.sliceOffsets.push_back(*start);
      e.sliceSizes.push_back(*stop - *start);
      e.sliceDrop.push_back(false);
      e.type.push_back(Dim::known(*stop - *start));
    } else {
      auto i = bound(item, 0);
      if (!i)
        return false;
      if (*i < 0 || *i >= n)
        return error(item->loc, "index " + Twine(*i) + " is outside axis " +
                                    Twine(axis) + " of " + shapeStr(in));
      e.sliceOffsets.push_back(*i);
      e.sliceSizes.push_back(1);
      e.sliceDrop.push_back(true);
    }
  }
  if (e.type.empty())
    e.type = {Dim::known(1)};
  return true;
}

bool Sema::checkMultiHeadCall(Expr &e, Layer &layer) {
  // mha(x) (self-attention), mha(q, kv) or mha(q, k, v); lengths= masks
  // keys past each row's length.
  if (!expectArgs(e, 1, 3, {"lengths"}))
    return false;
  for (auto &a : e.args) {
    if (!checkTensor(*a))
      return false;
    const Shape &s = a->type;
    if (s.size() != 3 || s[2] != Dim::known(layer.units))
      return error(a->loc, "multi_head_attention '" + layer.name + "' takes [B, T, " +
                               Twine(layer.units) + "] (d_model " +
                               Twine(layer.units) + "), got " + shapeStr(s));
  }
  const Shape &q = e.args[0]->type, &k = e.args.size() > 1 ? e.args[1]->type : q;
  for (size_t i = 1; i < e.args.size(); ++i)
    if (e.args[i]->type[0] != q[0] || e.args[i]->type[1] != k[1])
      return error(e.args[i]->loc, "keys and values of '" + layer.name +
                                       "' must agree in batch and length with " +
                                       shapeStr(k) + ", got " +
                                       shapeStr(e.args[i]->type));
  if (Expr *len = e.kwarg("lengths")) {
    if (!checkTensor(*len))
      return false;
    if (len->type != Shape{q[0]})
      return error(len->loc, "lengths must be [" + q[0].str() + "], got " +
                                 shapeStr(len->type));
    constrainInput(*len, "lengths of the keys of '" + layer.name + "'", 0, k[1]);
  }
  e.type = q;
  return true;
}

bool Sema::checkScoreBody(ScoreDef &def, const std::vector<Shape> &rows,
                          SMLoc useLoc) {
  if (def.params.size() != rows.size())
    return error(useLoc, "score '" + def.name + "' takes " +
                             Twine(def.params.size()) +
                             " parameters (query, key, features...), but "
                             "this attention gives it " + Twine(rows.size()) +
                             " rows (query, keys" +
                             (rows.size() > 2 ? ", features" : "") + ")");
  if (!def.rowShapes.empty()) {
    if (def.rowShapes != rows) {
      std::string was, now;
      for (size_t i = 0; i < rows.size(); ++i) {
        was += (i ? ", " : "") + shapeStr(def.rowShapes[i]);
        now += (i ? ", " : "") + shapeStr(rows[i]);
      }
      return error(useLoc, "score '" + def.name + "' was first used with rows " +
                               was + ", here with " + now +
                               "; its layers are shared");
    }
    return true;
  }
  // The body sees parameters, layers and its own arguments only: it is
  // evaluated per (query, key) pair, not on whole tensors.
  llvm::StringMap<Symbol> outer = scope;
  llvm::StringMap<Symbol> inner;
  for (auto &entry : scope)
    if (entry.second.kind == Symbol::Kind::Number ||
        entry.second.kind == Symbol::Kind::Layer)
      inner[entry.first()] = entry.second;
  scope = std::move(inner);
  bool ok = true;
  for (size_t i = 0; ok && i < rows.size(); ++i) {
    Symbol sym{Symbol::Kind::Tensor};
    sym.shape = rows[i];
    ok = define(def.params[i], def.paramLocs[i], sym);
  }
  ok = ok && checkTensor(*def.body);
  scope = std::move(outer);
  if (!ok)
    return false;
  if (def.body->type != Shape{Dim::known(1)})
    return error(def.body->loc,
                 "score '" + def.name + "' must give one number per (query, "
                 "key) pair, but gives " + shapeStr(def.body->type) +
                 " for rows " + shapeStr(rows[0]) + " and " +
                 shapeStr(rows[1]) + " (end it with a one-unit dense layer "
                 "or dot(...))");
  def.rowShapes = rows;
  return true;
}

bool Sema::checkAttention(Expr &e) {
  // attention(query, keys, values=keys, score=dot, features=f | [f, ...],
  //           lengths=, normalization=, causal=, constraint=, window=,
  //           previous=) -> context, weights
  if (!expectArgs(e, 2, 3, {"values", "score", "features", "lengths",
                            "normalization", "causal", "constraint", "window",
                            "previous"}))
    return false;
  auto call = std::make_unique<Expr::AttentionCall>();
  call->query = e.args[0].get();
  call->keys = e.args[1].get();
  call->values = e.args.size() > 2 ? e.args[2].get() : e.kwarg("values");
  if (!call->values)
    call->values = call->keys;
  for (auto &a : e.args)
    if (!checkTensor(*a))
      return false;
  Expr *valuesKw = e.kwarg("values");
  if (valuesKw && !checkTensor(*valuesKw))
    return false;
  const Shape &q = call->query->type, &k = call->keys->type,
              &v = call->values->type;
  if (q.size() != 2 && q.size() != 3)
    return error(call->query->loc, "attention query must be [B, Dq] (one "
                                   "query per row) or [B, Tq, Dq], got " +
                                       shapeStr(q));
  if (k.size() != 3)
    return error(call->keys->loc,
                 "attention keys must be [B, T, Dk], got " + shapeStr(k));
  if (v.size() != 3 || v[0] != k[0] || v[1] != k[1])
    return error(call->values->loc, "attention values must be [B, T, Dv] "
                                    "with the keys' B and T " + shapeStr(k) +
                                        ", got " + shapeStr(v));
  if (q[0] != k[0])
    return error(call->query->loc, "attention query " + shapeStr(q) +
                                       " and keys " + shapeStr(k) +
                                       " differ in batch");
  if (!q.back().isKnown() || !k.back().isKnown() || !v.back().isKnown())
    return error(e.loc, "attention needs known feature sizes, got query " +
                            shapeStr(q) + ", keys " + shapeStr(k) +
                            ", values " + shapeStr(v));
  std::vector<Shape> rows = {{q.back()}, {k.back()}};
  if (Expr *f = e.kwarg("features")) {
    std::vector<Expr *> items;
    if (f->kind == Expr::Kind::List)
      for (auto &item : f->args)
        items.push_back(item.get());
    else
      items.push_back(f);
    for (Expr *item : items) {
      Expr &fe = *item;
      if (!checkTensor(fe))
        return false;
      const Shape &fs = fe.type;
      if (fs.size() != 3 || fs[0] != k[0] || fs[1] != k[1] ||
          !fs.back().isKnown())
        return error(fe.loc, "attention features must be [B, T, F] with the "
                             "keys' B and T " + shapeStr(k) + ", got " +
                                 shapeStr(fs));
      call->features.push_back(item);
      rows.push_back({fs.back()});
    }
  }
  Shape perRow = {k[0]};
  auto rowTensor = [&](const char *name, const Expr *&slot) -> bool {
    Expr *x = e.kwarg(name);
    if (!x)
      return true;
    if (!checkTensor(*x))
      return false;
    if (x->type != perRow)
      return error(x->loc, std::string("attention ") + name + " must be " +
                               shapeStr(perRow) + " (one per batch row), got " +
                               shapeStr(x->type));
    slot = x;
    return true;
  };
  if (!rowTensor("lengths", call->lengths) ||
      !rowTensor("previous", call->previous))
    return false;
  if (call->lengths)
    constrainInput(*call->lengths,
                   "lengths of the attention memory" +
                       (call->keys->kind == Expr::Kind::Name
                            ? " '" + call->keys->name + "'"
                            : std::string()),
                   0, k[1]);
  // Options given by name: score=NAME, normalization=..., constraint=...
  auto nameKwarg = [&](const char *key, std::string &slot,
                       std::initializer_list<llvm::StringRef> allowed) -> bool {
    const Expr *x = e.kwarg(key);
    if (!x)
      return true;
    if (x->kind != Expr::Kind::Name)
      return error(x->loc, std::string(key) + " must be a name");
    if (allowed.size() && !llvm::is_contained(allowed, x->name)) {
      std::string list;
      for (auto a : allowed)
        list += (list.empty() ? "" : ", ") + a.str();
      return error(x->loc, std::string("unknown ") + key + " '" + x->name +
                               "' (expected " + list + ")");
    }
    slot = x->name;
    return true;
  };
  if (!nameKwarg("normalization", call->normalization, {"softmax", "smoothing"}) ||
      !nameKwarg("constraint", call->constraint, {"none", "window", "monotonic"}) ||
      !nameKwarg("score", call->scoreName, {}))
    return false;
  if (const Expr *x = e.kwarg("causal")) {
    auto c = evalInt(*x, "causal (0 or 1)");
    if (!c)
      return false;
    call->causal = *c != 0;
    if (call->causal && q.size() != 3)
      return error(x->loc, "a causal mask needs a sequence of queries "
                           "[B, Tq, Dq], got " + shapeStr(q));
  }
  if (call->constraint != "none") {
    const Expr *w = e.kwarg("window");
    if (!w)
      return error(e.loc, "constraint=" + call->constraint +
                              " needs window=N (attention_win_size)");
    auto n = evalInt(*w, "window");
    if (!n)
      return false;
    if (*n < 1)
      return error(w->loc, "window must be at least 1, got " + Twine(*n));
    if (k[1].isKnown() && *n > k[1].size)
      return error(w->loc, "window of " + Twine(*n) + " steps is larger than "
                           "the memory " + shapeStr(k) + " (" + k[1].str() +
                               " steps)");
    call->window = *n;
    if (!call->previous)
      return error(e.loc, "constraint=" + call->constraint +
                              " needs previous=P, the argmax of the previous "
                              "step's weights [B]");
  } else if (e.kwarg("window") || call->previous) {
    return error(e.loc, "window= and previous= need constraint=window or "
                        "constraint=monotonic");
  }
  // The score: built-in dot/scaled_dot, or a `score` definition.
  if (call->scoreName == "dot" || call->scoreName == "scaled_dot") {
    if (rows.size() != 2)
      return error(e.loc, "score " + call->scoreName + " takes no features");
    if (q.back() != k.back())
      return error(e.loc, "score " + call->scoreName + " needs query and key "
                          "rows of one size, got " + shapeStr(q) + " and " +
                              shapeStr(k) + "; write a score with a "
                              "projection, e.g. dot(q, W(k))");
  } else {
    auto it = scope.find(call->scoreName);
    if (it == scope.end() || it->second.kind != Symbol::Kind::Score)
      return error(e.kwarg("score")->loc,
                   "unknown score '" + call->scoreName +
                       "' (define it with score " + call->scoreName +
                       "(q, k) = ..., or use dot or scaled_dot)");
    call->score = it->second.score;
    if (!checkScoreBody(*it->second.score, rows, e.kwarg("score")->loc))
      return false;
  }
  Shape ctx = q, weights = q;
  ctx.back() = v.back();
  weights.back() = k[1];
  e.type = ctx;
  e.results = {ctx, weights};
  e.attention = std::move(call);
  return true;
}

bool heed::dsl::checkModel(Model &model, llvm::SourceMgr &sourceMgr,
                           const llvm::StringMap<double> &params) {
  if (!Sema(model, sourceMgr, params).run() || !checkIdRanges(model, sourceMgr))
    return false;
  markIntegerOutputs(model);
  return true;
}

std::vector<WeightSpec> heed::dsl::weightSpecs(const Model &model) {
  std::vector<WeightSpec> specs;
  for (auto &layer : model.layers) {
    const std::string &n = layer->name;
    int64_t in = layer->inFeatures.value_or(0), u = layer->units;
    switch (layer->kind) {
    case Builtin::Lstm:
    case Builtin::Gru:
    case Builtin::Bidirectional: {
      // nn.LSTM / nn.GRU (batch_first): per direction weight_ih_l0 [G*H, I],
      // weight_hh_l0 [G*H, H], bias_ih_l0, bias_hh_l0; `_reverse` backward.
      int64_t g = layer->cell == Builtin::Lstm ? 4 : 3;
      for (int64_t d = 0; d < layer->directions; ++d) {
        std::string sfx = d ? "_l0_reverse" : "_l0";
        specs.push_back({n + ".weight_ih" + sfx, {g * u, in}});
        specs.push_back({n + ".weight_hh" + sfx, {g * u, u}});
        specs.push_back({n + ".bias_ih" + sfx, {g * u}});
        specs.push_back({n + ".bias_hh" + sfx, {g * u}});
      }
      break;
    }
    case Builtin::LstmCell:
    case Builtin::GruCell: {
      int64_t g = layer->kind == Builtin::LstmCell ? 4 : 3;
      specs.push_back({n + ".weight_ih", {g * u, in}});
      specs.push_back({n + ".weight_hh", {g * u, u}});
      specs.push_back({n + ".bias_ih", {g * u}});
      specs.push_back({n + ".bias_hh", {g * u}});
      break;
    }
    case Builtin::Conv1D:
      specs.push_back({n + ".weight", {u, in, layer->kernelSize}});
      if (layer->useBias)
        specs.push_back({n + ".bias", {u}});
      break;
    case Builtin::BatchNorm:
      for (const char *p : {".weight", ".bias", ".running_mean", ".running_var"})
        specs.push_back({n + p, {in}});
      break;
    case Builtin::Embedding:
      specs.push_back({n + ".weight", {layer->vocab, u}});
      break;
    case Builtin::MultiHeadAttention:
      // nn.MultiheadAttention: q, k, v projections stacked, then out_proj.
      specs.push_back({n + ".in_proj_weight", {3 * u, u}});
      specs.push_back({n + ".in_proj_bias", {3 * u}});
      specs.push_back({n + ".out_proj.weight", {u, u}});
      specs.push_back({n + ".out_proj.bias", {u}});
      break;
    case Builtin::Glu:
      // Linear(in, 2·units) followed by F.glu: proj rows first, gate rows last.
      specs.push_back({n + ".weight", {2 * u, in}});
      if (layer->useBias)
        specs.push_back({n + ".bias", {2 * u}});
      break;
    default:
      specs.push_back({n + ".weight", {u, in}});
      if (layer->useBias)
        specs.push_back({n + ".bias", {u}});
      break;
    }
  }
  return specs;
}
