//===- ByteOrderMark.h - Text files that start with a BOM -------*- C++ -*-===//
//
// Part of Heed. Windows editors may start a UTF-8 file with a byte order
// mark (EF BB BF). It is no part of the text: model files, text specs
// (text.json) and --text-file lists are read without it. Files in UTF-16
// (Windows PowerShell 5's `>` writes them) start with FF FE or FE FF and
// are an error that says so.
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

/// Why `text` cannot be read as UTF-8 when it starts with a UTF-16 byte
/// order mark ("" otherwise), for an error naming the file.
inline const char *utf16Problem(llvm::StringRef text) {
  if (text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF"))
    return "the file is UTF-16 (it starts with a UTF-16 byte order mark); "
           "Heed reads UTF-8: save it as UTF-8";
  return "";
}

} // namespace heed::rt

#endif
