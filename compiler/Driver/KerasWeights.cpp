//===- KerasWeights.cpp - Keras weight names and layouts ------------------===//
//
// Part of Heed.
//
// Keras              PyTorch
// Dense kernel [I,O] weight [O,I] (transposed)
// LSTM kernel [I,4H], recurrent_kernel [H,4H], bias [4H]; gates i,f,c,o
//                    weight_ih [4H,I], weight_hh [4H,H], bias_ih = bias,
//                    bias_hh = 0; gates i,f,g,o (the same order)
// GRU (reset_after) kernel [I,3H], recurrent_kernel [H,3H], bias [2,3H];
//                    gates z,r,h -> PyTorch r,z,n; bias rows: input, recurrent
// Conv1D kernel [K,C,O] -> weight [O,C,K]
// BatchNormalization gamma, beta, moving_mean, moving_variance
//                    -> weight, bias, running_mean, running_var
// Embedding embeddings -> weight
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/KerasWeights.h"

#include <map>
#include <set>

using namespace heed;
using dsl::Builtin;

namespace {

struct Converter {
  std::map<std::string, rt::Tensor> keras;
  rt::NamedTensors out;
  std::vector<std::string> problems;
  std::set<std::string> used;
  /// Every Keras weight asked for, with its shape, in the model's order.
  std::vector<rt::ExpectedWeight> asked;

  /// The Keras tensor `name` if it has `shape`, else records a problem.
  const rt::Tensor *take(const std::string &name, std::vector<int64_t> shape) {
    auto it = keras.find(name);
    used.insert(name);
    asked.push_back({name, shape});
    if (it == keras.end()) {
      problems.push_back("missing Keras weight '" + name + "' " +
                         rt::shapeToString(shape));
      return nullptr;
    }
    if (it->second.shape() != shape) {
      problems.push_back("Keras weight '" + name + "' has shape " +
                         rt::shapeToString(it->second.shape()) + ", expected " +
                         rt::shapeToString(shape));
      return nullptr;
    }
    return &it->second;
  }

  /// [rows, cols] -> [cols, rows], with the column blocks (gates of `size`)
  /// reordered so output block b is input block order[b].
  static rt::Tensor transposeGates(const rt::Tensor &t,
                                   const std::vector<int> &order, int64_t size) {
    int64_t rows = t.shape()[0], cols = t.shape()[1];
    rt::Tensor r({cols, rows});
    for (int64_t c = 0; c < cols; ++c) {
      int64_t block = c / size, within = c % size;
      int64_t src = order[block] * size + within;
      for (int64_t i = 0; i < rows; ++i)
        r[c * rows + i] = t[i * cols + src];
    }
    return r;
  }
  static rt::Tensor reorderVector(const float *v, int64_t n,
                                  const std::vector<int> &order, int64_t size) {
    rt::Tensor r({n});
    for (int64_t c = 0; c < n; ++c)
      r[c] = v[order[c / size] * size + c % size];
    return r;
  }

  void recurrent(const std::string &keras_prefix, const std::string &torch_prefix,
                 const std::string &suffix, bool lstm, int64_t in, int64_t h) {
    int64_t g = lstm ? 4 : 3;
    // Keras GRU gates z, r, h; PyTorch r, z, n. LSTM orders agree.
    std::vector<int> order = lstm ? std::vector<int>{0, 1, 2, 3}
                                  : std::vector<int>{1, 0, 2};
    const rt::Tensor *k = take(keras_prefix + "kernel", {in, g * h});
    const rt::Tensor *rk = take(keras_prefix + "recurrent_kernel", {h, g * h});
    const rt::Tensor *b =
        take(keras_prefix + "bias", lstm ? std::vector<int64_t>{g * h}
                                         : std::vector<int64_t>{2, g * h});
    if (!k || !rk || !b)
      return;
    out.emplace_back(torch_prefix + "weight_ih" + suffix, transposeGates(*k, order, h));
    out.emplace_back(torch_prefix + "weight_hh" + suffix, transposeGates(*rk, order, h));
    if (lstm) {
      out.emplace_back(torch_prefix + "bias_ih" + suffix,
                       reorderVector(b->data(), g * h, order, h));
      rt::Tensor zero({g * h});
      std::fill(zero.data(), zero.data() + g * h, 0.0f);
      out.emplace_back(torch_prefix + "bias_hh" + suffix, std::move(zero));
    } else {
      out.emplace_back(torch_prefix + "bias_ih" + suffix,
                       reorderVector(b->data(), g * h, order, h));
      out.emplace_back(torch_prefix + "bias_hh" + suffix,
                       reorderVector(b->data() + g * h, g * h, order, h));
    }
  }
};

} // namespace

/// Runs the conversion of `keras` for `model`: what it made and what it
/// found missing or unused are in the converter.
static void convert(Converter &c, const dsl::Model &model) {
  for (auto &layer : model.layers) {
    const std::string n = layer->name + ".";
    int64_t in = layer->inFeatures.value_or(0), u = layer->units;
    switch (layer->kind) {
    case Builtin::Dense: {
      if (const rt::Tensor *k = c.take(n + "kernel", {in, u}))
        c.out.emplace_back(n + "weight", Converter::transposeGates(*k, {0}, u));
      if (layer->useBias)
        if (const rt::Tensor *b = c.take(n + "bias", {u}))
          c.out.emplace_back(n + "bias", rt::Tensor(*b));
      break;
    }
    case Builtin::Lstm:
    case Builtin::Gru:
      c.recurrent(n, n, "_l0", layer->cell == Builtin::Lstm, in, u);
      break;
    case Builtin::Bidirectional:
      c.recurrent(n + "forward.", n, "_l0", layer->cell == Builtin::Lstm, in, u);
      c.recurrent(n + "backward.", n, "_l0_reverse", layer->cell == Builtin::Lstm,
                  in, u);
      break;
    case Builtin::LstmCell:
    case Builtin::GruCell:
      c.recurrent(n, n, "", layer->kind == Builtin::LstmCell, in, u);
      break;
    case Builtin::Conv1D: {
      int64_t k = layer->kernelSize;
      if (const rt::Tensor *w = c.take(n + "kernel", {k, in, u})) {
        rt::Tensor t({u, in, k});
        for (int64_t o = 0; o < u; ++o)
          for (int64_t ch = 0; ch < in; ++ch)
            for (int64_t j = 0; j < k; ++j)
              t[(o * in + ch) * k + j] = (*w)[(j * in + ch) * u + o];
        c.out.emplace_back(n + "weight", std::move(t));
      }
      if (layer->useBias)
        if (const rt::Tensor *b = c.take(n + "bias", {u}))
          c.out.emplace_back(n + "bias", rt::Tensor(*b));
      break;
    }
    case Builtin::BatchNorm: {
      const char *names[][2] = {{"gamma", "weight"}, {"beta", "bias"},
                                {"moving_mean", "running_mean"},
                                {"moving_variance", "running_var"}};
      for (auto &pair : names)
        if (const rt::Tensor *t = c.take(n + pair[0], {in}))
          c.out.emplace_back(n + pair[1], rt::Tensor(*t));
      break;
    }
    case Builtin::LayerNorm: // keras.layers.LayerNormalization
      if (layer->useBias)
        for (auto &pair : {std::pair{"gamma", "weight"}, {"beta", "bias"}})
          if (const rt::Tensor *t = c.take(n + pair.first, {in}))
            c.out.emplace_back(n + pair.second, rt::Tensor(*t));
      break;
    case Builtin::Embedding:
      if (const rt::Tensor *t = c.take(n + "embeddings", {layer->vocab, u}))
        c.out.emplace_back(n + "weight", rt::Tensor(*t));
      break;
    default:
      break;
    }
  }
}

std::vector<rt::ExpectedWeight>
heed::kerasWeightSpecs(const dsl::Model &model) {
  Converter c;
  convert(c, model);
  return c.asked;
}

llvm::Expected<rt::NamedTensors>
heed::convertKerasWeights(const dsl::Model &model, rt::NamedTensors keras,
                          const std::string &source) {
  Converter c;
  for (auto &[name, t] : keras)
    c.keras.emplace(name, std::move(t));
  convert(c, model);
  for (auto &[name, t] : c.keras)
    if (!c.used.count(name))
      c.problems.push_back("unexpected Keras weight '" + name + "'");
  if (!c.problems.empty()) {
    std::string msg = source + ": Keras weights do not fit model '" +
                      model.name + "':";
    for (auto &p : c.problems)
      msg += "\n  " + p;
    return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
  }
  return std::move(c.out);
}
