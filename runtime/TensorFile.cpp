//===- TensorFile.cpp - Load tensors from any supported file --------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/TensorFile.h"
#include "runtime/Npy.h"
#include "runtime/Npz.h"
#include "runtime/Safetensors.h"
#include "runtime/TorchCheckpoint.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace heed::rt;

llvm::Expected<NamedTensors> heed::rt::loadTensorFile(const std::string &path,
                                                      ValueErrors values) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  // torch.save's archives go by several names (.pt, .pth, Hugging Face's
  // pytorch_model.bin, Lightning's .ckpt).
  bool torch = ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".ckpt";
  if (ext != ".npy" && ext != ".npz" && ext != ".safetensors" && !torch)
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        path + ": unknown tensor file type '" + ext.str() +
            "' (expected .npy, .npz, .safetensors, or a PyTorch checkpoint: "
            ".pt, .pth, .bin or .ckpt)");
  auto bytes = readFileBytes(path);
  if (!bytes)
    return bytes.takeError();
  llvm::StringRef data = (*bytes)->getBuffer();
  if (ext == ".npz")
    return parseNpz(data, path, values);
  if (ext == ".safetensors")
    return parseSafetensors(data, path, values);
  if (torch)
    return parseTorchCheckpoint(data, path, values);
  auto t = parseNpy(data, path, values);
  if (!t)
    return t.takeError();
  NamedTensors out;
  out.emplace_back(llvm::sys::path::stem(path).str(), std::move(*t));
  return out;
}
