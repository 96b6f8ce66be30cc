//===- TensorFile.h - Load tensors from any supported file ------*- C++ -*-===//
//
// Part of Heed. `.npy` (one tensor, named after the file), `.npz`,
// `.safetensors`, PyTorch checkpoints and HDF5 (Keras), chosen by extension.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_TENSORFILE_H
#define HEED_RUNTIME_TENSORFILE_H

#include "runtime/Tensor.h"

#include "llvm/Support/Error.h"

#include <utility>
#include <vector>

namespace heed::rt {

/// Tensors in file order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

llvm::Expected<NamedTensors>
loadTensorFile(const std::string &path,
               ValueErrors values = ValueErrors::Report);

} // namespace heed::rt

#endif
