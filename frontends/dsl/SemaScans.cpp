//===- SemaScans.cpp - Built-ins that read along one axis -----------------===//
//
// Part of Heed. topk (values and indices, torch.topk), cumsum (torch.cumsum)
// and 1-D max/average pooling over the steps of [B, T, C] (channels last,
// as conv1d; Keras MaxPooling1D/AveragePooling1D, PyTorch's max_pool1d /
// avg_pool1d on the transposed tensor).
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/SemaImpl.h"

using namespace heed::dsl;
using namespace heed::dsl::sema;

bool Sema::checkScanBuiltin(Expr &e) {
  switch (e.builtin) {
  case Builtin::TopK: {
    // values, indices = topk(x, k, axis=-1, largest=1): the k largest along
    // an axis (not the batch's), in descending order (ascending for
    // largest=0), and where they are (the first of equal values first).
    if (!expectArgs(e, 2, 2, {"axis", "largest"}) || !checkTensor(*e.args[0]))
      return false;
    const Shape &in = e.args[0]->type;
    if (in.size() < 2)
      return error(e.args[0]->loc,
                   "topk needs a batch axis and the axis to pick from, got " +
                       shapeStr(in));
    if (!axisArg(e, SIZE_MAX, in.size(), false, -1))
      return false;
    if (e.axis == 0)
      return error(e.kwarg("axis")->loc,
                   "topk picks along an axis of each row, not the batch "
                   "axis 0");
    auto k = evalInt(*e.args[1], "topk's k");
    auto largest = intKwarg(e, "largest", 1);
    if (!k || !largest)
      return false;
    if (*k < 1)
      return error(e.args[1]->loc,
                   "topk's k must be positive, got " + Twine(*k));
    const Dim &n = in[e.axis];
    if (!n.isKnown())
      return error(e.args[0]->loc, "topk needs a known size of the axis it "
                                   "picks from, got " +
                                       shapeStr(in) + fixLengthHint(n));
    if (*k > n.size)
      return error(e.args[1]->loc, "topk's k is " + Twine(*k) +
                                       ", larger than the " + Twine(n.size) +
                                       " values of the axis it picks from (" +
                                       shapeStr(in) + ")");
    e.count = *k;
    e.largest = *largest != 0;
    e.type = in;
    e.type[e.axis] = Dim::known(*k);
    e.results = {e.type, e.type};
    return true;
  }
  case Builtin::Cumsum: {
    // cumsum(x, axis): running sums along one axis.
    if (!expectArgs(e, 1, 2, {"axis"}) || !checkTensor(*e.args[0]))
      return false;
    const Shape &in = e.args[0]->type;
    if (!axisArg(e, 1, in.size(), /*required=*/true, 0))
      return false;
    e.type = in;
    return true;
  }
  case Builtin::MaxPool1D:
  case Builtin::AvgPool1D: {
    // max_pool1d(x, k, stride=k, padding=valid) over the steps of [B, T, C].
    if (!expectArgs(e, 2, 2, {"stride", "padding"}) || !checkTensor(*e.args[0]))
      return false;
    const Shape &in = e.args[0]->type;
    if (in.size() != 3)
      return error(e.args[0]->loc, "'" + e.name +
                                       "' pools the steps of [B, T, C], got " +
                                       shapeStr(in));
    auto k = evalInt(*e.args[1], "pool size");
    if (!k)
      return false;
    if (*k < 1)
      return error(e.args[1]->loc,
                   "pool size must be positive, got " + Twine(*k));
    auto stride = intKwarg(e, "stride", *k);
    if (!stride)
      return false;
    if (*stride < 1)
      return error(e.kwarg("stride")->loc,
                   "stride must be positive, got " + Twine(*stride));
    e.samePadding = false;
    if (const Expr *p = e.kwarg("padding")) {
      auto padding = wordOf(*p);
      if (!padding || (*padding != "valid" && *padding != "same"))
        return badWord(*p, "padding must be valid or same");
      e.samePadding = *padding == "same";
    }
    e.count = *k;
    e.stride = *stride;
    const Dim &t = in[1];
    if (!t.isKnown()) {
      if (e.samePadding && *stride == 1) {
        e.type = in;
        return true;
      }
      return error(e.args[0]->loc,
                   "'" + e.name +
                       "' needs a known sequence length (or padding=same "
                       "with stride 1), got " +
                       shapeStr(in) + fixLengthHint(t));
    }
    int64_t out;
    if (e.samePadding) {
      out = (t.size + *stride - 1) / *stride;
    } else {
      if (t.size < *k)
        return error(e.args[1]->loc, "'" + e.name + "' pools windows of " +
                                         Twine(*k) + " steps but its input " +
                                         shapeStr(in) + " has only " +
                                         Twine(t.size));
      out = (t.size - *k) / *stride + 1;
    }
    e.type = {in[0], Dim::known(out), in[2]};
    return true;
  }
  default:
    return error(e.loc, "internal: not a scan built-in");
  }
}
