//===- CopiedOperands.cpp - Operands filled by copies right before --------===//
//
// Part of Heed. See CopiedOperands.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LinalgToGPU/CopiedOperands.h"
#include "compiler/Conversion/LinalgToGPU/LoopIndices.h"
#include "compiler/Transforms/BufferRoots.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;
using namespace heed;

namespace {

/// The allocations, views and copies right before an op: between each of
/// them and the op nothing else runs.
struct RunBefore {
  SmallVector<memref::CopyOp> copies; // nearest first
  Operation *before = nullptr;        // the op before them, if any
};
RunBefore runBefore(Operation *op) {
  RunBefore run;
  Operation *prev = op->getPrevNode();
  for (; prev; prev = prev->getPrevNode()) {
    if (isa<memref::AllocOp, memref::SubViewOp>(prev))
      continue;
    auto copy = dyn_cast<memref::CopyOp>(prev);
    if (!copy)
      break;
    run.copies.push_back(copy);
  }
  run.before = prev;
  return run;
}

/// The element-wise op right before `run` that computes `source` whole,
/// and nothing else touches `source` but `use` and deallocations; reading
/// nothing the run's copies or `inits` write.
linalg::GenericOp producerOf(Value source, memref::CopyOp use,
                             const RunBefore &run, ValueRange inits) {
  if (!source.getDefiningOp<memref::AllocOp>())
    return {};
  auto producer = dyn_cast_or_null<linalg::GenericOp>(run.before);
  if (!producer || !producer.hasPureBufferSemantics() ||
      producer.getNumDpsInits() != 1 || producer.getDpsInits()[0] != source ||
      producer.getNumParallelLoops() != producer.getNumLoops() ||
      !producer.getMatchingIndexingMap(producer.getDpsInitOperand(0))
           .isIdentity())
    return {};
  for (Operation *user : source.getUsers())
    if (user != producer.getOperation() && user != use.getOperation() &&
        !isa<memref::DeallocOp>(user))
      return {};
  Block &body = producer.getRegion().front();
  if (!body.getArguments().back().use_empty())
    return {};
  // Its inputs read at loop dims or constants (computeElement).
  for (AffineMap map : producer.getIndexingMapsArray())
    for (AffineExpr e : map.getResults())
      if (!isa<AffineDimExpr, AffineConstantExpr>(e))
        return {};
  // What it reads: its inputs and the buffers its body loads from.
  SmallVector<Value> reads(producer.getDpsInputs());
  for (Operation &inner : body.without_terminator()) {
    if (auto load = dyn_cast<memref::LoadOp>(inner)) {
      reads.push_back(load.getMemRef());
      continue;
    }
    if (inner.getNumRegions() != 0 || !isMemoryEffectFree(&inner))
      return {};
  }
  for (Value read : reads) {
    if (!isa<MemRefType>(read.getType()))
      continue;
    Value viewed = viewedBuffer(read);
    for (memref::CopyOp copy : run.copies)
      if (mayAlias(viewed, viewedBuffer(copy.getTarget())))
        return {};
    for (Value init : inits)
      if (mayAlias(viewed, viewedBuffer(init)))
        return {};
  }
  return producer;
}

/// The element `producer` computes at `indices` (its loop dims').
Value computeElement(OpBuilder &b, Location loc, linalg::GenericOp producer,
                     ArrayRef<Value> indices) {
  IRMapping map;
  Block &body = producer.getRegion().front();
  SmallVector<AffineMap> maps = producer.getIndexingMapsArray();
  for (OpOperand *input : producer.getDpsInputOperands()) {
    BlockArgument arg = body.getArgument(input->getOperandNumber());
    if (!isa<MemRefType>(input->get().getType())) {
      map.map(arg, input->get()); // a scalar input
      continue;
    }
    map.map(arg, memref::LoadOp::create(
                     b, loc, input->get(),
                     operandIndices(b, loc, maps[input->getOperandNumber()],
                                    indices)));
  }
  for (Operation &inner : body.without_terminator()) {
    if (auto index = dyn_cast<linalg::IndexOp>(inner)) {
      map.map(index.getResult(), indices[index.getDim()]);
      continue;
    }
    b.clone(inner, map);
  }
  return map.lookupOrDefault(body.getTerminator()->getOperand(0));
}

} // namespace

memref::CopyOp heed::initCopyOf(linalg::GenericOp op, unsigned init,
                                size_t parallelDims) {
  Value out = op.getDpsInits()[init];
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(init));
  if (!outMap.isProjectedPermutation() ||
      outMap.getNumResults() != parallelDims)
    return {};
  Value root = rootBuffer(out);
  auto writtenByOp = [&](Value v) {
    return llvm::any_of(op.getDpsInits(), [&](Value o) {
      return rootBuffer(o) == rootBuffer(v);
    });
  };
  if (llvm::any_of(op.getDpsInputs(),
                   [&](Value in) { return rootBuffer(in) == root; }))
    return {};
  SmallVector<memref::CopyOp> copies = runBefore(op).copies;
  memref::CopyOp found;
  for (memref::CopyOp copy : copies)
    if (copy.getTarget() == out) {
      found = copy;
      break;
    }
  if (!found ||
      cast<MemRefType>(found.getSource().getType()).getShape() !=
          cast<MemRefType>(out.getType()).getShape() ||
      writtenByOp(found.getSource()))
    return {};
  // No other of those copies writes the source (after or before the found
  // one: which value it held would depend on the order) or touches the
  // init.
  for (memref::CopyOp other : copies)
    if (other != found &&
        (rootBuffer(other.getTarget()) == rootBuffer(found.getSource()) ||
         rootBuffer(other.getTarget()) == root ||
         rootBuffer(other.getSource()) == root))
      return {};
  return found;
}

std::optional<Concatenation> heed::concatenationOf(linalg::GenericOp op,
                                                   Value input) {
  if (!input.getDefiningOp<memref::AllocOp>())
    return std::nullopt;
  auto type = cast<MemRefType>(input.getType());
  if (!type.hasStaticShape())
    return std::nullopt;
  ArrayRef<int64_t> shape = type.getShape();
  RunBefore run = runBefore(op);
  struct Part {
    SmallVector<int64_t> offsets, sizes;
    memref::CopyOp copy;
  };
  SmallVector<Part> parts;
  for (OpOperand &use : input.getUses()) {
    Operation *user = use.getOwner();
    if (user == op.getOperation()) {
      if (!op.isDpsInput(&use))
        return std::nullopt;
      continue;
    }
    if (isa<memref::DeallocOp>(user))
      continue;
    auto view = dyn_cast<memref::SubViewOp>(user);
    if (!view || !view->hasOneUse() ||
        view.getType().getRank() != type.getRank())
      return std::nullopt;
    auto copy = dyn_cast<memref::CopyOp>(*view->user_begin());
    if (!copy || copy.getTarget() != view.getResult() ||
        !llvm::is_contained(run.copies, copy))
      return std::nullopt;
    auto isStatic = [](ArrayRef<int64_t> values) {
      return llvm::none_of(values, ShapedType::isDynamic);
    };
    if (!isStatic(view.getStaticOffsets()) ||
        !isStatic(view.getStaticSizes()) ||
        llvm::any_of(view.getStaticStrides(), [](int64_t s) { return s != 1; }))
      return std::nullopt;
    parts.push_back({llvm::to_vector(view.getStaticOffsets()),
                     llvm::to_vector(view.getStaticSizes()), copy});
  }
  if (parts.empty())
    return std::nullopt;
  // The one dim a part does not cover whole (dim 0 for a single part
  // covering everything).
  std::optional<unsigned> dim;
  for (const Part &part : parts)
    for (unsigned d = 0; d < shape.size(); ++d) {
      if (part.offsets[d] == 0 && part.sizes[d] == shape[d])
        continue;
      if (dim && *dim != d)
        return std::nullopt;
      dim = d;
    }
  Concatenation c;
  c.buffer = input;
  c.dim = dim.value_or(0);
  llvm::sort(parts, [&](const Part &x, const Part &y) {
    return x.offsets[c.dim] < y.offsets[c.dim];
  });
  int64_t next = 0;
  for (Part &part : parts) {
    if (part.offsets[c.dim] != next)
      return std::nullopt; // a gap or an overlap
    next += part.sizes[c.dim];
    c.offsets.push_back(part.offsets[c.dim]);
    c.sizes.push_back(part.sizes[c.dim]);
    c.sources.push_back(part.copy.getSource());
    c.copies.push_back(part.copy);
  }
  if (next != shape[c.dim])
    return std::nullopt;
  for (auto [source, copy] : llvm::zip(c.sources, c.copies))
    c.producers.push_back(producerOf(source, copy, run, op.getDpsInits()));
  // The kernel reads the sources when the op runs: nothing between the
  // copies and the op (those copies) nor the op itself may write them.
  for (auto [source, producer] : llvm::zip(c.sources, c.producers)) {
    if (producer)
      continue; // computed where the kernel reads it (checked above)
    Value viewed = viewedBuffer(source);
    for (memref::CopyOp copy : run.copies)
      if (mayAlias(viewed, viewedBuffer(copy.getTarget())))
        return std::nullopt;
    for (Value init : op.getDpsInits())
      if (mayAlias(viewed, viewedBuffer(init)))
        return std::nullopt;
  }
  return c;
}

Value heed::loadConcatenated(OpBuilder &b, Location loc, const Concatenation &c,
                             ArrayRef<Value> indices) {
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value along = indices[c.dim];
  Value element;
  for (size_t part = 0; part < c.sources.size(); ++part) {
    // The index into this part, clamped into it.
    Value local = along;
    if (c.offsets[part] != 0)
      local = arith::MaxSIOp::create(
          b, loc, arith::SubIOp::create(b, loc, along, index(c.offsets[part])),
          index(0));
    if (part + 1 < c.sources.size())
      local = arith::MinSIOp::create(b, loc, local, index(c.sizes[part] - 1));
    SmallVector<Value> at(indices);
    at[c.dim] = local;
    Value value =
        c.producers[part]
            ? computeElement(b, loc, c.producers[part], at)
            : memref::LoadOp::create(b, loc, c.sources[part], at).getResult();
    if (part == 0) {
      element = value;
      continue;
    }
    Value inPart = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                         along, index(c.offsets[part]));
    element = arith::SelectOp::create(b, loc, inPart, value, element);
  }
  return element;
}

void heed::eraseConcatenations(ArrayRef<std::optional<Concatenation>> all,
                               llvm::DenseSet<Operation *> &erased) {
  llvm::SetVector<Operation *> copies, producers;
  for (const std::optional<Concatenation> &c : all) {
    if (!c)
      continue;
    for (memref::CopyOp copy : c->copies)
      copies.insert(copy);
    for (linalg::GenericOp producer : c->producers)
      if (producer)
        producers.insert(producer);
  }
  for (Operation *copy : copies) {
    Operation *view = copy->getOperand(1).getDefiningOp();
    copy->erase();
    if (view && view->use_empty())
      view->erase();
  }
  for (Operation *producer : producers) {
    erased.insert(producer);
    producer->erase();
  }
}
