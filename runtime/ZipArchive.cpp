//===- ZipArchive.cpp - The members of a zip archive ----------------------===//
//
// Part of Heed. Reads the zip central directory (the authoritative member
// list), checks every offset against the file size, inflates with zlib and
// verifies each member's CRC-32.
//
//===----------------------------------------------------------------------===//

#include "runtime/ZipArchive.h"
#include "runtime/FileError.h"
#include "runtime/Inflate.h"
#include "runtime/Limits.h"

#include <zlib.h>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;
using llvm::Twine;

/// Whether `length` bytes from `offset` lie inside a file of `size` bytes
/// (without computing offset + length, which may wrap: every offset and
/// length in a zip comes from the file).
static bool within(uint64_t offset, uint64_t length, uint64_t size) {
  return offset <= size && length <= size - offset;
}

static uint64_t le(StringRef b, size_t at, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v |= uint64_t(uint8_t(b[at + i])) << (8 * i);
  return v;
}

llvm::Error heed::rt::forEachZipMember(
    StringRef bytes, const std::string &path, const std::string &kind,
    llvm::function_ref<llvm::Error(const ZipMember &)> visit) {
  // End of central directory: signature 0x06054b50 within the last 64 KiB.
  if (bytes.size() < 22)
    return fileError(path, "not a " + kind + " file (too short)");
  size_t eocd = StringRef::npos;
  size_t lowest = bytes.size() > 65557 ? bytes.size() - 65557 : 0;
  for (size_t i = bytes.size() - 22 + 1; i-- > lowest;)
    if (le(bytes, i, 4) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == StringRef::npos)
    return fileError(path, "not a " + kind +
                               " file (no end-of-central-directory record)");
  uint64_t entries = le(bytes, eocd + 10, 2);
  uint64_t cdSize = le(bytes, eocd + 12, 4), cdOffset = le(bytes, eocd + 16, 4);
  if (cdOffset == 0xffffffff || entries == 0xffff) {
    // zip64: locator right before the EOCD points at the zip64 EOCD.
    if (eocd < 20 || le(bytes, eocd - 20, 4) != 0x07064b50)
      return fileError(path, "zip64 archive without a zip64 locator");
    uint64_t z64 = le(bytes, eocd - 20 + 8, 8);
    if (!within(z64, 56, bytes.size()) || le(bytes, z64, 4) != 0x06064b50)
      return fileError(path,
                       "bad zip64 end-of-central-directory at byte offset " +
                           Twine(z64));
    entries = le(bytes, z64 + 32, 8);
    cdSize = le(bytes, z64 + 40, 8);
    cdOffset = le(bytes, z64 + 48, 8);
  }
  if (!within(cdOffset, cdSize, bytes.size()))
    return fileError(path, "central directory at byte offset " +
                               Twine(cdOffset) +
                               " runs past the end of the file");
  // Each entry takes at least 46 bytes of the directory.
  if (entries > cdSize / 46 || entries > limits::kMaxArchiveMembers)
    return fileError(path, "the archive claims " + Twine(entries) +
                               " members, more "
                               "than its central directory (" +
                               Twine(cdSize) + " bytes) or the limit of " +
                               Twine(limits::kMaxArchiveMembers) + " allow");

  size_t at = cdOffset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (!within(at, 46, bytes.size()) || le(bytes, at, 4) != 0x02014b50)
      return fileError(path, "bad central-directory entry at byte offset " +
                                 Twine(at));
    unsigned method = le(bytes, at + 10, 2);
    uint32_t crc = le(bytes, at + 16, 4);
    uint64_t csize = le(bytes, at + 20, 4), usize = le(bytes, at + 24, 4);
    size_t nameLen = le(bytes, at + 28, 2), extraLen = le(bytes, at + 30, 2),
           commentLen = le(bytes, at + 32, 2);
    uint64_t local = le(bytes, at + 42, 4);
    if (!within(at + 46, nameLen + extraLen + commentLen, bytes.size()))
      return fileError(path, "central-directory entry at byte offset " +
                                 Twine(at) + " runs past the end of the file");
    std::string name = bytes.substr(at + 46, nameLen).str();
    // zip64 extended information: the 0xffffffff fields, in order.
    StringRef extra = bytes.substr(at + 46 + nameLen, extraLen);
    for (size_t x = 0; x + 4 <= extra.size();) {
      unsigned id = le(extra, x, 2), len = le(extra, x + 2, 2);
      if (x + 4 + len > extra.size())
        break;
      if (id == 1) {
        size_t f = x + 4;
        if (usize == 0xffffffff && f + 8 <= x + 4 + len) {
          usize = le(extra, f, 8);
          f += 8;
        }
        if (csize == 0xffffffff && f + 8 <= x + 4 + len) {
          csize = le(extra, f, 8);
          f += 8;
        }
        if (local == 0xffffffff && f + 8 <= x + 4 + len) {
          local = le(extra, f, 8);
        }
      }
      x += 4 + len;
    }
    at += 46 + nameLen + extraLen + commentLen;

    std::string what = path + ": member '" + name + "'";
    if (!within(local, 30, bytes.size()) || le(bytes, local, 4) != 0x04034b50)
      return fileError(what, "bad local header at byte offset " + Twine(local));
    uint64_t dataStart =
        local + 30 + le(bytes, local + 26, 2) + le(bytes, local + 28, 2);
    if (!within(dataStart, csize, bytes.size()))
      return fileError(what, "data at byte offset " + Twine(dataStart) + " (" +
                                 Twine(csize) +
                                 " bytes) runs past the end of the "
                                 "file (" +
                                 Twine(bytes.size()) + " bytes)");
    StringRef raw = bytes.substr(dataStart, csize);
    std::string inflated;
    StringRef member;
    if (method == 0) {
      member = raw;
    } else if (method == 8) {
      // Deflate expands at most 1032:1; the claimed size is allocated
      // before inflating, so it must be plausible and within the limits.
      if (usize / 1032 > csize || usize > limits::memoryLimit())
        return fileError(what, "the directory claims " + Twine(usize) +
                                   " bytes inflated from " + Twine(csize) +
                                   " (at byte offset " + Twine(dataStart) +
                                   "): not possible for deflate, or above the "
                                   "memory limit");
      auto out = inflateExactly(raw, usize, /*raw=*/true, what);
      if (!out)
        return out.takeError();
      inflated = std::move(*out);
      member = inflated;
    } else {
      return fileError(what, "unsupported zip compression method " +
                                 Twine(method) + " (only stored and deflated)");
    }
    if (member.size() != usize)
      return fileError(what, "size mismatch: directory says " + Twine(usize) +
                                 " bytes, found " + Twine(member.size()));
    uint32_t actual = crc32(0, reinterpret_cast<const Bytef *>(member.data()),
                            uInt(member.size()));
    if (actual != crc)
      return fileError(what, "CRC-32 mismatch: the member is corrupt");
    if (auto err = visit(ZipMember{name, member, dataStart}))
      return err;
  }
  return llvm::Error::success();
}

static void putLE(std::string &out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i)
    out += char((v >> (8 * i)) & 0xff);
}

std::string heed::rt::storedZip(
    const std::vector<std::pair<std::string, std::string>> &members) {
  std::string out, directory;
  for (const auto &member : members) {
    const std::string &name = member.first, &data = member.second;
    uint32_t crc = crc32(0, reinterpret_cast<const Bytef *>(data.data()),
                         uInt(data.size()));
    uint64_t offset = out.size();
    auto header = [&](std::string &s, bool central) {
      putLE(s, central ? 0x02014b50 : 0x04034b50, 4);
      if (central)
        putLE(s, 20, 2); // version made by
      putLE(s, 20, 2);   // version needed
      putLE(s, 0, 2);    // flags
      putLE(s, 0, 2);    // stored
      putLE(s, 0, 4);    // time, date
      putLE(s, crc, 4);
      putLE(s, data.size(), 4);
      putLE(s, data.size(), 4);
      putLE(s, name.size(), 2);
      putLE(s, 0, 2); // extra
      if (central) {
        putLE(s, 0, 2); // comment
        putLE(s, 0, 2); // disk
        putLE(s, 0, 2); // internal attrs
        putLE(s, 0, 4); // external attrs
        putLE(s, offset, 4);
      }
      s += name;
    };
    header(out, false);
    out += data;
    header(directory, true);
  }
  uint64_t cdOffset = out.size();
  out += directory;
  putLE(out, 0x06054b50, 4);
  putLE(out, 0, 4);
  putLE(out, members.size(), 2);
  putLE(out, members.size(), 2);
  putLE(out, directory.size(), 4);
  putLE(out, cdOffset, 4);
  putLE(out, 0, 2);
  return out;
}
