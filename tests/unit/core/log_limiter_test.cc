// The rate limit on log lines about repeated bad input (common/log_limiter.h), with times passed in.
#include "common/log_limiter.h"

#include <gtest/gtest.h>

namespace simpang::hub {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(LogLimiterTest, LetsABurstThroughThenCountsWhatItHoldsBack) {
  LogLimiter limiter(3, seconds(10));
  const auto start = LogLimiter::Clock::now();
  uint64_t held_back = 99;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter.allow(start + milliseconds(i), held_back));
    EXPECT_EQ(held_back, 0u);
  }
  for (int i = 0; i < 9997; ++i) {
    EXPECT_FALSE(limiter.allow(start + milliseconds(10 + i / 100), held_back));
  }
  // The next window: the first line through says how many were held back, and the count restarts.
  ASSERT_TRUE(limiter.allow(start + seconds(11), held_back));
  EXPECT_EQ(held_back, 9997u);
  EXPECT_EQ(LogLimiter::suffix(held_back), " (9997 similar lines suppressed)");
  ASSERT_TRUE(limiter.allow(start + seconds(11), held_back));
  EXPECT_EQ(held_back, 0u);
  EXPECT_EQ(LogLimiter::suffix(0), "");
}

TEST(LogLimiterTest, ASummaryTakesTheSuppressedCount) {
  LogLimiter limiter(1, seconds(10));
  const auto start = LogLimiter::Clock::now();
  uint64_t held_back = 0;
  ASSERT_TRUE(limiter.allow(start, held_back));
  EXPECT_FALSE(limiter.allow(start, held_back));
  EXPECT_FALSE(limiter.allow(start, held_back));
  EXPECT_EQ(limiter.take_suppressed(), 2u);
  EXPECT_EQ(limiter.take_suppressed(), 0u);
}

}  // namespace
}  // namespace simpang::hub
