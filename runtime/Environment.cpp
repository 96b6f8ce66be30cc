//===- Environment.cpp - Heed's environment variables ---------------------===//
//
// Part of Heed.
//
//===----------------------------------------------------------------------===//

#include "runtime/Environment.h"
#include "runtime/Numbers.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

using namespace heed::rt;
using llvm::StringRef;

namespace {
/// The one warning a value that does not parse gets.
void warn(const char *name, StringRef value, StringRef expected,
          const std::string &used) {
  llvm::errs() << "heed: warning: " << name << "='" << value << "' is not "
               << expected << "; using " << used << "\n";
}
} // namespace

std::optional<std::string> env::text(const char *name) {
  const char *value = std::getenv(name);
  if (!value || !*value)
    return std::nullopt;
  return std::string(value);
}

bool env::flag(const char *name, bool otherwise) {
  auto value = text(name);
  if (!value)
    return otherwise;
  std::string lower = StringRef(*value).trim().lower();
  for (const char *off : {"0", "off", "false", "no"})
    if (lower == off)
      return false;
  for (const char *on : {"1", "on", "true", "yes"})
    if (lower == on)
      return true;
  warn(name, *value, "0, 1, off, on, false, true, no or yes",
       otherwise ? "1" : "0");
  return otherwise;
}

int64_t env::integer(const char *name, int64_t min, int64_t max,
                     int64_t otherwise) {
  auto value = text(name);
  if (!value)
    return otherwise;
  int64_t n;
  if (!StringRef(*value).trim().getAsInteger(10, n) && n >= min && n <= max)
    return n;
  warn(name, *value,
       "an integer in [" + std::to_string(min) + ", " + std::to_string(max) +
           "]",
       std::to_string(otherwise));
  return otherwise;
}

double env::number(const char *name, double min, double max, double otherwise) {
  auto value = text(name);
  if (!value)
    return otherwise;
  auto x = parseDouble(*value);
  if (x && std::isfinite(*x) && *x >= min && *x <= max)
    return *x;
  warn(name, *value,
       "a number in [" + formatDouble(min) + ", " + formatDouble(max) + "]",
       formatDouble(otherwise));
  return otherwise;
}

uint64_t env::bytes(const char *name, uint64_t otherwise) {
  auto value = text(name);
  if (!value)
    return otherwise;
  StringRef rest = StringRef(*value).trim();
  // Units, longest first: "KiB" before "KB" before "K".
  uint64_t scale = 1;
  for (auto [unit, shift] :
       {std::pair<char, int>{'K', 10}, {'M', 20}, {'G', 30}, {'T', 40}}) {
    for (std::string suffix :
         {std::string(1, unit) + "iB", std::string(1, unit) + "B",
          std::string(1, unit)})
      if (rest.consume_back_insensitive(suffix)) {
        scale = uint64_t(1) << shift;
        break;
      }
    if (scale != 1)
      break;
  }
  rest = rest.trim();
  uint64_t n;
  if (!rest.getAsInteger(10, n) && n > 0 && n <= UINT64_MAX / scale)
    return n * scale;
  warn(name, *value,
       "a size in bytes (a positive integer, or one with K, M, "
       "G or T)",
       std::to_string(otherwise));
  return otherwise;
}
