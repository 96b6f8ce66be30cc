//===- Environment.h - Heed's environment variables -------------*- C++ -*-===//
//
// Part of Heed. Every HEED_* variable is read through these functions, so
// that each accepts the same spellings and a value that does not parse is
// a warning on standard error naming the variable and the value used
// instead, never silently the default. docs/embedding.md lists the
// variables.
//
//===----------------------------------------------------------------------===//

#ifndef HEED_RUNTIME_ENVIRONMENT_H
#define HEED_RUNTIME_ENVIRONMENT_H

#include <cstdint>
#include <optional>
#include <string>

namespace heed::rt::env {

/// The variable's text; nullopt when unset or empty.
std::optional<std::string> text(const char *name);

/// An on/off switch: 0, off, false, no (any case) are off; 1, on, true,
/// yes are on; unset or empty: `otherwise`.
bool flag(const char *name, bool otherwise);

/// An integer in [min, max]; unset or empty: `otherwise`.
int64_t integer(const char *name, int64_t min, int64_t max, int64_t otherwise);

/// A number in [min, max] (decimals allowed); unset or empty: `otherwise`.
double number(const char *name, double min, double max, double otherwise);

/// A size in bytes: a positive integer, optionally followed by K, M or G
/// (also KB, KiB, ...: powers of 1024); unset or empty: `otherwise`.
uint64_t bytes(const char *name, uint64_t otherwise);

} // namespace heed::rt::env

#endif
