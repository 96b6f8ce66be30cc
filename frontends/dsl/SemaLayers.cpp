//===- SemaLayers.cpp - Layer declarations, layer calls, weights ----------===//
//
// Part of Heed. Checks `layer NAME = KIND(...)`, fixes every layer's weight
// shapes (the input size comes from the first call) and types layer calls.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Builtins.h"
#include "frontends/dsl/IdRanges.h"
#include "frontends/dsl/SemaImpl.h"

#include <cmath>

using namespace heed::dsl;
using namespace heed::dsl::sema;

std::optional<int64_t> Sema::intKwarg(const Expr &call, llvm::StringRef name,
                                      int64_t defaultValue, size_t position) {
  const Expr *e = position < call.args.size() ? call.args[position].get()
                                              : call.kwarg(name);
  if (!e)
    return defaultValue;
  return evalInt(*e, name);
}

bool Sema::positiveKwarg(const Expr &call, llvm::StringRef name,
                         double defaultValue, double &slot) {
  slot = defaultValue;
  const Expr *e = call.kwarg(name);
  if (!e)
    return true;
  auto v = evalNumber(*e);
  if (!v)
    return false;
  if (*v <= 0)
    return error(e->loc, name + " must be positive");
  slot = *v;
  return true;
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
                                 "go_backwards", "reset_after", "num_layers"}))
    return false;
  auto units = intKwarg(decl, "units", 0, 0);
  if (!units)
    return false;
  if (*units <= 0)
    return error(decl.args[0]->loc,
                 "unit count must be positive, got " + Twine(*units));
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
  auto layers = intKwarg(decl, "num_layers", 1);
  if (!layers)
    return false;
  if (*layers < 1)
    return error(decl.kwarg("num_layers")->loc,
                 "num_layers must be at least 1, got " + Twine(*layers));
  if (*layers > 1 && *back)
    return error(decl.kwarg("go_backwards")->loc,
                 "go_backwards with num_layers > 1 is not supported; PyTorch "
                 "has no such layer");
  layer.returnSequences = *seq;
  layer.returnState = *state;
  layer.goBackwards = *back;
  layer.numLayers = *layers;
  return true;
}

bool Sema::checkLayerDecl(Layer &layer) {
  Expr &decl = *layer.decl;
  layer.kind = lookupLayerKind(decl.name);
  switch (layer.kind) {
  case Builtin::None:
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
                            ? lookupLayerKind(inner.name)
                            : Builtin::None;
    if (innerKind != Builtin::Lstm && innerKind != Builtin::Gru)
      return error(inner.loc, "bidirectional wraps an lstm(...) or gru(...) "
                              "layer");
    if (!checkRecurrentDecl(layer, inner, true))
      return false;
    layer.directions = 2;
    if (const Expr *m = decl.kwarg("merge")) {
      auto merge = wordOf(*m);
      if (!merge || (*merge != "concat" && *merge != "sum"))
        return badWord(*m, "merge must be concat or sum");
      layer.merge = *merge;
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
      auto padding = wordOf(*p);
      if (!padding || (*padding != "valid" && *padding != "same"))
        return badWord(*p, "padding must be valid or same");
      layer.padding = *padding;
    }
    return true;
  }
  case Builtin::BatchNorm: {
    // batch_norm(epsilon=1e-3): Keras' default epsilon.
    if (!expectArgs(decl, 0, 0, {"epsilon"}))
      return false;
    return positiveKwarg(decl, "epsilon", 1e-3, layer.epsilon);
  }
  case Builtin::LayerNorm: {
    // layer_norm(eps=1e-5, elementwise_affine=1): nn.LayerNorm over the
    // last axis.
    if (!expectArgs(decl, 0, 0, {"eps", "elementwise_affine"}))
      return false;
    if (!positiveKwarg(decl, "eps", 1e-5, layer.epsilon))
      return false;
    auto affine = intKwarg(decl, "elementwise_affine", 1);
    if (!affine)
      return false;
    layer.useBias = *affine != 0;
    return true;
  }
  case Builtin::MultiHeadAttention: {
    // multi_head_attention(d_model, heads=8, causal=0, bias=1, kdim=d_model,
    // vdim=d_model), nn.MultiheadAttention's options
    if (!expectArgs(decl, 1, 1, {"heads", "causal", "bias", "kdim", "vdim"}))
      return false;
    auto dModel = intKwarg(decl, "d_model", 0, 0);
    auto heads = intKwarg(decl, "heads", 8);
    auto causal = intKwarg(decl, "causal", 0);
    auto bias = intKwarg(decl, "bias", 1);
    if (!dModel || !heads || !causal || !bias)
      return false;
    auto kdim = intKwarg(decl, "kdim", *dModel);
    auto vdim = intKwarg(decl, "vdim", *dModel);
    if (!kdim || !vdim)
      return false;
    if (*kdim <= 0 || *vdim <= 0)
      return error(decl.loc, "kdim and vdim must be positive");
    layer.kdim = *kdim;
    layer.vdim = *vdim;
    layer.useBias = *bias != 0;
    if (*dModel <= 0 || *heads <= 0)
      return error(decl.loc, "multi_head_attention needs a positive d_model "
                             "and head count");
    if (*dModel % *heads)
      return error(decl.kwarg("heads") ? decl.kwarg("heads")->loc : decl.loc,
                   Twine(*heads) + " heads do not divide d_model " +
                       Twine(*dModel) +
                       " (each head gets d_model / heads "
                       "features)");
    layer.units = *dModel;
    layer.heads = *heads;
    layer.causal = *causal != 0;
    layer.inFeatures = *dModel;
    return true;
  }
  case Builtin::TransformerEncoderLayer: {
    // transformer_encoder_layer(d_model, heads=8, dim_feedforward=2048,
    // activation=relu, norm_first=0, layer_norm_eps=1e-5, bias=1, causal=0):
    // nn.TransformerEncoderLayer(batch_first=True) in inference.
    if (!expectArgs(decl, 1, 1,
                    {"heads", "dim_feedforward", "activation", "norm_first",
                     "layer_norm_eps", "bias", "causal"}))
      return false;
    auto dModel = intKwarg(decl, "d_model", 0, 0);
    auto heads = intKwarg(decl, "heads", 8);
    auto ff = intKwarg(decl, "dim_feedforward", 2048);
    auto normFirst = intKwarg(decl, "norm_first", 0);
    auto bias = intKwarg(decl, "bias", 1);
    auto causal = intKwarg(decl, "causal", 0);
    if (!dModel || !heads || !ff || !normFirst || !bias || !causal)
      return false;
    if (*dModel <= 0 || *heads <= 0 || *ff <= 0)
      return error(decl.loc, "transformer_encoder_layer needs a positive "
                             "d_model, head count and dim_feedforward");
    if (*dModel % *heads)
      return error(decl.kwarg("heads") ? decl.kwarg("heads")->loc : decl.loc,
                   Twine(*heads) + " heads do not divide d_model " +
                       Twine(*dModel));
    layer.activation = "relu";
    if (const Expr *act = decl.kwarg("activation")) {
      auto name = wordOf(*act);
      if (!name || (*name != "relu" && *name != "gelu"))
        return badWord(*act, "activation must be relu or gelu, as "
                             "nn.TransformerEncoderLayer's");
      layer.activation = *name;
    }
    if (!positiveKwarg(decl, "layer_norm_eps", 1e-5, layer.epsilon))
      return false;
    layer.units = *dModel;
    layer.heads = *heads;
    layer.feedforward = *ff;
    layer.normFirst = *normFirst != 0;
    layer.useBias = *bias != 0;
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
  const Expr *units =
      decl.args.empty() ? decl.kwarg("units") : decl.args[0].get();
  if (!units)
    return error(decl.loc, "dense layer needs a unit count: dense(units, ...)");
  auto n = evalInt(*units, "unit count");
  if (!n)
    return false;
  if (*n <= 0)
    return error(units->loc, "unit count must be positive, got " + Twine(*n));
  layer.units = *n;
  if (const Expr *act = decl.kwarg("activation")) {
    auto name = wordOf(*act);
    if (!name || !isActivationName(*name))
      return badWord(*act, "activation must be one of none, linear, tanh, "
                           "sigmoid, relu, gelu, exp, softmax");
    layer.activation = *name == "linear" ? "none" : *name;
  }
  if (const Expr *bias = decl.kwarg("use_bias")) {
    auto b = evalInt(*bias, "use_bias (0 or 1)");
    if (!b)
      return false;
    layer.useBias = *b != 0;
  }
  return true;
}

bool Sema::checkLayerCall(Expr &e, Layer &layer) {
  e.layer = &layer;
  if (layer.kind == Builtin::MultiHeadAttention ||
      layer.kind == Builtin::TransformerEncoderLayer)
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
                                     "input is " +
                                     shapeStr(in) + fixLengthHint(last));
  if (layer.inFeatures && *layer.inFeatures != last.size)
    return error(e.args[0]->loc,
                 "layer '" + layer.name + "' was first called with " +
                     Twine(*layer.inFeatures) + " input features, here with " +
                     Twine(last.size) + " (input " + shapeStr(in) +
                     "); its weights are shared");
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
  // Whole-sequence recurrent layers take per-row lengths (packed sequences).
  bool takesLengths = recurrent && !cell;
  if (!(takesLengths ? expectArgs(e, minArgs, 1 + states, {"lengths"})
                     : expectArgs(e, minArgs, 1 + states, {})))
    return false;
  if (!cell && e.args.size() != 1 && e.args.size() != 1 + states)
    return error(
        e.args[1]->loc,
        "'" + layer.name + "' takes the input and " + Twine(states) +
            (lstm ? " initial states (h0, c0)" : " initial state (h0)") +
            ", or the input alone");
  for (auto &a : e.args)
    if (!checkTensor(*a))
      return false;
  Expr &x = *e.args[0];
  const Shape &in = x.type;
  auto needKnownLast = [&]() -> bool {
    if (in.back().isKnown())
      return true;
    return error(x.loc, "layer '" + layer.name +
                            "' needs a known feature "
                            "size, but its input is " +
                            shapeStr(in) + fixLengthHint(in.back()));
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
        return error(e.args[i]->loc, "state of cell '" + layer.name +
                                         "' must be " + shapeStr(state) +
                                         " (batch of the input, " +
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
    // States: [B, H] for one unidirectional layer, else nn.LSTM's h_n
    // layout [num_layers · directions, B, H] (layer-major).
    int64_t stacked = layer.numLayers * layer.directions;
    Shape state =
        stacked == 1 ? Shape{in[0], h} : Shape{Dim::known(stacked), in[0], h};
    for (size_t i = 1; i < e.args.size(); ++i)
      if (e.args[i]->type != state)
        return error(e.args[i]->loc, "initial state of '" + layer.name +
                                         "' must be " + shapeStr(state) +
                                         ", got " + shapeStr(e.args[i]->type));
    if (Expr *len = e.kwarg("lengths")) {
      if (!checkTensor(*len))
        return false;
      if (len->type != Shape{in[0]})
        return error(len->loc, "lengths of '" + layer.name + "' must be [" +
                                   in[0].str() + "] (one per row of " +
                                   shapeStr(in) + "), got " +
                                   shapeStr(len->type));
      constrainInput(*len, "lengths of recurrent layer '" + layer.name + "'", 0,
                     in[1]);
    }
    Dim outF = layer.directions == 2 && layer.merge == "concat"
                   ? Dim::known(2 * layer.units)
                   : h;
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
                              shapeStr(in) + fixLengthHint(in[1]));
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
  case Builtin::LayerNorm:
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
