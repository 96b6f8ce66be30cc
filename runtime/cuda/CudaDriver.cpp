//===- CudaDriver.cpp - The CUDA driver, loaded when asked for ------------===//
//
// Part of Heed. See CudaDriver.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/cuda/CudaDriver.h"

#include <dlfcn.h>
#include <mutex>

namespace heed::rt::cuda {
namespace {

// The few driver API entry points used here, declared by their C ABI (the
// CUDA headers are not needed to build heed).
using CUresult = int;
constexpr CUresult kCudaSuccess = 0;
using CuInit = CUresult (*)(unsigned);
using CuDeviceGetCount = CUresult (*)(int *);
using CuGetErrorName = CUresult (*)(CUresult, const char **);

std::string loadAndInit() {
  void *driver = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!driver)
    return "no CUDA driver: libcuda.so.1 not found";
  auto init = reinterpret_cast<CuInit>(dlsym(driver, "cuInit"));
  auto count =
      reinterpret_cast<CuDeviceGetCount>(dlsym(driver, "cuDeviceGetCount"));
  auto errorName =
      reinterpret_cast<CuGetErrorName>(dlsym(driver, "cuGetErrorName"));
  if (!init || !count)
    return "libcuda.so.1 has no cuInit/cuDeviceGetCount: not a CUDA driver";
  auto describe = [&](CUresult r) {
    const char *name = nullptr;
    if (errorName && errorName(r, &name) == kCudaSuccess && name)
      return std::string(name);
    // The stub library (the toolkit's, for linking) names no errors.
    switch (r) {
    case 34:
      return std::string("CUDA_ERROR_STUB_LIBRARY (a stub, not a driver)");
    case 35:
      return std::string("CUDA_ERROR_INSUFFICIENT_DRIVER");
    case 100:
      return std::string("CUDA_ERROR_NO_DEVICE");
    default:
      return "error " + std::to_string(r);
    }
  };
  if (CUresult r = init(0); r != kCudaSuccess)
    return "the CUDA driver did not initialize: cuInit failed with " +
           describe(r);
  int devices = 0;
  if (CUresult r = count(&devices); r != kCudaSuccess)
    return "cuDeviceGetCount failed with " + describe(r);
  if (devices == 0)
    return "no CUDA device";
  return "";
}

} // namespace

std::string driverStatus() {
  static std::once_flag once;
  static std::string status;
  std::call_once(once, [] { status = loadAndInit(); });
  return status;
}

} // namespace heed::rt::cuda
