//===- CudaDriver.cpp - The CUDA driver, loaded when asked for ------------===//
//
// Part of Heed. See CudaDriver.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaDriver.h"
#include "runtime/cuda/MgpuRuntime.h"

#include <atomic>
#include <dlfcn.h>
#include <mutex>

namespace heed::rt::cuda {
namespace {

DriverApi api;
/// Set once the driver is loaded and initialized (read without the
/// once_flag by every launch: driver()).
std::atomic<const DriverApi *> loaded{nullptr};

std::string describe(CUresult r) {
  const char *name = nullptr;
  if (api.getErrorName && api.getErrorName(r, &name) == kCudaSuccess && name)
    return std::string(name);
  // The stub library (the toolkit's, for linking) names no errors.
  switch (r) {
  case 2:
    return "CUDA_ERROR_OUT_OF_MEMORY";
  case 34:
    return "CUDA_ERROR_STUB_LIBRARY (a stub, not a driver)";
  case 35:
    return "CUDA_ERROR_INSUFFICIENT_DRIVER";
  case 100:
    return "CUDA_ERROR_NO_DEVICE";
  default:
    return "error " + std::to_string(r);
  }
}

std::string loadAndInit() {
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return "no CUDA driver: libcuda.so.1 not found";
  // An entry point Heed can do without (DriverApi says what each gives)
  // is left null where the driver lacks it; one it needs is named.
  auto optional = [&](auto &slot, const char *name) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(
        dlsym(library, name));
  };
  std::string missing;
  auto bind = [&](auto &slot, const char *name) {
    optional(slot, name);
    if (!slot && missing.empty())
      missing = name;
  };
  bind(api.init, "cuInit");
  bind(api.deviceGetCount, "cuDeviceGetCount");
  // Without these two nothing else can be said: not a driver at all.
  if (!missing.empty())
    return "libcuda.so.1 has no " + missing + ": not a CUDA driver";
  optional(api.getErrorName, "cuGetErrorName");
  if (CUresult r = api.init(0); r != kCudaSuccess)
    return "the CUDA driver did not initialize: cuInit failed with " +
           describe(r);
  int devices = 0;
  if (CUresult r = api.deviceGetCount(&devices); r != kCudaSuccess)
    return "cuDeviceGetCount failed with " + describe(r);
  if (devices == 0)
    return "no CUDA device";
  bind(api.deviceGet, "cuDeviceGet");
  bind(api.primaryCtxRetain, "cuDevicePrimaryCtxRetain");
  bind(api.ctxSetCurrent, "cuCtxSetCurrent");
  bind(api.moduleLoadDataEx, "cuModuleLoadDataEx");
  bind(api.moduleUnload, "cuModuleUnload");
  bind(api.moduleGetFunction, "cuModuleGetFunction");
  bind(api.launchKernel, "cuLaunchKernel");
  bind(api.funcSetAttribute, "cuFuncSetAttribute");
  bind(api.deviceGetAttribute, "cuDeviceGetAttribute");
  bind(api.streamCreate, "cuStreamCreate");
  bind(api.streamSynchronize, "cuStreamSynchronize");
  bind(api.streamDestroy, "cuStreamDestroy_v2");
  bind(api.memAllocManaged, "cuMemAllocManaged");
  bind(api.memFree, "cuMemFree_v2");
  bind(api.memGetInfo, "cuMemGetInfo_v2");
  bind(api.memcpy, "cuMemcpy");
  bind(api.memcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  bind(api.memAllocHost, "cuMemAllocHost_v2");
  bind(api.memFreeHost, "cuMemFreeHost");
  bind(api.eventCreate, "cuEventCreate");
  bind(api.eventRecord, "cuEventRecord");
  bind(api.eventSynchronize, "cuEventSynchronize");
  bind(api.eventQuery, "cuEventQuery");
  bind(api.eventElapsedTime, "cuEventElapsedTime");
  bind(api.eventDestroy, "cuEventDestroy_v2");
  if (!missing.empty())
    return "the CUDA driver has no " + missing + " (too old a driver?)";
  optional(api.memPrefetchAsync, "cuMemPrefetchAsync_v2");
  optional(api.deviceGetName, "cuDeviceGetName");
  optional(api.funcGetParamInfo, "cuFuncGetParamInfo");
  optional(api.graphCreate, "cuGraphCreate");
  optional(api.graphAddKernelNode, "cuGraphAddKernelNode_v2");
  optional(api.graphInstantiate, "cuGraphInstantiateWithFlags");
  optional(api.graphExecKernelNodeSetParams,
           "cuGraphExecKernelNodeSetParams_v2");
  optional(api.graphLaunch, "cuGraphLaunch");
  optional(api.graphExecDestroy, "cuGraphExecDestroy");
  optional(api.graphDestroy, "cuGraphDestroy");
  CUdevice device = 0;
  if (CUresult r = api.deviceGet(&device, 0); r != kCudaSuccess)
    return "cuDeviceGet(0) failed with " + describe(r);
  if (CUresult r = api.primaryCtxRetain(&api.context, device);
      r != kCudaSuccess)
    return "cuDevicePrimaryCtxRetain failed with " + describe(r);
  loaded.store(&api, std::memory_order_release);
  return "";
}

} // namespace

std::string driverStatus() {
  static std::once_flag once;
  static std::string status;
  std::call_once(once, [] { status = loadAndInit(); });
  return status;
}

const DriverApi *driver() {
  if (const DriverApi *api = loaded.load(std::memory_order_acquire))
    return api;
  driverStatus();
  return loaded.load(std::memory_order_acquire);
}

std::string errorName(CUresult result) { return describe(result); }

bool deviceProperties(DeviceProperties &out, std::string &error) {
  const DriverApi *driverApi = driver();
  if (!driverApi) {
    error = driverStatus();
    return false;
  }
  CUdevice device = 0;
  if (CUresult r = driverApi->deviceGet(&device, 0); r != kCudaSuccess) {
    error = "cuDeviceGet(0) failed with " + describe(r);
    return false;
  }
  for (auto [attribute, value] :
       {std::pair{kDeviceComputeMajor, &out.computeMajor},
        std::pair{kDeviceComputeMinor, &out.computeMinor},
        std::pair{kDeviceMultiprocessors, &out.multiprocessors}})
    if (CUresult r = driverApi->deviceGetAttribute(value, attribute, device);
        r != kCudaSuccess) {
      error = "cuDeviceGetAttribute(" + std::to_string(attribute) +
              ") failed with " + describe(r);
      return false;
    }
  char name[256] = {0};
  if (driverApi->deviceGetName &&
      driverApi->deviceGetName(name, sizeof(name) - 1, device) == kCudaSuccess)
    out.name = name;
  return true;
}

} // namespace heed::rt::cuda
