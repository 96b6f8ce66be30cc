//===- LowerParallelDispatch.cpp - Parallel loops call the runtime --------===//
//
// Part of Heed. See Passes.td (heed-lower-parallel-dispatch).
//
//===----------------------------------------------------------------------===//

#include "compiler/Passes.h"
#include "compiler/Transforms/ParallelLoops.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"

namespace heed {
#define GEN_PASS_DEF_LOWERPARALLELDISPATCH
#include "compiler/Passes.h.inc"
} // namespace heed

using namespace mlir;

namespace {

constexpr llvm::StringLiteral kRuntimeEntry = "heed_parallel_for";

struct LowerParallelDispatchPass
    : heed::impl::LowerParallelDispatchBase<LowerParallelDispatchPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<LLVM::LLVMFuncOp> dispatches;
    for (auto func : module.getOps<LLVM::LLVMFuncOp>())
      if (func.isExternal() && func->hasAttr(heed::kParallelBodyAttr))
        dispatches.push_back(func);
    if (dispatches.empty())
      return;
    MLIRContext *ctx = &getContext();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidType = LLVM::LLVMVoidType::get(ctx);
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto runtime = module.lookupSymbol<LLVM::LLVMFuncOp>(kRuntimeEntry);
    if (!runtime)
      runtime = LLVM::LLVMFuncOp::create(
          b, module.getLoc(), kRuntimeEntry,
          LLVM::LLVMFunctionType::get(voidType, {i64, ptr, ptr}));
    for (LLVM::LLVMFuncOp dispatch : dispatches)
      if (failed(define(dispatch, runtime)))
        return signalPassFailure();
  }

  /// dispatch(count, lower, step, args...) stores (lower, step, args...) in
  /// a context on its stack and calls heed_parallel_for(count, entry,
  /// context); entry(context, begin, end) calls the body for lower + k *
  /// step, k in [begin, end).
  LogicalResult define(LLVM::LLVMFuncOp dispatch, LLVM::LLVMFuncOp runtime) {
    auto bodyName =
        dispatch->getAttrOfType<FlatSymbolRefAttr>(heed::kParallelBodyAttr);
    auto module = dispatch->getParentOfType<ModuleOp>();
    auto body = module.lookupSymbol<LLVM::LLVMFuncOp>(bodyName.getAttr());
    LLVM::LLVMFunctionType type = dispatch.getFunctionType();
    ArrayRef<Type> params = type.getParams();
    if (!body || params.size() < 3)
      return dispatch.emitError("a parallel dispatch without its body");
    MLIRContext *ctx = dispatch.getContext();
    Location loc = dispatch.getLoc();
    auto ptr = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidType = LLVM::LLVMVoidType::get(ctx);
    // The context: everything but the count.
    auto context = LLVM::LLVMStructType::getLiteral(ctx, params.drop_front());
    // The body's parameters: the index, then the arguments.
    SmallVector<Type> bodyParams{params[1]};
    bodyParams.append(params.begin() + 3, params.end());
    if (ArrayRef<Type>(bodyParams) != body.getFunctionType().getParams() ||
        params[0] != i64 || params[1] != i64 || params[2] != i64)
      return dispatch.emitError("a parallel dispatch whose body takes other "
                                "arguments");

    // entry(context, begin, end).
    OpBuilder b(ctx);
    b.setInsertionPointAfter(dispatch);
    auto entry = LLVM::LLVMFuncOp::create(
        b, loc, (dispatch.getSymName() + "__entry").str(),
        LLVM::LLVMFunctionType::get(voidType, {ptr, i64, i64}),
        LLVM::Linkage::Internal);
    Block *start = entry.addEntryBlock(b);
    Block *header = entry.addBlock();
    header->addArgument(i64, loc);
    Block *loopBody = entry.addBlock();
    Block *exit = entry.addBlock();
    b.setInsertionPointToStart(start);
    SmallVector<Value> fields;
    for (auto [i, t] : llvm::enumerate(context.getBody())) {
      Value at =
          LLVM::GEPOp::create(b, loc, ptr, context, start->getArgument(0),
                              ArrayRef<LLVM::GEPArg>{0, int32_t(i)});
      fields.push_back(LLVM::LoadOp::create(b, loc, t, at));
    }
    LLVM::BrOp::create(b, loc, ValueRange{start->getArgument(1)}, header);
    b.setInsertionPointToStart(header);
    Value k = header->getArgument(0);
    Value more = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, k,
                                      start->getArgument(2));
    LLVM::CondBrOp::create(b, loc, more, loopBody, exit);
    b.setInsertionPointToStart(loopBody);
    Value index = LLVM::AddOp::create(
        b, loc, fields[0], LLVM::MulOp::create(b, loc, k, fields[1]));
    SmallVector<Value> args{index};
    args.append(fields.begin() + 2, fields.end());
    LLVM::CallOp::create(b, loc, body, args);
    Value one = LLVM::ConstantOp::create(b, loc, i64, int64_t(1));
    LLVM::BrOp::create(b, loc, ValueRange{LLVM::AddOp::create(b, loc, k, one)},
                       header);
    b.setInsertionPointToStart(exit);
    LLVM::ReturnOp::create(b, loc, ValueRange{});

    // dispatch(count, lower, step, args...).
    dispatch.setLinkage(LLVM::Linkage::Internal);
    dispatch->removeAttr(heed::kParallelBodyAttr);
    Block *d = dispatch.addEntryBlock(b);
    b.setInsertionPointToStart(d);
    Value size = LLVM::ConstantOp::create(b, loc, i64, int64_t(1));
    Value slot = LLVM::AllocaOp::create(b, loc, ptr, context, size);
    for (unsigned i = 1; i < params.size(); ++i) {
      Value at = LLVM::GEPOp::create(b, loc, ptr, context, slot,
                                     ArrayRef<LLVM::GEPArg>{0, int32_t(i - 1)});
      LLVM::StoreOp::create(b, loc, d->getArgument(i), at);
    }
    Value function = LLVM::AddressOfOp::create(b, loc, ptr, entry.getSymName());
    LLVM::CallOp::create(b, loc, runtime,
                         ValueRange{d->getArgument(0), function, slot});
    LLVM::ReturnOp::create(b, loc, ValueRange{});
    return success();
  }
};

} // namespace
