//===- Parser.h - Recursive-descent parser for model files ------*- C++ -*-===//
//
// Part of Heed. Parses one model file held by an llvm::SourceMgr into an AST;
// syntax errors are reported through the SourceMgr as file:line:col with the
// source line and a caret.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_PARSER_H
#define HEED_FRONTENDS_DSL_PARSER_H

#include "frontends/dsl/AST.h"

#include "llvm/Support/SourceMgr.h"

namespace heed::dsl {

/// Parses the main buffer of `sourceMgr`; returns null after reporting the
/// first syntax error.
std::unique_ptr<Model> parseModel(llvm::SourceMgr &sourceMgr);

} // namespace heed::dsl

#endif // HEED_FRONTENDS_DSL_PARSER_H
