//===- Npz.cpp - NumPy .npz archives --------------------------------------===//
//
// Part of Heed. Each member (ZipArchive.h) is a .npy; the writer stores
// them uncompressed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Npz.h"
#include "runtime/FileError.h"
#include "runtime/FileOutput.h"
#include "runtime/Limits.h"
#include "runtime/Npy.h"
#include "runtime/ZipArchive.h"

#include "llvm/Support/raw_ostream.h"

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;
using llvm::Twine;

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

llvm::Error heed::rt::writeNpz(const std::string &path,
                               const NamedTensors &tensors) {
  std::vector<std::pair<std::string, std::string>> members;
  for (auto &[name, tensor] : tensors) {
    members.emplace_back(name + ".npy", encodeNpy(tensor));
    if (members.back().second.size() >= 0xffffffffu)
      return fileError(path,
                       "tensor '" + name + "' is too large for this writer");
  }
  std::string out = storedZip(members);
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return fileError(path, "cannot write: " + ec.message());
  os << out;
  return finishWrite(os, path);
}
