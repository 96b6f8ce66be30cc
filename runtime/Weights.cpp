//===- Weights.cpp - Bind weight tensors to a model -----------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Weights.h"

#include "llvm/ADT/StringRef.h"

#include <map>

using namespace heed::rt;

void heed::rt::stripNamePrefix(NamedTensors &tensors,
                               const std::string &prefix) {
  if (prefix.empty())
    return;
  for (auto &[name, t] : tensors)
    if (llvm::StringRef(name).starts_with(prefix))
      name = name.substr(prefix.size());
}

/// The prefix P such that the file holds P + name for every expected weight
/// (none of which matched as it is), or "" when there is none.
static std::string
wrapperPrefix(const std::vector<ExpectedWeight> &expected,
              const std::map<std::string, Tensor *> &unmatched) {
  std::string prefix;
  for (const ExpectedWeight &w : expected) {
    bool found = false;
    for (auto &entry : unmatched) {
      llvm::StringRef n(entry.first);
      if (n.size() <= w.name.size() + 1 || !n.ends_with(w.name) ||
          n[n.size() - w.name.size() - 1] != '.')
        continue;
      llvm::StringRef p = n.drop_back(w.name.size());
      if (!prefix.empty() && p != prefix)
        continue;
      prefix = p.str();
      found = true;
      break;
    }
    if (!found)
      return "";
  }
  return prefix;
}

llvm::Expected<std::vector<Tensor>>
heed::rt::bindWeights(const std::vector<ExpectedWeight> &expected,
                      NamedTensors tensors, const std::string &source,
                      const WeightOptions &options,
                      std::vector<std::string> *ignored) {
  stripNamePrefix(tensors, options.stripPrefix);
  std::map<std::string, Tensor *> byName;
  for (auto &[name, t] : tensors)
    byName[name] = &t;
  std::vector<std::string> problems;
  std::vector<Tensor> bound;
  for (const ExpectedWeight &w : expected) {
    auto it = byName.find(w.name);
    if (it == byName.end()) {
      problems.push_back("missing " + w.name + " " + shapeToString(w.shape));
      continue;
    }
    if (it->second->shape() != w.shape)
      problems.push_back("wrong shape for " + w.name + ": file has " +
                         shapeToString(it->second->shape()) +
                         ", the model expects " + shapeToString(w.shape));
    else if (!it->second->valueError().empty()) // read with WhenUsed
      problems.push_back(it->second->valueError());
    else
      bound.push_back(std::move(*it->second));
    byName.erase(it);
  }
  for (auto &[name, t] : byName) {
    // PyTorch's BatchNorm state_dict carries a step counter inference never
    // reads; accept it so state_dict exports load as they are.
    if (llvm::StringRef(name).ends_with(".num_batches_tracked"))
      continue;
    if (options.ignoreExtra) {
      if (ignored)
        ignored->push_back(name + " " + shapeToString(t->shape()));
      continue;
    }
    problems.push_back("unexpected " + name + " " + shapeToString(t->shape()) +
                       " (the model has no such weight; --ignore-extra-weights "
                       "ignores such tensors)");
  }
  if (problems.empty())
    return bound;
  std::string msg = source + ": " + std::to_string(problems.size()) +
                    " weight problem" + (problems.size() == 1 ? "" : "s") + ":";
  for (auto &p : problems)
    msg += "\n  " + p;
  // A checkpoint saved from a wrapper (`model.`, `module.`): every missing
  // weight is in the file under one prefix.
  std::string prefix = bound.empty() ? wrapperPrefix(expected, byName) : "";
  if (!prefix.empty()) {
    // A training checkpoint: the weights under one key, beside the
    // optimizer's state and the like.
    size_t others = 0;
    for (auto &entry : byName)
      others += !llvm::StringRef(entry.first).starts_with(prefix);
    msg += "\n  (the file names these weights with the prefix '" + prefix +
           "'; --weights-prefix " + prefix + " strips it" +
           (others ? ", and --ignore-extra-weights skips the file's " +
                         std::to_string(others) + " other tensor" +
                         (others == 1 ? "" : "s")
                   : std::string()) +
           ")";
  }
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}
