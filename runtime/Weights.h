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

/// The tensors for `expected`, in its order.
llvm::Expected<std::vector<Tensor>>
bindWeights(const std::vector<ExpectedWeight> &expected, NamedTensors tensors,
            const std::string &source);

} // namespace heed::rt

#endif
