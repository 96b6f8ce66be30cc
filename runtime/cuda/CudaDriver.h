//===- CudaDriver.h - The CUDA driver, loaded when asked for ----*- C++ -*-===//
//
// Part of Heed. The GPU target's runtime has no link-time CUDA dependency:
// the driver API comes from dlopen("libcuda.so.1") on first use, so heed
// builds and runs everywhere and --target=cuda fails with one clear message
// where there is no driver or no device.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_CUDA_CUDADRIVER_H
#define HEED_RUNTIME_CUDA_CUDADRIVER_H

#include <cstddef>
#include <cstdint>
#include <string>

// The driver API's handle types, declared as cuda.h declares them (global
// opaque structs; the CUDA headers are not needed to build heed).
struct CUctx_st;
struct CUmod_st;
struct CUfunc_st;
struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphNode_st;
struct CUgraphExec_st;
struct CUkern_st;
/// CUDA_KERNEL_NODE_PARAMS_v2 (cuGraphAddKernelNode_v2's), as cuda.h lays
/// it out.
struct CUDA_KERNEL_NODE_PARAMS_v2_st {
  CUfunc_st *function;
  unsigned gridX, gridY, gridZ, blockX, blockY, blockZ, sharedBytes;
  void **kernelParams;
  void **extra;
  CUkern_st *kernel; // used only where `function` is null
  CUctx_st *context; // ignored where `function` is set
};
/// CUmemLocation (cuMemPrefetchAsync_v2's): a device or the host.
struct CUmemLocation_st {
  int type; // CU_MEM_LOCATION_TYPE_DEVICE (1) or _HOST (2)
  int id;   // the device's ordinal
};

namespace heed::rt::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = ::CUctx_st *;
using CUmodule = ::CUmod_st *;
using CUfunction = ::CUfunc_st *;
using CUstream = ::CUstream_st *;
using CUevent = ::CUevent_st *;
using CUgraph = ::CUgraph_st *;
using CUgraphNode = ::CUgraphNode_st *;
using CUgraphExec = ::CUgraphExec_st *;
using KernelNodeParams = ::CUDA_KERNEL_NODE_PARAMS_v2_st;
constexpr CUresult kCudaSuccess = 0;
constexpr CUresult kCudaErrorOutOfMemory = 2;
constexpr CUresult kCudaErrorNotReady = 600;
/// CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES and
/// CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN.
constexpr int kFuncMaxDynamicShared = 8;
constexpr int kDeviceMaxSharedOptin = 97;
/// CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT and
/// CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR and _MINOR.
constexpr int kDeviceMultiprocessors = 16;
constexpr int kDeviceComputeMajor = 75, kDeviceComputeMinor = 76;
constexpr unsigned kEventDisableTiming = 2;
constexpr unsigned kMemAttachGlobal = 1;
using CUmemLocation = ::CUmemLocation_st;
constexpr int kMemLocationDevice = 1, kMemLocationHost = 2;
// cuModuleLoadDataEx options (CUjit_option).
constexpr int kJitErrorLogBuffer = 5;
constexpr int kJitErrorLogBufferSizeBytes = 6;
constexpr int kJitOptimizationLevel = 7;

/// The entry points Heed uses, by the names the driver exports (the `_v2`
/// ones where cuda.h maps a name to its 64-bit version).
struct DriverApi {
  CUresult (*init)(unsigned);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*getErrorName)(CUresult, const char **);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*moduleLoadDataEx)(CUmodule *, const void *, unsigned, int *,
                               void **);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
  CUresult (*funcSetAttribute)(CUfunction, int, int);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  /// Optional: the device's marketing name, for reports.
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memGetInfo)(size_t *, size_t *);
  CUresult (*memcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*memcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
  CUresult (*memAllocHost)(void **, size_t);
  CUresult (*memFreeHost)(void *);
  CUresult (*eventCreate)(CUevent *, unsigned);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*eventSynchronize)(CUevent);
  CUresult (*eventQuery)(CUevent);
  CUresult (*eventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*eventDestroy)(CUevent);
  /// Optional (null where the driver lacks it, CUDA 12.2 and later have
  /// it): moves managed pages in bulk, rather than a page fault at a time.
  CUresult (*memPrefetchAsync)(CUdeviceptr, size_t, CUmemLocation, unsigned,
                               CUstream);
  /// Optional, all or none (CUDA 12.4 and later have them): a thread's
  /// launches replayed as CUDA graphs (LaunchGraphs.cpp). cuFuncGetParamInfo
  /// gives a kernel's parameter sizes, so that a launch can be recorded.
  CUresult (*funcGetParamInfo)(CUfunction, size_t, size_t *, size_t *);
  CUresult (*graphCreate)(CUgraph *, unsigned);
  CUresult (*graphAddKernelNode)(CUgraphNode *, CUgraph, const CUgraphNode *,
                                 size_t, const KernelNodeParams *);
  CUresult (*graphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*graphExecKernelNodeSetParams)(CUgraphExec, CUgraphNode,
                                           const KernelNodeParams *);
  CUresult (*graphLaunch)(CUgraphExec, CUstream);
  CUresult (*graphExecDestroy)(CUgraphExec);
  CUresult (*graphDestroy)(CUgraph);
  bool hasGraphs() const {
    return funcGetParamInfo && graphCreate && graphAddKernelNode &&
           graphInstantiate && graphExecKernelNodeSetParams && graphLaunch &&
           graphExecDestroy && graphDestroy;
  }
  /// Device 0's primary context, made current by every call that needs it.
  CUcontext context;
};

/// Loads the driver (once per process) and initializes it. Returns an empty
/// string when a CUDA device is usable, otherwise why not: "no CUDA driver:
/// libcuda.so.1 not found", a missing entry point, a failed cuInit with the
/// driver's own error name, or "no CUDA device".
std::string driverStatus();

/// The loaded driver, or null where driverStatus() is not empty.
const DriverApi *driver();

/// The driver's name for `result` (CUDA_ERROR_OUT_OF_MEMORY), or "error N".
std::string errorName(CUresult result);

} // namespace heed::rt::cuda

#endif // HEED_RUNTIME_CUDA_CUDADRIVER_H
