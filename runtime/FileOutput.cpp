//===- FileOutput.cpp - Write errors as errors, not aborts ----------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/FileOutput.h"

llvm::Error heed::rt::finishWrite(llvm::raw_fd_ostream &os,
                                  const std::string &path) {
  os.flush();
  if (!os.has_error())
    return llvm::Error::success();
  std::error_code ec = os.error();
  os.clear_error();
  return llvm::createStringError(ec, path + ": cannot write: " + ec.message());
}
