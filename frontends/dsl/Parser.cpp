//===- Parser.cpp - Recursive-descent parser for model files --------------===//
//
// Part of Heed. Grammar (docs/language.md has the full description):
//
//   model   := 'model' IDENT ['(' param {',' param} ')'] stmt*
//   stmt    := 'input' IDENT ':' ['f32'|'i64'|'i32'|'bool'] '[' expr {',' expr}
//   ']'
//            | 'parameter' IDENT ':' '[' expr {',' expr} ']'
//            | 'layer' IDENT '=' call
//            | 'score' IDENT '(' IDENT {',' IDENT} ')' '=' expr
//            | 'output' IDENT ['=' expr]
//            | 'for' IDENT 'in' 'range' '(' expr ')'
//                  ['carry' '(' IDENT '=' expr {',' IDENT '=' expr} ')']
//                  ['beam' '(' expr [',' 'length_penalty' '=' expr] ')']
//                  ['until' expr ['lengths' IDENT] ['scores' IDENT]]
//                  '{' stmt* '}'
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

#include "frontends/dsl/ParserImpl.h"

using namespace heed::dsl;
using namespace heed::dsl::parser;

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
    if (tok.is(Tok::Ident) && tok.text == "weights" &&
        peekNext().is(Tok::Ident)) {
      consume();
      if (tok.text != "keras" && tok.text != "pytorch")
        return error(tok.loc(), "weight layout must be 'pytorch' or 'keras', "
                                "not '" +
                                    tok.text + "'"),
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
    s->names.push_back(name);
    s->nameLocs.push_back(nameLoc);
    if (!parseShape(*s, loc, "input"))
      return nullptr;
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
    // `beam`, `until`, `lengths` and `scores` are contextual: still usable
    // as tensor names.
    if (tok.is(Tok::Ident) && tok.text == "beam") {
      s->beamLoc = tok.loc();
      consume();
      if (!expect(Tok::LParen, "'(' and the beam width after 'beam'"))
        return nullptr;
      s->beamWidth = parseExpr();
      if (!s->beamWidth)
        return nullptr;
      if (tok.is(Tok::Comma)) {
        consume();
        if (!tok.is(Tok::Ident) || tok.text != "length_penalty")
          return errorExpected("'length_penalty=' or ')'"), nullptr;
        consume();
        if (!expect(Tok::Equal, "'=' after 'length_penalty'"))
          return nullptr;
        s->lengthPenalty = parseExpr();
        if (!s->lengthPenalty)
          return nullptr;
      }
      if (!expect(Tok::RParen, "')' to close 'beam ('"))
        return nullptr;
      if (!tok.is(Tok::Ident) || tok.text != "until")
        return errorExpected("'until' after 'beam (...)': a beam search "
                             "stops its hypotheses with a condition"),
               nullptr;
    }
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
      if (tok.is(Tok::Ident) && tok.text == "scores") {
        consume();
        if (!expectIdent(s->scoresName, s->scoresLoc,
                         "a name for the best hypotheses' scores"))
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
      !expect(Tok::Colon, "':' and a shape after the weight tensor's name"))
    return nullptr;
  s->names.push_back(name);
  s->nameLocs.push_back(nameLoc);
  if (!parseShape(*s, loc, "weight tensor"))
    return nullptr;
  return s;
}

bool Parser::parseShape(Stmt &s, SMLoc loc, const char *what) {
  std::string expected = std::string("'[' to start the ") + what + " shape";
  if (!expect(Tok::LBracket, expected.c_str()))
    return false;
  if (!parseSeparated(Tok::RBracket, "',' or ']'", [&] {
        auto dim = parseExpr();
        if (!dim)
          return false;
        s.shape.push_back(std::move(dim));
        return true;
      }))
    return false;
  if (s.shape.empty())
    return error(loc, llvm::Twine(what) + " '" + s.names[0] +
                          "' needs at least one dimension");
  return true;
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

std::unique_ptr<Model> heed::dsl::parseModel(llvm::SourceMgr &sourceMgr) {
  Parser parser(sourceMgr);
  return parser.parseModel();
}
