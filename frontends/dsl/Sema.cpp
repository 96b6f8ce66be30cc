//===- Sema.cpp - Semantic checks of the Heed model language --------------===//
//
// Part of Heed. One pass over the statements in order, with a scope of names:
// parameters (numbers), layers, and tensors with symbolic shapes. This file
// holds the scope, compile-time numbers, broadcasting and the dispatch over
// expressions; SemaImpl.h lists the files that check the rest.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Builtins.h"
#include "frontends/dsl/IdRanges.h"
#include "frontends/dsl/IntegerValues.h"
#include "frontends/dsl/SemaImpl.h"
#include "runtime/Limits.h"
#include "runtime/Numbers.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace heed::dsl;
using namespace heed::dsl::sema;

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
                         : old == Symbol::Kind::Weight  ? "weight tensor"
                                                        : "tensor";
      return error(loc, "'" + name + "' is already defined as a " + what);
    }
  }
  // A dotted name is a module path (`decoder.attention.W1`): it names
  // weights in a checkpoint, so only layers and weight tensors have one.
  if (llvm::StringRef(name).contains('.') && sym.kind != Symbol::Kind::Layer &&
      sym.kind != Symbol::Kind::Weight)
    return error(loc,
                 "'" + name +
                     "' is a dotted module path; only layers "
                     "and weight tensors ('parameter NAME: [...]') may have "
                     "one");
  // Layers and weight tensors take PyTorch's attribute names, which may
  // equal a built-in's (`layer dense = dense(10)`): calls look layers up
  // first. Parameters, loop variables and score functions may not.
  if ((sym.kind == Symbol::Kind::Number || sym.kind == Symbol::Kind::LoopVar ||
       sym.kind == Symbol::Kind::Score) &&
      (lookupFunction(name) != Builtin::None ||
       lookupLayerKind(name) != Builtin::None))
    return error(loc,
                 "'" + name + "' is a built-in name and cannot be redefined");
  scope[name] = std::move(sym);
  return true;
}

bool Sema::unknownModulePath(SMLoc loc, llvm::StringRef path, bool layer) {
  // The closest declared path of the same sort, by edit distance.
  std::string best;
  unsigned bestDistance = ~0u;
  for (auto &entry : scope) {
    Symbol::Kind kind = entry.second.kind;
    if (kind != (layer ? Symbol::Kind::Layer : Symbol::Kind::Weight))
      continue;
    unsigned d = path.edit_distance(entry.first());
    if (d < bestDistance || (d == bestDistance && entry.first() < best)) {
      bestDistance = d;
      best = entry.first().str();
    }
  }
  std::string hint;
  if (!best.empty() && bestDistance <= std::max<size_t>(3, path.size() / 3))
    hint = "; did you mean '" + best + "'?";
  return error(loc, Twine("the module path '") + path + "' names no " +
                        (layer ? "layer" : "weight tensor") + hint);
}

/// An identifier, as the lexer reads one (no dotted paths).
static bool isWord(llvm::StringRef s) {
  return !s.empty() && (std::isalpha(uint8_t(s[0])) || s[0] == '_') &&
         llvm::all_of(
             s, [](char c) { return std::isalnum(uint8_t(c)) || c == '_'; });
}

bool Sema::defineParam(Param &p) {
  auto given = overrides.find(p.name);
  std::optional<std::string> text;
  if (given != overrides.end())
    text = llvm::StringRef(given->second).trim().str();
  // A default that names nothing defined is a word (`NORM = softmax`).
  bool word = p.value->kind == Expr::Kind::Name && !scope.count(p.value->name);
  if (word) {
    if (text && !isWord(*text))
      return error(p.loc, "--param " + p.name + "=" + *text + ": '" + p.name +
                              "' takes a word (its default is " +
                              p.value->name + "), not '" + *text + "'");
    Symbol sym{Symbol::Kind::Word};
    sym.word = p.word = text ? *text : p.value->name;
    return define(p.name, p.loc, sym);
  }
  std::optional<double> v;
  if (text) {
    v = rt::parseDouble(*text);
    if (!v)
      return error(p.loc, "--param " + p.name + "=" + *text + ": '" + p.name +
                              "' takes a number, not '" + *text + "'");
  } else {
    v = evalNumber(*p.value);
  }
  if (!v)
    return false;
  p.number = *v;
  Symbol sym{Symbol::Kind::Number};
  sym.number = *v;
  return define(p.name, p.loc, sym);
}

std::optional<std::string> Sema::wordOf(const Expr &x) {
  if (x.kind != Expr::Kind::Name)
    return std::nullopt;
  auto it = scope.find(x.name);
  if (it != scope.end() && it->second.kind == Symbol::Kind::Word)
    return it->second.word;
  return x.name;
}

bool Sema::badWord(const Expr &x, const Twine &expected) {
  auto word = wordOf(x);
  if (!word)
    return error(x.loc, expected);
  std::string from = *word != x.name ? " (" + x.name + "'s value)" : "";
  return error(x.loc, expected + ", got '" + *word + "'" + from);
}

bool Sema::run() {
  for (Param &p : model.params)
    if (!defineParam(p))
      return false;
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

std::string Sema::fixLengthHint(const Dim &d) const {
  if (d.isKnown())
    return "";
  return "; " + d.symbol + " is bound when inputs arrive: to fix it, make " +
         "it a parameter (model " + model.name + "(" + d.symbol +
         " = 100)) and set it with --param " + d.symbol + "=N";
}

std::string heed::dsl::sema::formatNumber(double v) {
  return rt::formatGeneral(v);
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
      return error(call.kwLocs[i],
                   "'" + call.name + "' has no argument named '" +
                       call.kwNames[i] + "'" +
                       (known.empty() ? "" : " (known: " + known + ")"));
    }
    for (size_t j = 0; j < i; ++j)
      if (call.kwNames[j] == call.kwNames[i])
        return error(call.kwLocs[i],
                     "argument '" + call.kwNames[i] + "' given twice");
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
    if (it->second.kind == Symbol::Kind::Word)
      return fail(e.loc, "'" + e.name + "' is a word parameter (" +
                             it->second.word + "), not a number");
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
    case '+':
      return *l + *r;
    case '-':
      return *l - *r;
    case '*':
      return *l * *r;
    case CmpEq:
      return double(*l == *r);
    case CmpNe:
      return double(*l != *r);
    case CmpLt:
      return double(*l < *r);
    case CmpLe:
      return double(*l <= *r);
    case CmpGt:
      return double(*l > *r);
    case CmpGe:
      return double(*l >= *r);
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
                     " (the limit is " + Twine(heed::limits::kMaxDimension) +
                     ")");
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
      return error(e.loc,
                   "this tensor of shape " + shapeStr(e.type) +
                       " is too large (the limits are " +
                       Twine(heed::limits::kMaxDimension) + " per axis and " +
                       Twine(heed::limits::kMaxTensorElements) + " elements)");
    known *= d.size;
  }
  if (e.type.size() > heed::limits::kMaxRank)
    return error(e.loc, "this tensor has rank " + Twine(e.type.size()) +
                            ", above the limit of " +
                            Twine(heed::limits::kMaxRank));
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
      if (llvm::StringRef(e.name).contains('.'))
        return unknownModulePath(e.loc, e.name, /*layer=*/false);
      return error(e.loc, "unknown name '" + e.name + "'");
    }
    switch (it->second.kind) {
    case Symbol::Kind::Tensor:
    case Symbol::Kind::Weight:
      e.type = it->second.shape;
      return true;
    case Symbol::Kind::Number:
      e.type = {Dim::known(1)};
      return true;
    case Symbol::Kind::Layer:
      return error(e.loc,
                   "layer '" + e.name + "' must be called: " + e.name + "(x)");
    case Symbol::Kind::LoopVar:
      return error(e.loc, "loop variable '" + e.name + "' is not a tensor");
    case Symbol::Kind::Word:
      return error(e.loc, "'" + e.name + "' is a word parameter (" +
                              it->second.word +
                              "); it can only be an option's value");
    case Symbol::Kind::Score:
      return error(e.loc, "'" + e.name +
                              "' is a score function; use it as "
                              "attention(query, keys, score=" +
                              e.name + ")");
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
    if (e.op == '@')
      return checkMatmul(e);
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
    return error(e.loc, "'" + e.name +
                            "' is a layer kind; declare it first: "
                            "layer my_" +
                            e.name + " = " + e.name + "(...)");
  if (llvm::StringRef(e.name).contains('.'))
    return unknownModulePath(e.loc, e.name, /*layer=*/true);
  return error(e.loc, "unknown function or layer '" + e.name + "'");
}

bool Sema::axisArg(Expr &call, size_t position, int64_t rank, bool required,
                   int64_t defaultAxis, bool forInsert) {
  const Expr *axisExpr = call.args.size() > position ? call.args[position].get()
                                                     : call.kwarg("axis");
  int64_t axis = defaultAxis;
  if (!axisExpr) {
    if (required)
      return error(call.loc, "'" + call.name + "' needs an axis: " + call.name +
                                 "(x, axis=...)");
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
                 "axis " + Twine(axis) +
                     " is out of range for a tensor of "
                     "rank " +
                     Twine(rank));
  call.axis = norm;
  return true;
}

void Sema::constrainInput(const Expr &arg, const std::string &role, int64_t min,
                          Dim max, int64_t maxOffset) {
  if (arg.kind != Expr::Kind::Name)
    return;
  for (auto &in : model.inputs)
    if (in.name == arg.name)
      model.inputRanges.push_back({in.name, role, min, max, maxOffset});
}

bool heed::dsl::checkModel(Model &model, llvm::SourceMgr &sourceMgr,
                           const ParamOverrides &params) {
  if (!Sema(model, sourceMgr, params).run() || !checkIdRanges(model, sourceMgr))
    return false;
  markIntegerOutputs(model);
  return true;
}
