//===- ModelLibrary.h - Ahead-of-time model libraries -----------*- C++ -*-===//
//
// Part of Heed. `heed compile MODEL --emit=obj|shared -o OUT` compiles a
// model for fixed dims into an object file or a shared library with a
// generated C header (GlueSource.h). The library needs libheed_runtime at
// run time and nothing of LLVM or MLIR. The C compiler (`cc`, or $HEED_CC)
// compiles the glue and links the result.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_COMPILER_AOT_MODELLIBRARY_H
#define HEED_COMPILER_AOT_MODELLIBRARY_H

#include "compiler/Driver/Session.h"

namespace heed::aot {

enum class LibraryKind { Object, Shared };

struct LibraryOptions {
  LibraryKind kind = LibraryKind::Shared;
  std::string outputPath;
  /// Where the header goes; empty: MODEL.h beside the output.
  std::string headerPath;
  /// The model file or name, for the generated comments.
  std::string origin;
};

/// Compiles `session`'s model for `dims` (every symbolic dim bound) into a
/// library; returns the header's path.
llvm::Expected<std::string>
emitModelLibrary(Session &session, const llvm::StringMap<int64_t> &dims,
                 const LibraryOptions &options);

} // namespace heed::aot

#endif
