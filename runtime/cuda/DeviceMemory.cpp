//===- DeviceMemory.cpp - Managed memory and the host code's block cache --===//
//
// Part of Heed. Every buffer of the cuda target is managed memory
// (cuMemAllocManaged): the weights and each run's inputs and outputs
// (ManagedBuffer), and the host code's temporaries (its malloc, calloc and
// free, and gpu-to-llvm's mgpuMemAlloc and mgpuMemFree). A run's inputs and
// outputs are staged into and out of their buffers by the host or, with
// HEED_CUDA_STAGING=copy, by the driver (stageIn, stageOut).
//
// The host code frees and allocates the same few buffers every step of a
// recurrent layer or decoder (and a model library's run its staged inputs
// and outputs, every run: allocateManaged). Freeing must not take memory from
// under a kernel still queued, so a free would wait for the device each step
// (and allocating is a driver call). Instead a thread keeps the blocks its host
// code frees and gives them to its next allocations of the same size: the
// host code of a run runs on one thread and launches on that thread's one
// stream, so whatever used a block was queued before whatever uses it
// again, and the host's own accesses wait first
// (heed-synchronize-host-accesses). What does not fit the cache, and what a
// thread keeps when it ends, is freed after a wait.
//
//===----------------------------------------------------------------------===//

#include "runtime/Environment.h"
#include "runtime/cuda/MgpuRuntime.h"
#include "runtime/cuda/RuntimeState.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

namespace heed::rt::cuda::detail {
namespace {

std::mutex fallbackLock;
std::set<void *> hostFallbacks; // guarded by fallbackLock

/// At most this much freed memory kept per thread.
constexpr size_t kCacheBytes = size_t(512) << 20;
/// Block sizes are rounded to this, so that nearby sizes share blocks.
constexpr size_t kGranule = 256;

/// Allocations a thread remembers of a run, at most (beginRun).
constexpr size_t kRunHistory = size_t(1) << 16;

/// A thread's host-code blocks: those live (with their sizes) and those
/// freed and kept, by size.
struct BlockCache {
  std::unordered_map<void *, size_t> live;
  std::multimap<size_t, void *> kept;
  size_t keptBytes = 0;
  /// Per size, the blocks the last run's allocations of that size got, in
  /// order, and this run's so far (beginRun starts a run).
  std::unordered_map<size_t, std::vector<void *>> lastRun, thisRun;
  size_t remembered = 0;

  /// Frees the kept blocks, after waiting for the thread's work if any is
  /// pending (kernels may still use them until then).
  void release() {
    if (kept.empty())
      return;
    hostSync();
    if (const DriverApi *api = ready("freeing device memory"))
      for (auto &[size, pointer] : kept)
        api->memFree(
            static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(pointer)));
    kept.clear();
    keptBytes = 0;
  }
  /// The kept block of `size` to give next: the one the same allocation of
  /// the last run got, where it is kept, else the oldest kept.
  std::multimap<size_t, void *>::iterator pick(size_t size) {
    auto [first, end] = kept.equal_range(size);
    auto last = lastRun.find(size);
    auto now = thisRun.find(size);
    size_t n = now == thisRun.end() ? 0 : now->second.size();
    if (last != lastRun.end() && n < last->second.size())
      for (auto it = first; it != end; ++it)
        if (it->second == last->second[n])
          return it;
    return first != end ? first : kept.end();
  }
  void given(size_t size, void *block) {
    if (remembered < kRunHistory) {
      thisRun[size].push_back(block);
      ++remembered;
    }
  }
  ~BlockCache() { release(); }
};
thread_local BlockCache cache;

} // namespace

namespace {
void *tryManagedOnce(size_t bytes, std::string &error) {
  const DriverApi *api = ready("allocating device memory");
  if (!api) {
    error = "no device: " + driverStatus();
    return nullptr;
  }
  auto outOfMemory = [&](size_t free, size_t total, const std::string &why) {
    error = "out of device memory: asked for " + megabytes(bytes) + " (" +
            std::to_string(bytes) + " bytes), " + megabytes(free) + " (" +
            std::to_string(free) + " bytes) free of " + megabytes(total) + why;
    return nullptr;
  };
  // Never more managed memory than the device has free: a driver asked
  // for more may page the GPU to a standstill rather than fail.
  size_t free = 0, total = 0;
  if (api->memGetInfo(&free, &total) == kCudaSuccess && bytes > free)
    return outOfMemory(free, total, "");
  CUdeviceptr address = 0;
  CUresult r =
      api->memAllocManaged(&address, bytes ? bytes : 1, kMemAttachGlobal);
  if (r == kCudaSuccess)
    return reinterpret_cast<void *>(static_cast<uintptr_t>(address));
  api->memGetInfo(&free, &total);
  return outOfMemory(free, total, " (cuMemAllocManaged: " + errorName(r) + ")");
}
} // namespace

void *tryManaged(size_t bytes, std::string &error) {
  void *p = tryManagedOnce(bytes, error);
  if (!p && !cache.kept.empty()) {
    // The blocks this thread keeps, given back to the device first.
    cache.release();
    error.clear();
    p = tryManagedOnce(bytes, error);
  }
  return p;
}

void freeNow(void *pointer) {
  if (!pointer)
    return;
  // A kernel launched before may still use it.
  hostSync();
  {
    std::lock_guard<std::mutex> guard(fallbackLock);
    if (hostFallbacks.erase(pointer)) {
      std::free(pointer);
      return;
    }
  }
  if (const DriverApi *api = ready("freeing device memory"))
    if (CUresult r = api->memFree(
            static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(pointer)));
        r != kCudaSuccess)
      fail("freeing device memory failed: " + errorName(r));
}

/// A kept block of `bytes` (rounded up to kGranule), else new managed
/// memory; the thread's live block either way. Null and why not. Which
/// kept block: the one the same allocation of the thread's last run got
/// (beginRun), where it is kept. A run of the same model with the same
/// shapes as the last then has its addresses: the CUDA graphs of its loop
/// steps (LaunchGraphs.cpp) need no updates for them. Otherwise the
/// oldest kept (a loop's states take turns in two blocks).
void *cachedBlock(size_t bytes, std::string &error) {
  size_t size =
      (std::max<size_t>(bytes, 1) + kGranule - 1) / kGranule * kGranule;
  if (auto it = cache.pick(size); it != cache.kept.end()) {
    void *p = it->second;
    cache.kept.erase(it);
    cache.keptBytes -= size;
    cache.live.emplace(p, size);
    cache.given(size, p);
    return p;
  }
  void *p = tryManaged(size, error);
  if (p) {
    cache.live.emplace(p, size);
    cache.given(size, p);
  }
  return p;
}

/// A block for the host code: a kept one of the same size, else managed
/// memory (the kept ones freed first if the device is out of it: above). A
/// failed allocation is recorded and falls back to host memory, so that the
/// rest of the run finishes (its launches skipped).
void *memAlloc(uint64_t bytes, void * /*stream*/, bool /*hostShared*/) {
  if (!failed()) {
    std::string error;
    if (void *p = cachedBlock(bytes, error))
      return p;
    fail("a buffer of the running model: " + error);
  }
  void *host = std::malloc(bytes ? bytes : 1);
  std::lock_guard<std::mutex> guard(fallbackLock);
  hostFallbacks.insert(host);
  return host;
}

/// The host code's free: kept for the thread's next allocation of its size
/// (no wait), or freed now where the cache is full or the block is not one
/// of this thread's.
void memFree(void *pointer, void * /*stream*/) {
  if (!pointer)
    return;
  auto it = cache.live.find(pointer);
  if (it != cache.live.end()) {
    size_t size = it->second;
    cache.live.erase(it);
    if (cache.keptBytes + size <= kCacheBytes) {
      cache.kept.emplace(size, pointer);
      cache.keptBytes += size;
      return;
    }
  }
  freeNow(pointer);
}

namespace {
/// cuMemcpy (on the device, or between host and managed memory), after the
/// launches before it; a failure is the thread's first error ("`what` (N
/// bytes) failed with ...").
void driverCopy(void *to, const void *from, size_t bytes, const char *what) {
  if (failed())
    return;
  const DriverApi *api = ready(what);
  if (!api)
    return;
  flushLaunches(); // (the copy comes after the launches before it)
  if (CUresult r = api->memcpy(
          static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(to)),
          static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(from)), bytes);
      r != kCudaSuccess)
    fail(std::string(what) + " (" + std::to_string(bytes) +
         " bytes) failed with " + errorName(r));
}
} // namespace

void memcpyOnDevice(void *dst, void *src, size_t bytes, void * /*stream*/) {
  driverCopy(dst, src, bytes, "copying device memory");
}

/// The host code's own temporaries (malloc/free after memref lowering): in
/// managed memory too, since its kernels read and write them.
void *hostCodeMalloc(size_t bytes) { return memAlloc(bytes, nullptr, true); }
/// LLVM turns a malloc and a memset to zero into calloc.
void *hostCodeCalloc(size_t count, size_t size) {
  size_t bytes = count * size;
  if (size && bytes / size != count) {
    fail("a buffer of the running model: " + std::to_string(count) + " x " +
         std::to_string(size) + " bytes overflows");
    return nullptr;
  }
  void *p = memAlloc(bytes, nullptr, true);
  // (A kept block may hold a kernel's results: the host waits for them
  // before it writes.)
  hostSync();
  std::memset(p, 0, bytes);
  return p;
}
void hostCodeFree(void *pointer) { memFree(pointer, nullptr); }

} // namespace heed::rt::cuda::detail

namespace heed::rt::cuda {
using namespace detail;

void releaseCachedBlocks() { cache.release(); }

void beginRun() {
  cache.lastRun.swap(cache.thisRun);
  cache.thisRun.clear();
  cache.remembered = 0;
}

ManagedBuffer ManagedBuffer::allocate(std::vector<int64_t> shape,
                                      const std::string &what,
                                      std::string &error) {
  ManagedBuffer buffer;
  buffer.dims = std::move(shape);
  std::string why;
  buffer.pointer = static_cast<float *>(tryManaged(buffer.bytes(), why));
  if (!buffer.pointer) {
    error = what + ": " + why;
    return ManagedBuffer();
  }
  return buffer;
}

ManagedBuffer &ManagedBuffer::operator=(ManagedBuffer &&other) noexcept {
  std::swap(pointer, other.pointer);
  std::swap(dims, other.dims);
  return *this;
}

ManagedBuffer::~ManagedBuffer() { freeNow(pointer); }

size_t ManagedBuffer::bytes() const {
  size_t n = sizeof(float);
  for (int64_t d : dims)
    n *= static_cast<size_t>(d);
  return n;
}

void *allocateManaged(size_t bytes, std::string &error) {
  // Through the thread's block cache, as the host code's: a model
  // library's run stages its inputs and outputs in blocks of the same
  // sizes every time (no driver calls after the first).
  return cachedBlock(bytes, error);
}

void freeManaged(void *pointer) { memFree(pointer, nullptr); }

namespace {
/// HEED_CUDA_STAGING=copy: staged inputs and outputs copied by the driver.
bool copyStaging() {
  static const bool copy =
      env::text("HEED_CUDA_STAGING").value_or("") == "copy";
  return copy;
}

void prefetch(const void *pointer, size_t bytes, bool toDevice) {
  const DriverApi *api = driver();
  if (!api || !api->memPrefetchAsync || !pointer || !bytes || failed())
    return;
  if (!toDevice && copyStaging())
    return;        // stageOut copies from where the pages are
  flushLaunches(); // (in stream order, after the launches before it)
  CUmemLocation where{toDevice ? kMemLocationDevice : kMemLocationHost, 0};
  if (api->memPrefetchAsync(
          static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(pointer)), bytes,
          where, 0, threadStream()) == kCudaSuccess)
    markPending();
}
} // namespace

void prefetchToDevice(const void *pointer, size_t bytes) {
  prefetch(pointer, bytes, /*toDevice=*/true);
}

void prefetchToHost(const void *pointer, size_t bytes) {
  prefetch(pointer, bytes, /*toDevice=*/false);
}

void waitForDevice() { hostSync(); }

namespace {
/// A staged input or output: by the driver or by the host (stageIn).
void stage(void *to, const void *from, size_t bytes, const char *what) {
  if (!bytes)
    return;
  if (copyStaging())
    driverCopy(to, from, bytes, what);
  else
    std::memcpy(to, from, bytes);
}
} // namespace

void stageIn(void *managed, const void *host, size_t bytes) {
  stage(managed, host, bytes, "staging a run's input");
}

void stageOut(void *host, const void *managed, size_t bytes) {
  stage(host, managed, bytes, "staging a run's output");
}

} // namespace heed::rt::cuda
