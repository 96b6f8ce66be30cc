//===- MgpuRuntime.h - MLIR's mgpu* calls over the CUDA driver --*- C++ -*-===//
//
// Part of Heed. The host code of --target=cuda calls MLIR's GPU runtime ABI
// (what gpu-to-llvm emits: mgpuModuleLoadJIT, mgpuLaunchKernel,
// mgpuMemAlloc, ...). Heed implements those calls over the driver API it
// loads with dlopen (CudaDriver.h), so neither heed nor a compiled model
// links CUDA or MLIR's CUDA runtime wrappers; the JIT resolves the names
// to these functions as absolute symbols.
//
// The calls return void or a handle, so a failure cannot unwind the
// compiled code: the first one is recorded for the thread (with what was
// asked, the driver's error name and, for memory, what is free), every
// later launch on it is skipped and allocations fall back to host memory,
// and the caller collects the message with takeFirstError() after the run.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_CUDA_MGPURUNTIME_H
#define HEED_RUNTIME_CUDA_MGPURUNTIME_H

#include <cstddef>
#include <cstdint>
#include <memory>

struct CUevent_st;
#include <string>
#include <utility>
#include <vector>

namespace heed::rt::cuda {

/// Every mgpu* entry point by name, for the JIT's symbol table.
std::vector<std::pair<std::string, void *>> mgpuEntryPoints();

/// The first failure on this thread since the last call ("" if none), and
/// clears it so that the next run starts clean.
std::string takeFirstError();

/// Device 0, the one Heed runs on, as the driver describes it.
struct DeviceProperties {
  std::string name; // "NVIDIA H100 80GB HBM3"; empty if the driver says none
  int computeMajor = 0, computeMinor = 0;
  int multiprocessors = 0;
};
/// Device 0's properties; false and why not (no driver, no device, a
/// failed query) otherwise.
bool deviceProperties(DeviceProperties &out, std::string &error);

/// `bytes` of managed memory; null and why not (what was asked, what the
/// device has free, or that there is no driver) where it cannot be had.
/// A block the calling thread freed before, of the same size, is given
/// again (DeviceMemory.cpp's block cache).
void *allocateManaged(size_t bytes, std::string &error);
/// Frees what allocateManaged gave (null: nothing): kept for the calling
/// thread's next allocation of its size while its cache has room.
void freeManaged(void *pointer);

/// A run of a model begins on the calling thread: its allocations get,
/// where they can, the blocks the same allocations of the thread's last
/// run got (so that a loop step's CUDA graph finds the addresses it had).
void beginRun();

/// Moves `bytes` of managed memory from `pointer` to the device (before
/// kernels read what the host wrote: in bulk, instead of a page fault at
/// a time inside the kernels) or to the host (before the host reads what
/// kernels wrote; waitForDevice() then waits for it), queued on the
/// calling thread's stream. Only a hint: nothing happens where the driver
/// cannot (an old driver, memory that is not managed).
void prefetchToDevice(const void *pointer, size_t bytes);
void prefetchToHost(const void *pointer, size_t bytes);
/// Waits for the work the calling thread queued (kernels, prefetches).
void waitForDevice();

/// A run's input into its managed buffer, and (after waitForDevice) its
/// output out of its buffer. By default the host copies them, and
/// prefetchToDevice/prefetchToHost move the pages in bulk around the run.
/// With HEED_CUDA_STAGING=copy the driver copies them (cuMemcpy: the copy
/// engine reaches the pages where they are, on the device from the second
/// run on, and migrates none) and prefetchToHost does nothing. Failures
/// are the thread's first error (takeFirstError).
void stageIn(void *managed, const void *host, size_t bytes);
void stageOut(void *host, const void *managed, size_t bytes);

/// Frees the blocks the calling thread's host code freed and the runtime
/// kept for its next allocations (DeviceMemory.cpp); a thread's are freed
/// when it ends.
void releaseCachedBlocks();

/// A float buffer the device and the host both reach (managed memory): the
/// weights of a model bound for --target=cuda (uploaded once), its prepared
/// weights, and each run's inputs and outputs.
class ManagedBuffer {
public:
  ManagedBuffer() = default;
  /// `what` names the buffer in the error (weight 'encoder.weight'); the
  /// error says how much was asked and what the device has free.
  static ManagedBuffer allocate(std::vector<int64_t> shape,
                                const std::string &what, std::string &error);
  ManagedBuffer(ManagedBuffer &&other) noexcept { *this = std::move(other); }
  ManagedBuffer &operator=(ManagedBuffer &&other) noexcept;
  ~ManagedBuffer();
  float *data() const { return pointer; }
  const std::vector<int64_t> &shape() const { return dims; }
  size_t bytes() const;

private:
  float *pointer = nullptr;
  std::vector<int64_t> dims;
};

/// Times runs on the device with CUDA events recorded on the default
/// stream: the streams the host code creates are blocking ones, so the two
/// events bracket every launch in between (heed bench --device=cuda).
class DeviceTimer {
public:
  /// Null and why not where the driver cannot make events.
  static std::unique_ptr<DeviceTimer> create(std::string &error);
  ~DeviceTimer();
  void start();
  /// Seconds since start(), once the device has reached this point; -1 and
  /// `error` if the driver failed.
  double stop(std::string &error);

private:
  DeviceTimer() = default;
  ::CUevent_st *begin = nullptr, *end = nullptr;
};

} // namespace heed::rt::cuda

#endif // HEED_RUNTIME_CUDA_MGPURUNTIME_H
