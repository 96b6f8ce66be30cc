//===- Numbers.h - Numbers in text, whatever the locale ---------*- C++ -*-===//
//
// Part of Heed. strtod, StringRef::getAsDouble and printf's %g follow the
// C locale of the process: a program that embeds Heed and calls
// setlocale(LC_ALL, "") under a German locale made strtod read the model's
// "0.5" as 0 (the decimal point there is a comma). Numbers of model files,
// --param values and environment variables are read here instead, by
// strtod_l in the "C" locale, and written by std::to_chars (messages too:
// formatGeneral is %g without the locale); no locale changes either.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_NUMBERS_H
#define HEED_RUNTIME_NUMBERS_H

#include "llvm/ADT/StringRef.h"

#include <charconv>
#include <cstdlib>
#include <locale.h>
#include <optional>
#include <string>

namespace heed::rt {

/// `text` as strtod reads it in the "C" locale (surrounding spaces aside;
/// "inf", "nan" and hex floats included, a value past the range as
/// infinity or zero); none unless all of it is one number.
inline std::optional<double> parseDouble(llvm::StringRef text) {
  static const locale_t cLocale = newlocale(LC_ALL_MASK, "C", locale_t(0));
  std::string s = text.trim().str();
  if (s.empty() || !cLocale)
    return std::nullopt;
  char *end = nullptr;
  double value = strtod_l(s.c_str(), &end, cLocale);
  if (end != s.c_str() + s.size())
    return std::nullopt;
  return value;
}

/// `value` in the shortest text that reads back as it ("0.1", "1e+300").
inline std::string formatDouble(double value) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof(text), value);
  return error == std::errc() ? std::string(text, end) : std::string("?");
}

/// `value` as printf's %g writes it in the "C" locale (six significant
/// digits: "0.5", "1e-05", "1.23457e+06"), for messages.
inline std::string formatGeneral(double value) {
  char text[32];
  auto [end, error] = std::to_chars(text, text + sizeof(text), value,
                                    std::chars_format::general, 6);
  return error == std::errc() ? std::string(text, end) : std::string("?");
}

} // namespace heed::rt

#endif
