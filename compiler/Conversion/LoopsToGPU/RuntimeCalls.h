//===- RuntimeCalls.h - The host code's calls of the runtime ----*- C++ -*-===//
//
// Part of Heed. Names the GPU passes give the host code's calls of Heed's
// CUDA runtime (runtime/cuda/), shared by the passes that insert them and
// those that look at them.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_CONVERSION_LOOPSTOGPU_RUNTIMECALLS_H
#define HEED_COMPILER_CONVERSION_LOOPSTOGPU_RUNTIMECALLS_H

#include "llvm/ADT/StringRef.h"

namespace heed {

/// The wait for the thread's launched kernels
/// (heed-synchronize-host-accesses).
inline constexpr llvm::StringLiteral kGpuSyncName = "heed_gpu_sync";

/// On a runtime function's declaration: the runtime orders the call after
/// the launched work itself (a decoder's stop test, heed-lag-stop-tests), so
/// heed-synchronize-host-accesses puts no wait before it.
inline constexpr llvm::StringLiteral kStreamOrderedAttrName =
    "heed.stream_ordered";

} // namespace heed

#endif // HEED_COMPILER_CONVERSION_LOOPSTOGPU_RUNTIMECALLS_H
