//===- FuzzTensorFiles.cpp - libFuzzer harnesses for the tensor readers ---===//
//
// Part of Heed. One source, six harnesses: HEED_FUZZ_FORMAT selects the
// reader (.npy, .npz, .safetensors, a torch.save checkpoint, HDF5 and
// Keras 3's .keras archives of it, or a TensorFlow checkpoint) at
// compile time. Every input must give
// tensors or an error, never a crash, a hang or an allocation beyond the
// limits (runtime/Limits.h).
//
//===----------------------------------------------------------------------===//

#include "runtime/Hdf5Weights.h"
#include "runtime/KerasArchive.h"
#include "runtime/Limits.h"
#include "runtime/Npy.h"
#include "runtime/Npz.h"
#include "runtime/Safetensors.h"
#include "runtime/TfCheckpoint.h"
#include "runtime/TorchCheckpoint.h"
#include "runtime/ZipArchive.h"

#include "llvm/Support/Endian.h"

#include <cstdint>
#include <optional>
#include <string>

using namespace heed::rt;

#if HEED_FUZZ_FORMAT == 5
/// A varint at `pos` of `s`, or nullopt.
static std::optional<uint64_t> varint(const std::string &s, size_t &pos) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 64 && pos < s.size(); shift += 7) {
    uint8_t b = s[pos++];
    v |= uint64_t(b & 0x7F) << shift;
    if (!(b & 0x80))
      return v;
  }
  return std::nullopt;
}

/// Rewrites the trailer checksum of the block at `handle` (offset, size
/// varints at `pos`), as the table writer computes it.
static bool fixBlock(std::string &table, size_t &pos,
                     uint64_t *offsetOut = nullptr,
                     uint64_t *sizeOut = nullptr) {
  auto offset = varint(table, pos);
  auto size = offset ? varint(table, pos) : std::nullopt;
  if (!size || *offset > table.size() || *size > table.size() - *offset ||
      table.size() - *offset - *size < 5)
    return false;
  uint32_t crc = heed::rt::crc32c(
      llvm::StringRef(table).substr(*offset + *size, 1),
      heed::rt::crc32c(llvm::StringRef(table).substr(*offset, *size)));
  uint32_t masked = ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
  llvm::support::endian::write32le(&table[*offset + *size + 1], masked);
  if (offsetOut)
    *offsetOut = *offset, *sizeOut = *size;
  return true;
}

/// Makes the checksums of the index block and of every data block it
/// names right (entries read with restarts ignored; a block the fuzzer
/// broke is left as it is).
static void fixTableChecksums(std::string &table) {
  if (table.size() < 48)
    return;
  size_t pos = table.size() - 48;
  varint(table, pos), varint(table, pos); // the metaindex block
  uint64_t offset = 0, size = 0;
  if (!fixBlock(table, pos, &offset, &size) || size < 4)
    return;
  uint32_t restarts =
      llvm::support::endian::read32le(table.data() + offset + size - 4);
  if (restarts > (size - 4) / 4)
    return;
  size_t end = offset + size - 4 - 4 * size_t(restarts);
  for (size_t at = offset; at < end;) {
    auto shared = varint(table, at);
    auto unshared = shared ? varint(table, at) : std::nullopt;
    auto value = unshared ? varint(table, at) : std::nullopt;
    if (!value || *unshared > end - at || *value > end - at - *unshared)
      return;
    at += *unshared;
    size_t handle = at;
    fixBlock(table, handle);
    at += *value;
  }
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
  // gets inputs the archive's CRC-32 would otherwise turn away; one that
  // starts like the format before PyTorch 1.6 (PROTO, then the magic
  // number's LONG1 of 10 bytes) is read as that.
  std::string archive;
  bool legacy = bytes.size() > 4 && bytes.substr(2, 2) == "\x8a\x0a";
  if (!bytes.starts_with("PK") && !legacy) {
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
  // The modules a whole-model save records, with their settings.
  auto modules = parseTorchModules(bytes, "fuzz.pt");
  if (!modules)
    llvm::consumeError(modules.takeError());
#elif HEED_FUZZ_FORMAT == 4
  // A chunked dataset's size is bounded by the memory cap, not by the
  // file (deflated chunks, chunks sharing their bytes): keep it under
  // libFuzzer's RSS limit.
  heed::limits::setMemoryLimit(uint64_t(256) << 20);
  auto ts = parseHdf5Weights(bytes, "fuzz.h5", values);
  if (!ts)
    llvm::consumeError(ts.takeError());
  auto config = parseHdf5ModelConfig(bytes, "fuzz.h5");
  if (!config)
    llvm::consumeError(config.takeError());
  // Keras 3's .keras archives: a whole archive as it is; any other input
  // as the model.weights.h5 of an archive whose config lists the layers of
  // the seed archive (.ci/fuzz), so that the walk over the layers' groups
  // meets what the fuzzer makes of their variables.
  std::string archive;
  if (!bytes.starts_with("PK")) {
    archive = storedZip({{"config.json",
                          R"({"class_name": "Functional", "config": {"layers": [
            {"class_name": "InputLayer", "config": {"name": "in"}},
            {"class_name": "Dense", "config": {"name": "d"}},
            {"class_name": "Bidirectional", "config": {"name": "bi",
              "layer": {"class_name": "LSTM", "config": {"name": "f"}}}},
            {"class_name": "BatchNormalization", "config": {"name": "bn"}},
            {"class_name": "GRU", "config": {"name": "g", "reset_after": true}},
            {"class_name": "TimeDistributed", "config": {"name": "td",
              "layer": {"class_name": "Dense", "config": {"name": "x"}}}}]}})"},
                         {"model.weights.h5", bytes.str()}});
    bytes = archive;
  }
  auto keras = parseKerasArchive(bytes, "fuzz.keras", values);
  if (!keras)
    llvm::consumeError(keras.takeError());
  auto kerasConfig = parseKerasArchiveConfig(bytes, "fuzz.keras");
  if (!kerasConfig)
    llvm::consumeError(kerasConfig.takeError());
#elif HEED_FUZZ_FORMAT == 5
  // A TensorFlow checkpoint: a 4-byte little-endian length, the index that
  // long, then the data file.
  if (size < 4)
    return 0;
  uint32_t indexSize = uint32_t(data[0]) | uint32_t(data[1]) << 8 |
                       uint32_t(data[2]) << 16 | uint32_t(data[3]) << 24;
  llvm::StringRef rest = bytes.drop_front(4);
  std::string index = rest.take_front(indexSize).str();
  llvm::StringRef shard = rest.drop_front(index.size());
  // Half the inputs get their blocks' checksums made right, so that the
  // fuzzer's changes to keys and entries reach the entries' reader.
  if (size % 4 < 2)
    fixTableChecksums(index);
  auto ts = parseTfCheckpoint(
      index, "fuzz.index",
      [&](unsigned, unsigned) -> llvm::Expected<llvm::StringRef> {
        return shard;
      },
      values);
  if (!ts)
    llvm::consumeError(ts.takeError());
#else
  auto ts = parseSafetensors(bytes, "fuzz.safetensors", values);
  if (!ts)
    llvm::consumeError(ts.takeError());
#endif
  return 0;
}
