// The duration grammar (simpang/base/duration.h), which the hub's YAML, the CLI and plugins'
// ConfigReader share.
#include "simpang/base/duration.h"

#include <gtest/gtest.h>

#include <chrono>

namespace simpang {
namespace {

using std::chrono::milliseconds;

TEST(Duration, EachUnit) {
  EXPECT_EQ(parse_duration("250ms"), milliseconds(250));
  EXPECT_EQ(parse_duration("5s"), milliseconds(5000));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(parse_duration("0s"), milliseconds(0));
}

TEST(Duration, AnythingElseIsRefused) {
  for (const char* text : {"", "s", "5", "5 s", " 5s", "5s ", "+5s", "-5s", "1.5s", "5sec", "1d",
                           "5S", "99999999999999999h"}) {
    EXPECT_EQ(parse_duration(text), std::nullopt) << "'" << text << "'";
  }
}

}  // namespace
}  // namespace simpang
