//===- Keras3Positions.cpp - Keras 3 weights-only files by shape ----------===//
//
// Part of Heed. See Keras3Positions.h. A Keras 3 layer's group holds its
// variables as `vars/0`, `vars/1`, ... in the order it made them (the order
// kerasWeightSpecs lists them), under the attributes that hold them: an
// LSTM's or GRU's `cell`, a Bidirectional's `forward_layer/cell` and
// `backward_layer/cell`, a TimeDistributed's `layer`.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Keras3Positions.h"

#include "compiler/Driver/KerasWeights.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <algorithm>
#include <map>

using namespace heed;
using dsl::Builtin;
using llvm::StringRef;

namespace {

/// A way Keras saves one of Heed's layers: its class in snake case and
/// where its variables are in the class's group.
struct KerasForm {
  StringRef className;
  StringRef prefix; // before `vars.<i>`; Bidirectional: see pathsFor
};

/// The Keras classes a layer of `kind` may come from.
std::vector<KerasForm> formsOf(Builtin kind) {
  switch (kind) {
  case Builtin::Dense:
    return {{"dense", ""}, {"time_distributed", "layer."}};
  case Builtin::Lstm:
    return {{"lstm", "cell."}, {"rnn", "cell."}};
  case Builtin::Gru:
    return {{"gru", "cell."}, {"rnn", "cell."}};
  case Builtin::LstmCell:
    return {{"lstm", "cell."}, {"rnn", "cell."}, {"lstm_cell", ""}};
  case Builtin::GruCell:
    return {{"gru", "cell."}, {"rnn", "cell."}, {"gru_cell", ""}};
  case Builtin::Bidirectional:
    return {{"bidirectional", ""}};
  case Builtin::Conv1D:
    return {{"conv1d", ""}};
  case Builtin::BatchNorm:
    return {{"batch_normalization", ""}};
  case Builtin::LayerNorm:
    return {{"layer_normalization", ""}};
  case Builtin::Embedding:
    return {{"embedding", ""}};
  default:
    return {};
  }
}

/// One of the model's layers with Keras variables.
struct ModelLayer {
  const dsl::Layer *layer;
  std::vector<rt::ExpectedWeight> specs; // `LAYER.VARIABLE`, Keras shapes
  std::vector<size_t> fits;              // indexes of the groups it fits
  std::optional<size_t> group;           // the one it takes
};

/// A group `layers/<name>` of the file with variables.
struct FileGroup {
  std::string name;                   // dense_1
  std::string className;              // dense
  std::map<std::string, size_t> vars; // `cell.vars.0` -> index in tensors
  std::optional<size_t> layer;        // the model layer that takes it
};

/// The path of each of `m`'s variables in a group of form `form`.
std::vector<std::string> pathsFor(const ModelLayer &m, const KerasForm &form) {
  std::vector<std::string> paths;
  size_t forward = 0, backward = 0, own = 0;
  for (const rt::ExpectedWeight &spec : m.specs) {
    StringRef variable =
        StringRef(spec.name).drop_front(m.layer->name.size() + 1);
    if (variable.starts_with("forward."))
      paths.push_back("forward_layer.cell.vars." + std::to_string(forward++));
    else if (variable.starts_with("backward."))
      paths.push_back("backward_layer.cell.vars." + std::to_string(backward++));
    else
      paths.push_back(form.prefix.str() + "vars." + std::to_string(own++));
  }
  return paths;
}

std::string shapes(const FileGroup &g, const rt::NamedTensors &tensors) {
  std::string out;
  for (auto &[path, index] : g.vars) {
    std::string slashes = path;
    std::replace(slashes.begin(), slashes.end(), '.', '/');
    out += (out.empty() ? "" : ", ") + slashes + " " +
           rt::shapeToString(tensors[index].second.shape());
  }
  return "'layers/" + g.name + "' (" + out + ")";
}

std::string describe(const ModelLayer &m) {
  std::string out;
  for (const rt::ExpectedWeight &spec : m.specs)
    out += (out.empty() ? "" : ", ") +
           StringRef(spec.name).drop_front(m.layer->name.size() + 1).str() +
           " " + rt::shapeToString(spec.shape);
  return "layer '" + m.layer->name + "' (" + out + ")";
}

} // namespace

llvm::Expected<rt::NamedTensors>
heed::nameKeras3PositionalWeights(const dsl::Model &model,
                                  rt::NamedTensors tensors,
                                  const std::string &source) {
  auto fail = [&](const llvm::Twine &message) {
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        source + ": a Keras 3 weights-only file (save_weights: layers named " +
            "by class and position): " + message);
  };
  const char *advice = "; save the whole model (model.save(\"m.keras\")), "
                       "whose config names the layers, or the weights as "
                       ".npz named LAYER.VARIABLE (docs/weights.md)";
  // The file's groups.
  std::vector<FileGroup> groups;
  std::map<std::string, size_t> groupIndex;
  for (size_t i = 0; i < tensors.size(); ++i) {
    llvm::SmallVector<StringRef> parts;
    StringRef(tensors[i].first).split(parts, '.');
    std::string dataset = "'/" + llvm::join(parts, "/") + "'";
    // Beside the layers, the optimizer's state (not read, as in .keras).
    if (parts.front() != "layers")
      continue;
    if (parts.size() < 4 || parts[parts.size() - 2] != "vars")
      return fail("dataset " + dataset + " is no layer's variable");
    if (llvm::is_contained(llvm::ArrayRef(parts).slice(2), "layers"))
      return fail("dataset " + dataset +
                  " is in a model inside the model, whose layers Heed does "
                  "not match by shape" +
                  advice);
    auto [it, added] = groupIndex.emplace(parts[1].str(), groups.size());
    if (added) {
      FileGroup g;
      g.name = parts[1].str();
      // keras' numbering: `dense`, `dense_1`, `dense_2`.
      StringRef cls = parts[1];
      auto [stem, number] = cls.rsplit('_');
      if (!number.empty() && llvm::all_of(number, llvm::isDigit))
        cls = stem;
      g.className = cls.str();
      groups.push_back(std::move(g));
    }
    if (!groups[it->second]
             .vars
             .emplace(llvm::join(llvm::ArrayRef(parts).drop_front(2), "."), i)
             .second)
      return fail("dataset " + dataset + " is given twice");
  }
  // The model's layers and what each needs, in the model's order.
  std::vector<rt::ExpectedWeight> specs = kerasWeightSpecs(model);
  std::vector<ModelLayer> layers;
  size_t next = 0;
  for (auto &layer : model.layers) {
    ModelLayer m{layer.get(), {}, {}, {}};
    std::string prefix = layer->name + ".";
    while (next < specs.size() &&
           StringRef(specs[next].name).starts_with(prefix) &&
           !StringRef(specs[next].name).drop_front(prefix.size()).contains('.'))
      m.specs.push_back(specs[next++]);
    while (next < specs.size() &&
           (StringRef(specs[next].name).starts_with(prefix + "forward.") ||
            StringRef(specs[next].name).starts_with(prefix + "backward.")))
      m.specs.push_back(specs[next++]);
    if (!m.specs.empty())
      layers.push_back(std::move(m));
  }
  if (next != specs.size())
    return fail("Keras weight '" + specs[next].name +
                "' is no layer's (an internal error)");
  // Which groups each layer fits: its class, its variables' shapes, and
  // no other variables.
  for (ModelLayer &m : layers) {
    for (const KerasForm &form : formsOf(m.layer->kind)) {
      std::vector<std::string> paths = pathsFor(m, form);
      for (size_t g = 0; g < groups.size(); ++g) {
        const FileGroup &group = groups[g];
        if (group.className != form.className ||
            group.vars.size() != paths.size())
          continue;
        bool fits = true;
        for (size_t v = 0; v < paths.size() && fits; ++v) {
          auto it = group.vars.find(paths[v]);
          fits = it != group.vars.end() &&
                 tensors[it->second].second.shape() == m.specs[v].shape;
        }
        if (fits)
          m.fits.push_back(g);
      }
    }
    if (m.fits.empty()) {
      std::string classes, alike;
      for (const KerasForm &form : formsOf(m.layer->kind)) {
        classes += (classes.empty() ? "" : " or ") + form.className.str();
        for (const FileGroup &g : groups)
          if (g.className == form.className)
            alike += "; " + shapes(g, tensors);
      }
      return fail(describe(m) + ": no group of class " + classes +
                  " has these variables" +
                  (alike.empty() ? " (the file has none of the class)"
                                 : " (the file's: " + alike.substr(2) + ")"));
    }
  }
  // A layer that fits one group takes it, which may leave another layer
  // one; layers that still fit several cannot be told apart.
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t l = 0; l < layers.size(); ++l) {
      ModelLayer &m = layers[l];
      if (m.group)
        continue;
      std::vector<size_t> free;
      for (size_t g : m.fits)
        if (!groups[g].layer)
          free.push_back(g);
      if (free.empty()) {
        std::string others;
        for (size_t g : m.fits)
          others += std::string(others.empty() ? "" : ", ") + "'layers/" +
                    groups[g].name + "' (taken by '" +
                    layers[*groups[g].layer].layer->name + "')";
        return fail(describe(m) +
                    ": the groups with its variables are all "
                    "taken by other layers of the same shapes: " +
                    others);
      }
      if (free.size() == 1) {
        m.group = free.front();
        groups[free.front()].layer = l;
        changed = true;
      }
    }
  }
  for (const ModelLayer &m : layers) {
    if (m.group)
      continue;
    std::vector<std::string> alike, candidates;
    for (const ModelLayer &other : layers)
      if (!other.group && other.fits == m.fits)
        alike.push_back("'" + other.layer->name + "'");
    for (size_t g : m.fits)
      candidates.push_back("'layers/" + groups[g].name + "'");
    return fail("layers " + llvm::join(alike, ", ") +
                " have variables of the same shapes, and the file does not "
                "say which of its groups " +
                llvm::join(candidates, ", ") + " is which" + advice);
  }
  for (const FileGroup &g : groups)
    if (!g.layer)
      return fail("group " + shapes(g, tensors) +
                  " belongs to no layer of model '" + model.name + "'");
  // The variables under the names convertKerasWeights reads.
  rt::NamedTensors named;
  for (const ModelLayer &m : layers) {
    const FileGroup &group = groups[*m.group];
    std::vector<std::string> paths;
    for (const KerasForm &form : formsOf(m.layer->kind))
      if (form.className == group.className)
        paths = pathsFor(m, form);
    for (size_t v = 0; v < paths.size(); ++v)
      named.emplace_back(m.specs[v].name,
                         std::move(tensors[group.vars.at(paths[v])].second));
  }
  return std::move(named);
}
