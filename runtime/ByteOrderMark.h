//===- ByteOrderMark.h - Text files that start with a BOM -------*- C++ -*-===//
//
// Part of Heed. Windows editors may start a UTF-8 file with a byte order
// mark (EF BB BF). It is no part of the text: model files, text specs
// (text.json) and --text-file lists are read without it.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_BYTEORDERMARK_H
#define HEED_RUNTIME_BYTEORDERMARK_H

#include "llvm/ADT/StringRef.h"

namespace heed::rt {

/// `text` without a leading UTF-8 byte order mark.
inline llvm::StringRef withoutByteOrderMark(llvm::StringRef text) {
  text.consume_front("\xEF\xBB\xBF");
  return text;
}

} // namespace heed::rt

#endif
