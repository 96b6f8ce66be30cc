//===- OutlineWeightPreparation.cpp - Weight transforms, run once ---------===//
//
// Part of Heed. Lowering rewrites weights into the layouts the kernels want
// (transposed, padded to whole vectors, split by columns); those ops depend
// on weights only, so they move into `@<model>_prepare`, which the runtime
// calls once per bound weight set instead of once per inference.
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"

#include <functional>

namespace heed {
#define GEN_PASS_DEF_OUTLINEWEIGHTPREPARATION
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// The values an op reads: its operands and what its regions capture.
SmallVector<Value> readValues(Operation *op) {
  SmallVector<Value> values(op->getOperands());
  llvm::SetVector<Value> captured;
  getUsedValuesDefinedAbove(op->getRegions(), captured);
  values.append(captured.begin(), captured.end());
  return values;
}

/// Whether `op` would expand the weights it reads into a much larger
/// tensor: a bias broadcast over the batch rows as a product's initial
/// value. Prepared, it is as large as the layer's output (dense_attention
/// at B = 2e7: 2.6 GB, 2.2 s to prepare) and read back every run; in the
/// model it is written where the product needs it. Small tensors and
/// layout changes (transposes, padding to whole vectors) still move.
bool expandsWeights(Operation *op, ArrayRef<Value> reads,
                    const llvm::DenseSet<Value> &weightDerived) {
  constexpr int64_t kSmall = 4096, kFactor = 4;
  int64_t largestRead = 1;
  for (Value v : reads) {
    auto type = dyn_cast<RankedTensorType>(v.getType());
    if (!type || !weightDerived.contains(v))
      continue;
    if (!type.hasStaticShape())
      return false; // sizes unknown here: as before
    largestRead = std::max(largestRead, type.getNumElements());
  }
  for (Type result : op->getResultTypes()) {
    auto type = cast<RankedTensorType>(result);
    if (!type.hasStaticShape())
      return true; // a size the weights do not have (the batch's)
    if (type.getNumElements() > kSmall &&
        type.getNumElements() > kFactor * largestRead)
      return true;
  }
  return false;
}

void outline(func::FuncOp model) {
  Block &body = model.getBody().front();
  // inputFree: computable without the model's inputs (weights, constants,
  // empty and filled destinations). weightDerived: inputFree values that
  // read a weight. Only weight-derived ops move; the input-free values they
  // read (constants, zero-filled destinations) are cloned along.
  llvm::DenseSet<Value> inputFree, weightDerived;
  SmallVector<BlockArgument> weights;
  for (BlockArgument arg : body.getArguments())
    if (model.getArgAttr(arg.getArgNumber(), "heed.weight")) {
      inputFree.insert(arg);
      weightDerived.insert(arg);
      weights.push_back(arg);
    }
  SmallVector<Operation *> prep;
  for (Operation &op : body.without_terminator()) {
    if (op.getNumResults() == 0 || !isMemoryEffectFree(&op))
      continue;
    SmallVector<Value> reads = readValues(&op);
    if (!llvm::all_of(reads, [&](Value v) { return inputFree.contains(v); }))
      continue;
    for (Value r : op.getResults())
      inputFree.insert(r);
    // Prepared values are tensors: a buffer view of a weight (a kernel
    // call's operand) stays with its call.
    bool tensorResults =
        llvm::all_of(op.getResultTypes(), llvm::IsaPred<RankedTensorType>);
    if (tensorResults &&
        llvm::any_of(reads,
                     [&](Value v) { return weightDerived.contains(v); }) &&
        !expandsWeights(&op, reads, weightDerived)) {
      prep.push_back(&op);
      for (Value r : op.getResults())
        weightDerived.insert(r);
    }
  }
  llvm::DenseSet<Operation *> prepSet(prep.begin(), prep.end());
  // Values the model still needs. A slice of a weight argument stays a
  // view in the model (free, and a function must not return a view of its
  // own argument); everything else computed is handed over.
  auto isViewOfArgument = [](Value v) {
    auto slice = v.getDefiningOp<tensor::ExtractSliceOp>();
    return slice && isa<BlockArgument>(slice.getSource());
  };
  llvm::SetVector<Value> frontier;
  for (Operation *op : prep)
    for (Value r : op->getResults())
      for (Operation *user : r.getUsers())
        if (!prepSet.contains(user) && !isViewOfArgument(r))
          frontier.insert(r);
  if (frontier.empty())
    return;

  // @<model>_prepare(weights...) -> (frontier...)
  OpBuilder b(model);
  SmallVector<Type> argTypes, resultTypes;
  for (BlockArgument w : weights)
    argTypes.push_back(w.getType());
  for (Value v : frontier)
    resultTypes.push_back(v.getType());
  std::string name = (model.getName() + "_prepare").str();
  auto prepare = func::FuncOp::create(b, model.getLoc(), name,
                                      b.getFunctionType(argTypes, resultTypes));
  // Runs once per compilation: later passes favour compile time. LLVM
  // compiles it for size (no unrolling or vectorization of its copies):
  // 30-50 ms less per model, the same preparation time (docs/benchmarks.md).
  prepare->setAttr("heed.weight_preparation", b.getUnitAttr());
  prepare->setAttr("passthrough", b.getStrArrayAttr({"minsize", "optsize"}));
  Block *entry = prepare.addEntryBlock();
  IRMapping map;
  for (auto [i, w] : llvm::enumerate(weights)) {
    map.map(w, entry->getArgument(i));
    prepare.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  }
  OpBuilder pb = OpBuilder::atBlockEnd(entry);
  // Clones the input-free producers of `v` that are not moving themselves.
  std::function<void(Value)> cloneProducer = [&](Value v) {
    if (map.contains(v))
      return;
    Operation *def = v.getDefiningOp();
    for (Value read : readValues(def))
      cloneProducer(read);
    map.map(def->getResults(), pb.clone(*def, map)->getResults());
  };
  for (Operation *op : prep) {
    for (Value read : readValues(op))
      cloneProducer(read);
    map.map(op->getResults(), pb.clone(*op, map)->getResults());
  }
  SmallVector<Value> results;
  for (Value v : frontier)
    results.push_back(map.lookup(v));
  func::ReturnOp::create(pb, model.getLoc(), results);

  // The model takes the prepared values as new trailing arguments.
  for (Value v : frontier) {
    unsigned index = model.getNumArguments();
    if (failed(model.insertArgument(index, v.getType(), {}, v.getLoc())))
      return;
    model.setArgAttr(index, "bufferization.writable", b.getBoolAttr(false));
    model.setArgAttr(index, "heed.prepared", b.getUnitAttr());
    v.replaceAllUsesWith(model.getArgument(index));
  }
  for (Operation *op : llvm::reverse(prep))
    if (op->use_empty())
      op->erase();
  model->setAttr("heed.prepare", FlatSymbolRefAttr::get(prepare));
}

struct OutlineWeightPreparationPass
    : heed::impl::OutlineWeightPreparationBase<OutlineWeightPreparationPass> {
  void runOnOperation() override {
    SmallVector<func::FuncOp> models;
    for (auto func : getOperation().getOps<func::FuncOp>())
      if (func->hasAttr("heed.outputs"))
        models.push_back(func);
    for (func::FuncOp model : models)
      outline(model);
  }
};

} // namespace
