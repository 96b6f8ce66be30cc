//===- CgroupLimits.cpp - A container's CPU and memory limits -------------===//
//
// Part of Heed. See CgroupLimits.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/CgroupLimits.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <functional>
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

std::optional<uint64_t> heed::rt::bytesFromMemoryLimit(StringRef text) {
  uint64_t bytes = 0;
  if (text.trim().getAsInteger(10, bytes) || bytes == 0 ||
      bytes >= uint64_t(1) << 62)
    return std::nullopt; // "max", v1's "unlimited" (2^63 - a page), junk
  return bytes;
}

/// A file of /proc or /sys, read to its end (they report sizes of 0 or
/// 4096 whatever they hold).
static std::optional<std::string> readSmallFile(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFileAsStream(path);
  if (!buffer)
    return std::nullopt;
  return (*buffer)->getBuffer().str();
}

/// The least of `limitIn(dir)` over the cgroup directories of `controller`
/// ("cpu", "memory") this process is in, and those above them.
template <typename T>
static std::optional<T> leastLimit(
    StringRef controller,
    const std::function<std::optional<T>(const std::string &)> &limitIn) {
  std::optional<T> least;
  auto consider = [&](const std::string &dir) {
    if (auto value = limitIn(dir))
      least = least ? std::min(*least, *value) : *value;
  };
  auto cgroups = readSmallFile("/proc/self/cgroup");
  if (!cgroups)
    return least;
  llvm::SmallVector<StringRef> lines;
  StringRef(*cgroups).split(lines, '\n', -1, /*KeepEmpty=*/false);
  for (StringRef line : lines) {
    // "ID:CONTROLLERS:PATH": v2's line is "0::PATH"; a v1 controller is
    // mounted under its name (cpu/, or cpu,cpuacct/ beside a link).
    auto [id, rest] = line.split(':');
    auto [controllers, path] = rest.split(':');
    llvm::SmallVector<std::string, 2> roots;
    if (controllers.empty()) {
      roots.push_back("/sys/fs/cgroup");
    } else {
      llvm::SmallVector<StringRef> names;
      controllers.split(names, ',');
      if (!llvm::is_contained(names, controller))
        continue;
      roots.push_back("/sys/fs/cgroup/" + controllers.str());
      roots.push_back("/sys/fs/cgroup/" + controller.str());
    }
    for (const std::string &root : roots) {
      // The cgroup and those above it (each limit applies); in a container
      // the path may be the host's view, so the mount's root is read too.
      StringRef p = path.rtrim('/');
      while (!p.empty()) {
        consider(root + p.str());
        p = p.substr(0, p.rfind('/'));
      }
      consider(root);
    }
  }
  return least;
}

std::optional<unsigned> heed::rt::cgroupCpuLimit() {
  static const std::optional<unsigned> limit = leastLimit<unsigned>(
      "cpu", [](const std::string &dir) -> std::optional<unsigned> {
        if (auto max = readSmallFile(dir + "/cpu.max"))
          return cpusFromCpuMax(*max);
        auto quota = readSmallFile(dir + "/cpu.cfs_quota_us");
        auto period = readSmallFile(dir + "/cpu.cfs_period_us");
        if (quota && period)
          return cpusFromQuota(*quota, *period);
        return std::nullopt;
      });
  return limit;
}

std::optional<uint64_t> heed::rt::cgroupMemoryLimit() {
  static const std::optional<uint64_t> limit = leastLimit<uint64_t>(
      "memory", [](const std::string &dir) -> std::optional<uint64_t> {
        if (auto max = readSmallFile(dir + "/memory.max"))
          return bytesFromMemoryLimit(*max);
        if (auto v1 = readSmallFile(dir + "/memory.limit_in_bytes"))
          return bytesFromMemoryLimit(*v1);
        return std::nullopt;
      });
  return limit;
}
