//===- MLIRGenBeam.cpp - Beam search in a loop that stops -----------------===//
//
// Part of Heed. `for ... beam (K, length_penalty=a) until ...` runs its body
// on K hypotheses per batch row, folded into the batch (row b·K + k). Each
// step, `token = choose(logprobs)` scores every continuation of every
// hypothesis, keeps the K best per row (one topk over K·V candidates), and
// from then on the body's values follow the new hypotheses: a value
// computed for the old ones is gathered from each new hypothesis' source
// row when it is used. docs/language.md, "Beam search", states the rules.
//
//===----------------------------------------------------------------------===//

#include "frontends/dsl/MLIRGenImpl.h"

#include <cmath>

using namespace mlir;
using namespace heed;
using namespace heed::dsl;
using namespace heed::dsl::gen;

namespace {

RankedTensorType f32Tensor(OpBuilder &b, ArrayRef<int64_t> shape) {
  return RankedTensorType::get(shape, b.getF32Type());
}

Value splat(OpBuilder &b, Location l, ArrayRef<int64_t> shape, float v) {
  return arith::ConstantOp::create(
      b, l, DenseElementsAttr::get(f32Tensor(b, shape), v));
}

Value constant(OpBuilder &b, Location l, ArrayRef<int64_t> shape,
               ArrayRef<float> values) {
  return arith::ConstantOp::create(
      b, l, DenseElementsAttr::get(f32Tensor(b, shape), values));
}

Value binary(OpBuilder &b, Location l, Value x, Value y,
             attn::BinaryKind kind) {
  return attn::BinaryOp::create(b, l, x, y, kind);
}

/// x reshaped to `shape` (same elements, row-major), through a collapse to
/// one axis and an expand.
Value reshapeTo(OpBuilder &b, Location l, Value x, ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(x.getType());
  if (type.getShape() == shape)
    return x;
  int64_t elements = type.getNumElements();
  ReassociationIndices all;
  for (int64_t i = 0; i < type.getRank(); ++i)
    all.push_back(i);
  Value flat = x;
  if (type.getRank() != 1)
    flat =
        tensor::CollapseShapeOp::create(b, l, f32Tensor(b, {elements}), x,
                                        SmallVector<ReassociationIndices>{all});
  if (shape.size() == 1)
    return flat;
  ReassociationIndices out;
  for (size_t i = 0; i < shape.size(); ++i)
    out.push_back(i);
  return tensor::ExpandShapeOp::create(b, l, f32Tensor(b, shape), flat,
                                       SmallVector<ReassociationIndices>{out});
}

} // namespace

Value Generator::gatherRows(Location l, Value x, Value rows) {
  // One row copy per picked row (attn.gather_rows), not a gather per
  // element: an element-wise gather unrolled into scalar code.
  return attn::GatherRowsOp::create(builder, l, x, rows);
}

Value Generator::repeatRows(Location l, Value x, int64_t k) {
  auto type = cast<RankedTensorType>(x.getType());
  Value repeated = attn::RepeatOp::create(builder, l, x, 1, k); // [B, k, ...]
  SmallVector<int64_t> shape(type.getShape());
  shape[0] *= k;
  return reshapeTo(builder, l, repeated, shape);
}

Value Generator::firstHypotheses(Location l, Value x, int64_t k) {
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[0] /= k;
  SmallVector<OpFoldResult> offsets(type.getRank(), builder.getIndexAttr(0)),
      sizes, strides(type.getRank(), builder.getIndexAttr(1));
  for (int64_t d : shape)
    sizes.push_back(builder.getIndexAttr(d));
  strides[0] = builder.getIndexAttr(k);
  return tensor::ExtractSliceOp::create(
      builder, l, RankedTensorType::get(shape, type.getElementType()), x,
      offsets, sizes, strides);
}

Value Generator::lengthNormalized(Location l, Value x, Value lengths,
                                  double penalty) {
  if (penalty == 0)
    return x;
  Value alpha = splat(builder, l, {1}, float(penalty));
  Value divisor = genPow(l, lengths, alpha, penalty);
  return binary(builder, l, x, divisor, attn::BinaryKind::div);
}

Value Generator::beamValue(const Expr &name, Value v) {
  BeamFrame *beam = currentBeam();
  if (!beam || name.type.empty() || name.type[0] != beam->batch)
    return v;
  Location l = loc(name.loc);
  auto before = beam->outer.find(name.name);
  if (before != beam->outer.end() && before->second == v) {
    // Bound before the loop: the same for each of a row's hypotheses.
    v = repeatRows(l, v, beam->width);
    beam->repeated.insert(v);
  } else if (beam->chosen && beam->pending.contains(v)) {
    v = gatherRows(l, v, beam->source);
  } else {
    return v;
  }
  values[name.name] = v;
  return v;
}

Value Generator::genChoose(const Expr &e, Value logprobs) {
  // Candidates: each hypothesis' score plus each token's log-probability;
  // a finished hypothesis has one, itself, with its score unchanged. They
  // are ranked by score / length^penalty (the length counting this step
  // for running hypotheses), the K best of each row's K·V kept, the first
  // of equal keys first (candidate order: hypothesis, then token).
  Location l = loc(e.loc);
  BeamFrame &beam = *currentBeam();
  LoopFrame &frame = *loops.back();
  auto type = cast<RankedTensorType>(logprobs.getType());
  int64_t hyps = type.getDimSize(0), vocab = type.getDimSize(1);
  int64_t k = beam.width, rows = beam.rows;
  auto column = [&](Value v) { return insertUnitAxis(builder, l, v, 1); };
  Value scores = column(beam.scores), finished = column(beam.finished);
  SmallVector<float> frozenRow(vocab, -INFINITY);
  frozenRow[0] = 0;
  Value candidates = attn::SelectOp::create(
      builder, l, finished,
      binary(builder, l, scores, constant(builder, l, {1, vocab}, frozenRow),
             attn::BinaryKind::add),
      binary(builder, l, scores, logprobs, attn::BinaryKind::add));
  Value one = splat(builder, l, {1}, 1.0f);
  Value lengths =
      binary(builder, l, beam.lengths,
             binary(builder, l, one, beam.finished, attn::BinaryKind::sub),
             attn::BinaryKind::add);
  Value keys =
      lengthNormalized(l, candidates, column(lengths), beam.penalty); // [N, V]
  Value perRow = reshapeTo(builder, l, keys, {rows, k * vocab});
  Value index = topkLastAxis(builder, l, perRow, k, /*largest=*/true)[1];
  // Candidate index = origin·V + token; origin = #{j in 1..K-1 : index ≥ jV}.
  Value origin = splat(builder, l, {rows, k}, 0.0f);
  if (k > 1) {
    SmallVector<float> thresholds;
    for (int64_t j = 1; j < k; ++j)
      thresholds.push_back(float(j * vocab));
    Value reached =
        binary(builder, l, insertUnitAxis(builder, l, index, 2),
               constant(builder, l, {k - 1}, thresholds), attn::BinaryKind::ge);
    origin = attn::ReduceOp::create(builder, l, reached, attn::ReduceKind::sum,
                                    2, /*keepdim=*/false);
  }
  Value token = binary(builder, l, index,
                       binary(builder, l, origin, splat(builder, l, {1}, vocab),
                              attn::BinaryKind::mul),
                       attn::BinaryKind::sub);
  SmallVector<float> firstRows;
  for (int64_t b = 0; b < rows; ++b)
    for (int64_t j = 0; j < k; ++j)
      firstRows.push_back(float(b * k));
  Value source =
      reshapeTo(builder, l,
                binary(builder, l, constant(builder, l, {rows, k}, firstRows),
                       origin, attn::BinaryKind::add),
                {hyps});
  token = reshapeTo(builder, l, token, {hyps});
  // The chosen candidates' scores, read back (not recomputed from keys).
  Value flatIds =
      binary(builder, l,
             binary(builder, l, source, splat(builder, l, {1}, vocab),
                    attn::BinaryKind::mul),
             token, attn::BinaryKind::add);
  Value flatCandidates = reshapeTo(builder, l, candidates, {hyps * vocab, 1});
  beam.newScores = reshapeTo(
      builder, l,
      attn::EmbeddingOp::create(builder, l, flatIds, flatCandidates), {hyps});
  beam.source = source;
  beam.sourceFinished = gatherRows(l, beam.finished, source);
  beam.sourceLengths = gatherRows(l, beam.lengths, source);
  // What the body computed so far belongs to the old hypotheses.
  for (auto &entry : frame.stacked)
    entry.second = gatherRows(l, entry.second, source);
  frame.finished = beam.sourceFinished;
  for (auto &entry : values) {
    Value v = entry.second;
    auto before = beam.outer.find(entry.getKey());
    bool fromOutside = before != beam.outer.end() && before->second == v;
    if (!fromOutside && !beam.repeated.contains(v))
      beam.pending.insert(v);
  }
  beam.chosen = true;
  return token;
}
