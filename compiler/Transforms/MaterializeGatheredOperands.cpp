//===- MaterializeGatheredOperands.cpp - Gathers out of products ----------===//
//
// Part of Heed. See Passes.td (heed-materialize-gathered-operands).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"

#include "llvm/ADT/SetVector.h"

namespace heed {
#define GEN_PASS_DEF_MATERIALIZEGATHEREDOPERANDS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// A factor of a product's body computed from a gather: the ops computing
/// it (in block order), the loop dims it depends on (its tensor's axes)
/// and the inputs it reads.
struct GatheredFactor {
  Value value;
  SmallVector<Operation *> ops;
  SmallVector<unsigned> dims;
  SmallVector<unsigned> inputs;
};

/// `value`'s computation in `body` where it reads only inputs (never the
/// init), loop indices and values from outside, with a tensor.extract among
/// its ops; nullopt otherwise.
std::optional<GatheredFactor> gatheredFactor(linalg::GenericOp op,
                                             Value value) {
  Block &body = op.getRegion().front();
  GatheredFactor factor{value, {}, {}, {}};
  llvm::SetVector<Operation *> ops;
  llvm::SetVector<unsigned> inputs, dims;
  SmallVector<Value> work{value};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    if (auto arg = dyn_cast<BlockArgument>(v)) {
      if (arg.getOwner() != &body)
        continue; // from outside
      if (arg.getArgNumber() >= op.getNumDpsInputs())
        return std::nullopt; // the init: an accumulation, not a factor
      inputs.insert(arg.getArgNumber());
      continue;
    }
    Operation *def = v.getDefiningOp();
    if (def->getBlock() != &body || !ops.insert(def))
      continue;
    if (def->getNumRegions())
      return std::nullopt;
    if (auto index = dyn_cast<linalg::IndexOp>(def))
      dims.insert(index.getDim());
    for (Value operand : def->getOperands())
      work.push_back(operand);
  }
  if (!llvm::any_of(ops,
                    [](Operation *o) { return isa<tensor::ExtractOp>(o); }))
    return std::nullopt;
  for (unsigned input : inputs) {
    AffineMap map = op.getMatchingIndexingMap(op.getDpsInputOperand(input));
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return std::nullopt;
    for (AffineExpr e : map.getResults())
      dims.insert(cast<AffineDimExpr>(e).getPosition());
  }
  factor.ops.assign(ops.begin(), ops.end());
  llvm::sort(factor.ops,
             [](Operation *a, Operation *b) { return a->isBeforeInBlock(b); });
  factor.inputs.assign(inputs.begin(), inputs.end());
  llvm::sort(factor.inputs);
  // The new tensor's axes: the parallel dims, then the reduction dims
  // (a matrix product's left operand, row-major: K contiguous), each in
  // loop order.
  factor.dims.assign(dims.begin(), dims.end());
  auto iterators = op.getIteratorTypesArray();
  llvm::sort(factor.dims, [&](unsigned a, unsigned b) {
    return std::make_pair(linalg::isReductionIterator(iterators[a]), a) <
           std::make_pair(linalg::isReductionIterator(iterators[b]), b);
  });
  return factor;
}

/// `map` over the op's loop dims as a map over `dims` only (each of its
/// results one of them).
AffineMap restrictTo(AffineMap map, ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> results;
  for (AffineExpr e : map.getResults()) {
    unsigned d = cast<AffineDimExpr>(e).getPosition();
    results.push_back(getAffineDimExpr(
        unsigned(llvm::find(dims, d) - dims.begin()), map.getContext()));
  }
  return AffineMap::get(dims.size(), 0, results, map.getContext());
}

/// Rewrites `op` (out += f(inputs, gathered) · u, with u an input) into a
/// generic computing the factor into a tensor of its own and the product
/// of that tensor and u. Returns whether it did.
bool materialize(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0)
    return false;
  Block &body = op.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto add = yield.getValues().front().getDefiningOp<arith::AddFOp>();
  if (!add || add->getBlock() != &body)
    return false;
  BlockArgument out = body.getArguments().back();
  Value product = add.getLhs() == out ? add.getRhs() : add.getLhs();
  if ((add.getLhs() != out && add.getRhs() != out) || !product.hasOneUse())
    return false;
  auto mul = product.getDefiningOp<arith::MulFOp>();
  if (!mul || mul->getBlock() != &body)
    return false;
  SmallVector<AffineMap> opMaps = op.getIndexingMapsArray();
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (auto factors : {std::pair(mul.getLhs(), mul.getRhs()),
                       std::pair(mul.getRhs(), mul.getLhs())}) {
    Value factorValue = factors.first, other = factors.second;
    auto otherArg = dyn_cast<BlockArgument>(other);
    if (!otherArg || otherArg.getOwner() != &body ||
        otherArg.getArgNumber() >= op.getNumDpsInputs())
      continue;
    std::optional<GatheredFactor> factor = gatheredFactor(op, factorValue);
    // Every op of the body is the factor's, the product, the sum or the
    // yield: nothing else reads what is taken out. A factor of loop indices
    // alone (a small convolution's window, which convert-attn-to-linalg
    // reads directly on purpose) is no lookup: it stays.
    if (!factor || factor->ops.size() + 3 != body.getOperations().size() ||
        factor->inputs.empty())
      continue;
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    bool overReduction = false;
    int64_t elements = 1;
    for (unsigned d : factor->dims) {
      overReduction |= linalg::isReductionIterator(iterators[d]);
      elements = ShapedType::isDynamic(ranges[d]) || elements < 0
                     ? -1
                     : elements * ranges[d];
    }
    auto outType = cast<RankedTensorType>(op.getDpsInits()[0].getType());
    // Only where the product's other factor runs over the reduction too (a
    // matrix product's operand), and the new tensor is no larger than the
    // result.
    if (!overReduction || elements < 0 || !outType.hasStaticShape() ||
        elements > outType.getNumElements())
      continue;

    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<int64_t> shape;
    for (unsigned d : factor->dims)
      shape.push_back(ranges[d]);
    Value empty = tensor::EmptyOp::create(b, loc, shape, factorValue.getType());
    SmallVector<Value> gatherInputs;
    SmallVector<AffineMap> gatherMaps;
    for (unsigned input : factor->inputs) {
      gatherInputs.push_back(op.getDpsInputs()[input]);
      gatherMaps.push_back(restrictTo(opMaps[input], factor->dims));
    }
    gatherMaps.push_back(
        AffineMap::getMultiDimIdentityMap(shape.size(), b.getContext()));
    SmallVector<utils::IteratorType> parallel(shape.size(),
                                              utils::IteratorType::parallel);
    auto gather = linalg::GenericOp::create(
        b, loc, empty.getType(), gatherInputs, ValueRange{empty}, gatherMaps,
        parallel, [&](OpBuilder &nb, Location l, ValueRange args) {
          IRMapping map;
          for (auto [i, input] : llvm::enumerate(factor->inputs))
            map.map(body.getArgument(input), args[i]);
          for (Operation *o : factor->ops) {
            if (auto index = dyn_cast<linalg::IndexOp>(o)) {
              unsigned at = unsigned(llvm::find(factor->dims, index.getDim()) -
                                     factor->dims.begin());
              map.map(index.getResult(),
                      linalg::IndexOp::create(nb, l, at).getResult());
              continue;
            }
            nb.clone(*o, map);
          }
          linalg::YieldOp::create(nb, l, map.lookup(factorValue));
        });

    unsigned otherInput = otherArg.getArgNumber();
    SmallVector<AffineMap> maps{
        AffineMap::get(op.getNumLoops(), 0,
                       llvm::map_to_vector(
                           factor->dims,
                           [&](unsigned d) { return b.getAffineDimExpr(d); }),
                       b.getContext()),
        opMaps[otherInput], opMaps.back()};
    auto contraction = linalg::GenericOp::create(
        b, loc, op.getResultTypes(),
        ValueRange{gather.getResult(0), op.getDpsInputs()[otherInput]},
        op.getDpsInits(), maps, iterators,
        [&](OpBuilder &nb, Location l, ValueRange args) {
          IRMapping map;
          map.map(factorValue, args[0]);
          map.map(other, args[1]);
          map.map(out, args[2]);
          nb.clone(*mul, map);
          linalg::YieldOp::create(nb, l, nb.clone(*add, map)->getResult(0));
        });
    for (NamedAttribute attr : op->getDiscardableAttrs())
      contraction->setAttr(attr.getName(), attr.getValue());
    op->replaceAllUsesWith(contraction);
    op->erase();
    return true;
  }
  return false;
}

struct MaterializeGatheredOperandsPass
    : heed::impl::MaterializeGatheredOperandsBase<
          MaterializeGatheredOperandsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    for (linalg::GenericOp op : generics)
      materialize(op);
  }
};

} // namespace
