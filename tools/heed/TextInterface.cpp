//===- TextInterface.cpp - Text in, text out for sequence models ----------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "TextInterface.h"
#include "runtime/ByteOrderMark.h"
#include "runtime/Limits.h"

#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"

#include <algorithm>
#include <cctype>

using namespace heed;
using llvm::Twine;

static llvm::Error fail(const Twine &msg) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), msg);
}

llvm::Expected<TextInterface> TextInterface::load(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return fail(path + ": cannot read: " + buffer.getError().message());
  if (*rt::utf16Problem((*buffer)->getBuffer()))
    return fail(path + ": " + rt::utf16Problem((*buffer)->getBuffer()));
  return parse(rt::withoutByteOrderMark((*buffer)->getBuffer()), path);
}

llvm::Expected<TextInterface> TextInterface::parse(llvm::StringRef text,
                                                   const std::string &path) {
  // A spec is one object of flat lists.
  if (auto at = limits::jsonNestingBeyond(text, 16))
    return fail(path + ": nests lists/objects more than 16 deep (at byte "
                "offset " + Twine(*at) + "); a text spec is one object of "
                "flat lists");
  auto json = llvm::json::parse(text);
  if (!json)
    return fail(path + ": not valid JSON: " + llvm::toString(json.takeError()));
  TextInterface t;
  t.path = path;
  llvm::json::Path::Root root(path);
  llvm::json::ObjectMapper map(*json, root);
  int64_t length = 0;
  if (!map || !map.map("input", t.input) || !map.map("output", t.output) ||
      !map.map("input_vocabulary", t.inputVocabulary) ||
      !map.map("output_vocabulary", t.outputVocabulary) ||
      !map.map("length", length) || !map.mapOptional("pad", t.pad) ||
      !map.mapOptional("lowercase", t.lowercase) ||
      !map.mapOptional("drop", t.drop) ||
      !map.mapOptional("unknown", t.unknown) ||
      !map.mapOptional("zero_inputs", t.zeroInputs) ||
      !map.mapOptional("attention", t.attention)) {
    std::string msg;
    llvm::raw_string_ostream os(msg);
    root.printErrorContext(*json, os);
    return fail(path + ": " + llvm::toString(root.getError()));
  }
  t.length = length;
  if (t.length <= 0 || t.inputVocabulary.empty() || t.outputVocabulary.empty())
    return fail(path + ": 'length' must be positive and both vocabularies "
                       "non-empty");
  // A symbol listed twice would make encoding and decoding disagree.
  for (auto *vocabulary : {&t.inputVocabulary, &t.outputVocabulary})
    for (size_t i = 0; i < vocabulary->size(); ++i)
      for (size_t j = 0; j < i; ++j)
        if ((*vocabulary)[i] == (*vocabulary)[j])
          return fail(path + ": symbol '" + (*vocabulary)[i] + "' appears "
                      "twice in " +
                      (vocabulary == &t.inputVocabulary ? "input_vocabulary"
                                                        : "output_vocabulary") +
                      " (at " + Twine(j) + " and " + Twine(i) + ")");
  if (!t.pad.empty() &&
      std::find(t.inputVocabulary.begin(), t.inputVocabulary.end(), t.pad) ==
          t.inputVocabulary.end())
    return fail(path + ": the pad symbol '" + t.pad +
                "' is not in the input vocabulary");
  if (!t.unknown.empty() &&
      std::find(t.inputVocabulary.begin(), t.inputVocabulary.end(),
                t.unknown) == t.inputVocabulary.end())
    return fail(path + ": the unknown symbol '" + t.unknown +
                "' is not in the input vocabulary");
  return t;
}

/// The bytes of the UTF-8 character at `text[i]`, 0 where none starts there.
static size_t utf8Length(llvm::StringRef text, size_t i) {
  auto *first = reinterpret_cast<const llvm::UTF8 *>(text.data() + i);
  size_t n = llvm::getNumBytesForUTF8(*first);
  if (i + n > text.size() || !llvm::isLegalUTF8Sequence(first, first + n))
    return 0;
  return n;
}

llvm::Expected<std::vector<std::string>>
TextInterface::symbols(const std::string &text) const {
  std::vector<std::string> out;
  size_t position = 0; // in characters, from 1 in errors
  for (size_t i = 0, n; i < text.size(); i += n) {
    ++position;
    n = utf8Length(text, i);
    if (!n)
      return fail("text \"" + text + "\": byte " +
                  Twine(unsigned(static_cast<unsigned char>(text[i]))) +
                  " at byte offset " + Twine(i) + " is not UTF-8");
    std::string sym = text.substr(i, n);
    if (lowercase && n == 1)
      sym[0] = char(std::tolower(static_cast<unsigned char>(sym[0])));
    if (llvm::StringRef(drop).contains(sym))
      continue;
    if (std::find(inputVocabulary.begin(), inputVocabulary.end(), sym) ==
        inputVocabulary.end()) {
      if (!unknown.empty()) {
        out.push_back(unknown);
        continue;
      }
      unsigned char c = sym[0];
      std::string shown = n == 1 && (c < 0x20 || c == 0x7f)
                              ? "byte " + std::to_string(unsigned(c))
                              : "'" + sym + "'";
      return fail("text \"" + text + "\": " + shown + " at position " +
                  Twine(position) + " is not in the input vocabulary of '" +
                  input + "' (" + path + ")");
    }
    out.push_back(sym);
  }
  if (out.empty())
    return fail("text \"" + text + "\" has no symbols to translate" +
                (text.empty() ? "" : " (every character is dropped)"));
  if (int64_t(out.size()) > length)
    return fail("text \"" + text + "\" has " + Twine(out.size()) +
                " symbols; the model reads at most " + Twine(length));
  return out;
}

llvm::Expected<rt::NamedTensors> TextInterface::encode(
    const std::vector<std::string> &texts,
    const std::vector<std::pair<std::string, std::vector<int64_t>>> &rowShapes)
    const {
  int64_t n = texts.size(), v = inputVocabulary.size();
  rt::Tensor x({n, length, v});
  std::fill(x.data(), x.data() + x.numElements(), 0.0f);
  auto index = [&](const std::string &sym) {
    return std::find(inputVocabulary.begin(), inputVocabulary.end(), sym) -
           inputVocabulary.begin();
  };
  for (int64_t r = 0; r < n; ++r) {
    auto syms = symbols(texts[r]);
    if (!syms)
      return syms.takeError();
    for (int64_t t = 0; t < length; ++t) {
      if (t >= int64_t(syms->size()) && pad.empty())
        break;
      const std::string &sym = t < int64_t(syms->size()) ? (*syms)[t] : pad;
      x[(r * length + t) * v + index(sym)] = 1.0f;
    }
  }
  rt::NamedTensors out;
  out.emplace_back(input, std::move(x));
  for (const std::string &name : zeroInputs) {
    auto it = std::find_if(rowShapes.begin(), rowShapes.end(),
                           [&](auto &p) { return p.first == name; });
    if (it == rowShapes.end())
      return fail(path + ": zero input '" + name + "' is not an input of the "
                                                   "model");
    std::vector<int64_t> shape = {n};
    shape.insert(shape.end(), it->second.begin(), it->second.end());
    rt::Tensor z(shape);
    std::fill(z.data(), z.data() + z.numElements(), 0.0f);
    out.emplace_back(name, std::move(z));
  }
  return out;
}

std::vector<std::string> TextInterface::decodeSymbols(const rt::Tensor &p,
                                                      int64_t row) const {
  const auto &shape = p.shape();
  int64_t steps = shape[1], v = shape[2];
  std::vector<std::string> out;
  for (int64_t t = 0; t < steps; ++t) {
    const float *q = p.data() + (row * steps + t) * v;
    int64_t best = std::max_element(q, q + v) - q;
    out.push_back(
        best < int64_t(outputVocabulary.size()) ? outputVocabulary[best] : "?");
  }
  return out;
}

std::string TextInterface::decode(const rt::Tensor &p, int64_t row) const {
  std::string out;
  for (const std::string &sym : decodeSymbols(p, row))
    out += sym;
  return out;
}
