//===- KerasArchive.cpp - Weights from Keras 3 .keras archives ------------===//
//
// Part of Heed. After Keras 3's keras/src/saving/saving_lib.py: saving
// walks the model (`_save_state`); a Functional or Sequential model's
// `layers` list is a container whose layers are named by class
// (`_save_container_state`: the class's snake case, `_1`, `_2`, ... from its
// second layer on), every layer writes its own variables as `vars/<index>`
// (`save_own_variables`), then the layers it holds under the attributes
// that hold them.
//
//===----------------------------------------------------------------------===//

#include "runtime/KerasArchive.h"
#include "runtime/FileError.h"
#include "runtime/Hdf5File.h"
#include "runtime/Hdf5Weights.h"
#include "runtime/Limits.h"
#include "runtime/ZipArchive.h"

#include "llvm/ADT/StringExtras.h"

#include <map>
#include <set>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;

std::string heed::rt::kerasSnakeCase(StringRef className) {
  // re.sub(r"\W+", "", name): word characters stay (non-ASCII ones too).
  std::string word;
  for (char c : className)
    if (llvm::isAlnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80)
      word += c;
  auto upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  // re.sub("(.)([A-Z][a-z]+)", r"\1_\2"): matches left to right, none
  // overlapping.
  std::string split;
  for (size_t i = 0; i < word.size();) {
    size_t end = i + 2;
    while (end < word.size() && lower(word[end]))
      ++end;
    if (i + 1 < word.size() && upper(word[i + 1]) && end > i + 2) {
      split += word[i];
      split += '_';
      split.append(word, i + 1, end - i - 1);
      i = end;
    } else {
      split += word[i++];
    }
  }
  // re.sub("([a-z])([A-Z])", r"\1_\2"), then lower().
  std::string out;
  for (size_t i = 0; i < split.size(); ++i) {
    out += llvm::toLower(split[i]);
    if (i + 1 < split.size() && lower(split[i]) && upper(split[i + 1])) {
      out += '_';
      out += llvm::toLower(split[++i]);
    }
  }
  return out;
}

namespace {

/// The members of a .keras archive this reader needs. The weights are a
/// view of the archive when stored (as Keras writes them), a copy when
/// deflated (an inflated member lives only during its visit).
struct ArchiveMembers {
  std::optional<std::string> config;
  std::optional<StringRef> weights;
  std::string inflatedWeights;
  bool npzWeights = false;
};

/// The archive's config.json and, if `withWeights`, its model.weights.h5.
llvm::Expected<std::unique_ptr<ArchiveMembers>>
readMembers(StringRef bytes, const std::string &path, bool withWeights) {
  auto members = std::make_unique<ArchiveMembers>();
  auto err = forEachZipMember(
      bytes, path, "Keras archive", [&](const ZipMember &m) -> llvm::Error {
        if (m.name == "config.json") {
          members->config = m.data.str();
        } else if (m.name == "model.weights.h5") {
          bool view =
              m.data.data() >= bytes.data() &&
              m.data.data() + m.data.size() <= bytes.data() + bytes.size();
          // Without `withWeights` only its presence counts (a deflated
          // member's view is not read after the visit).
          if (!withWeights || view) {
            members->weights = m.data;
          } else {
            members->inflatedWeights = m.data.str();
            members->weights = StringRef(members->inflatedWeights);
          }
        } else if (m.name == "model.weights.npz") {
          members->npzWeights = true;
        }
        return llvm::Error::success();
      });
  if (err)
    return std::move(err);
  if (!members->config)
    return fileError(path, "this Keras archive has no config.json");
  if (!members->weights)
    return fileError(path,
                     members->npzWeights
                         ? "this Keras archive's weights are "
                           "model.weights.npz (weights_format=\"npz\"), "
                           "which is not read; save it with Keras' default "
                           "(model.weights.h5)"
                         : "this Keras archive has no model.weights.h5");
  return std::move(members);
}

llvm::Expected<llvm::json::Value> parseConfig(const ArchiveMembers &members,
                                              const std::string &path) {
  return parseKerasConfigText(*members.config, path, "its config.json");
}

/// The variables a layer of `className` makes itself, in the order it
/// makes them (its `build`); nullopt for a class whose variables Heed does
/// not know. Weightless classes (InputLayer, Dropout, Concatenate, ...)
/// fall under the latter and are accepted while they hold no variables.
std::optional<std::vector<std::string>>
ownVariables(StringRef className, const llvm::json::Object &config) {
  auto flag = [&](StringRef key) {
    return config.getBoolean(key).value_or(true);
  };
  std::vector<std::string> names;
  if (className == "Dense" || className == "Conv1D") {
    names = {"kernel"};
    if (flag("use_bias"))
      names.push_back("bias");
  } else if (className == "LSTMCell" || className == "GRUCell") {
    names = {"kernel", "recurrent_kernel"};
    if (flag("use_bias"))
      names.push_back("bias");
  } else if (className == "Embedding") {
    names = {"embeddings"};
  } else if (className == "BatchNormalization" ||
             className == "LayerNormalization") {
    if (flag("scale"))
      names.push_back("gamma");
    if (flag("center"))
      names.push_back("beta");
    if (className == "BatchNormalization") {
      names.push_back("moving_mean");
      names.push_back("moving_variance");
    }
  } else {
    return std::nullopt;
  }
  return names;
}

/// The paths of every dataset below `group`.
llvm::Error collectDatasets(const Hdf5File &file, const Hdf5File::Object &group,
                            std::vector<std::string> &found) {
  return file.forEachDataset(group, [&](const Hdf5File::Object &dataset) {
    found.push_back(dataset.path);
    return llvm::Error::success();
  });
}

/// A model's `layers` group below `group` (Keras 2.13's archives name it
/// `_layer_checkpoint_dependencies`), if any.
llvm::Expected<std::optional<Hdf5File::Object>>
findLayersGroup(const Hdf5File &file, const Hdf5File::Object &group) {
  for (StringRef name : {"layers", "_layer_checkpoint_dependencies"}) {
    auto found = file.find(group, name);
    if (!found || *found)
      return found;
  }
  return std::nullopt;
}

class Reader {
public:
  Reader(const Hdf5File &file, const std::string &path, ValueErrors values)
      : file(file), path(path), values(values) {}

  /// A model's `layers` list (config) against its `layers` group.
  llvm::Error layerList(const llvm::json::Array &layers,
                        const Hdf5File::Object &group,
                        const std::string &prefix, unsigned depth) {
    std::map<std::string, unsigned> used;
    for (const llvm::json::Value &entry : layers) {
      const llvm::json::Object *object = entry.getAsObject();
      if (!object)
        return fileError(path,
                         "its config.json lists a layer that is no object");
      std::optional<StringRef> className = object->getString("class_name");
      const llvm::json::Object *config = object->getObject("config");
      if (!className || !config)
        return fileError(path,
                         "its config.json lists a layer without class_name "
                         "or config");
      // Keras operations that are no layers (keras.ops in a Functional
      // model) are not in the model's `layers`.
      if (object->getString("module").value_or("").starts_with("keras.src.ops"))
        continue;
      std::string key = kerasSnakeCase(*className);
      auto [it, first] = used.emplace(key, 0);
      if (!first)
        key += "_" + std::to_string(++it->second);
      std::optional<StringRef> name = object->getString("name");
      if (!name)
        name = config->getString("name");
      if (!name)
        return fileError(path, "its config.json lists a " + *className +
                                   " layer without a name");
      auto child = file.find(group, key);
      if (!child)
        return child.takeError();
      if (auto err = layer(*className, *config, *child, prefix + name->str(),
                           depth + 1))
        return err;
    }
    return llvm::Error::success();
  }

  NamedTensors out;
  /// The datasets read, by path.
  std::set<std::string> read;
  /// The weights' names given.
  std::set<std::string> weights;

private:
  const Hdf5File &file;
  const std::string &path;
  ValueErrors values;

  std::string describe(StringRef className, StringRef name) const {
    return "layer '" + name.str() + "' (" + className.str() + ")";
  }

  /// The layer `name` of `className`, saved in `group` (none if the file
  /// has no group for it).
  llvm::Error layer(StringRef className, const llvm::json::Object &config,
                    const std::optional<Hdf5File::Object> &group,
                    const std::string &name, unsigned depth) {
    if (depth > limits::kMaxNesting)
      return fileError(path, "its layers nest deeper than " +
                                 llvm::Twine(limits::kMaxNesting) + " levels");
    auto inner = [&](StringRef attribute, const llvm::json::Object *config,
                     const std::string &innerName) -> llvm::Error {
      if (!config)
        return fileError(path, "the config of " + describe(className, name) +
                                   " has no '" + attribute + "'");
      std::optional<StringRef> innerClass = config->getString("class_name");
      const llvm::json::Object *innerConfig = config->getObject("config");
      if (!innerClass || !innerConfig)
        return fileError(path, "the config of " + describe(className, name) +
                                   " gives '" + attribute +
                                   "' no class or config");
      std::optional<Hdf5File::Object> child;
      if (group) {
        auto found = file.find(*group, attribute);
        if (!found)
          return found.takeError();
        child = *found;
      }
      return layer(*innerClass, *innerConfig, child, innerName, depth + 1);
    };
    if (className == "LSTM" || className == "GRU") {
      // The RNN holds its cell (`cell`), whose variables are the layer's.
      llvm::json::Object cell{{"class_name", (className + "Cell").str()},
                              {"config", llvm::json::Object(config)}};
      return inner("cell", &cell, name);
    }
    // keras.layers.RNN(cell): the cell its config gives.
    if (className == "RNN")
      return inner("cell", config.getObject("cell"), name);
    if (className == "Bidirectional") {
      const llvm::json::Object *forward = config.getObject("layer");
      const llvm::json::Object *backward = config.getObject("backward_layer");
      if (auto err = inner("forward_layer", forward, name + ".forward"))
        return err;
      return inner("backward_layer", backward ? backward : forward,
                   name + ".backward");
    }
    if (className == "TimeDistributed")
      return inner("layer", config.getObject("layer"), name);
    if (const llvm::json::Array *layers = config.getArray("layers")) {
      // A model inside the model: its layers are named below its own.
      std::optional<Hdf5File::Object> list;
      if (group) {
        auto found = findLayersGroup(file, *group);
        if (!found)
          return found.takeError();
        list = *found;
      }
      if (!list)
        return datasetsBelow(className, name, group);
      return layerList(*layers, *list, name + ".", depth + 1);
    }
    std::optional<std::vector<std::string>> names =
        ownVariables(className, config);
    if (!names)
      return datasetsBelow(className, name, group);
    return own(className, name, group, *names);
  }

  /// A layer whose variables Heed does not know: an error if it has any.
  llvm::Error datasetsBelow(StringRef className, const std::string &name,
                            const std::optional<Hdf5File::Object> &group) {
    if (!group)
      return llvm::Error::success();
    std::vector<std::string> found;
    if (auto err = collectDatasets(file, *group, found))
      return err;
    if (found.empty())
      return llvm::Error::success();
    return fileError(
        path, describe(className, name) + " has " + llvm::Twine(found.size()) +
                  " variables (dataset '/" + found.front() +
                  "'), and Heed does not know which is which in a " +
                  className + " layer");
  }

  /// The layer's own variables `names`, datasets `vars/0`, `vars/1`, ...
  llvm::Error own(StringRef className, const std::string &name,
                  const std::optional<Hdf5File::Object> &group,
                  const std::vector<std::string> &names) {
    std::string variables = llvm::join(names, ", ");
    if (names.empty())
      return datasetsBelow(className, name, group);
    if (!group)
      return fileError(path, describe(className, name) +
                                 " has no group in model.weights.h5 (its "
                                 "variables: " +
                                 variables + ")");
    auto vars = file.find(*group, "vars");
    if (!vars)
      return vars.takeError();
    if (!*vars)
      return fileError(path, describe(className, name) + " has no group '/" +
                                 group->path + "/vars'");
    for (size_t i = 0; i < names.size(); ++i) {
      auto dataset = file.find(**vars, std::to_string(i));
      if (!dataset)
        return dataset.takeError();
      if (!*dataset)
        return fileError(path, describe(className, name) + " has no variable " +
                                   llvm::Twine(i) + " (" + names[i] +
                                   "): no dataset '/" + (*vars)->path + "/" +
                                   llvm::Twine(i) + "'");
      auto tensor = file.readDataset(**dataset, values);
      if (!tensor)
        return tensor.takeError();
      read.insert((*dataset)->path);
      std::string weight = name + "." + names[i];
      if (!weights.insert(weight).second)
        return fileError(path, "two layers of its config.json would both give "
                               "weight '" +
                                   weight + "' (layers named alike)");
      out.emplace_back(std::move(weight), std::move(*tensor));
    }
    std::vector<std::string> all;
    if (auto err = collectDatasets(file, *group, all))
      return err;
    for (const std::string &dataset : all)
      if (!read.count(dataset))
        return fileError(path, "dataset '/" + dataset + "' is no variable of " +
                                   describe(className, name) +
                                   ", whose variables are " + variables);
    return llvm::Error::success();
  }
};

} // namespace

llvm::Expected<llvm::json::Value>
heed::rt::parseKerasArchiveConfig(StringRef bytes, const std::string &path) {
  auto members = readMembers(bytes, path, /*withWeights=*/false);
  if (!members)
    return members.takeError();
  return parseConfig(**members, path);
}

llvm::Expected<NamedTensors>
heed::rt::parseKerasArchive(StringRef bytes, const std::string &path,
                            ValueErrors values) {
  auto members = readMembers(bytes, path, /*withWeights=*/true);
  if (!members)
    return members.takeError();
  auto config = parseConfig(**members, path);
  if (!config)
    return config.takeError();
  if (auto err = checkKerasRecurrentConfig(*config, path, "its config.json"))
    return std::move(err);
  const llvm::json::Object *root = config->getAsObject();
  const llvm::json::Object *modelConfig =
      root ? root->getObject("config") : nullptr;
  const llvm::json::Array *layers =
      modelConfig ? modelConfig->getArray("layers") : nullptr;
  if (!layers) {
    std::string cls =
        root ? root->getString("class_name").value_or("?").str() : "?";
    return fileError(path,
                     "its config.json lists no layers (a subclassed "
                     "keras.Model, '" +
                         cls +
                         "'?): Keras 3 names the variables of such a model "
                         "by its attributes, which Heed does not follow; "
                         "save the weights as .npz named LAYER.VARIABLE "
                         "(docs/weights.md)");
  }
  auto file =
      Hdf5File::open(*(*members)->weights, path + " (model.weights.h5)");
  if (!file)
    return file.takeError();
  auto group = findLayersGroup(*file, file->root());
  if (!group)
    return group.takeError();
  if (!*group)
    return fileError(path, "its model.weights.h5 has no group '/layers'");
  Reader reader(*file, path, values);
  if (auto err = reader.layerList(*layers, **group, "", 0))
    return std::move(err);
  // Every variable under the layers is some layer's.
  std::vector<std::string> all;
  if (auto err = collectDatasets(*file, **group, all))
    return std::move(err);
  for (const std::string &dataset : all)
    if (!reader.read.count(dataset))
      return fileError(path, "dataset '/" + dataset +
                                 "' belongs to no layer of its config.json");
  return std::move(reader.out);
}
