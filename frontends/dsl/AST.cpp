//===- AST.cpp - Syntax tree of the Heed model language -------------------===//
//
// Part of Heed. Helpers and the `--emit=ast` printer.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/AST.h"
#include "runtime/Numbers.h"

#include <cmath>

using namespace heed::dsl;

std::string heed::dsl::shapeStr(const Shape &shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + shape[i].str();
  return s + "]";
}

const Expr *Expr::kwarg(llvm::StringRef key) const {
  for (size_t i = 0; i < kwNames.size(); ++i)
    if (kwNames[i] == key)
      return kwArgs[i].get();
  return nullptr;
}

bool heed::dsl::isComparison(char op) {
  return op == CmpEq || op == CmpNe || op == CmpLt || op == CmpLe ||
         op == CmpGt || op == CmpGe;
}

const char *heed::dsl::opSpelling(char op) {
  switch (op) {
  case '+': return "+";
  case '-': return "-";
  case '*': return "*";
  case '/': return "/";
  case '@': return "@";
  case CmpEq: return "==";
  case CmpNe: return "!=";
  case CmpLt: return "<";
  case CmpLe: return "<=";
  case CmpGt: return ">";
  case CmpGe: return ">=";
  }
  return "?";
}

Layer *Model::findLayer(llvm::StringRef name) const {
  for (auto &layer : layers)
    if (layer->name == name)
      return layer.get();
  return nullptr;
}

static void printExpr(const Expr &e, llvm::raw_ostream &os) {
  switch (e.kind) {
  case Expr::Kind::Number:
    if (e.isInt && std::fabs(e.number) < 9e18) // in int64: cast defined
      os << static_cast<int64_t>(e.number);
    else
      os << heed::rt::formatGeneral(e.number);
    return;
  case Expr::Kind::Name:
    os << e.name;
    return;
  case Expr::Kind::Neg:
    os << "(neg ";
    printExpr(*e.args[0], os);
    os << ")";
    return;
  case Expr::Kind::Binary:
    os << "(" << opSpelling(e.op) << " ";
    printExpr(*e.args[0], os);
    os << " ";
    printExpr(*e.args[1], os);
    os << ")";
    return;
  case Expr::Kind::Index:
    printExpr(*e.args[0], os);
    os << "[";
    for (size_t i = 1; i < e.args.size(); ++i) {
      if (i > 1)
        os << ", ";
      printExpr(*e.args[i], os);
    }
    os << "]";
    return;
  case Expr::Kind::Slice:
    if (e.args[0])
      printExpr(*e.args[0], os);
    os << ":";
    if (e.args[1])
      printExpr(*e.args[1], os);
    return;
  case Expr::Kind::List:
    os << "[";
    for (size_t i = 0; i < e.args.size(); ++i) {
      if (i)
        os << " ";
      printExpr(*e.args[i], os);
    }
    os << "]";
    return;
  case Expr::Kind::Call:
    os << "(call " << e.name;
    for (auto &a : e.args) {
      os << " ";
      printExpr(*a, os);
    }
    for (size_t i = 0; i < e.kwArgs.size(); ++i) {
      os << " " << e.kwNames[i] << "=";
      printExpr(*e.kwArgs[i], os);
    }
    os << ")";
    return;
  }
}

/// An input's or weight tensor's `[d, ...]` and the end of its line.
static void printShape(const Stmt &s, llvm::raw_ostream &os) {
  os << "[";
  for (size_t i = 0; i < s.shape.size(); ++i) {
    if (i)
      os << ", ";
    printExpr(*s.shape[i], os);
  }
  os << "]\n";
}

static void printStmt(const Stmt &s, unsigned indent, llvm::raw_ostream &os) {
  os.indent(indent);
  auto names = [&] {
    for (size_t i = 0; i < s.names.size(); ++i)
      os << (i ? ", " : "") << s.names[i];
  };
  switch (s.kind) {
  case Stmt::Kind::Input:
    os << "Input " << s.names[0] << " "
       << (s.elementType == "f32" ? "" : s.elementType);
    printShape(s, os);
    return;
  case Stmt::Kind::Weight:
    os << "Parameter " << s.names[0] << " ";
    printShape(s, os);
    return;
  case Stmt::Kind::Layer:
    os << "Layer " << s.names[0] << " = ";
    printExpr(*s.layer->decl, os);
    os << "\n";
    return;
  case Stmt::Kind::Assign:
    os << "Assign ";
    names();
    os << " = ";
    printExpr(*s.value, os);
    os << "\n";
    return;
  case Stmt::Kind::Output:
    os << "Output " << s.names[0] << " = ";
    printExpr(*s.value, os);
    os << "\n";
    return;
  case Stmt::Kind::Yield:
    os << "Yield " << s.names[0] << " = ";
    printExpr(*s.value, os);
    os << "\n";
    return;
  case Stmt::Kind::Score:
    os << "Score " << s.names[0] << "(";
    for (size_t i = 0; i < s.score->params.size(); ++i)
      os << (i ? ", " : "") << s.score->params[i];
    os << ") = ";
    printExpr(*s.score->body, os);
    os << "\n";
    return;
  case Stmt::Kind::For:
    os << "For " << s.names[0] << " in range(";
    printExpr(*s.value, os);
    os << ")";
    for (size_t i = 0; i < s.carryNames.size(); ++i) {
      os << (i ? ", " : " carry ") << s.carryNames[i] << " = ";
      printExpr(*s.carryInits[i], os);
    }
    if (s.beamWidth) {
      os << " beam ";
      printExpr(*s.beamWidth, os);
      if (s.lengthPenalty) {
        os << " length_penalty ";
        printExpr(*s.lengthPenalty, os);
      }
    }
    if (s.until) {
      os << " until ";
      printExpr(*s.until, os);
      if (!s.lengthsName.empty())
        os << " lengths " << s.lengthsName;
      if (!s.scoresName.empty())
        os << " scores " << s.scoresName;
    }
    os << "\n";
    for (auto &inner : s.body)
      printStmt(*inner, indent + 2, os);
    return;
  }
}

void heed::dsl::printAST(const Model &model, llvm::raw_ostream &os) {
  os << "Model " << model.name << "\n";
  for (auto &p : model.params) {
    os << "  Param " << p.name << " = ";
    printExpr(*p.value, os);
    os << "\n";
  }
  for (auto &s : model.stmts)
    printStmt(*s, 2, os);
}
