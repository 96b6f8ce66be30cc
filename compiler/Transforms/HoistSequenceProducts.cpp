//===- HoistSequenceProducts.cpp - Per-step products as one product -------===//
//
// Part of Heed. See Passes.td (heed-hoist-sequence-products).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/MultiplyAccumulate.h"

#include "mlir/IR/IRMapping.h"

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

/// A product over a concatenation along its reduction axis (an LSTM
/// cell's [x, h] times its stacked weights): the parts in order, each an
/// `insert_slice` of a whole part into the one before, covering the axis.
struct ConcatenatedInput {
  unsigned input;               // which input is the concatenation
  unsigned axis;                // the concatenated (reduced) axis of it
  unsigned otherAxis;           // the same reduction dim's axis in the other
  SmallVector<Value> parts;     // in order along the axis
  SmallVector<int64_t> offsets; // each part's first index on the axis
};

std::optional<ConcatenatedInput> matchConcatenatedInput(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || !isMultiplyAccumulate(op))
    return std::nullopt;
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  for (unsigned i = 0; i < 2; ++i) {
    auto last = op.getDpsInputs()[i].getDefiningOp<tensor::InsertSliceOp>();
    if (!last)
      continue;
    auto type = cast<RankedTensorType>(last.getType());
    // The reduced axis the parts are placed along.
    std::optional<unsigned> axis, otherAxis;
    for (auto [pos, e] : llvm::enumerate(maps[i].getResults())) {
      auto dim = dyn_cast<AffineDimExpr>(e);
      if (dim && op.getIteratorTypesArray()[dim.getPosition()] ==
                     utils::IteratorType::reduction) {
        axis = pos;
        for (auto [q, f] : llvm::enumerate(maps[1 - i].getResults()))
          if (f == e)
            otherAxis = q;
      }
    }
    if (!axis || !otherAxis || !type.hasStaticShape())
      continue;
    ConcatenatedInput c{i, *axis, *otherAxis, {}, {}};
    // Walk the chain back from the last part; each part whole but along
    // the axis, unit strides, static.
    Value v = last;
    while (auto insert = v.getDefiningOp<tensor::InsertSliceOp>()) {
      auto partType = cast<RankedTensorType>(insert.getSourceType());
      if (!insert.hasUnitStride() || partType.getRank() != type.getRank() ||
          !partType.hasStaticShape())
        return std::nullopt;
      for (unsigned d = 0; d < type.getRank(); ++d) {
        std::optional<int64_t> offset =
            getConstantIntValue(insert.getMixedOffsets()[d]);
        if (!offset)
          return std::nullopt;
        bool whole =
            *offset == 0 && partType.getDimSize(d) == type.getDimSize(d);
        if (d != *axis && !whole)
          return std::nullopt;
      }
      c.parts.insert(c.parts.begin(), insert.getSource());
      c.offsets.insert(c.offsets.begin(),
                       *getConstantIntValue(insert.getMixedOffsets()[*axis]));
      v = insert.getDest();
    }
    // The parts follow each other from 0 and cover the axis.
    int64_t next = 0;
    for (auto [part, offset] : llvm::zip(c.parts, c.offsets)) {
      if (offset != next)
        return std::nullopt;
      next += cast<RankedTensorType>(part.getType()).getDimSize(*axis);
    }
    if (c.parts.size() < 2 || next != type.getDimSize(*axis))
      return std::nullopt;
    return c;
  }
  return std::nullopt;
}

/// `op` as one product per part of its concatenated input, each
/// accumulating into the one before (the first into `op`'s init), the
/// other operand sliced along the same reduction axis; slices of an
/// operand defined outside `loop` are made before it. Returns the first.
linalg::GenericOp splitProduct(scf::ForOp loop, linalg::GenericOp op,
                               const ConcatenatedInput &c) {
  Location loc = op.getLoc();
  Value other = op.getDpsInputs()[1 - c.input];
  auto otherType = cast<RankedTensorType>(other.getType());
  OpBuilder outside(loop);
  OpBuilder inside(op);
  Value acc = op.getDpsInits()[0];
  linalg::GenericOp first;
  for (auto [part, offset] : llvm::zip(c.parts, c.offsets)) {
    OpBuilder &b = loop.isDefinedOutsideOfLoop(other) ? outside : inside;
    int64_t length = cast<RankedTensorType>(part.getType()).getDimSize(c.axis);
    SmallVector<OpFoldResult> offsets(otherType.getRank(), b.getIndexAttr(0)),
        sizes, strides(otherType.getRank(), b.getIndexAttr(1));
    for (int64_t d : otherType.getShape())
      sizes.push_back(b.getIndexAttr(d));
    offsets[c.otherAxis] = b.getIndexAttr(offset);
    sizes[c.otherAxis] = b.getIndexAttr(length);
    Value slice =
        tensor::ExtractSliceOp::create(b, loc, other, offsets, sizes, strides);
    SmallVector<Value> inputs(2);
    inputs[c.input] = part;
    inputs[1 - c.input] = slice;
    auto product = linalg::GenericOp::create(
        inside, loc, op.getResultTypes(), inputs, ValueRange{acc},
        op.getIndexingMapsArray(), op.getIteratorTypesArray());
    IRMapping none;
    op.getRegion().cloneInto(&product.getRegion(), none);
    if (!first)
      first = product;
    acc = product.getResult(0);
  }
  op.getResult(0).replaceAllUsesWith(acc);
  op.erase();
  return first;
}

struct HoistSequenceProductsPass
    : heed::impl::HoistSequenceProductsBase<HoistSequenceProductsPass> {
  void runOnOperation() override {
    // A product over [step's input, state] becomes two, the input's first
    // (into the loop-invariant init), when the input is a step of a
    // sequence: that one is then hoisted like any other.
    SmallVector<std::tuple<scf::ForOp, linalg::GenericOp, ConcatenatedInput>>
        concatenated;
    getOperation().walk([&](scf::ForOp loop) {
      for (auto op : loop.getBody()->getOps<linalg::GenericOp>())
        if (std::optional<ConcatenatedInput> c = matchConcatenatedInput(op))
          concatenated.push_back({loop, op, *c});
    });
    for (auto &[loop, op, c] : concatenated) {
      Value first = c.parts.front();
      auto slice = first.getDefiningOp<tensor::ExtractSliceOp>();
      if (slice && loop.isDefinedOutsideOfLoop(slice.getSource()) &&
          loop.isDefinedOutsideOfLoop(op.getDpsInits()[0]) &&
          loop.isDefinedOutsideOfLoop(op.getDpsInputs()[1 - c.input]))
        splitProduct(loop, op, c);
    }
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
