//===- Lexer.cpp - Tokens of the Heed model language ----------------------===//
//
// Part of Heed. Newlines are whitespace; `#` starts a comment to end of line.
// Identifiers may be dotted module paths (`decoder.attention.W1`).
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Lexer.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/FormatVariadic.h"
#include <cctype>

using namespace heed::dsl;

Token Lexer::next() {
  // Skip whitespace and comments.
  while (cur != end) {
    if (std::isspace(static_cast<unsigned char>(*cur))) {
      ++cur;
    } else if (*cur == '#') {
      while (cur != end && *cur != '\n')
        ++cur;
    } else {
      break;
    }
  }
  const char *start = cur;
  if (cur == end)
    return Token{Tok::Eof, llvm::StringRef(cur, 0)};

  char c = *cur++;
  if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
    auto isWordChar = [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_';
    };
    while (cur != end && isWordChar(*cur))
      ++cur;
    // A dotted module path (`decoder.attention.W1`, `layers.0.self_attn`)
    // is one identifier: PyTorch names weights by the module tree.
    while (cur != end && *cur == '.' && cur + 1 != end && isWordChar(cur[1])) {
      cur += 2;
      while (cur != end && isWordChar(*cur))
        ++cur;
    }
    llvm::StringRef word(start, cur - start);
    Tok kind = llvm::StringSwitch<Tok>(word)
                   .Case("model", Tok::KwModel)
                   .Case("input", Tok::KwInput)
                   .Case("output", Tok::KwOutput)
                   .Case("layer", Tok::KwLayer)
                   .Case("for", Tok::KwFor)
                   .Case("in", Tok::KwIn)
                   .Case("carry", Tok::KwCarry)
                   .Case("yield", Tok::KwYield)
                   .Default(Tok::Ident);
    return make(kind, start);
  }
  if (std::isdigit(static_cast<unsigned char>(c)) ||
      (c == '.' && cur != end && std::isdigit(static_cast<unsigned char>(*cur)))) {
    bool isFloat = c == '.';
    while (cur != end && std::isdigit(static_cast<unsigned char>(*cur)))
      ++cur;
    if (cur != end && *cur == '.' && !isFloat) {
      isFloat = true;
      ++cur;
      while (cur != end && std::isdigit(static_cast<unsigned char>(*cur)))
        ++cur;
    }
    if (cur != end && (*cur == 'e' || *cur == 'E')) {
      const char *save = cur++;
      if (cur != end && (*cur == '+' || *cur == '-'))
        ++cur;
      if (cur != end && std::isdigit(static_cast<unsigned char>(*cur))) {
        isFloat = true;
        while (cur != end && std::isdigit(static_cast<unsigned char>(*cur)))
          ++cur;
      } else {
        cur = save;
      }
    }
    return make(isFloat ? Tok::Float : Tok::Int, start);
  }
  switch (c) {
  case '(': return make(Tok::LParen, start);
  case ')': return make(Tok::RParen, start);
  case '[': return make(Tok::LBracket, start);
  case ']': return make(Tok::RBracket, start);
  case '{': return make(Tok::LBrace, start);
  case '}': return make(Tok::RBrace, start);
  case ',': return make(Tok::Comma, start);
  case ':': return make(Tok::Colon, start);
  case '=':
    if (cur != end && *cur == '=') {
      ++cur;
      return make(Tok::EqEq, start);
    }
    return make(Tok::Equal, start);
  case '!':
    if (cur != end && *cur == '=') {
      ++cur;
      return make(Tok::NotEq, start);
    }
    return make(Tok::Error, start);
  case '<':
  case '>': {
    bool orEqual = cur != end && *cur == '=';
    if (orEqual)
      ++cur;
    if (c == '<')
      return make(orEqual ? Tok::LessEq : Tok::Less, start);
    return make(orEqual ? Tok::GreaterEq : Tok::Greater, start);
  }
  case '+': return make(Tok::Plus, start);
  case '*': return make(Tok::Star, start);
  case '/': return make(Tok::Slash, start);
  case '@': return make(Tok::At, start);
  case '-':
    if (cur != end && *cur == '>') {
      ++cur;
      return make(Tok::Arrow, start);
    }
    return make(Tok::Minus, start);
  default:
    // A character outside the language: all of it when it is UTF-8, so
    // that the error shows it whole.
    if (static_cast<unsigned char>(c) >= 0x80) {
      auto *first = reinterpret_cast<const llvm::UTF8 *>(start);
      unsigned n = llvm::getNumBytesForUTF8(*first);
      if (n > 1 && n <= size_t(end - start) &&
          llvm::isLegalUTF8Sequence(first, first + n))
        cur = start + n;
    }
    return make(Tok::Error, start);
  }
}

std::string heed::dsl::describeCharacter(llvm::StringRef text) {
  unsigned char byte = text.empty() ? 0 : text[0];
  if (text.size() > 1) { // a whole UTF-8 character (the lexer checked it)
    auto *from = reinterpret_cast<const llvm::UTF8 *>(text.data());
    llvm::UTF32 code = 0, *to = &code;
    llvm::ConvertUTF8toUTF32(&from, from + text.size(), &to, &code + 1,
                             llvm::strictConversion);
    return llvm::formatv("character '{0}' (U+{1:X-4})", text, unsigned(code))
        .str();
  }
  if (byte >= 0x80)
    return llvm::formatv("byte 0x{0:X-2} (the file is not UTF-8)",
                         unsigned(byte))
        .str();
  if (byte < 0x20 || byte == 0x7f)
    return llvm::formatv("control character 0x{0:X-2}", unsigned(byte)).str();
  return "character '" + text.str() + "'";
}

const char *heed::dsl::tokenName(Tok kind) {
  switch (kind) {
  case Tok::Eof: return "end of file";
  case Tok::Error: return "invalid character";
  case Tok::Ident: return "identifier";
  case Tok::Int: return "integer";
  case Tok::Float: return "number";
  case Tok::LParen: return "'('";
  case Tok::RParen: return "')'";
  case Tok::LBracket: return "'['";
  case Tok::RBracket: return "']'";
  case Tok::LBrace: return "'{'";
  case Tok::RBrace: return "'}'";
  case Tok::Comma: return "','";
  case Tok::Colon: return "':'";
  case Tok::Equal: return "'='";
  case Tok::Plus: return "'+'";
  case Tok::Minus: return "'-'";
  case Tok::Star: return "'*'";
  case Tok::Slash: return "'/'";
  case Tok::At: return "'@'";
  case Tok::Arrow: return "'->'";
  case Tok::EqEq: return "'=='";
  case Tok::NotEq: return "'!='";
  case Tok::Less: return "'<'";
  case Tok::LessEq: return "'<='";
  case Tok::Greater: return "'>'";
  case Tok::GreaterEq: return "'>='";
  case Tok::KwModel: return "'model'";
  case Tok::KwInput: return "'input'";
  case Tok::KwOutput: return "'output'";
  case Tok::KwLayer: return "'layer'";
  case Tok::KwFor: return "'for'";
  case Tok::KwIn: return "'in'";
  case Tok::KwCarry: return "'carry'";
  case Tok::KwYield: return "'yield'";
  }
  return "token";
}
