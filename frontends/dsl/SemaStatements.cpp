//===- SemaStatements.cpp - Statements and loops --------------------------===//
//
// Part of Heed. Inputs, layers, assignments, outputs, `for` loops with carried
// states and yields, loops that stop (`until ... lengths ...`) and beam
// searches (`beam (...)`, `choose`).
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Builtins.h"
#include "frontends/dsl/IntegerValues.h"
#include "frontends/dsl/SemaImpl.h"
#include "runtime/Limits.h"

#include "llvm/ADT/ScopeExit.h"

#include <cmath>

using namespace heed::dsl;
using namespace heed::dsl::sema;

bool Sema::checkStmt(Stmt &s) {
  switch (s.kind) {
  case Stmt::Kind::Input: {
    for (auto &in : model.inputs)
      if (in.name == s.names[0]) {
        error(s.nameLocs[0], "input '" + s.names[0] + "' is declared twice");
        return note(in.loc, "first declared here");
      }
    auto earlier = scope.find(s.names[0]);
    if (earlier != scope.end() && earlier->second.kind == Symbol::Kind::Tensor)
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
    if (!define(s.names[0], s.nameLocs[0], sym))
      return false;
    model.weightOwners.push_back(s.layer);
    return true;
  }
  case Stmt::Kind::Weight: {
    Model::WeightTensor weight{s.names[0], {}, s.nameLocs[0]};
    Symbol sym{Symbol::Kind::Weight};
    for (auto &d : s.shape) {
      auto n = evalInt(*d, "weight tensor dimension");
      if (!n)
        return false;
      if (*n <= 0)
        return error(d->loc, "dimension must be positive, got " + Twine(*n));
      weight.shape.push_back(*n);
      sym.shape.push_back(Dim::known(*n));
    }
    if (!define(s.names[0], s.nameLocs[0], sym))
      return false;
    model.weightOwners.push_back(std::move(weight));
    return true;
  }
  case Stmt::Kind::Assign: {
    if (!checkTensor(*s.value))
      return false;
    // attention(...) gives the energies too when a third name asks.
    if (s.value->attention && s.names.size() == 3) {
      s.value->attention->energies = true;
      s.value->results.push_back(s.value->results[1]);
    }
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
        return error(s.nameLocs[0],
                     "output '" + s.names[0] + "' is declared twice");
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
  if (s.beamWidth && !checkBeamHeader(s, carried))
    return false;
  if (!s.scoresName.empty() && !s.beam)
    return error(s.scoresLoc, "'scores " + s.scoresName +
                                  "' names a beam search's scores, but this "
                                  "loop has no 'beam (...)'");
  // The beam applies to this loop's body, not to loops nested in it.
  Stmt *outerBeam = beamLoop;
  int outerChooseCount = chooseCount;
  beamLoop = s.beam ? &s : nullptr;
  chooseCount = 0;
  llvm::scope_exit restoreBeam([&] {
    beamLoop = outerBeam;
    chooseCount = outerChooseCount;
  });
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
  if (s.beam && chooseCount == 0)
    return error(s.beamLoc, "a loop with 'beam' picks each step's tokens "
                            "with `NAME = choose(logprobs)` in its body, "
                            "NAME a carried state");
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
  if (!s.scoresName.empty()) {
    Symbol sym{Symbol::Kind::Tensor};
    sym.shape = {carried[0][0]};
    if (!define(s.scoresName, s.scoresLoc, sym))
      return false;
  }
  return true;
}

bool Sema::checkBeamHeader(Stmt &s, const std::vector<Shape> &carried) {
  auto width = evalInt(*s.beamWidth, "beam width");
  if (!width)
    return false;
  if (*width < 1 || *width > heed::limits::kMaxBeamWidth)
    return error(s.beamWidth->loc, "beam width must be between 1 and " +
                                       Twine(heed::limits::kMaxBeamWidth) +
                                       ", got " + Twine(*width));
  s.beam = *width;
  if (s.lengthPenalty) {
    auto alpha = evalNumber(*s.lengthPenalty);
    if (!alpha)
      return false;
    if (!std::isfinite(*alpha) || *alpha < 0)
      return error(s.lengthPenalty->loc,
                   "length_penalty must be a finite number >= 0, got " +
                       formatNumber(*alpha));
    s.beamPenalty = *alpha;
  }
  // Each batch row becomes `width` hypotheses: the body runs on
  // [B * width, ...], which needs the batch to be a symbolic dimension.
  if (carried.empty() || carried[0].empty() || carried[0][0].isKnown())
    return error(s.beamLoc,
                 "a loop with 'beam' needs carried states whose first axis "
                 "is the batch, a symbolic dimension (such as B)");
  return true;
}

bool Sema::checkChoose(Expr &e) {
  if (!beamLoop || chooseSite != &e)
    return error(e.loc, "choose(logprobs) picks a beam's next tokens: write "
                        "`token = choose(logprobs)` directly in the body of "
                        "a loop with 'beam (...)', token a carried state");
  if (++chooseCount > 1)
    return error(e.loc, "choose(...) appears more than once in this loop's "
                        "body; a beam picks its tokens once per step");
  if (!expectArgs(e, 1, 1, {}) || !checkTensor(*e.args[0]))
    return false;
  const Shape &in = e.args[0]->type;
  const Dim &batch = beamLoop->carryInits[0]->type[0];
  if (in.size() != 2 || in[0] != batch || !in[1].isKnown())
    return error(e.args[0]->loc,
                 "choose takes log-probabilities [" + batch.str() +
                     ", V] (one row per hypothesis, V classes known when the "
                     "model compiles), got " +
                     shapeStr(in));
  e.type = {batch};
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
      return error(s.carryLocs[i], "state '" + s.carryNames[i] + "' is " +
                                       shapeStr(carried[i]) +
                                       ", but in a loop with 'until' "
                                       "every state has the batch first ([" +
                                       batch.str() + ", ...], as '" +
                                       s.carryNames[0] +
                                       "'), so that "
                                       "finished rows can be frozen");
  for (auto &[name, shape] : yields)
    if (shape.empty() || shape[0] != batch)
      return error(s.until->loc,
                   "'" + name + "' is yielded as " + shapeStr(shape) +
                       ", but a loop with "
                       "'until' yields [" +
                       batch.str() +
                       ", ...] per step (zeros for finished rows)");
  if (!checkTensor(*s.until))
    return false;
  const Shape &cond = s.until->type;
  bool perRow =
      (cond.size() == 1 || (cond.size() == 2 && cond[1] == Dim::known(1))) &&
      cond[0] == batch;
  if (!perRow)
    return error(s.until->loc, "the condition after 'until' must give one flag "
                               "per batch row, [" +
                                   batch.str() + "] or [" + batch.str() +
                                   ", 1], got " + shapeStr(cond));
  return true;
}

bool Sema::checkBody(std::vector<std::unique_ptr<Stmt>> &body,
                     std::vector<std::pair<std::string, Shape>> &yields) {
  for (auto &st : body) {
    switch (st->kind) {
    case Stmt::Kind::Yield: {
      for (auto &y : yields)
        if (y.first == st->names[0])
          return error(st->nameLocs[0],
                       "'" + st->names[0] + "' is yielded twice in this loop");
      if (!checkTensor(*st->value))
        return false;
      yields.push_back({st->names[0], st->value->type});
      break;
    }
    case Stmt::Kind::Assign: {
      // `token = choose(logprobs)`: the one place choose may appear.
      Expr &value = *st->value;
      bool isChoose = value.kind == Expr::Kind::Call &&
                      value.name == "choose" && !scope.count("choose");
      if (isChoose && beamLoop) {
        bool carried = st->names.size() == 1 &&
                       llvm::is_contained(beamLoop->carryNames, st->names[0]);
        if (!carried)
          return error(st->nameLocs[0],
                       "choose(...) gives the beam's next tokens; assign them "
                       "to one carried state of the loop (`token = "
                       "choose(logprobs)`)");
        chooseSite = &value;
      }
      bool ok = checkStmt(*st);
      chooseSite = nullptr;
      if (!ok)
        return false;
      break;
    }
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
