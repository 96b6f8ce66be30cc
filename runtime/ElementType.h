//===- ElementType.h - Element types of tensor files ------------*- C++ -*-===//
//
// Part of Heed. Heed computes in float32; tensor files may hold float16,
// bfloat16, float64 (NumPy's default; weights only, rounded as PyTorch's
// load_state_dict does), integers or booleans (token ids, lengths and masks
// as NumPy and PyTorch write them). This is the one table of those types:
// their sizes and names in .npy, .safetensors and PyTorch checkpoints, and
// how each becomes float32 when read (integers exactly, float64 rounded;
// a value float32 cannot hold is an error) and is written back.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_ELEMENTTYPE_H
#define HEED_RUNTIME_ELEMENTTYPE_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>

namespace heed::rt {

enum class ElementType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

/// Integers float32 holds exactly: [-2^24, 2^24].
constexpr int64_t kMaxExactInteger = int64_t(1) << 24;

size_t elementSize(ElementType type);
bool isInteger(ElementType type); // integers and bool
/// "float32", "int64", "bool", ... (NumPy's names).
const char *elementTypeName(ElementType type);
/// From a .npy 'descr' ("<i8", "|b1", ...) or a safetensors dtype ("I64").
std::optional<ElementType> elementTypeFromNpy(llvm::StringRef descr);
std::optional<ElementType> elementTypeFromSafetensors(llvm::StringRef dtype);
/// From the storage class a torch.save pickle names ("FloatStorage").
std::optional<ElementType> elementTypeFromTorchStorage(llvm::StringRef storage);
/// The names a reader accepts, for its error messages.
const char *supportedNpyTypes();
const char *supportedSafetensorsTypes();

/// Decodes `count` little-endian elements of `type` at `src` into `out`.
/// An integer that float32 cannot hold exactly, or a finite float64 beyond
/// float32's range, is an error naming `what`, the element's index and
/// value and its byte offset (`offset` is that of element 0).
llvm::Error decodeElements(ElementType type, const char *src, int64_t count,
                           float *out, const std::string &what,
                           uint64_t offset);

/// Integer values computed in float32, as int64 (they are exact integers;
/// anything else is rounded to the nearest).
int64_t floatToInt64(float v);

} // namespace heed::rt

#endif
