//===- FuseThreadLocalLoops.cpp - Element-wise consumers into producers ---===//
//
// Part of Heed. See Passes.td (heed-fuse-thread-local-loops).
//
// After convert-linalg-to-parallel-loops a decoder step is a row of loop
// nests, each a kernel launch of its own: a gate's arithmetic, then the
// copy of its result into a concatenation; an embedding's gather, then its
// copy; a mask, then the copy of the masked weights into the step's slice
// of the output. When a loop reads what the loop before it wrote only at
// the element the same iteration wrote (and neither touches what the
// other writes anywhere else), the two run as one loop: each iteration
// does the first body, then the second, in the one thread. An LSTM's gates
// and its cell fuse as a gather (an iteration of the cell takes four of the
// gates'), a softmax's row statistics and the loops over its elements by
// rows (an iteration takes a row, its elements in order). The producer
// moves down to the consumer past ops that touch none of its buffers.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/BufferAccesses.h"
#include "compiler/Conversion/LoopsToGPU/ParallelLoops.h"
#include "compiler/Passes.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/Support/MathExtras.h"

namespace heed {
#define GEN_PASS_DEF_FUSETHREADLOCALLOOPS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;
using namespace heed;

namespace {

/// How many ops back from a loop its producer is looked for.
constexpr int kSearchWindow = 24;

/// One index of an access, in terms its loop's iterations share with
/// another loop's: the n-th dimension of more than one iteration, a
/// constant (a dimension of one iteration is its lower bound), or a value
/// from outside the loop. `kind` Other: anything else (computed inside).
struct Index {
  enum Kind { Dim, Constant, Outside, Other } kind;
  int64_t n = 0;
  Value value;
  bool operator==(const Index &o) const {
    return kind == o.kind && n == o.n && value == o.value && kind != Other;
  }
};

/// A load or store of a loop, or another effect on a buffer (`plain`
/// false: its element is unknown).
struct Access {
  Value memref, root;
  bool write = false, plain = false;
  SmallVector<Index> indices;
};

/// A top-level parallel loop with constant bounds and known accesses.
struct Loop {
  scf::ParallelOp op;
  /// Bounds (lower, upper, step) of the dimensions of more than one
  /// iteration, in order.
  SmallVector<std::array<int64_t, 3>> dims;
  /// Per induction variable: its position in dims, or -1 (one iteration).
  SmallVector<int> dimOf;
  SmallVector<Access> accesses;
  BufferAccesses buffers;
};

Index classify(const Loop &loop, Value v) {
  scf::ParallelOp op = loop.op;
  if (auto arg = dyn_cast<BlockArgument>(v);
      arg && arg.getOwner() == op.getBody()) {
    unsigned i = arg.getArgNumber();
    if (loop.dimOf[i] >= 0)
      return {Index::Dim, loop.dimOf[i], {}};
    return {Index::Constant, *getConstantIntValue(op.getLowerBound()[i]), {}};
  }
  if (std::optional<int64_t> c = getConstantIntValue(v))
    return {Index::Constant, *c, {}};
  if (!op->isAncestor(v.getParentBlock()->getParentOp()))
    return {Index::Outside, 0, v};
  return {Index::Other, 0, {}};
}

std::optional<Loop> analyze(scf::ParallelOp op) {
  if (op.getNumResults() || op->hasAttr("mapping"))
    return std::nullopt;
  Loop loop{op, {}, {}, {}, {}};
  for (unsigned d = 0; d < op.getNumLoops(); ++d) {
    std::optional<int64_t> lb = getConstantIntValue(op.getLowerBound()[d]),
                           ub = getConstantIntValue(op.getUpperBound()[d]),
                           step = getConstantIntValue(op.getStep()[d]);
    std::optional<int64_t> trips = tripCount(op, d);
    if (!lb || !ub || !step || !trips)
      return std::nullopt;
    if (*trips == 1) {
      loop.dimOf.push_back(-1);
      continue;
    }
    loop.dimOf.push_back(loop.dims.size());
    loop.dims.push_back({*lb, *ub, *step});
  }
  if (!collectBufferAccesses(op, loop.buffers))
    return std::nullopt;
  op.getBody()->walk([&](Operation *inner) {
    auto load = dyn_cast<memref::LoadOp>(inner);
    auto store = dyn_cast<memref::StoreOp>(inner);
    if (load || store) {
      Access a;
      a.memref = load ? load.getMemRef() : store.getMemRef();
      a.root = viewedBuffer(a.memref);
      a.write = bool(store);
      a.plain = true;
      for (Value i : load ? load.getIndices() : store.getIndices())
        a.indices.push_back(classify(loop, i));
      loop.accesses.push_back(a);
      return;
    }
    auto effects = dyn_cast<MemoryEffectOpInterface>(inner);
    if (!effects)
      return;
    SmallVector<MemoryEffects::EffectInstance> list;
    effects.getEffects(list);
    for (const MemoryEffects::EffectInstance &e : list)
      if (Value buffer = e.getValue())
        loop.accesses.push_back({buffer,
                                 viewedBuffer(buffer),
                                 !isa<MemoryEffects::Read>(e.getEffect()),
                                 false,
                                 {}});
  });
  return loop;
}

/// Calls `check` on each pair of an access of `producer` and one of
/// `consumer` that may touch the same memory, one of them a write (`check`
/// says whether the loops may still fuse); whether every call said so.
/// `dependent` says whether there was such a pair at all.
template <typename Check>
bool checkShared(const Loop &producer, const Loop &consumer, bool &dependent,
                 Check check) {
  dependent = false;
  for (const Access &p : producer.accesses)
    for (const Access &c : consumer.accesses) {
      if ((!p.write && !c.write) ||
          !mayOverlap(regionOf(p.memref), regionOf(c.memref)))
        continue;
      dependent = true;
      if (!check(p, c))
        return false;
    }
  return true;
}

/// Whether an access reaches one element per iteration, the same in both
/// loops for the same iteration: plain, and every dimension of more than
/// one iteration among its indices, each index a dimension, a constant or
/// a value from outside the loop.
bool isPerIteration(const Access &a, const Loop &loop) {
  if (!a.plain)
    return false;
  SmallVector<bool> seen(loop.dims.size(), false);
  for (const Index &i : a.indices) {
    if (i.kind == Index::Other)
      return false;
    if (i.kind == Index::Dim)
      seen[i.n] = true;
  }
  return llvm::all_of(seen, [](bool s) { return s; });
}

/// Whether `consumer` can run in `producer`'s iterations: the same
/// iterations, and every access of one to a buffer the other writes (or
/// that may alias one it writes) and every access of one to a buffer it
/// writes that the other reads, through one memref value at one element
/// per iteration, the same in both. Each iteration of the fused loop then
/// touches its own elements of the shared buffers only. `dependent` says
/// whether they share such a buffer at all.
bool canFuse(const Loop &producer, const Loop &consumer, bool &dependent) {
  dependent = false;
  if (producer.dims != consumer.dims)
    return false;
  return checkShared(
      producer, consumer, dependent, [&](const Access &p, const Access &c) {
        return p.root == c.root && p.memref == c.memref &&
               isPerIteration(p, producer) && isPerIteration(c, consumer) &&
               p.indices == c.indices;
      });
}

/// The most producer iterations one consumer iteration takes in a gather
/// fusion (its body is cloned as often).
constexpr int64_t kMaxGather = 8;

/// The static offset along dimension `d` of `memref` when it is a subview of
/// `source` with static offsets, sizes and unit strides whose other offsets
/// are 0.
std::optional<int64_t> offsetInto(Value memref, Value source, size_t d) {
  auto view = memref.getDefiningOp<memref::SubViewOp>();
  if (!view || view.getSource() != source)
    return std::nullopt;
  ArrayRef<int64_t> offsets = view.getStaticOffsets();
  if (d >= offsets.size() ||
      llvm::any_of(view.getStaticStrides(), [](int64_t s) { return s != 1; }) ||
      llvm::any_of(view.getStaticSizes(), ShapedType::isDynamic))
    return std::nullopt;
  for (auto [i, offset] : llvm::enumerate(offsets))
    if (ShapedType::isDynamic(offset) || (i != d && offset != 0))
      return std::nullopt;
  return offsets[d];
}

/// How a consumer runs in a producer's iterations as a gather: along
/// dimension `dim` (of more than one iteration), the producer has `parts`
/// times the consumer's `size` iterations.
struct Gather {
  size_t dim;
  int64_t parts, size;
};

/// Whether `consumer` can run in `producer`'s iterations as a gather: the
/// same dimensions of more than one iteration but one, `dim`, from 0 by 1,
/// where the producer's is G times as long as the consumer's (M); the
/// consumer reads what the producer writes only through G subviews of the
/// written memref at offsets 0, M, ..., (G-1) M along the buffer's axis
/// indexed by `dim`, at the element the producer's iteration j + g M wrote
/// for consumer iteration j (an LSTM's gates [B, 4H] then its cell over [B,
/// H]). Nothing else of one may overlap what the other writes.
std::optional<Gather> gatherOf(const Loop &producer, const Loop &consumer) {
  if (producer.dims.size() != consumer.dims.size())
    return std::nullopt;
  std::optional<size_t> differs;
  for (size_t d = 0; d < producer.dims.size(); ++d) {
    if (producer.dims[d] == consumer.dims[d])
      continue;
    if (differs)
      return std::nullopt;
    differs = d;
  }
  if (!differs)
    return std::nullopt;
  const std::array<int64_t, 3> &pd = producer.dims[*differs],
                               &cd = consumer.dims[*differs];
  if (pd[0] != 0 || pd[2] != 1 || cd[0] != 0 || cd[2] != 1)
    return std::nullopt;
  int64_t n = pd[1], m = cd[1];
  if (m < 1 || n % m != 0 || n / m < 2 || n / m > kMaxGather)
    return std::nullopt;
  Gather gather{*differs, n / m, m};
  llvm::SmallDenseSet<int64_t> offsets;
  bool dependent = false;
  if (!checkShared(
          producer, consumer, dependent, [&](const Access &p, const Access &c) {
            // Only the consumer's reads of the producer's per-iteration writes.
            if (!p.write || c.write || !isPerIteration(p, producer) ||
                !c.plain || p.indices.size() != c.indices.size())
              return false;
            auto axis = llvm::find_if(p.indices, [&](const Index &i) {
              return i.kind == Index::Dim && size_t(i.n) == gather.dim;
            });
            if (axis == p.indices.end())
              return false;
            size_t a = axis - p.indices.begin();
            std::optional<int64_t> offset = offsetInto(c.memref, p.memref, a);
            if (!offset || *offset % m != 0 || *offset >= n ||
                !llvm::equal(p.indices, c.indices))
              return false;
            offsets.insert(*offset);
            return true;
          }))
    return std::nullopt;
  // Every producer iteration runs once: all G parts are read.
  if (int64_t(offsets.size()) != gather.parts)
    return std::nullopt;
  return gather;
}

/// The two loops as one where `consumer` was: per consumer iteration the
/// producer's body for the iterations j, j + M, ..., j + (G-1) M along the
/// gather's dimension (the same along the others), then the consumer's.
/// Dimensions of more than one iteration pair up in order; with one part
/// (G = 1) each iteration runs the producer's body for the same iteration.
void fuseGather(const Loop &producer, const Loop &consumer,
                const Gather &gather) {
  scf::ParallelOp c = consumer.op, p = producer.op;
  OpBuilder b(c);
  Location loc = c.getLoc();
  auto fused = scf::ParallelOp::create(b, loc, c.getLowerBound(),
                                       c.getUpperBound(), c.getStep());
  b.setInsertionPoint(fused.getBody()->getTerminator());
  SmallVector<Value> consumerDims;
  for (auto [i, d] : llvm::enumerate(consumer.dimOf))
    if (d >= 0)
      consumerDims.push_back(fused.getInductionVars()[i]);
  for (int64_t part = 0; part < gather.parts; ++part) {
    IRMapping fromProducer;
    for (auto [i, d] : llvm::enumerate(producer.dimOf)) {
      Value v = d >= 0 ? consumerDims[d] : p.getLowerBound()[i];
      if (d >= 0 && size_t(d) == gather.dim && part > 0)
        v = arith::AddIOp::create(
            b, loc, v,
            arith::ConstantIndexOp::create(b, loc, part * gather.size));
      fromProducer.map(p.getInductionVars()[i], v);
    }
    for (Operation &op : p.getBody()->without_terminator())
      b.clone(op, fromProducer);
  }
  IRMapping fromConsumer;
  for (auto [i, iv] : llvm::enumerate(c.getInductionVars()))
    fromConsumer.map(iv, fused.getInductionVars()[i]);
  for (Operation &op : c.getBody()->without_terminator())
    b.clone(op, fromConsumer);
  p.erase();
  c.erase();
}

/// The most iterations a row fusion runs in order in each iteration of the
/// fused loop (a softmax's row over a dozen classes: the reductions over the
/// row already run it in order in one thread).
constexpr int64_t kMaxRowIterations = 32;

/// How a consumer runs in a producer's iterations by rows: the loop with
/// fewer dimensions of more than one iteration has `rows` of them, the same
/// as the other loop's first `rows`; the fused loop has those, and each of
/// its iterations runs the other loop's remaining dimensions in order.
struct Rows {
  bool producerLonger;
  size_t rows;
};

/// Whether `consumer` can run in `producer`'s iterations by rows: at least
/// one dimension of more than one iteration in common (the first ones of
/// each), at most kMaxRowIterations iterations of the longer loop's other
/// dimensions to each of those, and every access of one to a buffer the
/// other writes (or that may alias one it writes) and every access of one to
/// a buffer it writes that the other reads plain and through one memref
/// value, indexed at one position by each common dimension in both. An
/// iteration of the fused loop then touches its own rows of the shared
/// buffers only (a row maximum read by the exponentials of the row, which
/// the row's sum reads). They must share such a buffer.
std::optional<Rows> rowsOf(const Loop &producer, const Loop &consumer) {
  bool producerLonger = producer.dims.size() > consumer.dims.size();
  ArrayRef<std::array<int64_t, 3>> shorter =
      producerLonger ? consumer.dims : producer.dims;
  ArrayRef<std::array<int64_t, 3>> longer =
      producerLonger ? producer.dims : consumer.dims;
  size_t rows = shorter.size();
  if (rows == 0 || !llvm::equal(shorter, longer.take_front(rows)))
    return std::nullopt;
  int64_t inOrder = 1;
  for (const std::array<int64_t, 3> &d : longer.drop_front(rows)) {
    inOrder *= llvm::divideCeil(d[1] - d[0], d[2]);
    if (inOrder > kMaxRowIterations)
      return std::nullopt;
  }
  auto indexedBy = [](const Access &p, const Access &c, int64_t dim) {
    for (auto [i, j] : llvm::zip_equal(p.indices, c.indices))
      if (i.kind == Index::Dim && i.n == dim && j.kind == Index::Dim &&
          j.n == dim)
        return true;
    return false;
  };
  bool dependent = false;
  if (!checkShared(producer, consumer, dependent,
                   [&](const Access &p, const Access &c) {
                     if (p.root != c.root || p.memref != c.memref || !p.plain ||
                         !c.plain || p.indices.size() != c.indices.size())
                       return false;
                     for (size_t d = 0; d < rows; ++d)
                       if (!indexedBy(p, c, d))
                         return false;
                     return true;
                   }) ||
      !dependent)
    return std::nullopt;
  return Rows{producerLonger, rows};
}

/// The two loops as one where `consumer` was, over the shorter loop's
/// iterations: each runs the producer's body, then the consumer's, the
/// longer loop's other dimensions as `scf.for` loops around its body.
void fuseRows(const Loop &producer, const Loop &consumer, const Rows &rows) {
  const Loop &shorter = rows.producerLonger ? consumer : producer;
  scf::ParallelOp c = consumer.op, p = producer.op, s = shorter.op;
  OpBuilder b(c);
  Location loc = c.getLoc();
  auto fused = scf::ParallelOp::create(b, loc, s.getLowerBound(),
                                       s.getUpperBound(), s.getStep());
  // The fused loop's induction variable of each common dimension.
  SmallVector<Value> rowDims(rows.rows);
  for (auto [i, d] : llvm::enumerate(shorter.dimOf))
    if (d >= 0)
      rowDims[d] = fused.getInductionVars()[i];
  auto cloneBody = [&](const Loop &loop) {
    scf::ParallelOp op = loop.op;
    b.setInsertionPoint(fused.getBody()->getTerminator());
    IRMapping mapping;
    for (auto [i, d] : llvm::enumerate(loop.dimOf)) {
      Value iv = op.getInductionVars()[i];
      if (d < 0) {
        mapping.map(iv, op.getLowerBound()[i]);
      } else if (size_t(d) < rows.rows) {
        mapping.map(iv, rowDims[d]);
      } else {
        auto inner = scf::ForOp::create(b, loc, op.getLowerBound()[i],
                                        op.getUpperBound()[i], op.getStep()[i]);
        b.setInsertionPoint(inner.getBody()->getTerminator());
        mapping.map(iv, inner.getInductionVar());
      }
    }
    for (Operation &inner : op.getBody()->without_terminator())
      b.clone(inner, mapping);
  };
  cloneBody(producer);
  cloneBody(consumer);
  p.erase();
  c.erase();
}

/// An op the producer may move down past: no effects, an allocation, or
/// known accesses to buffers the producer does not touch.
bool canPass(Operation &op, const Loop &producer) {
  if (touchesNoMemory(op))
    return true;
  BufferAccesses accesses;
  return collectBufferAccesses(&op, accesses) &&
         !conflict(accesses, producer.buffers);
}

/// Fuses each loop of `block` into the producer before it, if it has one;
/// whether it fused any (a fused loop may be the producer of a later one, or
/// take a producer the parts did not).
bool fuseIn(Block &block) {
  bool fused = false;
  SmallVector<scf::ParallelOp> loops;
  for (Operation &op : block)
    if (auto loop = dyn_cast<scf::ParallelOp>(op))
      loops.push_back(loop);
  for (scf::ParallelOp loop : loops) {
    std::optional<Loop> consumer = analyze(loop);
    if (!consumer)
      continue;
    SmallVector<Operation *> between;
    Operation *op = loop->getPrevNode();
    for (int n = 0; op && n < kSearchWindow; op = op->getPrevNode(), ++n) {
      auto candidate = dyn_cast<scf::ParallelOp>(op);
      std::optional<Loop> producer;
      if (candidate)
        producer = analyze(candidate);
      bool dependent = false;
      // (A loop the consumer depends on in another way stays where it is,
      // and an earlier producer must move past it.)
      if (producer && canFuse(*producer, *consumer, dependent)) {
        if (dependent) {
          if (llvm::all_of(between, [&](Operation *x) {
                return canPass(*x, *producer);
              })) {
            fuseGather(*producer, *consumer, Gather{0, 1, 0});
            fused = true;
          }
          break;
        }
      } else if (producer) {
        std::optional<Gather> gather = gatherOf(*producer, *consumer);
        std::optional<Rows> rows;
        if (!gather)
          rows = rowsOf(*producer, *consumer);
        if (gather || rows) {
          if (llvm::all_of(between, [&](Operation *x) {
                return canPass(*x, *producer);
              })) {
            if (gather)
              fuseGather(*producer, *consumer, *gather);
            else
              fuseRows(*producer, *consumer, *rows);
            fused = true;
          }
          break;
        }
      }
      between.push_back(op);
    }
  }
  return fused;
}

struct FuseThreadLocalLoopsPass
    : heed::impl::FuseThreadLocalLoopsBase<FuseThreadLocalLoopsPass> {
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) {
      if (copy.getTarget().getType().getRank() > 0 &&
          copy.getTarget().getType().hasStaticShape() &&
          !copy->getParentOfType<scf::ParallelOp>())
        copies.push_back(copy);
    });
    for (memref::CopyOp copy : copies)
      copyAsParallelLoop(copy);
    SmallVector<Block *> blocks;
    getOperation()->walk([&](Block *block) {
      Operation *parent = block->getParentOp();
      if (!isa<scf::ParallelOp>(parent) &&
          !parent->getParentOfType<scf::ParallelOp>())
        blocks.push_back(block);
    });
    for (Block *block : blocks)
      while (fuseIn(*block)) {
      }
  }
};

} // namespace
