#include "common/log_limiter.h"

namespace simpang::hub {

bool LogLimiter::allow(Clock::time_point now, uint64_t& held_back) {
  if (window_start_ == Clock::time_point{} || now - window_start_ >= interval_) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= burst_) {
    ++suppressed_;
    return false;
  }
  ++in_window_;
  held_back = suppressed_;
  suppressed_ = 0;
  return true;
}

uint64_t LogLimiter::take_suppressed() {
  const uint64_t held_back = suppressed_;
  suppressed_ = 0;
  return held_back;
}

std::string LogLimiter::suffix(uint64_t held_back) {
  if (held_back == 0) {
    return {};
  }
  return " (" + std::to_string(held_back) + " similar lines suppressed)";
}

}  // namespace simpang::hub
