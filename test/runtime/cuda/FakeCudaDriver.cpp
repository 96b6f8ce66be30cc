//===- FakeCudaDriver.cpp - A libcuda.so.1 for tests without a GPU --------===//
//
// Part of Heed's tests. The driver API entry points Heed's CUDA runtime
// loads, implemented on the host: one device, managed memory from malloc
// (within FAKE_CUDA_TOTAL_MB, default 1024), modules from PTX text (the
// kernels are the `.entry` names; text without `.version` is invalid PTX
// and its error goes into the JIT log), launches checked against the
// device's limits and counted but not run. It tests Heed's runtime, never
// kernels' results. fakeCudaLaunches() and fakeCudaLiveAllocations() let a
// test see what happened; FAKE_CUDA_SUMMARY prints it at exit.
//
//===----------------------------------------------------------------------===//

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>

namespace {
using CUresult = int;
constexpr CUresult kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2,
                   kInvalidPtx = 218, kNotFound = 500;

struct Module {
  std::set<std::string> kernels;
};
struct Function {
  std::string name;
};

std::mutex lock;
std::map<void *, size_t> allocations;
size_t allocated = 0;
long launches = 0, modules = 0, lookups = 0;
int contextToken, streamToken;

/// With FAKE_CUDA_SUMMARY set, one line on stderr when the process ends:
/// what the driver was asked to do, and the managed memory still held.
struct Summary {
  ~Summary() {
    if (std::getenv("FAKE_CUDA_SUMMARY"))
      std::fprintf(stderr,
                   "fake-cuda: %ld modules loaded, %ld kernels looked up, %ld "
                   "launches, %zu allocations live\n",
                   modules, lookups, launches, allocations.size());
  }
} summary;

size_t totalBytes() {
  const char *mb = std::getenv("FAKE_CUDA_TOTAL_MB");
  return (mb ? std::strtoull(mb, nullptr, 10) : 1024) << 20;
}
} // namespace

extern "C" {
CUresult cuInit(unsigned) { return kSuccess; }
CUresult cuDeviceGetCount(int *count) {
  *count = 1;
  return kSuccess;
}
CUresult cuDeviceGet(int *device, int ordinal) {
  *device = ordinal;
  return ordinal == 0 ? kSuccess : kInvalidValue;
}
CUresult cuGetErrorName(CUresult r, const char **name) {
  switch (r) {
  case kSuccess:
    *name = "CUDA_SUCCESS";
    return kSuccess;
  case kInvalidValue:
    *name = "CUDA_ERROR_INVALID_VALUE";
    return kSuccess;
  case kOutOfMemory:
    *name = "CUDA_ERROR_OUT_OF_MEMORY";
    return kSuccess;
  case kInvalidPtx:
    *name = "CUDA_ERROR_INVALID_PTX";
    return kSuccess;
  case kNotFound:
    *name = "CUDA_ERROR_NOT_FOUND";
    return kSuccess;
  default:
    return kInvalidValue;
  }
}
CUresult cuDevicePrimaryCtxRetain(void **context, int) {
  *context = &contextToken;
  return kSuccess;
}
CUresult cuCtxSetCurrent(void *context) {
  return context == &contextToken ? kSuccess : kInvalidValue;
}
CUresult cuModuleLoadDataEx(void **module, const void *image, unsigned count,
                            int *options, void **values) {
  std::string text = static_cast<const char *>(image);
  if (text.find(".version") == std::string::npos) {
    for (unsigned i = 0; i < count; ++i)
      if (options[i] == 5) // CU_JIT_ERROR_LOG_BUFFER
        std::strcpy(static_cast<char *>(values[i]),
                    "ptxas fatal: not PTX (no .version directive)");
    return kInvalidPtx;
  }
  auto *m = new Module;
  ++modules;
  for (size_t at = text.find(".entry "); at != std::string::npos;
       at = text.find(".entry ", at + 1)) {
    size_t begin = at + 7, end = text.find_first_of("( \n", begin);
    m->kernels.insert(text.substr(begin, end - begin));
  }
  *module = m;
  return kSuccess;
}
CUresult cuModuleUnload(void *module) {
  delete static_cast<Module *>(module);
  return kSuccess;
}
CUresult cuModuleGetFunction(void **function, void *module, const char *name) {
  if (!static_cast<Module *>(module)->kernels.count(name))
    return kNotFound;
  *function = new Function{name}; // kept: a real driver's handles live on too
  ++lookups;
  return kSuccess;
}
CUresult cuLaunchKernel(void *, unsigned gx, unsigned gy, unsigned gz,
                        unsigned bx, unsigned by, unsigned bz, unsigned, void *,
                        void **params, void **) {
  if (!gx || !gy || !gz || gy > 65535 || gz > 65535 || bx * by * bz > 1024 ||
      !params)
    return kInvalidValue;
  std::lock_guard<std::mutex> guard(lock);
  ++launches;
  return kSuccess;
}
CUresult cuStreamCreate(void **stream, unsigned) {
  *stream = &streamToken;
  return kSuccess;
}
CUresult cuStreamSynchronize(void *) { return kSuccess; }
CUresult cuStreamDestroy_v2(void *) { return kSuccess; }
CUresult cuMemAllocManaged(unsigned long long *address, size_t bytes,
                           unsigned flags) {
  std::lock_guard<std::mutex> guard(lock);
  if (flags != 1 || !bytes)
    return kInvalidValue;
  if (allocated + bytes > totalBytes())
    return kOutOfMemory;
  void *p = std::malloc(bytes);
  allocations[p] = bytes;
  allocated += bytes;
  *address = reinterpret_cast<uintptr_t>(p);
  return kSuccess;
}
CUresult cuMemFree_v2(unsigned long long address) {
  std::lock_guard<std::mutex> guard(lock);
  void *p = reinterpret_cast<void *>(static_cast<uintptr_t>(address));
  auto it = allocations.find(p);
  if (it == allocations.end())
    return kInvalidValue;
  allocated -= it->second;
  allocations.erase(it);
  std::free(p);
  return kSuccess;
}
CUresult cuMemGetInfo_v2(size_t *free, size_t *total) {
  std::lock_guard<std::mutex> guard(lock);
  *total = totalBytes();
  *free = *total - allocated;
  return kSuccess;
}
CUresult cuMemcpy(unsigned long long dst, unsigned long long src,
                  size_t bytes) {
  std::memcpy(reinterpret_cast<void *>(static_cast<uintptr_t>(dst)),
              reinterpret_cast<void *>(static_cast<uintptr_t>(src)), bytes);
  return kSuccess;
}
// An event is the host time it was recorded at: the fake's work is the
// host's.
CUresult cuEventCreate(void **event, unsigned) {
  *event = new std::chrono::steady_clock::time_point();
  return kSuccess;
}
CUresult cuEventRecord(void *event, void *) {
  *static_cast<std::chrono::steady_clock::time_point *>(event) =
      std::chrono::steady_clock::now();
  return kSuccess;
}
CUresult cuEventSynchronize(void *) { return kSuccess; }
CUresult cuEventElapsedTime(float *ms, void *begin, void *end) {
  using point = std::chrono::steady_clock::time_point;
  *ms = std::chrono::duration<float, std::milli>(*static_cast<point *>(end) -
                                                 *static_cast<point *>(begin))
            .count();
  return kSuccess;
}
CUresult cuEventDestroy_v2(void *event) {
  delete static_cast<std::chrono::steady_clock::time_point *>(event);
  return kSuccess;
}

long fakeCudaLaunches() {
  std::lock_guard<std::mutex> guard(lock);
  return launches;
}
long fakeCudaLookups() {
  std::lock_guard<std::mutex> guard(lock);
  return lookups;
}
long fakeCudaLiveAllocations() {
  std::lock_guard<std::mutex> guard(lock);
  return static_cast<long>(allocations.size());
}
}
