//===- Hdf5Reader.h - Bounds-checked reads of HDF5 structures ---*- C++ -*-===//
//
// Part of Heed. What Hdf5File.cpp and Hdf5Dataset.cpp share: a cursor over
// a range of the file that reads little-endian fields, file addresses and
// lengths of the file's sizes, and records where it first ran past its
// range (the caller turns that into an error with the offset); and the
// parsers of dataspace and datatype messages.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_HDF5READER_H
#define HEED_RUNTIME_HDF5READER_H

#include "runtime/Hdf5File.h"

namespace heed::rt {

/// The object header message types the reader parses (HDF5 spec, IV.A.2).
enum Hdf5MessageType : unsigned {
  kDataspace = 0x01,
  kLinkInfo = 0x02,
  kDatatype = 0x03,
  kLink = 0x06,
  kLayout = 0x08,
  kFilterPipeline = 0x0B,
  kAttribute = 0x0C,
  kContinuation = 0x10,
  kSymbolTable = 0x11,
  kAttributeInfo = 0x15,
};

struct Hdf5Reader {
  const Hdf5File &file;
  uint64_t pos; // absolute offset in the file
  uint64_t end;
  bool overran = false;
  uint64_t overranAt = 0;

  /// A cursor over [begin, begin + size) of the file, clipped to the file.
  Hdf5Reader(const Hdf5File &file, uint64_t begin, uint64_t size);

  bool has(uint64_t n) const { return !overran && n <= end - pos; }
  uint64_t u(unsigned n);
  uint64_t address() { return u(file.offsetSize); }
  uint64_t length() { return u(file.lengthSize); }
  llvm::StringRef take(uint64_t n);
  void skip(uint64_t n) { take(n); }
  /// True where `address` is the undefined address (all bits set).
  bool undefined(uint64_t address) const;
  /// An error at the first overrun: "... truncated at byte offset N".
  llvm::Error check(const llvm::Twine &what) const;
};

/// A datatype message's element type.
struct Hdf5Type {
  enum Class { Number, FixedString, VariableString } kind = Number;
  ElementType element = ElementType::F32;
  uint64_t size = 0;
  bool bigEndian = false;
  bool nulTerminated = true; // fixed strings: NUL-padded or -terminated
};

/// Parses a datatype (message 3) at the reader; `what` names the object.
llvm::Expected<Hdf5Type> parseHdf5Type(Hdf5Reader &r, const std::string &what,
                                       unsigned depth = 0);
/// Parses a dataspace (message 1): its dims ({} for a scalar).
llvm::Expected<std::vector<int64_t>> parseHdf5Space(Hdf5Reader &r,
                                                    const std::string &what);

} // namespace heed::rt

#endif
