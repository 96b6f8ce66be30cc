//===- Hdf5File.cpp - Groups and attributes of HDF5 files -----------------===//
//
// Part of Heed. The superblock, object headers (version 1: a prefix and
// 8-byte-aligned messages; version 2: "OHDR" with continuation blocks
// "OCHK"), groups (a symbol table's B-tree of "SNOD" nodes naming entries
// in a local "HEAP", or link messages) and attributes. The layout follows
// the HDF5 File Format Specification, version 3.0.
//
//===----------------------------------------------------------------------===//

#include "runtime/Hdf5File.h"
#include "runtime/Hdf5Reader.h"
#include "runtime/Limits.h"

#include "llvm/ADT/Twine.h"

#include <functional>
#include <set>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;
using llvm::Twine;

namespace {
/// Bounds on what a file can make the reader do: messages in one object
/// header, B-tree depth and group nesting.
constexpr size_t kMaxMessages = 1 << 16;
constexpr unsigned kMaxTreeDepth = 64;
} // namespace

//===----------------------------------------------------------------------===//
// Hdf5Reader
//===----------------------------------------------------------------------===//

Hdf5Reader::Hdf5Reader(const Hdf5File &file, uint64_t begin, uint64_t size)
    : file(file), pos(begin), end(begin) {
  uint64_t total = file.bytes.size();
  if (begin > total) {
    overran = true;
    overranAt = begin;
    return;
  }
  end = begin + std::min(size, total - begin);
}

uint64_t Hdf5Reader::u(unsigned n) {
  StringRef b = take(n);
  uint64_t v = 0;
  for (unsigned i = 0; i < b.size() && i < 8; ++i)
    v |= uint64_t(uint8_t(b[i])) << (8 * i);
  return v;
}

StringRef Hdf5Reader::take(uint64_t n) {
  if (!has(n)) {
    if (!overran)
      overranAt = pos;
    overran = true;
    return {};
  }
  StringRef s = file.bytes.substr(pos, n);
  pos += n;
  return s;
}

bool Hdf5Reader::undefined(uint64_t address) const {
  unsigned bits = 8 * file.offsetSize;
  return address == (bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1);
}

llvm::Error Hdf5Reader::check(const Twine &what) const {
  if (!overran)
    return llvm::Error::success();
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 file.path + ": " + what +
                                     " is truncated at byte offset " +
                                     Twine(overranAt) + " (the file has " +
                                     Twine(file.bytes.size()) + " bytes)");
}

//===----------------------------------------------------------------------===//
// The superblock
//===----------------------------------------------------------------------===//

llvm::Error Hdf5File::fail(uint64_t offset, const Twine &msg) const {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + msg + " (at byte offset " +
                                     Twine(offset) + ")");
}

llvm::Expected<Hdf5File> Hdf5File::open(StringRef bytes, std::string path) {
  static const char kSignature[] = "\x89HDF\r\n\x1a\n";
  Hdf5File file(bytes, std::move(path));
  // The superblock is at 0, or after a user block of 512, 1024, ... bytes.
  uint64_t at = 0;
  while (at + 8 <= bytes.size() &&
         bytes.substr(at, 8) != StringRef(kSignature, 8))
    at = at ? at * 2 : 512;
  if (at + 8 > bytes.size())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        file.path + ": not an HDF5 file (no signature \\211HDF\\r\\n\\032\\n "
                    "at byte offset 0, 512, 1024, ...)");
  Hdf5Reader r(file, at + 8, bytes.size());
  unsigned version = r.u(1);
  if (version <= 1) {
    r.skip(4); // free-space, root entry, reserved, shared-header versions
    file.offsetSize = r.u(1);
    file.lengthSize = r.u(1);
    r.skip(1 + 2 + 2 + 4 + (version == 1 ? 4 : 0)); // K values, flags
  } else if (version <= 3) {
    file.offsetSize = r.u(1);
    file.lengthSize = r.u(1);
    r.skip(1); // flags
  } else {
    return file.fail(at + 8, "superblock version " + Twine(version) +
                                 " is not supported (0 to 3 are)");
  }
  for (unsigned size : {file.offsetSize, file.lengthSize})
    if (size != 2 && size != 4 && size != 8)
      return file.fail(at + 13, "file addresses and lengths of " + Twine(size) +
                                    " bytes are not supported (2, 4 or 8 are)");
  file.base = r.address();
  if (version <= 1) {
    r.skip(3 * file.offsetSize); // free space, end of file, driver info
    r.skip(file.offsetSize);     // root entry: link name offset
    file.rootAddress = r.address();
  } else {
    r.skip(2 * file.offsetSize); // superblock extension, end of file
    file.rootAddress = r.address();
  }
  if (auto err = r.check("the superblock"))
    return std::move(err);
  if (file.base > bytes.size())
    return file.fail(at, "the base address " + Twine(file.base) +
                             " is past the end of the file");
  return file;
}

//===----------------------------------------------------------------------===//
// Object headers
//===----------------------------------------------------------------------===//

llvm::Expected<std::vector<Hdf5File::Message>>
Hdf5File::messages(const Object &object) const {
  std::string what = "object '/" + object.path + "'";
  std::vector<Message> out;
  uint64_t start = base + object.address;
  if (object.address > bytes.size() || start > bytes.size())
    return fail(object.address, what + ": its header address " +
                                    Twine(object.address) +
                                    " is past the end of the file");
  bool v2 = bytes.substr(start, 4) == "OHDR";
  struct Block {
    uint64_t begin, size;
    bool continuation;
  };
  std::vector<Block> blocks;
  std::set<uint64_t> seen;
  uint64_t expected = kMaxMessages;
  unsigned headerFlags = 0;
  Hdf5Reader h(*this, start, bytes.size() - start);
  if (v2) {
    h.skip(4);
    unsigned version = h.u(1);
    headerFlags = h.u(1);
    if (version != 2)
      return fail(start, what + ": object header version " + Twine(version) +
                             " is not supported");
    if (headerFlags & 0x20)
      h.skip(16); // times
    if (headerFlags & 0x10)
      h.skip(4); // attribute storage thresholds
    uint64_t size = h.u(1u << (headerFlags & 3));
    blocks.push_back({h.pos, size, false});
  } else {
    unsigned version = h.u(1);
    h.skip(1);
    expected = h.u(2);
    h.skip(4); // reference count
    uint64_t size = h.u(4);
    if (version != 1)
      return fail(start, what + ": not an object header (version byte " +
                             Twine(version) + ", expected 1 or \"OHDR\")");
    blocks.push_back({start + 16, size, false});
  }
  if (auto err = h.check(what + ": its header"))
    return std::move(err);
  for (size_t b = 0; b < blocks.size(); ++b) {
    const Block block = blocks[b];
    if (block.begin > bytes.size() || block.size > bytes.size() - block.begin)
      return fail(block.begin, what + ": a header block of " +
                                   Twine(block.size) +
                                   " bytes runs past the end of the file");
    Hdf5Reader r(*this, block.begin, block.size);
    // Version 2 continuation blocks are "OCHK", messages, a checksum.
    if (v2 && block.continuation && r.take(4) != "OCHK")
      return fail(block.begin, what + ": a continuation block does not "
                                      "start with \"OCHK\"");
    uint64_t end =
        r.end -
        (v2 && block.continuation ? std::min<uint64_t>(4, r.end - r.pos) : 0);
    unsigned prefix = v2 ? 4 + ((headerFlags & 0x04) ? 2 : 0) : 8;
    while (r.pos + prefix <= end && out.size() < expected) {
      unsigned type = r.u(v2 ? 1 : 2);
      uint64_t size = r.u(2);
      unsigned flags = r.u(1);
      r.skip(prefix - (v2 ? 4 : 5));
      if (r.pos + size > end)
        return fail(r.pos, what + ": message of type " + Twine(type) + " and " +
                               Twine(size) + " bytes runs past its block");
      // A shared message holds a reference to the message, not the
      // message: an error where it is one this reader parses.
      bool parsed = type == kDataspace || type == kLinkInfo ||
                    type == kDatatype || type == kLink || type == kLayout ||
                    type == kFilterPipeline || type == kAttribute ||
                    type == kContinuation || type == kSymbolTable ||
                    type == kAttributeInfo;
      if ((flags & 0x02) && parsed)
        return fail(r.pos, what + ": shared messages (committed datatypes) "
                                  "are not supported");
      out.push_back({type, r.pos, size});
      if (out.size() > kMaxMessages)
        return fail(r.pos, what + ": more than " + Twine(kMaxMessages) +
                               " header messages");
      if (type == kContinuation) {
        Hdf5Reader c(*this, r.pos, size);
        uint64_t address = c.address(), length = c.length();
        if (auto err = c.check(what + ": its continuation message"))
          return std::move(err);
        if (!seen.insert(address).second)
          return fail(r.pos, what + ": continuation blocks form a cycle");
        blocks.push_back({base + address, length, true});
      }
      r.skip(size);
    }
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Groups
//===----------------------------------------------------------------------===//

llvm::Expected<bool> Hdf5File::isGroup(const Object &object) const {
  auto list = messages(object);
  if (!list)
    return list.takeError();
  for (const Message &m : *list)
    if (m.type == kSymbolTable || m.type == kLink || m.type == kLinkInfo)
      return true;
  return false;
}

/// Appends the entries of the symbol table whose B-tree is at `btree` and
/// whose names are in the local heap at `heap`.
llvm::Error Hdf5File::symbolTableLinks(const Object &group, uint64_t btree,
                                       uint64_t heap,
                                       std::vector<Object> &out) const {
  std::string what = "group '/" + group.path + "'";
  Hdf5Reader h(*this, base + heap, 8 + 2 * lengthSize + offsetSize);
  if (h.take(4) != "HEAP" && !h.overran)
    return fail(base + heap, what + ": its local heap does not start with "
                                    "\"HEAP\"");
  h.skip(4);
  uint64_t heapSize = h.length();
  h.length(); // free list
  uint64_t heapData = base + h.address();
  if (auto err = h.check(what + ": its local heap"))
    return err;
  Hdf5Reader names(*this, heapData, heapSize);
  if (names.end - names.pos < heapSize)
    return fail(heapData, what + ": its local heap's " + Twine(heapSize) +
                              " bytes run past the end of the file");
  StringRef heapBytes = names.take(heapSize);

  // Depth-first over the B-tree: (node address, the level its parent said).
  std::vector<std::pair<uint64_t, unsigned>> stack{{btree, kMaxTreeDepth}};
  std::set<uint64_t> visited;
  while (!stack.empty()) {
    auto [node, parentLevel] = stack.back();
    stack.pop_back();
    if (!visited.insert(node).second)
      return fail(base + node, what + ": its B-tree visits a node twice");
    Hdf5Reader r(*this, base + node, bytes.size());
    StringRef signature = r.take(4);
    if (signature == "SNOD") {
      r.skip(2);
      unsigned count = r.u(2);
      for (unsigned i = 0; i < count && !r.overran; ++i) {
        uint64_t nameOffset = r.length(), header = r.address();
        r.skip(24); // cache type, reserved, scratch pad
        if (r.overran)
          break;
        if (nameOffset >= heapBytes.size())
          return fail(r.pos, what + ": a link's name offset " +
                                 Twine(nameOffset) + " is past its heap (" +
                                 Twine(heapBytes.size()) + " bytes)");
        StringRef name = heapBytes.substr(nameOffset);
        name = name.take_until([](char c) { return c == '\0'; });
        out.push_back({header, group.path.empty()
                                   ? name.str()
                                   : group.path + "/" + name.str()});
      }
    } else if (signature == "TREE") {
      unsigned type = r.u(1), level = r.u(1), entries = r.u(2);
      if (type != 0)
        return fail(base + node, what + ": its B-tree node has type " +
                                     Twine(type) + ", expected 0 (groups)");
      if (level >= parentLevel)
        return fail(base + node, what + ": its B-tree's levels do not go down");
      r.skip(2 * offsetSize); // siblings
      for (unsigned i = 0; i < entries && !r.overran; ++i) {
        r.length(); // key
        uint64_t child = r.address();
        if (!r.overran)
          stack.push_back({child, level});
      }
    } else if (!r.overran) {
      return fail(base + node, what + ": expected a B-tree node (\"TREE\") or "
                                      "a symbol table node (\"SNOD\")");
    }
    if (auto err = r.check(what + ": its B-tree"))
      return err;
  }
  return llvm::Error::success();
}

llvm::Error Hdf5File::forEachDataset(
    const Object &group,
    llvm::function_ref<llvm::Error(const Object &)> visit) const {
  std::set<uint64_t> walked{group.address};
  std::function<llvm::Error(const Object &, unsigned)> walk =
      [&](const Object &g, unsigned depth) -> llvm::Error {
    if (depth > 64)
      return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                     path + ": groups nest deeper than 64 "
                                            "levels");
    auto list = children(g);
    if (!list)
      return list.takeError();
    for (const Object &child : *list) {
      auto group = isGroup(child);
      if (!group)
        return group.takeError();
      if (!*group) {
        if (auto err = visit(child))
          return err;
      } else if (walked.insert(child.address).second) {
        if (auto err = walk(child, depth + 1))
          return err;
      }
    }
    return llvm::Error::success();
  };
  return walk(group, 0);
}

llvm::Expected<std::vector<Hdf5File::Object>>
Hdf5File::children(const Object &group) const {
  std::string what = "group '/" + group.path + "'";
  auto list = messages(group);
  if (!list)
    return list.takeError();
  std::vector<Object> out;
  for (const Message &m : *list) {
    Hdf5Reader r(*this, m.offset, m.size);
    if (m.type == kSymbolTable) {
      uint64_t btree = r.address(), heap = r.address();
      if (auto err = r.check(what + ": its symbol table message"))
        return std::move(err);
      if (auto err = symbolTableLinks(group, btree, heap, out))
        return std::move(err);
    } else if (m.type == kLinkInfo) {
      r.skip(1);
      unsigned flags = r.u(1);
      if (flags & 1)
        r.skip(8);
      uint64_t heap = r.address();
      if (auto err = r.check(what + ": its link info message"))
        return std::move(err);
      if (!r.undefined(heap))
        return fail(m.offset, what + ": its links are in a fractal heap (the "
                                     "'latest' format's groups of more than 8 "
                                     "links), which is not supported; save "
                                     "with h5py's default libver");
    } else if (m.type == kLink) {
      r.skip(1);
      unsigned flags = r.u(1);
      unsigned linkType = (flags & 0x08) ? r.u(1) : 0;
      if (flags & 0x04)
        r.skip(8); // creation order
      if (flags & 0x10)
        r.skip(1); // character set
      uint64_t nameLength = r.u(1u << (flags & 3));
      StringRef name = r.take(nameLength);
      uint64_t address = linkType == 0 ? r.address() : 0;
      if (auto err = r.check(what + ": its link message"))
        return std::move(err);
      if (linkType == 0) // soft and external links are not followed
        out.push_back({address, group.path.empty()
                                    ? name.str()
                                    : group.path + "/" + name.str()});
    }
  }
  return out;
}

llvm::Expected<std::optional<Hdf5File::Object>>
Hdf5File::find(const Object &group, StringRef relative) const {
  Object at = group;
  llvm::SmallVector<StringRef> parts;
  relative.split(parts, '/', -1, /*KeepEmpty=*/false);
  for (StringRef part : parts) {
    auto links = children(at);
    if (!links)
      return links.takeError();
    std::string wanted =
        at.path.empty() ? part.str() : at.path + "/" + part.str();
    bool found = false;
    for (Object &child : *links)
      if (child.path == wanted) {
        at = std::move(child);
        found = true;
        break;
      }
    if (!found)
      return std::nullopt;
  }
  return at;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

llvm::Expected<std::string> Hdf5File::globalHeapObject(uint64_t collection,
                                                       uint32_t index) const {
  std::string what =
      "the global heap collection at address " + std::to_string(collection);
  Hdf5Reader r(*this, base + collection, bytes.size());
  if (r.take(4) != "GCOL" && !r.overran)
    return fail(base + collection, what + " does not start with \"GCOL\"");
  r.skip(4);
  uint64_t size = r.length();
  uint64_t begin = base + collection;
  if (auto err = r.check(what))
    return std::move(err);
  Hdf5Reader objects(*this, r.pos,
                     size > 8 + lengthSize ? size - 8 - lengthSize : 0);
  while (objects.has(8 + lengthSize)) {
    unsigned id = objects.u(2);
    objects.skip(6);
    uint64_t length = objects.length();
    if (id == 0)
      break; // free space
    StringRef data = objects.take(length);
    objects.skip(
        std::min<uint64_t>((8 - length % 8) % 8,
                           objects.end - std::min(objects.pos, objects.end)));
    if (objects.overran)
      break;
    if (id == index)
      return data.str();
  }
  return fail(begin, what + " has no object " + Twine(index));
}

llvm::Expected<std::optional<std::vector<std::string>>>
Hdf5File::stringsAttribute(const Object &object, StringRef name) const {
  std::string what = "attribute '" + name.str() + "' of '/" + object.path + "'";
  auto list = messages(object);
  if (!list)
    return list.takeError();
  bool dense = false;
  for (const Message &m : *list) {
    if (m.type == kAttributeInfo) {
      Hdf5Reader r(*this, m.offset, m.size);
      r.skip(1);
      unsigned flags = r.u(1);
      if (flags & 1)
        r.skip(2);
      uint64_t heap = r.address();
      dense |= !r.overran && !r.undefined(heap);
      continue;
    }
    if (m.type != kAttribute)
      continue;
    Hdf5Reader r(*this, m.offset, m.size);
    unsigned version = r.u(1);
    r.skip(1);
    uint64_t nameSize = r.u(2), typeSize = r.u(2), spaceSize = r.u(2);
    if (version == 3)
      r.skip(1); // name encoding
    auto padded = [&](uint64_t n) {
      return version == 1 ? (n + 7) / 8 * 8 : n;
    };
    StringRef attrName = r.take(padded(nameSize));
    attrName = attrName.take_until([](char c) { return c == '\0'; });
    if (r.overran || attrName != name)
      continue;
    uint64_t typeAt = r.pos;
    r.skip(padded(typeSize));
    uint64_t spaceAt = r.pos;
    r.skip(padded(spaceSize));
    uint64_t dataAt = r.pos;
    if (auto err = r.check(what))
      return std::move(err);
    Hdf5Reader typeReader(*this, typeAt, typeSize);
    auto type = parseHdf5Type(typeReader, what);
    if (!type)
      return type.takeError();
    Hdf5Reader spaceReader(*this, spaceAt, spaceSize);
    auto shape = parseHdf5Space(spaceReader, what);
    if (!shape)
      return shape.takeError();
    int64_t count = checkedNumElements(*shape);
    std::vector<std::string> strings;
    if (count == 0)
      return strings;
    if (type->kind == Hdf5Type::Number)
      return fail(m.offset, what + " holds numbers, not strings");
    uint64_t elementSize =
        type->kind == Hdf5Type::FixedString ? type->size : 4 + offsetSize + 4;
    Hdf5Reader data(*this, dataAt, m.offset + m.size - dataAt);
    if (count < 0 || !data.has(uint64_t(count) * elementSize))
      return fail(dataAt, what + ": " + Twine(count) + " strings of " +
                              Twine(elementSize) +
                              " bytes run past the message");
    for (int64_t i = 0; i < count; ++i) {
      if (type->kind == Hdf5Type::FixedString) {
        StringRef s = data.take(elementSize);
        s = s.take_until([](char c) { return c == '\0'; });
        strings.push_back(type->nulTerminated ? s.str() : s.rtrim(' ').str());
        continue;
      }
      uint64_t length = data.u(4);
      uint64_t collection = data.address();
      uint32_t index = data.u(4);
      if (length == 0) {
        strings.emplace_back();
        continue;
      }
      auto s = globalHeapObject(collection, index);
      if (!s)
        return s.takeError();
      if (s->size() < length)
        return fail(dataAt, what + ": string " + Twine(i) + " of " +
                                Twine(length) +
                                " bytes is longer than its "
                                "heap object");
      strings.push_back(s->substr(0, length));
    }
    return strings;
  }
  if (dense)
    return fail(base + object.address,
                "'/" + object.path +
                    "' keeps its attributes in a fractal heap (the 'latest' "
                    "format's objects of many attributes), which is not "
                    "supported; save with h5py's default libver");
  return std::nullopt;
}
