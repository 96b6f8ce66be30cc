//===- Kernels.cpp - Library kernels called by compiled models ------------===//
//
// Part of Heed. The per-model context and the symbol table; the kernels are
// in RecurrentKernel.cpp and ConvolutionKernel.cpp.
//
//===----------------------------------------------------------------------===//

#include "runtime/Kernels.h"

using namespace heed::rt;

KernelContext::KernelContext() : self(this) {}
KernelContext::~KernelContext() = default;

KernelPlan *KernelContext::plan(int64_t site) {
  return site >= 0 && size_t(site) < plans.size() ? plans[site].get() : nullptr;
}

void KernelContext::setPlan(int64_t site, std::unique_ptr<KernelPlan> plan) {
  if (size_t(site) >= plans.size())
    plans.resize(site + 1);
  plans[site] = std::move(plan);
}

void KernelContext::setError(std::string message) {
  std::lock_guard<std::mutex> guard(lock);
  if (error.empty())
    error = std::move(message);
}

std::string KernelContext::takeError() {
  std::lock_guard<std::mutex> guard(lock);
  return std::exchange(error, std::string());
}

std::vector<std::pair<std::string, void *>> KernelContext::symbols() {
  return {{"heed_rnn_forward", reinterpret_cast<void *>(&heed_rnn_forward)},
          {"heed_conv1d_forward",
           reinterpret_cast<void *>(&heed_conv1d_forward)}};
}
