//===- HoistSequenceProducts.cpp - Per-step products as one product -------===//
//
// Part of Heed. See Passes.td (heed-hoist-sequence-products).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/MultiplyAccumulate.h"

namespace heed {
#define GEN_PASS_DEF_HOISTSEQUENCEPRODUCTS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// A product in a loop whose one step-dependent operand is step `offset`
/// of a tensor defined outside the loop, along axis `axis`.
struct SequenceProduct {
  linalg::GenericOp op;
  unsigned input;      // which input is the step's slice
  Value sequence;      // the whole tensor the slice is taken from
  unsigned axis;       // the slice's dropped (time) axis
  OpFoldResult offset; // the step along that axis
};

std::optional<SequenceProduct> match(scf::ForOp loop, linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || !isMultiplyAccumulate(op) ||
      !loop.isDefinedOutsideOfLoop(op.getDpsInits()[0]))
    return std::nullopt;
  for (unsigned i = 0; i < 2; ++i) {
    Value other = op.getDpsInputs()[1 - i];
    auto slice = op.getDpsInputs()[i].getDefiningOp<tensor::ExtractSliceOp>();
    if (!slice || !loop.isDefinedOutsideOfLoop(other) ||
        !loop.isDefinedOutsideOfLoop(slice.getSource()))
      continue;
    auto source = slice.getSourceType();
    llvm::SmallBitVector dropped = slice.getDroppedDims();
    if (!source.hasStaticShape() || dropped.count() != 1 ||
        !slice.hasUnitStride())
      continue;
    // The time axis: the one axis the slice does not take whole (a step of
    // it). Which unit axis the slice's type drops is ambiguous when others
    // have size 1 too (the batch at batch 1): any of them may be dropped.
    SmallVector<unsigned> partial;
    for (unsigned d = 0; d < source.getRank(); ++d) {
      std::optional<int64_t> offset =
          getConstantIntValue(slice.getMixedOffsets()[d]);
      std::optional<int64_t> size =
          getConstantIntValue(slice.getMixedSizes()[d]);
      if (offset != 0 || size != source.getDimSize(d))
        partial.push_back(d);
    }
    unsigned axis = dropped.find_first();
    if (partial.size() == 1 &&
        getConstantIntValue(slice.getMixedSizes()[partial[0]]) == 1)
      axis = partial[0];
    else if (!partial.empty())
      continue;
    return SequenceProduct{op, i, slice.getSource(), axis,
                           slice.getMixedOffsets()[axis]};
  }
  return std::nullopt;
}

/// Every step's product at once, before the loop: a new loop dim `s` (the
/// last) runs over the steps; the sequence is read at `s` on its time
/// axis and the result is [steps, out...]. The op in the loop becomes the
/// step's slice of it.
void hoist(scf::ForOp loop, const SequenceProduct &p) {
  linalg::GenericOp op = p.op;
  Location loc = op.getLoc();
  MLIRContext *ctx = op.getContext();
  auto sequenceType = cast<RankedTensorType>(p.sequence.getType());
  int64_t steps = sequenceType.getDimSize(p.axis);
  unsigned loops = op.getNumLoops();
  AffineExpr step = getAffineDimExpr(loops, ctx);

  SmallVector<AffineMap> maps;
  for (auto [i, map] : llvm::enumerate(op.getIndexingMapsArray())) {
    SmallVector<AffineExpr> results(map.getResults());
    if (i == p.input)
      results.insert(results.begin() + p.axis, step);
    else if (i == 2)
      results.insert(results.begin(), step);
    maps.push_back(AffineMap::get(loops + 1, 0, results, ctx));
  }
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  iterators.push_back(utils::IteratorType::parallel);

  OpBuilder b(loop);
  // The init (a bias, or zeros) repeated for every step.
  Value init = op.getDpsInits()[0];
  auto initType = cast<RankedTensorType>(init.getType());
  SmallVector<int64_t> shape = {steps};
  llvm::append_range(shape, initType.getShape());
  auto resultType = RankedTensorType::get(shape, initType.getElementType());
  Value empty =
      tensor::EmptyOp::create(b, loc, shape, initType.getElementType());
  unsigned rank = shape.size();
  SmallVector<AffineExpr> rest;
  for (unsigned d = 1; d < rank; ++d)
    rest.push_back(getAffineDimExpr(d, ctx));
  auto repeated = linalg::GenericOp::create(
      b, loc, resultType, ValueRange{init}, ValueRange{empty},
      ArrayRef<AffineMap>{AffineMap::get(rank, 0, rest, ctx),
                          AffineMap::getMultiDimIdentityMap(rank, ctx)},
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, args[0]);
      });

  SmallVector<Value> inputs(op.getDpsInputs());
  inputs[p.input] = p.sequence;
  auto all = linalg::GenericOp::create(b, loc, resultType, inputs,
                                       ValueRange{repeated.getResult(0)}, maps,
                                       iterators);
  IRMapping none;
  op.getRegion().cloneInto(&all.getRegion(), none);

  // In the loop: the step's rows of the whole product.
  b.setInsertionPoint(op);
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)),
      sizes = {b.getIndexAttr(1)}, strides(rank, b.getIndexAttr(1));
  offsets[0] = p.offset;
  for (int64_t d : initType.getShape())
    sizes.push_back(b.getIndexAttr(d));
  Value rows = tensor::ExtractSliceOp::create(
      b, loc, initType, all.getResult(0), offsets, sizes, strides);
  op.getResult(0).replaceAllUsesWith(rows);
  op.erase();
}

struct HoistSequenceProductsPass
    : heed::impl::HoistSequenceProductsBase<HoistSequenceProductsPass> {
  void runOnOperation() override {
    SmallVector<std::pair<scf::ForOp, SequenceProduct>> found;
    getOperation().walk([&](scf::ForOp loop) {
      for (auto op : loop.getBody()->getOps<linalg::GenericOp>())
        if (std::optional<SequenceProduct> p = match(loop, op))
          found.push_back({loop, *p});
    });
    for (auto &[loop, p] : found)
      hoist(loop, p);
  }
};

} // namespace
