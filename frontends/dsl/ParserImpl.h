//===- ParserImpl.h - The recursive-descent parser's class -----*- C++ -*-===//
//
// Part of Heed. Shared by Parser.cpp (the model and its statements) and
// ParserExpressions.cpp (expressions: binary operators by precedence
// climbing, primaries, indexing, call arguments). The grammar is in
// Parser.cpp's banner and docs/language.md.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_PARSERIMPL_H
#define HEED_FRONTENDS_DSL_PARSERIMPL_H

#include "frontends/dsl/Lexer.h"
#include "frontends/dsl/Parser.h"
#include "runtime/Limits.h"

#include "llvm/ADT/Twine.h"

namespace heed::dsl::parser {

using llvm::SMLoc;

class Parser {
public:
  Parser(llvm::SourceMgr &sm)
      : sm(sm), lexer(sm.getMemoryBuffer(sm.getMainFileID())->getBuffer()) {
    tok = lexer.next();
  }

  std::unique_ptr<Model> parseModel();

private:
  // Token handling.
  void consume() { tok = lexer.next(); }
  Token peekNext() {
    Lexer copy = lexer;
    return copy.next();
  }
  bool error(SMLoc loc, const llvm::Twine &msg) {
    if (!failed)
      sm.PrintMessage(loc, llvm::SourceMgr::DK_Error, msg);
    failed = true;
    return false;
  }
  bool errorExpected(const llvm::Twine &what) {
    if (tok.is(Tok::Error))
      return error(tok.loc(), "unexpected " + describeCharacter(tok.text));
    return error(
        tok.loc(),
        "expected " + what + ", found " +
            (tok.is(Tok::Eof) ? llvm::StringRef("end of file") : tok.text));
  }
  /// Items separated by commas up to `close` (a trailing comma allowed),
  /// the opening token already consumed; consumes `close`. `item` parses
  /// one item and returns false after reporting an error.
  bool parseSeparated(Tok close, const char *expected,
                      llvm::function_ref<bool()> item) {
    while (!tok.is(close)) {
      if (!item())
        return false;
      if (tok.is(Tok::Comma))
        consume();
      else if (!tok.is(close))
        return errorExpected(expected);
    }
    consume();
    return true;
  }
  bool expect(Tok kind, const char *what = nullptr) {
    if (!tok.is(kind))
      return errorExpected(what ? what : tokenName(kind));
    consume();
    return true;
  }
  bool expectIdent(std::string &name, SMLoc &loc, const char *what) {
    if (isKeyword(tok.kind))
      return error(tok.loc(),
                   "'" + tok.text +
                       "' is a reserved word and "
                       "cannot be used as a " +
                       what + " (docs/language.md lists the reserved words)");
    if (!tok.is(Tok::Ident))
      return errorExpected(what);
    name = tok.text.str();
    loc = tok.loc();
    consume();
    return true;
  }

  std::unique_ptr<Stmt> parseStmt(Model &model, bool inLoop);
  std::unique_ptr<Stmt> parseScoreDef(Model &model, bool inLoop);
  /// `[d, ...]` after an input's or weight tensor's name, into s.shape.
  bool parseShape(Stmt &s, SMLoc loc, const char *what);
  /// `parameter NAME: [d, ...]`: a bare weight tensor (nn.Parameter).
  std::unique_ptr<Stmt> parseWeightTensor(bool inLoop);
  std::unique_ptr<Expr> parseExpr();
  /// Precedence climbing over kBinaryOperators: folds `op rhs` pairs onto
  /// `lhs` while the operator binds at least as tightly as `minPrecedence`.
  std::unique_ptr<Expr> parseBinaryRHS(int minPrecedence,
                                       std::unique_ptr<Expr> lhs);
  std::unique_ptr<Expr> parseUnary();
  std::unique_ptr<Expr> parsePrimary();
  /// `base[i, a:b, :]` after a name, call or parenthesized expression.
  std::unique_ptr<Expr> parseIndex(std::unique_ptr<Expr> base);
  bool parseCallArgs(Expr &call);

  /// Recursive descent recurses once per nesting level (parentheses,
  /// calls, brackets, unary minus, loops) and every later stage walks the
  /// tree recursively, so nesting is limited. Operators chained at one
  /// level (`a + b + ...`) build a tree as deep as the chain and count too.
  bool enter(SMLoc loc, unsigned levels = 1) {
    depth += levels;
    if (depth <= heed::limits::kMaxNesting)
      return true;
    return error(loc, "the model nests deeper than " +
                          llvm::Twine(heed::limits::kMaxNesting) +
                          " levels here (parentheses, calls, brackets, unary "
                          "minus, loops, and each operator of a chain such as "
                          "a + b + c count); split it into named steps");
  }
  void leave(unsigned levels = 1) { depth -= levels; }

  llvm::SourceMgr &sm;
  Lexer lexer;
  Token tok;
  bool failed = false;
  unsigned depth = 0;
};

} // namespace heed::dsl::parser

#endif // HEED_FRONTENDS_DSL_PARSERIMPL_H
