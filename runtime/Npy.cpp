//===- Npy.cpp - NumPy .npy tensors ---------------------------------------===//
//
// Part of Heed. Format: "\x93NUMPY", major, minor, header length (u16 for
// v1, u32 for v2/v3), a Python dict literal with 'descr', 'fortran_order'
// and 'shape', padding, then the raw data.
//
//===----------------------------------------------------------------------===//

#include "runtime/Npy.h"
#include "runtime/FileError.h"
#include "runtime/FileOutput.h"
#include "runtime/Limits.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace heed;
using namespace heed::rt;
using llvm::StringRef;

llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
heed::rt::readFileBytes(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fileError(path, "cannot read file: " + buffer.getError().message());
  return std::move(*buffer);
}

float heed::rt::halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16, exp = (h >> 10) & 0x1f,
           mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

float heed::rt::bfloat16ToFloat(uint16_t b) {
  uint32_t bits = uint32_t(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// The value text after `'key':` in the header dict, up to the next
/// top-level comma or closing brace.
static std::optional<StringRef> dictValue(StringRef header, StringRef key) {
  std::string quoted = "'" + key.str() + "'";
  size_t at = header.find(quoted);
  if (at == StringRef::npos)
    return std::nullopt;
  StringRef rest = header.drop_front(at + quoted.size()).ltrim();
  if (!rest.consume_front(":"))
    return std::nullopt;
  rest = rest.ltrim();
  int depth = 0;
  for (size_t i = 0; i < rest.size(); ++i) {
    char c = rest[i];
    if (c == '(' || c == '[')
      ++depth;
    else if (c == ')' || c == ']')
      --depth;
    else if ((c == ',' || c == '}') && depth == 0)
      return rest.take_front(i).trim();
  }
  return std::nullopt;
}

llvm::Expected<Tensor> heed::rt::parseNpy(StringRef bytes,
                                          const std::string &what,
                                          ValueErrors values) {
  if (bytes.size() < 10 || !bytes.starts_with("\x93NUMPY"))
    return fileError(what, "not a .npy file (bad magic at byte offset 0)");
  unsigned major = uint8_t(bytes[6]);
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = uint8_t(bytes[8]) | (size_t(uint8_t(bytes[9])) << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return fileError(what, "truncated header at byte offset 8");
    headerLen = 0;
    for (int i = 0; i < 4; ++i)
      headerLen |= size_t(uint8_t(bytes[8 + i])) << (8 * i);
    headerStart = 12;
  } else {
    return fileError(what, "unsupported .npy version " + llvm::Twine(major));
  }
  if (headerLen > bytes.size() - headerStart)
    return fileError(what,
                     "truncated header: it claims " + llvm::Twine(headerLen) +
                         " bytes at byte offset " + llvm::Twine(headerStart) +
                         ", the file has " + llvm::Twine(bytes.size()));
  StringRef header = bytes.substr(headerStart, headerLen);

  auto descr = dictValue(header, "descr");
  auto order = dictValue(header, "fortran_order");
  auto shapeText = dictValue(header, "shape");
  if (!descr || !order || !shapeText)
    return fileError(what,
                     "malformed header (needs 'descr', 'fortran_order' and "
                     "'shape'): " +
                         header.trim());
  StringRef dtype = descr->trim("'\"");
  std::optional<ElementType> type = elementTypeFromNpy(dtype);
  if (!type)
    return fileError(what, "dtype '" + dtype + "' is not supported (" +
                               supportedNpyTypes() +
                               " are; save with "
                               "x.astype(np.float32))");
  size_t elemSize = elementSize(*type);
  if (*order != "False")
    return fileError(what,
                     "Fortran-ordered arrays are not supported (save with "
                     "np.ascontiguousarray(x))");

  std::vector<int64_t> shape;
  StringRef dims = shapeText->trim();
  if (!dims.consume_front("(") || !dims.consume_back(")"))
    return fileError(what, "malformed shape " + *shapeText);
  while (!dims.trim().empty()) {
    auto [item, rest] = dims.split(',');
    item = item.trim();
    int64_t d;
    if (item.empty() || item.getAsInteger(10, d) || d < 0)
      return fileError(what, "malformed shape " + *shapeText);
    shape.push_back(d);
    dims = rest;
  }
  if (auto err = limits::checkTensorSize(shape, elemSize, what))
    return std::move(err);
  int64_t count = checkedNumElements(shape);
  size_t dataStart = headerStart + headerLen;
  size_t need = size_t(count) * elemSize; // cannot wrap: within the limits
  if (bytes.size() - dataStart < need)
    return fileError(what, "truncated data: shape " + shapeToString(shape) +
                               " needs " + llvm::Twine(need) +
                               " bytes at byte "
                               "offset " +
                               llvm::Twine(dataStart) + ", only " +
                               llvm::Twine(bytes.size() - dataStart) +
                               " present");
  if (bytes.size() - dataStart > need)
    return fileError(
        what, "has " + llvm::Twine(bytes.size() - dataStart - need) +
                  " bytes after the data of shape " + shapeToString(shape) +
                  " (at byte offset " + llvm::Twine(dataStart + need) + ")");
  Tensor t(shape);
  if (auto err = decodeElements(*type, bytes.data() + dataStart, count,
                                t.data(), what, dataStart)) {
    if (values == ValueErrors::Report)
      return std::move(err);
    t.setValueError(llvm::toString(std::move(err)));
  }
  t.setElementType(*type);
  return t;
}

llvm::Expected<Tensor> heed::rt::readNpy(const std::string &path) {
  auto bytes = readFileBytes(path);
  if (!bytes)
    return bytes.takeError();
  return parseNpy((*bytes)->getBuffer(), path);
}

std::string heed::rt::encodeNpy(const Tensor &t) {
  // Integer tensors (integer outputs) as int64, everything else float32.
  bool asInt64 = isInteger(t.elementType());
  std::string dict = std::string("{'descr': '") + (asInt64 ? "<i8" : "<f4") +
                     "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < t.shape().size(); ++i)
    dict += std::to_string(t.shape()[i]) + (t.shape().size() == 1 ? "," : "") +
            (i + 1 < t.shape().size() ? ", " : "");
  dict += "), }";
  // Pad so the data starts at a multiple of 64 bytes, ending in '\n'.
  size_t total = 10 + dict.size() + 1;
  dict.append((64 - total % 64) % 64, ' ');
  dict += '\n';
  std::string out = "\x93NUMPY";
  out += char(1);
  out += char(0);
  out += char(dict.size() & 0xff);
  out += char(dict.size() >> 8);
  out += dict;
  return out + fileBytes(t);
}

llvm::Error heed::rt::writeNpy(const std::string &path, const Tensor &t) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return fileError(path, "cannot write: " + ec.message());
  os << encodeNpy(t);
  return finishWrite(os, path);
}
