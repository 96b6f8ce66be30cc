//===- SemaBuiltins.cpp - Built-in functions and indexing -----------------===//
//
// Part of Heed. Types calls of the built-in functions (softmax, concat, sum,
// ...) and Python-style indexing and slicing.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Builtins.h"
#include "frontends/dsl/IdRanges.h"
#include "frontends/dsl/IntegerValues.h"
#include "frontends/dsl/SemaImpl.h"
#include "runtime/Limits.h"

#include <algorithm>
#include <cmath>

using namespace heed::dsl;
using namespace heed::dsl::sema;

bool Sema::checkBuiltinCall(Expr &e) {
  switch (e.builtin) {
  case Builtin::Tanh:
  case Builtin::Sigmoid:
  case Builtin::Relu:
  case Builtin::Exp:
  case Builtin::Sqrt:
  case Builtin::Rsqrt:
  case Builtin::Log:
  case Builtin::Abs:
  case Builtin::Gelu:
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
  case Builtin::Reshape:
  case Builtin::Stack:
  case Builtin::Arange:
  case Builtin::SequenceMask:
  case Builtin::Take:
    return checkShapeBuiltin(e);
  case Builtin::TopK:
  case Builtin::Cumsum:
  case Builtin::MaxPool1D:
  case Builtin::AvgPool1D:
    return checkScanBuiltin(e);
  case Builtin::Pow:
  case Builtin::Minimum:
  case Builtin::Maximum:
    // Elementwise over two operands that broadcast (a number is [1]).
    if (!expectArgs(e, 2, 2, {}) || !checkTensor(*e.args[0]) ||
        !checkTensor(*e.args[1]))
      return false;
    if (e.builtin == Builtin::Pow)
      e.exponent = evalNumber(*e.args[1], /*quiet=*/true);
    return broadcast(e.args[0]->type, e.args[1]->type, e.type, e.loc);
  case Builtin::Clip: {
    // clip(x, lo, hi) = minimum(maximum(x, lo), hi), torch.clamp.
    if (!expectArgs(e, 3, 3, {}))
      return false;
    for (auto &a : e.args)
      if (!checkTensor(*a))
        return false;
    Shape lower;
    if (!broadcast(e.args[0]->type, e.args[1]->type, lower, e.loc) ||
        !broadcast(lower, e.args[2]->type, e.type, e.loc))
      return false;
    // Bounds that are numbers must be in order.
    auto lo = evalNumber(*e.args[1], /*quiet=*/true),
         hi = evalNumber(*e.args[2], /*quiet=*/true);
    if (lo && hi && *lo > *hi)
      return error(e.loc, "clip's lower bound " + formatNumber(*lo) +
                              " is above its upper bound " + formatNumber(*hi));
    return true;
  }
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
                                   "an even, known D, got " +
                                       shapeStr(in));
    e.type = in;
    return true;
  }
  case Builtin::Zeros: {
    // zeros(B, 4): sizes are numbers, parameters or symbolic dimensions.
    if (!expectArgs(e, 1, SIZE_MAX, {}))
      return false;
    e.type.clear();
    for (auto &a : e.args) {
      auto d = sizeArg(*a, /*allowInfer=*/false);
      if (!d)
        return false;
      e.type.push_back(*d);
    }
    return true;
  }
  case Builtin::Choose:
    return checkChoose(e);
  case Builtin::Softmax:
  case Builtin::LogSoftmax:
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
          return error(e.args[i]->loc, "cannot concatenate " + shapeStr(first) +
                                           " with " + shapeStr(s) +
                                           " on axis " + Twine(e.axis) +
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
      return error(list.loc,
                   "permute expects a list of axes: permute(x, [0, 2, 1])");
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
        return error(item->loc,
                     "not a permutation of 0.." + Twine(in.size() - 1));
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

bool Sema::checkIndex(Expr &e) {
  // x[i, a:b, :]: integers select (and drop) an axis, slices keep it;
  // axes not named keep their full size. Negative numbers count from the
  // end, as in Python.
  if (!checkTensor(*e.args[0]))
    return false;
  const Shape &in = e.args[0]->type;
  size_t items = e.args.size() - 1;
  if (items > in.size())
    return error(e.loc, "index has " + Twine(items) +
                            " items, but the tensor " + shapeStr(in) +
                            " has rank " + Twine(in.size()));
  e.type.clear();
  for (size_t axis = 0; axis < in.size(); ++axis) {
    const Expr *item = axis < items ? e.args[axis + 1].get() : nullptr;
    e.sliceVar.emplace_back();
    if (item && item->kind == Expr::Kind::Name) {
      auto it = scope.find(item->name);
      if (it != scope.end() && it->second.kind == Symbol::Kind::LoopVar) {
        // x[:, t]: step t of an axis as long as the loop.
        if (in[axis] != it->second.shape[0])
          return error(item->loc,
                       "loop variable '" + item->name + "' counts to " +
                           it->second.shape[0].str() + ", but axis " +
                           Twine(axis) + " of " + shapeStr(in) + " has " +
                           in[axis].str() + " steps");
        e.sliceVar.back() = item->name;
        e.sliceScale.push_back(1);
        e.sliceFromEnd.push_back(false);
        e.sliceOffsets.push_back(0);
        e.sliceSizes.push_back(1);
        e.sliceDrop.push_back(true);
        continue;
      }
    }
    e.sliceScale.push_back(1);
    // x[:, t*K:(t+1)*K]: bounds that move with a loop variable, a fixed
    // size apart.
    if (item && item->kind == Expr::Kind::Slice && item->args[0] &&
        item->args[1] &&
        (mentionsLoopVar(*item->args[0]) || mentionsLoopVar(*item->args[1]))) {
      auto start = loopAffine(*item->args[0]),
           stop = loopAffine(*item->args[1]);
      if (!start || !stop)
        return false;
      if (!start->var.empty() || !stop->var.empty()) {
        if (start->var != stop->var || start->scale != stop->scale)
          return error(item->loc,
                       "a slice that moves with a loop variable needs both "
                       "bounds as the same multiple of it (t*K:(t+1)*K), so "
                       "its size stays fixed");
        int64_t size = stop->offset - start->offset;
        if (size <= 0)
          return error(item->loc, "slice is empty along axis " + Twine(axis) +
                                      " of " + shapeStr(in));
        e.sliceVar.back() = start->var;
        e.sliceScale.back() = start->scale;
        e.sliceFromEnd.push_back(false);
        e.sliceOffsets.push_back(start->offset);
        e.sliceSizes.push_back(size);
        e.sliceDrop.push_back(false);
        e.type.push_back(Dim::known(size));
        continue;
      }
    }
    bool full = !item || (item->kind == Expr::Kind::Slice && !item->args[0] &&
                          !item->args[1]);
    if (full) {
      e.sliceFromEnd.push_back(false);
      e.sliceOffsets.push_back(0);
      e.sliceSizes.push_back(in[axis].isKnown() ? in[axis].size : -1);
      e.sliceDrop.push_back(false);
      e.type.push_back(in[axis]);
      continue;
    }
    // A symbolic axis takes indices from its start (checked by MLIRGen
    // once the dimension is bound) or from its end: negative numbers and
    // bounds written with the dimension itself (`S - 1`, `S`).
    bool symbolic = !in[axis].isKnown();
    int64_t n = symbolic ? INT64_MAX : in[axis].size;
    // A bound: {counted from the end, value}; from the end, value is how
    // far back (0 is the end itself).
    using Bound = std::pair<bool, int64_t>;
    auto bound = [&](const Expr *x, Bound dflt) -> std::optional<Bound> {
      if (!x)
        return dflt;
      if (symbolic) {
        if (auto back = stepsBeforeEnd(*x, in[axis].symbol))
          return Bound{true, *back};
      }
      auto v = evalInt(*x, "index");
      if (!v)
        return std::nullopt;
      if (*v < 0)
        return symbolic ? Bound{true, -*v} : Bound{false, *v + n};
      return Bound{false, *v};
    };
    if (item->kind == Expr::Kind::Slice) {
      auto start = bound(item->args[0].get(), {false, 0}),
           stop = bound(item->args[1].get(), {symbolic, symbolic ? 0 : n});
      if (!start || !stop)
        return false;
      if (!start->first && start->second == 0 && stop->first &&
          stop->second == 0) { // 0:S, the whole axis
        e.sliceFromEnd.push_back(false);
        e.sliceOffsets.push_back(0);
        e.sliceSizes.push_back(-1);
        e.sliceDrop.push_back(false);
        e.type.push_back(in[axis]);
        continue;
      }
      int64_t size;
      if (start->first == stop->first) {
        size = start->first ? start->second - stop->second
                            : stop->second - start->second;
      } else {
        return error(item->loc,
                     "slice of the symbolic axis " + Twine(axis) + " of " +
                         shapeStr(in) + " has a size that depends on " +
                         in[axis].symbol +
                         "; write both bounds from its start or both from "
                         "its end (" +
                         in[axis].symbol + "-3:" + in[axis].symbol + ")");
      }
      int64_t first = start->first ? 0 : start->second;
      if (size <= 0 || first < 0 || (!symbolic && start->second + size > n) ||
          (start->first && stop->second < 0))
        return error(item->loc, "slice is empty or outside axis " +
                                    Twine(axis) + " of " + shapeStr(in));
      e.sliceFromEnd.push_back(start->first);
      e.sliceOffsets.push_back(start->second);
      e.sliceSizes.push_back(size);
      e.sliceDrop.push_back(false);
      e.type.push_back(Dim::known(size));
    } else {
      auto i = bound(item, {false, 0});
      if (!i)
        return false;
      if (i->first ? i->second < 1 : (i->second < 0 || i->second >= n))
        return error(item->loc, "index is outside axis " + Twine(axis) +
                                    " of " + shapeStr(in));
      e.sliceFromEnd.push_back(i->first);
      e.sliceOffsets.push_back(i->second);
      e.sliceSizes.push_back(1);
      e.sliceDrop.push_back(true);
    }
  }
  if (e.type.empty())
    e.type = {Dim::known(1)};
  return true;
}

bool Sema::mentionsLoopVar(const Expr &x) {
  if (x.kind == Expr::Kind::Name) {
    auto it = scope.find(x.name);
    return it != scope.end() && it->second.kind == Symbol::Kind::LoopVar;
  }
  return llvm::any_of(x.args, [&](const std::unique_ptr<Expr> &a) {
    return a && mentionsLoopVar(*a);
  });
}

std::optional<Sema::LoopAffine> Sema::loopAffine(const Expr &x) {
  switch (x.kind) {
  case Expr::Kind::Name: {
    auto it = scope.find(x.name);
    if (it != scope.end() && it->second.kind == Symbol::Kind::LoopVar)
      return LoopAffine{x.name, 1, 0};
    break;
  }
  case Expr::Kind::Neg: {
    auto a = loopAffine(*x.args[0]);
    if (!a)
      return std::nullopt;
    return LoopAffine{a->var, -a->scale, -a->offset};
  }
  case Expr::Kind::Binary: {
    if (x.op != '+' && x.op != '-' && x.op != '*')
      break;
    auto l = loopAffine(*x.args[0]), r = loopAffine(*x.args[1]);
    if (!l || !r)
      return std::nullopt;
    if (!l->var.empty() && !r->var.empty() && l->var != r->var) {
      error(x.loc, "index uses two loop variables, '" + l->var + "' and '" +
                       r->var + "'");
      return std::nullopt;
    }
    std::string var = l->var.empty() ? r->var : l->var;
    if (x.op == '*') {
      if (!l->var.empty() && !r->var.empty()) {
        error(x.loc, "index multiplies a loop variable by itself");
        return std::nullopt;
      }
      const LoopAffine &v = l->var.empty() ? *r : *l,
                       &c = l->var.empty() ? *l : *r;
      return LoopAffine{var, v.scale * c.offset, v.offset * c.offset};
    }
    int64_t sign = x.op == '+' ? 1 : -1;
    return LoopAffine{var, l->scale + sign * r->scale,
                      l->offset + sign * r->offset};
  }
  default:
    break;
  }
  auto v = evalInt(x, "index");
  if (!v)
    return std::nullopt;
  return LoopAffine{"", 0, *v};
}

bool Sema::checkMatmul(Expr &e) {
  Shape a = e.args[0]->type, b = e.args[1]->type;
  // NumPy: a 1-D left operand is a row [1, K], a 1-D right one a column
  // [K, 1]; the inserted axis is dropped from the result.
  bool rowVector = a.size() == 1, columnVector = b.size() == 1;
  if (rowVector)
    a.insert(a.begin(), Dim::known(1));
  if (columnVector)
    b.push_back(Dim::known(1));
  const Dim &k = a.back(), &kb = b[b.size() - 2];
  if (k != kb)
    return error(e.loc, "matrix product of " + shapeStr(e.args[0]->type) +
                            " and " + shapeStr(e.args[1]->type) +
                            ": the left operand's last axis (" + k.str() +
                            ") must match the right operand's " +
                            (columnVector ? "only" : "second-to-last") +
                            " axis (" + kb.str() + ")");
  Shape batchA(a.begin(), a.end() - 2), batchB(b.begin(), b.end() - 2), batch;
  if (!broadcast(batchA, batchB, batch, e.loc))
    return false;
  batch.push_back(a[a.size() - 2]);
  batch.push_back(b.back());
  if (columnVector)
    batch.pop_back();
  if (rowVector)
    batch.erase(batch.end() - (columnVector ? 1 : 2));
  if (batch.empty())
    batch.push_back(Dim::known(1)); // vector · vector: one number
  e.type = std::move(batch);
  return true;
}

std::optional<int64_t> Sema::stepsBeforeEnd(const Expr &x,
                                            llvm::StringRef symbol) {
  // `S` is the end; `S - c` is c steps before it; `S + c` with c ≤ 0 too.
  if (x.kind == Expr::Kind::Name && x.name == symbol && !scope.count(x.name))
    return 0;
  if (x.kind != Expr::Kind::Binary || (x.op != '-' && x.op != '+'))
    return std::nullopt;
  auto back = stepsBeforeEnd(*x.args[0], symbol);
  if (!back)
    return std::nullopt;
  auto c = evalNumber(*x.args[1], /*quiet=*/true);
  if (!c || std::floor(*c) != *c)
    return std::nullopt;
  // Past any dimension, an offset only has to stay out of range (1e52
  // does not convert to int64).
  double limit = double(heed::limits::kMaxDimension) + 1;
  double steps = std::clamp(x.op == '-' ? *c : -*c, -limit, limit);
  return *back + int64_t(steps);
}
