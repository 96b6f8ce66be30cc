//===- Builtins.h - Built-in functions and layer kinds ----------*- C++ -*-===//
//
// Part of Heed. The table of names the language predefines.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_BUILTINS_H
#define HEED_FRONTENDS_DSL_BUILTINS_H

#include "frontends/dsl/AST.h"

#include "llvm/ADT/StringRef.h"

namespace heed::dsl {

/// A built-in function usable in expressions (`softmax`, `concat`, ...).
Builtin lookupFunction(llvm::StringRef name);
/// A layer kind usable in `layer NAME = KIND(...)`.
Builtin lookupLayerKind(llvm::StringRef name);
/// Activation names accepted by `activation=` and as functions.
bool isActivationName(llvm::StringRef name);

} // namespace heed::dsl

#endif // HEED_FRONTENDS_DSL_BUILTINS_H
