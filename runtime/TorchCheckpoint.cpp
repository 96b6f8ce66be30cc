//===- TorchCheckpoint.cpp - Tensors of a torch.save file -----------------===//
//
// Part of Heed. The archive's pickle runs in TorchPickle's machine; here
// its tensors are found (TorchCheckpoint.h says where) and their views
// read from the storages.
//
//===----------------------------------------------------------------------===//

#include "runtime/TorchCheckpoint.h"
#include "runtime/Limits.h"
#include "runtime/TorchPickle.h"
#include "runtime/ZipArchive.h"

#include <cstring>
#include <deque>
#include <map>
#include <set>

using namespace heed;
using namespace heed::rt;
using namespace heed::rt::torch_pickle;
using llvm::StringRef;
using llvm::Twine;

namespace {

llvm::Error fail(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

struct FoundTensor {
  std::string name;
  Value tensor;
};

/// A storage's member: its bytes and where they start in the file.
struct StoredBytes {
  StringRef bytes;
  uint64_t offset = 0;
};
/// The storages of an archive by key ("0", "1", ...; `NAME/data/KEY`).
using Storages = std::map<std::string, StoredBytes>;
/// What is done with a checkpoint's saved object and its storages.
using RootVisitor =
    llvm::function_ref<llvm::Error(const Value &root, const Storages &)>;

/// A dict key or an attribute's name as a part of a tensor's name; empty
/// for a key that cannot name one.
std::string keyText(const Value &key) {
  return key->kind == Kind::String ? key->text
         : key->kind == Kind::Int  ? std::to_string(key->integer)
                                   : "";
}

/// The dicts of a saved object (an nn.Module's) whose entries its
/// state_dict names without their own key.
bool isModuleDict(const Value &v, StringRef key) {
  return v->kind == Kind::Opaque &&
         (key == "_parameters" || key == "_buffers" || key == "_modules");
}

/// Text for JSON, which must be UTF-8 (a pickle's strings may not be).
std::string jsonText(const std::string &text) {
  return llvm::json::isUTF8(text) ? text : llvm::json::fixUTF8(text);
}

/// The value of attribute `name` of a saved object, if it has one.
Value attribute(const Value &v, StringRef name) {
  for (size_t i = 0; i + 1 < v->items.size(); i += 2)
    if (v->items[i]->kind == Kind::String && v->items[i]->text == name)
      return v->items[i + 1];
  return nullptr;
}

/// `v` is an nn.Module saved whole: an object with submodules.
bool isModule(const Value &v) {
  return v->kind == Kind::Opaque && attribute(v, "_modules");
}

llvm::Error collectBuffers(const Value &module, const Value &buffers,
                           const std::string &name, unsigned depth,
                           std::vector<FoundTensor> &out,
                           const std::string &path);

/// The tensors under `v`, named by their path of dict keys and list
/// indices.
llvm::Error collect(const Value &v, const std::string &name, unsigned depth,
                    std::vector<FoundTensor> &out, const std::string &path) {
  if (depth > limits::kMaxNesting)
    return fail(path + ": dicts and lists nest more than " +
                Twine(limits::kMaxNesting) + " deep (at '" + name + "')");
  auto child = [&](const std::string &key) {
    return name.empty() ? key : name + "." + key;
  };
  switch (v->kind) {
  case Kind::Tensor:
    out.push_back({name, v});
    return llvm::Error::success();
  case Kind::Dict:
  case Kind::Opaque: { // an object's attributes (BUILD), if it has any
    // An nn.Module's state_dict is its parameters, buffers and submodules;
    // its other attributes may alias them (an RNN's _flat_weights).
    bool module = isModule(v);
    for (size_t i = 0; i + 1 < v->items.size(); i += 2) {
      std::string k = keyText(v->items[i]);
      if (k.empty())
        continue; // a key that cannot name a tensor
      // An nn.Module keeps its tensors and submodules in these dicts; the
      // state_dict names leave them out.
      bool moduleDict = isModuleDict(v, k);
      if (module && !moduleDict)
        continue;
      if (module && k == "_buffers") {
        // Buffers registered with persistent=False are no part of the
        // state_dict (a positional encoding's table, say).
        if (auto err =
                collectBuffers(v, v->items[i + 1], name, depth + 1, out, path))
          return err;
        continue;
      }
      if (auto err = collect(v->items[i + 1], moduleDict ? name : child(k),
                             depth + 1, out, path))
        return err;
    }
    return llvm::Error::success();
  }
  case Kind::List:
  case Kind::Tuple:
    for (size_t i = 0; i < v->items.size(); ++i)
      if (auto err = collect(v->items[i], child(std::to_string(i)), depth + 1,
                             out, path))
        return err;
    return llvm::Error::success();
  default:
    return llvm::Error::success();
  }
}

/// Module `module`'s `buffers` but those its `_non_persistent_buffers_set`
/// names.
llvm::Error collectBuffers(const Value &module, const Value &buffers,
                           const std::string &name, unsigned depth,
                           std::vector<FoundTensor> &out,
                           const std::string &path) {
  std::set<std::string> skipped;
  if (Value set = attribute(module, "_non_persistent_buffers_set");
      set && set->kind == Kind::List)
    for (const Value &item : set->items)
      if (item->kind == Kind::String)
        skipped.insert(item->text);
  if (buffers->kind != Kind::Dict)
    return collect(buffers, name, depth, out, path);
  for (size_t i = 0; i + 1 < buffers->items.size(); i += 2) {
    std::string k = keyText(buffers->items[i]);
    if (k.empty() || skipped.count(k))
      continue;
    if (auto err =
            collect(buffers->items[i + 1], name.empty() ? k : name + "." + k,
                    depth + 1, out, path))
      return err;
  }
  return llvm::Error::success();
}

/// A module's settings as JSON: numbers, flags, words and tuples of
/// numbers (`stride: [2]`); null for anything else.
llvm::json::Value setting(const Value &v) {
  switch (v->kind) {
  case Kind::Bool:
    return bool(v->integer);
  case Kind::Int:
    return v->integer;
  case Kind::Float:
    return v->number;
  case Kind::String:
    return jsonText(v->text);
  case Kind::Tuple:
  case Kind::List: {
    llvm::json::Array items;
    for (const Value &item : v->items) {
      if (item->kind != Kind::Int && item->kind != Kind::Float)
        return nullptr;
      items.push_back(item->kind == Kind::Int
                          ? llvm::json::Value(item->integer)
                          : llvm::json::Value(item->number));
    }
    return std::move(items);
  }
  default:
    return nullptr;
  }
}

/// The nn.Modules saved whole under `v` (torch.save(model)), named as
/// collect() names their tensors: {"path", "class", "settings"} each.
void collectModules(const Value &v, const std::string &name, unsigned depth,
                    llvm::json::Array &out) {
  if (depth > limits::kMaxNesting)
    return;
  auto child = [&](const std::string &key) {
    return name.empty() ? key : name + "." + key;
  };
  if (v->kind == Kind::List || v->kind == Kind::Tuple) {
    for (size_t i = 0; i < v->items.size(); ++i)
      collectModules(v->items[i], child(std::to_string(i)), depth + 1, out);
    return;
  }
  if (v->kind != Kind::Dict && v->kind != Kind::Opaque)
    return;
  llvm::json::Object settings;
  bool module = isModule(v);
  for (size_t i = 0; i + 1 < v->items.size(); i += 2) {
    std::string k = keyText(v->items[i]);
    if (k.empty())
      continue;
    bool moduleDict = isModuleDict(v, k);
    if (module && !moduleDict) {
      if (k[0] != '_')
        settings[jsonText(k)] = setting(v->items[i + 1]);
      continue;
    }
    collectModules(v->items[i + 1], moduleDict ? name : child(k), depth + 1,
                   out);
  }
  if (module)
    out.push_back(llvm::json::Object{
        {"path", jsonText(name)},
        {"class", jsonText(StringRef(v->type).rsplit('.').second.str())},
        {"settings", std::move(settings)}});
}

/// Bytes an element of a storage class: Heed's types, and the complex ones
/// it names in errors; 0 for any other.
size_t storageElementSize(const std::string &storageClass) {
  if (std::optional<ElementType> type =
          elementTypeFromTorchStorage(storageClass))
    return elementSize(*type);
  return storageClass == "ComplexFloatStorage"    ? 8
         : storageClass == "ComplexDoubleStorage" ? 16
                                                  : 0;
}

/// Tensor `found`'s values from its storage's bytes.
llvm::Expected<Tensor> materialize(const FoundTensor &found,
                                   const Storages &storages,
                                   const std::string &path,
                                   ValueErrors values) {
  const Object &t = *found.tensor;
  const Object &s = *t.storage;
  std::string what = path + ": tensor '" + found.name + "'";
  if (auto err = limits::checkTensorSize(t.size, sizeof(float), what))
    return std::move(err);
  auto member = storages.find(s.text);
  if (member == storages.end())
    return fail(what + ": its storage '" + s.text + "' has no data/" + s.text +
                " member in the archive");
  std::optional<ElementType> type = elementTypeFromTorchStorage(s.type);
  size_t elem = std::max<size_t>(storageElementSize(s.type), 1);
  StringRef bytes = member->second.bytes;
  uint64_t base = member->second.offset;
  if (uint64_t(s.integer) > bytes.size() / elem)
    return fail(what + ": its storage '" + s.text + "' claims " +
                Twine(s.integer) + " elements, its member holds " +
                Twine(bytes.size()) + " bytes");
  // The view must lie in the storage: offset + Σ (size - 1) · stride.
  int64_t last = t.offset;
  bool contiguous = true;
  int64_t expect = 1;
  for (size_t d = t.size.size(); d-- > 0;) {
    if (t.stride[d] < 0 || t.offset < 0)
      return fail(what + ": a negative stride or offset");
    if (t.size[d] > 1 && t.stride[d] != expect)
      contiguous = false;
    if (t.size[d] > 0 && t.stride[d] > (INT64_MAX - last) / t.size[d])
      return fail(what + ": its view overflows");
    if (t.size[d] > 0)
      last += (t.size[d] - 1) * t.stride[d];
    expect *= t.size[d];
  }
  int64_t count = checkedNumElements(t.size);
  if (count > 0 && last >= s.integer)
    return fail(what + ": its view (offset " + Twine(t.offset) + ", size " +
                shapeToString(t.size) + ") reaches element " + Twine(last) +
                " of a storage of " + Twine(s.integer));
  // Each element comes from the file: a view of more elements than its
  // storage (an expanded tensor, strides of 0) would let a small file ask
  // for a large allocation.
  if (count > s.integer)
    return fail(what + ": a view of " + Twine(count) +
                " elements over a storage of " + Twine(s.integer) +
                " (an expanded tensor; save it with .contiguous())");
  Tensor out(t.size);
  if (!type) {
    std::string why = what + ": its storage is " + s.type +
                      "; Heed reads float32, float16, bfloat16, float64, "
                      "integer and bool tensors (convert it with .float() "
                      "before saving)";
    if (values == ValueErrors::Report)
      return fail(why);
    std::memset(out.data(), 0, size_t(out.numElements()) * sizeof(float));
    out.setValueError(why);
    return out;
  }
  if (out.numElements() == 0)
    return out;
  std::string gathered;
  const char *src = bytes.data() + t.offset * elem;
  uint64_t offset = base + uint64_t(t.offset) * elem;
  if (!contiguous) { // a strided view: its elements in row-major order
    gathered.resize(size_t(out.numElements()) * elem);
    std::vector<int64_t> index(t.size.size(), 0);
    for (int64_t i = 0; i < out.numElements(); ++i) {
      int64_t at = t.offset;
      for (size_t d = 0; d < index.size(); ++d)
        at += index[d] * t.stride[d];
      std::memcpy(&gathered[size_t(i) * elem], bytes.data() + at * elem, elem);
      for (size_t d = index.size(); d-- > 0;) {
        if (++index[d] < t.size[d])
          break;
        index[d] = 0;
      }
    }
    src = gathered.data();
  }
  if (auto err = decodeElements(*type, src, out.numElements(), out.data(), what,
                                offset)) {
    if (values == ValueErrors::Report)
      return std::move(err);
    out.setValueError(llvm::toString(std::move(err)));
  }
  out.setElementType(*type);
  return out;
}

/// The tensors found in a checkpoint's pickle, read from `storages`.
llvm::Expected<NamedTensors> readTensors(const Value &root,
                                         const Storages &storages,
                                         const std::string &path,
                                         ValueErrors values) {
  std::vector<FoundTensor> found;
  if (auto err = collect(root, "", 0, found, path))
    return std::move(err);
  if (found.empty())
    return fail(path + ": the checkpoint holds no tensors in dicts or lists "
                       "(save model.state_dict(), or a dict holding it)");
  NamedTensors result;
  for (const FoundTensor &f : found) {
    auto t = materialize(f, storages, path, values);
    if (!t)
      return t.takeError();
    result.emplace_back(f.name, std::move(*t));
  }
  return result;
}

/// torch.save's magic number (0x1950a86a20f9469cfc6c) as the first pickle
/// of the format before PyTorch 1.6 writes it, after PROTO: LONG1 of 10
/// bytes, STOP.
constexpr char kLegacyMagic[] =
    "\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.";
constexpr size_t kLegacyMagicSize = sizeof(kLegacyMagic) - 1;

/// The format before PyTorch 1.6 (still written with
/// `_use_new_zipfile_serialization=False`): pickles of the magic number,
/// the format's version (1001) and the system's byte order; the object's
/// pickle; a pickle of the list of its storages' keys; then each storage in
/// that order: its element count (int64) and its bytes.
llvm::Error visitLegacyCheckpoint(StringRef bytes, const std::string &path,
                                  RootVisitor visit) {
  uint64_t pos = 2 + kLegacyMagicSize;
  std::vector<std::unique_ptr<PickleMachine>> machines;
  // The next pickle's value (its machine, which owns it, kept alive).
  auto next = [&](const char *what) -> llvm::Expected<Value> {
    machines.push_back(std::make_unique<PickleMachine>(
        bytes.drop_front(pos), path + ": the pickle of " + what, pos));
    auto v = machines.back()->run();
    if (!v)
      return v.takeError();
    pos += machines.back()->end();
    return *v;
  };
  auto version = next("the format's version");
  if (!version)
    return version.takeError();
  if ((*version)->kind != Kind::Int || (*version)->integer != 1001)
    return fail(path + ": a legacy PyTorch checkpoint of a format version "
                       "other than 1001");
  auto system = next("the system's sizes and byte order");
  if (!system)
    return system.takeError();
  const std::vector<Value> &info = (*system)->items;
  for (size_t i = 0; (*system)->kind == Kind::Dict && i + 1 < info.size();
       i += 2)
    if (info[i]->kind == Kind::String && info[i]->text == "little_endian" &&
        !(info[i + 1]->kind == Kind::Bool && info[i + 1]->integer))
      return fail(path + ": tensors stored big-endian (Heed reads "
                         "little-endian checkpoints)");
  auto root = next("the saved object");
  if (!root)
    return root.takeError();
  const PickleMachine &objects = *machines.back();
  auto keys = next("the storages' keys");
  if (!keys)
    return keys.takeError();
  if ((*keys)->kind != Kind::List)
    return fail(path + ": the storages' keys are not a list");
  std::map<std::string, std::string> storageTypes; // key -> storage class
  for (const Value &s : objects.storages())
    storageTypes.emplace(s->text, s->type);
  Storages storages;
  for (const Value &key : (*keys)->items) {
    if (key->kind != Kind::String)
      return fail(path + ": a storage key that is not a string");
    auto named = storageTypes.find(key->text);
    if (named == storageTypes.end())
      return fail(path + ": storage '" + key->text +
                  "' is listed, but the saved object names no such storage");
    const std::string &storageType = named->second;
    size_t elem = storageElementSize(storageType);
    if (!elem)
      return fail(path + ": storage '" + key->text + "' is a " + storageType +
                  ", whose size Heed does not know");
    if (bytes.size() - pos < 8)
      return fail(path + ": the file ends before storage '" + key->text +
                  "' (at byte offset " + Twine(pos) + ")");
    uint64_t count = 0;
    for (int i = 0; i < 8; ++i)
      count |= uint64_t(uint8_t(bytes[pos + i])) << (8 * i);
    pos += 8;
    if (count > (bytes.size() - pos) / elem)
      return fail(path + ": storage '" + key->text + "' of " + Twine(count) +
                  " elements at byte offset " + Twine(pos) +
                  " runs past the end of the file (" + Twine(bytes.size()) +
                  " bytes)");
    if (storages.count(key->text))
      return fail(path + ": storage '" + key->text + "' is listed twice");
    storages[key->text] = {bytes.substr(pos, count * elem), pos};
    pos += count * elem;
  }
  return visit(*root, storages);
}

} // namespace

/// Runs the checkpoint's pickle and hands `visit` the object it saved,
/// with the storages its tensors read.
static llvm::Error visitCheckpoint(StringRef bytes, const std::string &path,
                                   RootVisitor visit) {
  if (!bytes.starts_with("PK\x03\x04")) {
    if (bytes.size() > 2 + kLegacyMagicSize && bytes[0] == '\x80' &&
        bytes.substr(2, kLegacyMagicSize) ==
            StringRef(kLegacyMagic, kLegacyMagicSize))
      return visitLegacyCheckpoint(bytes, path, visit);
    if (bytes.starts_with("\x80"))
      return fail(path + ": a pickle, but not of torch.save (neither its zip "
                         "archive nor the format before PyTorch 1.6 starts "
                         "like this)");
    if (bytes.size() > 262 && bytes.substr(257, 5) == "ustar")
      return fail(path + ": a PyTorch checkpoint of the tar format (PyTorch "
                         "before 0.4), which Heed does not read: load it "
                         "and save it again");
    return fail(path + ": not a PyTorch checkpoint (torch.save writes a zip "
                       "archive; this file does not start like one)");
  }
  // The members: NAME/data.pkl, NAME/data/KEY, NAME/byteorder. Deflated
  // ones (torch.save stores) are copied, since their views end with the
  // visit.
  std::string pickle, prefix;
  uint64_t pickleOffset = 0;
  std::map<std::string, std::string> members;
  std::map<std::string, Storages> storagesByDir;
  std::deque<std::string> owned;
  bool torchScript = false;
  auto err = forEachZipMember(
      bytes, path, "PyTorch checkpoint (zip)",
      [&](const ZipMember &m) -> llvm::Error {
        StringRef name = m.name;
        size_t slash = name.find('/');
        if (slash == StringRef::npos)
          return llvm::Error::success();
        StringRef dir = name.take_front(slash),
                  rest = name.drop_front(slash + 1);
        if (rest == "data.pkl") {
          pickle = m.data.str();
          pickleOffset = m.offset;
          prefix = dir.str();
        } else if (rest == "constants.pkl" || rest.starts_with("code/")) {
          torchScript = true;
        } else if (rest == "byteorder") {
          members[name.str()] = m.data.str();
        } else if (rest.consume_front("data/")) {
          bool inPlace = m.data.data() >= bytes.data() &&
                         m.data.data() < bytes.data() + bytes.size();
          StringRef view = m.data;
          if (!inPlace) {
            owned.push_back(m.data.str());
            view = owned.back();
          }
          storagesByDir[dir.str()][rest.str()] = {view, m.offset};
        }
        return llvm::Error::success();
      });
  if (err)
    return err;
  if (prefix.empty())
    return fail(path + (torchScript
                            ? ": a TorchScript archive (torch.jit.save), "
                              "not a state_dict: save model.state_dict() "
                              "with torch.save"
                            : ": a zip archive without the data.pkl of a "
                              "torch.save checkpoint"));
  auto order = members.find(prefix + "/byteorder");
  if (order != members.end() && order->second != "little")
    return fail(path + ": tensors stored " + order->second +
                "-endian (Heed reads little-endian checkpoints)");
  PickleMachine machine(pickle, path + ": " + prefix + "/data.pkl",
                        pickleOffset);
  auto root = machine.run();
  if (!root)
    return root.takeError();
  return visit(*root, storagesByDir[prefix]);
}

llvm::Expected<NamedTensors>
heed::rt::parseTorchCheckpoint(StringRef bytes, const std::string &path,
                               ValueErrors values) {
  NamedTensors out;
  if (auto err = visitCheckpoint(
          bytes, path,
          [&](const Value &root, const Storages &storages) -> llvm::Error {
            auto tensors = readTensors(root, storages, path, values);
            if (!tensors)
              return tensors.takeError();
            out = std::move(*tensors);
            return llvm::Error::success();
          }))
    return std::move(err);
  return out;
}

llvm::Expected<llvm::json::Value>
heed::rt::parseTorchModules(StringRef bytes, const std::string &path) {
  llvm::json::Array modules;
  if (auto err = visitCheckpoint(bytes, path,
                                 [&](const Value &root, const Storages &) {
                                   collectModules(root, "", 0, modules);
                                   return llvm::Error::success();
                                 }))
    return std::move(err);
  return llvm::json::Value(std::move(modules));
}
