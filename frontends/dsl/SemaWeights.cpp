//===- SemaWeights.cpp - The weights a checked model expects --------------===//
//
// Part of Heed. Every layer's weights as its PyTorch module names and shapes
// them in a state_dict (docs/weights.md), and weight tensors by their own
// names, in declaration order.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Sema.h"

#include <string>
#include <variant>

using namespace heed::dsl;

/// nn.MultiheadAttention's weights under `prefix`: one in_proj_weight, or
/// q/k/v_proj_weight when the key or value size differs from d_model; the
/// biases unless `bias=0`; out_proj. The order is fixed (MLIRGen reads it).
static void appendMultiHeadWeights(const Layer &layer,
                                   const std::string &prefix,
                                   std::vector<WeightSpec> &specs) {
  int64_t d = layer.units;
  if (layer.separateProjections()) {
    specs.push_back({prefix + ".q_proj_weight", {d, d}});
    specs.push_back({prefix + ".k_proj_weight", {d, layer.kdim}});
    specs.push_back({prefix + ".v_proj_weight", {d, layer.vdim}});
  } else {
    specs.push_back({prefix + ".in_proj_weight", {3 * d, d}});
  }
  if (layer.useBias)
    specs.push_back({prefix + ".in_proj_bias", {3 * d}});
  specs.push_back({prefix + ".out_proj.weight", {d, d}});
  if (layer.useBias)
    specs.push_back({prefix + ".out_proj.bias", {d}});
}

/// Appends the weights of one layer, as its PyTorch module names them.
static void appendLayerWeights(const Layer *layer,
                               std::vector<WeightSpec> &specs) {
  {
    const std::string &n = layer->name;
    int64_t in = layer->inFeatures.value_or(0), u = layer->units;
    switch (layer->kind) {
    case Builtin::Lstm:
    case Builtin::Gru:
    case Builtin::Bidirectional: {
      // nn.LSTM / nn.GRU (batch_first): per direction weight_ih_l0 [G*H, I],
      // weight_hh_l0 [G*H, H], bias_ih_l0, bias_hh_l0; `_reverse` backward.
      // Layer k > 0 reads layer k − 1's sequence (2H for a concatenated
      // bidirectional one): weight_ih_lk is [G*H, that size].
      int64_t g = layer->cell == Builtin::Lstm ? 4 : 3;
      for (int64_t k = 0; k < layer->numLayers; ++k) {
        int64_t inK = k == 0 ? in : layer->sequenceFeatures();
        for (int64_t d = 0; d < layer->directions; ++d) {
          std::string sfx = "_l" + std::to_string(k) + (d ? "_reverse" : "");
          specs.push_back({n + ".weight_ih" + sfx, {g * u, inK}});
          specs.push_back({n + ".weight_hh" + sfx, {g * u, u}});
          specs.push_back({n + ".bias_ih" + sfx, {g * u}});
          specs.push_back({n + ".bias_hh" + sfx, {g * u}});
        }
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
      for (const char *p :
           {".weight", ".bias", ".running_mean", ".running_var"})
        specs.push_back({n + p, {in}});
      break;
    case Builtin::Embedding:
      specs.push_back({n + ".weight", {layer->vocab, u}});
      break;
    case Builtin::LayerNorm:
      if (layer->useBias) // elementwise_affine
        for (const char *p : {".weight", ".bias"})
          specs.push_back({n + p, {in}});
      break;
    case Builtin::MultiHeadAttention:
      appendMultiHeadWeights(*layer, n, specs);
      break;
    case Builtin::TransformerEncoderLayer: {
      // nn.TransformerEncoderLayer: self_attn, linear1, linear2, norm1, norm2.
      int64_t f = layer->feedforward;
      appendMultiHeadWeights(*layer, n + ".self_attn", specs);
      auto linear = [&](const std::string &name, int64_t out, int64_t in) {
        specs.push_back({n + name + ".weight", {out, in}});
        if (layer->useBias)
          specs.push_back({n + name + ".bias", {out}});
      };
      linear(".linear1", f, u);
      linear(".linear2", u, f);
      for (const char *norm : {".norm1", ".norm2"}) {
        specs.push_back({n + norm + ".weight", {u}});
        if (layer->useBias)
          specs.push_back({n + norm + ".bias", {u}});
      }
      break;
    }
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
}

std::vector<WeightSpec> heed::dsl::weightSpecs(const Model &model) {
  std::vector<WeightSpec> specs;
  for (auto &owner : model.weightOwners) {
    if (auto *layer = std::get_if<const Layer *>(&owner)) {
      size_t first = specs.size();
      appendLayerWeights(*layer, specs);
      for (size_t i = first; i < specs.size(); ++i)
        specs[i].layer = (*layer)->name;
    } else {
      auto &w = std::get<Model::WeightTensor>(owner);
      specs.push_back({w.name, w.shape, ""});
    }
  }
  return specs;
}
