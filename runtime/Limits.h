//===- Limits.h - What Heed accepts, in one table ---------------*- C++ -*-===//
//
// Part of Heed. Every limit on input size lives here, so that the readers,
// the front end and the driver agree and each message can name the limit it
// hit. None of them may be reached by a valid model of a sane size; they
// exist so that a malformed or hostile file gets a clear error instead of
// a crash, a hang or an allocation of petabytes.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_LIMITS_H
#define HEED_RUNTIME_LIMITS_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace heed::limits {

/// Elements of one tensor (16 GiB of f32).
constexpr int64_t kMaxTensorElements = int64_t(1) << 32;
/// One dimension of a tensor, a model parameter used as a size, or a
/// symbolic dimension bound from an input.
constexpr int64_t kMaxDimension = int64_t(1) << 32;
/// Rank of one tensor.
constexpr size_t kMaxRank = 16;
/// Nesting of expressions, calls, brackets and blocks in a model file, and
/// of arrays and objects in a safetensors JSON header (all parsed by
/// recursive descent).
constexpr unsigned kMaxNesting = 200;
/// Width of a beam search: each step picks the width best of width × V
/// candidates in `width` rounds over them.
constexpr int64_t kMaxBeamWidth = 256;
/// Size of a model file.
constexpr uint64_t kMaxModelFileBytes = uint64_t(16) << 20;
/// Size of a safetensors JSON header (the format's own limit is 100 MB).
constexpr uint64_t kMaxSafetensorsHeaderBytes = uint64_t(100) << 20;
/// Members of one .npz archive.
constexpr uint64_t kMaxArchiveMembers = 1 << 16;

/// The cap on the bytes of tensors the runtime allocates: each tensor read
/// from a file (before its data is allocated or inflated), and a run's
/// outputs together (before any is allocated). 16 GiB, or the machine's
/// memory or its container's limit (CgroupLimits.h) where that is less,
/// unless HEED_MAX_MEMORY (bytes, or with a K/M/G/T suffix;
/// runtime/Environment.h) or setMemoryLimit says otherwise. Compiled code's own
/// temporaries are bounded per tensor by kMaxTensorElements (checked by Sema on
/// static shapes).
uint64_t memoryLimit();
/// Where memoryLimit() comes from, for errors: "HEED_MAX_MEMORY", or the
/// machine's memory or the container's limit that lowered the default.
const char *memoryLimitOrigin();
void setMemoryLimit(uint64_t bytes);

/// An error unless a tensor of `shape` is within the element and rank
/// limits and `bytesPerElement` × elements is within memoryLimit();
/// `what` names the tensor ("x.npy: tensor 'a'").
llvm::Error checkTensorSize(const std::vector<int64_t> &shape,
                            uint64_t bytesPerElement, const std::string &what);

/// The byte offset in JSON `text` where arrays/objects first nest deeper
/// than `limit` (strings skipped), if they do: llvm::json parses by
/// recursion, so text nested deeper than any real file would overflow the
/// stack.
std::optional<size_t> jsonNestingBeyond(llvm::StringRef text,
                                        unsigned limit = kMaxNesting);

} // namespace heed::limits

#endif
