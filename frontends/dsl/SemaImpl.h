//===- SemaImpl.h - The semantic checker's class ----------------*- C++ -*-===//
//
// Part of Heed. The Sema class shared by the files that check one concern
// each: Sema.cpp (names, numbers, shapes, expressions), SemaStatements.cpp
// (statements and loops), SemaLayers.cpp (layer declarations, layer calls
// and weights), SemaBuiltins.cpp (built-in functions, indexing) and
// SemaAttention.cpp (attention, score functions, multi-head attention) and
// SemaShapes.cpp (reshape, stack, arange, sequence_mask); SemaWeights.cpp
// lists the weights of a checked model.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_FRONTENDS_DSL_SEMAIMPL_H
#define HEED_FRONTENDS_DSL_SEMAIMPL_H

#include "frontends/dsl/Sema.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/Twine.h"

#include <optional>
#include <string>

namespace heed::dsl::sema {

using llvm::SMLoc;
using llvm::Twine;

/// What a name stands for.
struct Symbol {
  /// Weight: a bare parameter (`parameter v_a: [128]`), a tensor bound from
  /// the checkpoint that cannot be rebound.
  /// Word: a header parameter whose value is a word (`NORM = softmax`).
  enum class Kind { Number, Tensor, Layer, LoopVar, Score, Weight, Word };
  Kind kind;
  double number = 0;
  std::string word;
  Shape shape;
  Layer *layer = nullptr;
  ScoreDef *score = nullptr;
};

class Sema {
public:
  Sema(Model &model, llvm::SourceMgr &sm, const ParamOverrides &params)
      : model(model), sm(sm), overrides(params) {}
  bool run();

private:
  bool error(SMLoc loc, const Twine &msg) {
    sm.PrintMessage(loc, llvm::SourceMgr::DK_Error, msg);
    return false;
  }
  /// A note after an error (returns false, as the error did).
  bool note(SMLoc loc, const Twine &msg) {
    sm.PrintMessage(loc, llvm::SourceMgr::DK_Note, msg);
    return false;
  }

  bool checkStmt(Stmt &s);
  bool checkFor(Stmt &s);
  /// The `until` part of a loop, checked after its body.
  bool
  checkStoppingLoop(Stmt &s, const std::vector<Shape> &carried,
                    const std::vector<std::pair<std::string, Shape>> &yields);
  bool checkLayerDecl(Layer &layer);
  bool checkRecurrentDecl(Layer &layer, Expr &decl, bool wrapped);
  bool checkSequenceLayerCall(Expr &e, Layer &layer);
  bool checkBody(std::vector<std::unique_ptr<Stmt>> &body,
                 std::vector<std::pair<std::string, Shape>> &yields);
  /// A loop's `beam (width, length_penalty=...)`, before its body.
  bool checkBeamHeader(Stmt &s, const std::vector<Shape> &carried);
  /// `choose(logprobs)`, allowed only as `token = choose(...)` in the body
  /// of the innermost loop with a beam.
  bool checkChoose(Expr &e);
  /// The innermost loop being checked, when it has a beam; the call that
  /// checkBody found as `NAME = choose(...)` in its body, and how many.
  Stmt *beamLoop = nullptr;
  const Expr *chooseSite = nullptr;
  int chooseCount = 0;
  std::optional<int64_t> intKwarg(const Expr &call, llvm::StringRef name,
                                  int64_t defaultValue,
                                  size_t position = SIZE_MAX);
  /// A positive number given by keyword (`eps=1e-5`), else `defaultValue`.
  bool positiveKwarg(const Expr &call, llvm::StringRef name,
                     double defaultValue, double &slot);
  bool fixInFeatures(Layer &layer, const Expr &arg, int64_t size);
  /// Evaluates a compile-time number (parameters, dims, counts).
  std::optional<double> evalNumber(const Expr &e, bool quiet = false);
  std::optional<int64_t> evalInt(const Expr &e, const Twine &what);
  /// Types a tensor-valued expression into `e.type`.
  bool checkTensor(Expr &e);
  bool checkTensorKind(Expr &e);
  bool checkCall(Expr &e);
  bool checkLayerCall(Expr &e, Layer &layer);
  bool checkBuiltinCall(Expr &e);
  bool checkAttention(Expr &e);
  bool checkIndex(Expr &e);
  /// An index bound as scale · (loop variable) + offset; `var` is empty for
  /// a compile-time number. Errors are reported.
  struct LoopAffine {
    std::string var;
    int64_t scale = 0, offset = 0;
  };
  std::optional<LoopAffine> loopAffine(const Expr &x);
  bool mentionsLoopVar(const Expr &x);
  /// For an index bound written with the symbolic dimension `symbol`
  /// (`S`, `S - 1`): how many steps before the end it is.
  std::optional<int64_t> stepsBeforeEnd(const Expr &x, llvm::StringRef symbol);
  /// `a @ b`: NumPy's matmul (1-D operands, broadcast batch axes).
  bool checkMatmul(Expr &e);
  /// reshape, stack, arange, sequence_mask (SemaShapes.cpp).
  bool checkShapeBuiltin(Expr &e);
  bool checkReshape(Expr &e);
  /// An option value written as a name (`padding=same`, `merge=MERGE`):
  /// the name, or the value of the word parameter it names; nullopt (and no
  /// error) for anything else.
  std::optional<std::string> wordOf(const Expr &x);
  /// Reports an option value `x` that is not one of those `expected`
  /// describes, saying what it was (and which parameter gave it).
  bool badWord(const Expr &x, const Twine &expected);
  /// Defines header parameter `p` from its default or its override.
  bool defineParam(Param &p);
  /// topk, cumsum, max_pool1d, avg_pool1d (SemaScans.cpp).
  bool checkScanBuiltin(Expr &e);
  /// A size argument: a number, a parameter or a symbolic dimension (and
  /// -1, returned as known(-1), where `allowInfer`).
  std::optional<Dim> sizeArg(const Expr &a, bool allowInfer);
  bool checkMultiHeadCall(Expr &e, Layer &layer);
  /// Types a score function's body for the given row shapes.
  bool checkScoreBody(ScoreDef &def, const std::vector<Shape> &rows,
                      SMLoc useLoc);
  /// Records that input `arg` (when it is an input) must hold integers in
  /// [min, max + maxOffset], checked by the driver before each run.
  void constrainInput(const Expr &arg, const std::string &role, int64_t min,
                      Dim max, int64_t maxOffset = 0);
  bool broadcast(const Shape &l, const Shape &r, Shape &out, SMLoc loc);
  bool axisArg(Expr &call, size_t position, int64_t rank, bool required,
               int64_t defaultAxis, bool forInsert = false);
  bool expectArgs(Expr &call, size_t minPos, size_t maxPos,
                  std::initializer_list<llvm::StringRef> keywords);
  bool define(const std::string &name, SMLoc loc, Symbol sym);
  /// For an error about a size that must be known: how to fix the
  /// symbolic dimension `d` (make it a parameter); empty when `d` is known.
  std::string fixLengthHint(const Dim &d) const;
  /// The error for a dotted name that is not declared, with the closest
  /// declared layer (or weight tensor) path.
  bool unknownModulePath(SMLoc loc, llvm::StringRef path, bool layer);

  Model &model;
  llvm::SourceMgr &sm;
  const ParamOverrides &overrides;
  llvm::StringMap<Symbol> scope;
};

/// A number as Python prints it (`1e+11`, `0.5`).
std::string formatNumber(double v);

} // namespace heed::dsl::sema

#endif // HEED_FRONTENDS_DSL_SEMAIMPL_H
