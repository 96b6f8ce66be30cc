//===- KerasArchive.h - Weights from Keras 3 .keras archives ----*- C++ -*-===//
//
// Part of Heed. Keras 3's `model.save("m.keras")` writes a zip archive of
// `config.json` (the model's JSON), `metadata.json` and `model.weights.h5`,
// whose variables carry no layer names: a layer is the group
// `layers/<its class in snake case>[_N]` (by class and position in the
// model's layer list), its variables `vars/0`, `vars/1`, ... in the order
// it made them. The config's layer list names them; they are read as the
// Keras 2 reader names its weights (`LAYER.VARIABLE`, `LAYER.forward.
// VARIABLE` for a Bidirectional's directions).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_KERASARCHIVE_H
#define HEED_RUNTIME_KERASARCHIVE_H

#include "runtime/TensorFile.h"

#include "llvm/Support/JSON.h"

namespace heed::rt {

/// The weights of a .keras archive, named `LAYER.VARIABLE`. An error names
/// the layer (its name and class) and the dataset for a variable that is
/// missing, one that no known layer owns, or a recurrent layer that
/// computes otherwise than Heed's (checkKerasRecurrentConfig).
llvm::Expected<NamedTensors>
parseKerasArchive(llvm::StringRef bytes, const std::string &path,
                  ValueErrors values = ValueErrors::Report);

/// The archive's `config.json`, parsed.
llvm::Expected<llvm::json::Value>
parseKerasArchiveConfig(llvm::StringRef bytes, const std::string &path);

/// keras.src.utils.naming.to_snake_case: `BatchNormalization` ->
/// `batch_normalization`, `LSTM` -> `lstm`, `Conv1D` -> `conv1d`.
std::string kerasSnakeCase(llvm::StringRef className);

} // namespace heed::rt

#endif
