//===- ElementType.cpp - Element types of tensor files --------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/ElementType.h"

#include "runtime/Npy.h"
#include "runtime/Numbers.h"

#include <cfloat>
#include <climits>
#include <cmath>
#include <cstring>

using namespace heed::rt;

namespace {
struct Info {
  ElementType type;
  size_t size;
  const char *npy; // without the byte-order character
  const char *safetensors;
  const char *name;
  const char *torchStorage; // the storage class torch.save pickles
};
constexpr Info kTypes[] = {
    {ElementType::F32, 4, "f4", "F32", "float32", "FloatStorage"},
    {ElementType::F16, 2, "f2", "F16", "float16", "HalfStorage"},
    {ElementType::BF16, 2, nullptr, "BF16", "bfloat16", "BFloat16Storage"},
    {ElementType::F64, 8, "f8", "F64", "float64", "DoubleStorage"},
    {ElementType::I64, 8, "i8", "I64", "int64", "LongStorage"},
    {ElementType::I32, 4, "i4", "I32", "int32", "IntStorage"},
    {ElementType::I16, 2, "i2", "I16", "int16", "ShortStorage"},
    {ElementType::I8, 1, "i1", "I8", "int8", "CharStorage"},
    {ElementType::U8, 1, "u1", "U8", "uint8", "ByteStorage"},
    {ElementType::Bool, 1, "b1", "BOOL", "bool", "BoolStorage"},
};
const Info &info(ElementType type) { return kTypes[int(type)]; }
} // namespace

size_t heed::rt::elementSize(ElementType type) { return info(type).size; }
bool heed::rt::isInteger(ElementType type) {
  return type != ElementType::F32 && type != ElementType::F16 &&
         type != ElementType::BF16 && type != ElementType::F64;
}
const char *heed::rt::elementTypeName(ElementType type) {
  return info(type).name;
}

std::optional<ElementType> heed::rt::elementTypeFromNpy(llvm::StringRef descr) {
  // Little-endian ('<'), native ('=', little on every machine Heed runs
  // on) or not applicable ('|', one-byte types).
  if (descr.size() != 3 ||
      (descr[0] != '<' && descr[0] != '=' && descr[0] != '|'))
    return std::nullopt;
  for (const Info &i : kTypes)
    if (i.npy && descr.substr(1) == i.npy)
      return i.type;
  return std::nullopt;
}

std::optional<ElementType>
heed::rt::elementTypeFromSafetensors(llvm::StringRef dtype) {
  for (const Info &i : kTypes)
    if (dtype == i.safetensors)
      return i.type;
  return std::nullopt;
}

std::optional<ElementType>
heed::rt::elementTypeFromTorchStorage(llvm::StringRef storage) {
  for (const Info &i : kTypes)
    if (storage == i.torchStorage)
      return i.type;
  return std::nullopt;
}

const char *heed::rt::supportedNpyTypes() {
  return "float32, float16, float64, int64, int32, int16, int8, uint8 and "
         "bool, little-endian";
}
const char *heed::rt::supportedSafetensorsTypes() {
  return "F32, F16, BF16, F64, I64, I32, I16, I8, U8 and BOOL";
}

template <typename T>
static llvm::Error decodeIntegers(const char *src, int64_t count, float *out,
                                  const std::string &what, uint64_t offset) {
  for (int64_t i = 0; i < count; ++i) {
    T v;
    std::memcpy(&v, src + i * sizeof(T), sizeof(T));
    if (int64_t(v) > kMaxExactInteger || int64_t(v) < -kMaxExactInteger)
      return llvm::createStringError(
          what + ": element " + std::to_string(i) + " (byte offset " +
          std::to_string(offset + uint64_t(i) * sizeof(T)) + ") is " +
          std::to_string(int64_t(v)) +
          ", outside the integers Heed computes "
          "with exactly in float32, [-2^24, 2^24] = [-16777216, 16777216]");
    out[i] = float(v);
  }
  return llvm::Error::success();
}

llvm::Error heed::rt::decodeElements(ElementType type, const char *src,
                                     int64_t count, float *out,
                                     const std::string &what, uint64_t offset) {
  switch (type) {
  case ElementType::F32:
    std::memcpy(out, src, size_t(count) * 4);
    return llvm::Error::success();
  case ElementType::F16:
  case ElementType::BF16:
    for (int64_t i = 0; i < count; ++i) {
      uint16_t h;
      std::memcpy(&h, src + 2 * i, 2);
      out[i] = type == ElementType::BF16 ? bfloat16ToFloat(h) : halfToFloat(h);
    }
    return llvm::Error::success();
  case ElementType::F64:
    for (int64_t i = 0; i < count; ++i) {
      double v;
      std::memcpy(&v, src + 8 * i, 8);
      // Rounded to the nearest float32; NaN and infinities stay.
      if (std::isfinite(v) && std::fabs(v) > double(FLT_MAX))
        return llvm::createStringError(
            what + ": element " + std::to_string(i) + " (byte offset " +
            std::to_string(offset + uint64_t(i) * 8) + ") is " +
            formatGeneral(v) +
            ", beyond float32's range (Heed computes in float32; its largest "
            "value is 3.4028235e+38)");
      out[i] = float(v);
    }
    return llvm::Error::success();
  case ElementType::I64:
    return decodeIntegers<int64_t>(src, count, out, what, offset);
  case ElementType::I32:
    return decodeIntegers<int32_t>(src, count, out, what, offset);
  case ElementType::I16:
    return decodeIntegers<int16_t>(src, count, out, what, offset);
  case ElementType::I8:
    return decodeIntegers<int8_t>(src, count, out, what, offset);
  case ElementType::U8:
    return decodeIntegers<uint8_t>(src, count, out, what, offset);
  case ElementType::Bool:
    for (int64_t i = 0; i < count; ++i)
      out[i] = src[i] ? 1.0f : 0.0f;
    return llvm::Error::success();
  }
  return llvm::Error::success();
}

int64_t heed::rt::floatToInt64(float v) {
  if (std::isnan(v))
    return 0;
  if (std::fabs(v) >= 9.2e18f) // past int64: only from a broken model
    return v > 0 ? INT64_MAX : INT64_MIN;
  return int64_t(std::llround(double(v)));
}
