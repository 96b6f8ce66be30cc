//===- Hdf5File.h - Groups, datasets and attributes of HDF5 files -*- C++ -*-=//
//
// Part of Heed. Keras saves weights as HDF5 (`model.save_weights("w.h5")`,
// `model.save("m.h5")`, Keras 3's `.weights.h5`), through h5py and libhdf5.
// This reads the part of the format those files use, without libhdf5:
// superblocks 0 to 3, object headers 1 and 2, groups as symbol tables
// (B-tree and local heap) or as compact link messages, attributes of fixed-
// and variable-length strings, and datasets of IEEE floats, integers and
// enums (h5py's bool) that are compact, contiguous or chunked (deflate,
// shuffle and fletcher32 filters). Anything else (a group or attributes in
// a fractal heap, other filters, compound types) is an error that names it.
// Every address and size is checked against the file.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_HDF5FILE_H
#define HEED_RUNTIME_HDF5FILE_H

#include "runtime/Tensor.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <optional>
#include <string>
#include <vector>

namespace heed::rt {

class Hdf5File {
public:
  /// A group or a dataset: its object header's address (relative to the
  /// file's base address) and its path from the root ("a/b"; "" for the
  /// root), for errors.
  struct Object {
    uint64_t address;
    std::string path;
  };

  /// Reads the superblock. `bytes` must outlive the Hdf5File; `path` names
  /// the file in errors.
  static llvm::Expected<Hdf5File> open(llvm::StringRef bytes, std::string path);

  Object root() const { return {rootAddress, ""}; }
  const std::string &fileName() const { return path; }
  /// Whether `object` is a group (it has a symbol table, link or link info
  /// message).
  llvm::Expected<bool> isGroup(const Object &object) const;
  /// The hard links of a group, as objects named by their paths.
  llvm::Expected<std::vector<Object>> children(const Object &group) const;
  /// Visits every dataset below `group`, depth first in link order; a group
  /// linked more than once (hard links, cycles) is walked once; groups
  /// nesting deeper than 64 levels are an error.
  llvm::Error
  forEachDataset(const Object &group,
                 llvm::function_ref<llvm::Error(const Object &)> visit) const;
  /// The object at `relative` ('/'-separated) below `group`, if any.
  llvm::Expected<std::optional<Object>> find(const Object &group,
                                             llvm::StringRef relative) const;
  /// The attribute `name` of `object` as a list of strings (a string, an
  /// array of them, or an empty array of any type), if there is one.
  llvm::Expected<std::optional<std::vector<std::string>>>
  stringsAttribute(const Object &object, llvm::StringRef name) const;
  /// A dataset's values as float32, tagged with their element type.
  llvm::Expected<Tensor> readDataset(const Object &dataset,
                                     ValueErrors values) const;

  struct Message {
    unsigned type;
    uint64_t offset; // of the message's data in the file
    uint64_t size;
  };
  struct Layout;

private:
  Hdf5File(llvm::StringRef bytes, std::string path)
      : bytes(bytes), path(std::move(path)) {}

  llvm::Expected<std::vector<Message>> messages(const Object &object) const;
  llvm::Error symbolTableLinks(const Object &group, uint64_t btree,
                               uint64_t heap, std::vector<Object> &out) const;
  llvm::Expected<std::string> globalHeapObject(uint64_t collection,
                                               uint32_t index) const;
  llvm::Expected<std::string> chunkedData(const Object &dataset,
                                          const Layout &layout,
                                          const std::vector<int64_t> &shape,
                                          uint64_t elementSize,
                                          llvm::StringRef filters) const;
  llvm::Error fail(uint64_t offset, const llvm::Twine &msg) const;

  llvm::StringRef bytes;
  std::string path;
  uint64_t base = 0; // absolute offset of address 0
  unsigned offsetSize = 8, lengthSize = 8;
  uint64_t rootAddress = 0;

  friend struct Hdf5Reader;
};

} // namespace heed::rt

#endif
