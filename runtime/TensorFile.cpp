//===- TensorFile.cpp - Load tensors from any supported file --------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/TensorFile.h"
#include "runtime/Hdf5Weights.h"
#include "runtime/KerasArchive.h"
#include "runtime/Npy.h"
#include "runtime/Npz.h"
#include "runtime/Safetensors.h"
#include "runtime/ShardIndex.h"
#include "runtime/TfCheckpoint.h"
#include "runtime/TorchCheckpoint.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace heed::rt;

/// torch.save's archives go by several names (.pt, .pth, Hugging Face's
/// pytorch_model.bin, Lightning's .ckpt).
static bool isTorchCheckpoint(llvm::StringRef ext) {
  return ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".ckpt";
}

/// Keras' HDF5 files (model.save_weights, model.save, ModelCheckpoint).
static bool isHdf5(llvm::StringRef ext) {
  return ext == ".h5" || ext == ".hdf5";
}

llvm::Expected<LayerRecord> heed::rt::loadLayerRecord(const std::string &path) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  bool torch = isTorchCheckpoint(ext), hdf5 = isHdf5(ext),
       archive = ext == ".keras";
  if (!torch && !hdf5 && !archive)
    return LayerRecord();
  auto bytes = readFileBytes(path);
  if (!bytes) {
    llvm::consumeError(bytes.takeError());
    return LayerRecord();
  }
  llvm::StringRef data = (*bytes)->getBuffer();
  LayerRecord record;
  auto json = archive ? parseKerasArchiveConfig(data, path)
              : hdf5  ? parseHdf5ModelConfig(data, path)
                      : parseTorchModules(data, path);
  if (!json)
    return json.takeError();
  record.kind =
      torch ? LayerRecord::Kind::TorchModules : LayerRecord::Kind::KerasConfig;
  record.json = std::move(*json);
  return std::move(record);
}

llvm::Expected<NamedTensors> heed::rt::loadTensorFile(const std::string &path,
                                                      ValueErrors values) {
  llvm::StringRef ext = llvm::sys::path::extension(path);
  // Hugging Face's sharded checkpoints: an index naming each weight's shard.
  if (llvm::StringRef(path).ends_with(".index.json"))
    return loadShardIndex(path, values);
  // TensorFlow's checkpoints: PREFIX.index beside PREFIX.data-*, given by
  // the index or by the prefix (as TensorFlow names them).
  if (ext == ".index")
    return loadTfCheckpoint(path, values);
  if (!llvm::sys::fs::exists(path) && llvm::sys::fs::exists(path + ".index"))
    return loadTfCheckpoint(path + ".index", values);
  if (llvm::sys::fs::is_directory(path))
    return loadTfCheckpointDirectory(path, values);
  bool torch = isTorchCheckpoint(ext), hdf5 = isHdf5(ext);
  if (ext != ".npy" && ext != ".npz" && ext != ".safetensors" && !torch &&
      !hdf5 && ext != ".keras")
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        path + ": unknown tensor file type '" + ext.str() +
            "' (expected .npy, .npz, .safetensors, Keras' .h5, .hdf5 or "
            ".keras, a sharded checkpoint's .index.json, a TensorFlow "
            "checkpoint's .index, or a PyTorch checkpoint: .pt, .pth, .bin "
            "or .ckpt)");
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
  if (hdf5)
    return parseHdf5Weights(data, path, values);
  if (ext == ".keras")
    return parseKerasArchive(data, path, values);
  auto t = parseNpy(data, path, values);
  if (!t)
    return t.takeError();
  NamedTensors out;
  out.emplace_back(llvm::sys::path::stem(path).str(), std::move(*t));
  return out;
}
