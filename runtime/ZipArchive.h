//===- ZipArchive.h - The members of a zip archive --------------*- C++ -*-===//
//
// Part of Heed. .npz files and PyTorch checkpoints (torch.save) are zip
// archives: members stored or deflated, with zip64 records for large ones.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_ZIPARCHIVE_H
#define HEED_RUNTIME_ZIPARCHIVE_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace heed::rt {

struct ZipMember {
  std::string name;
  /// The member's bytes: a view of the archive when stored, of an inflated
  /// copy (valid during the visit only) when deflated.
  llvm::StringRef data;
  /// Where the member's (stored) data starts in the archive, for errors.
  uint64_t offset;
};

/// Visits every member in central-directory order, checked (offsets within
/// the file, sizes, CRC-32) before its visit; errors name `path` and the
/// member. `kind` names the file type in errors ("zip/npz").
llvm::Error
forEachZipMember(llvm::StringRef bytes, const std::string &path,
                 const std::string &kind,
                 llvm::function_ref<llvm::Error(const ZipMember &)> visit);

/// A zip archive of `members` (name, bytes), stored uncompressed, each
/// under 4 GiB (no zip64 records): .npz files, and the fuzzers' archives.
std::string
storedZip(const std::vector<std::pair<std::string, std::string>> &members);

} // namespace heed::rt

#endif
