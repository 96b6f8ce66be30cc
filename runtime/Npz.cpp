//===- Npz.cpp - NumPy .npz archives --------------------------------------===//
//
// Part of Heed. Each member (ZipArchive.h) is a .npy; the writer stores
// them uncompressed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Npz.h"
#include "runtime/FileOutput.h"
#include "runtime/Limits.h"
#include "runtime/Npy.h"
#include "runtime/ZipArchive.h"

#include "llvm/Support/raw_ostream.h"

#include <zlib.h>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;
using llvm::Twine;

static llvm::Error fail(const std::string &path, const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 path + ": " + msg);
}

llvm::Expected<NamedTensors> heed::rt::parseNpz(StringRef bytes,
                                                const std::string &path,
                                                ValueErrors values) {
  NamedTensors result;
  auto err = forEachZipMember(
      bytes, path, "zip/npz", [&](const ZipMember &m) -> llvm::Error {
        StringRef tensorName = m.name;
        tensorName.consume_back(".npy");
        auto t = parseNpy(m.data, path + ": tensor '" + tensorName.str() + "'",
                          values);
        if (!t)
          return t.takeError();
        result.emplace_back(tensorName.str(), std::move(*t));
        return llvm::Error::success();
      });
  if (err)
    return std::move(err);
  return result;
}

static void putLE(std::string &out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i)
    out += char((v >> (8 * i)) & 0xff);
}

llvm::Error heed::rt::writeNpz(const std::string &path,
                               const NamedTensors &tensors) {
  std::string out, directory;
  for (auto &[name, tensor] : tensors) {
    std::string member = encodeNpy(tensor), file = name + ".npy";
    if (member.size() >= 0xffffffffu)
      return fail(path, "tensor '" + name + "' is too large for this writer");
    uint32_t crc = crc32(0, reinterpret_cast<const Bytef *>(member.data()),
                         uInt(member.size()));
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
      putLE(s, member.size(), 4);
      putLE(s, member.size(), 4);
      putLE(s, file.size(), 2);
      putLE(s, 0, 2); // extra
      if (central) {
        putLE(s, 0, 2); // comment
        putLE(s, 0, 2); // disk
        putLE(s, 0, 2); // internal attrs
        putLE(s, 0, 4); // external attrs
        putLE(s, offset, 4);
      }
      s += file;
    };
    header(out, false);
    out += member;
    header(directory, true);
  }
  uint64_t cdOffset = out.size();
  out += directory;
  putLE(out, 0x06054b50, 4);
  putLE(out, 0, 4);
  putLE(out, tensors.size(), 2);
  putLE(out, tensors.size(), 2);
  putLE(out, directory.size(), 4);
  putLE(out, cdOffset, 4);
  putLE(out, 0, 2);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return fail(path, "cannot write: " + ec.message());
  os << out;
  return finishWrite(os, path);
}
