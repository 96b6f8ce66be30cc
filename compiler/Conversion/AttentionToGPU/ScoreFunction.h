//===- ScoreFunction.h - An attention score as a scalar function -*- C++
//-*-===//
//
// Part of Heed. The score region of an attn.attention op as a function of
// one (batch row, query, step) that returns the step's masked energy, for
// kernels that give each step to a thread (heed-lower-attention-rows-to-gpu).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_ATTENTIONTOGPU_SCOREFUNCTION_H
#define HEED_COMPILER_CONVERSION_ATTENTIONTOGPU_SCOREFUNCTION_H

#include "dialects/attn/IR/AttnOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace heed {

/// The most operations the score of one step may cost (its elements are
/// computed where they are read, so a dense layer over a dense layer costs
/// their product).
constexpr int64_t kMaxScoreCost = 65536;

/// The tensors the score function of `op` reads besides the query, keys,
/// lengths and previous positions: the values from above its score region
/// (weights), in the order of first use. nullopt when the region has an op
/// with no form per element, a non-splat constant, shapes that are not
/// static f32 rows, or costs more than kMaxScoreCost per step.
std::optional<llvm::SmallVector<mlir::Value>>
scoreFunctionCaptures(attn::AttentionOp op);

/// The operands of `op` its score function takes after the three indices:
/// the query, the keys, the lengths and previous positions (when present),
/// then `captures`.
llvm::SmallVector<mlir::Value>
scoreFunctionOperands(attn::AttentionOp op,
                      llvm::ArrayRef<mlir::Value> captures);

/// A private function `name(b, q, t, scoreFunctionOperands...) -> f32` at
/// the end of `module`: the energy of step `t` for batch row `b` and query
/// `q` (0 for a [B, D] query), after the op's masks.
mlir::func::FuncOp buildScoreFunction(mlir::ModuleOp module,
                                      attn::AttentionOp op,
                                      llvm::ArrayRef<mlir::Value> captures,
                                      llvm::StringRef name);

/// A score whose last step is a reduction: act(... act(dense(x))) with a
/// dense layer of one output, or act(... act(reduce(x))). Its energy is then
/// finish(combine of term(k) over k < terms), so that the terms of one step
/// can be shared among threads.
struct SplitScore {
  /// `term(b, q, t, k, scoreFunctionOperands...) -> f32`: the k-th term.
  mlir::func::FuncOp term;
  /// `finish(b, q, t, total, scoreFunctionOperands...) -> f32`: the energy
  /// from the combined terms (bias, activations, mean's scale), masked.
  mlir::func::FuncOp finish;
  int64_t terms = 0;
  /// The terms combine by maximum (a max reduction); otherwise by sum.
  bool maximum = false;
};

/// How many terms the score of `op` splits into (see SplitScore) and what
/// the whole score of one step costs (operations), or nullopt when its last
/// step is not such a reduction (or the score has no scalar form).
struct ScoreTerms {
  int64_t terms = 0, cost = 0;
};
std::optional<ScoreTerms> splitScoreTerms(attn::AttentionOp op);

/// The two functions of SplitScore at the end of `module`, named `stem`
/// with "_term" and "_finish"; splitScoreTerms(op) must have a value.
SplitScore buildSplitScoreFunctions(mlir::ModuleOp module, attn::AttentionOp op,
                                    llvm::ArrayRef<mlir::Value> captures,
                                    llvm::StringRef stem);

} // namespace heed

#endif
