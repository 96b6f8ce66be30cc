//===- AttentionMap.cpp - Attention alignments as heatmaps ----------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "AttentionMap.h"
#include "runtime/FileOutput.h"

#include "llvm/Support/ConvertUTF.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"

#include <algorithm>
#include <cmath>

using namespace heed;

static std::string shown(const std::string &sym) {
  return sym == " " ? "␣" : sym;
}

void heed::printAttentionMap(llvm::raw_ostream &os, const AttentionMap &map) {
  static const char *shades[] = {" ", "░", "▒", "▓", "█"};
  // One character a column: a symbol of several (`<unk>`) shows as ◇.
  os << "    ";
  for (auto &c : map.columns) {
    std::string s = shown(c);
    bool oneCharacter =
        !s.empty() &&
        llvm::getNumBytesForUTF8(static_cast<llvm::UTF8>(s[0])) == s.size();
    os << (oneCharacter ? s : "◇");
  }
  os << "\n";
  for (size_t r = 0; r < map.rows.size(); ++r) {
    os << "  " << shown(map.rows[r]) << " ";
    for (size_t c = 0; c < map.columns.size(); ++c) {
      float w = std::clamp(map.at(r, c), 0.0f, 1.0f);
      int level = std::clamp(int(std::sqrt(w) * 4.999f), 0, 4);
      os << shades[level];
    }
    // The strongest input of this output step, with its weight.
    size_t best = 0;
    for (size_t c = 1; c < map.columns.size(); ++c)
      if (map.at(r, c) > map.at(r, best))
        best = c;
    if (!map.columns.empty())
      os << "  " << shown(map.columns[best]) << " "
         << llvm::format("%.2f", map.at(r, best));
    if (r < map.elsewhere.size() && map.elsewhere[r] >= 0.05f)
      os << "  (padding " << llvm::format("%.2f", map.elsewhere[r]) << ")";
    os << "\n";
  }
}

static std::string escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

llvm::Error heed::writeAttentionSvg(const std::string &path,
                                    const AttentionMap &map,
                                    const std::string &title) {
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Text);
  if (ec)
    return llvm::createStringError(ec, path + ": cannot write: " + ec.message());
  const int cell = 22, left = 40, top = 70, legend = 30;
  int width = left + int(map.columns.size()) * cell + 20;
  int height = top + int(map.rows.size()) * cell + legend + 30;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width
     << "\" height=\"" << height << "\" font-family=\"monospace\" font-size=\"13\">\n";
  os << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  os << "<text x=\"" << left << "\" y=\"20\" font-size=\"14\">" << escape(title)
     << "</text>\n";
  os << "<text x=\"" << left << "\" y=\"38\" fill=\"#555\">input →</text>\n";
  for (size_t c = 0; c < map.columns.size(); ++c)
    os << "<text x=\"" << left + int(c) * cell + cell / 2 << "\" y=\"" << top - 8
       << "\" text-anchor=\"middle\">" << escape(shown(map.columns[c]))
       << "</text>\n";
  for (size_t r = 0; r < map.rows.size(); ++r) {
    os << "<text x=\"" << left - 8 << "\" y=\"" << top + int(r) * cell + 16
       << "\" text-anchor=\"end\">" << escape(shown(map.rows[r])) << "</text>\n";
    for (size_t c = 0; c < map.columns.size(); ++c) {
      float w = std::clamp(map.at(r, c), 0.0f, 1.0f);
      // White (0) to dark blue (1).
      int red = int(255 - 247 * w), green = int(255 - 207 * w),
          blue = int(255 - 148 * w);
      os << "<rect x=\"" << left + int(c) * cell << "\" y=\""
         << top + int(r) * cell << "\" width=\"" << cell << "\" height=\""
         << cell << "\" fill=\"rgb(" << red << "," << green << "," << blue
         << ")\"><title>" << escape(map.rows[r]) << " ← "
         << escape(map.columns[c]) << ": " << llvm::format("%.3f", map.at(r, c))
         << "</title></rect>\n";
    }
  }
  int y = top + int(map.rows.size()) * cell + 20;
  for (int i = 0; i <= 10; ++i) {
    float w = i / 10.0f;
    os << "<rect x=\"" << left + i * 16 << "\" y=\"" << y
       << "\" width=\"16\" height=\"10\" fill=\"rgb(" << int(255 - 247 * w) << ","
       << int(255 - 207 * w) << "," << int(255 - 148 * w) << ")\"/>\n";
  }
  os << "<text x=\"" << left + 11 * 16 + 6 << "\" y=\"" << y + 10
     << "\">attention weight 0 … 1</text>\n";
  os << "</svg>\n";
  return rt::finishWrite(os, path);
}
