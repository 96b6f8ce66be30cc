//===- SessionDevice.cpp - Running a session's model on a CUDA device -----===//
//
// Part of Heed. The --target=cuda side of Session: weights in managed
// memory once per binding, each run's inputs and outputs staged there
// (runtime/cuda/MgpuRuntime.h), the runtime's first error reported after
// the run. Staged buffers move to the device in bulk before the run and
// outputs back to the host after it (prefetches), not a page fault at a
// time.
//
//===----------------------------------------------------------------------===//

#include "compiler/Driver/Session.h"
#include "runtime/cuda/MgpuRuntime.h"

#include "llvm/ADT/STLExtras.h"

using namespace heed;

static llvm::Error fail(const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Error Session::uploadDeviceWeights() {
  // Once per binding (setWeights clears them): a weight that does not fit
  // is named with its shape.
  for (auto [w, spec] : llvm::zip_equal(weights, expectedWeights())) {
    std::string error;
    auto buffer = rt::cuda::ManagedBuffer::allocate(
        w.shape(),
        "uploading weight '" + spec.name + "' " + rt::shapeToString(w.shape()) +
            " to the device",
        error);
    if (!error.empty()) {
      deviceWeights.clear();
      return fail(error);
    }
    std::copy(w.data(), w.data() + w.numElements(), buffer.data());
    rt::cuda::prefetchToDevice(buffer.data(), buffer.bytes());
    deviceWeights.push_back(std::move(buffer));
  }
  return llvm::Error::success();
}

llvm::Error Session::runOnDevice(Compiled &model,
                                 const rt::NamedTensors &inputs,
                                 rt::NamedTensors &outputs) {
  // Inputs and outputs go through managed memory, copied once per run; the
  // weights were uploaded when the model was compiled. The run's buffers
  // at the last run's addresses where they can be (its loop steps' CUDA
  // graphs then replayed unchanged).
  rt::cuda::beginRun();
  std::vector<rt::cuda::ManagedBuffer> staged;
  std::vector<BufferArg> args;
  // A buffer of t's shape (holding t's values for an input), moved to the
  // device before the run.
  auto stage = [&](const rt::Tensor &t, const std::string &what, bool input) {
    std::string error;
    staged.push_back(rt::cuda::ManagedBuffer::allocate(t.shape(), what, error));
    if (!error.empty())
      return error;
    rt::cuda::ManagedBuffer &buffer = staged.back();
    if (input)
      rt::cuda::stageIn(buffer.data(), t.data(), buffer.bytes());
    rt::cuda::prefetchToDevice(buffer.data(), buffer.bytes());
    args.push_back({buffer.data(), t.shape()});
    return error;
  };
  for (auto &in : ast->inputs)
    for (auto &[name, t] : inputs)
      if (name == in.name)
        if (std::string error = stage(t, "input '" + name + "'", true);
            !error.empty())
          return fail(error);
  for (auto &w : deviceWeights)
    args.push_back({w.data(), w.shape()});
  for (auto &p : model.devicePrepared)
    args.push_back({p.data(), p.shape()});
  size_t firstOutput = staged.size();
  for (auto &[name, t] : outputs)
    if (std::string error = stage(t, "output '" + name + "'", false);
        !error.empty())
      return fail(error);
  if (auto err = model.jit->invoke(0, args))
    return err;
  if (std::string why = rt::cuda::takeFirstError(); !why.empty())
    return fail("while running '" + ast->name + "' on the device: " + why);
  for (size_t i = 0; i < outputs.size(); ++i)
    rt::cuda::prefetchToHost(staged[firstOutput + i].data(),
                             staged[firstOutput + i].bytes());
  rt::cuda::waitForDevice();
  for (size_t i = 0; i < outputs.size(); ++i)
    rt::cuda::stageOut(outputs[i].second.data(), staged[firstOutput + i].data(),
                       staged[firstOutput + i].bytes());
  if (std::string why = rt::cuda::takeFirstError(); !why.empty())
    return fail("while copying the results of '" + ast->name + "': " + why);
  return llvm::Error::success();
}
