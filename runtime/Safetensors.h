//===- Safetensors.h - Hugging Face .safetensors files ----------*- C++ -*-===//
//
// Part of Heed. u64 header length, a JSON header mapping names to dtype,
// shape and data_offsets, then the data. F32 is read as is; F16 and BF16
// are converted to f32; other dtypes are errors.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_SAFETENSORS_H
#define HEED_RUNTIME_SAFETENSORS_H

#include "runtime/TensorFile.h"

namespace heed::rt {

llvm::Expected<NamedTensors>
parseSafetensors(llvm::StringRef bytes, const std::string &path,
                 ValueErrors values = ValueErrors::Report);
llvm::Error writeSafetensors(const std::string &path,
                             const NamedTensors &tensors);

} // namespace heed::rt

#endif
