//===- CompileCache.h - Compiled models kept on disk ------------*- C++ -*-===//
//
// Part of Heed. A JIT-compiled model is kept as an object file under a key
// that covers everything its code depends on (model text, parameters,
// bound dims, lowering options, the host CPU and its features, and this
// build of Heed), so that a later process links it in milliseconds instead
// of running the pipeline and LLVM's code generation again.
//
// The directory is $HEED_CACHE_DIR, else $XDG_CACHE_HOME/heed, else
// ~/.cache/heed; HEED_CACHE=0 turns the cache off. An entry is one file:
//
//   "HEEDJIT3" | u64 n | n bytes of JSON (entry points, prepared shapes,
//   the number of objects k) | k times: u64 m | m bytes of object file |
//   u64 xxh3 of everything before it
//
// written to a temporary file and renamed into place, so readers never see
// half an entry. An entry that is short, has another magic, a wrong
// checksum or JSON that does not parse is reported and rebuilt, never used.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_JIT_COMPILECACHE_H
#define HEED_COMPILER_JIT_COMPILECACHE_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace heed {

struct CacheEntry {
  std::string model, prepare; // entry points ("" when nothing is prepared)
  std::vector<std::vector<int64_t>> preparedShapes;
  // The machine code: object files (one per partition a parallel
  // compilation made, ParallelCodegen.h), linked together.
  std::vector<std::string> objects;
};

class CompileCache {
public:
  /// The cache in its directory, or none when HEED_CACHE=0 or no directory
  /// can be found.
  static std::optional<CompileCache> open();
  /// A cache in `directory` (created on the first store).
  explicit CompileCache(std::string directory) : dir(std::move(directory)) {}

  /// The key of `parts` (SHA-256, hex), with this build of Heed and the
  /// host CPU's name and features mixed in.
  static std::string key(llvm::ArrayRef<std::string> parts);

  /// The entry under `key`: none when there is none; an error naming the
  /// file and what is wrong with it when it is damaged.
  llvm::Expected<std::optional<CacheEntry>> load(llvm::StringRef key) const;
  /// Stores `entry` under `key` (replacing a damaged one).
  llvm::Error store(llvm::StringRef key, const CacheEntry &entry) const;

  std::string path(llvm::StringRef key) const;
  const std::string &directory() const { return dir; }

private:
  std::string dir;
};

} // namespace heed

#endif
