//===- RowOps.cpp - Rebuild attn ops at another rank ----------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "compiler/Transforms/RowOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace heed;

bool heed::isRowOp(Operation *op) {
  return isa<attn::DenseOp, attn::ActivateOp, attn::BinaryOp, attn::SoftmaxOp,
             attn::ConcatOp, attn::ReduceOp, attn::SqueezeOp, attn::RepeatOp,
             attn::PermuteOp, arith::ConstantOp>(op);
}

llvm::SetVector<Operation *> heed::opsComputedFrom(Block &body,
                                                   ValueRange seeds) {
  llvm::DenseSet<Value> derived(seeds.begin(), seeds.end());
  llvm::SetVector<Operation *> ops;
  for (Operation &inner : body.without_terminator()) {
    if (inner.getNumResults() != 1 || !isRowOp(&inner) ||
        isa<arith::ConstantOp>(inner))
      continue;
    // Values from outside the region (weights) dominate the op; inside it,
    // only derived values may feed it.
    bool anySeed = false, allOk = true;
    for (Value v : inner.getOperands()) {
      if (derived.contains(v))
        anySeed = true;
      else if (v.getParentBlock() == &body)
        allOk = false;
    }
    if (anySeed && allOk) {
      ops.insert(&inner);
      derived.insert(inner.getResult(0));
    }
  }
  return ops;
}

SmallVector<Value>
heed::frontierOf(const llvm::SetVector<Operation *> &lifted) {
  SmallVector<Value> frontier;
  for (Operation *inner : lifted) {
    Value r = inner->getResult(0);
    if (llvm::any_of(r.getUsers(),
                     [&](Operation *u) { return !lifted.contains(u); }))
      frontier.push_back(r);
  }
  return frontier;
}

bool heed::cloneOntoWholeTensors(OpBuilder &b,
                                 const llvm::SetVector<Operation *> &lifted,
                                 IRMapping &map, int64_t shift) {
  SmallVector<Operation *> built;
  for (Operation *inner : lifted) {
    SmallVector<Value> operands;
    for (Value v : inner->getOperands())
      operands.push_back(map.lookupOrDefault(v));
    Operation *whole = cloneWithRankShift(b, inner, operands, shift);
    if (!whole) {
      for (Operation *op : llvm::reverse(built))
        op->erase();
      return false;
    }
    built.push_back(whole);
    map.map(inner->getResult(0), whole->getResult(0));
  }
  return true;
}

/// `axis` of a tensor of rank `rank`, moved by `shift`; -1 if it vanishes.
static int64_t shiftAxis(int64_t axis, int64_t rank, int64_t shift) {
  int64_t norm = attn::normalizeAxis(axis, rank);
  if (norm < 0 || norm + shift < 0)
    return -1;
  return norm + shift;
}

static int64_t rankOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getRank();
}

Operation *heed::cloneWithRankShift(OpBuilder &b, Operation *op,
                                    ValueRange operands, int64_t shift) {
  Location loc = op->getLoc();
  return llvm::TypeSwitch<Operation *, Operation *>(op)
      .Case([&](attn::DenseOp d) -> Operation * {
        Value bias = operands.size() > 2 ? operands[2] : Value();
        return attn::DenseOp::create(b, loc, operands[0], operands[1], bias,
                                     d.getActivation());
      })
      .Case([&](attn::ActivateOp a) -> Operation * {
        return attn::ActivateOp::create(b, loc, operands[0], a.getKind());
      })
      .Case([&](attn::BinaryOp bin) -> Operation * {
        return attn::BinaryOp::create(b, loc, operands[0], operands[1],
                                      bin.getKind());
      })
      .Case([&](attn::SoftmaxOp s) -> Operation * {
        int64_t axis = shiftAxis(s.getAxis(), rankOf(s.getInput()), shift);
        if (axis < 0)
          return nullptr;
        return attn::SoftmaxOp::create(b, loc, operands[0], axis);
      })
      .Case([&](attn::ConcatOp c) -> Operation * {
        int64_t axis = shiftAxis(c.getAxis(), rankOf(c.getInputs()[0]), shift);
        if (axis < 0)
          return nullptr;
        return attn::ConcatOp::create(b, loc, operands, axis);
      })
      .Case([&](attn::ReduceOp r) -> Operation * {
        int64_t axis = shiftAxis(r.getAxis(), rankOf(r.getInput()), shift);
        if (axis < 0)
          return nullptr;
        return attn::ReduceOp::create(b, loc, operands[0], r.getKind(), axis,
                                      r.getKeepdim());
      })
      .Case([&](attn::SqueezeOp s) -> Operation * {
        int64_t axis = shiftAxis(s.getAxis(), rankOf(s.getInput()), shift);
        if (axis < 0)
          return nullptr;
        return attn::SqueezeOp::create(b, loc, operands[0], axis);
      })
      .Case([&](attn::RepeatOp r) -> Operation * {
        int64_t axis = shiftAxis(r.getAxis(), rankOf(r.getInput()) + 1, shift);
        if (axis < 0)
          return nullptr;
        return attn::RepeatOp::create(b, loc, operands[0], axis, r.getCount());
      })
      .Case([&](attn::PermuteOp p) -> Operation * {
        ArrayRef<int64_t> perm = p.getPerm();
        // Only a tensor that gained (or lost) the shifted axes can be
        // permuted by the shifted permutation.
        if (rankOf(operands[0]) != int64_t(perm.size()) + shift)
          return nullptr;
        SmallVector<int64_t> out;
        if (shift >= 0) {
          for (int64_t i = 0; i < shift; ++i)
            out.push_back(i);
          for (int64_t x : perm)
            out.push_back(x + shift);
        } else {
          int64_t drop = -shift;
          for (int64_t i = 0; i < int64_t(perm.size()); ++i) {
            if (i < drop) {
              if (perm[i] != i)
                return nullptr;
              continue;
            }
            out.push_back(perm[i] - drop);
          }
        }
        return attn::PermuteOp::create(b, loc, operands[0], out);
      })
      .Case([&](arith::ConstantOp c) -> Operation * { return b.clone(*c); })
      .Default([](Operation *) -> Operation * { return nullptr; });
}

bool heed::hoistWeightOnlyScoreOps(attn::AttentionOp op) {
  Region &score = op.getScore();
  bool moved = false;
  for (Operation &inner :
       llvm::make_early_inc_range(score.front().without_terminator())) {
    if (inner.getNumRegions() || !isMemoryEffectFree(&inner))
      continue;
    // In block order, so an op reading only ops already moved moves too.
    bool readsRow = llvm::any_of(inner.getOperands(), [&](Value v) {
      return score.isAncestor(v.getParentRegion());
    });
    if (readsRow)
      continue;
    inner.moveBefore(op);
    moved = true;
  }
  return moved;
}

Value heed::weightColumns(OpBuilder &b, Location loc, Value weight,
                          int64_t offset, int64_t width) {
  auto type = cast<RankedTensorType>(weight.getType());
  int64_t n = type.getDimSize(0);
  auto sliceType = RankedTensorType::get({n, width}, type.getElementType());
  return tensor::ExtractSliceOp::create(
      b, loc, sliceType, weight,
      ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(offset)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(n), b.getIndexAttr(width)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}
