//===- ShardIndex.cpp - Sharded checkpoints' index files ------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/ShardIndex.h"
#include "runtime/ByteOrderMark.h"
#include "runtime/Limits.h"
#include "runtime/Npy.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"

#include <map>
#include <set>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;
using llvm::Twine;

static llvm::Error fail(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Expected<NamedTensors> heed::rt::loadShardIndex(const std::string &path,
                                                      ValueErrors values) {
  auto bytes = readFileBytes(path);
  if (!bytes)
    return bytes.takeError();
  StringRef text = withoutByteOrderMark((*bytes)->getBuffer());
  if (auto at = limits::jsonNestingBeyond(text))
    return fail(path + ": arrays/objects nest deeper than " +
                Twine(limits::kMaxNesting) + " levels (at byte offset " +
                Twine(*at) + ")");
  auto json = llvm::json::parse(text);
  if (!json)
    return fail(path + ": not valid JSON: " + llvm::toString(json.takeError()));
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Object *map =
      root ? root->getObject("weight_map") : nullptr;
  if (!map)
    return fail(path + ": not a sharded checkpoint's index (no \"weight_map\" "
                       "object mapping weight names to shard files)");
  // The shards, each with the weights the map puts in it.
  std::map<std::string, std::set<std::string>> byShard;
  for (const auto &[name, shard] : *map) {
    std::optional<StringRef> file = shard.getAsString();
    if (!file || file->empty())
      return fail(path + ": weight '" + name.str() +
                  "' maps to something other than a shard's file name");
    if (StringRef(*file).ends_with(".index.json"))
      return fail(path + ": weight '" + name.str() + "' maps to an index, '" +
                  *file + "', not a shard");
    byShard[file->str()].insert(name.str());
  }
  if (byShard.empty())
    return fail(path + ": its weight_map names no weights");
  StringRef dir = llvm::sys::path::parent_path(path);
  NamedTensors out;
  for (auto &[file, names] : byShard) {
    llvm::SmallString<256> shardPath(dir);
    llvm::sys::path::append(shardPath, file);
    auto tensors = loadTensorFile(std::string(shardPath), values);
    if (!tensors)
      return fail(path + ": shard '" + file + "' (of " + Twine(names.size()) +
                  " weight" + (names.size() == 1 ? "" : "s") +
                  "): " + llvm::toString(tensors.takeError()));
    std::set<std::string> found;
    for (auto &[name, t] : *tensors) {
      // A tensor the map puts elsewhere (or nowhere) is not this shard's.
      if (!names.count(name))
        continue;
      found.insert(name);
      out.emplace_back(name, std::move(t));
    }
    for (const std::string &name : names)
      if (!found.count(name))
        return fail(path + ": weight '" + name + "' is mapped to shard '" +
                    file + "', which has no such tensor");
  }
  return out;
}
