//===- FuzzTensorFiles.cpp - libFuzzer harnesses for the tensor readers ---===//
//
// Part of Heed. One source, three harnesses: HEED_FUZZ_FORMAT selects the
// reader (.npy, .npz or .safetensors) at compile time. Every input must give
// tensors or an error, never a crash, a hang or an allocation beyond the
// limits (runtime/Limits.h).
//
//===----------------------------------------------------------------------===//

#include "runtime/Npy.h"
#include "runtime/Npz.h"
#include "runtime/Safetensors.h"

#include <cstdint>

using namespace heed::rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  // Both ways of meeting values float32 cannot hold (as weights read them,
  // and as inputs do), chosen by the input's length.
  ValueErrors values = size % 2 ? ValueErrors::WhenUsed : ValueErrors::Report;
#if HEED_FUZZ_FORMAT == 0
  auto t = parseNpy(bytes, "fuzz.npy", values);
  if (t) {
    volatile float sink = t->numElements() ? (*t)[t->numElements() - 1] : 0;
    (void)sink;
  } else {
    llvm::consumeError(t.takeError());
  }
#elif HEED_FUZZ_FORMAT == 1
  auto ts = parseNpz(bytes, "fuzz.npz", values);
  if (!ts)
    llvm::consumeError(ts.takeError());
#else
  auto ts = parseSafetensors(bytes, "fuzz.safetensors", values);
  if (!ts)
    llvm::consumeError(ts.takeError());
#endif
  return 0;
}
