//===- TorchModules.h - Saved nn.Modules against the model file -*- C++ -*-===//
//
// Part of Heed. `torch.save(model)` saves the modules themselves, with the
// settings their weights do not show (a BatchNorm1d's eps, a Conv1d's
// stride and padding, an LSTM's direction count). A layer the model file
// declares otherwise would give other outputs with the right weights,
// silently; each is an error here, at its line in the model file.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_DRIVER_TORCHMODULES_H
#define HEED_COMPILER_DRIVER_TORCHMODULES_H

#include "frontends/dsl/AST.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/SourceMgr.h"

namespace heed {

/// Compares each module of `modules` (rt::parseTorchModules) with the
/// layer of `model` that binds its weights (the layer named by the
/// module's path, less `stripPrefix`).
llvm::Error checkTorchModules(const dsl::Model &model,
                              const llvm::json::Value &modules,
                              llvm::StringRef stripPrefix,
                              const std::string &source,
                              const llvm::SourceMgr &sourceMgr);

} // namespace heed

#endif
