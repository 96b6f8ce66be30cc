//===- KerasConfig.cpp - A Keras model's config against the model file ----===//
//
// Part of Heed.
//
// Keras                       the model file
// Dense activation            dense(activation=...), or every call of the
//                             layer inside that function (`softmax(d(x))`)
// Conv1D strides, padding     conv1d(strides=..., padding=...); no dilation;
//        activation           every call inside that function
// BatchNormalization epsilon  batch_norm(epsilon=...)
// LayerNormalization epsilon  layer_norm(eps=...); rms_scaling (none)
// LSTM/GRU go_backwards,      lstm/gru(go_backwards=..., return_sequences=...)
//          return_sequences
// Bidirectional merge_mode    bidirectional(merge=...), and its layer's above
// TimeDistributed(Dense)      the Dense's, under the wrapper's name
//
// A key the config lacks is not compared. A Dense layer that Keras leaves
// linear is not compared either: Keras may apply the activation in a
// layer of its own after it, which the config does not tie to this one.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/KerasConfig.h"
#include "compiler/Driver/LayerProblems.h"
#include "frontends/dsl/Builtins.h"

#include "runtime/Limits.h"
#include "runtime/Numbers.h"

#include "llvm/ADT/StringSwitch.h"

using namespace heed;
using dsl::Builtin;
using llvm::StringRef;

namespace {

/// A Keras activation's name (Keras 3 serializes some as objects naming
/// them); "linear" where there is none.
std::string kerasActivation(const llvm::json::Value *value) {
  if (!value || value->kind() == llvm::json::Value::Null)
    return "linear";
  if (auto name = value->getAsString())
    return name->str();
  if (const llvm::json::Object *o = value->getAsObject())
    if (auto name = o->getString("config"))
      return name->str();
  return "?";
}

/// Heed's name of a Keras activation ("none" for linear); empty for one
/// Heed has no function of.
std::string heedActivation(StringRef keras) {
  return llvm::StringSwitch<std::string>(keras)
      .Cases({"linear", "None"}, "none")
      .Case("exponential", "exp")
      .Cases({"tanh", "sigmoid", "relu", "softmax", "gelu"}, keras.str())
      .Default("");
}

/// The first element of a Keras tuple (`"strides": [4]`), or the number.
std::optional<double> firstNumber(const llvm::json::Value *value) {
  if (!value)
    return std::nullopt;
  if (const llvm::json::Array *a = value->getAsArray())
    return a->size() == 1 ? (*a)[0].getAsNumber() : std::nullopt;
  return value->getAsNumber();
}

class Checker {
public:
  Checker(const dsl::Model &model, const llvm::SourceMgr &sourceMgr)
      : problems(model, sourceMgr) {
    for (const auto &stmt : model.stmts)
      collectCalls(*stmt);
    for (const auto &score : model.scores)
      if (score->body)
        collectCalls(*score->body, nullptr);
  }

  /// Every layer config under `value`, matched to the model's by name; a
  /// model inside the model names its layers below its own
  /// (`encoder.embedding`), as the weights are named.
  void walk(const llvm::json::Value &value, unsigned depth,
            const std::string &prefix = "") {
    if (depth > limits::kMaxNesting)
      return;
    if (const llvm::json::Array *array = value.getAsArray()) {
      for (const llvm::json::Value &item : *array)
        walk(item, depth + 1, prefix);
      return;
    }
    const llvm::json::Object *object = value.getAsObject();
    if (!object)
      return;
    std::optional<StringRef> className = object->getString("class_name");
    const llvm::json::Object *config = object->getObject("config");
    if (className && config) {
      std::optional<StringRef> name = config->getString("name");
      if (const llvm::json::Array *layers = config->getArray("layers")) {
        // The model itself (depth 0) is no layer of the model file.
        std::string inner =
            depth == 0 || !name ? prefix : prefix + name->str() + ".";
        for (const llvm::json::Value &layer : *layers)
          walk(layer, depth + 1, inner);
        return;
      }
      const dsl::Layer *layer =
          name ? problems.find(prefix + name->str()) : nullptr;
      const llvm::json::Object *inner = config->getObject("layer");
      // A wrapper's layer is checked under the wrapper's name, never its
      // own (a TimeDistributed's Dense may be called "dense").
      if (inner &&
          (*className == "Bidirectional" || *className == "TimeDistributed")) {
        if (layer)
          checkWrapper(*layer, *className, *config, *inner);
        return;
      }
      if (layer)
        checkLayer(*layer, *className, *config);
    }
    for (const auto &entry : *object)
      walk(entry.second, depth + 1, prefix);
  }

  LayerProblems problems;

private:
  /// Each call of a layer, with the call it is the first argument of.
  std::vector<std::pair<const dsl::Expr *, const dsl::Expr *>> calls;

  void collectCalls(const dsl::Stmt &stmt) {
    for (const auto &e : stmt.shape)
      collectCalls(*e, nullptr);
    for (const dsl::Expr *e : {stmt.value.get(), stmt.until.get(),
                               stmt.beamWidth.get(), stmt.lengthPenalty.get()})
      if (e)
        collectCalls(*e, nullptr);
    for (const auto &e : stmt.carryInits)
      collectCalls(*e, nullptr);
    for (const auto &s : stmt.body)
      collectCalls(*s);
  }
  void collectCalls(const dsl::Expr &e, const dsl::Expr *parent) {
    if (e.layer)
      calls.push_back({&e, parent});
    for (size_t i = 0; i < e.args.size(); ++i)
      collectCalls(*e.args[i],
                   e.kind == dsl::Expr::Kind::Call && i == 0 ? &e : nullptr);
    for (const auto &a : e.kwArgs)
      collectCalls(*a, nullptr);
  }

  /// Every call of `layer` is the argument of `activation` (softmax over
  /// the last axis), and there is at least one.
  bool appliedAfter(const dsl::Layer &layer, StringRef activation) const {
    Builtin function = dsl::lookupFunction(activation);
    bool any = false;
    for (auto [call, parent] : calls) {
      if (call->layer != &layer)
        continue;
      if (!parent || parent->builtin != function)
        return false;
      // Softmax over the last axis, however written; the others plain.
      bool softmax = function == Builtin::Softmax;
      for (const std::string &key : parent->kwNames)
        if (!softmax || key != "axis")
          return false;
      if (softmax ? parent->axis != int64_t(parent->type.size()) - 1
                  : parent->args.size() != 1)
        return false;
      any = true;
    }
    return any;
  }

  void problem(const dsl::Layer &layer, StringRef kind,
               const std::string &msg) {
    problems.add(layer, kind, msg);
  }

  void checkActivation(const dsl::Layer &layer, StringRef kind, StringRef keras,
                       StringRef className, const llvm::json::Object &config) {
    std::string given = kerasActivation(config.get("activation"));
    std::string wanted = heedActivation(given);
    if (wanted == "none" || (kind == "dense" && wanted == layer.activation) ||
        (!wanted.empty() && appliedAfter(layer, wanted)))
      return;
    std::string have = kind == "dense" ? layer.activation : "none";
    std::string fix;
    if (wanted.empty())
      fix = " (Heed has no " + given + ")";
    else if (kind == "dense")
      fix = " (give it activation=" + wanted + ", or call it inside " + wanted +
            "())";
    else
      fix = " (call it inside " + wanted + "())";
    problem(layer, kind,
            "the Keras " + className.str() + " '" + keras.str() + "' applies " +
                given + ", the model file's layer " + have + fix);
  }

  void checkLayer(const dsl::Layer &layer, StringRef className,
                  const llvm::json::Object &config) {
    StringRef keras = config.getString("name").value_or("?");
    std::string wrapped =
        "the Keras " + className.str() + " '" + keras.str() + "' has ";
    switch (layer.kind) {
    case Builtin::Dense:
      if (className == "Dense")
        checkActivation(layer, "dense", keras, className, config);
      return;
    case Builtin::Conv1D:
      if (className != "Conv1D")
        return;
      if (auto s = firstNumber(config.get("strides")); s && *s != layer.stride)
        problem(layer, "conv1d",
                wrapped + "strides " + rt::formatGeneral(*s) +
                    ", the model file's layer " + std::to_string(layer.stride));
      if (auto p = config.getString("padding"); p && *p != layer.padding)
        problem(layer, "conv1d",
                wrapped + "padding '" + p->str() + "', the model file's '" +
                    layer.padding + "'");
      if (auto d = firstNumber(config.get("dilation_rate")); d && *d != 1)
        problem(layer, "conv1d",
                wrapped + "dilation_rate " + rt::formatGeneral(*d) +
                    ", which Heed's conv1d does not have");
      checkActivation(layer, "conv1d", keras, className, config);
      return;
    case Builtin::BatchNorm:
    case Builtin::LayerNorm: {
      bool batch = layer.kind == Builtin::BatchNorm;
      if (className != (batch ? "BatchNormalization" : "LayerNormalization"))
        return;
      auto eps = config.getNumber("epsilon");
      if (eps && LayerProblems::differs(*eps, layer.epsilon))
        problem(layer, batch ? "batch_norm" : "layer_norm",
                wrapped + "epsilon " + rt::formatGeneral(*eps) +
                    ", the model file's layer " +
                    rt::formatGeneral(layer.epsilon) + " (give it " +
                    (batch ? "epsilon=" : "eps=") + rt::formatGeneral(*eps) +
                    ")");
      // Keras 3's LayerNormalization(rms_scaling=True) divides by the root
      // mean square, uncentered: RMSNorm, not Heed's layer_norm.
      if (!batch && config.getBoolean("rms_scaling").value_or(false))
        problem(layer, "layer_norm",
                wrapped + "rms_scaling=True (RMS normalization, uncentered), "
                          "which Heed's layer_norm does not compute");
      return;
    }
    case Builtin::Lstm:
    case Builtin::Gru:
      checkRecurrent(layer, className, config, wrapped);
      return;
    default:
      return;
    }
  }

  /// An LSTM or GRU, alone or inside a Bidirectional.
  void checkRecurrent(const dsl::Layer &layer, StringRef className,
                      const llvm::json::Object &config,
                      const std::string &wrapped) {
    bool lstm = layer.cell == Builtin::Lstm ||
                (layer.cell == Builtin::None && layer.kind == Builtin::Lstm);
    if (className != (lstm ? "LSTM" : "GRU"))
      return;
    StringRef kind = layer.kind == Builtin::Bidirectional ? "bidirectional"
                     : lstm                               ? "lstm"
                                                          : "gru";
    auto flag = [&](StringRef key, bool have) {
      if (auto v = config.getBoolean(key); v && *v != have)
        problem(layer, kind,
                wrapped + key.str() + "=" + (*v ? "True" : "False") +
                    ", the model file's layer " + key.str() + "=" +
                    (have ? "1" : "0"));
    };
    flag("return_sequences", layer.returnSequences);
    // Bidirectional runs its backward layer backwards by its own flag.
    if (layer.kind != Builtin::Bidirectional)
      flag("go_backwards", layer.goBackwards);
  }

  void checkWrapper(const dsl::Layer &layer, StringRef className,
                    const llvm::json::Object &config,
                    const llvm::json::Object &inner) {
    std::optional<StringRef> innerClass = inner.getString("class_name");
    const llvm::json::Object *innerConfig = inner.getObject("config");
    if (!innerClass || !innerConfig)
      return;
    StringRef keras = config.getString("name").value_or("?");
    if (className == "TimeDistributed") {
      if (layer.kind == Builtin::Dense && *innerClass == "Dense")
        checkActivation(layer, "dense", keras, "TimeDistributed(Dense)",
                        *innerConfig);
      return;
    }
    if (layer.kind != Builtin::Bidirectional)
      return;
    std::string wrapped = "the Keras Bidirectional '" + keras.str() + "' has ";
    if (const llvm::json::Value *mode = config.get("merge_mode")) {
      std::optional<StringRef> m = mode->getAsString();
      std::string given = m ? "'" + m->str() + "'" : std::string("None");
      if (!m || *m != layer.merge)
        problem(layer, "bidirectional",
                wrapped + "merge_mode " + given + ", the model file's layer '" +
                    layer.merge + "'" +
                    (m && (*m == "concat" || *m == "sum")
                         ? std::string()
                         : " (Heed merges by concat or sum)"));
    }
    checkRecurrent(layer, *innerClass, *innerConfig, wrapped);
  }
};

} // namespace

llvm::Error heed::checkKerasModelConfig(const dsl::Model &model,
                                        const llvm::json::Value &config,
                                        const std::string &source,
                                        const llvm::SourceMgr &sourceMgr) {
  Checker checker(model, sourceMgr);
  checker.walk(config, 0);
  // model.save("m.h5") stores the config as an attribute, "m.keras" as a
  // member of the archive.
  std::string where = llvm::StringRef(source).ends_with(".keras")
                          ? "its config.json"
                          : "its model_config";
  return checker.problems.take(source, "the Keras model (" + where +
                                           ") and the model file disagree, "
                                           "so the outputs would differ");
}
