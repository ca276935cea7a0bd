// The HTTP client's pure helpers: HTTP-dates in their three forms, Retry-After, entity-tags and
// the entity-tag store's bookkeeping (no network: the store is fed responses made here).
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>

#include "simpang/http/client.h"

namespace simpang::http {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;
using namespace std::chrono_literals;

// 1994-11-06T08:49:37Z, the date of RFC 9110's examples.
constexpr int64_t kExampleUnix = 784111777;
system_clock::time_point at(int64_t unix_seconds) {
  return system_clock::time_point(seconds(unix_seconds));
}
int64_t unix_of(system_clock::time_point t) {
  return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}

TEST(HttpDate, TheThreeFormsOfRfc9110ReadAsTheSameInstant) {
  const auto now = at(kExampleUnix + 1000);
  for (const char* form : {"Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT",
                           "Sun Nov  6 08:49:37 1994", "  Sun, 06 Nov 1994 08:49:37 GMT\t"}) {
    auto t = parse_http_date(form, now);
    ASSERT_TRUE(t.has_value()) << form;
    EXPECT_EQ(unix_of(*t), kExampleUnix) << form;
  }
  auto two_digit_day = parse_http_date("Thu Nov 10 08:49:37 1994", now);
  ASSERT_TRUE(two_digit_day.has_value());
  EXPECT_EQ(unix_of(*two_digit_day), kExampleUnix + 4 * 86400);
}

TEST(HttpDate, Rfc850TwoDigitYearsMoreThanFiftyYearsAheadAreInThePast) {
  // Seen from 2026-12-02: "30" is 2030, "94" would be 2094 (too far ahead) so 1994; June of "76"
  // is 2076 (within 50 years), June of "77" is 1977.
  const auto now = at(1796208000);
  auto year_of = [&](const std::string& yy) {
    auto t = parse_http_date("Monday, 01-Jun-" + yy + " 00:00:00 GMT", now);
    if (!t) return 0;
    return static_cast<int>(
        std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(*t)).year());
  };
  EXPECT_EQ(year_of("30"), 2030);
  EXPECT_EQ(year_of("94"), 1994);
  EXPECT_EQ(year_of("76"), 2076);
  EXPECT_EQ(year_of("77"), 1977);
}

TEST(HttpDate, MalformedDatesAreRefused) {
  for (const char* bad : {"", "yesterday", "Sun, 6 Nov 1994 08:49:37 GMT",  // one-digit day
                          "sun, 06 Nov 1994 08:49:37 GMT",                  // case-sensitive
                          "Sun, 06 nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
                          "Sun, 06 Nov 1994 08:49:37 +0000", "Sun, 31 Nov 1994 08:49:37 GMT",
                          "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
                          "Sun, 06 Nov 1994 08:49 GMT", "Sun, 06 Nov 1994 08:49:37 GMT x",
                          "Sun, 06 Nov 94 08:49:37 GMT", "Sun Nov 6 08:49:37 1994",
                          "Sunday, 06-Nov-1994 08:49:37 GMT", "Xyz, 06 Nov 1994 08:49:37 GMT"}) {
    EXPECT_FALSE(parse_http_date(bad, at(kExampleUnix)).has_value()) << bad;
  }
  // Leap day only in leap years; a leap second is allowed by the grammar.
  EXPECT_TRUE(parse_http_date("Thu, 29 Feb 1996 00:00:00 GMT").has_value());
  EXPECT_FALSE(parse_http_date("Tue, 29 Feb 1995 00:00:00 GMT").has_value());
  EXPECT_TRUE(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT").has_value());
}

TEST(RetryAfter, DeltaSecondsDatesGarbageAndThePast) {
  const auto now = at(kExampleUnix);
  struct Case {
    const char* value;
    std::optional<seconds> expected;
  };
  const Case cases[] = {
      {"120", 120s},
      {"0", 0s},
      {" 5 ", 5s},
      {"007", 7s},
      {"99999999999999999999", seconds(int64_t{1} << 31)},  // capped, not overflowed
      {"Sun, 06 Nov 1994 08:51:37 GMT", 120s},              // IMF-fixdate, two minutes on
      {"Sunday, 06-Nov-94 08:50:37 GMT", 60s},              // RFC 850
      {"Sun Nov  6 08:49:47 1994", 10s},                    // asctime
      {"Sun, 06 Nov 1994 08:49:37 GMT", 0s},                // now
      {"Sat, 05 Nov 1994 08:49:37 GMT", 0s},                // the past gives no wait
      {"-5", std::nullopt},
      {"+5", std::nullopt},
      {"1.5", std::nullopt},
      {"5 s", std::nullopt},
      {"", std::nullopt},
      {"soon", std::nullopt},
      {"Sun, 06 Nov 1994", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(parse_retry_after(c.value, now), c.expected) << "'" << c.value << "'";
  }
  // A date between two seconds rounds up, so the wait is never cut short.
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:40 GMT", now - 500ms), 4s);
}

TEST(RetryAfter, ResponseLooksUpTheFieldCaseInsensitively) {
  ClientResponse r;
  r.status = 503;
  EXPECT_FALSE(r.retry_after().has_value());
  r.headers = {{"content-type", "text/plain"}, {"retry-after", "30"}};
  EXPECT_EQ(r.retry_after(), 30s);
  ASSERT_NE(r.header("Content-Type"), nullptr);
  EXPECT_EQ(*r.header("CONTENT-TYPE"), "text/plain");
  EXPECT_EQ(r.header("X-Absent"), nullptr);
}

TEST(EntityTag, ParsesStrongAndWeakTagsPerRfc9110) {
  auto strong = EntityTag::parse("\"xyzzy\"");
  ASSERT_TRUE(strong.has_value());
  EXPECT_FALSE(strong->weak);
  EXPECT_EQ(strong->opaque, "xyzzy");
  EXPECT_EQ(strong->to_string(), "\"xyzzy\"");
  auto weak = EntityTag::parse(" W/\"xyzzy\" ");
  ASSERT_TRUE(weak.has_value());
  EXPECT_TRUE(weak->weak);
  EXPECT_EQ(weak->to_string(), "W/\"xyzzy\"");
  auto empty = EntityTag::parse("\"\"");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->opaque, "");
  for (const char* bad : {"xyzzy", "\"xyzzy", "w/\"xyzzy\"", "W/xyzzy", "\"xy\"zzy\"", "\"xy zzy\"",
                          "\"a\", \"b\"", "", "W/"}) {
    EXPECT_FALSE(EntityTag::parse(bad).has_value()) << bad;
  }
}

TEST(EntityTag, StrongAndWeakComparisonFollowTheTableOfRfc9110) {
  // RFC 9110 §8.8.3.2: W/"1" W/"1" weak only; W/"1" W/"2" neither; W/"1" "1" weak only;
  // "1" "1" both.
  auto t = [](const char* s) { return *EntityTag::parse(s); };
  EXPECT_FALSE(EntityTag::strong_match(t("W/\"1\""), t("W/\"1\"")));
  EXPECT_TRUE(EntityTag::weak_match(t("W/\"1\""), t("W/\"1\"")));
  EXPECT_FALSE(EntityTag::strong_match(t("W/\"1\""), t("W/\"2\"")));
  EXPECT_FALSE(EntityTag::weak_match(t("W/\"1\""), t("W/\"2\"")));
  EXPECT_FALSE(EntityTag::strong_match(t("W/\"1\""), t("\"1\"")));
  EXPECT_TRUE(EntityTag::weak_match(t("W/\"1\""), t("\"1\"")));
  EXPECT_TRUE(EntityTag::strong_match(t("\"1\""), t("\"1\"")));
  EXPECT_TRUE(EntityTag::weak_match(t("\"1\""), t("\"1\"")));
}

ClientResponse answer(int status, std::vector<std::pair<std::string, std::string>> headers) {
  ClientResponse r;
  r.status = status;
  r.headers = std::move(headers);
  return r;
}

std::string header_of(const ClientRequest& request, const std::string& name) {
  for (const auto& [k, v] : request.headers) {
    if (k == name) return v;
  }
  return "";
}

TEST(EntityTagStore, RemembersValidatorsOfA200AndTellsA304Apart) {
  EntityTagStore store;
  const std::string u = "https://lms.example/api/courses?page=1";
  EXPECT_EQ(store.record(u, answer(200, {{"ETag", "\"abc\""},
                                         {"Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"}})),
            EntityTagStore::Outcome::kModified);
  ClientRequest get{.url = u};
  store.add_conditions(get);
  EXPECT_EQ(header_of(get, "If-None-Match"), "\"abc\"");
  EXPECT_EQ(header_of(get, "If-Modified-Since"), "Sun, 06 Nov 1994 08:49:37 GMT");

  // Other URLs and methods other than GET/HEAD are left alone; given conditions are kept.
  ClientRequest other{.url = "https://lms.example/api/courses?page=2"};
  store.add_conditions(other);
  EXPECT_TRUE(other.headers.empty());
  ClientRequest post{.method = "POST", .url = u};
  store.add_conditions(post);
  EXPECT_TRUE(post.headers.empty());
  ClientRequest own{.url = u, .headers = {{"if-none-match", "*"}}};
  store.add_conditions(own);
  ASSERT_EQ(own.headers.size(), 2u);
  EXPECT_EQ(own.headers[0].second, "*");
  EXPECT_EQ(own.headers[1].first, "If-Modified-Since");

  // A 304 with a fresher tag replaces it; a 500 changes nothing.
  EXPECT_EQ(store.record(u, answer(304, {{"ETag", "W/\"abd\""}})),
            EntityTagStore::Outcome::kNotModified);
  EXPECT_EQ(store.record(u, answer(500, {{"ETag", "\"zzz\""}})), EntityTagStore::Outcome::kOther);
  ClientRequest again{.url = u};
  store.add_conditions(again);
  EXPECT_EQ(header_of(again, "If-None-Match"), "W/\"abd\"");

  // A 200 without validators (or with malformed ones) forgets the URL.
  EXPECT_EQ(store.record(u, answer(200, {{"ETag", "not-quoted"}, {"Last-Modified", "today"}})),
            EntityTagStore::Outcome::kModified);
  EXPECT_EQ(store.size(), 0u);
  ClientRequest after{.url = u};
  store.add_conditions(after);
  EXPECT_TRUE(after.headers.empty());
}

TEST(EntityTagStore, IsBoundedAndForgetsTheLeastRecentlyAnsweredFirst) {
  EntityTagStore store(2);
  auto tag = [](const char* t) { return answer(200, {{"ETag", t}}); };
  (void)store.record("http://a/1", tag("\"1\""));
  (void)store.record("http://a/2", tag("\"2\""));
  (void)store.record("http://a/1", answer(304, {}));  // 1 is in use again
  (void)store.record("http://a/3", tag("\"3\""));     // evicts 2
  EXPECT_EQ(store.size(), 2u);
  ClientRequest one{.url = "http://a/1"}, two{.url = "http://a/2"}, three{.url = "http://a/3"};
  store.add_conditions(one);
  store.add_conditions(two);
  store.add_conditions(three);
  EXPECT_EQ(header_of(one, "If-None-Match"), "\"1\"");
  EXPECT_TRUE(two.headers.empty());
  EXPECT_EQ(header_of(three, "If-None-Match"), "\"3\"");
  store.forget("http://a/1");
  EXPECT_EQ(store.size(), 1u);
}

}  // namespace
}  // namespace simpang::http
