//===- TorchPickle.cpp - The pickle machine of torch.save files -----------===//
//
// Part of Heed. See TorchPickle.h.
//
//===----------------------------------------------------------------------===//

#include "runtime/TorchPickle.h"

#include "llvm/Support/FormatVariadic.h"

#include <cstring>

using namespace heed::rt::torch_pickle;

static llvm::Error fail(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Error PickleMachine::error(const Twine &msg) const {
  return fail(what + ", byte offset " + Twine(at) + " (" + Twine(base + at) +
              " in the file): " + msg);
}

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
static bool integers(const Value &tuple, std::vector<int64_t> &out) {
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
  // set(list): an nn.Module's names of buffers outside its state_dict.
  if ((name == "__builtin__.set" || name == "builtins.set") && a.size() == 1 &&
      a[0]->kind == Kind::List) {
    Value items = make(Kind::List);
    items->items = a[0]->items;
    return items;
  }
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
  // Never called: any other object is opaque, its class kept (an
  // nn.Module's, when it was saved whole).
  Value object = make(Kind::Opaque);
  object->type = name.str();
  return object;
}

llvm::Expected<Value> PickleMachine::persistentLoad(const Value &id) {
  // ('storage', torch.FloatStorage, key, location, element count); the
  // format before PyTorch 1.6 adds a view of another storage, or None.
  const std::vector<Value> &t = id->items;
  // That format also saves an nn.Module class as ('module', class, source
  // file, source): the class, as any other class, makes opaque objects.
  if (id->kind == Kind::Tuple && t.size() == 4 && t[0]->kind == Kind::String &&
      t[0]->text == "module" && t[1]->kind == Kind::Global)
    return t[1];
  if (id->kind == Kind::Tuple && t.size() == 6 && t[5]->kind != Kind::None)
    return error("a storage that is a view of another (a checkpoint of "
                 "PyTorch before 0.4): load it and save it again");
  if (id->kind != Kind::Tuple || t.size() < 5 || t.size() > 6 ||
      t[0]->kind != Kind::String || t[0]->text != "storage" ||
      t[1]->kind != Kind::Global || t[2]->kind != Kind::String ||
      t[4]->kind != Kind::Int || t[4]->integer < 0)
    return error("a persistent id other than PyTorch's ('storage', type, "
                 "key, location, size)");
  Value s = make(Kind::Storage);
  StringRef type = t[1]->text;
  type.consume_front("torch.");
  s->type = type.str();
  s->text = t[2]->text;
  s->integer = t[4]->integer;
  loaded.push_back(s);
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
      uint64_t bits = 0;
      for (int i = 0; i < 8; ++i)
        bits = bits << 8 | uint8_t(in[pos + i]);
      pos += 8;
      Value v = make(Kind::Float); // a module's eps, momentum, ...
      std::memcpy(&v->number, &bits, sizeof(double));
      push(v);
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
  at = pos;
  return error("the pickle ends without STOP");
}
