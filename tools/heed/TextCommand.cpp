//===- TextCommand.cpp - heed run --text and --text-file
//-------------------===//
//
// Part of Heed. Text in, text out through the model's text.json
// (TextInterface.h): the translations, the exact-match rate of a file of
// expected outputs, and the first text's attention as a heatmap.
//
//===----------------------------------------------------------------------===//

#include "AttentionMap.h"
#include "Commands.h"
#include "TextInterface.h"

#include "runtime/ByteOrderMark.h"
#include "llvm/Support/Format.h"

#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace heed;

int heed::cli::runTextCommand(Session &session) {
  std::string specPath = textSpec;
  if (specPath.empty()) {
    llvm::SmallString<256> p(llvm::sys::path::parent_path(modelPath));
    llvm::sys::path::append(p, "text.json");
    specPath = std::string(p);
  }
  auto spec = TextInterface::load(specPath);
  if (!spec)
    return failWith(spec.takeError());
  std::vector<std::string> lines(texts.begin(), texts.end()), expected;
  if (!textFile.empty()) {
    auto buffer = llvm::MemoryBuffer::getFile(textFile, /*IsText=*/true);
    if (!buffer)
      return failWith(textFile +
                      ": cannot read: " + buffer.getError().message());
    if (*rt::utf16Problem((*buffer)->getBuffer()))
      return failWith(textFile + ": " +
                      rt::utf16Problem((*buffer)->getBuffer()));
    llvm::SmallVector<llvm::StringRef> rows;
    rt::withoutByteOrderMark((*buffer)->getBuffer())
        .split(rows, '\n', -1, /*KeepEmpty=*/true);
    expected.resize(lines.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      auto [text, want] = rows[i].rtrim("\r").split('\t');
      if (text.empty() && want.empty())
        continue; // a blank line
      // Checked here so that an error names the line.
      if (auto symbols = spec->symbols(text.str()); !symbols)
        return failWith(textFile + ":" + std::to_string(i + 1) + ": " +
                        llvm::toString(symbols.takeError()));
      lines.push_back(text.str());
      expected.push_back(want.str());
    }
  }
  if (lines.empty())
    return failWith("no text given");
  const dsl::Model &model = session.model();
  std::vector<std::pair<std::string, std::vector<int64_t>>> rowShapes;
  for (auto &in : model.inputs) {
    std::vector<int64_t> row;
    for (size_t i = 1; i < in.shape.size(); ++i)
      row.push_back(in.shape[i].isKnown() ? in.shape[i].size : 1);
    rowShapes.emplace_back(in.name, row);
  }
  auto encoded = spec->encode(lines, rowShapes);
  if (!encoded)
    return failWith(encoded.takeError());
  auto outputs = session.run(*encoded);
  if (!outputs)
    return failWith(outputs.takeError());
  const rt::Tensor *probs = nullptr, *attention = nullptr;
  for (auto &[n, t] : *outputs) {
    if (n == spec->output)
      probs = &t;
    if (n == spec->attention)
      attention = &t;
  }
  if (!probs || probs->shape().size() != 3)
    return failWith(specPath + ": output '" + spec->output +
                    "' is not a [N, steps, vocabulary] output of the model");
  size_t right = 0, judged = 0;
  std::vector<std::string> wrong;
  for (size_t r = 0; r < lines.size(); ++r) {
    std::string out = spec->decode(*probs, r);
    bool hasExpected = r < expected.size() && !expected[r].empty();
    if (hasExpected) {
      ++judged;
      if (out == expected[r])
        ++right;
      else if (wrong.size() < 10)
        wrong.push_back("  \"" + lines[r] + "\" -> " + out + " (expected " +
                        expected[r] + ")");
    }
    if (!hasExpected) // --text, or a line of --text-file without a tab
      llvm::outs() << lines[r] << " -> " << out << "\n";
  }
  if (judged) {
    llvm::outs() << "exact match: " << right << " / " << judged << " ("
                 << llvm::format("%.1f", 100.0 * right / judged) << "%)\n";
    for (auto &w : wrong)
      llvm::outs() << w << "\n";
  }
  if (attention && !texts.empty()) {
    // The first text's alignment: output symbols x its input symbols.
    auto syms = spec->symbols(lines[0]);
    if (!syms)
      return failWith(syms.takeError());
    int64_t ty = attention->shape()[1], tx = attention->shape()[2];
    AttentionMap map;
    std::vector<std::string> outSymbols = spec->decodeSymbols(*probs, 0);
    for (int64_t t = 0; t < ty; ++t)
      map.rows.push_back(t < int64_t(outSymbols.size()) ? outSymbols[t] : "?");
    std::string out = spec->decode(*probs, 0);
    map.columns = *syms;
    for (int64_t t = 0; t < ty; ++t) {
      float rest = 0;
      for (int64_t c = 0; c < tx; ++c) {
        float w = (*attention)[t * tx + c];
        if (c < int64_t(syms->size()))
          map.weights.push_back(w);
        else
          rest += w;
      }
      map.elsewhere.push_back(rest);
    }
    llvm::outs() << "attention of \"" << lines[0] << "\" (rows: output, "
                 << "columns: input):\n";
    printAttentionMap(llvm::outs(), map);
    if (!attentionMapPath.empty()) {
      if (auto err = writeAttentionSvg(attentionMapPath, map,
                                       "\"" + lines[0] + "\" -> " + out))
        return failWith(std::move(err));
      llvm::outs() << "wrote " << attentionMapPath << "\n";
    }
  } else if (!attentionMapPath.empty()) {
    return failWith("--attention-map needs --text and an 'attention' output "
                    "named in " +
                    specPath);
  }
  return 0;
}
