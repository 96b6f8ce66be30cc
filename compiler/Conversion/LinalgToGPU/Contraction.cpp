//===- Contraction.cpp - Matrix products the GPU kernels take -------------===//
//
// Part of Heed. See Contraction.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LinalgToGPU/Contraction.h"
#include "compiler/Conversion/LinalgToGPU/LoopIndices.h"
#include "compiler/Transforms/BufferRoots.h"
#include "compiler/Transforms/MultiplyAccumulate.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace heed;

namespace {

/// Whether `e`, the op after the product `c`, can run in its epilogue: all
/// parallel over out's shape, reading out (with the identity map) and
/// writing its init with the identity map, each other input read where no
/// thread of the kernel writes (or, if it is its own init, only at the
/// element the thread writes).
bool fusesAsEpilogue(const Contraction &c, linalg::GenericOp e) {
  Value out = c.operands[2];
  auto outType = cast<MemRefType>(out.getType());
  if (!e || !e.hasPureBufferSemantics() || e.getNumDpsInits() != 1 ||
      e.getNumLoops() != outType.getRank() ||
      e.getNumParallelLoops() != e.getNumLoops())
    return false;
  Value dest = e.getDpsInits()[0];
  auto destType = dyn_cast<MemRefType>(dest.getType());
  if (!destType || destType.getShape() != outType.getShape() ||
      !destType.getElementType().isF32() ||
      !e.getMatchingIndexingMap(e.getDpsInitOperand(0)).isIdentity())
    return false;
  for (Operation &inner : e.getRegion().front().without_terminator())
    if (inner.getNumRegions() != 0 || !isMemoryEffectFree(&inner) ||
        isa<linalg::IndexOp>(inner))
      return false;
  // The kernel reads a, b and the init everywhere: nothing may write them.
  Value destRoot = rootBuffer(dest);
  for (Value read : {c.operands[0], c.operands[1], c.init})
    if (rootBuffer(read) == destRoot && read != dest)
      return false;
  if (rootBuffer(c.operands[0]) == destRoot ||
      rootBuffer(c.operands[1]) == destRoot)
    return false;
  bool readsOut = false;
  for (OpOperand *input : e.getDpsInputOperands()) {
    Value v = input->get();
    auto type = dyn_cast<MemRefType>(v.getType());
    AffineMap map = e.getMatchingIndexingMap(input);
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32() ||
        !map.isProjectedPermutation(/*allowZeroInResults=*/false))
      return false;
    if (v == out) {
      if (!map.isIdentity())
        return false;
      readsOut = true;
      continue;
    }
    // Another thread writes out (and dest) elsewhere: read neither, except
    // dest itself at the thread's own element.
    Value root = rootBuffer(v);
    if (root == rootBuffer(out) ||
        (root == destRoot && !(v == dest && map.isIdentity())))
      return false;
  }
  return readsOut;
}

/// Operand `i` of `c` as the parts copies assemble it from
/// (concatenationOf), where the kernel can read those instead: with an
/// epilogue, which writes its own buffer while other blocks still read,
/// none of the parts may be that buffer and none computed in the kernel.
std::optional<Concatenation> partsRead(const Contraction &c, unsigned i) {
  std::optional<Concatenation> parts = concatenationOf(c.op, c.operands[i]);
  if (!parts || !c.consumer)
    return parts;
  linalg::GenericOp consumer = c.consumer;
  Value dest = rootBuffer(consumer.getDpsInits()[0]);
  for (auto [source, producer] : llvm::zip(parts->sources, parts->producers))
    if (producer || rootBuffer(source) == dest)
      return std::nullopt;
  return parts;
}

} // namespace

bool Contraction::kContiguous(unsigned i) const {
  // The last axis that is not a unit axis.
  for (AffineExpr e : llvm::reverse(maps[i].getResults()))
    if (auto dim = dyn_cast<AffineDimExpr>(e))
      return llvm::is_contained(k, dim.getPosition());
  return false;
}

std::optional<Contraction> heed::matchContraction(linalg::GenericOp op,
                                                  int64_t minSide) {
  if (!op.hasPureBufferSemantics() ||
      !isMultiplyAccumulate(op, /*unitAxes=*/true))
    return std::nullopt;
  for (Value operand : op->getOperands()) {
    auto type = dyn_cast<MemRefType>(operand.getType());
    if (!type || !type.hasStaticShape() || !type.getElementType().isF32())
      return std::nullopt;
  }
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  Contraction c;
  c.op = op;
  c.maps = maps;
  c.operands = llvm::to_vector(op->getOperands());
  c.init = c.operands[2];
  if (auto copy = dyn_cast_or_null<memref::CopyOp>(op->getPrevNode()))
    if (copy.getTarget() == c.operands[2] &&
        copy.getSource() != c.operands[0] &&
        copy.getSource() != c.operands[1] &&
        cast<MemRefType>(copy.getSource().getType()).getShape() ==
            cast<MemRefType>(c.operands[2].getType()).getShape()) {
      c.initCopy = copy;
      c.init = copy.getSource();
    }
  auto next = dyn_cast_or_null<linalg::GenericOp>(op->getNextNode());
  if (fusesAsEpilogue(c, next))
    c.consumer = next;
  if (c.operands[0] != c.operands[1])
    for (unsigned i : {0u, 1u})
      c.parts[i] = partsRead(c, i);
  c.sizes = op.getStaticLoopRanges();
  auto uses = [&](AffineMap map, unsigned d) { return map.isFunctionOfDim(d); };
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < op.getNumLoops(); ++d) {
    bool inA = uses(maps[0], d), inB = uses(maps[1], d),
         inOut = uses(maps[2], d);
    bool parallel = iterators[d] == utils::IteratorType::parallel;
    if (parallel != inOut)
      return std::nullopt;
    if (!parallel && inA && inB)
      c.k.push_back(d);
    else if (parallel && inA && inB)
      c.batch.push_back(d);
    else if (parallel && inA)
      c.m.push_back(d);
    else if (parallel && inB)
      c.n.push_back(d);
    else
      return std::nullopt; // a dim of one operand only, or of out only
  }
  if (c.m.empty() || c.n.empty() || c.k.empty() || c.size(c.m) < minSide ||
      c.size(c.n) < minSide || c.size(c.k) < minSide)
    return std::nullopt;
  return c;
}

Value ContractionAccess::idx(int64_t v) {
  return arith::ConstantIndexOp::create(b, loc, v);
}

Value ContractionAccess::lessThan(Value v, int64_t bound) {
  return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, v,
                               idx(bound));
}

SmallVector<Value> ContractionAccess::batchValues(Value batch) {
  SmallVector<Value> values(c.sizes.size());
  splitLinearIndex(b, loc, batch, c.batch, c.sizes, values);
  return values;
}

Value ContractionAccess::load(unsigned i, SmallVectorImpl<Value> &values,
                              Value f, Value k) {
  ArrayRef<unsigned> dims = i == 0 ? c.m : c.n;
  int64_t free = c.size(dims), depth = c.size(c.k);
  Value inside =
      arith::AndIOp::create(b, loc, lessThan(f, free), lessThan(k, depth));
  splitLinearIndex(b, loc, arith::MinUIOp::create(b, loc, f, idx(free - 1)),
                   dims, c.sizes, values);
  splitLinearIndex(b, loc, arith::MinUIOp::create(b, loc, k, idx(depth - 1)),
                   c.k, c.sizes, values);
  SmallVector<Value> at = operandIndices(b, loc, c.maps[i], values);
  Value x = c.parts[i] ? loadConcatenated(b, loc, *c.parts[i], at)
                       : memref::LoadOp::create(b, loc, c.operands[i], at);
  Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
  return arith::SelectOp::create(b, loc, inside, x, zero);
}

void ContractionAccess::store(SmallVectorImpl<Value> &values, Value m, Value n,
                              Value sum) {
  splitLinearIndex(b, loc, m, c.m, c.sizes, values);
  splitLinearIndex(b, loc, n, c.n, c.sizes, values);
  Value inside = arith::AndIOp::create(b, loc, lessThan(m, c.size(c.m)),
                                       lessThan(n, c.size(c.n)));
  auto branch = scf::IfOp::create(b, loc, TypeRange{}, inside, false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&branch.getThenRegion().front());
  SmallVector<Value> at = operandIndices(b, loc, c.maps[2], values);
  Value value = arith::AddFOp::create(
      b, loc, memref::LoadOp::create(b, loc, c.init, at), sum);
  memref::StoreOp::create(b, loc, value, c.operands[2], at);
  if (c.consumer)
    applyConsumer(value, at);
}

/// The fused consumer's body for the output element `value` at `at` (its
/// loop dims are out's axes), stored to its init.
void ContractionAccess::applyConsumer(Value value, ArrayRef<Value> at) {
  linalg::GenericOp e = c.consumer;
  Block &body = e.getRegion().front();
  IRMapping map;
  for (OpOperand &operand : e->getOpOperands()) {
    BlockArgument arg = body.getArgument(operand.getOperandNumber());
    if (arg.use_empty())
      continue;
    map.map(arg,
            operand.get() == c.operands[2]
                ? value
                : memref::LoadOp::create(
                      b, loc, operand.get(),
                      operandIndices(e.getMatchingIndexingMap(&operand), at))
                      .getResult());
  }
  for (Operation &inner : body.without_terminator())
    b.clone(inner, map);
  Value result = map.lookupOrDefault(body.getTerminator()->getOperand(0));
  memref::StoreOp::create(b, loc, result, e.getDpsInits()[0], at);
}

void ContractionAccess::erase(const Contraction &c,
                              llvm::DenseSet<Operation *> &erased) {
  linalg::GenericOp op = c.op;
  op.erase();
  if (memref::CopyOp copy = c.initCopy)
    copy.erase();
  if (linalg::GenericOp consumer = c.consumer) {
    erased.insert(consumer);
    consumer.erase();
  }
  eraseConcatenations(c.parts, erased);
}

void heed::setOperandTileCopies(BlockProgram &p, OperandTiles tiles,
                                bool prefetch) {
  int64_t threads = p.threads;
  if (!prefetch) {
    p.load = [tiles, threads](OpBuilder &b, const BlockPlace &place, Value k0) {
      for (unsigned i : {0u, 1u})
        emitStridedCopy(
            b, b.getUnknownLoc(), place.thread, threads, tiles.elements[i],
            /*unrolled=*/false,
            [&](OpBuilder &b, Value e) {
              return tiles.read(b, place, i, k0, e);
            },
            [&](OpBuilder &b, Value e, Value x) {
              tiles.write(b, place, i, e, x);
            });
    };
    return;
  }
  assert(!p.shared.empty() && "the tiles' types first");
  int64_t first = llvm::divideCeil(tiles.elements[0], threads);
  p.fetched.assign(first + llvm::divideCeil(tiles.elements[1], threads),
                   Float32Type::get(p.shared.front().getContext()));
  p.fetch = [tiles, threads](OpBuilder &b, const BlockPlace &place, Value k0) {
    SmallVector<Value> values;
    for (unsigned i : {0u, 1u})
      llvm::append_range(
          values,
          emitStridedReads(b, b.getUnknownLoc(), place.thread, threads,
                           tiles.elements[i], [&](OpBuilder &b, Value e) {
                             return tiles.read(b, place, i, k0, e);
                           }));
    return values;
  };
  p.store = [tiles, threads, first](OpBuilder &b, const BlockPlace &place,
                                    Value, ValueRange values) {
    for (unsigned i : {0u, 1u})
      emitStridedWrites(
          b, b.getUnknownLoc(), place.thread, threads, tiles.elements[i],
          i == 0 ? values.take_front(first) : values.drop_front(first),
          [&](OpBuilder &b, Value e, Value x) {
            tiles.write(b, place, i, e, x);
          });
  };
}
