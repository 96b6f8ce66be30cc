//===- Parser.cpp - Recursive-descent parser for model files --------------===//
//
// Part of Heed. Grammar (docs/language.md has the full description):
//
//   model   := 'model' IDENT ['(' param {',' param} ')'] stmt*
//   stmt    := 'input' IDENT ':' ['f32'|'i64'|'i32'|'bool'] '[' expr {',' expr} ']'
//            | 'parameter' IDENT ':' '[' expr {',' expr} ']'
//            | 'layer' IDENT '=' call
//            | 'score' IDENT '(' IDENT {',' IDENT} ')' '=' expr
//            | 'output' IDENT ['=' expr]
//            | 'for' IDENT 'in' 'range' '(' expr ')'
//                  ['carry' '(' IDENT '=' expr {',' IDENT '=' expr} ')']
//                  ['until' expr ['lengths' IDENT]] '{' stmt* '}'
//            | 'yield' IDENT '=' expr
//            | IDENT {',' IDENT} '=' expr
//   expr    := unary {binop unary}       precedence from kBinaryOperators:
//              ('==' '!=' '<' '<=' '>' '>=') < ('+' '-') < ('*' '/' '@')
//   unary   := '-' unary | primary
//   primary := NUMBER | (IDENT | call | '(' expr ')') [index]
//            | '[' [expr {',' expr}] ']'
//   index   := '[' item {',' item} ']'     item := expr | [expr] ':' [expr]
//   call    := IDENT '(' [arg {',' arg}] ')'     arg := [IDENT '='] expr
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/Parser.h"
#include "runtime/Limits.h"
#include "frontends/dsl/Lexer.h"

#include "llvm/ADT/Twine.h"

using namespace heed::dsl;
using llvm::SMLoc;

namespace {

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
      return error(tok.loc(), "unexpected character '" + tok.text + "'");
    return error(tok.loc(), "expected " + what + ", found " +
                                (tok.is(Tok::Eof) ? llvm::StringRef("end of file")
                                                  : tok.text));
  }
  bool expect(Tok kind, const char *what = nullptr) {
    if (!tok.is(kind))
      return errorExpected(what ? what : tokenName(kind));
    consume();
    return true;
  }
  bool expectIdent(std::string &name, SMLoc &loc, const char *what) {
    if (isKeyword(tok.kind))
      return error(tok.loc(), "'" + tok.text + "' is a reserved word and "
                              "cannot be used as a " + what +
                              " (docs/language.md lists the reserved words)");
    if (!tok.is(Tok::Ident))
      return errorExpected(what);
    name = tok.text.str();
    loc = tok.loc();
    consume();
    return true;
  }

  std::unique_ptr<Stmt> parseStmt(Model &model, bool inLoop);
  std::unique_ptr<Stmt> parseScoreDef(Model &model, bool inLoop);
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

} // namespace

std::unique_ptr<Model> Parser::parseModel() {
  auto model = std::make_unique<Model>();
  model->loc = tok.loc();
  if (!expect(Tok::KwModel, "'model' at the start of the file"))
    return nullptr;
  SMLoc nameLoc;
  if (!expectIdent(model->name, nameLoc, "model name"))
    return nullptr;
  if (tok.is(Tok::LParen)) {
    consume();
    while (!tok.is(Tok::RParen)) {
      Param p;
      if (!expectIdent(p.name, p.loc, "parameter name") ||
          !expect(Tok::Equal, "'=' after the parameter name"))
        return nullptr;
      p.value = parseExpr();
      if (!p.value)
        return nullptr;
      model->params.push_back(std::move(p));
      if (tok.is(Tok::Comma))
        consume();
      else if (!tok.is(Tok::RParen))
        return errorExpected("',' or ')'"), nullptr;
    }
    consume();
  }
  while (!tok.is(Tok::Eof)) {
    // `weights keras`: the weight file uses Keras names and layouts.
    if (tok.is(Tok::Ident) && tok.text == "weights" && peekNext().is(Tok::Ident)) {
      consume();
      if (tok.text != "keras" && tok.text != "pytorch")
        return error(tok.loc(), "weight layout must be 'pytorch' or 'keras', "
                                "not '" + tok.text + "'"),
               nullptr;
      model->weightLayout = tok.text;
      consume();
      continue;
    }
    auto stmt = parseStmt(*model, /*inLoop=*/false);
    if (!stmt)
      return nullptr;
    model->stmts.push_back(std::move(stmt));
  }
  return model;
}

std::unique_ptr<Stmt> Parser::parseStmt(Model &model, bool inLoop) {
  SMLoc loc = tok.loc();
  switch (tok.kind) {
  case Tok::KwInput: {
    if (inLoop)
      return error(loc, "'input' is only allowed at model level"), nullptr;
    consume();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Input, loc);
    std::string name;
    SMLoc nameLoc;
    if (!expectIdent(name, nameLoc, "input name") ||
        !expect(Tok::Colon, "':' and a shape after the input name"))
      return nullptr;
    // An optional element type before the shape: `x: f32[B, T]`,
    // `ids: i64[B, T]`.
    if (tok.is(Tok::Ident)) {
      if (tok.text != "f32" && tok.text != "i64" && tok.text != "i32" &&
          tok.text != "bool")
        return error(tok.loc(), "input element type '" + tok.text +
                                    "' is not supported (f32, the default; "
                                    "i64, i32 or bool for ids, lengths and "
                                    "masks)"),
               nullptr;
      s->elementType = tok.text;
      consume();
    }
    if (!expect(Tok::LBracket, "'[' to start the input shape"))
      return nullptr;
    s->names.push_back(name);
    s->nameLocs.push_back(nameLoc);
    while (!tok.is(Tok::RBracket)) {
      auto dim = parseExpr();
      if (!dim)
        return nullptr;
      s->shape.push_back(std::move(dim));
      if (tok.is(Tok::Comma))
        consume();
      else if (!tok.is(Tok::RBracket))
        return errorExpected("',' or ']'"), nullptr;
    }
    consume();
    if (s->shape.empty())
      return error(loc, "input '" + name + "' needs at least one dimension"),
             nullptr;
    return s;
  }
  case Tok::KwLayer: {
    if (inLoop)
      return error(loc, "layers are declared at model level so their weights "
                        "are shared by every step"),
             nullptr;
    consume();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Layer, loc);
    auto layer = std::make_unique<Layer>();
    if (!expectIdent(layer->name, layer->loc, "layer name") ||
        !expect(Tok::Equal, "'=' after the layer name"))
      return nullptr;
    if (!tok.is(Tok::Ident) || !peekNext().is(Tok::LParen))
      return errorExpected("a layer kind such as 'dense(...)'"), nullptr;
    layer->decl = parsePrimary();
    if (!layer->decl)
      return nullptr;
    s->names.push_back(layer->name);
    s->nameLocs.push_back(layer->loc);
    s->layer = layer.get();
    model.layers.push_back(std::move(layer));
    return s;
  }
  case Tok::KwOutput: {
    if (inLoop)
      return error(loc, "'output' is only allowed at model level; use 'yield' "
                        "to stack a value over the steps of a loop"),
             nullptr;
    consume();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Output, loc);
    std::string name;
    SMLoc nameLoc;
    if (!expectIdent(name, nameLoc, "output name"))
      return nullptr;
    s->names.push_back(name);
    s->nameLocs.push_back(nameLoc);
    if (tok.is(Tok::Equal)) {
      consume();
      s->value = parseExpr();
    } else {
      auto ref = std::make_unique<Expr>(Expr::Kind::Name, nameLoc);
      ref->name = name;
      s->value = std::move(ref);
    }
    return s->value ? std::move(s) : nullptr;
  }
  case Tok::KwYield: {
    if (!inLoop)
      return error(loc, "'yield' is only allowed inside a 'for' loop"), nullptr;
    consume();
    auto s = std::make_unique<Stmt>(Stmt::Kind::Yield, loc);
    std::string name;
    SMLoc nameLoc;
    if (!expectIdent(name, nameLoc, "name of the stacked value") ||
        !expect(Tok::Equal, "'=' after the stacked value's name"))
      return nullptr;
    s->names.push_back(name);
    s->nameLocs.push_back(nameLoc);
    s->value = parseExpr();
    return s->value ? std::move(s) : nullptr;
  }
  case Tok::KwFor: {
    consume();
    auto s = std::make_unique<Stmt>(Stmt::Kind::For, loc);
    std::string var;
    SMLoc varLoc;
    if (!expectIdent(var, varLoc, "loop variable") ||
        !expect(Tok::KwIn, "'in' after the loop variable"))
      return nullptr;
    s->names.push_back(var);
    s->nameLocs.push_back(varLoc);
    if (!tok.is(Tok::Ident) || tok.text != "range")
      return errorExpected("'range(count)'"), nullptr;
    consume();
    if (!expect(Tok::LParen))
      return nullptr;
    s->value = parseExpr();
    if (!s->value || !expect(Tok::RParen))
      return nullptr;
    if (tok.is(Tok::KwCarry)) {
      consume();
      if (!expect(Tok::LParen, "'(' after 'carry'"))
        return nullptr;
      while (!tok.is(Tok::RParen)) {
        std::string name;
        SMLoc nameLoc;
        if (!expectIdent(name, nameLoc, "carried state name") ||
            !expect(Tok::Equal, "'=' and an initial value"))
          return nullptr;
        auto init = parseExpr();
        if (!init)
          return nullptr;
        s->carryNames.push_back(name);
        s->carryLocs.push_back(nameLoc);
        s->carryInits.push_back(std::move(init));
        if (tok.is(Tok::Comma))
          consume();
        else if (!tok.is(Tok::RParen))
          return errorExpected("',' or ')'"), nullptr;
      }
      consume();
    }
    // `until` and `lengths` are contextual: still usable as tensor names.
    if (tok.is(Tok::Ident) && tok.text == "until") {
      consume();
      s->until = parseExpr();
      if (!s->until)
        return nullptr;
      if (tok.is(Tok::Ident) && tok.text == "lengths") {
        consume();
        if (!expectIdent(s->lengthsName, s->lengthsLoc,
                         "a name for the per-row lengths"))
          return nullptr;
      }
    }
    if (!expect(Tok::LBrace, "'{' to open the loop body"))
      return nullptr;
    if (!enter(loc))
      return leave(), nullptr;
    while (!tok.is(Tok::RBrace)) {
      if (tok.is(Tok::Eof))
        return leave(), error(loc, "loop body is not closed with '}'"), nullptr;
      auto inner = parseStmt(model, /*inLoop=*/true);
      if (!inner)
        return leave(), nullptr;
      s->body.push_back(std::move(inner));
    }
    leave();
    consume();
    return s;
  }
  case Tok::Ident: {
    // `score NAME(params) = expr`; `score` stays usable as a tensor name.
    if (tok.text == "score" && peekNext().is(Tok::Ident))
      return parseScoreDef(model, inLoop);
    // `parameter NAME: [dims]`; contextual too.
    if (tok.text == "parameter" && peekNext().is(Tok::Ident))
      return parseWeightTensor(inLoop);
    auto s = std::make_unique<Stmt>(Stmt::Kind::Assign, loc);
    while (true) {
      std::string name;
      SMLoc nameLoc;
      if (!expectIdent(name, nameLoc, "name"))
        return nullptr;
      s->names.push_back(name);
      s->nameLocs.push_back(nameLoc);
      if (!tok.is(Tok::Comma))
        break;
      consume();
    }
    if (!expect(Tok::Equal, "'=' in an assignment"))
      return nullptr;
    s->value = parseExpr();
    return s->value ? std::move(s) : nullptr;
  }
  default:
    return errorExpected("a statement ('input', 'layer', 'output', 'for' or "
                         "an assignment)"),
           nullptr;
  }
}

std::unique_ptr<Stmt> Parser::parseWeightTensor(bool inLoop) {
  SMLoc loc = tok.loc();
  if (inLoop)
    return error(loc, "weight tensors are declared at model level"), nullptr;
  consume(); // 'parameter'
  auto s = std::make_unique<Stmt>(Stmt::Kind::Weight, loc);
  std::string name;
  SMLoc nameLoc;
  if (!expectIdent(name, nameLoc, "weight tensor name") ||
      !expect(Tok::Colon, "':' and a shape after the weight tensor's name") ||
      !expect(Tok::LBracket, "'[' to start the weight tensor's shape"))
    return nullptr;
  s->names.push_back(name);
  s->nameLocs.push_back(nameLoc);
  while (!tok.is(Tok::RBracket)) {
    auto dim = parseExpr();
    if (!dim)
      return nullptr;
    s->shape.push_back(std::move(dim));
    if (tok.is(Tok::Comma))
      consume();
    else if (!tok.is(Tok::RBracket))
      return errorExpected("',' or ']'"), nullptr;
  }
  consume();
  if (s->shape.empty())
    return error(loc, "weight tensor '" + name +
                          "' needs at least one dimension"),
           nullptr;
  return s;
}

std::unique_ptr<Stmt> Parser::parseScoreDef(Model &model, bool inLoop) {
  SMLoc loc = tok.loc();
  if (inLoop)
    return error(loc, "score functions are defined at model level"), nullptr;
  consume(); // 'score'
  auto s = std::make_unique<Stmt>(Stmt::Kind::Score, loc);
  auto def = std::make_unique<ScoreDef>();
  if (!expectIdent(def->name, def->loc, "score function name") ||
      !expect(Tok::LParen, "'(' and the score's parameters"))
    return nullptr;
  while (!tok.is(Tok::RParen)) {
    std::string param;
    SMLoc paramLoc;
    if (!expectIdent(param, paramLoc, "parameter name"))
      return nullptr;
    def->params.push_back(param);
    def->paramLocs.push_back(paramLoc);
    if (tok.is(Tok::Comma))
      consume();
    else if (!tok.is(Tok::RParen))
      return errorExpected("',' or ')'"), nullptr;
  }
  consume();
  if (!expect(Tok::Equal, "'=' and the score expression"))
    return nullptr;
  def->body = parseExpr();
  if (!def->body)
    return nullptr;
  s->names.push_back(def->name);
  s->nameLocs.push_back(def->loc);
  s->score = def.get();
  model.scores.push_back(std::move(def));
  return s;
}

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
    {Tok::EqEq, CmpEq, 10, false},     {Tok::NotEq, CmpNe, 10, false},
    {Tok::Less, CmpLt, 10, false},     {Tok::LessEq, CmpLe, 10, false},
    {Tok::Greater, CmpGt, 10, false},  {Tok::GreaterEq, CmpGe, 10, false},
    {Tok::Plus, '+', 20, true},        {Tok::Minus, '-', 20, true},
    {Tok::Star, '*', 30, true},        {Tok::Slash, '/', 30, true},
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
    num->number = std::strtod(tok.text.str().c_str(), nullptr);
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
    while (!tok.is(Tok::RBracket)) {
      auto item = parseExpr();
      if (!item)
        return nullptr;
      list->args.push_back(std::move(item));
      if (tok.is(Tok::Comma))
        consume();
      else if (!tok.is(Tok::RBracket))
        return errorExpected("',' or ']'"), nullptr;
    }
    consume();
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
  while (!tok.is(Tok::RBracket)) {
    SMLoc itemLoc = tok.loc();
    std::unique_ptr<Expr> start, stop;
    if (!tok.is(Tok::Colon)) {
      start = parseExpr();
      if (!start)
        return nullptr;
    }
    if (tok.is(Tok::Colon)) {
      consume();
      auto slice = std::make_unique<Expr>(Expr::Kind::Slice, itemLoc);
      if (!tok.is(Tok::Comma) && !tok.is(Tok::RBracket)) {
        stop = parseExpr();
        if (!stop)
          return nullptr;
      }
      slice->args.push_back(std::move(start));
      slice->args.push_back(std::move(stop));
      e->args.push_back(std::move(slice));
    } else {
      e->args.push_back(std::move(start));
    }
    if (tok.is(Tok::Comma))
      consume();
    else if (!tok.is(Tok::RBracket))
      return errorExpected("',' or ']'"), nullptr;
  }
  consume();
  if (e->args.size() == 1)
    return error(e->loc, "an index needs at least one item: x[0] or x[:, 0]"),
           nullptr;
  return e;
}

bool Parser::parseCallArgs(Expr &call) {
  consume(); // '('
  while (!tok.is(Tok::RParen)) {
    if (tok.is(Tok::Ident) && peekNext().is(Tok::Equal)) {
      call.kwNames.push_back(tok.text.str());
      call.kwLocs.push_back(tok.loc());
      consume();
      consume();
      auto value = parseExpr();
      if (!value)
        return false;
      call.kwArgs.push_back(std::move(value));
    } else {
      if (!call.kwArgs.empty())
        return error(tok.loc(), "positional argument after keyword argument");
      auto value = parseExpr();
      if (!value)
        return false;
      call.args.push_back(std::move(value));
    }
    if (tok.is(Tok::Comma))
      consume();
    else if (!tok.is(Tok::RParen))
      return errorExpected("',' or ')' in the argument list");
  }
  consume();
  return true;
}

std::unique_ptr<Model> heed::dsl::parseModel(llvm::SourceMgr &sourceMgr) {
  Parser parser(sourceMgr);
  return parser.parseModel();
}
