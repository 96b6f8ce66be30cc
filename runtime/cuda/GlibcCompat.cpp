//===- GlibcCompat.cpp - Older glibc for libheed_cuda_runtime.so ----------===//
//
// Part of Heed. LLVM Support's static archive, linked into
// libheed_cuda_runtime.so, calls arc4random (random file names), which
// glibc has since 2.36; the GPU machines' images may have an older one. The
// library defines it here, hidden, over getrandom (glibc 2.25), so that it
// needs nothing newer than glibc 2.34.
//
//===----------------------------------------------------------------------===//

#include <cstdint>
#include <sys/random.h>

extern "C" __attribute__((visibility("hidden"))) uint32_t arc4random(void) {
  uint32_t value = 0;
  while (getrandom(&value, sizeof value, 0) != sizeof value) {
  }
  return value;
}
