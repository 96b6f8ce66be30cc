//===- FileError.h - Errors that name a file or a tensor --------*- C++ -*-===//
//
// Part of Heed. Every reader's errors start with what they are about: the
// file ("w.npz"), or the tensor in it ("w.npz: tensor 'a'").
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_FILEERROR_H
#define HEED_RUNTIME_FILEERROR_H

#include "llvm/ADT/Twine.h"
#include "llvm/Support/Error.h"

#include <string>

namespace heed::rt {

/// "WHAT: MSG".
inline llvm::Error fileError(const std::string &what, const llvm::Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 what + ": " + msg);
}

} // namespace heed::rt

#endif
