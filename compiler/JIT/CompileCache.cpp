//===- CompileCache.cpp - Compiled models kept on disk --------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "compiler/JIT/CompileCache.h"
#include "runtime/Environment.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SHA256.h"
#include "llvm/Support/xxhash.h"
#include "llvm/TargetParser/Host.h"

#include <dlfcn.h>

#include <vector>

using namespace heed;

static constexpr llvm::StringLiteral kMagic = "HEEDJIT3";

std::optional<CompileCache> CompileCache::open() {
  if (!rt::env::flag("HEED_CACHE", true))
    return std::nullopt;
  if (auto dir = rt::env::text("HEED_CACHE_DIR"))
    return CompileCache(*dir);
  llvm::SmallString<128> dir;
  if (auto xdg = llvm::sys::Process::GetEnv("XDG_CACHE_HOME");
      xdg && !xdg->empty())
    dir = *xdg;
  else if (!llvm::sys::path::home_directory(dir))
    return std::nullopt;
  else
    llvm::sys::path::append(dir, ".cache");
  llvm::sys::path::append(dir, "heed");
  return CompileCache(std::string(dir));
}

/// This build of Heed: the file holding this code, its size and its
/// modification time (a rebuilt compiler never reuses an older one's code).
static std::string buildIdentity() {
  static const std::string identity = [] {
    Dl_info info;
    std::string path;
    if (dladdr(reinterpret_cast<void *>(&buildIdentity), &info) &&
        info.dli_fname)
      path = info.dli_fname;
    llvm::sys::fs::file_status status;
    // For code linked into the executable, dladdr names it as it was
    // invoked (`heed`, found on PATH), which need not resolve from here:
    // then the executable's own path (/proc/self/exe).
    if (path.empty() || llvm::sys::fs::status(path, status))
      path = llvm::sys::fs::getMainExecutable(
          nullptr, reinterpret_cast<void *>(&buildIdentity));
    std::string id = "heed";
    if (!path.empty() && !llvm::sys::fs::status(path, status))
      id += ";" + path + ";" + std::to_string(status.getSize()) + ";" +
            std::to_string(
                status.getLastModificationTime().time_since_epoch().count());
    return id;
  }();
  return identity;
}

std::string CompileCache::key(llvm::ArrayRef<std::string> parts) {
  llvm::SHA256 hash;
  auto add = [&](llvm::StringRef s) {
    uint8_t size[8];
    llvm::support::endian::write64le(size, s.size());
    hash.update(llvm::ArrayRef<uint8_t>(size, 8));
    hash.update(s);
  };
  add(buildIdentity());
  add(llvm::sys::getHostCPUName());
  std::vector<std::string> features;
  for (auto &f : llvm::sys::getHostCPUFeatures())
    features.push_back((f.second ? "+" : "-") + f.first().str());
  llvm::sort(features);
  add(llvm::join(features, ","));
  for (const std::string &part : parts)
    add(part);
  auto digest = hash.final();
  return llvm::toHex(llvm::ArrayRef<uint8_t>(digest.data(), digest.size()),
                     /*LowerCase=*/true);
}

std::string CompileCache::path(llvm::StringRef key) const {
  llvm::SmallString<256> p(dir);
  llvm::sys::path::append(p, key + ".heedjit");
  return std::string(p);
}

static llvm::Error damaged(const std::string &path, const llvm::Twine &why) {
  return llvm::createStringError("compile cache entry " + path +
                                 " is damaged (" + why + ")");
}

llvm::Expected<std::optional<CacheEntry>>
CompileCache::load(llvm::StringRef key) const {
  std::string file = path(key);
  auto buffer = llvm::MemoryBuffer::getFile(file, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return std::nullopt; // no entry (or unreadable: rebuild either way)
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() < kMagic.size() + 24 || !bytes.starts_with(kMagic))
    return damaged(file, "not a Heed cache entry of this version");
  uint64_t stored = llvm::support::endian::read64le(bytes.end() - 8);
  if (llvm::xxh3_64bits(bytes.drop_back(8)) != stored)
    return damaged(file, "checksum mismatch");
  size_t at = kMagic.size();
  auto field = [&](llvm::StringRef &out) {
    if (bytes.size() - 8 - at < 8)
      return false;
    uint64_t n = llvm::support::endian::read64le(bytes.data() + at);
    at += 8;
    if (n > bytes.size() - 8 - at)
      return false;
    out = bytes.substr(at, n);
    at += n;
    return true;
  };
  llvm::StringRef json;
  if (!field(json))
    return damaged(file, "truncated fields");
  auto parsed = llvm::json::parse(json);
  if (!parsed)
    return damaged(file, llvm::toString(parsed.takeError()));
  CacheEntry entry;
  int64_t objects = 0;
  llvm::json::Path::Root root;
  llvm::json::ObjectMapper mapper(*parsed, root);
  if (!mapper || !mapper.map("model", entry.model) ||
      !mapper.map("prepare", entry.prepare) ||
      !mapper.map("prepared_shapes", entry.preparedShapes) ||
      !mapper.map("objects", objects) || objects < 1 || objects > 4096)
    return damaged(file, "bad metadata");
  for (int64_t i = 0; i < objects; ++i) {
    llvm::StringRef object;
    if (!field(object))
      return damaged(file, "truncated fields");
    entry.objects.push_back(object.str());
  }
  if (at != bytes.size() - 8)
    return damaged(file, "trailing bytes");
  return entry;
}

llvm::Error CompileCache::store(llvm::StringRef key,
                                const CacheEntry &entry) const {
  if (auto ec = llvm::sys::fs::create_directories(dir))
    return llvm::createStringError(ec,
                                   "cannot create the compile cache " + dir);
  llvm::json::Object meta{{"model", entry.model},
                          {"prepare", entry.prepare},
                          {"prepared_shapes", entry.preparedShapes},
                          {"objects", int64_t(entry.objects.size())}};
  std::string json = llvm::formatv("{0}", llvm::json::Value(std::move(meta)));
  std::string bytes = kMagic.str();
  auto put = [&](llvm::StringRef s) {
    char size[8];
    llvm::support::endian::write64le(size, s.size());
    bytes.append(size, 8);
    bytes.append(s.data(), s.size());
  };
  put(json);
  for (const std::string &object : entry.objects)
    put(object);
  char sum[8];
  llvm::support::endian::write64le(sum, llvm::xxh3_64bits(bytes));
  bytes.append(sum, 8);
  // A temporary file in the same directory, renamed over the entry.
  llvm::SmallString<256> temp;
  int fd;
  if (auto ec =
          llvm::sys::fs::createUniqueFile(path(key) + ".%%%%%%.tmp", fd, temp))
    return llvm::createStringError(ec,
                                   "cannot write to the compile cache " + dir);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << bytes;
    os.close();
    if (os.has_error()) {
      llvm::sys::fs::remove(temp);
      return llvm::createStringError(os.error(),
                                     "cannot write " + std::string(temp));
    }
  }
  if (auto ec = llvm::sys::fs::rename(temp, path(key))) {
    llvm::sys::fs::remove(temp);
    return llvm::createStringError(ec, "cannot write " + path(key));
  }
  return llvm::Error::success();
}
