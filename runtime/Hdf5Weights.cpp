//===- Hdf5Weights.cpp - Weights from Keras and other HDF5 files ----------===//
//
// Part of Heed. Keras 2's layout (keras/saving/hdf5_format.py,
// save_weights_to_hdf5_group): the root (or `model_weights`) has the
// attribute `layer_names`, split into `layer_names0`, `layer_names1`, ...
// when it would pass 64 KB; each layer's group has `weight_names`, the
// paths of its datasets inside the group.
//
//===----------------------------------------------------------------------===//

#include "runtime/Hdf5Weights.h"
#include "runtime/FileError.h"
#include "runtime/Hdf5File.h"
#include "runtime/Limits.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/JSON.h"

#include <map>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;

/// An attribute Keras may have split into NAME0, NAME1, ...
static llvm::Expected<std::optional<std::vector<std::string>>>
kerasAttribute(const Hdf5File &file, const Hdf5File::Object &object,
               StringRef name) {
  auto whole = file.stringsAttribute(object, name);
  if (!whole || *whole)
    return whole;
  std::optional<std::vector<std::string>> joined;
  for (unsigned chunk = 0;; ++chunk) {
    auto part =
        file.stringsAttribute(object, name.str() + std::to_string(chunk));
    if (!part)
      return part.takeError();
    if (!*part)
      return joined;
    if (!joined)
      joined.emplace();
    joined->insert(joined->end(), (*part)->begin(), (*part)->end());
  }
}

/// Whether `part` names an RNN layer's cell (`lstm_cell`, `gru_cell_3`).
static bool isCellScope(StringRef part) {
  size_t at = part.rfind("_cell");
  if (at == StringRef::npos || at == 0)
    return false;
  StringRef rest = part.drop_front(at + 5);
  return rest.empty() || (rest.consume_front("_") && !rest.empty() &&
                          llvm::all_of(rest, llvm::isDigit));
}

/// Heed's name for the Keras weight `weight` of layer `layer`: the layer,
/// then the weight's scopes below the layer's own, then the variable.
/// `LAYER/VAR:0` -> `LAYER.VAR`; an RNN's cell scope is dropped
/// (`gru/gru_cell/kernel:0` -> `gru.kernel`); a Bidirectional layer's
/// `forward_*`/`backward_*` become `forward`/`backward`; other scopes stay
/// (`mha/query/kernel:0` -> `mha.query.kernel`). Scopes through the layer's
/// name go (`my_model/dense/kernel:0`); where the name is not among them,
/// the first scope (the variables' own, `dense/kernel:0` in layer
/// `dense_2`).
static std::string kerasWeightName(StringRef layer, StringRef weight) {
  llvm::SmallVector<StringRef> parts;
  weight.split(parts, '/', -1, /*KeepEmpty=*/false);
  if (parts.empty())
    return (layer + "." + weight).str();
  StringRef variable = parts.pop_back_val();
  // TensorFlow's variable names end in ":0" (the op's output index).
  size_t colon = variable.rfind(':');
  if (colon != StringRef::npos && colon + 1 < variable.size() &&
      llvm::all_of(variable.substr(colon + 1), llvm::isDigit))
    variable = variable.take_front(colon);
  size_t first = parts.empty() ? 0 : 1;
  for (size_t i = parts.size(); i-- > 0;)
    if (parts[i] == layer) {
      first = i + 1;
      break;
    }
  std::string name = layer.str();
  for (size_t i = first; i < parts.size(); ++i) {
    if (isCellScope(parts[i]))
      continue;
    if (parts[i].starts_with("forward_"))
      name += ".forward";
    else if (parts[i].starts_with("backward_"))
      name += ".backward";
    else
      name += "." + parts[i].str();
  }
  return name + "." + variable.str();
}

/// The recurrent layers of a Keras model's JSON config whose arithmetic is
/// not that of Heed's lstm/gru: gates other than the logistic sigmoid
/// (Keras before 2.3 defaulted to hard_sigmoid), a candidate other than
/// tanh, a GRU that resets before its recurrent product (reset_after=False;
/// absent, as in Keras before 2.1, it is False).
static void kerasConfigProblems(const llvm::json::Value &value, unsigned depth,
                                std::vector<std::string> &problems) {
  if (depth > limits::kMaxNesting)
    return;
  if (const llvm::json::Array *array = value.getAsArray()) {
    for (const llvm::json::Value &item : *array)
      kerasConfigProblems(item, depth + 1, problems);
    return;
  }
  const llvm::json::Object *object = value.getAsObject();
  if (!object)
    return;
  std::optional<StringRef> className = object->getString("class_name");
  const llvm::json::Object *config = object->getObject("config");
  bool gru = className && (*className == "GRU" || *className == "GRUCell");
  bool lstm = className && (*className == "LSTM" || *className == "LSTMCell");
  if (config && (gru || lstm)) {
    std::string layer = "layer '" +
                        config->getString("name").value_or("?").str() + "' (" +
                        className->str() + ")";
    // An activation is a name, or (newer Keras) an object naming one.
    auto activation = [&](StringRef key) -> std::optional<StringRef> {
      const llvm::json::Value *v = config->get(key);
      if (!v)
        return std::nullopt;
      if (auto name = v->getAsString())
        return name;
      if (const llvm::json::Object *o = v->getAsObject())
        return o->getString("config");
      return std::nullopt;
    };
    if (auto gate = activation("recurrent_activation");
        gate && *gate != "sigmoid")
      problems.push_back(layer + ": recurrent_activation '" + gate->str() +
                         "' (Heed's gates are the logistic sigmoid, TF2's "
                         "default)");
    if (auto act = activation("activation"); act && *act != "tanh")
      problems.push_back(layer + ": activation '" + act->str() +
                         "' (Heed's is tanh)");
    if (gru && !config->getBoolean("reset_after").value_or(false))
      problems.push_back(layer +
                         ": reset_after=False (Heed's GRU is reset_after=True, "
                         "TF2's default and PyTorch's nn.GRU)");
  }
  for (const auto &entry : *object)
    kerasConfigProblems(entry.second, depth + 1, problems);
}

/// model.save's `model_config` (the root's attribute), parsed; null if
/// there is none.
static llvm::Expected<llvm::json::Value> modelConfig(const Hdf5File &file,
                                                     const std::string &path) {
  auto config = file.stringsAttribute(file.root(), "model_config");
  if (!config)
    return config.takeError();
  if (!*config || (*config)->size() != 1)
    return nullptr;
  return parseKerasConfigText((**config)[0], path, "its model_config");
}

llvm::Expected<llvm::json::Value>
heed::rt::parseKerasConfigText(StringRef text, const std::string &path,
                               StringRef what) {
  if (limits::jsonNestingBeyond(text))
    return fileError(path, what + " nests deeper than " +
                               llvm::Twine(limits::kMaxNesting) + " levels");
  auto json = llvm::json::parse(text);
  if (!json)
    return fileError(
        path, what + " is not valid JSON: " + llvm::toString(json.takeError()));
  return std::move(*json);
}

llvm::Expected<llvm::json::Value>
heed::rt::parseHdf5ModelConfig(StringRef bytes, const std::string &path) {
  auto file = Hdf5File::open(bytes, path);
  if (!file)
    return file.takeError();
  return modelConfig(*file, path);
}

llvm::Error heed::rt::checkKerasRecurrentConfig(const llvm::json::Value &config,
                                                const std::string &path,
                                                StringRef what) {
  std::vector<std::string> problems;
  kerasConfigProblems(config, 0, problems);
  if (problems.empty())
    return llvm::Error::success();
  std::string msg = "the Keras model (" + what.str() +
                    ") computes what Heed's layers do not, so its outputs "
                    "would differ:";
  for (const std::string &p : problems)
    msg += "\n  " + p;
  return fileError(path, msg);
}

/// model.save's `model_config`, if there is one: an error when a recurrent
/// layer computes what Heed's cannot, which would otherwise be wrong
/// outputs with the right weights.
static llvm::Error checkKerasConfig(const Hdf5File &file,
                                    const std::string &path) {
  auto json = modelConfig(file, path);
  if (!json)
    return json.takeError();
  return checkKerasRecurrentConfig(*json, path, "its model_config");
}

static llvm::Expected<NamedTensors>
kerasWeights(const Hdf5File &file, const Hdf5File::Object &root,
             const std::vector<std::string> &layers, const std::string &path,
             ValueErrors values) {
  NamedTensors out;
  std::map<std::string, std::string> sourceOf; // Heed name -> dataset path
  for (const std::string &layer : layers) {
    auto group = file.find(root, layer);
    if (!group)
      return group.takeError();
    if (!*group)
      return fileError(path, "Keras layer '" + layer +
                                 "' is listed in layer_names but has no group");
    auto names = kerasAttribute(file, **group, "weight_names");
    if (!names)
      return names.takeError();
    if (!*names)
      return fileError(path, "Keras layer '" + layer +
                                 "' has no weight_names attribute");
    for (const std::string &weight : **names) {
      auto dataset = file.find(**group, weight);
      if (!dataset)
        return dataset.takeError();
      if (!*dataset)
        return fileError(path, "Keras weight '" + weight + "' of layer '" +
                                   layer +
                                   "' is listed in weight_names but not in the "
                                   "file");
      std::string name = kerasWeightName(layer, weight);
      auto [it, inserted] = sourceOf.emplace(name, (*dataset)->path);
      if (!inserted)
        return fileError(path, "datasets '/" + it->second + "' and '/" +
                                   (*dataset)->path +
                                   "' would both be weight '" + name + "'");
      auto tensor = file.readDataset(**dataset, values);
      if (!tensor)
        return tensor.takeError();
      out.emplace_back(std::move(name), std::move(*tensor));
    }
  }
  return out;
}

llvm::Expected<NamedTensors> heed::rt::parseHdf5Weights(StringRef bytes,
                                                        const std::string &path,
                                                        ValueErrors values) {
  auto file = Hdf5File::open(bytes, path);
  if (!file)
    return file.takeError();
  Hdf5File::Object root = file->root();
  // Keras 2: the weights at the root, or in model.save()'s `model_weights`
  // (beside `optimizer_weights`, which is not read).
  for (StringRef at : {"", "model_weights"}) {
    std::optional<Hdf5File::Object> group = root;
    if (!at.empty()) {
      auto found = file->find(root, at);
      if (!found)
        return found.takeError();
      group = *found;
    }
    if (!group)
      continue;
    auto layers = kerasAttribute(*file, *group, "layer_names");
    if (!layers)
      return layers.takeError();
    if (!*layers)
      continue;
    if (auto err = checkKerasConfig(*file, path))
      return std::move(err);
    return kerasWeights(*file, *group, **layers, path, values);
  }
  // Any other file: every dataset, named by its path with '.' for '/'.
  NamedTensors out;
  auto err = file->forEachDataset(
      root, [&](const Hdf5File::Object &dataset) -> llvm::Error {
        auto tensor = file->readDataset(dataset, values);
        if (!tensor)
          return tensor.takeError();
        std::string name = dataset.path;
        std::replace(name.begin(), name.end(), '/', '.');
        out.emplace_back(std::move(name), std::move(*tensor));
        return llvm::Error::success();
      });
  if (err)
    return std::move(err);
  // Keras 3's save_weights names a layer by its class and position among
  // the model's layers, a variable by its index (`layers.dense_1.vars.0`):
  // the model's layers say which is which (compiler/Driver/Keras3Positions).
  return out;
}

bool heed::rt::hasKeras3PositionalNames(const NamedTensors &tensors) {
  for (auto &[name, t] : tensors) {
    llvm::SmallVector<StringRef> parts;
    StringRef(name).split(parts, '.');
    if (parts.size() >= 4 && parts.front() == "layers" &&
        parts[parts.size() - 2] == "vars" &&
        llvm::all_of(parts.back(), llvm::isDigit))
      return true;
  }
  return false;
}
