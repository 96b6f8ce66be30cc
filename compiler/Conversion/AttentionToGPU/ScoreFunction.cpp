//===- ScoreFunction.cpp - An attention score as a scalar function --------===//
//
// Part of Heed. See ScoreFunction.h. The region's values are rows (rank 1,
// or one element); an element of a row is computed where it is read, by
// pulling the elements it needs from its operands:
//
//   binary, activate, select   the operands' elements at the same index
//                              (size-1 rows broadcast: index 0)
//   concat                     the element of the part the index falls in
//   dense (W [N, K])           Σ_k W[n, k] x[k] (+ b[n]), then activation
//   reduce                     the input's K elements combined
//
// so a score such as v · tanh(q + k + f) is one loop over the row's
// elements per step, with nothing stored.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/AttentionToGPU/ScoreFunction.h"
#include "compiler/Conversion/AttnToLinalg/AttnToLinalg.h"
#include "compiler/Transforms/AttentionMasks.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SetVector.h"

#include <cmath>

using namespace mlir;
using namespace heed;

namespace {

/// The splat value of a constant tensor, if it is one.
std::optional<float> splatOf(Value v) {
  DenseElementsAttr attr;
  if (!matchPattern(v, m_Constant(&attr)) || !attr.isSplat() ||
      !attr.getElementType().isF32())
    return std::nullopt;
  return attr.getSplatValue<APFloat>().convertToFloat();
}

/// A static f32 tensor of rank at most `maxRank`.
bool isStaticF32(Value v, int64_t maxRank) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  return type && type.hasStaticShape() && type.getElementType().isF32() &&
         type.getRank() <= maxRank;
}

/// Elements along a row's only axis (1 for a scalar tensor).
int64_t widthOf(Value v) {
  auto type = cast<RankedTensorType>(v.getType());
  return type.getRank() == 0 ? 1 : type.getDimSize(0);
}

/// The score's last reduction and the activations applied after it
/// (outermost first).
struct ScoreRoot {
  Operation *reduction = nullptr; // attn::DenseOp (one output) or ReduceOp
  SmallVector<attn::ActivateOp> outer;
  int64_t terms = 0;
  bool maximum = false;
};

std::optional<ScoreRoot> scoreRoot(attn::AttentionOp op) {
  Region *region = &op.getScore();
  Value v = op.getScoreValue();
  ScoreRoot root;
  while (auto act = v.getDefiningOp<attn::ActivateOp>()) {
    if (act->getParentRegion() != region ||
        act.getKind() == attn::ActivationKind::softmax)
      return std::nullopt;
    root.outer.push_back(act);
    v = act.getInput();
  }
  Operation *def = v.getDefiningOp();
  if (!def || def->getParentRegion() != region || !isStaticF32(v, 1) ||
      widthOf(v) != 1)
    return std::nullopt;
  if (auto dense = dyn_cast<attn::DenseOp>(def)) {
    auto weight = dyn_cast<RankedTensorType>(dense.getWeight().getType());
    if (!weight || weight.getRank() != 2 || weight.getDimSize(0) != 1)
      return std::nullopt;
    root.terms = weight.getDimSize(1);
  } else if (auto reduce = dyn_cast<attn::ReduceOp>(def)) {
    root.terms = widthOf(reduce.getInput());
    root.maximum = reduce.getKind() == attn::ReduceKind::max;
  } else {
    return std::nullopt;
  }
  root.reduction = def;
  return root;
}

/// What the score of one step costs, value by value, and which values come
/// from above the region; fails on an op without a form per element.
class ScoreAnalysis {
public:
  explicit ScoreAnalysis(attn::AttentionOp op) : op(op) {}

  bool run() {
    Block &body = op.getScore().front();
    for (BlockArgument row : body.getArguments()) {
      if (!isStaticF32(row, 1))
        return false;
      cost[row] = 1;
    }
    for (Operation &inner : body.without_terminator())
      if (!visit(inner))
        return false;
    Value energy = op.getScoreValue();
    return isStaticF32(energy, 1) && widthOf(energy) == 1 &&
           cost.lookup(energy) <= kMaxScoreCost;
  }

  llvm::SetVector<Value> captures;

  /// Operations per element of a region value (after run()).
  int64_t costOf(Value v) const { return cost.lookup(v); }

private:
  /// The cost of one element of `v` (an operand of a region op), noting
  /// values from above.
  std::optional<int64_t> operand(Value v, int64_t maxRank = 1) {
    if (v.getParentRegion() == &op.getScore()) {
      auto it = cost.find(v);
      if (it == cost.end())
        return std::nullopt;
      return it->second;
    }
    if (splatOf(v) && isStaticF32(v, 1))
      return 1;
    // A constant that is not a splat would be a host global in a kernel.
    if (matchPattern(v, m_Constant()) || !isStaticF32(v, maxRank))
      return std::nullopt;
    captures.insert(v);
    return 1;
  }

  bool visit(Operation &inner) {
    if (inner.getNumResults() != 1 || !isStaticF32(inner.getResult(0), 1))
      return false;
    Value result = inner.getResult(0);
    int64_t width = widthOf(result);
    std::optional<int64_t> c;
    auto sum = [&](ValueRange values) -> std::optional<int64_t> {
      int64_t total = 1;
      for (Value v : values) {
        std::optional<int64_t> part = operand(v);
        if (!part)
          return std::nullopt;
        total += *part;
      }
      return total;
    };
    if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
      c = splatOf(constant.getResult()) ? std::optional<int64_t>(1)
                                        : std::nullopt;
    } else if (auto binary = dyn_cast<attn::BinaryOp>(inner)) {
      c = sum(binary->getOperands());
    } else if (auto select = dyn_cast<attn::SelectOp>(inner)) {
      c = sum(select->getOperands());
    } else if (auto activate = dyn_cast<attn::ActivateOp>(inner)) {
      if (activate.getKind() != attn::ActivationKind::softmax)
        c = sum(activate.getInput());
    } else if (auto concat = dyn_cast<attn::ConcatOp>(inner)) {
      c = sum(concat.getInputs());
      int64_t total = 0;
      for (Value part : concat.getInputs())
        total += cast<RankedTensorType>(part.getType()).getRank() == 1
                     ? widthOf(part)
                     : -1;
      if (total != width || concat.getAxis() != 0 ||
          cast<RankedTensorType>(result.getType()).getRank() != 1)
        c = std::nullopt;
    } else if (auto dense = dyn_cast<attn::DenseOp>(inner)) {
      auto weight = dyn_cast<RankedTensorType>(dense.getWeight().getType());
      std::optional<int64_t> x = operand(dense.getInput());
      bool ok =
          x && weight && weight.getRank() == 2 &&
          dense.getActivation() != attn::ActivationKind::softmax &&
          dense.getWeight().getParentRegion() != &op.getScore() &&
          !splatOf(dense.getWeight()) && operand(dense.getWeight(), 2) &&
          weight.getDimSize(1) == widthOf(dense.getInput()) &&
          weight.getDimSize(0) == width &&
          cast<RankedTensorType>(dense.getInput().getType()).getRank() == 1;
      if (ok && dense.getBias())
        ok = dense.getBias().getParentRegion() != &op.getScore() &&
             operand(dense.getBias());
      if (ok)
        c = weight.getDimSize(1) * (*x + 2) + 2;
    } else if (auto reduce = dyn_cast<attn::ReduceOp>(inner)) {
      std::optional<int64_t> x = operand(reduce.getInput());
      if (x && reduce.getAxis() == 0 && width == 1 &&
          cast<RankedTensorType>(reduce.getInput().getType()).getRank() == 1)
        c = widthOf(reduce.getInput()) * (*x + 1) + 1;
    }
    if (!c || *c > kMaxScoreCost)
      return false;
    cost[result] = *c;
    return true;
  }

  attn::AttentionOp op;
  llvm::DenseMap<Value, int64_t> cost;
};

/// Emits the elements of the region's values inside the score function.
class ScoreEmitter {
public:
  ScoreEmitter(attn::AttentionOp op, Location loc, Value batch, Value query,
               Value step)
      : op(op), loc(loc), batch(batch), query(query), step(step) {}

  /// Region block argument or value from above → the function's tensor.
  llvm::DenseMap<Value, Value> tensors;

  /// Element `index` of region value (or capture) `v`.
  Value element(OpBuilder &b, Value v, Value index) {
    if (std::optional<float> splat = splatOf(v))
      return constant(b, *splat);
    if (auto row = dyn_cast<BlockArgument>(v);
        row && row.getOwner() == &op.getScore().front()) {
      Value source = tensors.lookup(row);
      SmallVector<Value> at = {batch};
      if (row.getArgNumber() == 0) {
        if (op.hasQuerySequence())
          at.push_back(query);
      } else {
        at.push_back(step);
      }
      at.push_back(index);
      return tensor::ExtractOp::create(b, loc, source, at);
    }
    if (Value captured = tensors.lookup(v))
      return tensor::ExtractOp::create(b, loc, captured, rowIndex(b, v, index));
    Operation *def = v.getDefiningOp();
    if (auto binary = dyn_cast<attn::BinaryOp>(def))
      return emitBinaryScalar(b, loc, binary.getKind(),
                              broadcast(b, binary.getLhs(), index),
                              broadcast(b, binary.getRhs(), index));
    if (auto select = dyn_cast<attn::SelectOp>(def)) {
      Value set = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE,
                                        broadcast(b, select.getCond(), index),
                                        constant(b, 0.0f));
      return arith::SelectOp::create(b, loc, set,
                                     broadcast(b, select.getA(), index),
                                     broadcast(b, select.getB(), index));
    }
    if (auto activate = dyn_cast<attn::ActivateOp>(def))
      return emitActivationScalar(b, loc, activate.getKind(),
                                  element(b, activate.getInput(), index));
    if (auto concat = dyn_cast<attn::ConcatOp>(def))
      return concatElement(b, concat.getInputs(), index, 0);
    if (auto dense = dyn_cast<attn::DenseOp>(def))
      return denseElement(b, dense, index);
    return reduceElement(b, cast<attn::ReduceOp>(def));
  }

  /// Term `k` of the root's reduction.
  Value term(OpBuilder &b, const ScoreRoot &root, Value k) {
    if (auto dense = dyn_cast<attn::DenseOp>(root.reduction)) {
      Value weight = tensors.lookup(dense.getWeight());
      Value w = tensor::ExtractOp::create(b, loc, weight,
                                          ValueRange{cIndex(b, 0), k});
      Value x = element(b, dense.getInput(), k);
      return arith::MulFOp::create(b, loc, w, x, fastMath(b));
    }
    return element(b, cast<attn::ReduceOp>(root.reduction).getInput(), k);
  }

  /// The root's value from its combined terms: the dense layer's bias and
  /// activation (a mean's scale), then the activations after it.
  Value finish(OpBuilder &b, const ScoreRoot &root, Value total) {
    Value e = total;
    if (auto dense = dyn_cast<attn::DenseOp>(root.reduction)) {
      if (dense.getBias())
        e = arith::AddFOp::create(
            b, loc, e, element(b, dense.getBias(), cIndex(b, 0)), fastMath(b));
      e = emitActivationScalar(b, loc, dense.getActivation(), e);
    } else if (cast<attn::ReduceOp>(root.reduction).getKind() ==
               attn::ReduceKind::mean) {
      e = arith::MulFOp::create(
          b, loc, e, constant(b, float(1.0 / double(root.terms))), fastMath(b));
    }
    for (attn::ActivateOp act : llvm::reverse(root.outer))
      e = emitActivationScalar(b, loc, act.getKind(), e);
    return e;
  }

private:
  Value constant(OpBuilder &b, float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value cIndex(OpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  /// The indices of element `index` of `v` (a scalar tensor has none; a
  /// size-1 row broadcasts).
  SmallVector<Value> rowIndex(OpBuilder &b, Value v, Value index) {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getRank() == 0)
      return {};
    return {type.getDimSize(0) == 1 ? cIndex(b, 0) : index};
  }
  /// An elementwise operand's element (size-1 rows broadcast).
  Value broadcast(OpBuilder &b, Value v, Value index) {
    auto type = cast<RankedTensorType>(v.getType());
    if (type.getRank() == 1 && type.getDimSize(0) == 1)
      index = cIndex(b, 0);
    return element(b, v, index);
  }

  /// The element `index` of the concatenation of `parts` (starting at
  /// `offset`): the first part's when below its end, else the rest's.
  Value concatElement(OpBuilder &b, ValueRange parts, Value index,
                      int64_t offset) {
    Value first = parts.front();
    int64_t end = offset + widthOf(first);
    auto inFirst = [&](OpBuilder &b) {
      return element(b, first,
                     arith::SubIOp::create(b, loc, index, cIndex(b, offset)));
    };
    if (parts.size() == 1)
      return inFirst(b);
    Value below = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult,
                                        index, cIndex(b, end));
    auto branch = scf::IfOp::create(
        b, loc, below,
        [&](OpBuilder &b, Location loc) {
          scf::YieldOp::create(b, loc, inFirst(b));
        },
        [&](OpBuilder &b, Location loc) {
          scf::YieldOp::create(
              b, loc, concatElement(b, parts.drop_front(), index, end));
        });
    return branch.getResult(0);
  }

  /// act(Σ_k W[n, k] x[k] + b[n]) for n = `index`.
  Value denseElement(OpBuilder &b, attn::DenseOp dense, Value index) {
    Value weight = tensors.lookup(dense.getWeight());
    int64_t k = cast<RankedTensorType>(weight.getType()).getDimSize(1);
    auto loop = scf::ForOp::create(
        b, loc, cIndex(b, 0), cIndex(b, k), cIndex(b, 1),
        ValueRange{constant(b, 0.0f)},
        [&](OpBuilder &b, Location loc, Value ki, ValueRange acc) {
          Value w =
              tensor::ExtractOp::create(b, loc, weight, ValueRange{index, ki});
          Value x = element(b, dense.getInput(), ki);
          Value product = arith::MulFOp::create(b, loc, w, x, fastMath(b));
          scf::YieldOp::create(
              b, loc,
              arith::AddFOp::create(b, loc, acc[0], product, fastMath(b))
                  .getResult());
        });
    Value sum = loop.getResult(0);
    if (dense.getBias())
      sum = arith::AddFOp::create(
          b, loc, sum, element(b, dense.getBias(), index), fastMath(b));
    return emitActivationScalar(b, loc, dense.getActivation(), sum);
  }

  /// The input's elements combined (sum, mean or max).
  Value reduceElement(OpBuilder &b, attn::ReduceOp reduce) {
    int64_t k = widthOf(reduce.getInput());
    bool isMax = reduce.getKind() == attn::ReduceKind::max;
    auto loop = scf::ForOp::create(
        b, loc, cIndex(b, 0), cIndex(b, k), cIndex(b, 1),
        ValueRange{constant(b, isMax ? -INFINITY : 0.0f)},
        [&](OpBuilder &b, Location loc, Value ki, ValueRange acc) {
          Value x = element(b, reduce.getInput(), ki);
          Value next =
              isMax ? arith::MaximumFOp::create(b, loc, acc[0], x, fastMath(b))
                          .getResult()
                    : arith::AddFOp::create(b, loc, acc[0], x, fastMath(b))
                          .getResult();
          scf::YieldOp::create(b, loc, next);
        });
    Value r = loop.getResult(0);
    if (reduce.getKind() == attn::ReduceKind::mean)
      r = arith::MulFOp::create(b, loc, r, constant(b, float(1.0 / double(k))),
                                fastMath(b));
    return r;
  }

  attn::AttentionOp op;
  Location loc;
  Value batch, query, step;
};

} // namespace

std::optional<SmallVector<Value>>
heed::scoreFunctionCaptures(attn::AttentionOp op) {
  ScoreAnalysis analysis(op);
  if (!analysis.run())
    return std::nullopt;
  return SmallVector<Value>(analysis.captures.begin(), analysis.captures.end());
}

SmallVector<Value> heed::scoreFunctionOperands(attn::AttentionOp op,
                                               ArrayRef<Value> captures) {
  SmallVector<Value> operands = {op.getQuery()};
  llvm::append_range(operands, op.getKeys());
  if (op.getLengths())
    operands.push_back(op.getLengths());
  if (op.getPrevious())
    operands.push_back(op.getPrevious());
  llvm::append_range(operands, captures);
  return operands;
}

namespace {

/// A private function `name(b, q, t, [extra], scoreFunctionOperands...) ->
/// f32` at the end of `module` that returns `energyOf(builder, emitter,
/// extra)` (extra null without an `extraType`), with the op's masks applied
/// when `masked`.
func::FuncOp createScoreFunction(
    ModuleOp module, attn::AttentionOp op, ArrayRef<Value> captures,
    StringRef name, Type extraType, bool masked,
    function_ref<Value(OpBuilder &, ScoreEmitter &, Value)> energyOf) {
  Location loc = op.getLoc();
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  SmallVector<Value> operands = scoreFunctionOperands(op, captures);
  SmallVector<Type> inputs(3, b.getIndexType());
  if (extraType)
    inputs.push_back(extraType);
  llvm::append_range(inputs, ValueRange(operands).getTypes());
  auto fn = func::FuncOp::create(b, loc, name,
                                 b.getFunctionType(inputs, {b.getF32Type()}));
  fn.setPrivate();
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  ValueRange args = entry->getArguments();
  ScoreEmitter emitter(op, loc, args[0], args[1], args[2]);
  // The function's tensors, in scoreFunctionOperands' order.
  ValueRange tensors = args.drop_front(extraType ? 4 : 3);
  emitter.tensors[op.getQueryRow()] = tensors[0];
  unsigned next = 1;
  for (BlockArgument row : op.getKeyRows())
    emitter.tensors[row] = tensors[next++];
  EnergyMask mask = EnergyMask::of(op);
  if (op.getLengths())
    mask.lengths = tensors[next++];
  if (op.getPrevious())
    mask.previous = tensors[next++];
  for (Value captured : captures)
    emitter.tensors[captured] = tensors[next++];

  Value energy = energyOf(b, emitter, extraType ? args[3] : Value());
  if (masked)
    energy = maskEnergy(b, loc, mask, energy, args[0], args[1], args[2]);
  func::ReturnOp::create(b, loc, energy);
  return fn;
}

} // namespace

func::FuncOp heed::buildScoreFunction(ModuleOp module, attn::AttentionOp op,
                                      ArrayRef<Value> captures,
                                      StringRef name) {
  return createScoreFunction(
      module, op, captures, name, Type(), /*masked=*/true,
      [&](OpBuilder &b, ScoreEmitter &emitter, Value) {
        Value zero = arith::ConstantIndexOp::create(b, op.getLoc(), 0);
        return emitter.element(b, op.getScoreValue(), zero);
      });
}

std::optional<ScoreTerms> heed::splitScoreTerms(attn::AttentionOp op) {
  ScoreAnalysis analysis(op);
  std::optional<ScoreRoot> root = scoreRoot(op);
  if (!root || !analysis.run())
    return std::nullopt;
  return ScoreTerms{root->terms, analysis.costOf(op.getScoreValue())};
}

SplitScore heed::buildSplitScoreFunctions(ModuleOp module, attn::AttentionOp op,
                                          ArrayRef<Value> captures,
                                          StringRef stem) {
  ScoreRoot root = *scoreRoot(op);
  Builder b(op.getContext());
  SplitScore split;
  split.terms = root.terms;
  split.maximum = root.maximum;
  split.term = createScoreFunction(
      module, op, captures, (stem + "_term").str(), b.getIndexType(),
      /*masked=*/false, [&](OpBuilder &b, ScoreEmitter &emitter, Value k) {
        return emitter.term(b, root, k);
      });
  split.finish = createScoreFunction(
      module, op, captures, (stem + "_finish").str(), b.getF32Type(),
      /*masked=*/true, [&](OpBuilder &b, ScoreEmitter &emitter, Value total) {
        return emitter.finish(b, root, total);
      });
  return split;
}
