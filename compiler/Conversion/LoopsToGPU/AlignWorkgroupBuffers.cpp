//===- AlignWorkgroupBuffers.cpp - Shared buffers on 16-byte boundaries ---===//
//
// Part of Heed. See Passes.td (heed-align-workgroup-buffers).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace heed {
#define GEN_PASS_DEF_ALIGNWORKGROUPBUFFERS
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {
struct AlignWorkgroupBuffersPass
    : heed::impl::AlignWorkgroupBuffersBase<AlignWorkgroupBuffersPass> {
  using AlignWorkgroupBuffersBase::AlignWorkgroupBuffersBase;

  void runOnOperation() override {
    StringAttr name =
        StringAttr::get(&getContext(), LLVM::LLVMDialect::getAlignAttrName());
    getOperation().walk([&](gpu::GPUFuncOp fn) {
      for (unsigned i = 0, e = fn.getNumWorkgroupAttributions(); i < e; ++i) {
        auto given = dyn_cast_or_null<IntegerAttr>(
            fn.getWorkgroupAttributionAttr(i, name));
        if (given && given.getInt() >= alignment)
          continue;
        fn.setWorkgroupAttributionAttr(
            i, name,
            IntegerAttr::get(IntegerType::get(&getContext(), 64), alignment));
      }
    });
  }
};
} // namespace
