//===- KerasConfig.h - A Keras config against the model file --*- C++ -*-===//
//
// Part of Heed. Keras' `model.save("m.h5")` stores the model's JSON config
// beside its weights. The weights bind to a `weights keras` model by layer
// name and shape alone, so a layer whose settings the model file states
// otherwise (a BatchNormalization's epsilon, a Conv1D's strides or
// padding, a Dense layer's activation, a recurrent layer that runs
// backwards) would give other outputs with the right weights, silently.
// Each such layer is an error here, at its line in the model file.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_DRIVER_KERASCONFIG_H
#define HEED_COMPILER_DRIVER_KERASCONFIG_H

#include "frontends/dsl/AST.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"

namespace heed {

/// Compares each layer of `config` (a Keras model config: nested models,
/// Bidirectional and TimeDistributed wrappers included) with the layer of
/// `model` of the same name; `source` (the weight file) labels the error,
/// which lists every disagreement at its layer's declaration.
llvm::Error checkKerasModelConfig(const dsl::Model &model,
                                  const llvm::json::Value &config,
                                  const std::string &source,
                                  const llvm::SourceMgr &sourceMgr);

} // namespace heed

#endif
