//===- Kernels.cpp - Library kernels called by compiled models ------------===//
//
// Part of Heed. The per-model context and the symbol table; the kernels are
// in RecurrentKernel.cpp, ConvolutionKernel.cpp and DenseKernel.cpp.
//
//===----------------------------------------------------------------------===//

#include "runtime/Kernels.h"

#include "runtime/StopTestOnCPU.h"
#include "runtime/ThreadPool.h"

#include <malloc.h>

#include <atomic>

using namespace heed::rt;

/// Compiled models allocate their intermediates (megabytes for long
/// sequences) on every call. With glibc's defaults, blocks above 128 KiB are
/// mmap'ed and unmapped each time, and every call pays page faults to
/// touch them again (measured: 0.9 ms instead of 0.06 ms for a batch norm
/// over [1375, 196]). Keep freed memory in the heap instead.
static void keepLargeAllocations() {
  static bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)done;
}

KernelPlan::KernelPlan()
    : id([] {
        static std::atomic<uint64_t> next{1};
        return next.fetch_add(1);
      }()) {}

KernelContext::KernelContext() : self(this) { keepLargeAllocations(); }
KernelContext::~KernelContext() = default;

std::shared_ptr<const KernelPlan> KernelContext::plan(int64_t site) {
  std::lock_guard<std::mutex> guard(lock);
  return site >= 0 && size_t(site) < plans.size() ? plans[site] : nullptr;
}

void KernelContext::setPlan(int64_t site,
                            std::shared_ptr<const KernelPlan> plan) {
  std::lock_guard<std::mutex> guard(lock);
  if (size_t(site) >= plans.size())
    plans.resize(site + 1);
  plans[site] = std::move(plan);
  builds.fetch_add(1);
}

/// The first failure of a kernel in the model call running on this thread.
static thread_local std::string threadKernelError;

void KernelContext::setError(std::string message) {
  if (threadKernelError.empty())
    threadKernelError = std::move(message);
}

std::string KernelContext::takeError() {
  return std::exchange(threadKernelError, std::string());
}

std::vector<std::pair<std::string, void *>> KernelContext::symbols() {
  return {{"_mlir_ciface_heed_rnn_forward",
           reinterpret_cast<void *>(&_mlir_ciface_heed_rnn_forward)},
          {"_mlir_ciface_heed_conv1d_forward",
           reinterpret_cast<void *>(&_mlir_ciface_heed_conv1d_forward)},
          {"_mlir_ciface_heed_dense_forward",
           reinterpret_cast<void *>(&_mlir_ciface_heed_dense_forward)},
          {"heed_parallel_for", reinterpret_cast<void *>(&heed_parallel_for)},
          // The CPU-run GPU schedule's decoder stop tests.
          {"heed_cpu_stop_test_begin",
           reinterpret_cast<void *>(&heed_cpu_stop_test_begin)},
          {"heed_cpu_stop_test_read",
           reinterpret_cast<void *>(&heed_cpu_stop_test_read)},
          {"heed_cpu_stop_test_end",
           reinterpret_cast<void *>(&heed_cpu_stop_test_end)}};
}

int64_t KernelBuffer::numElements(int rank) const {
  int64_t n = 1;
  for (int i = 0; i < rank; ++i)
    n *= sizesAndStrides[i];
  return n;
}

bool KernelBuffer::isDense(int rank) const {
  int64_t expected = 1;
  for (int i = rank - 1; i >= 0; --i) {
    if (sizesAndStrides[i] != 1 && sizesAndStrides[rank + i] != expected)
      return false;
    expected *= sizesAndStrides[i];
  }
  return true;
}

bool KernelBuffer::holds(std::initializer_list<int64_t> shape) const {
  int axis = 0;
  for (int64_t size : shape)
    if (sizesAndStrides[axis++] != size)
      return false;
  return isDense(int(shape.size()));
}
