//===- SemaShapes.cpp - Built-ins that build or reshape tensors -----------===//
//
// Part of Heed. reshape, stack, arange, sequence_mask and take: sizes are
// numbers, parameters or symbolic dimensions, checked so that a reshape's
// sizes multiply out whatever the symbolic dimensions are bound to.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/SemaImpl.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>

using namespace heed::dsl;
using namespace heed::dsl::sema;

std::optional<Dim> Sema::sizeArg(const Expr &a, bool allowInfer) {
  if (a.kind == Expr::Kind::Name && !scope.count(a.name) &&
      llvm::is_contained(model.symbols, a.name))
    return Dim::named(a.name);
  auto n = evalInt(a, "size");
  if (!n)
    return std::nullopt;
  if (allowInfer && *n == -1)
    return Dim::known(-1);
  if (*n < 1) {
    error(a.loc, "size must be positive" +
                     Twine(allowInfer ? " (or -1, inferred once)" : "") +
                     ", got " + Twine(*n));
    return std::nullopt;
  }
  return Dim::known(*n);
}

/// The known sizes' product and the sorted symbolic dims of `shape`,
/// skipping an inferred -1.
static std::pair<int64_t, std::vector<std::string>> factors(const Shape &s) {
  int64_t known = 1;
  std::vector<std::string> symbols;
  for (const Dim &d : s) {
    if (!d.isKnown())
      symbols.push_back(d.symbol);
    else if (d.size != -1)
      known *= d.size;
  }
  std::sort(symbols.begin(), symbols.end());
  return {known, symbols};
}

bool Sema::checkReshape(Expr &e) {
  // reshape(x, [d, ...]): sizes are numbers, parameters, symbolic dims, or
  // one -1 inferred from the rest.
  if (!expectArgs(e, 2, 2, {}) || !checkTensor(*e.args[0]))
    return false;
  const Shape &in = e.args[0]->type;
  const Expr &list = *e.args[1];
  if (list.kind != Expr::Kind::List || list.args.empty())
    return error(list.loc, "reshape expects a list of sizes: "
                           "reshape(x, [B, T, 4, -1])");
  Shape target;
  int inferred = -1;
  for (auto &item : list.args) {
    auto d = sizeArg(*item, /*allowInfer=*/true);
    if (!d)
      return false;
    if (d->isKnown() && d->size == -1) {
      if (inferred >= 0)
        return error(item->loc, "only one size of a reshape can be -1");
      inferred = int(target.size());
    }
    target.push_back(*d);
  }
  // Not structured bindings: C++17 lambdas may not capture them.
  auto factorsIn = factors(in), factorsOut = factors(target);
  auto knownIn = factorsIn.first, knownOut = factorsOut.first;
  auto &symbolsIn = factorsIn.second, &symbolsOut = factorsOut.second;
  auto mismatch = [&]() {
    return error(e.loc,
                 "reshape of " + shapeStr(in) + " to " + shapeStr(target) +
                     ": the sizes do not multiply out (" + Twine(knownIn) +
                     " known elements" +
                     (symbolsIn.empty() ? "" : " times symbolic dims") +
                     " against " + Twine(knownOut) +
                     (symbolsOut.empty() ? "" : " times symbolic dims") + ")");
  };
  // The symbols of the target must be among the input's; what is left
  // (known sizes, at most one symbol) goes to the -1.
  std::vector<std::string> left;
  std::set_difference(symbolsIn.begin(), symbolsIn.end(), symbolsOut.begin(),
                      symbolsOut.end(), std::back_inserter(left));
  if (!std::includes(symbolsIn.begin(), symbolsIn.end(), symbolsOut.begin(),
                     symbolsOut.end()))
    return mismatch();
  if (inferred < 0) {
    if (!left.empty() || knownIn != knownOut)
      return mismatch();
  } else if (left.empty()) {
    if (knownIn % knownOut)
      return mismatch();
    target[inferred] = Dim::known(knownIn / knownOut);
  } else if (left.size() == 1 && knownIn == knownOut) {
    target[inferred] = Dim::named(left[0]);
  } else if (knownIn % knownOut == 0) {
    // The -1 would be a product with symbolic dims (T·16).
    std::string product;
    for (auto &symbol : left)
      product += symbol + "·";
    return error(e.loc, "reshape of " + shapeStr(in) + " to " +
                            shapeStr(target) + ": the -1 would be " + product +
                            Twine(knownIn / knownOut) +
                            ", a product of symbolic dimensions; make them "
                            "parameters or keep them as axes");
  } else {
    return mismatch();
  }
  e.type = std::move(target);
  return true;
}

bool Sema::checkShapeBuiltin(Expr &e) {
  switch (e.builtin) {
  case Builtin::Reshape:
    return checkReshape(e);
  case Builtin::Stack: {
    // stack(a, b, ..., axis=0): equal shapes, a new axis of their count.
    if (!expectArgs(e, 1, SIZE_MAX, {"axis"}))
      return false;
    for (auto &a : e.args)
      if (!checkTensor(*a))
        return false;
    const Shape &first = e.args[0]->type;
    for (auto &a : e.args)
      if (a->type != first)
        return error(a->loc, "stack needs equal shapes: " + shapeStr(first) +
                                 " and " + shapeStr(a->type));
    e.type = first;
    size_t position = e.args.size(); // no positional axis
    if (!axisArg(e, position, first.size(), false, 0, /*forInsert=*/true))
      return false;
    e.type.insert(e.type.begin() + e.axis, Dim::known(e.args.size()));
    return true;
  }
  case Builtin::Arange: {
    // arange(n): 0, 1, ..., n − 1.
    if (!expectArgs(e, 1, 1, {}))
      return false;
    auto n = sizeArg(*e.args[0], false);
    if (!n)
      return false;
    e.type = {*n};
    return true;
  }
  case Builtin::SequenceMask: {
    // sequence_mask(lengths, T): 1.0 where t < lengths[b], else 0.0.
    if (!expectArgs(e, 2, 2, {}) || !checkTensor(*e.args[0]))
      return false;
    const Shape &len = e.args[0]->type;
    if (len.size() != 1)
      return error(e.args[0]->loc,
                   "sequence_mask takes lengths [B], got " + shapeStr(len));
    auto t = sizeArg(*e.args[1], false);
    if (!t)
      return false;
    e.type = {len[0], *t};
    return true;
  }
  case Builtin::Take: {
    // take(x, idx, axis=1): x[b, idx[b]] for idx [B], x[b, idx[b, k]] for
    // [B, K] (torch.gather along axis 1), along any axis but the batch's.
    if (!expectArgs(e, 2, 3, {"axis"}) || !checkTensor(*e.args[0]) ||
        !checkTensor(*e.args[1]))
      return false;
    const Shape &x = e.args[0]->type, &idx = e.args[1]->type;
    if (x.size() < 2)
      return error(e.args[0]->loc,
                   "take needs [B, T, ...] to pick steps from, got " +
                       shapeStr(x));
    if (!axisArg(e, 2, x.size(), false, 1))
      return false;
    if (e.axis == 0)
      return error(e.kwarg("axis") ? e.kwarg("axis")->loc : e.loc,
                   "take picks along an axis other than the batch's; for "
                   "rows, index the batch outside the model");
    if ((idx.size() != 1 && idx.size() != 2) || idx[0] != x[0])
      return error(e.args[1]->loc, "take's indices must be [" + x[0].str() +
                                       "] or [" + x[0].str() +
                                       ", K] (the batch of " + shapeStr(x) +
                                       "), got " + shapeStr(idx));
    // Indices in [0, size of the axis - 1], checked before each run.
    constrainInput(*e.args[1], "indices of take", 0, x[e.axis], -1);
    // [B] indices drop the axis; [B, K] ones replace it with K.
    e.type = x;
    if (idx.size() == 1)
      e.type.erase(e.type.begin() + e.axis);
    else
      e.type[e.axis] = idx[1];
    return true;
  }
  default:
    return error(e.loc, "internal: not a shape built-in");
  }
}
