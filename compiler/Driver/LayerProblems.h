//===- LayerProblems.h - Checkpoint layers vs the model file --*- C++ -*-===//
//
// Part of Heed. Checkpoints that record how their layers compute (a Keras
// model.save config, a whole nn.Module saved by torch.save) can disagree
// with the model file's declarations while every weight still binds by
// name and shape. Each disagreement is collected at its layer's line, and
// reported as one error.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_DRIVER_LAYERPROBLEMS_H
#define HEED_COMPILER_DRIVER_LAYERPROBLEMS_H

#include "frontends/dsl/AST.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/SourceMgr.h"

#include <cmath>
#include <string>
#include <utility>
#include <vector>

namespace heed {

class LayerProblems {
public:
  LayerProblems(const dsl::Model &model, const llvm::SourceMgr &sourceMgr);
  /// The model's layer called `name` (a checkpoint's layer or module
  /// path), or null.
  const dsl::Layer *find(llvm::StringRef name) const {
    return layers.lookup(name);
  }
  /// A number the checkpoint saved (an epsilon) and the model file's are
  /// not the same setting (beyond the rounding of its text).
  static bool differs(double saved, double declared) {
    return std::fabs(saved - declared) > 1e-6 * std::fabs(saved);
  }
  /// "FILE:LINE:COL: layer 'NAME' (KIND): MSG", at the layer's declaration.
  void add(const dsl::Layer &layer, llvm::StringRef kind,
           const std::string &msg);
  /// Success when there are none; else "SOURCE: HEADLINE:" and each
  /// problem on a line of its own, in the model file's order.
  llvm::Error take(const std::string &source, llvm::StringRef headline);

private:
  const llvm::SourceMgr &sourceMgr;
  llvm::StringMap<const dsl::Layer *> layers;
  std::vector<std::pair<const char *, std::string>> problems;
};

} // namespace heed

#endif
