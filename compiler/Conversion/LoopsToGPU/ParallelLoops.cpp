//===- ParallelLoops.cpp - Copies as loops, loops' trip counts ------------===//
//
// Part of Heed. See ParallelLoops.h.
//
//===----------------------------------------------------------------------===//

#include "compiler/Conversion/LoopsToGPU/ParallelLoops.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;

void heed::copyAsParallelLoop(memref::CopyOp copy) {
  OpBuilder b(copy);
  Location loc = copy.getLoc();
  auto type = cast<MemRefType>(copy.getTarget().getType());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  if (type.getRank() == 0) {
    // One element, on one thread: on the host it would wait for the
    // kernels before it (a reduction's init copied in a decoder's step).
    scf::ParallelOp::create(
        b, loc, ValueRange{zero}, ValueRange{one}, ValueRange{one},
        [&](OpBuilder &nb, Location l, ValueRange) {
          Value v = memref::LoadOp::create(nb, l, copy.getSource());
          memref::StoreOp::create(nb, l, v, copy.getTarget());
        });
    copy.erase();
    return;
  }
  SmallVector<Value> lbs(type.getRank(), zero), steps(type.getRank(), one), ubs;
  for (int64_t d = 0; d < type.getRank(); ++d)
    ubs.push_back(
        type.isDynamicDim(d)
            ? Value(memref::DimOp::create(b, loc, copy.getTarget(), d))
            : Value(
                  arith::ConstantIndexOp::create(b, loc, type.getDimSize(d))));
  scf::ParallelOp::create(
      b, loc, lbs, ubs, steps, [&](OpBuilder &nb, Location l, ValueRange ivs) {
        Value v = memref::LoadOp::create(nb, l, copy.getSource(), ivs);
        memref::StoreOp::create(nb, l, v, copy.getTarget(), ivs);
      });
  copy.erase();
}

std::optional<int64_t> heed::tripCount(scf::ParallelOp loop, unsigned d) {
  auto lb = getConstantIntValue(loop.getLowerBound()[d]);
  auto ub = getConstantIntValue(loop.getUpperBound()[d]);
  auto step = getConstantIntValue(loop.getStep()[d]);
  if (!lb || !ub || !step || *step <= 0)
    return std::nullopt;
  return *ub > *lb ? (*ub - *lb + *step - 1) / *step : 0;
}

std::optional<heed::MappedLoopSize> heed::mappedLoopSize(scf::ParallelOp loop) {
  auto isProcessor = [](Attribute a, gpu::Processor p) {
    auto map = dyn_cast<gpu::ParallelLoopDimMappingAttr>(a);
    return map && map.getProcessor() == p && map.getMap().isIdentity() &&
           map.getBound().isIdentity();
  };
  auto mapping = loop->getAttrOfType<ArrayAttr>("mapping");
  if (!mapping || mapping.size() != 2 || loop.getNumLoops() != 2 ||
      loop.getNumResults() != 0 ||
      !isProcessor(mapping[0], gpu::Processor::BlockX) ||
      !isProcessor(mapping[1], gpu::Processor::ThreadX))
    return std::nullopt;
  for (auto [lb, step] : llvm::zip(loop.getLowerBound(), loop.getStep()))
    if (getConstantIntValue(lb) != 0 || getConstantIntValue(step) != 1)
      return std::nullopt;
  std::optional<int64_t> blocks = getConstantIntValue(loop.getUpperBound()[0]),
                         threads = getConstantIntValue(loop.getUpperBound()[1]);
  if (!blocks || !threads || *blocks <= 0 || *threads <= 0)
    return std::nullopt;
  return MappedLoopSize{*blocks, *threads};
}

std::optional<heed::PlacedLaunchSize>
heed::placedLaunchSize(gpu::LaunchOp launch) {
  auto constant = [](Value v) { return getConstantIntValue(v); };
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty() ||
      launch.getDynamicSharedMemorySize() || launch.hasClusterSize() ||
      !launch.getPrivateAttributions().empty() ||
      !launch.getBody().hasOneBlock() || constant(launch.getGridSizeY()) != 1 ||
      constant(launch.getGridSizeZ()) != 1 ||
      constant(launch.getBlockSizeY()) != 1 ||
      constant(launch.getBlockSizeZ()) != 1)
    return std::nullopt;
  std::optional<int64_t> blocks = constant(launch.getGridSizeX()),
                         threads = constant(launch.getBlockSizeX());
  if (!blocks || !threads || *blocks <= 0 || *threads <= 0)
    return std::nullopt;
  PlacedLaunchSize size{*blocks, *threads, 0};
  for (BlockArgument a : launch.getWorkgroupAttributions()) {
    auto type = cast<MemRefType>(a.getType());
    if (!type.hasStaticShape() || !type.getElementType().isIntOrFloat())
      return std::nullopt;
    size.sharedBytes +=
        type.getNumElements() * type.getElementTypeBitWidth() / 8;
  }
  return size;
}
