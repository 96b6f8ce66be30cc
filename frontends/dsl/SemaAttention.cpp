//===- SemaAttention.cpp - attention(...), score functions, multi-head ----===//
//
// Part of Heed. Types `attention(...)` and its options, the bodies of `score`
// definitions (one query row, one key row), and multi-head attention
// layers.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Builtins.h"
#include "frontends/dsl/IdRanges.h"
#include "frontends/dsl/SemaImpl.h"

#include <cmath>

using namespace heed::dsl;
using namespace heed::dsl::sema;

bool Sema::checkMultiHeadCall(Expr &e, Layer &layer) {
  // mha(x) (self-attention), mha(q, kv) or mha(q, k, v); lengths= masks
  // keys past each row's length.
  // A transformer_encoder_layer attends over its own input.
  bool encoder = layer.kind == Builtin::TransformerEncoderLayer;
  if (!expectArgs(e, 1, encoder ? 1 : 3, {"lengths"}))
    return false;
  // The sizes of q, k and v (k and v of a self-attention are q).
  int64_t kdim = layer.kdim ? layer.kdim : layer.units,
          vdim = layer.vdim ? layer.vdim : layer.units;
  int64_t sizes[3] = {layer.units, e.args.size() > 1 ? kdim : layer.units,
                      e.args.size() == 3   ? vdim
                      : e.args.size() == 2 ? kdim
                                           : layer.units};
  if (e.args.size() == 1 && layer.separateProjections())
    return error(e.loc, "'" + layer.name + "' has kdim " + Twine(kdim) +
                            " and vdim " + Twine(vdim) + " besides d_model " +
                            Twine(layer.units) + ": pass keys and values, " +
                            layer.name + "(q, k, v)");
  if (e.args.size() == 2 && kdim != vdim)
    return error(e.loc, "'" + layer.name + "' has kdim " + Twine(kdim) +
                            " and vdim " + Twine(vdim) +
                            ": pass keys and values apart, " + layer.name +
                            "(q, k, v)");
  for (size_t i = 0; i < e.args.size(); ++i) {
    Expr &a = *e.args[i];
    if (!checkTensor(a))
      return false;
    const Shape &s = a.type;
    const char *role = i == 0 ? "queries" : i == 1 ? "keys" : "values";
    if (s.size() != 3 || s[2] != Dim::known(sizes[i]))
      return error(a.loc, Twine(encoder ? "transformer_encoder_layer '"
                                        : "multi_head_attention '") +
                              layer.name + "' takes " + role + " [B, T, " +
                              Twine(sizes[i]) + "], got " + shapeStr(s));
  }
  const Shape &q = e.args[0]->type,
              &k = e.args.size() > 1 ? e.args[1]->type : q;
  for (size_t i = 1; i < e.args.size(); ++i)
    if (e.args[i]->type[0] != q[0] || e.args[i]->type[1] != k[1])
      return error(e.args[i]->loc,
                   "keys and values of '" + layer.name +
                       "' must agree in batch and length with " + shapeStr(k) +
                       ", got " + shapeStr(e.args[i]->type));
  if (Expr *len = e.kwarg("lengths")) {
    if (!checkTensor(*len))
      return false;
    if (len->type != Shape{q[0]})
      return error(len->loc, "lengths must be [" + q[0].str() + "], got " +
                                 shapeStr(len->type));
    constrainInput(*len, "lengths of the keys of '" + layer.name + "'", 0,
                   k[1]);
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
                             "this attention gives it " +
                             Twine(rows.size()) + " rows (query, keys" +
                             (rows.size() > 2 ? ", features" : "") + ")");
  if (!def.rowShapes.empty()) {
    if (def.rowShapes != rows) {
      std::string was, now;
      for (size_t i = 0; i < rows.size(); ++i) {
        was += (i ? ", " : "") + shapeStr(def.rowShapes[i]);
        now += (i ? ", " : "") + shapeStr(rows[i]);
      }
      return error(useLoc,
                   "score '" + def.name + "' was first used with rows " + was +
                       ", here with " + now + "; its layers are shared");
    }
    return true;
  }
  // The body sees parameters, layers, weight tensors and its own arguments
  // only: it is
  // evaluated per (query, key) pair, not on whole tensors.
  llvm::StringMap<Symbol> outer = scope;
  llvm::StringMap<Symbol> inner;
  for (auto &entry : scope)
    if (entry.second.kind == Symbol::Kind::Number ||
        entry.second.kind == Symbol::Kind::Layer ||
        entry.second.kind == Symbol::Kind::Weight)
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
    return error(def.body->loc, "score '" + def.name +
                                    "' must give one number per (query, "
                                    "key) pair, but gives " +
                                    shapeStr(def.body->type) + " for rows " +
                                    shapeStr(rows[0]) + " and " +
                                    shapeStr(rows[1]) +
                                    " (end it with a one-unit dense layer "
                                    "or dot(...))");
  def.rowShapes = rows;
  return true;
}

bool Sema::checkAttention(Expr &e) {
  // attention(query, keys, values=keys, score=dot, features=f | [f, ...],
  //           lengths=, normalization=, causal=, constraint=, window=,
  //           previous=, position=, hard=) -> context, weights
  if (!expectArgs(e, 2, 3,
                  {"values", "score", "features", "lengths", "normalization",
                   "causal", "constraint", "window", "previous", "position",
                   "hard"}))
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
  Shape q = call->query->type, k = call->keys->type, v = call->values->type;
  // [B, H, Tq, D] queries over [B, H, T, D] keys and values: the heads are
  // a second batch axis (checked here, then folded into B as 3-D operands).
  const Shape queryShape = q;
  if (q.size() == 4) {
    if (k.size() != 4 || v.size() != 4 || k[0] != q[0] || v[0] != q[0] ||
        k[1] != q[1] || v[1] != q[1] || v[2] != k[2])
      return error(e.loc, "attention with heads needs query [B, H, Tq, Dq], "
                          "keys [B, H, T, Dk] and values [B, H, T, Dv] of "
                          "one B, H and T, got " +
                              shapeStr(q) + ", " + shapeStr(k) + " and " +
                              shapeStr(v));
    for (const char *option :
         {"features", "constraint", "previous", "position", "hard"})
      if (e.kwarg(option))
        return error(e.kwarg(option)->loc,
                     std::string(option) +
                         "= is not supported with [B, H, T, D] operands");
    call->heads = true;
    q = {q[0], q[2], q[3]};
    k = {k[0], k[2], k[3]};
    v = {v[0], v[2], v[3]};
  }
  if (q.size() != 2 && q.size() != 3)
    return error(call->query->loc, "attention query must be [B, Dq] (one "
                                   "query per row), [B, Tq, Dq] or [B, H, "
                                   "Tq, Dq], got " +
                                       shapeStr(q));
  if (k.size() != 3)
    return error(call->keys->loc,
                 "attention keys must be [B, T, Dk], got " + shapeStr(k));
  if (v.size() != 3 || v[0] != k[0] || v[1] != k[1])
    return error(call->values->loc, "attention values must be [B, T, Dv] "
                                    "with the keys' B and T " +
                                        shapeStr(k) + ", got " + shapeStr(v));
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
                             "keys' B and T " +
                                 shapeStr(k) + ", got " + shapeStr(fs));
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
  // position= (local attention's p_t): a [B] tensor, or the loop variable
  // (local-m's p_t = t).
  if (Expr *x = e.kwarg("position")) {
    auto it = x->kind == Expr::Kind::Name ? scope.find(x->name) : scope.end();
    if (it != scope.end() && it->second.kind == Symbol::Kind::LoopVar)
      call->positionIsStep = true;
    else if (!rowTensor("position", call->position))
      return false;
    call->positionExpr = x;
  }
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
    auto name = wordOf(*x);
    if (!name)
      return error(x->loc, std::string(key) + " must be a name");
    if (allowed.size() && !llvm::is_contained(allowed, *name)) {
      std::string list;
      for (auto a : allowed)
        list += (list.empty() ? "" : ", ") + a.str();
      std::string from = *name != x->name ? x->name + "'s value; " : "";
      return error(x->loc, std::string("unknown ") + key + " '" + *name +
                               "' (" + from + "expected " + list + ")");
    }
    slot = *name;
    return true;
  };
  if (!nameKwarg("normalization", call->normalization,
                 {"softmax", "smoothing"}) ||
      !nameKwarg("constraint", call->constraint,
                 {"none", "window", "monotonic", "local_m", "local_p"}) ||
      !nameKwarg("score", call->scoreName, {}))
    return false;
  if (const Expr *x = e.kwarg("causal")) {
    auto c = evalInt(*x, "causal (0 or 1)");
    if (!c)
      return false;
    call->causal = *c != 0;
    if (call->causal && q.size() != 3)
      return error(x->loc, "a causal mask needs a sequence of queries "
                           "[B, Tq, Dq], got " +
                               shapeStr(q));
  }
  if (const Expr *x = e.kwarg("hard")) {
    auto h = evalInt(*x, "hard (0 or 1)");
    if (!h)
      return false;
    call->hard = *h != 0;
  }
  // window=: what it means for the constraint, and its least value.
  auto windowKwarg = [&](llvm::StringRef meaning, int64_t least,
                         const Twine &name) -> bool {
    const Expr *w = e.kwarg("window");
    if (!w)
      return error(e.loc, "constraint=" + call->constraint +
                              " needs window=" + meaning);
    auto n = evalInt(*w, "window");
    if (!n)
      return false;
    if (*n < least)
      return error(w->loc, name + " must be at least " + Twine(least) +
                               ", got " + Twine(*n));
    if (call->constraint == "window" || call->constraint == "monotonic")
      if (k[1].isKnown() && *n > k[1].size)
        return error(w->loc, "window of " + Twine(*n) +
                                 " steps is larger than "
                                 "the memory " +
                                 shapeStr(k) + " (" + k[1].str() + " steps)");
    call->window = *n;
    return true;
  };
  bool local = call->constraint == "local_m" || call->constraint == "local_p";
  if (local) {
    // Luong's local attention: a window of half-width D around position=.
    int64_t least = call->constraint == "local_p" ? 1 : 0;
    if (!windowKwarg("D, the half-width of the window", least,
                     "window (the half-width D) for " + call->constraint))
      return false;
    if (!call->positionExpr)
      return error(e.loc, "constraint=" + call->constraint +
                              " needs position=P, the aligned source "
                              "position [B] (or the loop variable)");
    if (call->previous)
      return error(call->previous->loc,
                   "local attention takes position=, not previous=");
    if (q.size() != 2)
      return error(e.loc, "local attention takes one query per row [B, Dq] "
                          "(a decoder step), got " +
                              shapeStr(q));
  } else if (call->positionExpr) {
    return error(call->positionExpr->loc,
                 "position= needs constraint=local_m or constraint=local_p");
  } else if (call->constraint != "none") {
    if (!windowKwarg("N (attention_win_size)", 1, "window"))
      return false;
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
      return error(e.loc, "score " + call->scoreName +
                              " needs query and key "
                              "rows of one size, got " +
                              shapeStr(q) + " and " + shapeStr(k) +
                              "; write a score with a "
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
  Shape ctx = queryShape, weights = queryShape;
  ctx.back() = v.back();
  weights.back() = k[1];
  e.type = ctx;
  e.results = {ctx, weights};
  e.attention = std::move(call);
  return true;
}
