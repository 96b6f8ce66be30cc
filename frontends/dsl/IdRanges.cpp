//===- IdRanges.cpp - Compile-time ranges of token ids --------------------===//
//
// Part of Heed. Interval arithmetic over the integer-valued tensors of a
// model: constants and parameters, zeros, argmax results, sums of those,
// where(). A loop's carried states get the union of their initial range and
// their range at the end of the body, iterated to a fixed point (quietly),
// before the body is checked once more with the final ranges.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/IdRanges.h"
#include "runtime/Numbers.h"

#include "llvm/ADT/StringMap.h"

#include <cmath>
#include <optional>

using namespace heed::dsl;
using llvm::SMLoc;
using llvm::Twine;

namespace {

/// Integers in [lo, hi]; `origin` says where they come from, for messages.
struct Range {
  double lo, hi;
  std::string origin;
  bool operator==(const Range &o) const {
    return lo == o.lo && hi == o.hi && origin == o.origin;
  }
  bool operator!=(const Range &o) const { return !(*this == o); }
};
using MaybeRange = std::optional<Range>;
using Env = llvm::StringMap<MaybeRange>;

std::string num(double v) {
  // Bounds come from the model (parameters, vocabulary sizes); an integer
  // cast of one beyond int64 would be undefined.
  if (std::fabs(v) < 9e18)
    return std::to_string(int64_t(v));
  return heed::rt::formatGeneral(v);
}

MaybeRange unite(const MaybeRange &a, const MaybeRange &b) {
  if (!a || !b)
    return std::nullopt;
  auto has = [](const std::string &x, const std::string &y) {
    return x.find(y) != std::string::npos;
  };
  std::string origin = has(a->origin, b->origin)   ? a->origin
                       : has(b->origin, a->origin) ? b->origin
                                                   : a->origin + " or " + b->origin;
  return Range{std::min(a->lo, b->lo), std::max(a->hi, b->hi), origin};
}

class Checker {
public:
  Checker(const Model &model, llvm::SourceMgr &sm) : model(model), sm(sm) {}

  bool run() {
    Env env;
    for (const Param &p : model.params)
      if (std::floor(p.number) == p.number)
        env[p.name] = Range{p.number, p.number,
                            "the parameter " + p.name + " = " + num(p.number)};
    return walk(model.stmts, env);
  }

private:
  /// Reports only when `report` is set (the final pass over a loop body);
  /// fixed-point passes are quiet and keep going.
  bool error(SMLoc loc, const Twine &msg) {
    if (!report)
      return true;
    sm.PrintMessage(loc, llvm::SourceMgr::DK_Error, msg);
    return false;
  }

  MaybeRange rangeOf(const Expr &e, const Env &env) const;
  bool checkUses(const Expr &e, const Env &env);
  bool walk(const std::vector<std::unique_ptr<Stmt>> &stmts, Env &env);
  bool walkLoop(const Stmt &s, Env &env);
  bool checkStopCondition(const Expr &cond, const Env &env);

  const Model &model;
  llvm::SourceMgr &sm;
  bool report = true;
  Env *yields = nullptr; // the innermost loop's yielded ranges
};

} // namespace

MaybeRange Checker::rangeOf(const Expr &e, const Env &env) const {
  switch (e.kind) {
  case Expr::Kind::Number:
    if (std::floor(e.number) != e.number)
      return std::nullopt;
    return Range{e.number, e.number, "the constant " + num(e.number)};
  case Expr::Kind::Name: {
    auto it = env.find(e.name);
    return it == env.end() ? std::nullopt : it->second;
  }
  case Expr::Kind::Index:
    return rangeOf(*e.args[0], env);
  case Expr::Kind::Binary: {
    if (isComparison(e.op))
      return Range{0, 1, ""};
    MaybeRange l = rangeOf(*e.args[0], env), r = rangeOf(*e.args[1], env);
    if (!l || !r || e.op == '/' || e.op == '@')
      return std::nullopt;
    // zeros(B) + START keeps the constant's name.
    auto isZero = [](const Range &x) { return x.lo == 0 && x.hi == 0; };
    std::string origin = isZero(*l) ? r->origin : isZero(*r) ? l->origin : "";
    if (e.op == '+')
      return Range{l->lo + r->lo, l->hi + r->hi, origin};
    if (e.op == '-')
      return Range{l->lo - r->hi, l->hi - r->lo, isZero(*r) ? l->origin : ""};
    double p[] = {l->lo * r->lo, l->lo * r->hi, l->hi * r->lo, l->hi * r->hi};
    return Range{*std::min_element(p, p + 4), *std::max_element(p, p + 4), ""};
  }
  case Expr::Kind::Call:
    switch (e.builtin) {
    case Builtin::Argmax:
    case Builtin::Choose: {
      const Dim &classes = e.args[0]->type.back();
      if (!classes.isKnown())
        return std::nullopt;
      return Range{
          0, double(classes.size - 1),
          std::string(e.builtin == Builtin::Argmax ? "an argmax" : "a choose") +
              " over " + num(classes.size) + " classes"};
    }
    case Builtin::Zeros:
      return Range{0, 0, "zeros"};
    case Builtin::Where:
      return unite(rangeOf(*e.args[1], env), rangeOf(*e.args[2], env));
    case Builtin::Dropout:
      return rangeOf(*e.args[0], env);
    default:
      return std::nullopt;
    }
  default:
    return std::nullopt;
  }
}

bool Checker::checkUses(const Expr &e, const Env &env) {
  for (auto &a : e.args)
    if (a && !checkUses(*a, env))
      return false;
  for (auto &a : e.kwArgs)
    if (a && !checkUses(*a, env))
      return false;
  if (e.kind != Expr::Kind::Call || !e.layer ||
      e.layer->kind != Builtin::Embedding || e.args.empty())
    return true;
  MaybeRange ids = rangeOf(*e.args[0], env);
  int64_t vocab = e.layer->vocab;
  if (!ids || (ids->lo >= 0 && ids->hi <= vocab - 1))
    return true;
  return error(e.args[0]->loc,
               "token ids given to embedding '" + e.layer->name + "' lie in [" +
                   num(ids->lo) + ", " + num(ids->hi) + "]" +
                   (ids->origin.empty() ? "" : " (" + ids->origin + ")") +
                   ", but it has " + num(vocab) + " rows (ids 0 to " +
                   num(vocab - 1) + ")");
}

bool Checker::walk(const std::vector<std::unique_ptr<Stmt>> &stmts, Env &env) {
  for (auto &s : stmts) {
    switch (s->kind) {
    case Stmt::Kind::Assign:
      if (!checkUses(*s->value, env))
        return false;
      for (const std::string &name : s->names)
        env[name] = s->names.size() == 1 ? rangeOf(*s->value, env)
                                         : std::nullopt;
      break;
    case Stmt::Kind::Output:
      if (!checkUses(*s->value, env))
        return false;
      env[s->names[0]] = rangeOf(*s->value, env);
      break;
    case Stmt::Kind::Yield:
      if (!checkUses(*s->value, env))
        return false;
      if (yields)
        (*yields)[s->names[0]] = rangeOf(*s->value, env);
      break;
    case Stmt::Kind::For:
      if (!walkLoop(*s, env))
        return false;
      break;
    default:
      break;
    }
  }
  return true;
}

bool Checker::walkLoop(const Stmt &s, Env &env) {
  std::vector<MaybeRange> carried;
  for (auto &init : s.carryInits) {
    if (!checkUses(*init, env))
      return false;
    carried.push_back(rangeOf(*init, env));
  }
  auto bodyEnv = [&] {
    Env inner = env;
    inner[s.names[0]] = std::nullopt; // the loop variable
    for (size_t i = 0; i < carried.size(); ++i)
      inner[s.carryNames[i]] = carried[i];
    return inner;
  };
  // Carried ranges: initial ∪ end of body, until nothing changes (ranges
  // that keep growing, such as counters, become unknown).
  bool saved = report;
  Env *outerYields = yields;
  Env loopYields;
  yields = &loopYields;
  report = false;
  for (int round = 0; round < 8; ++round) {
    Env inner = bodyEnv();
    walk(s.body, inner);
    bool changed = false;
    for (size_t i = 0; i < carried.size(); ++i) {
      MaybeRange next = unite(carried[i], inner[s.carryNames[i]]);
      if (next != carried[i]) {
        carried[i] = round == 7 ? std::nullopt : next;
        changed = true;
      }
    }
    if (!changed)
      break;
  }
  report = saved;
  Env inner = bodyEnv();
  bool ok = walk(s.body, inner) &&
            (!s.until || (checkUses(*s.until, inner) &&
                          checkStopCondition(*s.until, inner)));
  yields = outerYields;
  if (!ok)
    return false;
  for (size_t i = 0; i < carried.size(); ++i)
    env[s.carryNames[i]] = carried[i];
  // A loop with `until` yields zeros for finished rows.
  for (auto &y : loopYields)
    env[y.getKey()] = s.until ? unite(y.getValue(), Range{0, 0, "zeros"})
                              : y.getValue();
  if (!s.lengthsName.empty())
    env[s.lengthsName] =
        s.count.isKnown() ? MaybeRange(Range{0, double(s.count.size), ""})
                          : std::nullopt;
  return true;
}

bool Checker::checkStopCondition(const Expr &cond, const Env &env) {
  // `token == END` where END is one number `token` can never hold.
  if (cond.kind != Expr::Kind::Binary || cond.op != CmpEq)
    return true;
  for (int side = 0; side < 2; ++side) {
    const Expr &constant = *cond.args[side], &other = *cond.args[1 - side];
    MaybeRange c = rangeOf(constant, env), r = rangeOf(other, env);
    if (!c || !r || c->lo != c->hi || (c->lo >= r->lo && c->lo <= r->hi))
      continue;
    std::string what = other.kind == Expr::Kind::Name
                           ? "'" + other.name + "'"
                           : std::string("the other side");
    return error(constant.loc,
                 "this stop condition can never hold: " + what + " lies in [" +
                     num(r->lo) + ", " + num(r->hi) + "]" +
                     (r->origin.empty() ? "" : " (" + r->origin + ")") +
                     " and never equals " + num(c->lo) +
                     "; is the end id inside the vocabulary?");
  }
  return true;
}

bool heed::dsl::checkIdRanges(const Model &model, llvm::SourceMgr &sourceMgr) {
  return Checker(model, sourceMgr).run();
}
