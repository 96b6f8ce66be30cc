//===- TfCheckpoint.h - TensorFlow 2 checkpoints ----------------*- C++ -*-===//
//
// Part of Heed. `tf.train.Checkpoint(...).save(PREFIX)` and a subclassed
// Keras model's `save_weights(PREFIX)` write a tensor bundle:
// PREFIX.index, a table (LevelDB's format, uncompressed) from each
// variable's object path to where its bytes are, and
// PREFIX.data-00000-of-0000N, the bytes. A variable's key is the path of
// attributes to it (`model/encoder/gru/cell/kernel/.ATTRIBUTES/
// VARIABLE_VALUE`); its weight is named by that path with '.' for '/', less
// the scopes of Keras' wrappers (an RNN's `cell`, a TimeDistributed's
// `layer`; a Bidirectional's `forward_layer` is `forward`; Keras 3's
// `_kernel` and `_embeddings` are `kernel` and `embeddings`), as the Keras
// readers name weights: `model.encoder.gru.kernel`. The optimizer's
// variables and slots, the save counter and the object graph are not read.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_TFCHECKPOINT_H
#define HEED_RUNTIME_TFCHECKPOINT_H

#include "runtime/TensorFile.h"

namespace heed::rt {

/// The weights of the checkpoint whose index file is `indexPath`
/// (PREFIX.index; the data files are found beside it).
llvm::Expected<NamedTensors> loadTfCheckpoint(const std::string &indexPath,
                                              ValueErrors values);

/// The weights of the latest checkpoint of a directory that TensorFlow's
/// CheckpointManager or `Checkpoint.save` wrote: its text file
/// `checkpoint` names it (`model_checkpoint_path: "ckpt-5"`), as
/// tf.train.latest_checkpoint reads it. A SavedModel directory, or one
/// without that file, is an error saying so.
llvm::Expected<NamedTensors> loadTfCheckpointDirectory(const std::string &dir,
                                                       ValueErrors values);

/// The weights of a bundle given its index's bytes and a function that
/// reads data shard `shard` of `shards` (for tests and fuzzing).
llvm::Expected<NamedTensors> parseTfCheckpoint(
    llvm::StringRef index, const std::string &path,
    llvm::function_ref<llvm::Expected<llvm::StringRef>(unsigned shard,
                                                       unsigned shards)>
        readShard,
    ValueErrors values);

/// CRC-32C (Castagnoli) of `data`, continuing `crc`.
uint32_t crc32c(llvm::StringRef data, uint32_t crc = 0);

/// The weight name of a checkpoint key; nullopt for what is not a model's
/// variable (optimizer slots and state, the save counter, the object
/// graph, attributes other than a variable's value).
std::optional<std::string> tfWeightName(llvm::StringRef key);

} // namespace heed::rt

#endif
