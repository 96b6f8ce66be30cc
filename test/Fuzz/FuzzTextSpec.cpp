//===- FuzzTextSpec.cpp - libFuzzer harness for text.json specs -----------===//
//
// Part of Heed. A text spec (tools/heed/TextInterface) is parsed and, when
// valid, used to encode a few texts; errors are fine, crashes are not.
//
//===----------------------------------------------------------------------===//

#include "TextInterface.h"

#include <cstdint>

using namespace heed;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  auto spec = TextInterface::parse(
      llvm::StringRef(reinterpret_cast<const char *>(data), size), "fuzz.json");
  if (!spec) {
    llvm::consumeError(spec.takeError());
    return 0;
  }
  for (const char *text : {"3 May 1979", "", "a", "\x01\xff", "3 M\xc3\xa4y",
                           "\xc3", "\xe2\x90"}) {
    auto symbols = spec->symbols(text);
    if (!symbols)
      llvm::consumeError(symbols.takeError());
  }
  return 0;
}
