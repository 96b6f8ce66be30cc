//===- Safetensors.cpp - Hugging Face .safetensors files ------------------===//
//
// Part of Heed. The header is parsed with llvm::json; every tensor's offsets
// are checked against the data section and its shape.
//
//===----------------------------------------------------------------------===//

#include "runtime/Safetensors.h"
#include "runtime/FileError.h"
#include "runtime/FileOutput.h"
#include "runtime/Limits.h"
#include "runtime/Npy.h"

#include "llvm/Support/JSON.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <set>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;
using llvm::Twine;

/// A key that appears twice at the top level of the header object (a JSON
/// parser keeps one of them silently), if any. Runs after the nesting check.
static std::optional<std::string> duplicateKey(StringRef json) {
  std::set<std::string> seen;
  unsigned depth = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (c == '"') {
      std::string key;
      size_t j = i + 1;
      for (; j < json.size() && json[j] != '"'; ++j) {
        if (json[j] == '\\' && j + 1 < json.size())
          key += json[j++];
        key += json[j];
      }
      // A key is a string at depth 1 followed by ':'.
      size_t k = j + 1;
      while (k < json.size() && (json[k] == ' ' || json[k] == '\n' ||
                                 json[k] == '\t' || json[k] == '\r'))
        ++k;
      if (depth == 1 && k < json.size() && json[k] == ':' &&
          !seen.insert(key).second)
        return key;
      i = j;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth) {
      --depth;
    }
  }
  return std::nullopt;
}

llvm::Expected<NamedTensors> heed::rt::parseSafetensors(StringRef bytes,
                                                        const std::string &path,
                                                        ValueErrors values) {
  if (bytes.size() < 8)
    return fileError(path, "truncated: no 8-byte header length");
  uint64_t headerLen = 0;
  for (int i = 0; i < 8; ++i)
    headerLen |= uint64_t(uint8_t(bytes[i])) << (8 * i);
  if (headerLen > bytes.size() - 8)
    return fileError(path, "header length " + Twine(headerLen) +
                               " at byte offset 0 "
                               "exceeds the file size (" +
                               Twine(bytes.size()) + " bytes)");
  if (headerLen > limits::kMaxSafetensorsHeaderBytes)
    return fileError(path, "header length " + Twine(headerLen) +
                               " at byte offset 0 "
                               "is above the limit of " +
                               Twine(limits::kMaxSafetensorsHeaderBytes) +
                               " bytes");
  StringRef headerText = bytes.substr(8, headerLen);
  // llvm::json parses by recursion; a header nested deeper than any real
  // one would overflow the stack.
  if (auto at = limits::jsonNestingBeyond(headerText))
    return fileError(path, "header nests arrays/objects deeper than " +
                               Twine(heed::limits::kMaxNesting) +
                               " levels (at byte offset " + Twine(8 + *at) +
                               ")");
  if (auto duplicate = duplicateKey(headerText))
    return fileError(path, "header names tensor '" + *duplicate + "' twice");
  auto json = llvm::json::parse(headerText);
  if (!json)
    return fileError(path, "header is not valid JSON: " +
                               llvm::toString(json.takeError()));
  const llvm::json::Object *header = json->getAsObject();
  if (!header)
    return fileError(path, "header is not a JSON object");
  uint64_t dataStart = 8 + headerLen, dataSize = bytes.size() - dataStart;

  struct Entry {
    std::string name;
    uint64_t begin;
    const llvm::json::Object *info;
  };
  std::vector<Entry> entries;
  for (auto &kv : *header) {
    if (kv.first == "__metadata__")
      continue;
    const llvm::json::Object *info = kv.second.getAsObject();
    std::string name = kv.first.str();
    if (!info)
      return fileError(path,
                       "tensor '" + name + "': header entry is not an object");
    const llvm::json::Array *offsets = info->getArray("data_offsets");
    std::optional<int64_t> begin = offsets && offsets->size() == 2
                                       ? (*offsets)[0].getAsInteger()
                                       : std::nullopt;
    if (!begin || *begin < 0)
      return fileError(path,
                       "tensor '" + name + "': missing or bad data_offsets");
    entries.push_back({name, uint64_t(*begin), info});
  }
  // File order: by position in the data section.
  std::sort(entries.begin(), entries.end(),
            [](const Entry &a, const Entry &b) { return a.begin < b.begin; });

  NamedTensors result;
  uint64_t previousEnd = 0;
  std::string previousName;
  for (const Entry &e : entries) {
    std::string what = path + ": tensor '" + e.name + "'";
    std::optional<StringRef> dtype = e.info->getString("dtype");
    const llvm::json::Array *shapeArr = e.info->getArray("shape");
    const llvm::json::Array *offsets = e.info->getArray("data_offsets");
    if (!dtype || !shapeArr)
      return fileError(what, "missing dtype or shape");
    std::optional<ElementType> type = elementTypeFromSafetensors(*dtype);
    if (!type)
      return fileError(what, "dtype " + *dtype + " is not supported (" +
                                 supportedSafetensorsTypes() + " are)");
    size_t elemSize = elementSize(*type);
    std::vector<int64_t> shape;
    for (const llvm::json::Value &d : *shapeArr) {
      std::optional<int64_t> n = d.getAsInteger();
      if (!n || *n < 0)
        return fileError(what, "malformed shape");
      shape.push_back(*n);
    }
    if (auto err = limits::checkTensorSize(shape, elemSize, what))
      return std::move(err);
    std::optional<int64_t> end = (*offsets)[1].getAsInteger();
    int64_t count = checkedNumElements(shape);
    if (!end || *end < int64_t(e.begin))
      return fileError(what, "malformed data_offsets");
    if (e.begin < previousEnd)
      return fileError(what, "data_offsets [" + Twine(e.begin) + ", " +
                                 Twine(*end) + ") overlap those of tensor '" +
                                 previousName + "', which end at " +
                                 Twine(previousEnd));
    previousEnd = uint64_t(*end);
    previousName = e.name;
    uint64_t size = uint64_t(*end) - e.begin;
    if (uint64_t(*end) > dataSize)
      return fileError(what, "data_offsets [" + Twine(e.begin) + ", " +
                                 Twine(*end) + ") run past the data section (" +
                                 Twine(dataSize) + " bytes from byte offset " +
                                 Twine(dataStart) + ")");
    if (size != uint64_t(count) * elemSize)
      return fileError(what, "shape " + shapeToString(shape) + " of " + *dtype +
                                 " needs " + Twine(uint64_t(count) * elemSize) +
                                 " bytes, data_offsets give " + Twine(size));
    Tensor t(shape);
    if (auto err = decodeElements(*type, bytes.data() + dataStart + e.begin,
                                  count, t.data(), what, dataStart + e.begin)) {
      if (values == ValueErrors::Report)
        return std::move(err);
      t.setValueError(llvm::toString(std::move(err)));
    }
    t.setElementType(*type);
    result.emplace_back(e.name, std::move(t));
  }
  return result;
}

llvm::Error heed::rt::writeSafetensors(const std::string &path,
                                       const NamedTensors &tensors) {
  llvm::json::Object header;
  uint64_t offset = 0;
  for (auto &[name, t] : tensors) {
    llvm::json::Array shape;
    for (int64_t d : t.shape())
      shape.push_back(d);
    // Integer tensors (integer outputs) as I64, everything else F32.
    bool asInt64 = isInteger(t.elementType());
    uint64_t size = t.numElements() * (asInt64 ? 8 : sizeof(float));
    header[name] = llvm::json::Object{
        {"dtype", asInt64 ? "I64" : "F32"},
        {"shape", std::move(shape)},
        {"data_offsets", llvm::json::Array{offset, offset + size}}};
    offset += size;
  }
  std::string text;
  llvm::raw_string_ostream(text) << llvm::json::Value(std::move(header));
  text.append((8 - text.size() % 8) % 8, ' ');
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return fileError(path, "cannot write: " + ec.message());
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i)
    os << char((len >> (8 * i)) & 0xff);
  os << text;
  for (auto &[name, t] : tensors)
    os << fileBytes(t);
  return finishWrite(os, path);
}
