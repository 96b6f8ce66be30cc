//===- TextInterface.h - Text in, text out for sequence models --*- C++ -*-===//
//
// Part of Heed. A model directory may hold `text.json`, which says how text
// becomes the model's one-hot input (vocabulary, fixed length, padding,
// lowercasing, dropped characters), which other inputs start as zeros, and
// how the output distribution decodes back to text. `heed run --text`
// uses it, so users type dates, not tensors. See docs/text.md.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_TOOLS_HEED_TEXTINTERFACE_H
#define HEED_TOOLS_HEED_TEXTINTERFACE_H

#include "runtime/TensorFile.h"

#include "llvm/Support/Error.h"

#include <string>
#include <vector>

namespace heed {

struct TextInterface {
  std::string path;
  std::string input, output, attention;
  std::vector<std::string> inputVocabulary, outputVocabulary;
  int64_t length = 0;
  std::string pad;
  bool lowercase = false;
  std::string drop;    ///< characters removed before encoding
  std::string unknown; ///< the symbol for characters outside the
                       ///< vocabulary; empty: they are an error
  std::vector<std::string> zeroInputs;

  static llvm::Expected<TextInterface> load(const std::string &path);
  /// The spec in `text` (read from `path`, which errors name).
  static llvm::Expected<TextInterface> parse(llvm::StringRef text,
                                             const std::string &path);

  /// The symbols of `text` (one a UTF-8 character) after lowercasing
  /// (ASCII letters) and dropping, or an error naming the first character
  /// outside the vocabulary (unless `unknown` stands for such characters)
  /// or the first byte that is not UTF-8.
  llvm::Expected<std::vector<std::string>> symbols(const std::string &text) const;
  /// One-hot [N, length, |V|] for the texts, plus zero tensors for the
  /// `zero_inputs` with their per-row shapes from `rowShapes`.
  llvm::Expected<rt::NamedTensors>
  encode(const std::vector<std::string> &texts,
         const std::vector<std::pair<std::string, std::vector<int64_t>>>
             &rowShapes) const;
  /// The output symbols of row `row` of a [N, Ty, |V|] output, one a step
  /// (the argmax over the last axis).
  std::vector<std::string> decodeSymbols(const rt::Tensor &probabilities,
                                         int64_t row) const;
  /// The same symbols joined into one text.
  std::string decode(const rt::Tensor &probabilities, int64_t row) const;
};

} // namespace heed

#endif
