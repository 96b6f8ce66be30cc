//===- LagStopTests.cpp - Decoders' stop tests without a wait per step ----===//
//
// Part of Heed. See Passes.td (heed-lag-stop-tests).
//
// A stopping decoder (`for ... until`) is an scf.while whose condition
// compares the number of rows still running with zero (the arith.cmpf the
// DSL marks heed.stop_test). After bufferization and the mapping of its
// loop nests, that count is a host load, in the loop's body, of a value a
// kernel computed: on a GPU the host waits for the step's kernels there,
// once a step. Since a step after the last row finished changes nothing
// and the count never grows, the test may see an earlier step's count:
// the load becomes a call of the runtime, which reads the newest count the
// device has finished (the CUDA runtime copies each step's count to pinned
// host memory in stream order and looks at the copies' events; the
// CPU-run schedule returns the count of a fixed number of steps before, so
// that the extra steps run in every test of the schedule).
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/RuntimeCalls.h"
#include "compiler/Passes.h"
#include "dialects/attn/IR/AttnDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace heed {
#define GEN_PASS_DEF_LAGSTOPTESTS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

/// The runtime's three calls, by target.
struct StopTestCalls {
  StringRef begin, read, end;
};
constexpr StopTestCalls kCudaCalls = {"heed_gpu_stop_test_begin",
                                      "heed_gpu_stop_test_read",
                                      "heed_gpu_stop_test_end"};
constexpr StopTestCalls kScheduleOnCPUCalls = {"heed_cpu_stop_test_begin",
                                               "heed_cpu_stop_test_read",
                                               "heed_cpu_stop_test_end"};

/// Whether `v` (a before-block argument of `loop`) is used only by the
/// marked test and by forwards to after-block arguments and loop results
/// that nothing uses: then a lagged value changes only the test.
bool onlyTested(scf::WhileOp loop, BlockArgument v, arith::CmpFOp test) {
  for (OpOperand &use : v.getUses()) {
    if (use.getOwner() == test.getOperation())
      continue;
    auto forward = dyn_cast<scf::ConditionOp>(use.getOwner());
    if (!forward)
      return false;
    unsigned at = use.getOperandNumber() - 1; // (operand 0: the condition)
    if (!loop.getAfterArguments()[at].use_empty() ||
        !loop.getResult(at).use_empty())
      return false;
  }
  return true;
}

/// The one host load of an f32 the after block computes `yielded` from:
/// pure single-result ops of the after block between them, their other
/// operands defined above the loop. Null where the value is computed
/// otherwise, or where the load or an op of the chain has another use.
memref::LoadOp countLoad(scf::WhileOp loop, Value yielded, unsigned position) {
  Block *after = loop.getAfterBody();
  Operation *yield = after->getTerminator();
  memref::LoadOp load;
  SmallVector<Operation *> chain;
  SmallVector<Value> work{yielded};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    Operation *def = v.getDefiningOp();
    if (!def) {
      if (cast<BlockArgument>(v).getOwner() == after)
        return {}; // a carried value: the host computes it
      if (!cast<BlockArgument>(v).getOwner()->getParentOp()->isAncestor(loop))
        return {}; // inside the loop, in a nested region
      continue;
    }
    if (!loop->isProperAncestor(def))
      continue; // computed before the loop
    if (def->getBlock() != after)
      return {}; // inside a region of the body
    if (llvm::is_contained(chain, def))
      continue;
    chain.push_back(def);
    if (auto l = dyn_cast<memref::LoadOp>(def)) {
      if (load || !l.getType().isF32())
        return {};
      load = l;
      continue;
    }
    if (!isPure(def) || def->getNumRegions() || def->getNumResults() != 1)
      return {};
    llvm::append_range(work, def->getOperands());
  }
  if (!load)
    return {};
  // Only the test sees the lagged value.
  for (Operation *op : chain)
    for (OpOperand &use : op->getUses()) {
      if (use.getOwner() == yield ? use.getOperandNumber() != position
                                  : !llvm::is_contained(chain, use.getOwner()))
        return {};
    }
  return load;
}

/// The address of the element `load` reads, as an index.
Value elementAddress(OpBuilder &b, memref::LoadOp load) {
  Location loc = load.getLoc();
  Value memref = load.getMemRef();
  auto metadata = memref::ExtractStridedMetadataOp::create(b, loc, memref);
  Value linear = metadata.getOffset();
  for (auto [index, stride] :
       llvm::zip(load.getIndices(), metadata.getStrides()))
    linear = arith::AddIOp::create(
        b, loc, linear, arith::MulIOp::create(b, loc, index, stride));
  Value aligned =
      memref::ExtractAlignedPointerAsIndexOp::create(b, loc, memref);
  Value bytes = arith::MulIOp::create(
      b, loc, linear, arith::ConstantIndexOp::create(b, loc, sizeof(float)));
  return arith::AddIOp::create(b, loc, aligned, bytes);
}

struct LagStopTestsPass : heed::impl::LagStopTestsBase<LagStopTestsPass> {
  using LagStopTestsBase::LagStopTestsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    const StopTestCalls &names = onHost ? kScheduleOnCPUCalls : kCudaCalls;
    SmallVector<std::pair<scf::WhileOp, memref::LoadOp>> lagged;
    module.walk([&](arith::CmpFOp test) {
      if (!test->hasAttr(heed::attn::kStopTestAttrName))
        return;
      auto loop = dyn_cast<scf::WhileOp>(test->getParentOp());
      if (!loop || test->getBlock() != loop.getBeforeBody())
        return;
      for (Value operand : test->getOperands()) {
        auto count = dyn_cast<BlockArgument>(operand);
        if (!count || count.getOwner() != loop.getBeforeBody() ||
            !onlyTested(loop, count, test))
          continue;
        unsigned position = count.getArgNumber();
        Value yielded = loop.getYieldOp().getOperand(position);
        if (memref::LoadOp load = countLoad(loop, yielded, position))
          lagged.emplace_back(loop, load);
      }
    });
    if (lagged.empty())
      return;

    OpBuilder b(module.getBodyRegion());
    MLIRContext *ctx = module.getContext();
    Type index = b.getIndexType();
    auto declare = [&](StringRef name, FunctionType type) {
      if (auto fn = module.lookupSymbol<func::FuncOp>(name))
        return fn;
      auto fn = func::FuncOp::create(b, module.getLoc(), name, type);
      fn.setPrivate();
      // The runtime orders these after the launched work itself:
      // heed-synchronize-host-accesses puts no wait before them.
      fn->setAttr(heed::kStreamOrderedAttrName, UnitAttr::get(ctx));
      return fn;
    };
    func::FuncOp begin = declare(names.begin, b.getFunctionType({}, {index}));
    func::FuncOp read = declare(
        names.read, b.getFunctionType({index, index}, {b.getF32Type()}));
    func::FuncOp end = declare(names.end, b.getFunctionType({index}, {}));

    for (auto [loop, load] : lagged) {
      b.setInsertionPoint(loop);
      Value state = func::CallOp::create(b, loop.getLoc(), begin, ValueRange{})
                        .getResult(0);
      b.setInsertionPointAfter(loop);
      func::CallOp::create(b, loop.getLoc(), end, ValueRange{state});
      b.setInsertionPoint(load);
      Value address = elementAddress(b, load);
      Value count = func::CallOp::create(b, load.getLoc(), read,
                                         ValueRange{state, address})
                        .getResult(0);
      load.getResult().replaceAllUsesWith(count);
      load.erase();
    }
  }
};

} // namespace
