// A rate limit for log lines about repeated bad input, so a peer sending the same garbage ten
// thousand times costs the log a few lines and a count rather than ten thousand lines. Each kind
// of line has its own limiter: at most `burst` lines per `interval`; the lines held back are
// counted, and the next line let through (or a summary) says how many there were.
//
//   LogLimiter bad_frames;                        // 5 lines per 10 s
//   uint64_t held_back = 0;
//   if (bad_frames.allow(Clock::now(), held_back)) {
//     logger->warn("peer={} sent ...{}", peer, LogLimiter::suffix(held_back));
//   }
//
// Times are passed in, so it is tested without a clock. Thread rule: not thread-safe; one owner.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace simpang::hub {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  explicit LogLimiter(uint32_t burst = 5,
                      std::chrono::milliseconds interval = std::chrono::seconds(10))
      : burst_(burst), interval_(interval) {}

  // Whether a line may be written at `now`. When it may, `held_back` is set to the number of lines
  // suppressed since the last one let through (and that count starts again); when it may not, the
  // line is counted as suppressed.
  bool allow(Clock::time_point now, uint64_t& held_back);
  // Lines suppressed since the last one let through; taking them resets the count (for a summary).
  uint64_t take_suppressed();

  // " (N similar lines suppressed)", or "" for 0: what a line let through appends.
  static std::string suffix(uint64_t held_back);

 private:
  uint32_t burst_;
  std::chrono::milliseconds interval_;
  Clock::time_point window_start_{};
  uint32_t in_window_ = 0;
  uint64_t suppressed_ = 0;
};

}  // namespace simpang::hub
