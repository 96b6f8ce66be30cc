//===- FileOutput.h - Write errors as errors, not aborts --------*- C++ -*-===//
//
// Part of Heed. An llvm::raw_fd_ostream that failed to write (a full disk,
// a closed pipe) stops the process from its destructor ("LLVM ERROR: IO
// failure on output stream"). Every file Heed writes ends with
// finishWrite, which reports the failure with the file's name instead.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_FILEOUTPUT_H
#define HEED_RUNTIME_FILEOUTPUT_H

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace heed::rt {

/// Flushes `os`, which writes `path`; a write error becomes "PATH: cannot
/// write: REASON" and is cleared from the stream.
llvm::Error finishWrite(llvm::raw_fd_ostream &os, const std::string &path);

} // namespace heed::rt

#endif
