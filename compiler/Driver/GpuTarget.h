//===- GpuTarget.h - GPU options checked, the device's chip -----*- C++ -*-===//
//
// Part of Heed. What the heed CLI and the embedding APIs share about the
// GPU options: their checks, and for runs on the cuda target the device's
// own architecture and multiprocessors where the caller leaves them (PTX
// for a later architecture than the device's does not load, and the flash
// kernels' block size and the attention rows' chunks depend on the
// multiprocessors).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_DRIVER_GPUTARGET_H
#define HEED_COMPILER_DRIVER_GPUTARGET_H

#include "compiler/Pipelines/Pipelines.h"

#include "llvm/Support/Error.h"

#include <string>

namespace heed {

/// What resolveGpuTarget found.
struct GpuTargetInfo {
  /// What an error about the chip blames: "this GPU's sm_90 (NAME)" where
  /// the chip is the device's, else "--gpu-chip=sm_90".
  std::string chipSource;
  /// "NAME, compute capability 9.0, 132 multiprocessors; kernels for
  /// sm_90" where the device's properties were taken, else empty.
  std::string device;
};

/// Checks `o`'s GPU options (names with `dashes`: "--" for the CLI, "" for
/// pipeline options) and, where `o.gpuChip` is "native" or (`runs` on the
/// cuda target) was not given (`chipGiven`), replaces it by the device's
/// architecture, and gpuMultiprocessors by the device's where not given
/// (`multiprocessorsGiven`). Without a device the defaults stay (a run
/// then says why there is none), except for "native", which fails.
llvm::Expected<GpuTargetInfo>
resolveGpuTarget(PipelineOptions &o, bool chipGiven, bool multiprocessorsGiven,
                 bool runs, llvm::StringRef dashes);

} // namespace heed

#endif
