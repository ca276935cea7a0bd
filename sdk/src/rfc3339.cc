// RFC 3339 formatting and strict parsing; see rfc3339.h.
#include "rfc3339.h"

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace simpang::sdk::internal {
namespace {

namespace chr = std::chrono;

constexpr int64_t kSecondsPerDay = 86400;
// The range google.protobuf.Timestamp allows: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
constexpr int64_t kMinSeconds = -62135596800;
constexpr int64_t kMaxSeconds = 253402300799;

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Reads exactly `n` digits at `*pos`; false if any is not a digit.
bool read_digits(std::string_view text, size_t* pos, size_t n, int* value) {
  if (*pos + n > text.size()) {
    return false;
  }
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[*pos + i];
    if (c < '0' || c > '9') {
      return false;
    }
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *value = v;
  return true;
}

bool expect(std::string_view text, size_t* pos, char lower, char upper) {
  if (*pos < text.size() && (text[*pos] == lower || text[*pos] == upper)) {
    ++*pos;
    return true;
  }
  return false;
}

}  // namespace

std::string format_rfc3339(const google::protobuf::Timestamp& ts) {
  int64_t seconds = ts.seconds();
  int64_t nanos = ts.nanos();
  // Normalise an out-of-range nanos into the seconds so the text names the same instant.
  seconds += floor_div(nanos, 1000000000);
  nanos -= floor_div(nanos, 1000000000) * 1000000000;

  const int64_t days = floor_div(seconds, kSecondsPerDay);
  const int64_t day_seconds = seconds - days * kSecondsPerDay;
  const chr::year_month_day ymd{chr::sys_days{chr::days{days}}};

  char buf[64];
  int n =
      std::snprintf(buf, sizeof(buf), "%04d-%02u-%02uT%02d:%02d:%02d", static_cast<int>(ymd.year()),
                    static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                    static_cast<int>(day_seconds / 3600), static_cast<int>(day_seconds / 60 % 60),
                    static_cast<int>(day_seconds % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (nanos != 0) {
    if (nanos % 1000000 == 0) {
      n = std::snprintf(buf, sizeof(buf), ".%03d", static_cast<int>(nanos / 1000000));
    } else if (nanos % 1000 == 0) {
      n = std::snprintf(buf, sizeof(buf), ".%06d", static_cast<int>(nanos / 1000));
    } else {
      n = std::snprintf(buf, sizeof(buf), ".%09d", static_cast<int>(nanos));
    }
    out.append(buf, static_cast<size_t>(n));
  }
  out.push_back('Z');
  return out;
}

bool parse_rfc3339(std::string_view text, google::protobuf::Timestamp* out, std::string* why) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, &pos, 4, &year) || !expect(text, &pos, '-', '-') ||
      !read_digits(text, &pos, 2, &month) || !expect(text, &pos, '-', '-') ||
      !read_digits(text, &pos, 2, &day)) {
    *why = "expected a date YYYY-MM-DD";
    return false;
  }
  if (!expect(text, &pos, 't', 'T')) {
    *why = "expected 'T' and a time after the date";
    return false;
  }
  if (!read_digits(text, &pos, 2, &hour) || !expect(text, &pos, ':', ':') ||
      !read_digits(text, &pos, 2, &minute) || !expect(text, &pos, ':', ':') ||
      !read_digits(text, &pos, 2, &second)) {
    *why = "expected a time HH:MM:SS";
    return false;
  }
  int64_t nanos = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t digits = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (digits < 9) {
        nanos = nanos * 10 + (text[pos] - '0');
      }
      ++digits;
      ++pos;
    }
    if (digits == 0) {
      *why = "expected digits after '.'";
      return false;
    }
    for (size_t i = digits; i < 9; ++i) {
      nanos *= 10;
    }
  }
  int offset_seconds = 0;
  if (expect(text, &pos, 'z', 'Z')) {
    // UTC.
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '-' ? -1 : 1;
    ++pos;
    int off_hour = 0, off_minute = 0;
    if (!read_digits(text, &pos, 2, &off_hour) || !expect(text, &pos, ':', ':') ||
        !read_digits(text, &pos, 2, &off_minute)) {
      *why = "expected an offset +HH:MM or -HH:MM";
      return false;
    }
    if (off_hour > 23 || off_minute > 59) {
      *why = "offset out of range";
      return false;
    }
    offset_seconds = sign * (off_hour * 3600 + off_minute * 60);
  } else {
    *why = "expected 'Z' or an offset +HH:MM / -HH:MM";
    return false;
  }
  if (pos != text.size()) {
    *why = "unexpected text after the offset";
    return false;
  }

  const chr::year_month_day ymd{chr::year{year}, chr::month{static_cast<unsigned>(month)},
                                chr::day{static_cast<unsigned>(day)}};
  if (month < 1 || month > 12) {
    *why = "month out of range";
    return false;
  }
  if (!ymd.ok()) {
    *why = "day out of range for the month";
    return false;
  }
  if (hour > 23) {
    *why = "hour out of range";
    return false;
  }
  if (minute > 59) {
    *why = "minute out of range";
    return false;
  }
  if (second == 60) {
    *why = "leap second (:60) cannot be represented";
    return false;
  }
  if (second > 59) {
    *why = "second out of range";
    return false;
  }
  const int64_t days = chr::sys_days{ymd}.time_since_epoch().count();
  const int64_t seconds =
      days * kSecondsPerDay + int64_t{hour} * 3600 + int64_t{minute} * 60 + second - offset_seconds;
  if (seconds < kMinSeconds || seconds > kMaxSeconds) {
    *why = "outside years 0001..9999 in UTC";
    return false;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(nanos));
  return true;
}

}  // namespace simpang::sdk::internal
