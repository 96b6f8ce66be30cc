//===- Lexer.h - Tokens of the Heed model language --------------*- C++ -*-===//
//
// Part of Heed. A hand-written lexer over an llvm::SourceMgr buffer; every
// token keeps its SMLoc so diagnostics point at file:line:col.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_LEXER_H
#define HEED_FRONTENDS_DSL_LEXER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/SMLoc.h"

namespace heed::dsl {

enum class Tok {
  Eof, Error, Ident, Int, Float,
  LParen, RParen, LBracket, RBracket, LBrace, RBrace,
  Comma, Colon, Equal, Plus, Minus, Star, Slash, At, Arrow,
  // Comparisons.
  EqEq, NotEq, Less, LessEq, Greater, GreaterEq,
  // Keywords.
  KwModel, KwInput, KwOutput, KwLayer, KwFor, KwIn, KwCarry, KwYield,
};

struct Token {
  Tok kind = Tok::Eof;
  llvm::StringRef text;
  llvm::SMLoc loc() const { return llvm::SMLoc::getFromPointer(text.data()); }
  bool is(Tok k) const { return kind == k; }
};

class Lexer {
public:
  explicit Lexer(llvm::StringRef buffer)
      : cur(buffer.begin()), end(buffer.end()) {}
  Token next();

private:
  Token make(Tok kind, const char *start) {
    return Token{kind, llvm::StringRef(start, cur - start)};
  }
  const char *cur, *end;
};

const char *tokenName(Tok kind);
/// An invalid token's text for an error: "character 'é' (U+00E9)", "byte
/// 0xFF (the file is not UTF-8)", "control character 0x01" or
/// "character '$'".
std::string describeCharacter(llvm::StringRef text);
/// True for the reserved words (`model`, `input`, `output`, `layer`, `for`,
/// `in`, `carry`, `yield`), which never name anything.
inline bool isKeyword(Tok kind) { return kind >= Tok::KwModel; }

} // namespace heed::dsl

#endif // HEED_FRONTENDS_DSL_LEXER_H
