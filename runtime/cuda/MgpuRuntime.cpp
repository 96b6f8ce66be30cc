//===- MgpuRuntime.cpp - MLIR's mgpu* calls over the CUDA driver ----------===//
//
// Part of Heed. See MgpuRuntime.h. The signatures are those gpu-to-llvm
// declares in MLIR 22 (checked in test/GPU/host-launches.test's output:
// `ptr @mgpuModuleLoadJIT(ptr, i32)`, `void @mgpuLaunchKernel(ptr, i64 x6,
// i32, ptr, ptr, ptr, i64)`, ...).
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/MgpuRuntime.h"
#include "runtime/Environment.h"
#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/RuntimeState.h"

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <set>

namespace heed::rt::cuda {
namespace {

// The first failure of the run on this thread: a run's host code (the
// cuda target's is one block of rows, never split over threads) makes its
// calls on the thread that checks them afterwards, so concurrent runs keep
// their errors apart.
thread_local std::string firstError;
// Whether this thread launched kernels since its last wait, and the last
// one (named only if the wait reports a failure).
thread_local bool pending = false;
thread_local CUfunction lastLaunched = nullptr;
std::mutex stateLock;
// Kernels by module and name: the host code looks its kernel up before
// every launch (gpu-to-llvm's lowering of gpu.launch_func).
std::map<std::pair<void *, std::string>, CUfunction> kernelCache; // stateLock
// The dynamic shared memory each kernel was allowed (allowSharedBytes).
std::map<CUfunction, int32_t> sharedLimits; // stateLock
// Why the last module load failed: the constructor that loads a model's
// kernels may run on another thread than the model (a library's, at
// dlopen), so each lookup of a kernel of the missing module reports it.
std::string loadFailure; // guarded by stateLock
/// Modules unloaded so far (each thread's kernel lookups are forgotten).
std::atomic<uint64_t> unloads{0};
/// The host code creates a stream for each launch, synchronizes it and
/// destroys it (gpu-to-llvm's lowering of a synchronous gpu.launch_func):
/// each thread gets one stream, made on its first launch and kept, so a
/// run of thousands of launches (a recurrent layer's steps) does not make
/// and destroy thousands of streams.
thread_local CUstream ownStream = nullptr;

} // namespace

namespace detail {

bool failed() { return !firstError.empty(); }

void fail(std::string message) {
  if (firstError.empty())
    firstError = std::move(message);
}

/// (Each call may come from another of the runtime's threads.)
const DriverApi *ready(const char *call) {
  const DriverApi *api = driver();
  if (!api) {
    fail(std::string(call) + ": " + driverStatus());
    return nullptr;
  }
  // Made current once per thread: a launch need not ask the driver again.
  thread_local CUcontext current = nullptr;
  if (current == api->context)
    return api;
  if (CUresult r = api->ctxSetCurrent(api->context); r != kCudaSuccess) {
    fail(std::string(call) + ": cuCtxSetCurrent failed with " + errorName(r));
    return nullptr;
  }
  current = api->context;
  return api;
}

std::string megabytes(size_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MB", double(bytes) / (1 << 20));
  return text;
}

} // namespace detail

namespace {
using namespace detail;

// --- Modules and kernels ----------------------------------------------------

/// Why PTX written for `ptx`'s `.target sm_NN` cannot run on device 0 (a
/// later architecture than the device's: the driver's JIT would reject it
/// with a log that does not say what to do), or empty.
std::string targetMismatch(const char *ptx) {
  const char *target = std::strstr(ptx, "\n.target sm_");
  DeviceProperties device;
  std::string error;
  if (!target || !deviceProperties(device, error))
    return "";
  int chip = std::atoi(target + std::strlen("\n.target sm_"));
  int own = device.computeMajor * 10 + device.computeMinor;
  if (chip <= own)
    return "";
  std::string name = device.name.empty() ? "" : " (" + device.name + ")";
  return "the model's kernels are PTX for sm_" + std::to_string(chip) +
         " (--gpu-chip), later than this GPU's sm_" + std::to_string(own) +
         name + ": compile the model with --gpu-chip=sm_" +
         std::to_string(own) +
         " (the C API's and Python's option gpu-chip=sm_" +
         std::to_string(own) + ")";
}

/// `data` is the NUL-terminated PTX of the model's one gpu.module: the
/// driver's JIT assembles it for the device (its error log goes into the
/// message when it cannot).
void *moduleLoadJIT(void *data, int optLevel) {
  auto remember = [] {
    std::lock_guard<std::mutex> guard(stateLock);
    loadFailure = firstError;
  };
  const DriverApi *api = ready("loading the model's kernels");
  if (!api) {
    remember();
    return nullptr;
  }
  if (std::string why = targetMismatch(static_cast<const char *>(data));
      !why.empty()) {
    fail(why);
    remember();
    return nullptr;
  }
  char log[4096] = {0};
  int options[] = {kJitErrorLogBuffer, kJitErrorLogBufferSizeBytes,
                   kJitOptimizationLevel};
  void *values[] = {log, reinterpret_cast<void *>(sizeof(log)),
                    reinterpret_cast<void *>(static_cast<intptr_t>(optLevel))};
  CUmodule module = nullptr;
  if (CUresult r = api->moduleLoadDataEx(&module, data, 3, options, values);
      r != kCudaSuccess) {
    fail(
        "the CUDA driver could not load the model's PTX (cuModuleLoadDataEx: " +
        errorName(r) + ")" + (log[0] ? std::string(": ") + log : ""));
    remember();
    return nullptr;
  }
  return module;
}

void moduleUnload(void *module) {
  const DriverApi *api = driver();
  if (!api || !module)
    return;
  // No graph may outlive a kernel of its.
  dropLaunchGraphs();
  {
    std::lock_guard<std::mutex> guard(stateLock);
    for (auto it = kernelCache.begin(); it != kernelCache.end();) {
      if (it->first.first != module) {
        ++it;
        continue;
      }
      sharedLimits.erase(it->second);
      it = kernelCache.erase(it);
    }
  }
  api->moduleUnload(static_cast<CUmodule>(module));
  // Nor a thread's lookup (moduleGetFunction).
  unloads.fetch_add(1, std::memory_order_release);
}

void *moduleGetFunction(void *module, const char *name) {
  if (!module) {
    std::lock_guard<std::mutex> guard(stateLock);
    fail(loadFailure.empty() ? "the model's kernels were never loaded"
                             : loadFailure);
    return nullptr;
  }
  // The thread's own lookups first, by the name's address (the host code
  // passes its constant string): no lock and no string on every launch.
  // An unload makes every thread forget its lookups (a new module or name
  // may come back at an old address).
  thread_local std::map<std::pair<void *, const char *>, CUfunction> seen;
  thread_local uint64_t seenAtUnload = 0;
  if (uint64_t now = unloads.load(std::memory_order_acquire);
      now != seenAtUnload) {
    seen.clear();
    seenAtUnload = now;
  }
  if (auto it = seen.find({module, name}); it != seen.end())
    return it->second;
  {
    std::lock_guard<std::mutex> guard(stateLock);
    auto it = kernelCache.find({module, name});
    if (it != kernelCache.end())
      return seen[{module, name}] = it->second;
  }
  const DriverApi *api = ready("looking up a kernel");
  if (!api)
    return nullptr;
  CUfunction function = nullptr;
  if (CUresult r = api->moduleGetFunction(&function,
                                          static_cast<CUmodule>(module), name);
      r != kCudaSuccess) {
    fail("kernel " + std::string(name) +
         " is not in the model's module (cuModuleGetFunction: " + errorName(r) +
         ")");
    return nullptr;
  }
  std::lock_guard<std::mutex> guard(stateLock);
  kernelCache.emplace(std::make_pair(module, std::string(name)), function);
  return seen[{module, name}] = function;
}

// --- Profile
// -------------------------------------------------------------------

/// HEED_CUDA_PROFILE set: each launch is bracketed by CUDA events on its
/// stream and its time added to its kernel's; at exit one line per kernel
/// on stderr, the longest first. Launches are synchronous already, so the
/// events cost a wait on the second one and nothing else.
struct KernelProfile {
  long launches = 0;
  double milliseconds = 0;
};
bool profiling() {
  static const bool on = env::flag("HEED_CUDA_PROFILE", false);
  return on;
}
std::map<std::string, KernelProfile> &profiles() { // guarded by stateLock
  static auto *table = new std::map<std::string, KernelProfile>();
  return *table;
}
struct ProfileReport {
  ~ProfileReport() {
    std::lock_guard<std::mutex> guard(stateLock);
    std::vector<std::pair<std::string, KernelProfile>> rows(profiles().begin(),
                                                            profiles().end());
    std::sort(rows.begin(), rows.end(), [](auto &a, auto &b) {
      return a.second.milliseconds > b.second.milliseconds;
    });
    for (auto &[name, p] : rows)
      std::fprintf(stderr, "heed-cuda-profile: %s %ld launches %.6f ms\n",
                   name.c_str(), p.launches, p.milliseconds);
  }
};

/// The launch `launch` makes, timed into its kernel's profile.
CUresult profiled(const DriverApi *api, CUfunction f, CUstream stream,
                  const std::function<CUresult()> &launch) {
  static ProfileReport report;
  thread_local CUevent begin = nullptr, end = nullptr;
  if (!begin && (api->eventCreate(&begin, 0) != kCudaSuccess ||
                 api->eventCreate(&end, 0) != kCudaSuccess)) {
    begin = end = nullptr;
    return launch();
  }
  api->eventRecord(begin, stream);
  CUresult r = launch();
  float ms = 0;
  if (r == kCudaSuccess && api->eventRecord(end, stream) == kCudaSuccess &&
      api->eventSynchronize(end) == kCudaSuccess &&
      api->eventElapsedTime(&ms, begin, end) == kCudaSuccess) {
    std::string name = kernelName(f);
    std::lock_guard<std::mutex> guard(stateLock);
    KernelProfile &p = profiles()[name];
    ++p.launches;
    p.milliseconds += ms;
  }
  return r;
}

} // namespace

namespace detail {

std::string kernelName(CUfunction function) {
  std::lock_guard<std::mutex> guard(stateLock);
  for (auto &[key, cached] : kernelCache)
    if (cached == function)
      return key.second;
  return "(unknown)";
}

void launchNow(const DriverApi *api, CUfunction f, const unsigned dims[7],
               CUstream stream, void **params, void **extra) {
  auto launch = [&] {
    return api->launchKernel(f, dims[0], dims[1], dims[2], dims[3], dims[4],
                             dims[5], dims[6], stream, params, extra);
  };
  if (CUresult r = profiling() ? profiled(api, f, stream, launch) : launch();
      r != kCudaSuccess) {
    fail("launching kernel " + kernelName(f) + " failed: " + errorName(r));
    return;
  }
  launched(f);
}

void launched(CUfunction last) {
  pending = true;
  lastLaunched = last;
}

} // namespace detail

namespace {

/// CUDA's limit of a block's static shared memory; a kernel asks for more
/// (dynamic shared memory) only after raising its own limit.
constexpr int32_t kStaticSharedBytes = 48 * 1024;

/// Raises `f`'s limit of dynamic shared memory to `bytes` (once per kernel
/// and size), or fails naming the kernel, the size and the device's limit
/// (or the driver's error).
bool allowSharedBytes(const DriverApi *api, CUfunction f, int32_t bytes) {
  {
    std::lock_guard<std::mutex> guard(stateLock);
    if (sharedLimits[f] >= bytes)
      return true;
  }
  std::string asked = "kernel " + kernelName(f) + ": " + std::to_string(bytes) +
                      " bytes of shared memory a block";
  int most = 0;
  if (CUresult r = api->deviceGetAttribute(&most, kDeviceMaxSharedOptin, 0);
      r != kCudaSuccess) {
    fail(asked + ": the device's limit is unknown (" + errorName(r) + ")");
    return false;
  }
  if (bytes > most) {
    fail(asked + ", more than the device's " + std::to_string(most));
    return false;
  }
  if (CUresult r = api->funcSetAttribute(f, kFuncMaxDynamicShared, bytes);
      r != kCudaSuccess) {
    fail(asked + ": raising the kernel's limit failed (" + errorName(r) + ")");
    return false;
  }
  std::lock_guard<std::mutex> guard(stateLock);
  sharedLimits[f] = std::max(sharedLimits[f], bytes);
  return true;
}

void launchKernel(void *function, intptr_t gridX, intptr_t gridY,
                  intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                  intptr_t blockZ, int32_t sharedBytes, void *stream,
                  void **params, void **extra, size_t paramCount) {
  // After a failure the results are not used: later launches would only
  // read memory that was never made.
  if (!function || failed())
    return;
  const DriverApi *api = ready("launching a kernel");
  if (!api)
    return;
  auto f = static_cast<CUfunction>(function);
  // The grid's limits (x < 2^31, y and z < 2^16) and at most 1024 threads a
  // block: said here with the kernel's name rather than as the driver's
  // CUDA_ERROR_INVALID_VALUE.
  if (gridX < 1 || gridY < 1 || gridZ < 1 || gridX > INT32_MAX ||
      gridY > 65535 || gridZ > 65535 || blockX < 1 || blockY < 1 ||
      blockZ < 1 || blockX * blockY * blockZ > 1024) {
    fail("kernel " + kernelName(f) + ": a grid of " + std::to_string(gridX) +
         " x " + std::to_string(gridY) + " x " + std::to_string(gridZ) +
         " blocks of " + std::to_string(blockX) + " x " +
         std::to_string(blockY) + " x " + std::to_string(blockZ) +
         " threads is beyond the device's limits");
    return;
  }
  if (sharedBytes > kStaticSharedBytes &&
      !allowSharedBytes(api, f, sharedBytes))
    return;
  unsigned dims[7] = {
      static_cast<unsigned>(gridX),      static_cast<unsigned>(gridY),
      static_cast<unsigned>(gridZ),      static_cast<unsigned>(blockX),
      static_cast<unsigned>(blockY),     static_cast<unsigned>(blockZ),
      static_cast<unsigned>(sharedBytes)};
  // On the thread's stream, recorded to be issued with the launches after
  // it (LaunchGraphs.cpp); a profile times each launch by itself.
  if (!extra && !profiling() && stream && stream == ownStream &&
      deferLaunch(api, f, dims, params, paramCount))
    return;
  launchNow(api, f, dims, static_cast<CUstream>(stream), params, extra);
}

// --- Streams -----------------------------------------------------------------

void *streamCreate() { return detail::threadStream(); }

} // namespace

namespace detail {

CUstream threadStream() {
  if (ownStream)
    return ownStream;
  const DriverApi *api = ready("creating a stream");
  if (!api)
    return nullptr;
  CUstream stream = nullptr;
  if (CUresult r = api->streamCreate(&stream, 0); r != kCudaSuccess) {
    fail("cuStreamCreate failed: " + errorName(r));
    return nullptr; // the default stream
  }
  ownStream = stream;
  return stream;
}

void markPending() { pending = true; }

/// The host code's wait before it touches memory
/// (heed-synchronize-host-accesses): where a kernel's failure shows (an
/// illegal address, a trap). Free when nothing was launched since the last.
void hostSync() {
  flushLaunches();
  if (!pending)
    return;
  pending = false;
  const DriverApi *api = ready("waiting for the device");
  if (!api)
    return;
  if (CUresult r = api->streamSynchronize(ownStream); r != kCudaSuccess)
    fail("a kernel of the model failed on the device: " + errorName(r) +
         " (the last launched before the wait: " + kernelName(lastLaunched) +
         ")");
}

} // namespace detail

namespace {

/// gpu-to-llvm waits for the stream after every launch; on the thread's
/// own stream the host code waits where it reads instead (hostSync), so
/// launches queue without a round trip each. Another stream is waited for.
void streamSynchronize(void *stream) {
  if (stream && stream == ownStream)
    return;
  const DriverApi *api = ready("waiting for the device");
  if (!api)
    return;
  if (CUresult r = api->streamSynchronize(static_cast<CUstream>(stream));
      r != kCudaSuccess)
    fail("a kernel of the model failed on the device: " + errorName(r));
}

void streamDestroy(void *stream) {
  // The thread's stream is kept for its next launch.
  if (stream == ownStream)
    return;
  const DriverApi *api = driver();
  if (api && stream)
    api->streamDestroy(static_cast<CUstream>(stream));
}

} // namespace

std::vector<std::pair<std::string, void *>> mgpuEntryPoints() {
  // (No mgpuModuleLoad: the pipeline embeds PTX, format isa, which the
  // constructor loads with mgpuModuleLoadJIT.)
  return {
      {"mgpuModuleLoadJIT", reinterpret_cast<void *>(&moduleLoadJIT)},
      {"mgpuModuleUnload", reinterpret_cast<void *>(&moduleUnload)},
      {"mgpuModuleGetFunction", reinterpret_cast<void *>(&moduleGetFunction)},
      {"mgpuLaunchKernel", reinterpret_cast<void *>(&launchKernel)},
      {"mgpuStreamCreate", reinterpret_cast<void *>(&streamCreate)},
      {"mgpuStreamSynchronize", reinterpret_cast<void *>(&streamSynchronize)},
      {"mgpuStreamDestroy", reinterpret_cast<void *>(&streamDestroy)},
      {"mgpuMemAlloc", reinterpret_cast<void *>(&memAlloc)},
      {"mgpuMemFree", reinterpret_cast<void *>(&memFree)},
      {"mgpuMemcpy", reinterpret_cast<void *>(&memcpyOnDevice)},
      // The waits heed-synchronize-host-accesses inserts.
      {"heed_gpu_sync", reinterpret_cast<void *>(&hostSync)},
      // A stopping decoder's test (heed-lag-stop-tests, StopTests.cpp).
      {"heed_gpu_stop_test_begin", reinterpret_cast<void *>(&stopTestBegin)},
      {"heed_gpu_stop_test_read", reinterpret_cast<void *>(&stopTestRead)},
      {"heed_gpu_stop_test_end", reinterpret_cast<void *>(&stopTestEnd)},
      // The host code's temporaries: its calls to malloc, calloc and free
      // resolve here, not to libc.
      {"malloc", reinterpret_cast<void *>(&hostCodeMalloc)},
      {"calloc", reinterpret_cast<void *>(&hostCodeCalloc)},
      {"free", reinterpret_cast<void *>(&hostCodeFree)},
  };
}

std::string takeFirstError() {
  std::string error = std::move(firstError);
  firstError.clear();
  return error;
}

std::unique_ptr<DeviceTimer> DeviceTimer::create(std::string &error) {
  const DriverApi *api = ready("making CUDA events");
  if (!api) {
    error = takeFirstError();
    return nullptr;
  }
  std::unique_ptr<DeviceTimer> timer(new DeviceTimer());
  CUresult r = api->eventCreate(&timer->begin, 0);
  if (r == kCudaSuccess)
    r = api->eventCreate(&timer->end, 0);
  if (r != kCudaSuccess) {
    error = "cuEventCreate failed: " + errorName(r);
    return nullptr;
  }
  return timer;
}

DeviceTimer::~DeviceTimer() {
  if (const DriverApi *api = driver()) {
    if (begin)
      api->eventDestroy(begin);
    if (end)
      api->eventDestroy(end);
  }
}

void DeviceTimer::start() {
  flushLaunches(); // (what this thread launched before is not timed)
  if (const DriverApi *api = ready("recording a CUDA event"))
    api->eventRecord(begin, nullptr);
}

double DeviceTimer::stop(std::string &error) {
  flushLaunches(); // (the event comes after this thread's launches)
  const DriverApi *api = ready("recording a CUDA event");
  if (!api) {
    error = takeFirstError();
    return -1;
  }
  float ms = 0;
  CUresult r = api->eventRecord(end, nullptr);
  if (r == kCudaSuccess)
    r = api->eventSynchronize(end);
  if (r == kCudaSuccess)
    r = api->eventElapsedTime(&ms, begin, end);
  if (r != kCudaSuccess) {
    error = "timing with CUDA events failed: " + errorName(r);
    return -1;
  }
  return ms * 1e-3;
}

} // namespace heed::rt::cuda

#ifdef HEED_RUNTIME_CUDA
// libheed_cuda_runtime.so: a model library's host code calls these by name
// (the JIT maps the same functions by address, mgpuEntryPoints), its
// malloc, calloc and free renamed to the heed_rt_device_* ones.
using namespace heed::rt::cuda;
using namespace heed::rt::cuda::detail;
extern "C" {
#define HEED_EXPORT __attribute__((visibility("default")))
HEED_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel) {
  return moduleLoadJIT(data, optLevel);
}
HEED_EXPORT void mgpuModuleUnload(void *module) { moduleUnload(module); }
HEED_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  return moduleGetFunction(module, name);
}
HEED_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                  intptr_t gridY, intptr_t gridZ,
                                  intptr_t blockX, intptr_t blockY,
                                  intptr_t blockZ, int32_t smem, void *stream,
                                  void **params, void **extra,
                                  size_t paramsCount) {
  launchKernel(function, gridX, gridY, gridZ, blockX, blockY, blockZ, smem,
               stream, params, extra, paramsCount);
}
HEED_EXPORT void *mgpuStreamCreate() { return streamCreate(); }
HEED_EXPORT void mgpuStreamSynchronize(void *stream) {
  streamSynchronize(stream);
}
HEED_EXPORT void mgpuStreamDestroy(void *stream) { streamDestroy(stream); }
HEED_EXPORT void *mgpuMemAlloc(uint64_t bytes, void *stream, bool hostShared) {
  return memAlloc(bytes, stream, hostShared);
}
HEED_EXPORT void mgpuMemFree(void *pointer, void *stream) {
  memFree(pointer, stream);
}
HEED_EXPORT void mgpuMemcpy(void *dst, void *src, size_t bytes, void *stream) {
  memcpyOnDevice(dst, src, bytes, stream);
}
HEED_EXPORT void *heed_rt_device_malloc(size_t bytes) {
  return hostCodeMalloc(bytes);
}
HEED_EXPORT void *heed_rt_device_calloc(size_t count, size_t size) {
  return hostCodeCalloc(count, size);
}
HEED_EXPORT void heed_rt_device_free(void *pointer) { hostCodeFree(pointer); }
HEED_EXPORT void heed_gpu_sync() { hostSync(); }
HEED_EXPORT intptr_t heed_gpu_stop_test_begin() { return stopTestBegin(); }
HEED_EXPORT float heed_gpu_stop_test_read(intptr_t state, intptr_t address) {
  return stopTestRead(state, address);
}
HEED_EXPORT void heed_gpu_stop_test_end(intptr_t state) { stopTestEnd(state); }
#undef HEED_EXPORT
}
#endif
