//===- Hdf5Weights.h - Weights from Keras and other HDF5 files --*- C++ -*-===//
//
// Part of Heed. The tensors of an HDF5 weight file (.h5, .hdf5), named as
// Heed's weights are:
//  - Keras 2 (`model.save_weights("w.h5")`, and `model.save("m.h5")`'s
//    `model_weights` group): the layers the attribute `layer_names` lists,
//    each weight read from the path its layer's `weight_names` gives and
//    named `LAYER.VARIABLE` (`dense/kernel:0` -> `dense.kernel`), with
//    `forward.`/`backward.` for a Bidirectional layer's two directions
//    (`bi/forward_lstm/lstm_cell/kernel:0` -> `bi.forward.kernel`) and the
//    scopes of nested layers kept (`mha/query/kernel:0` ->
//    `mha.query.kernel`);
//  - any other file: every dataset, named by its path with '.' for '/'
//    (`encoder/fc.weight` -> `encoder.fc.weight`).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_HDF5WEIGHTS_H
#define HEED_RUNTIME_HDF5WEIGHTS_H

#include "runtime/TensorFile.h"

#include "llvm/Support/JSON.h"

namespace heed::rt {

llvm::Expected<NamedTensors>
parseHdf5Weights(llvm::StringRef bytes, const std::string &path,
                 ValueErrors values = ValueErrors::Report);

/// Whether `tensors` are a Keras 3 weights-only file's (save_weights):
/// names `layers.<class>[_N]. ... .vars.<index>`, layers by class and
/// position (compiler/Driver/Keras3Positions.h matches them to a model).
bool hasKeras3PositionalNames(const NamedTensors &tensors);

/// The JSON config Keras' `model.save("m.h5")` stores beside the weights
/// (the root's attribute `model_config`); null where the file has none
/// (`save_weights`, other HDF5 files).
llvm::Expected<llvm::json::Value> parseHdf5ModelConfig(llvm::StringRef bytes,
                                                       const std::string &path);

/// A Keras model's JSON config (`text`), parsed; errors name `path` and
/// `what` ("its model_config").
llvm::Expected<llvm::json::Value> parseKerasConfigText(llvm::StringRef text,
                                                       const std::string &path,
                                                       llvm::StringRef what);

/// An error naming each recurrent layer of a Keras model's config whose
/// arithmetic is not that of Heed's lstm/gru (gates other than the logistic
/// sigmoid, a candidate other than tanh, a GRU with reset_after=False),
/// which would give other outputs with the right weights; `what` names the
/// config in the message ("its model_config").
llvm::Error checkKerasRecurrentConfig(const llvm::json::Value &config,
                                      const std::string &path,
                                      llvm::StringRef what);

} // namespace heed::rt

#endif
