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

#include <string>

namespace heed::rt::cuda {

/// Loads the driver (once per process) and initializes it. Returns an empty
/// string when a CUDA device is usable, otherwise why not: "no CUDA driver:
/// libcuda.so.1 not found", a failed cuInit with the driver's own error
/// name, or "no CUDA device".
std::string driverStatus();

} // namespace heed::rt::cuda

#endif // HEED_RUNTIME_CUDA_CUDADRIVER_H
