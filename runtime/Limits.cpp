//===- Limits.cpp - What Heed accepts, in one table -----------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Limits.h"
#include "runtime/CgroupLimits.h"
#include "runtime/Environment.h"
#include "runtime/Tensor.h"

#include "llvm/ADT/StringRef.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>

using namespace heed;

namespace {
/// 16 GiB, or less on a machine (or in a container) with less memory;
/// `origin` says which, for errors.
uint64_t defaultMemoryLimit(const char *&origin) {
  uint64_t bytes = uint64_t(16) << 30;
  origin = "HEED_MAX_MEMORY";
  long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGESIZE);
  if (pages > 0 && pageSize > 0 &&
      uint64_t(pages) * uint64_t(pageSize) < bytes) {
    bytes = uint64_t(pages) * uint64_t(pageSize);
    origin = "set by this machine's memory; HEED_MAX_MEMORY sets another";
  }
  if (auto container = rt::cgroupMemoryLimit();
      container && *container < bytes) {
    bytes = *container;
    origin = "set by the container's cgroup; "
             "HEED_MAX_MEMORY sets another";
  }
  return bytes;
}

struct MemoryLimit {
  std::atomic<uint64_t> bytes;
  std::atomic<const char *> origin;
};

MemoryLimit &limit() {
  static MemoryLimit value = [] {
    const char *origin = nullptr;
    uint64_t fallback = defaultMemoryLimit(origin);
    uint64_t bytes = rt::env::bytes("HEED_MAX_MEMORY", fallback);
    if (std::getenv("HEED_MAX_MEMORY"))
      origin = "HEED_MAX_MEMORY";
    return MemoryLimit{{bytes}, {origin}};
  }();
  return value;
}
} // namespace

uint64_t limits::memoryLimit() { return limit().bytes.load(); }
const char *limits::memoryLimitOrigin() { return limit().origin.load(); }
void limits::setMemoryLimit(uint64_t bytes) {
  limit().bytes.store(bytes);
  limit().origin.store("HEED_MAX_MEMORY");
}

llvm::Error limits::checkTensorSize(const std::vector<int64_t> &shape,
                                    uint64_t bytesPerElement,
                                    const std::string &what) {
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   what + ": " + msg);
  };
  if (shape.size() > kMaxRank)
    return fail("rank " + llvm::Twine(shape.size()) + " is above the limit of " +
                llvm::Twine(kMaxRank));
  for (size_t axis = 0; axis < shape.size(); ++axis)
    if (shape[axis] > kMaxDimension)
      return fail("shape " + rt::shapeToString(shape) + ": dimension " +
                  llvm::Twine(axis) + " is above the limit of " +
                  llvm::Twine(kMaxDimension));
  int64_t count = rt::checkedNumElements(shape);
  if (count < 0 || count > kMaxTensorElements)
    return fail("shape " + rt::shapeToString(shape) + " is too large (the limit "
                "is " + llvm::Twine(kMaxTensorElements) + " elements)");
  uint64_t bytes = uint64_t(count) * bytesPerElement;
  if (bytes > memoryLimit())
    return fail("shape " + rt::shapeToString(shape) + " needs " +
                llvm::Twine(bytes) + " bytes, above the memory limit of " +
                llvm::Twine(memoryLimit()) + " bytes (" + memoryLimitOrigin() +
                ")");
  return llvm::Error::success();
}

std::optional<size_t> limits::jsonNestingBeyond(llvm::StringRef text,
                                                unsigned limit) {
  unsigned depth = 0;
  bool inString = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (inString) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > limit)
        return i;
    } else if ((c == ']' || c == '}') && depth) {
      --depth;
    }
  }
  return std::nullopt;
}
