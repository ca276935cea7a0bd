// A token bucket for one client's quota (events per second, or bytes per second) at the HTTP door.
// It refills continuously at `rate` per second up to `burst`. A request goes through while at least
// one unit is left and may take more than is left (a batch larger than the burst still goes
// through), the bucket then owes the difference, so the client's long-run rate is the quota
// whatever its request sizes.
//
//   RateBucket events(200, 400);                 // 200/s, bursts up to 400
//   if (auto wait = events.take(batch_size, now)) answer 429 with Retry-After: ceil(*wait);
//
// Thread rule: take() from any thread (a mutex inside); the server may run several threads.
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

namespace simpang::plugins::source_http {

class RateBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // REQUIRES: rate > 0 and burst >= 1. Starts full at `now`.
  RateBucket(double rate, double burst, Clock::time_point now = Clock::now());

  // Takes `amount` if the bucket holds at least one unit, and returns nullopt; otherwise takes
  // nothing and returns how long until it holds one unit again.
  std::optional<std::chrono::milliseconds> take(double amount, Clock::time_point now);

  double rate() const { return rate_; }

 private:
  const double rate_;
  const double burst_;
  std::mutex mutex_;
  double tokens_;              // GUARDED_BY(mutex_); negative while a large request is owed
  Clock::time_point updated_;  // GUARDED_BY(mutex_)
};

}  // namespace simpang::plugins::source_http
