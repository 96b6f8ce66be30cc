//===- CgroupLimits.h - A container's CPU and memory limits -----*- C++ -*-===//
//
// Part of Heed. A container limited to 2 CPUs and 4 GB (`docker run
// --cpus=2 --memory=4g`, a Kubernetes pod's limits) still sees every core
// and every byte of its host: a pool of one thread per core would be
// throttled by the kernel in every scheduling period, and a tensor larger
// than the limit would get the process killed instead of an error. The
// limits are in the process's cgroup or any above it:
//   - CPU: `cpu.max` (cgroup v2: "QUOTA PERIOD", or "max PERIOD" when
//     unlimited), or `cpu.cfs_quota_us` over `cpu.cfs_period_us` (v1; a
//     quota of -1 when unlimited);
//   - memory: `memory.max` (v2: bytes, or "max"), or
//     `memory.limit_in_bytes` (v1; near 2^63 when unlimited).
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_CGROUPLIMITS_H
#define HEED_RUNTIME_CGROUPLIMITS_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace heed::rt {

/// The CPUs a quota of `quota` microseconds every `period` grants, rounded
/// up (1.5 CPUs: 2 threads); none when there is no quota or the numbers
/// are malformed.
std::optional<unsigned> cpusFromQuota(llvm::StringRef quota,
                                      llvm::StringRef period);
/// From the text of cgroup v2's `cpu.max`.
std::optional<unsigned> cpusFromCpuMax(llvm::StringRef text);
/// From the text of `memory.max` or `memory.limit_in_bytes`; none when
/// unlimited ("max", or 2^62 bytes or more) or malformed.
std::optional<uint64_t> bytesFromMemoryLimit(llvm::StringRef text);

/// The smallest CPU limit of the cgroups this process is in (read once,
/// from /proc/self/cgroup and /sys/fs/cgroup); none when unlimited.
std::optional<unsigned> cgroupCpuLimit();
/// Likewise the smallest memory limit, in bytes.
std::optional<uint64_t> cgroupMemoryLimit();

} // namespace heed::rt

#endif
