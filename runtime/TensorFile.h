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
#include "llvm/Support/JSON.h"

#include <utility>
#include <vector>

namespace heed::rt {

/// Tensors in file order.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

llvm::Expected<NamedTensors>
loadTensorFile(const std::string &path,
               ValueErrors values = ValueErrors::Report);

/// What a weight file records of how its layers compute, beside their
/// weights: the JSON config of a Keras `model.save("m.h5")` file, or the
/// nn.Modules a torch.save checkpoint saved whole (parseTorchModules).
struct LayerRecord {
  enum class Kind { None, KerasConfig, TorchModules };
  Kind kind = Kind::None;
  llvm::json::Value json = nullptr;
};
/// The record of the file at `path` (read again: it is a part of the file
/// the tensors do not need); Kind::None for other files, files without
/// one, and files that cannot be read.
llvm::Expected<LayerRecord> loadLayerRecord(const std::string &path);

} // namespace heed::rt

#endif
