//===- Sema.h - Semantic checks of the Heed model language ------*- C++ -*-===//
//
// Part of Heed. Resolves names, evaluates parameters, infers shapes with
// symbolic dimensions, checks arity and fixes every layer's weight shapes.
// Errors go through the SourceMgr as file:line:col with a caret.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_SEMA_H
#define HEED_FRONTENDS_DSL_SEMA_H

#include "frontends/dsl/AST.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/SourceMgr.h"

namespace heed::dsl {

/// A weight the model expects, named by the PyTorch state_dict convention.
struct WeightSpec {
  std::string name;            // e.g. "densor1.weight"
  std::vector<int64_t> shape;  // e.g. [10, 128]
  std::string layer;           // the layer it belongs to; empty for a weight
                               // tensor (`parameter v_a: [128]`)
};

/// Values given for header parameters (`heed --param NAME=VALUE`), as
/// written: a number, or a word for a parameter whose default is a word
/// (`normalization=NORM` with `model m(NORM = softmax)`).
using ParamOverrides = llvm::StringMap<std::string>;

/// Checks and annotates `model`; returns false after reporting the first
/// error. `params` replace the defaults of header parameters of the same
/// name.
bool checkModel(Model &model, llvm::SourceMgr &sourceMgr,
                const ParamOverrides &params = {});

/// The weights of a checked model, in declaration order (a layer's weights
/// are consecutive).
std::vector<WeightSpec> weightSpecs(const Model &model);

} // namespace heed::dsl

#endif // HEED_FRONTENDS_DSL_SEMA_H
