//===- Weights.h - Bind weight tensors to a model ---------------*- C++ -*-===//
//
// Part of Heed. Matches a file's tensors to the weights a model expects, by
// PyTorch state_dict name, and reports every missing, unexpected and
// mis-shaped tensor in one error.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_WEIGHTS_H
#define HEED_RUNTIME_WEIGHTS_H

#include "runtime/TensorFile.h"

namespace heed::rt {

struct ExpectedWeight {
  std::string name;
  std::vector<int64_t> shape;
};

/// How a checkpoint's names meet the model's.
struct WeightOptions {
  /// Stripped from every tensor name that starts with it: checkpoints
  /// saved from a wrapper (`module.` from DataParallel, `model.`).
  std::string stripPrefix;
  /// Tensors the model has no weight for (optimizer state, unused heads)
  /// are listed in `ignored` instead of being an error.
  bool ignoreExtra = false;
};

/// `prefix` stripped from the names that start with it.
void stripNamePrefix(NamedTensors &tensors, const std::string &prefix);

/// The tensors for `expected`, in its order. With options.ignoreExtra,
/// the names (and shapes) of tensors it did not bind go into `ignored`.
llvm::Expected<std::vector<Tensor>>
bindWeights(const std::vector<ExpectedWeight> &expected, NamedTensors tensors,
            const std::string &source, const WeightOptions &options = {},
            std::vector<std::string> *ignored = nullptr);

} // namespace heed::rt

#endif
