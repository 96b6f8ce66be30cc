//===- TorchModules.cpp - Saved nn.Modules against the model file ---------===//
//
// Part of Heed.
//
// nn.Module                   the model file
// BatchNorm1d eps             batch_norm(epsilon=...) (Heed's default is
//                             Keras' 1e-3, PyTorch's 1e-5)
// LayerNorm eps               layer_norm(eps=...)
// Conv1d stride, padding,     conv1d(strides=..., padding=...): padding 0
//        dilation             is `valid`; `same`, or (k - 1) / 2 at stride
//                             1 and an odd k, is `same`; no dilation
// LSTM/GRU bidirectional,     bidirectional(...), num_layers=...
//          num_layers
// TransformerEncoderLayer     norm_first=..., layer_norm_eps=... (its
//   norm_first, norm1.eps     norm1's and norm2's)
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/TorchModules.h"
#include "compiler/Driver/LayerProblems.h"

#include "runtime/Numbers.h"

using namespace heed;
using dsl::Builtin;
using llvm::StringRef;

namespace {

/// The first number of a tuple setting (`stride: [2]`), or the number.
std::optional<int64_t> firstInteger(const llvm::json::Object &settings,
                                    StringRef key) {
  const llvm::json::Value *v = settings.get(key);
  if (!v)
    return std::nullopt;
  if (const llvm::json::Array *a = v->getAsArray())
    return a->size() == 1 ? (*a)[0].getAsInteger() : std::nullopt;
  return v->getAsInteger();
}

class Checker {
public:
  Checker(const dsl::Model &model, const llvm::SourceMgr &sourceMgr)
      : problems(model, sourceMgr) {}

  void check(StringRef path, StringRef className,
             const llvm::json::Object &settings) {
    // A TransformerEncoderLayer's norms are modules of their own.
    auto [owner, norm] = path.rsplit('.');
    const dsl::Layer *parent = problems.find(owner);
    if (!norm.empty() && (norm == "norm1" || norm == "norm2") && parent &&
        parent->kind == Builtin::TransformerEncoderLayer) {
      if (className == "LayerNorm")
        checkEps(*parent, "transformer_encoder_layer", settings,
                 path.str() + "'s eps", "layer_norm_eps");
      return;
    }
    const dsl::Layer *found = problems.find(path);
    if (!found)
      return;
    const dsl::Layer &layer = *found;
    switch (layer.kind) {
    case Builtin::BatchNorm:
      if (className == "BatchNorm1d")
        checkEps(layer, "batch_norm", settings, "eps", "epsilon");
      return;
    case Builtin::LayerNorm:
      if (className == "LayerNorm")
        checkEps(layer, "layer_norm", settings, "eps", "eps");
      return;
    case Builtin::Conv1D:
      if (className == "Conv1d")
        checkConv(layer, settings);
      return;
    case Builtin::Lstm:
    case Builtin::Gru:
    case Builtin::Bidirectional:
      if (className == "LSTM" || className == "GRU")
        checkRecurrent(layer, className, settings);
      return;
    case Builtin::TransformerEncoderLayer:
      if (className != "TransformerEncoderLayer")
        return;
      if (auto first = settings.getBoolean("norm_first");
          first && *first != layer.normFirst)
        problems.add(layer, "transformer_encoder_layer",
                     "the saved TransformerEncoderLayer has norm_first=" +
                         std::string(*first ? "True" : "False") +
                         ", the model file's layer norm_first=" +
                         (layer.normFirst ? "1" : "0"));
      return;
    default:
      return;
    }
  }

  LayerProblems problems;

private:
  void checkEps(const dsl::Layer &layer, StringRef kind,
                const llvm::json::Object &settings, const std::string &what,
                StringRef option) {
    auto eps = settings.getNumber("eps");
    if (eps && LayerProblems::differs(*eps, layer.epsilon))
      problems.add(layer, kind,
                   "the saved module's " + what + " is " +
                       rt::formatGeneral(*eps) + ", the model file's " +
                       rt::formatGeneral(layer.epsilon) + " (give it " +
                       option.str() + "=" + rt::formatGeneral(*eps) + ")");
  }

  void checkConv(const dsl::Layer &layer, const llvm::json::Object &settings) {
    auto say = [&](const std::string &msg) {
      problems.add(layer, "conv1d", "the saved Conv1d has " + msg);
    };
    if (auto s = firstInteger(settings, "stride"); s && *s != layer.stride)
      say("stride " + std::to_string(*s) + ", the model file's layer " +
          std::to_string(layer.stride));
    if (auto d = firstInteger(settings, "dilation"); d && *d != 1)
      say("dilation " + std::to_string(*d) +
          ", which Heed's conv1d does not have");
    if (auto mode = settings.getString("padding_mode");
        mode && *mode != "zeros")
      say("padding_mode '" + mode->str() + "'; Heed's conv1d pads with zeros");
    std::string padding;
    if (auto word = settings.getString("padding")) {
      padding = word->str();
    } else if (auto p = firstInteger(settings, "padding")) {
      auto k = firstInteger(settings, "kernel_size");
      padding = *p == 0 ? "valid"
                : k && *k % 2 == 1 && *p == (*k - 1) / 2 && layer.stride == 1
                    ? "same"
                    : std::to_string(*p) + " steps each side";
    }
    if (!padding.empty() && padding != layer.padding)
      say("padding " + padding + ", the model file's layer " + layer.padding +
          (padding == "valid" || padding == "same"
               ? ""
               : " (Heed's conv1d pads valid, or same as TensorFlow does)"));
  }

  void checkRecurrent(const dsl::Layer &layer, StringRef className,
                      const llvm::json::Object &settings) {
    StringRef kind = layer.kind == Builtin::Bidirectional ? "bidirectional"
                     : layer.kind == Builtin::Lstm        ? "lstm"
                                                          : "gru";
    auto say = [&](const std::string &msg) {
      problems.add(layer, kind, "the saved " + className.str() + " has " + msg);
    };
    if (auto both = settings.getBoolean("bidirectional");
        both && *both != (layer.directions == 2))
      say(std::string("bidirectional=") + (*both ? "True" : "False") +
          ", the model file's layer " +
          (layer.directions == 2 ? "runs both ways" : "one way"));
    if (auto n = settings.getInteger("num_layers"); n && *n != layer.numLayers)
      say("num_layers=" + std::to_string(*n) + ", the model file's layer " +
          std::to_string(layer.numLayers));
    if (auto proj = settings.getInteger("proj_size"); proj && *proj != 0)
      say("proj_size=" + std::to_string(*proj) +
          ", which Heed's recurrent layers do not have");
  }
};

} // namespace

llvm::Error heed::checkTorchModules(const dsl::Model &model,
                                    const llvm::json::Value &modules,
                                    StringRef stripPrefix,
                                    const std::string &source,
                                    const llvm::SourceMgr &sourceMgr) {
  Checker checker(model, sourceMgr);
  if (const llvm::json::Array *list = modules.getAsArray())
    for (const llvm::json::Value &m : *list) {
      const llvm::json::Object *o = m.getAsObject();
      const llvm::json::Object *settings =
          o ? o->getObject("settings") : nullptr;
      auto path = o ? o->getString("path") : std::nullopt;
      auto className = o ? o->getString("class") : std::nullopt;
      if (!settings || !path || !className)
        continue;
      StringRef name = *path;
      if (!stripPrefix.empty() && !name.consume_front(stripPrefix))
        continue;
      checker.check(name, *className, *settings);
    }
  return checker.problems.take(
      source, "the saved modules and the model file disagree, so the "
              "outputs would differ");
}
