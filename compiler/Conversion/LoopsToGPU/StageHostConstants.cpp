//===- StageHostConstants.cpp - Constants the kernels can read ------------===//
//
// Part of Heed. See Passes.td (heed-stage-host-constants).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace heed {
#define GEN_PASS_DEF_STAGEHOSTCONSTANTS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {
struct StageHostConstantsPass
    : heed::impl::StageHostConstantsBase<StageHostConstantsPass> {
  void runOnOperation() override {
    // Host functions only: gpu.func kernels are not func.func.
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<memref::GetGlobalOp> uses;
      func.walk([&](memref::GetGlobalOp get) {
        // (A global's memref is static and dense; the copy's type is then
        // the same.)
        auto type = cast<MemRefType>(get.getType());
        if (type.hasStaticShape() && type.getLayout().isIdentity())
          uses.push_back(get);
      });
      if (uses.empty())
        continue;
      OpBuilder b(&func.getBody().front(), func.getBody().front().begin());
      llvm::MapVector<StringAttr, Value> staged;
      for (memref::GetGlobalOp get : uses) {
        Value &copy = staged[get.getNameAttr().getAttr()];
        if (!copy) {
          Location loc = get.getLoc();
          auto type = cast<MemRefType>(get.getType());
          Value global =
              memref::GetGlobalOp::create(b, loc, type, get.getNameAttr());
          copy = memref::AllocOp::create(
              b, loc, MemRefType::get(type.getShape(), type.getElementType()));
          memref::CopyOp::create(b, loc, global, copy);
        }
        get.replaceAllUsesWith(copy);
        get.erase();
      }
      func.walk([&](func::ReturnOp ret) {
        OpBuilder at(ret);
        for (auto &[name, copy] : staged)
          memref::DeallocOp::create(at, ret.getLoc(), copy);
      });
    }
  }
};
} // namespace
