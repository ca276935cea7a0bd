// HTTP-dates (RFC 9110 §5.6.7) in their three forms, Retry-After (§10.2.3), and the lookups on
// ClientResponse that use them.
#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include "simpang/http/client.h"

namespace simpang::http {

namespace {

using std::chrono::system_clock;

constexpr std::array<std::string_view, 7> kDayNames = {"Mon", "Tue", "Wed", "Thu",
                                                       "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> kLongDayNames = {
    "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> kMonthNames = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Reads the grammar's pieces from the front of a string, each returning false (and leaving the
// reader in an unspecified place) when the piece is not there.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}

  bool literal(std::string_view text) {
    if (!s_.starts_with(text)) return false;
    s_.remove_prefix(text.size());
    return true;
  }
  bool digits(size_t count, int& out) {
    if (s_.size() < count) return false;
    int value = 0;
    for (size_t i = 0; i < count; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s_[i]))) return false;
      value = value * 10 + (s_[i] - '0');
    }
    s_.remove_prefix(count);
    out = value;
    return true;
  }
  template <size_t N>
  bool one_of(const std::array<std::string_view, N>& names, int& index) {
    for (size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  // time-of-day = hour ":" minute ":" second
  bool time_of_day(int& hour, int& minute, int& second) {
    return digits(2, hour) && literal(":") && digits(2, minute) && literal(":") &&
           digits(2, second);
  }
  bool at_end() const { return s_.empty(); }

 private:
  std::string_view s_;
};

struct Fields {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  bool two_digit_year = false;
};

// IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
bool read_imf_fixdate(std::string_view s, Fields& f) {
  Reader r(s);
  int weekday = 0;
  return r.one_of(kDayNames, weekday) && r.literal(", ") && r.digits(2, f.day) && r.literal(" ") &&
         r.one_of(kMonthNames, f.month) && r.literal(" ") && r.digits(4, f.year) &&
         r.literal(" ") && r.time_of_day(f.hour, f.minute, f.second) && r.literal(" GMT") &&
         r.at_end();
}

// rfc850-date: "Sunday, 06-Nov-94 08:49:37 GMT"
bool read_rfc850_date(std::string_view s, Fields& f) {
  Reader r(s);
  int weekday = 0;
  f.two_digit_year = true;
  return r.one_of(kLongDayNames, weekday) && r.literal(", ") && r.digits(2, f.day) &&
         r.literal("-") && r.one_of(kMonthNames, f.month) && r.literal("-") &&
         r.digits(2, f.year) && r.literal(" ") && r.time_of_day(f.hour, f.minute, f.second) &&
         r.literal(" GMT") && r.at_end();
}

// asctime-date: "Sun Nov  6 08:49:37 1994" (the day is two digits, or a space and one digit)
bool read_asctime_date(std::string_view s, Fields& f) {
  Reader r(s);
  int weekday = 0;
  if (!(r.one_of(kDayNames, weekday) && r.literal(" ") && r.one_of(kMonthNames, f.month) &&
        r.literal(" "))) {
    return false;
  }
  if (!r.digits(2, f.day) && !(r.literal(" ") && r.digits(1, f.day))) return false;
  return r.literal(" ") && r.time_of_day(f.hour, f.minute, f.second) && r.literal(" ") &&
         r.digits(4, f.year) && r.at_end();
}

std::optional<system_clock::time_point> to_time(const Fields& f, int year) {
  std::chrono::year_month_day date{std::chrono::year(year),
                                   std::chrono::month(static_cast<unsigned>(f.month + 1)),
                                   std::chrono::day(static_cast<unsigned>(f.day))};
  // Second 60 is a leap second, which the grammar allows.
  if (!date.ok() || f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
  return std::chrono::sys_days(date) + std::chrono::hours(f.hour) + std::chrono::minutes(f.minute) +
         std::chrono::seconds(f.second);
}

}  // namespace

std::optional<system_clock::time_point> parse_http_date(std::string_view value,
                                                        system_clock::time_point now) {
  value = trim_ows(value);
  Fields f;
  bool read = read_imf_fixdate(value, f);
  if (!read) read = read_asctime_date(value, f = Fields{});
  if (!read) read = read_rfc850_date(value, f = Fields{});
  if (!read) return std::nullopt;
  if (!f.two_digit_year) return to_time(f, f.year);
  // RFC 9110 §5.6.7: a two-digit year more than 50 years ahead is the latest such year in the
  // past; one more than 50 years back is read as in the next century, which then is not ahead.
  const auto now_year = static_cast<int>(
      std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(now)).year());
  int year = now_year - now_year % 100 + f.year;
  auto t = to_time(f, year);
  if (!t) return std::nullopt;
  if (*t > now + std::chrono::years(50)) return to_time(f, year - 100);
  if (*t + std::chrono::years(50) < now) return to_time(f, year + 100);
  return t;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      system_clock::time_point now) {
  value = trim_ows(value);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(),
                  [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    constexpr int64_t kCap = int64_t{1} << 31;
    int64_t seconds = 0;
    for (char c : value) {
      seconds = std::min<int64_t>(kCap, seconds * 10 + (c - '0'));
    }
    return std::chrono::seconds(seconds);
  }
  auto date = parse_http_date(value, now);
  if (!date) return std::nullopt;
  if (*date <= now) return std::chrono::seconds(0);
  return std::chrono::ceil<std::chrono::seconds>(*date - now);
}

const std::string* ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char x, char y) {
          return std::tolower(static_cast<unsigned char>(x)) ==
                 std::tolower(static_cast<unsigned char>(y));
        })) {
      return &v;
    }
  }
  return nullptr;
}

std::optional<std::chrono::seconds> ClientResponse::retry_after(
    system_clock::time_point now) const {
  const std::string* value = header("Retry-After");
  if (value == nullptr) return std::nullopt;
  return parse_retry_after(*value, now);
}

}  // namespace simpang::http
