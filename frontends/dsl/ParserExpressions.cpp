//===- ParserExpressions.cpp - Expressions of the model language ----------===//
//
// Part of Heed. Binary operators by precedence climbing over one table,
// unary minus, primaries (numbers, names, calls, parentheses, lists),
// Python-style indexing and call arguments.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/ParserImpl.h"
#include "runtime/Numbers.h"

using namespace heed::dsl;
using namespace heed::dsl::parser;

/// The binary operators, loosest first; one row per operator, read by
/// parseBinaryRHS (precedence climbing, as LLVM's Kaleidoscope parses
/// BinOpRHS). `op` is the Expr::op code. Comparisons do not chain: Python's
/// `a < b < c` means `a < b and b < c`, which no operator here computes.
namespace {
struct BinaryOperator {
  Tok token;
  char op;
  int precedence;
  bool chains;
};
} // namespace
static constexpr BinaryOperator kBinaryOperators[] = {
    {Tok::EqEq, CmpEq, 10, false},    {Tok::NotEq, CmpNe, 10, false},
    {Tok::Less, CmpLt, 10, false},    {Tok::LessEq, CmpLe, 10, false},
    {Tok::Greater, CmpGt, 10, false}, {Tok::GreaterEq, CmpGe, 10, false},
    {Tok::Plus, '+', 20, true},       {Tok::Minus, '-', 20, true},
    {Tok::Star, '*', 30, true},       {Tok::Slash, '/', 30, true},
    {Tok::At, '@', 30, true},
};

static const BinaryOperator *binaryOperator(const Token &tok) {
  for (const BinaryOperator &op : kBinaryOperators)
    if (tok.is(op.token))
      return &op;
  return nullptr;
}

std::unique_ptr<Expr> Parser::parseExpr() {
  auto lhs = parseUnary();
  return lhs ? parseBinaryRHS(0, std::move(lhs)) : nullptr;
}

std::unique_ptr<Expr> Parser::parseBinaryRHS(int minPrecedence,
                                             std::unique_ptr<Expr> lhs) {
  unsigned chained = 0;
  int lastNonChaining = -1;
  while (const BinaryOperator *op = binaryOperator(tok)) {
    if (op->precedence < minPrecedence)
      break;
    if (!op->chains && lastNonChaining == op->precedence)
      return leave(chained),
             error(tok.loc(), "comparisons do not chain; compare once and "
                              "combine the results with '*' (and)"),
             nullptr;
    // Each operator of a chain deepens the tree by one level.
    if (!enter(tok.loc()))
      return leave(chained + 1), nullptr;
    ++chained;
    auto bin = std::make_unique<Expr>(Expr::Kind::Binary, tok.loc());
    bin->op = op->op;
    consume();
    auto rhs = parseUnary();
    // Operators that bind tighter than `op` take the right operand first.
    const BinaryOperator *next = binaryOperator(tok);
    if (rhs && next && next->precedence > op->precedence)
      rhs = parseBinaryRHS(op->precedence + 1, std::move(rhs));
    if (!rhs)
      return leave(chained), nullptr;
    if (!op->chains)
      lastNonChaining = op->precedence;
    bin->args.push_back(std::move(lhs));
    bin->args.push_back(std::move(rhs));
    lhs = std::move(bin);
  }
  leave(chained);
  return lhs;
}

std::unique_ptr<Expr> Parser::parseUnary() {
  // Every nesting construct (parentheses, calls, brackets, minus) passes
  // through here.
  if (!enter(tok.loc()))
    return leave(), nullptr;
  std::unique_ptr<Expr> result;
  if (tok.is(Tok::Minus)) {
    auto neg = std::make_unique<Expr>(Expr::Kind::Neg, tok.loc());
    consume();
    auto operand = parseUnary();
    if (operand) {
      neg->args.push_back(std::move(operand));
      result = std::move(neg);
    }
  } else {
    result = parsePrimary();
  }
  leave();
  return result;
}

std::unique_ptr<Expr> Parser::parsePrimary() {
  SMLoc loc = tok.loc();
  switch (tok.kind) {
  case Tok::Int:
  case Tok::Float: {
    auto num = std::make_unique<Expr>(Expr::Kind::Number, loc);
    num->isInt = tok.is(Tok::Int);
    // The lexer took digits, '.' and an exponent: always a number.
    num->number = rt::parseDouble(tok.text).value_or(0.0);
    consume();
    return num;
  }
  case Tok::Ident: {
    auto e = std::make_unique<Expr>(Expr::Kind::Name, loc);
    e->name = tok.text.str();
    consume();
    if (tok.is(Tok::LParen)) {
      e->kind = Expr::Kind::Call;
      if (!parseCallArgs(*e))
        return nullptr;
    }
    return tok.is(Tok::LBracket) ? parseIndex(std::move(e)) : std::move(e);
  }
  case Tok::LParen: {
    consume();
    auto inner = parseExpr();
    if (!inner || !expect(Tok::RParen))
      return nullptr;
    return tok.is(Tok::LBracket) ? parseIndex(std::move(inner))
                                 : std::move(inner);
  }
  case Tok::LBracket: {
    auto list = std::make_unique<Expr>(Expr::Kind::List, loc);
    consume();
    if (!parseSeparated(Tok::RBracket, "',' or ']'", [&] {
          auto item = parseExpr();
          if (!item)
            return false;
          list->args.push_back(std::move(item));
          return true;
        }))
      return nullptr;
    return list;
  }
  default:
    return errorExpected("an expression"), nullptr;
  }
}

std::unique_ptr<Expr> Parser::parseIndex(std::unique_ptr<Expr> base) {
  auto e = std::make_unique<Expr>(Expr::Kind::Index, tok.loc());
  consume(); // '['
  e->args.push_back(std::move(base));
  bool parsed = parseSeparated(Tok::RBracket, "',' or ']'", [&] {
    SMLoc itemLoc = tok.loc();
    std::unique_ptr<Expr> start, stop;
    if (!tok.is(Tok::Colon) && !(start = parseExpr()))
      return false;
    if (!tok.is(Tok::Colon)) {
      e->args.push_back(std::move(start));
      return true;
    }
    consume();
    auto slice = std::make_unique<Expr>(Expr::Kind::Slice, itemLoc);
    if (!tok.is(Tok::Comma) && !tok.is(Tok::RBracket) && !(stop = parseExpr()))
      return false;
    slice->args.push_back(std::move(start));
    slice->args.push_back(std::move(stop));
    e->args.push_back(std::move(slice));
    return true;
  });
  if (!parsed)
    return nullptr;
  if (e->args.size() == 1)
    return error(e->loc, "an index needs at least one item: x[0] or x[:, 0]"),
           nullptr;
  return e;
}

bool Parser::parseCallArgs(Expr &call) {
  consume(); // '('
  return parseSeparated(Tok::RParen, "',' or ')' in the argument list", [&] {
    bool keyword = tok.is(Tok::Ident) && peekNext().is(Tok::Equal);
    if (keyword) {
      call.kwNames.push_back(tok.text.str());
      call.kwLocs.push_back(tok.loc());
      consume();
      consume();
    } else if (!call.kwArgs.empty()) {
      return error(tok.loc(), "positional argument after keyword argument");
    }
    auto value = parseExpr();
    if (!value)
      return false;
    (keyword ? call.kwArgs : call.args).push_back(std::move(value));
    return true;
  });
}
