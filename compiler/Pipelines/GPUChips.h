//===- GPUChips.h - NVIDIA architectures for the cuda target ---*- C++ -*-===//
//
// Part of Heed. What the cuda target knows of an architecture (sm_NN):
// whether LLVM's NVPTX backend can write PTX for it, the PTX ISA version
// its kernels are written in, the usual part's multiprocessors, and which
// architecture to compile for on a device of a given compute capability.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_PIPELINES_GPUCHIPS_H
#define HEED_COMPILER_PIPELINES_GPUCHIPS_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace heed {

/// Why the cuda target cannot compile for `chip`, or empty where it can: it
/// must look like sm_90 and be an architecture LLVM's NVPTX backend knows
/// (without that, LLVM writes PTX for a processor it ignores). `option`
/// names where the chip came from ("--gpu-chip", a pipeline's "gpu-chip").
std::string gpuChipProblem(llvm::StringRef chip,
                           llvm::StringRef option = "--gpu-chip");

/// The NVPTX target features for `chip`'s kernels: PTX ISA 8.0, or the
/// first version that has the chip where that is later (sm_100: 8.6,
/// sm_120: 8.7; an earlier version than the chip's is a fatal LLVM error).
/// `chip` must pass gpuChipProblem.
std::string ptxFeaturesFor(llvm::StringRef chip);

/// The architecture to compile for on a device of compute capability
/// major.minor: sm_<major><minor> where LLVM knows it, else the newest one
/// LLVM knows below it (its PTX runs there through the driver's JIT);
/// empty where there is none.
std::string gpuChipForComputeCapability(int major, int minor);

/// The multiprocessors of an architecture's usual data-centre part (sm_80:
/// A100's 108, sm_90: H100 SXM and H200's 132, sm_100: B200's 148); 0 for
/// others. PipelineOptions::gpuMultiprocessors = -1 takes it.
int64_t multiprocessorsOf(llvm::StringRef chip);

} // namespace heed

#endif // HEED_COMPILER_PIPELINES_GPUCHIPS_H
