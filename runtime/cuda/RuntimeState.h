//===- RuntimeState.h - What the CUDA runtime's files share -----*- C++ -*-===//
//
// Part of Heed. Internal to runtime/cuda: the per-thread error and wait
// state of MgpuRuntime.cpp, and the entry points DeviceMemory.cpp and
// StopTests.cpp give the host code (listed with the others in
// mgpuEntryPoints, exported by libheed_cuda_runtime.so).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_CUDA_RUNTIMESTATE_H
#define HEED_RUNTIME_CUDA_RUNTIMESTATE_H

#include "runtime/cuda/CudaDriver.h"

#include <cstddef>
#include <cstdint>
#include <string>

namespace heed::rt::cuda::detail {

// --- Errors and waits (MgpuRuntime.cpp) --------------------------------------

/// Whether this thread's run has failed (its launches are then skipped).
bool failed();
/// Records `message` as this thread's first failure (later ones are kept
/// out: the first is the cause).
void fail(std::string message);
/// The driver with device 0's context current on this thread, or null after
/// recording why not (`call` says what was being done).
const DriverApi *ready(const char *call);
/// The thread's stream, made on first use (null after recording why not).
CUstream threadStream();
/// Waits for this thread's launched work if any is pending (where a
/// kernel's failure shows).
void hostSync();
/// Says that work was queued on the thread's stream (the next hostSync
/// waits for it).
void markPending();
/// "1.5 MB".
std::string megabytes(size_t bytes);
/// For messages: the name `function` was looked up by.
std::string kernelName(CUfunction function);
/// Launches `function` on `stream` now (grid x, y, z, block x, y, z and
/// dynamic shared bytes in `dims`); a failure is recorded with its name.
void launchNow(const DriverApi *api, CUfunction function,
               const unsigned dims[7], CUstream stream, void **params,
               void **extra = nullptr);
/// Says that work ending with `last` was queued on the thread's stream.
void launched(CUfunction last);

// --- Launches as CUDA graphs (LaunchGraphs.cpp) -----------------------------

/// Records a launch on the thread's stream, to be issued with the next
/// flush (as a CUDA graph where its run of launches was seen before).
/// False, after issuing what was recorded, where it must be launched now:
/// graphs are off, or the driver cannot say the kernel's parameter sizes.
bool deferLaunch(const DriverApi *api, CUfunction function,
                 const unsigned dims[7], void **params, size_t paramCount);
/// Issues the thread's recorded launches. Every other operation on the
/// thread's stream, and every wait, comes after it.
void flushLaunches();
/// Destroys every thread's graphs and forgets its kernels' parameter sizes
/// (a module is unloaded: its kernels' handles may come back as others).
void dropLaunchGraphs();

// --- Memory (DeviceMemory.cpp) -----------------------------------------------

/// Managed memory, or null and why not (what was asked, what is free).
void *tryManaged(size_t bytes, std::string &error);
/// A block of the calling thread's cache (freed by memFree), else managed
/// memory; null and why not.
void *cachedBlock(size_t bytes, std::string &error);
/// Waits for the thread's work, then frees `pointer` now (a block of the
/// host code's, a buffer of the driver's or a host fallback).
void freeNow(void *pointer);
void *memAlloc(uint64_t bytes, void *stream, bool hostShared);
void memFree(void *pointer, void *stream);
void memcpyOnDevice(void *dst, void *src, size_t bytes, void *stream);
void *hostCodeMalloc(size_t bytes);
void *hostCodeCalloc(size_t count, size_t size);
void hostCodeFree(void *pointer);

// --- Stopping decoders' tests (StopTests.cpp) --------------------------------

intptr_t stopTestBegin();
float stopTestRead(intptr_t state, intptr_t address);
void stopTestEnd(intptr_t state);

} // namespace heed::rt::cuda::detail

#endif // HEED_RUNTIME_CUDA_RUNTIMESTATE_H
