//===- TorchPickle.h - The pickle machine of torch.save files ---*- C++ -*-===//
//
// Part of Heed. A pickle machine for the `data.pkl` of a torch.save archive
// (TorchCheckpoint.h): it covers the opcodes of protocols 2 to 5 that
// torch.save and pickle emit for dicts, lists, tuples, numbers and strings,
// rebuilds tensors (`_rebuild_tensor_v2`, `_rebuild_parameter`,
// `_rebuild_from_type_v2`) over storages named by persistent ids, and
// makes every other object an opaque value that keeps the state BUILD gives
// it. It calls nothing the pickle names.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_TORCHPICKLE_H
#define HEED_RUNTIME_TORCHPICKLE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace heed::rt::torch_pickle {

using llvm::StringRef;
using llvm::Twine;

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
  double number = 0;        // Float
  std::string text;         // String; Global: "module.name"; Storage: its key
  std::string type;         // Storage: its class ("FloatStorage"); Opaque:
                            // the class that made it, where a GLOBAL named
                            // it ("torch.nn.modules.conv.Conv1d")
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
  /// Where run() stopped: the offset in `bytes` after its STOP (the next
  /// pickle of a file of several starts there).
  size_t end() const { return pos; }
  /// The storages the pickle's persistent ids named, in order.
  const std::vector<Value> &storages() const { return loaded; }

private:
  Value make(Kind kind) {
    arena.push_back(std::make_unique<Object>());
    arena.back()->kind = kind;
    return arena.back().get();
  }
  /// An error at the offset of the opcode being run.
  llvm::Error error(const Twine &msg) const;
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
  std::vector<Value> loaded;
};

} // namespace heed::rt::torch_pickle

#endif
