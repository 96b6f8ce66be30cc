//===- EnvironmentTest.cpp - HEED_* variables, parsed one way -------------===//
//
// Part of Heed. Each kind of value Heed reads from the environment: what
// parses, and that what does not is a warning naming the variable and the
// value used instead.
//
//===----------------------------------------------------------------------===//

#include "runtime/Environment.h"

#include <gtest/gtest.h>

#include <cstdlib>

using namespace heed::rt;

namespace {

constexpr const char *kName = "HEED_ENVIRONMENT_TEST";

/// Sets the test variable (nullptr: unsets it) and captures standard error
/// while `read` runs; returns what was written there.
template <typename Read> std::string withValue(const char *value, Read read) {
  if (value)
    setenv(kName, value, 1);
  else
    unsetenv(kName);
  testing::internal::CaptureStderr();
  read();
  return testing::internal::GetCapturedStderr();
}

TEST(Environment, Flags) {
  for (const char *off : {"0", "off", "OFF", "false", "No", " 0 "}) {
    bool got = true;
    EXPECT_EQ(withValue(off, [&] { got = env::flag(kName, true); }), "");
    EXPECT_FALSE(got) << off;
  }
  for (const char *on : {"1", "on", "True", "yes"}) {
    bool got = false;
    EXPECT_EQ(withValue(on, [&] { got = env::flag(kName, false); }), "");
    EXPECT_TRUE(got) << on;
  }
  for (const char *unset : {(const char *)nullptr, ""}) {
    bool got = false;
    EXPECT_EQ(withValue(unset, [&] { got = env::flag(kName, true); }), "");
    EXPECT_TRUE(got);
  }
  bool got = false;
  EXPECT_EQ(withValue("banana", [&] { got = env::flag(kName, true); }),
            "heed: warning: HEED_ENVIRONMENT_TEST='banana' is not 0, 1, off, "
            "on, false, true, no or yes; using 1\n");
  EXPECT_TRUE(got);
}

TEST(Environment, Integers) {
  int64_t got = 0;
  EXPECT_EQ(withValue("7", [&] { got = env::integer(kName, 0, 64, 3); }), "");
  EXPECT_EQ(got, 7);
  EXPECT_EQ(withValue(nullptr, [&] { got = env::integer(kName, 0, 64, 3); }),
            "");
  EXPECT_EQ(got, 3);
  for (const char *bad : {"-2", "65", "2.5", "x"}) {
    std::string warning =
        withValue(bad, [&] { got = env::integer(kName, 0, 64, 3); });
    EXPECT_EQ(warning, std::string("heed: warning: HEED_ENVIRONMENT_TEST='") +
                           bad + "' is not an integer in [0, 64]; using 3\n");
    EXPECT_EQ(got, 3);
  }
}

TEST(Environment, Numbers) {
  double got = 0;
  EXPECT_EQ(withValue("12.5", [&] { got = env::number(kName, 0, 1e9, 50); }),
            "");
  EXPECT_EQ(got, 12.5);
  EXPECT_EQ(withValue("0", [&] { got = env::number(kName, 0, 1e9, 50); }), "");
  EXPECT_EQ(got, 0);
  for (const char *bad : {"xyz", "-1", "nan", "inf", "1e10"}) {
    EXPECT_NE(withValue(bad, [&] { got = env::number(kName, 0, 1e9, 50); })
                  .find("is not a number in [0, 1e+09]; using 50"),
              std::string::npos)
        << bad;
    EXPECT_EQ(got, 50);
  }
}

TEST(Environment, Bytes) {
  struct {
    const char *text;
    uint64_t bytes;
  } sizes[] = {{"300", 300},
               {"8K", 8 << 10},
               {"8k", 8 << 10},
               {"64MB", uint64_t(64) << 20},
               {"2GiB", uint64_t(2) << 30},
               {"8 GB", uint64_t(8) << 30},
               {"1T", uint64_t(1) << 40}};
  for (auto &size : sizes) {
    uint64_t got = 0;
    EXPECT_EQ(withValue(size.text, [&] { got = env::bytes(kName, 1); }), "");
    EXPECT_EQ(got, size.bytes) << size.text;
  }
  for (const char *bad :
       {"abc", "0", "-5G", "8X", "99999999999999999999", "20000000000T"}) {
    uint64_t got = 0;
    EXPECT_NE(withValue(bad, [&] { got = env::bytes(kName, 16); })
                  .find("is not a size in bytes"),
              std::string::npos)
        << bad;
    EXPECT_EQ(got, 16u) << bad;
  }
}

} // namespace
