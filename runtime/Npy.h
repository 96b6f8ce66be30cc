//===- Npy.h - NumPy .npy tensors -------------------------------*- C++ -*-===//
//
// Part of Heed. Reads and writes NumPy's .npy format (versions 1-3).
// Every error names the file (and tensor), what was expected and where.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_NPY_H
#define HEED_RUNTIME_NPY_H

#include "runtime/Tensor.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

namespace heed::rt {

/// Parses an in-memory .npy; `what` names it in errors ("x.npy",
/// "w.npz: tensor 'dense.weight'"). float32 is read as is; float16 is
/// converted; any other dtype is an error.
llvm::Expected<Tensor> parseNpy(llvm::StringRef bytes, const std::string &what,
                                ValueErrors values = ValueErrors::Report);
llvm::Expected<Tensor> readNpy(const std::string &path);

/// The .npy (version 1.0, little-endian float32) encoding of `t`.
std::string encodeNpy(const Tensor &t);
llvm::Error writeNpy(const std::string &path, const Tensor &t);

/// IEEE half and bfloat16 to float.
float halfToFloat(uint16_t h);
float bfloat16ToFloat(uint16_t b);

/// Reads a whole file, or says why not.
llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
readFileBytes(const std::string &path);

} // namespace heed::rt

#endif
