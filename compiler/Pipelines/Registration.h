//===- Registration.h - Dialects and passes Heed uses -----------*- C++ -*-===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_PIPELINES_REGISTRATION_H
#define HEED_COMPILER_PIPELINES_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace heed {

/// attn plus every upstream dialect, interface and LLVM translation the
/// pipelines produce.
void registerHeedDialects(mlir::DialectRegistry &registry);

/// Upstream passes, Heed's passes and Heed's named pipelines.
void registerAllHeedPasses();

} // namespace heed

#endif
