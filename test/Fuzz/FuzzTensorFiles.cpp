//===- FuzzTensorFiles.cpp - libFuzzer harnesses for the tensor readers ---===//
//
// Part of Heed. One source, four harnesses: HEED_FUZZ_FORMAT selects the
// reader (.npy, .npz, .safetensors or a torch.save checkpoint) at compile
// time. Every input must give
// tensors or an error, never a crash, a hang or an allocation beyond the
// limits (runtime/Limits.h).
//
//===----------------------------------------------------------------------===//

#include "runtime/Npy.h"
#include "runtime/Npz.h"
#include "runtime/Safetensors.h"
#include "runtime/TorchCheckpoint.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

using namespace heed::rt;

#if HEED_FUZZ_FORMAT == 3
/// A zip archive of stored members, as torch.save writes them.
static std::string
storedZip(const std::vector<std::pair<std::string, std::string>> &members) {
  std::string out, directory;
  auto put = [](std::string &s, uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      s += char((v >> (8 * i)) & 0xff);
  };
  for (auto &[name, data] : members) {
    uint32_t crc = crc32(0, reinterpret_cast<const Bytef *>(data.data()),
                         uInt(data.size()));
    uint64_t offset = out.size();
    for (int central = 0; central < 2; ++central) {
      std::string &s = central ? directory : out;
      put(s, central ? 0x02014b50 : 0x04034b50, 4);
      if (central)
        put(s, 20, 2);
      put(s, 20, 2); // version needed
      put(s, 0, 4);  // flags, method: stored
      put(s, 0, 4);  // time, date
      put(s, crc, 4);
      put(s, data.size(), 4); // compressed size
      put(s, data.size(), 4); // uncompressed size
      put(s, name.size(), 2);
      put(s, 0, 2); // extra length
      if (central) {
        put(s, 0, 8); // comment, disk, attributes
        put(s, 0, 4); // external attributes
        put(s, offset, 4);
      }
      s += name;
    }
    out += data;
  }
  uint64_t cdOffset = out.size();
  out += directory;
  put(out, 0x06054b50, 4);
  put(out, 0, 4);
  put(out, members.size(), 2);
  put(out, members.size(), 2);
  put(out, directory.size(), 4);
  put(out, cdOffset, 4);
  put(out, 0, 2);
  return out;
}
#endif

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
#elif HEED_FUZZ_FORMAT == 3
  // An input that does not start like a zip archive is a pickle, put into
  // a valid archive beside storages 0 to 3, so that the pickle machine
  // gets inputs the archive's CRC-32 would otherwise turn away.
  std::string archive;
  if (!bytes.starts_with("PK")) {
    archive = storedZip({{"a/data.pkl", bytes.str()},
                         {"a/data/0", std::string(64, '\x01')},
                         {"a/data/1", std::string(64, '\x3f')},
                         {"a/data/2", std::string(8, '\0')},
                         {"a/data/3", std::string(1, '\x02')}});
    bytes = archive;
  }
  auto ts = parseTorchCheckpoint(bytes, "fuzz.pt", values);
  if (!ts)
    llvm::consumeError(ts.takeError());
#else
  auto ts = parseSafetensors(bytes, "fuzz.safetensors", values);
  if (!ts)
    llvm::consumeError(ts.takeError());
#endif
  return 0;
}
