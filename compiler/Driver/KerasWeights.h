//===- KerasWeights.h - Keras weight names and layouts ----------*- C++ -*-===//
//
// Part of Heed. A model that says `weights keras` reads Keras-named weights
// in Keras layouts; they are converted once, when bound, to the PyTorch
// names and layouts the compiled code uses. docs/weights.md has the table.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_DRIVER_KERASWEIGHTS_H
#define HEED_COMPILER_DRIVER_KERASWEIGHTS_H

#include "frontends/dsl/AST.h"
#include "runtime/TensorFile.h"
#include "runtime/Weights.h"

#include "llvm/Support/Error.h"

namespace heed {

/// Converts Keras-named tensors into the PyTorch state_dict the model
/// expects. Tensors that are missing or mis-shaped are reported together,
/// by their Keras names and expected Keras shapes.
llvm::Expected<rt::NamedTensors> convertKerasWeights(const dsl::Model &model,
                                                     rt::NamedTensors keras,
                                                     const std::string &source);

/// The Keras weights `model` reads (names and Keras shapes), in its order.
std::vector<rt::ExpectedWeight> kerasWeightSpecs(const dsl::Model &model);

} // namespace heed

#endif
