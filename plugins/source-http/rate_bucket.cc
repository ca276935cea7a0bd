// See rate_bucket.h.
#include "rate_bucket.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace simpang::plugins::source_http {

RateBucket::RateBucket(double rate, double burst, Clock::time_point now)
    : rate_(rate), burst_(burst), tokens_(burst), updated_(now) {}

std::optional<std::chrono::milliseconds> RateBucket::take(double amount, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (now > updated_) {
    const double elapsed = std::chrono::duration<double>(now - updated_).count();
    tokens_ = std::min(burst_, tokens_ + elapsed * rate_);
    updated_ = now;
  }
  if (tokens_ >= 1) {
    tokens_ -= amount;
    return std::nullopt;
  }
  // Until one unit is there again, in whole milliseconds rounded up (less a hair, so that binary
  // fractions such as 1.51 s do not round to one millisecond more than they are).
  const double seconds = (1 - tokens_) / rate_;
  return std::chrono::milliseconds(static_cast<int64_t>(std::ceil(seconds * 1000.0 - 1e-6)));
}

}  // namespace simpang::plugins::source_http
