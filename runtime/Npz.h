//===- Npz.h - NumPy .npz archives ------------------------------*- C++ -*-===//
//
// Part of Heed. A .npz is a zip of .npy members, stored or deflated
// (np.savez / np.savez_compressed), with zip64 records for large members.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_NPZ_H
#define HEED_RUNTIME_NPZ_H

#include "runtime/TensorFile.h"

namespace heed::rt {

llvm::Expected<NamedTensors> parseNpz(llvm::StringRef bytes,
                                      const std::string &path,
                                      ValueErrors values = ValueErrors::Report);
/// Writes stored (uncompressed) members named "<name>.npy".
llvm::Error writeNpz(const std::string &path, const NamedTensors &tensors);

} // namespace heed::rt

#endif
