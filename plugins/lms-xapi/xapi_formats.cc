// xAPI value formats; see xapi_formats.h.
#include "xapi_formats.h"

#include <cstdio>
#include <cstring>

namespace simpang::plugins::lms_xapi {
namespace {

bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// Reads exactly `n` digits at `pos` into `out`.
bool read_digits(std::string_view text, size_t& pos, size_t n, int& out) {
  if (pos + n > text.size()) {
    return false;
  }
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    const char c = text[pos + i];
    if (!is_digit(c)) {
      return false;
    }
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int days_in_month(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

}  // namespace

bool is_iri(std::string_view text) {
  const size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= text.size() ||
      !is_alpha(text[0])) {
    return false;
  }
  for (size_t i = 1; i < colon; ++i) {
    const char c = text[i];
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.') {
      return false;
    }
  }
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || std::strchr("<>\"{}|\\^`", c) != nullptr) {
      return false;
    }
  }
  return true;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) {
    return false;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !is_hex(text[i])) {
      return false;
    }
  }
  return true;
}

bool is_mailto(std::string_view text) {
  constexpr std::string_view kScheme = "mailto:";
  if (text.size() <= kScheme.size() || text.substr(0, kScheme.size()) != kScheme) {
    return false;
  }
  const std::string_view address = text.substr(kScheme.size());
  const size_t at = address.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 >= address.size() ||
      address.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (const char c : address) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return false;
    }
  }
  return true;
}

bool is_sha1_hex(std::string_view text) {
  if (text.size() != 40) {
    return false;
  }
  for (const char c : text) {
    if (!is_hex(c)) {
      return false;
    }
  }
  return true;
}

bool is_language_tag(std::string_view text) {
  size_t start = 0;
  bool first = true;
  while (true) {
    size_t end = text.find('-', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    const std::string_view part = text.substr(start, end - start);
    if (part.empty() || part.size() > 8) {
      return false;
    }
    for (const char c : part) {
      if (first ? !is_alpha(c) : !(is_alpha(c) || is_digit(c))) {
        return false;
      }
    }
    if (first && part.size() == 1 && part != "x" && part != "X" && part != "i" && part != "I") {
      return false;
    }
    first = false;
    if (end == text.size()) {
      return true;
    }
    start = end + 1;
  }
}

std::optional<int64_t> parse_timestamp(std::string_view text) {
  size_t pos = 0;
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!read_digits(text, pos, 4, year) || pos >= text.size() || text[pos++] != '-' ||
      !read_digits(text, pos, 2, month) || pos >= text.size() || text[pos++] != '-' ||
      !read_digits(text, pos, 2, day) || pos >= text.size() || text[pos++] != 'T' ||
      !read_digits(text, pos, 2, hour) || pos >= text.size() || text[pos++] != ':' ||
      !read_digits(text, pos, 2, minute)) {
    return std::nullopt;
  }
  int millis = 0;
  if (pos < text.size() && text[pos] == ':') {
    ++pos;
    if (!read_digits(text, pos, 2, second)) {
      return std::nullopt;
    }
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      int digits = 0;
      while (pos < text.size() && is_digit(text[pos])) {
        if (digits < 3) {
          millis = millis * 10 + (text[pos] - '0');
        }
        ++digits;
        ++pos;
      }
      if (digits == 0) {
        return std::nullopt;
      }
      for (int i = digits; i < 3; ++i) {
        millis *= 10;
      }
    }
  }
  int offset_minutes = 0;
  if (pos < text.size()) {
    const char sign = text[pos++];
    if (sign == 'Z') {
      if (pos != text.size()) {
        return std::nullopt;
      }
    } else if (sign == '+' || sign == '-') {
      int oh = 0, om = 0;
      if (!read_digits(text, pos, 2, oh)) {
        return std::nullopt;
      }
      if (pos < text.size()) {
        if (text[pos] == ':') {
          ++pos;
        }
        if (!read_digits(text, pos, 2, om)) {
          return std::nullopt;
        }
      }
      if (pos != text.size() || oh > 23 || om > 59 || (sign == '-' && oh == 0 && om == 0)) {
        return std::nullopt;
      }
      offset_minutes = (oh * 60 + om) * (sign == '-' ? -1 : 1);
    } else {
      return std::nullopt;
    }
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  const int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + millis;
}

std::string format_timestamp(int64_t ms) {
  int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  const int millis = static_cast<int>(ms - seconds * 1000);
  int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
  const int64_t rest = seconds - days * 86400;
  // civil_from_days (Howard Hinnant).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
  char out[40];
  std::snprintf(out, sizeof(out), "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ",
                static_cast<long long>(y), m, d, static_cast<int>(rest / 3600),
                static_cast<int>(rest / 60 % 60), static_cast<int>(rest % 60), millis);
  return out;
}

bool is_duration(std::string_view text) {
  if (text.size() < 3 || text[0] != 'P') {
    return false;
  }
  // Designators in the order they may appear; W is ISO 8601's week form.
  constexpr std::string_view kDateUnits = "YMWD";
  constexpr std::string_view kTimeUnits = "HMS";
  size_t pos = 1;
  bool in_time = false;
  bool any = false;
  bool fraction_seen = false;
  size_t next_date = 0;
  size_t next_time = 0;
  while (pos < text.size()) {
    if (text[pos] == 'T') {
      if (in_time || fraction_seen) {
        return false;
      }
      in_time = true;
      ++pos;
      if (pos == text.size()) {
        return false;  // a T with no time part
      }
      continue;
    }
    if (fraction_seen) {
      return false;  // only the last part may have a fraction
    }
    const size_t start = pos;
    while (pos < text.size() && is_digit(text[pos])) {
      ++pos;
    }
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      const size_t fraction_start = pos;
      while (pos < text.size() && is_digit(text[pos])) {
        ++pos;
      }
      if (pos == fraction_start) {
        return false;
      }
      fraction_seen = true;
    }
    if (pos == start || pos >= text.size()) {
      return false;
    }
    const std::string_view units = in_time ? kTimeUnits : kDateUnits;
    size_t& next = in_time ? next_time : next_date;
    const size_t unit = units.find(text[pos], next);
    if (unit == std::string_view::npos) {
      return false;
    }
    next = unit + 1;
    any = true;
    ++pos;
  }
  return any;
}

bool is_version(std::string_view text) {
  if (text == "1.0") {
    return true;
  }
  if (text.size() < 5 || text.substr(0, 4) != "1.0.") {
    return false;
  }
  for (const char c : text.substr(4)) {
    if (!is_digit(c)) {
      return false;
    }
  }
  return true;
}

}  // namespace simpang::plugins::lms_xapi
