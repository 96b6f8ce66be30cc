//===- TorchCheckpoint.cpp - Tensors of a torch.save file -----------------===//
//
// Part of Heed. The pickle machine covers the opcodes of protocols 2 to 5
// that torch.save and pickle emit for dicts, lists, tuples, numbers and
// strings; see TorchCheckpoint.h for what it does with objects.
//
//===----------------------------------------------------------------------===//

#include "runtime/TorchCheckpoint.h"
#include "runtime/Limits.h"
#include "runtime/ZipArchive.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>
#include <deque>
#include <map>
#include <memory>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;
using llvm::Twine;

namespace {

llvm::Error fail(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

enum class Kind {
  None,
  Bool,
  Int,
  Float,
  String,
  Tuple,
  List,
  Dict,
  Global,
  Storage,
  Tensor,
  Opaque
};

struct Object;
/// Values are owned by the machine that made them (a pickle may make a
/// list that holds itself, which reference counts would never free).
using Value = Object *;

/// A pickled value. Lists and dicts are shared (the memo may hold them
/// while later opcodes fill them).
struct Object {
  Kind kind = Kind::Opaque;
  int64_t integer = 0;      // Int, Bool; Storage: its element count
  std::string text;         // String; Global: "module.name"; Storage: its key
  std::string type;         // Storage: its class ("FloatStorage")
  std::vector<Value> items; // Tuple, List; Dict: key, value, key, value...
  // Tensor: its storage and view.
  Value storage;
  int64_t offset = 0;
  std::vector<int64_t> size, stride;
};

/// Runs a pickle: the value it builds, or an error at a byte offset.
class PickleMachine {
public:
  /// `what` names the pickle in errors; `base` is its offset in the file.
  PickleMachine(StringRef bytes, std::string what, uint64_t base)
      : in(bytes), what(std::move(what)), base(base) {}
  /// The value the pickle builds, valid while the machine lives.
  llvm::Expected<Value> run();

private:
  Value make(Kind kind) {
    arena.push_back(std::make_unique<Object>());
    arena.back()->kind = kind;
    return arena.back().get();
  }
  llvm::Error error(const Twine &msg) const {
    return fail(what + ", byte offset " + Twine(at) + " (" + Twine(base + at) +
                " in the file): " + msg);
  }
  bool has(size_t n) const { return n <= in.size() - pos; }
  uint64_t le(int n) { // little-endian, `has` checked
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= uint64_t(uint8_t(in[pos + i])) << (8 * i);
    pos += n;
    return v;
  }
  llvm::Expected<Value> pop();
  llvm::Expected<std::vector<Value>> popToMark();
  llvm::Expected<Value> reduce(const Value &callable, const Value &args,
                               unsigned depth = 0);
  llvm::Expected<Value> persistentLoad(const Value &id);
  /// The operand of a length-prefixed string or bytes opcode.
  llvm::Expected<std::string> counted(int lengthBytes);

  StringRef in;
  std::string what;
  uint64_t base;
  size_t pos = 0, at = 0;
  std::vector<Value> stack;
  std::vector<size_t> marks;
  std::map<uint64_t, Value> memo;
  std::vector<std::unique_ptr<Object>> arena;
};

llvm::Expected<Value> PickleMachine::pop() {
  if (stack.empty() || (!marks.empty() && stack.size() <= marks.back()))
    return error("the pickle pops an empty stack");
  Value v = std::move(stack.back());
  stack.pop_back();
  return v;
}

llvm::Expected<std::vector<Value>> PickleMachine::popToMark() {
  if (marks.empty())
    return error("the pickle has no mark to pop to");
  std::vector<Value> items(stack.begin() + marks.back(), stack.end());
  stack.resize(marks.back());
  marks.pop_back();
  return items;
}

llvm::Expected<std::string> PickleMachine::counted(int lengthBytes) {
  if (!has(lengthBytes))
    return error("the pickle ends inside an opcode");
  uint64_t n = le(lengthBytes);
  if (!has(n))
    return error("a string of " + Twine(n) +
                 " bytes runs past the pickle's "
                 "end");
  std::string s = in.substr(pos, n).str();
  pos += n;
  return s;
}

/// The integers of a tuple (a tensor's size or stride).
bool integers(const Value &tuple, std::vector<int64_t> &out) {
  if (tuple->kind != Kind::Tuple)
    return false;
  for (const Value &v : tuple->items) {
    if (v->kind != Kind::Int)
      return false;
    out.push_back(v->integer);
  }
  return true;
}

llvm::Expected<Value> PickleMachine::reduce(const Value &callable,
                                            const Value &args, unsigned depth) {
  const std::vector<Value> &a = args->items;
  StringRef name =
      callable->kind == Kind::Global ? StringRef(callable->text) : StringRef();
  if (name == "collections.OrderedDict" && a.empty())
    return make(Kind::Dict);
  if (name == "torch._utils._rebuild_tensor_v2" ||
      name == "torch._utils._rebuild_tensor") {
    if (a.size() < 4 || a[0]->kind != Kind::Storage || a[1]->kind != Kind::Int)
      return error("'" + name +
                   "' with arguments other than (storage, "
                   "offset, size, stride, ...)");
    Value t = make(Kind::Tensor);
    t->storage = a[0];
    t->offset = a[1]->integer;
    if (!integers(a[2], t->size) || !integers(a[3], t->stride) ||
        t->size.size() != t->stride.size())
      return error("a tensor's size and stride are not tuples of integers "
                   "of one length");
    return t;
  }
  // nn.Parameter: the tensor it wraps.
  if ((name == "torch._utils._rebuild_parameter" ||
       name == "torch._utils._rebuild_parameter_with_state") &&
      !a.empty() && a[0]->kind == Kind::Tensor)
    return a[0];
  // A tensor subclass: rebuilt by the function it names, from its args.
  if (name == "torch._tensor._rebuild_from_type_v2" && a.size() >= 3 &&
      a[2]->kind == Kind::Tuple && depth < 4)
    return reduce(a[0], a[2], depth + 1);
  return make(Kind::Opaque); // never called: any other object is opaque
}

llvm::Expected<Value> PickleMachine::persistentLoad(const Value &id) {
  // ('storage', torch.FloatStorage, key, location, element count)
  const std::vector<Value> &t = id->items;
  if (id->kind != Kind::Tuple || t.size() != 5 || t[0]->kind != Kind::String ||
      t[0]->text != "storage" || t[1]->kind != Kind::Global ||
      t[2]->kind != Kind::String || t[4]->kind != Kind::Int ||
      t[4]->integer < 0)
    return error("a persistent id other than PyTorch's ('storage', type, "
                 "key, location, size)");
  Value s = make(Kind::Storage);
  StringRef type = t[1]->text;
  type.consume_front("torch.");
  s->type = type.str();
  s->text = t[2]->text;
  s->integer = t[4]->integer;
  return s;
}

llvm::Expected<Value> PickleMachine::run() {
  while (pos < in.size()) {
    at = pos;
    uint8_t op = uint8_t(in[pos++]);
    auto push = [&](Value v) { stack.push_back(std::move(v)); };
    auto integer = [&](int64_t n) {
      Value v = make(Kind::Int);
      v->integer = n;
      push(v);
    };
    auto needs = [&](size_t n) -> llvm::Error {
      if (has(n))
        return llvm::Error::success();
      return error("the pickle ends inside an opcode");
    };
    switch (op) {
    case 0x80: // PROTO
      if (auto err = needs(1))
        return std::move(err);
      if (uint8_t(in[pos++]) > 5)
        return error("pickle protocol " +
                     Twine(unsigned(uint8_t(in[pos - 1]))) +
                     " (1 to 5 are known)");
      break;
    case 0x95: // FRAME: the length of the next frame, which needs nothing
      if (auto err = needs(8))
        return std::move(err);
      pos += 8;
      break;
    case '(': // MARK
      marks.push_back(stack.size());
      break;
    case '.': { // STOP
      auto v = pop();
      if (!v)
        return v.takeError();
      return *v;
    }
    case 'N':
      push(make(Kind::None));
      break;
    case 0x88:
    case 0x89: { // NEWTRUE, NEWFALSE
      Value v = make(Kind::Bool);
      v->integer = op == 0x88;
      push(v);
      break;
    }
    case 'J':
    case 'K':
    case 'M': { // BININT, BININT1, BININT2
      int n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
      if (auto err = needs(n))
        return std::move(err);
      uint64_t v = le(n);
      integer(op == 'J' ? int64_t(int32_t(uint32_t(v))) : int64_t(v));
      break;
    }
    case 0x8a:
    case 0x8b: { // LONG1, LONG4: two's complement, little-endian
      int lengthBytes = op == 0x8a ? 1 : 4;
      if (auto err = needs(lengthBytes))
        return std::move(err);
      uint64_t n = le(lengthBytes);
      if (n > 8)
        return error("an integer of " + Twine(n) +
                     " bytes (at most 8 are "
                     "read)");
      if (auto err = needs(n))
        return std::move(err);
      uint64_t v = le(int(n));
      if (n && n < 8 && (v >> (8 * n - 1)) & 1)
        v |= ~uint64_t(0) << (8 * n); // sign-extend
      integer(int64_t(v));
      break;
    }
    case 'G': { // BINFLOAT, big-endian
      if (auto err = needs(8))
        return std::move(err);
      pos += 8; // no number is needed: floats are hyperparameters
      push(make(Kind::Float));
      break;
    }
    case 'X':
    case 0x8c:
    case 0x8d: // BINUNICODE, SHORT_BINUNICODE, ..8
    case 'T':
    case 'U': // BINSTRING, SHORT_BINSTRING
    case 'B':
    case 'C':
    case 0x8e:   // BINBYTES, SHORT_BINBYTES, BINBYTES8
    case 0x96: { // BYTEARRAY8
      int lengthBytes = op == 0x8c || op == 'U' || op == 'C'     ? 1
                        : op == 0x8d || op == 0x8e || op == 0x96 ? 8
                                                                 : 4;
      auto s = counted(lengthBytes);
      if (!s)
        return s.takeError();
      Value v = make(Kind::String);
      v->text = std::move(*s);
      push(v);
      break;
    }
    case 'c': { // GLOBAL: "module\nname\n"
      size_t moduleEnd = in.find('\n', pos);
      size_t nameEnd = moduleEnd == StringRef::npos
                           ? StringRef::npos
                           : in.find('\n', moduleEnd + 1);
      if (nameEnd == StringRef::npos)
        return error("a GLOBAL without its two lines");
      Value v = make(Kind::Global);
      v->text = in.slice(pos, moduleEnd).str() + "." +
                in.slice(moduleEnd + 1, nameEnd).str();
      pos = nameEnd + 1;
      push(v);
      break;
    }
    case 0x93: { // STACK_GLOBAL
      auto name = pop();
      if (!name)
        return name.takeError();
      auto module = pop();
      if (!module)
        return module.takeError();
      if ((*name)->kind != Kind::String || (*module)->kind != Kind::String)
        return error("STACK_GLOBAL of values that are not strings");
      Value v = make(Kind::Global);
      v->text = (*module)->text + "." + (*name)->text;
      push(v);
      break;
    }
    case ')':
      push(make(Kind::Tuple));
      break;
    case ']':
      push(make(Kind::List));
      break;
    case '}':
      push(make(Kind::Dict));
      break;
    case 0x8f:
      push(make(Kind::List));
      break; // EMPTY_SET, as a list
    case 't':
    case 'l':
    case 'd':
    case 0x91: { // TUPLE, LIST, DICT, FROZENSET
      auto items = popToMark();
      if (!items)
        return items.takeError();
      if (op == 'd' && items->size() % 2)
        return error("DICT of an odd number of items");
      Value v = make(op == 't'   ? Kind::Tuple
                     : op == 'd' ? Kind::Dict
                                 : Kind::List);
      v->items = std::move(*items);
      push(v);
      break;
    }
    case 0x85:
    case 0x86:
    case 0x87: { // TUPLE1, TUPLE2, TUPLE3
      Value v = make(Kind::Tuple);
      v->items.resize(op - 0x84);
      for (size_t i = v->items.size(); i-- > 0;) {
        auto item = pop();
        if (!item)
          return item.takeError();
        v->items[i] = std::move(*item);
      }
      push(v);
      break;
    }
    case 'a':
    case 's':
    case 'e':
    case 'u':
    case 0x90: {
      // APPEND, SETITEM (one item or pair); APPENDS, SETITEMS, ADDITEMS
      // (items up to the mark): into the list or dict below them.
      std::vector<Value> items;
      if (op == 'a' || op == 's') {
        for (int i = op == 's' ? 2 : 1; i > 0; --i) {
          auto item = pop();
          if (!item)
            return item.takeError();
          items.insert(items.begin(), std::move(*item));
        }
      } else {
        auto popped = popToMark();
        if (!popped)
          return popped.takeError();
        items = std::move(*popped);
      }
      if (stack.empty())
        return error("nothing to add items to");
      Value &into = stack.back();
      bool dict = op == 's' || op == 'u';
      if (dict ? into->kind != Kind::Dict : into->kind != Kind::List) {
        if (into->kind != Kind::Opaque) // an opaque object's items: dropped
          return error(dict ? "SETITEM into a value that is not a dict"
                            : "APPEND into a value that is not a list");
        break;
      }
      if (dict && items.size() % 2)
        return error("SETITEMS of an odd number of items");
      into->items.insert(into->items.end(), items.begin(), items.end());
      break;
    }
    case 'q':
    case 'r':
    case 0x94: { // BINPUT, LONG_BINPUT, MEMOIZE
      if (stack.empty())
        return error("memoizing an empty stack");
      uint64_t key = memo.size();
      if (op != 0x94) {
        int n = op == 'q' ? 1 : 4;
        if (auto err = needs(n))
          return std::move(err);
        key = le(n);
      }
      memo[key] = stack.back();
      break;
    }
    case 'h':
    case 'j': { // BINGET, LONG_BINGET
      int n = op == 'h' ? 1 : 4;
      if (auto err = needs(n))
        return std::move(err);
      auto it = memo.find(le(n));
      if (it == memo.end())
        return error("a memo entry read before it is written");
      push(it->second);
      break;
    }
    case 'Q': { // BINPERSID
      auto id = pop();
      if (!id)
        return id.takeError();
      auto storage = persistentLoad(*id);
      if (!storage)
        return storage.takeError();
      push(*storage);
      break;
    }
    case 'R':
    case 0x81:
    case 0x92: {        // REDUCE, NEWOBJ, NEWOBJ_EX
      if (op == 0x92) { // its keyword arguments: unused
        auto kwargs = pop();
        if (!kwargs)
          return kwargs.takeError();
      }
      auto args = pop();
      if (!args)
        return args.takeError();
      auto callable = pop();
      if (!callable)
        return callable.takeError();
      if ((*args)->kind != Kind::Tuple)
        return error("REDUCE's arguments are not a tuple");
      auto v = reduce(*callable, *args);
      if (!v)
        return v.takeError();
      push(*v);
      break;
    }
    case 'b': { // BUILD: an object's state
      auto state = pop();
      if (!state)
        return state.takeError();
      if (stack.empty())
        return error("BUILD with no object");
      // An opaque object (a whole nn.Module saved) keeps its attributes,
      // where its tensors are; a dict's state (a state_dict's _metadata)
      // is not needed.
      Value &object = stack.back();
      if (object->kind == Kind::Opaque && (*state)->kind == Kind::Dict)
        object->items = (*state)->items;
      break;
    }
    case '0': { // POP
      auto v = pop();
      if (!v)
        return v.takeError();
      break;
    }
    case '1': { // POP_MARK
      auto items = popToMark();
      if (!items)
        return items.takeError();
      break;
    }
    case '2': // DUP
      if (stack.empty())
        return error("DUP of an empty stack");
      push(stack.back());
      break;
    default:
      return error(llvm::formatv("pickle opcode 0x{0:x-2} is not one Heed "
                                 "reads (PyTorch's torch.save does not "
                                 "write it)",
                                 unsigned(op))
                       .str());
    }
  }
  return fail(what + ": the pickle ends without STOP");
}

} // namespace

namespace {

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
  case Kind::Opaque: // an object's attributes (BUILD), if it has any
    for (size_t i = 0; i + 1 < v->items.size(); i += 2) {
      const Value &key = v->items[i];
      std::string k = key->kind == Kind::String ? key->text
                      : key->kind == Kind::Int  ? std::to_string(key->integer)
                                                : "";
      if (k.empty())
        continue; // a key that cannot name a tensor
      // An nn.Module keeps its tensors and submodules in these dicts; the
      // state_dict names leave them out.
      bool moduleDict =
          v->kind == Kind::Opaque &&
          (k == "_parameters" || k == "_buffers" || k == "_modules");
      if (auto err = collect(v->items[i + 1], moduleDict ? name : child(k),
                             depth + 1, out, path))
        return err;
    }
    return llvm::Error::success();
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
  // Bytes an element: Heed's types, and those it names in errors.
  size_t elem = type                               ? elementSize(*type)
                : s.type == "DoubleStorage"        ? 8
                : s.type == "ComplexFloatStorage"  ? 8
                : s.type == "ComplexDoubleStorage" ? 16
                                                   : 1;
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
                      "; Heed reads float32, float16, bfloat16, integer and "
                      "bool tensors (convert it with .float() before saving)";
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

} // namespace

llvm::Expected<NamedTensors>
heed::rt::parseTorchCheckpoint(StringRef bytes, const std::string &path,
                               ValueErrors values) {
  if (!bytes.starts_with("PK\x03\x04")) {
    if (bytes.starts_with("\x80"))
      return fail(path + ": a PyTorch checkpoint in the format before "
                         "PyTorch 1.6 (or _use_new_zipfile_serialization="
                         "False); Heed reads the zip format torch.save "
                         "writes by default: load it and save it again");
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
    return std::move(err);
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
  std::vector<FoundTensor> found;
  if (auto err = collect(*root, "", 0, found, path))
    return std::move(err);
  if (found.empty())
    return fail(path + ": the checkpoint holds no tensors in dicts or lists "
                       "(save model.state_dict(), or a dict holding it)");
  NamedTensors result;
  for (const FoundTensor &f : found) {
    auto t = materialize(f, storagesByDir[prefix], path, values);
    if (!t)
      return t.takeError();
    result.emplace_back(f.name, std::move(*t));
  }
  return result;
}
