//===- ShardIndex.h - Sharded checkpoints' index files ----------*- C++ -*-===//
//
// Part of Heed. Hugging Face saves a large model in shards
// (`model-00001-of-00002.safetensors`, `pytorch_model-00001-of-00002.bin`)
// beside an index, `model.safetensors.index.json` or
// `pytorch_model.bin.index.json`: {"metadata": {...}, "weight_map":
// {"NAME": "SHARD FILE", ...}}. Given the index, every shard it names is
// read (paths relative to the index's directory) and each weight taken
// from the shard the map gives.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_SHARDINDEX_H
#define HEED_RUNTIME_SHARDINDEX_H

#include "runtime/TensorFile.h"

namespace heed::rt {

llvm::Expected<NamedTensors> loadShardIndex(const std::string &path,
                                            ValueErrors values);

} // namespace heed::rt

#endif
