//===- Hdf5Dataset.cpp - Datasets of HDF5 files ---------------------------===//
//
// Part of Heed. A dataset is an object header with a dataspace (its shape),
// a datatype, a data layout (compact: the bytes in the message; contiguous:
// an address and a size; chunked: a B-tree of chunks, each perhaps passed
// through a filter pipeline: deflate, shuffle, fletcher32 checksums, which
// are verified) and perhaps a filter pipeline message. Its
// elements are decoded as every other tensor file's are (ElementType.h).
//
//===----------------------------------------------------------------------===//

#include "runtime/Hdf5File.h"
#include "runtime/Hdf5Reader.h"
#include "runtime/Inflate.h"
#include "runtime/Limits.h"

#include "llvm/ADT/Twine.h"

#include <algorithm>
#include <cstring>
#include <set>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;
using llvm::Twine;

static llvm::Error failAt(const std::string &what, uint64_t offset,
                          const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 what + ": " + msg + " (at byte offset " +
                                     Twine(offset) + ")");
}

//===----------------------------------------------------------------------===//
// Datatypes and dataspaces
//===----------------------------------------------------------------------===//

llvm::Expected<Hdf5Type> heed::rt::parseHdf5Type(Hdf5Reader &r,
                                                 const std::string &what,
                                                 unsigned depth) {
  static const char *const kClassNames[] = {
      "fixed-point", "floating-point",  "time",     "string",
      "bitfield",    "opaque",          "compound", "reference",
      "enum",        "variable-length", "array"};
  uint64_t at = r.pos;
  unsigned classAndVersion = r.u(1);
  unsigned bits = r.u(3);
  Hdf5Type type;
  type.size = r.u(4);
  if (auto err = r.check(what + ": its datatype"))
    return std::move(err);
  unsigned typeClass = classAndVersion & 0x0f;
  std::string name = typeClass < 11 ? kClassNames[typeClass] : "unknown";
  auto unsupported = [&](const Twine &detail) {
    return failAt(r.file.fileName() + ": " + what, at,
                  "HDF5 " + name + " datatype" + detail +
                      " is not supported (IEEE floats of 2, 4 or 8 bytes, "
                      "integers, enums over them and strings are)");
  };
  switch (typeClass) {
  case 0: { // fixed-point
    type.bigEndian = bits & 1;
    bool isSigned = bits & 8;
    switch (type.size) {
    case 1:
      type.element = isSigned ? ElementType::I8 : ElementType::U8;
      return type;
    case 2:
    case 4:
    case 8:
      if (!isSigned)
        return unsupported(" (unsigned, " + Twine(type.size) + " bytes)");
      type.element = type.size == 2   ? ElementType::I16
                     : type.size == 4 ? ElementType::I32
                                      : ElementType::I64;
      return type;
    default:
      return unsupported(" of " + Twine(type.size) + " bytes");
    }
  }
  case 1: { // floating-point: IEEE layouts only
    type.bigEndian = bits & 1;
    unsigned offset = r.u(2), precision = r.u(2);
    r.skip(1);
    unsigned exponentSize = r.u(1);
    r.skip(1);
    unsigned mantissaSize = r.u(1);
    if (auto err = r.check(what + ": its datatype"))
      return std::move(err);
    struct Ieee {
      uint64_t size;
      unsigned exponent, mantissa;
      ElementType element;
    };
    for (Ieee ieee :
         {Ieee{2, 5, 10, ElementType::F16}, Ieee{4, 8, 23, ElementType::F32},
          Ieee{8, 11, 52, ElementType::F64}})
      if (type.size == ieee.size && offset == 0 && precision == 8 * ieee.size &&
          exponentSize == ieee.exponent && mantissaSize == ieee.mantissa &&
          !(bits & 0x40)) {
        type.element = ieee.element;
        return type;
      }
    return unsupported(" of " + Twine(type.size) + " bytes, " +
                       Twine(exponentSize) + " exponent and " +
                       Twine(mantissaSize) + " mantissa bits");
  }
  case 3: // fixed-length string
    type.kind = Hdf5Type::FixedString;
    type.nulTerminated = (bits & 0x0f) != 2; // 2: space-padded
    return type;
  case 8: { // enum: its base type's values (h5py's bool: int8 FALSE, TRUE)
    if (depth > 4)
      return unsupported(" nested this deep");
    auto base = parseHdf5Type(r, what, depth + 1);
    if (!base)
      return base.takeError();
    if (base->kind != Hdf5Type::Number)
      return unsupported(" over strings");
    // h5py's bool: two members over a byte, read as bool (values other
    // than 0 and 1 are an error, as in .npy files).
    unsigned members = bits & 0xffff;
    if (members == 2 &&
        (base->element == ElementType::I8 || base->element == ElementType::U8))
      base->element = ElementType::Bool;
    return *base;
  }
  case 9: // variable-length: strings only
    if ((bits & 0x0f) != 1)
      return unsupported(" (a sequence)");
    type.kind = Hdf5Type::VariableString;
    return type;
  default:
    return unsupported("");
  }
}

llvm::Expected<std::vector<int64_t>>
heed::rt::parseHdf5Space(Hdf5Reader &r, const std::string &what) {
  uint64_t at = r.pos;
  unsigned version = r.u(1), rank = r.u(1), flags = r.u(1);
  unsigned kind = 1;
  if (version == 1)
    r.skip(5);
  else if (version == 2)
    kind = r.u(1);
  else if (!r.overran)
    return failAt(r.file.fileName() + ": " + what, at,
                  "dataspace version " + Twine(version) + " is not supported");
  if (rank > limits::kMaxRank)
    return failAt(r.file.fileName() + ": " + what, at,
                  "rank " + Twine(rank) + " is above the limit of " +
                      Twine(limits::kMaxRank));
  std::vector<int64_t> shape;
  for (unsigned i = 0; i < rank; ++i) {
    uint64_t d = r.length();
    if (d > uint64_t(limits::kMaxDimension))
      return failAt(r.file.fileName() + ": " + what, at,
                    "dimension " + Twine(i) + " of " + Twine(d) +
                        " is above the limit of " +
                        Twine(limits::kMaxDimension));
    shape.push_back(int64_t(d));
  }
  (void)flags; // maximum dims and permutations follow; not needed
  if (auto err = r.check(what + ": its dataspace"))
    return std::move(err);
  if (version == 2 && kind == 2)
    return failAt(r.file.fileName() + ": " + what, at,
                  "a null dataspace holds no values");
  return shape;
}

//===----------------------------------------------------------------------===//
// Layouts and filters
//===----------------------------------------------------------------------===//

struct Hdf5File::Layout {
  enum Class { Compact, Contiguous, Chunked } kind;
  uint64_t address = 0; // contiguous data, or the chunks' B-tree
  uint64_t size = 0;    // contiguous and compact data
  uint64_t compactAt = 0;
  std::vector<uint64_t> chunk; // chunked: the chunk's dims, element size last
};

static llvm::Expected<Hdf5File::Layout> parseLayout(Hdf5Reader &r,
                                                    const std::string &what) {
  uint64_t at = r.pos;
  Hdf5File::Layout layout;
  unsigned version = r.u(1);
  if (version == 1 || version == 2) { // HDF5 1.6 and earlier
    unsigned rank = r.u(1), kind = r.u(1);
    r.skip(5);
    if (kind > 2)
      return failAt(r.file.fileName() + ": " + what, at,
                    "layout class " + Twine(kind) + " is unknown");
    layout.kind = Hdf5File::Layout::Class(kind);
    if (kind != 0)
      layout.address = r.address();
    for (unsigned i = 0; i < rank && i <= limits::kMaxRank + 1; ++i)
      layout.chunk.push_back(r.u(4));
    if (kind == 2)
      layout.chunk.push_back(r.u(4)); // element size
    if (kind == 0) {
      layout.size = r.u(4);
      layout.compactAt = r.pos;
    }
    if (kind == 1) {
      // The data's size is its dims' product times the element size.
      layout.size = ~uint64_t(0);
      layout.chunk.clear();
    }
  } else if (version == 3 || version == 4) {
    unsigned kind = r.u(1);
    if (kind == 0) {
      layout.kind = Hdf5File::Layout::Compact;
      layout.size = r.u(2);
      layout.compactAt = r.pos;
    } else if (kind == 1) {
      layout.kind = Hdf5File::Layout::Contiguous;
      layout.address = r.address();
      layout.size = r.length();
    } else if (kind == 2 && version == 3) {
      layout.kind = Hdf5File::Layout::Chunked;
      unsigned rank = r.u(1);
      layout.address = r.address();
      for (unsigned i = 0; i < rank && i <= limits::kMaxRank + 1; ++i)
        layout.chunk.push_back(r.u(4));
    } else {
      return failAt(r.file.fileName() + ": " + what, at,
                    "layout class " + Twine(kind) + " of version " +
                        Twine(version) +
                        " is not supported (compact, contiguous and the "
                        "chunked layout of version 3 are; h5py's default "
                        "libver writes those)");
    }
  } else {
    return failAt(r.file.fileName() + ": " + what, at,
                  "data layout version " + Twine(version) + " is unknown");
  }
  if (auto err = r.check(what + ": its data layout"))
    return std::move(err);
  return layout;
}

namespace {
struct Filter {
  unsigned id;
  bool optional;
};
} // namespace

/// The filters of a filter pipeline message, in the order they were
/// applied when writing.
static llvm::Expected<std::vector<Filter>>
parseFilters(Hdf5Reader &r, const std::string &what) {
  uint64_t at = r.pos;
  unsigned version = r.u(1), count = r.u(1);
  if (version == 1)
    r.skip(6);
  std::vector<Filter> filters;
  for (unsigned i = 0; i < count && !r.overran; ++i) {
    unsigned id = r.u(2);
    uint64_t nameLength = version == 1 || id >= 256 ? r.u(2) : 0;
    unsigned flags = r.u(2), values = r.u(2);
    r.skip(version == 1 ? (nameLength + 7) / 8 * 8 : nameLength);
    r.skip(4 * uint64_t(values));
    if (version == 1 && values % 2)
      r.skip(4);
    if (id != 1 && id != 2 && id != 3)
      return failAt(r.file.fileName() + ": " + what, at,
                    "filter " + Twine(id) +
                        " is not supported (deflate, shuffle and fletcher32 "
                        "are; h5py's 'gzip' compression is deflate)");
    filters.push_back({id, bool(flags & 1)});
  }
  if (version != 1 && version != 2 && !r.overran)
    return failAt(r.file.fileName() + ": " + what, at,
                  "filter pipeline version " + Twine(version) + " is unknown");
  if (auto err = r.check(what + ": its filter pipeline"))
    return std::move(err);
  return filters;
}

/// Undoes `filters` on a chunk's stored bytes (mask bit i set: filter i
/// was skipped for this chunk).
/// HDF5's Fletcher-32 (H5_checksum_fletcher32): sums of big-endian 16-bit
/// words (an odd last byte the high half of one), folded to 16 bits.
static uint32_t fletcher32(StringRef bytes) {
  const auto *p = reinterpret_cast<const uint8_t *>(bytes.data());
  size_t words = bytes.size() / 2;
  uint32_t sum1 = 0, sum2 = 0;
  while (words) {
    size_t n = std::min<size_t>(words, 360); // no overflow within a block
    words -= n;
    for (; n; --n, p += 2) {
      sum1 += uint32_t(p[0]) << 8 | p[1];
      sum2 += sum1;
    }
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  if (bytes.size() % 2) {
    sum1 += uint32_t(*p) << 8;
    sum2 += sum1;
    sum1 = (sum1 & 0xffff) + (sum1 >> 16);
    sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  }
  sum1 = (sum1 & 0xffff) + (sum1 >> 16);
  sum2 = (sum2 & 0xffff) + (sum2 >> 16);
  return sum2 << 16 | sum1;
}

static uint32_t readLittleEndian32(StringRef bytes) {
  const auto *p = reinterpret_cast<const uint8_t *>(bytes.data());
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 |
         uint32_t(p[3]) << 24;
}

static llvm::Expected<std::string>
unfilter(std::string data, const std::vector<Filter> &filters, unsigned mask,
         uint64_t expected, uint64_t elementSize, const std::string &what,
         uint64_t at) {
  for (size_t i = filters.size(); i-- > 0;) {
    if (mask & (1u << i))
      continue;
    switch (filters[i].id) {
    case 1: { // deflate (zlib)
      // Deflate expands at most 1032 to 1: a larger claim is not allocated.
      if (expected > uint64_t(data.size()) * 1032 + 1024)
        return failAt(what, at,
                      "a chunk of " + Twine(data.size()) +
                          " compressed bytes cannot inflate to its " +
                          Twine(expected) + " bytes");
      auto out = inflateExactly(data, expected, /*raw=*/false, "a chunk");
      if (!out)
        return failAt(what, at, llvm::toString(out.takeError()));
      data = std::move(*out);
      break;
    }
    case 2: { // shuffle: byte k of every element, then byte k + 1, ...
      if (elementSize <= 1 || data.size() % elementSize)
        break;
      std::string out(data.size(), '\0');
      uint64_t n = data.size() / elementSize;
      for (uint64_t b = 0; b < elementSize; ++b)
        for (uint64_t e = 0; e < n; ++e)
          out[e * elementSize + b] = data[b * n + e];
      data = std::move(out);
      break;
    }
    case 3: { // fletcher32: a 4-byte checksum after the data
      if (data.size() < 4)
        return failAt(what, at, "a chunk is too short for its checksum");
      StringRef bytes = StringRef(data).drop_back(4);
      uint32_t stored = readLittleEndian32(StringRef(data).take_back(4));
      uint32_t sum = fletcher32(bytes);
      // HDF5 before 1.6.3 wrote each 16-bit half byte-swapped on
      // little-endian machines; its reader still takes either.
      uint32_t swapped =
          ((sum & 0x00ff00ffu) << 8) | ((sum >> 8) & 0x00ff00ffu);
      if (stored != sum && stored != swapped)
        return failAt(what, at,
                      "a chunk's fletcher32 checksum does not match its " +
                          Twine(bytes.size()) + " bytes (stored 0x" +
                          Twine::utohexstr(stored) + ", computed 0x" +
                          Twine::utohexstr(sum) + "): the file is damaged");
      data.resize(bytes.size());
      break;
    }
    }
  }
  if (data.size() != expected)
    return failAt(what, at,
                  "a chunk holds " + Twine(data.size()) + " bytes, its " +
                      "dims need " + Twine(expected));
  return data;
}

llvm::Expected<std::string>
Hdf5File::chunkedData(const Object &dataset, const Layout &layout,
                      const std::vector<int64_t> &shape, uint64_t elementSize,
                      StringRef filterMessage) const {
  std::string what = path + ": dataset '/" + dataset.path + "'";
  size_t rank = shape.size();
  if (layout.chunk.size() != rank + 1)
    return failAt(what, base + layout.address,
                  "its chunks have " + Twine(layout.chunk.size()) +
                      " dims, the dataset " + Twine(rank) + " (and one more)");
  uint64_t chunkElements = 1;
  for (size_t d = 0; d < rank; ++d) {
    if (layout.chunk[d] == 0)
      return failAt(what, base + layout.address, "a chunk dim is 0");
    chunkElements *= layout.chunk[d];
    if (chunkElements > uint64_t(limits::kMaxTensorElements))
      return failAt(what, base + layout.address, "its chunks are too large");
  }
  std::vector<Filter> filters;
  if (!filterMessage.empty()) {
    Hdf5Reader r(*this, filterMessage.data() - bytes.data(),
                 filterMessage.size());
    auto parsed = parseFilters(r, "dataset '/" + dataset.path + "'");
    if (!parsed)
      return parsed.takeError();
    filters = std::move(*parsed);
  }
  int64_t count = checkedNumElements(shape);
  std::string out(uint64_t(count) * elementSize, '\0');
  uint64_t covered = 0;
  std::set<std::vector<uint64_t>> origins;

  // Depth-first over the chunks' B-tree (node type 1).
  std::vector<std::pair<uint64_t, unsigned>> stack{{layout.address, 64}};
  std::set<uint64_t> visited;
  while (!stack.empty()) {
    auto [node, parentLevel] = stack.back();
    stack.pop_back();
    if (!visited.insert(node).second)
      return failAt(what, base + node, "its B-tree visits a node twice");
    Hdf5Reader r(*this, base + node, bytes.size());
    if (r.take(4) != "TREE" && !r.overran)
      return failAt(what, base + node, "expected a B-tree node (\"TREE\")");
    unsigned type = r.u(1), level = r.u(1), entries = r.u(2);
    if (!r.overran && type != 1)
      return failAt(what, base + node,
                    "its B-tree node has type " + Twine(type) +
                        ", expected 1 (chunks)");
    if (!r.overran && level >= parentLevel)
      return failAt(what, base + node, "its B-tree's levels do not go down");
    r.skip(2 * offsetSize); // siblings
    for (unsigned i = 0; i < entries && !r.overran; ++i) {
      uint64_t stored = r.u(4);
      unsigned mask = r.u(4);
      std::vector<uint64_t> origin;
      for (size_t d = 0; d <= rank; ++d)
        origin.push_back(r.u(8));
      uint64_t child = r.address();
      if (r.overran)
        break;
      if (level > 0) {
        stack.push_back({child, level});
        continue;
      }
      Hdf5Reader chunk(*this, base + child, stored);
      StringRef raw = chunk.take(stored);
      if (auto err = chunk.check("dataset '/" + dataset.path + "': a chunk"))
        return std::move(err);
      auto data =
          unfilter(raw.str(), filters, mask, chunkElements * elementSize,
                   elementSize, what, base + child);
      if (!data)
        return data.takeError();
      // Copy the chunk's part inside the dataset, a row of its last dim at
      // a time.
      bool inside = origins.insert(origin).second;
      for (size_t d = 0; d < rank; ++d)
        inside &=
            origin[d] < uint64_t(shape[d]) && origin[d] % layout.chunk[d] == 0;
      if (!inside)
        return failAt(what, base + node,
                      "a chunk's origin is outside the dataset, off its grid "
                      "or that of another chunk");
      // Only the rows inside the dataset are visited.
      std::vector<uint64_t> extent(rank);
      for (size_t d = 0; d < rank; ++d)
        extent[d] = std::min<uint64_t>(layout.chunk[d], shape[d] - origin[d]);
      uint64_t rowLength = rank ? extent[rank - 1] : 1;
      uint64_t rows = 1;
      for (size_t d = 0; d + 1 < rank; ++d)
        rows *= extent[d];
      std::vector<uint64_t> index(rank, 0);
      for (uint64_t row = 0; row < rows; ++row) {
        uint64_t rest = row;
        for (size_t d = rank > 0 ? rank - 1 : 0; d-- > 0;) {
          index[d] = rest % extent[d];
          rest /= extent[d];
        }
        uint64_t src = 0, dst = 0;
        for (size_t d = 0; d < rank; ++d) {
          src = src * layout.chunk[d] + index[d];
          dst = dst * uint64_t(shape[d]) + origin[d] + index[d];
        }
        std::memcpy(out.data() + dst * elementSize,
                    data->data() + src * elementSize, rowLength * elementSize);
        covered += rowLength;
      }
    }
    if (auto err = r.check("dataset '/" + dataset.path + "': its chunk B-tree"))
      return std::move(err);
  }
  if (covered != uint64_t(count))
    return failAt(what, base + layout.address,
                  "its chunks cover " + Twine(covered) + " of its " +
                      Twine(count) + " elements (some were never written)");
  return out;
}

//===----------------------------------------------------------------------===//
// Reading a dataset
//===----------------------------------------------------------------------===//

llvm::Expected<Tensor> Hdf5File::readDataset(const Object &dataset,
                                             ValueErrors values) const {
  std::string what = "dataset '/" + dataset.path + "'";
  auto list = messages(dataset);
  if (!list)
    return list.takeError();
  std::optional<Message> space, type, layoutMessage, filterMessage;
  for (const Message &m : *list) {
    if (m.type == kDataspace)
      space = m;
    else if (m.type == kDatatype)
      type = m;
    else if (m.type == kLayout)
      layoutMessage = m;
    else if (m.type == kFilterPipeline)
      filterMessage = m;
  }
  if (!space || !type || !layoutMessage)
    return fail(base + dataset.address, "'/" + dataset.path +
                                            "' is not a dataset (it has no " +
                                            (!space  ? "dataspace"
                                             : !type ? "datatype"
                                                     : "data layout") +
                                            " message)");
  Hdf5Reader typeReader(*this, type->offset, type->size);
  auto elementType = parseHdf5Type(typeReader, what);
  if (!elementType)
    return elementType.takeError();
  if (elementType->kind != Hdf5Type::Number)
    return fail(type->offset, what + " holds strings, not numbers");
  Hdf5Reader spaceReader(*this, space->offset, space->size);
  auto shape = parseHdf5Space(spaceReader, what);
  if (!shape)
    return shape.takeError();
  std::string full = path + ": " + what;
  // (The file's bytes are decoded from a copy when chunked or big-endian.)
  if (auto err = limits::checkTensorSize(
          *shape, std::max<uint64_t>(sizeof(float), elementType->size), full))
    return std::move(err);
  Hdf5Reader layoutReader(*this, layoutMessage->offset, layoutMessage->size);
  auto layout = parseLayout(layoutReader, what);
  if (!layout)
    return layout.takeError();
  uint64_t elementSize = elementType->size;
  int64_t count = checkedNumElements(*shape);
  uint64_t needed = uint64_t(count) * elementSize;

  std::string owned;
  StringRef data;
  uint64_t dataOffset = 0;
  if (layout->kind == Layout::Chunked) {
    auto chunks = chunkedData(
        dataset, *layout, *shape, elementSize,
        filterMessage ? bytes.substr(filterMessage->offset, filterMessage->size)
                      : StringRef());
    if (!chunks)
      return chunks.takeError();
    owned = std::move(*chunks);
    data = owned;
    dataOffset = base + layout->address;
  } else {
    if (filterMessage)
      return fail(filterMessage->offset,
                  what + " has filters but is not chunked");
    if (layout->kind == Layout::Compact) {
      dataOffset = layout->compactAt;
      if (layout->size < needed)
        return fail(dataOffset, what + ": its compact data holds " +
                                    Twine(layout->size) + " bytes, " +
                                    shapeToString(*shape) + " needs " +
                                    Twine(needed));
    } else {
      Hdf5Reader probe(*this, 0, 0);
      if (probe.undefined(layout->address)) {
        if (needed)
          return fail(layoutMessage->offset,
                      what + " has no data (it was created but never "
                             "written)");
      } else if (layout->size != ~uint64_t(0) && layout->size < needed) {
        return fail(layoutMessage->offset,
                    what + ": its data holds " + Twine(layout->size) +
                        " bytes, " + shapeToString(*shape) + " needs " +
                        Twine(needed));
      }
      dataOffset = base + layout->address;
    }
    if (needed) {
      Hdf5Reader r(*this, dataOffset, needed);
      data = r.take(needed);
      if (auto err = r.check(what + ": its data"))
        return std::move(err);
    }
  }
  if (elementType->bigEndian && elementSize > 1) {
    owned = data.str();
    for (uint64_t i = 0; i + elementSize <= owned.size(); i += elementSize)
      std::reverse(owned.begin() + i, owned.begin() + i + elementSize);
    data = owned;
  }
  Tensor t(*shape);
  if (count)
    if (auto err = decodeElements(elementType->element, data.data(), count,
                                  t.data(), full, dataOffset)) {
      if (values == ValueErrors::Report)
        return std::move(err);
      t.setValueError(llvm::toString(std::move(err)));
    }
  t.setElementType(elementType->element);
  return t;
}
