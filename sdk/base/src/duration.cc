// The duration grammar; see simpang/base/duration.h.
#include "simpang/base/duration.h"

#include <charconv>
#include <cstdint>
#include <limits>

namespace simpang {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  int64_t amount = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  const auto [rest, ec] = std::from_chars(begin, end, amount);
  if (ec != std::errc() || rest == begin || amount < 0) {
    return std::nullopt;
  }
  const std::string_view unit(rest, static_cast<size_t>(end - rest));
  int64_t factor = 0;
  if (unit == "ms") {
    factor = 1;
  } else if (unit == "s") {
    factor = 1000;
  } else if (unit == "m") {
    factor = 60 * 1000;
  } else if (unit == "h") {
    factor = 60 * 60 * 1000;
  } else {
    return std::nullopt;
  }
  if (amount > std::numeric_limits<int64_t>::max() / factor) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(amount * factor);
}

}  // namespace simpang
