// The per-client quota's token bucket, on a clock the test moves by hand.
#include "rate_bucket.h"

#include <gtest/gtest.h>

namespace simpang::plugins::source_http {
namespace {

using namespace std::chrono_literals;
using Clock = RateBucket::Clock;

TEST(RateBucket, AllowsTheBurstThenTheRate) {
  const Clock::time_point t0 = Clock::now();
  RateBucket bucket(10, 10, t0);
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(bucket.take(1, t0).has_value()) << i;
  }
  const auto wait = bucket.take(1, t0);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, 100ms);  // one unit at 10/s
  EXPECT_TRUE(bucket.take(1, t0 + 99ms).has_value());
  EXPECT_FALSE(bucket.take(1, t0 + 100ms).has_value());
  EXPECT_TRUE(bucket.take(1, t0 + 100ms).has_value());
}

TEST(RateBucket, ARequestLargerThanTheBurstGoesThroughAndIsOwed) {
  const Clock::time_point t0 = Clock::now();
  RateBucket bucket(100, 100, t0);
  EXPECT_FALSE(bucket.take(250, t0).has_value());  // full: taken, 150 owed
  const auto wait = bucket.take(1, t0);
  ASSERT_TRUE(wait.has_value());
  EXPECT_EQ(*wait, 1510ms);  // the 150 owed and one unit, at 100/s
  EXPECT_TRUE(bucket.take(1, t0 + 1500ms).has_value());
  EXPECT_FALSE(bucket.take(1, t0 + 1510ms).has_value());
}

TEST(RateBucket, RefillStopsAtTheBurst) {
  const Clock::time_point t0 = Clock::now();
  RateBucket bucket(5, 5, t0);
  // An hour idle still leaves only five.
  const Clock::time_point later = t0 + 1h;
  for (int i = 0; i < 5; ++i) {
    EXPECT_FALSE(bucket.take(1, later).has_value()) << i;
  }
  EXPECT_TRUE(bucket.take(1, later).has_value());
}

TEST(RateBucket, TheLongRunRateIsTheQuotaWhateverTheRequestSizes) {
  const Clock::time_point t0 = Clock::now();
  RateBucket bucket(1000, 1000, t0);
  double taken = 0;
  // A client that retries every millisecond for ten seconds with batches of 300.
  for (int ms = 0; ms <= 10000; ++ms) {
    if (!bucket.take(300, t0 + std::chrono::milliseconds(ms)).has_value()) {
      taken += 300;
    }
  }
  // The burst (1000) plus ten seconds at 1000/s, give or take one batch.
  EXPECT_GE(taken, 11000 - 300);
  EXPECT_LE(taken, 11000 + 300);
}

}  // namespace
}  // namespace simpang::plugins::source_http
