//===- Keras3Positions.h - Keras 3 weights-only files by shape --*- C++ -*-===//
//
// Part of Heed. Keras 3's `model.save_weights("w.weights.h5")` writes the
// weights alone, its layers named by class and position among the model's
// layers (`layers/dense_1/vars/0`) and nothing that says which layer is
// which. For a `weights keras` model, each of the model's layers takes the
// one group of its Keras class whose variables have the shapes the layer
// needs; where two layers of one class need the same shapes, the file
// cannot say which is which, and that is an error, never a guess.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_DRIVER_KERAS3POSITIONS_H
#define HEED_COMPILER_DRIVER_KERAS3POSITIONS_H

#include "frontends/dsl/AST.h"
#include "runtime/TensorFile.h"

#include "llvm/Support/Error.h"

namespace heed {

/// The tensors of a Keras 3 weights-only file (rt::hasKeras3PositionalNames)
/// renamed `LAYER.VARIABLE`
/// after `model`'s layers (convertKerasWeights then takes them). Errors
/// name the layer that no group fits (with the groups of its class and
/// their shapes), layers that fit the same groups, and groups that fit no
/// layer; `source` labels them.
llvm::Expected<rt::NamedTensors>
nameKeras3PositionalWeights(const dsl::Model &model, rt::NamedTensors tensors,
                            const std::string &source);

} // namespace heed

#endif
