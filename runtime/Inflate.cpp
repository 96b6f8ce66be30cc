//===- Inflate.cpp - Deflated data of zip members and HDF5 chunks ---------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Inflate.h"

#include "llvm/ADT/Twine.h"

#include <zlib.h>

#include <climits>

using namespace heed::rt;

llvm::Expected<std::string> heed::rt::inflateExactly(llvm::StringRef in,
                                                     uint64_t outSize, bool raw,
                                                     const std::string &what) {
  auto fail = [&](const llvm::Twine &msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   what + ": " + msg);
  };
  if (in.size() >= UINT_MAX || outSize >= UINT_MAX)
    return fail("deflated data of " + llvm::Twine(in.size()) + " bytes into " +
                llvm::Twine(outSize) + " is 4 GiB or more, which is not read");
  std::string out(outSize, '\0');
  z_stream zs{};
  if (inflateInit2(&zs, raw ? -MAX_WBITS : MAX_WBITS) != Z_OK)
    return fail("cannot initialize zlib");
  zs.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef *>(out.data());
  zs.avail_out = uInt(outSize);
  int rc = inflate(&zs, Z_FINISH);
  uint64_t produced = zs.total_out;
  std::string why = zs.msg ? zs.msg : "";
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return fail("corrupt deflate data (" +
                llvm::Twine(why.empty()
                                ? "it does not inflate to the " +
                                      std::to_string(outSize) + " bytes stated"
                                : why) +
                ")");
  if (produced != outSize)
    return fail("deflate data inflates to " + llvm::Twine(produced) +
                " bytes, not the " + llvm::Twine(outSize) + " stated");
  return out;
}
