//===- TfCheckpoint.cpp - TensorFlow 2 checkpoints ------------------------===//
//
// Part of Heed. After TensorFlow's tensor_bundle.cc and tensor_bundle.proto,
// and its table format (tensorflow/core/lib/io/format.cc, LevelDB's):
//  - the file ends in a 48-byte footer: the metaindex and index blocks'
//    handles (offset and size, varints), padding, the magic number
//    0xdb4775248b80fb57;
//  - a block is its entries (shared key bytes, unshared key bytes and value
//    size as varints, the key's tail, the value), its restart offsets and
//    their count, then a trailer: the compression type (0: none, which
//    the bundle writer always uses) and the masked CRC-32C of the block
//    and that byte;
//  - the index block maps each data block's last key to its handle;
//  - the first key, "", holds the BundleHeaderProto (shards, byte order),
//    every other a BundleEntryProto (dtype, shape, shard, offset, size,
//    the masked CRC-32C of the bytes).
//
//===----------------------------------------------------------------------===//

#include "runtime/TfCheckpoint.h"
#include "runtime/ElementType.h"
#include "runtime/FileError.h"
#include "runtime/Limits.h"
#include "runtime/Npy.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <array>
#include <map>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;
using llvm::Twine;
using llvm::support::endian::read32le;

uint32_t heed::rt::crc32c(StringRef data, uint32_t crc) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c >> 1) ^ ((c & 1) ? 0x82F63B78u : 0);
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (unsigned char b : data)
    crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

/// crc32c::Unmask: checksums are stored rotated and offset, so that a
/// checksum of data holding checksums is not trivially related to them.
static uint32_t unmaskCrc(uint32_t masked) {
  uint32_t rotated = masked - 0xa282ead8u;
  return (rotated >> 17) | (rotated << 15);
}

namespace {

/// Varints and fixed-size numbers from a byte range; `ok` turns false at
/// the first read past its end or a varint longer than 10 bytes.
struct Cursor {
  StringRef bytes;
  size_t pos = 0;
  bool ok = true;

  bool atEnd() const { return pos >= bytes.size(); }
  /// Protobuf's and the table's varints (ULEB128; not llvm::decodeULEB128,
  /// whose shifts past bit 63 of zero groups are undefined behaviour).
  uint64_t varint() {
    uint64_t value = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
      if (pos >= bytes.size())
        break;
      uint8_t b = bytes[pos++];
      value |= uint64_t(b & 0x7F) << shift;
      if (!(b & 0x80))
        return value;
    }
    ok = false;
    return 0;
  }
  StringRef take(uint64_t n) {
    if (!ok || n > bytes.size() - pos) {
      ok = false;
      return {};
    }
    StringRef out = bytes.substr(pos, n);
    pos += n;
    return out;
  }
};

struct BlockHandle {
  uint64_t offset = 0, size = 0;
};

/// The fields of a protobuf message, in order: a varint or fixed-size field
/// as `number`, a length-delimited one as `bytes`.
llvm::Error
forEachField(StringRef message, const std::string &what,
             llvm::function_ref<llvm::Error(uint64_t field, uint64_t number,
                                            StringRef bytes)>
                 visit) {
  Cursor c{message};
  while (!c.atEnd()) {
    uint64_t key = c.varint();
    uint64_t field = key >> 3, number = 0;
    StringRef bytes;
    switch (key & 7) {
    case 0:
      number = c.varint();
      break;
    case 1:
      if (StringRef b = c.take(8); c.ok)
        number = uint64_t(read32le(b.data())) | uint64_t(read32le(b.data() + 4))
                                                    << 32;
      break;
    case 2:
      bytes = c.take(c.varint());
      break;
    case 5:
      if (StringRef b = c.take(4); c.ok)
        number = read32le(b.data());
      break;
    default:
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     what + ": a field of wire type " +
                                         Twine(key & 7) +
                                         ", which is not supported");
    }
    if (!c.ok)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     what + ": truncated at byte " +
                                         Twine(c.pos) + " of " +
                                         Twine(message.size()));
    if (auto err = visit(field, number, bytes))
      return err;
  }
  return llvm::Error::success();
}

/// A variable's metadata (BundleEntryProto).
struct Entry {
  uint64_t dtype = 0, shard = 0, offset = 0, size = 0;
  uint32_t crc = 0;
  bool hasCrc = false, sliced = false, unknownRank = false;
  std::vector<int64_t> shape;
};

llvm::Expected<Entry> parseEntry(StringRef value, const std::string &what) {
  Entry e;
  auto err = forEachField(
      value, what,
      [&](uint64_t field, uint64_t number, StringRef bytes) -> llvm::Error {
        switch (field) {
        case 1:
          e.dtype = number;
          break;
        case 2: // TensorShapeProto: dim 2 {size 1}, unknown_rank 3
          return forEachField(
              bytes, what + " (its shape)",
              [&](uint64_t f, uint64_t n, StringRef dim) -> llvm::Error {
                if (f == 3)
                  e.unknownRank = n != 0;
                if (f != 2)
                  return llvm::Error::success();
                int64_t size = 0;
                auto err = forEachField(
                    dim, what + " (its shape)",
                    [&](uint64_t df, uint64_t dn, StringRef) -> llvm::Error {
                      if (df == 1)
                        size = int64_t(dn);
                      return llvm::Error::success();
                    });
                e.shape.push_back(size);
                return err;
              });
        case 3:
          e.shard = number;
          break;
        case 4:
          e.offset = number;
          break;
        case 5:
          e.size = number;
          break;
        case 6:
          e.crc = uint32_t(number);
          e.hasCrc = true;
          break;
        case 7:
          e.sliced = true;
          break;
        }
        return llvm::Error::success();
      });
  if (err)
    return std::move(err);
  return e;
}

/// TensorFlow's DataType numbers (types.proto) for the element types Heed
/// reads.
std::optional<ElementType> elementTypeFromTf(uint64_t dtype) {
  switch (dtype) {
  case 1:
    return ElementType::F32;
  case 2:
    return ElementType::F64;
  case 3:
    return ElementType::I32;
  case 4:
    return ElementType::U8;
  case 5:
    return ElementType::I16;
  case 6:
    return ElementType::I8;
  case 9:
    return ElementType::I64;
  case 10:
    return ElementType::Bool;
  case 14:
    return ElementType::BF16;
  case 19:
    return ElementType::F16;
  }
  return std::nullopt;
}

class TableReader {
public:
  TableReader(StringRef file, const std::string &path)
      : file(file), path(path) {}

  /// Every key and value, in the table's order.
  llvm::Error read(std::vector<std::pair<std::string, StringRef>> &out) {
    if (file.size() < 48)
      return fileError(path, "not a TensorFlow checkpoint index (" +
                                 Twine(file.size()) +
                                 " bytes; its footer alone is 48)");
    uint64_t footer = file.size() - 48;
    const char *magic = file.data() + footer + 40;
    if (read32le(magic) != 0x8b80fb57u || read32le(magic + 4) != 0xdb477524u)
      return fileError(path,
                       "not a TensorFlow checkpoint index (no table magic "
                       "number at byte offset " +
                           Twine(footer + 40) + ")");
    Cursor c{file.substr(footer, 40)};
    c.varint(), c.varint(); // the metaindex block (filters: none read)
    BlockHandle index{c.varint(), c.varint()};
    if (!c.ok)
      return fileError(path, "its table footer at byte offset " +
                                 Twine(footer) + " is malformed");
    auto indexBlock = block(index, "index block");
    if (!indexBlock)
      return indexBlock.takeError();
    return entries(*indexBlock, index.offset,
                   [&](StringRef, StringRef value, uint64_t at) -> llvm::Error {
                     Cursor h{value};
                     BlockHandle data{h.varint(), h.varint()};
                     if (!h.ok)
                       return fileError(
                           path, "the index block's entry at byte offset " +
                                     Twine(at) + " holds no block handle");
                     auto contents = block(data, "data block");
                     if (!contents)
                       return contents.takeError();
                     return entries(*contents, data.offset,
                                    [&](StringRef key, StringRef v,
                                        uint64_t) -> llvm::Error {
                                      out.emplace_back(key.str(), v);
                                      return llvm::Error::success();
                                    });
                   });
  }

private:
  StringRef file;
  const std::string &path;

  /// A block's contents, its trailer checked.
  llvm::Expected<StringRef> block(BlockHandle h, const char *what) {
    if (h.offset > file.size() || h.size > file.size() - h.offset ||
        file.size() - h.offset - h.size < 5)
      return fileError(path, Twine("its ") + what + " at byte offset " +
                                 Twine(h.offset) + " (" + Twine(h.size) +
                                 " bytes) runs past the end of the file (" +
                                 Twine(file.size()) + " bytes)");
    StringRef contents = file.substr(h.offset, h.size);
    uint8_t type = file[h.offset + h.size];
    if (type != 0)
      return fileError(path, Twine("its ") + what + " at byte offset " +
                                 Twine(h.offset) + " is compressed (type " +
                                 Twine(unsigned(type)) +
                                 "), which TensorFlow's checkpoints never are");
    uint32_t stored = unmaskCrc(read32le(file.data() + h.offset + h.size + 1));
    uint32_t actual =
        crc32c(file.substr(h.offset + h.size, 1), crc32c(contents));
    if (stored != actual)
      return fileError(path, Twine("its ") + what + " at byte offset " +
                                 Twine(h.offset) +
                                 " fails its checksum (the file "
                                 "is damaged)");
    return contents;
  }

  /// A block's entries: key (its shared prefix restored), value, offset.
  llvm::Error entries(
      StringRef contents, uint64_t at,
      llvm::function_ref<llvm::Error(StringRef, StringRef, uint64_t)> visit) {
    if (contents.size() < 4)
      return fileError(path, "the block at byte offset " + Twine(at) +
                                 " is too short for its restart count");
    uint64_t restarts = read32le(contents.data() + contents.size() - 4);
    if (restarts > (contents.size() - 4) / 4)
      return fileError(path, "the block at byte offset " + Twine(at) +
                                 " claims " + Twine(restarts) +
                                 " restart points in " +
                                 Twine(contents.size()) + " bytes");
    Cursor c{contents.take_front(contents.size() - 4 - 4 * restarts)};
    std::string key;
    while (!c.atEnd()) {
      uint64_t entryAt = at + c.pos;
      uint64_t shared = c.varint(), unshared = c.varint(), size = c.varint();
      if (c.ok && shared > key.size())
        return fileError(path, "the entry at byte offset " + Twine(entryAt) +
                                   " shares " + Twine(shared) +
                                   " bytes with a key of " + Twine(key.size()));
      StringRef tail = c.take(unshared), value = c.take(size);
      if (!c.ok)
        return fileError(path, "the entry at byte offset " + Twine(entryAt) +
                                   " runs past its block");
      key.resize(shared);
      key += tail;
      if (auto err = visit(key, value, entryAt))
        return err;
    }
    return llvm::Error::success();
  }
};

} // namespace

std::optional<std::string> heed::rt::tfWeightName(StringRef key) {
  if (!key.consume_back("/.ATTRIBUTES/VARIABLE_VALUE") ||
      key.contains("/.OPTIMIZER_SLOT/"))
    return std::nullopt;
  llvm::SmallVector<StringRef> parts;
  key.split(parts, '/');
  if (parts.front() == "optimizer" || key == "save_counter")
    return std::nullopt;
  std::string name;
  for (size_t i = 0; i < parts.size(); ++i) {
    StringRef part = parts[i];
    // Keras' wrappers hold the layer whose variables they are: an RNN its
    // `cell`, a TimeDistributed its `layer`.
    if (i + 2 == parts.size() && (part == "cell" || part == "layer"))
      continue;
    if (part == "forward_layer")
      part = "forward";
    else if (part == "backward_layer")
      part = "backward";
    // Keras 3's Dense, convolutions and Embedding hold their main variable
    // as `_kernel`/`_embeddings` (behind a property, for LoRA).
    else if (i + 1 == parts.size() &&
             (part == "_kernel" || part == "_embeddings"))
      part = part.drop_front();
    if (!name.empty())
      name += '.';
    name += part.str();
  }
  return name;
}

/// Whether a key names its layer by position, as Keras' save_weights does
/// for Functional and Sequential models (`layer_with_weights-0`,
/// `layer-3`).
static bool positionalKey(StringRef key) {
  llvm::SmallVector<StringRef> parts;
  key.split(parts, '/');
  for (StringRef part : parts)
    for (StringRef prefix : {"layer_with_weights-", "layer-"})
      if (part.starts_with(prefix) && part.size() > prefix.size() &&
          llvm::all_of(part.drop_front(prefix.size()), llvm::isDigit))
        return true;
  return false;
}

llvm::Expected<NamedTensors> heed::rt::parseTfCheckpoint(
    StringRef index, const std::string &path,
    llvm::function_ref<llvm::Expected<StringRef>(unsigned, unsigned)> readShard,
    ValueErrors values) {
  std::vector<std::pair<std::string, StringRef>> table;
  if (auto err = TableReader(index, path).read(table))
    return std::move(err);
  if (table.empty() || !table.front().first.empty())
    return fileError(path, "its first key is not the bundle header (\"\")");
  uint64_t shards = 0, endianness = 0;
  auto err = forEachField(
      table.front().second, path + ": its header",
      [&](uint64_t field, uint64_t number, StringRef) -> llvm::Error {
        if (field == 1)
          shards = number;
        else if (field == 2)
          endianness = number;
        return llvm::Error::success();
      });
  if (err)
    return std::move(err);
  if (endianness != 0)
    return fileError(path, "it was written big-endian, which is not supported");
  if (shards < 1 || shards > 99999)
    return fileError(path, "its header gives " + Twine(shards) + " data files");
  NamedTensors out;
  std::map<std::string, std::string> keyOf; // weight name -> key
  for (size_t i = 1; i < table.size(); ++i) {
    const std::string &key = table[i].first;
    if (key <= table[i - 1].first)
      return fileError(path, "its keys are out of order at '" + key + "'");
    std::optional<std::string> name = tfWeightName(key);
    if (!name)
      continue;
    if (positionalKey(key))
      return fileError(
          path, "its variables are named by layer position ('" + key +
                    "'), as Keras' save_weights names a Functional or "
                    "Sequential model's: nothing there says which layer "
                    "is which; save with model.save_weights(\"w.h5\") or "
                    "model.save(\"m.keras\") (docs/weights.md)");
    std::string what = "variable '" + key + "'";
    auto entry = parseEntry(table[i].second, path + ": " + what);
    if (!entry)
      return entry.takeError();
    if (entry->sliced)
      return fileError(path, what + " is saved in slices (a partitioned "
                                    "variable), which is not supported");
    if (entry->unknownRank)
      return fileError(path, what + " has no shape");
    std::optional<ElementType> type = elementTypeFromTf(entry->dtype);
    if (!type)
      return fileError(path, what + " has TensorFlow dtype " +
                                 Twine(entry->dtype) +
                                 ", which Heed does not read (float, double, "
                                 "half, bfloat16, integers and bool)");
    size_t elemSize = elementSize(*type);
    if (auto err =
            limits::checkTensorSize(entry->shape, elemSize, path + ": " + what))
      return std::move(err);
    int64_t count = checkedNumElements(entry->shape);
    if (entry->shard >= shards)
      return fileError(path, what + " is in data file " + Twine(entry->shard) +
                                 " of " + Twine(shards));
    auto shard = readShard(unsigned(entry->shard), unsigned(shards));
    if (!shard)
      return shard.takeError();
    std::string dataFile = "data file " + std::to_string(entry->shard) +
                           " of " + std::to_string(shards);
    if (entry->size != uint64_t(count) * elemSize)
      return fileError(path, what + ": shape " + shapeToString(entry->shape) +
                                 " needs " + Twine(uint64_t(count) * elemSize) +
                                 " bytes, the entry gives " +
                                 Twine(entry->size));
    if (entry->offset > shard->size() ||
        entry->size > shard->size() - entry->offset)
      return fileError(path, what + ": bytes " + Twine(entry->offset) + " to " +
                                 Twine(entry->offset + entry->size) +
                                 " run past the end of " + dataFile + " (" +
                                 Twine(shard->size()) + " bytes)");
    StringRef bytes = shard->substr(entry->offset, entry->size);
    if (entry->hasCrc && unmaskCrc(entry->crc) != crc32c(bytes))
      return fileError(path, what + ": its " + Twine(entry->size) +
                                 " bytes at byte offset " +
                                 Twine(entry->offset) + " of " + dataFile +
                                 " fail their checksum (the file is damaged)");
    auto [it, fresh] = keyOf.emplace(*name, key);
    if (!fresh)
      return fileError(path, "variables '" + it->second + "' and '" + key +
                                 "' would both be weight '" + *name + "'");
    Tensor t(entry->shape);
    if (auto err = decodeElements(*type, bytes.data(), count, t.data(),
                                  path + ": " + what + " (" + dataFile + ")",
                                  entry->offset)) {
      if (values == ValueErrors::Report)
        return std::move(err);
      t.setValueError(llvm::toString(std::move(err)));
    }
    t.setElementType(*type);
    out.emplace_back(std::move(*name), std::move(t));
  }
  return out;
}

llvm::Expected<NamedTensors>
heed::rt::loadTfCheckpoint(const std::string &indexPath, ValueErrors values) {
  StringRef prefix = StringRef(indexPath).drop_back(strlen(".index"));
  auto index = readFileBytes(indexPath);
  if (!index)
    return index.takeError();
  std::map<unsigned, std::unique_ptr<llvm::MemoryBuffer>> shards;
  auto readShard = [&](unsigned shard,
                       unsigned count) -> llvm::Expected<StringRef> {
    auto it = shards.find(shard);
    if (it == shards.end()) {
      std::string name;
      llvm::raw_string_ostream os(name);
      os << prefix << ".data-" << llvm::format("%05u", shard) << "-of-"
         << llvm::format("%05u", count);
      auto bytes = readFileBytes(os.str());
      if (!bytes)
        return fileError(indexPath,
                         "its data file: " + llvm::toString(bytes.takeError()));
      it = shards.emplace(shard, std::move(*bytes)).first;
    }
    return it->second->getBuffer();
  };
  return parseTfCheckpoint((*index)->getBuffer(), indexPath, readShard, values);
}

llvm::Expected<NamedTensors>
heed::rt::loadTfCheckpointDirectory(const std::string &dir,
                                    ValueErrors values) {
  auto in = [&](StringRef name) {
    llvm::SmallString<256> p(dir);
    llvm::sys::path::append(p, name);
    return std::string(p);
  };
  if (llvm::sys::fs::exists(in("saved_model.pb")))
    return fileError(dir, "a SavedModel directory, which is not read (its "
                          "variables are named by the object graph's "
                          "positions and lists); save the weights with "
                          "model.save(\"m.keras\"), model.save_weights("
                          "\"w.h5\") or tf.train.Checkpoint "
                          "(docs/weights.md)");
  std::string statePath = in("checkpoint");
  if (!llvm::sys::fs::exists(statePath))
    return fileError(dir, "a directory without a 'checkpoint' file (the "
                          "one TensorFlow's Checkpoint.save writes beside "
                          "its checkpoints); give a checkpoint's .index "
                          "file or its prefix");
  auto state = readFileBytes(statePath);
  if (!state)
    return state.takeError();
  // CheckpointState in protobuf text: `model_checkpoint_path: "ckpt-5"`.
  llvm::SmallVector<StringRef> lines;
  (*state)->getBuffer().split(lines, '\n');
  for (StringRef line : lines) {
    line = line.trim();
    if (!line.consume_front("model_checkpoint_path:"))
      continue;
    line = line.trim();
    if (line.size() < 2 || !line.starts_with("\"") || !line.ends_with("\""))
      break;
    std::string prefix;
    for (size_t i = 1; i + 1 < line.size(); ++i) {
      if (line[i] == '\\' && i + 2 < line.size())
        ++i; // \" and \\ as written by the text format
      prefix += line[i];
    }
    if (prefix.empty())
      break;
    if (llvm::sys::path::is_relative(prefix))
      prefix = in(prefix);
    return loadTfCheckpoint(prefix + ".index", values);
  }
  return fileError(statePath, "names no model_checkpoint_path");
}
