//===- CpuQuota.cpp - CPUs a cgroup's quota grants ------------------------===//
//
// Part of Heed. See CpuQuota.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/CpuQuota.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <string>

using namespace heed::rt;
using llvm::StringRef;

std::optional<unsigned> heed::rt::cpusFromQuota(StringRef quota,
                                                StringRef period) {
  int64_t q = 0, p = 0;
  if (quota.trim().getAsInteger(10, q) || period.trim().getAsInteger(10, p) ||
      q <= 0 || p <= 0)
    return std::nullopt; // "max", -1, or not a number: no limit
  int64_t cpus = (q + p - 1) / p;
  return unsigned(std::clamp<int64_t>(cpus, 1, 1 << 20));
}

std::optional<unsigned> heed::rt::cpusFromCpuMax(StringRef text) {
  auto [quota, period] = text.trim().split(' ');
  return cpusFromQuota(quota, period);
}

/// A file of /proc or /sys, read to its end (they report sizes of 0 or
/// 4096 whatever they hold).
static std::optional<std::string> readSmallFile(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFileAsStream(path);
  if (!buffer)
    return std::nullopt;
  return (*buffer)->getBuffer().str();
}

/// The limit in cgroup directory `dir` (v2 or v1 files).
static std::optional<unsigned> limitIn(const std::string &dir) {
  if (auto max = readSmallFile(dir + "/cpu.max"))
    return cpusFromCpuMax(*max);
  auto quota = readSmallFile(dir + "/cpu.cfs_quota_us");
  auto period = readSmallFile(dir + "/cpu.cfs_period_us");
  if (quota && period)
    return cpusFromQuota(*quota, *period);
  return std::nullopt;
}

std::optional<unsigned> heed::rt::cgroupCpuLimit() {
  static const std::optional<unsigned> limit = []() {
    std::optional<unsigned> least;
    auto consider = [&](const std::string &dir) {
      if (auto cpus = limitIn(dir))
        least = least ? std::min(*least, *cpus) : *cpus;
    };
    auto cgroups = readSmallFile("/proc/self/cgroup");
    if (!cgroups)
      return least;
    llvm::SmallVector<StringRef> lines;
    StringRef(*cgroups).split(lines, '\n', -1, /*KeepEmpty=*/false);
    for (StringRef line : lines) {
      // "ID:CONTROLLERS:PATH": v2's line is "0::PATH"; v1's cpu
      // controller is mounted as cpu/ or cpu,cpuacct/.
      auto [id, rest] = line.split(':');
      auto [controllers, path] = rest.split(':');
      llvm::SmallVector<std::string, 2> roots;
      if (controllers.empty()) {
        roots.push_back("/sys/fs/cgroup");
      } else {
        llvm::SmallVector<StringRef> names;
        controllers.split(names, ',');
        if (!llvm::is_contained(names, "cpu"))
          continue;
        roots.push_back("/sys/fs/cgroup/" + controllers.str());
        roots.push_back("/sys/fs/cgroup/cpu");
      }
      for (const std::string &root : roots) {
        // The cgroup and those above it (each limit applies); in a
        // container the path may name the host's view, so the mount's
        // root is read too.
        StringRef p = path.rtrim('/');
        while (!p.empty()) {
          consider(root + p.str());
          p = p.substr(0, p.rfind('/'));
        }
        consider(root);
      }
    }
    return least;
  }();
  return limit;
}
