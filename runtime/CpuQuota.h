//===- CpuQuota.h - CPUs a cgroup's quota grants ----------------*- C++ -*-===//
//
// Part of Heed. A container limited to 2 CPUs (`docker run --cpus=2`, a
// Kubernetes CPU limit) still sees every core of its host in its affinity
// mask; a pool of one thread per core would then be throttled by the
// kernel in every scheduling period. The limit is the cgroup's CPU quota:
// `cpu.max` (cgroup v2: "QUOTA PERIOD", or "max PERIOD" when unlimited) or
// `cpu.cfs_quota_us` over `cpu.cfs_period_us` (v1; -1 when unlimited), in
// the process's cgroup or any above it.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_CPUQUOTA_H
#define HEED_RUNTIME_CPUQUOTA_H

#include "llvm/ADT/StringRef.h"

#include <optional>

namespace heed::rt {

/// The CPUs a quota of `quota` microseconds every `period` grants, rounded
/// up (1.5 CPUs: 2 threads); none when there is no quota or the numbers
/// are malformed.
std::optional<unsigned> cpusFromQuota(llvm::StringRef quota,
                                      llvm::StringRef period);
/// From the text of cgroup v2's `cpu.max`.
std::optional<unsigned> cpusFromCpuMax(llvm::StringRef text);

/// The smallest CPU limit of the cgroups this process is in (read once,
/// from /proc/self/cgroup and /sys/fs/cgroup); none when unlimited.
std::optional<unsigned> cgroupCpuLimit();

} // namespace heed::rt

#endif
