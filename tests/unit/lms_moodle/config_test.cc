// lms-moodle's configuration: defaults, every check with the key it names, and unknown keys.
#include <gtest/gtest.h>

#include "lms_moodle_config.h"
#include "simpang/sdk/plugin.h"

namespace simpang::plugins::lms_moodle {
namespace {

using nlohmann::json;

json minimal() { return {{"url", "https://lms.example.edu.my/"}, {"token", "t0k"}}; }

std::string error_of(json config) {
  try {
    (void)read_config(config);
  } catch (const simpang::sdk::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(MoodleConfig, DefaultsAndATrailingSlash) {
  const MoodleConfig c = read_config(minimal());
  EXPECT_EQ(c.url, "https://lms.example.edu.my");
  EXPECT_EQ(c.poll_interval, std::chrono::minutes(5));
  EXPECT_EQ(c.full_sync_interval, std::chrono::hours(24));
  EXPECT_EQ(c.requests_per_second, 10);
  EXPECT_EQ(c.max_concurrency, 4u);
  EXPECT_EQ(c.page_size, 500);
  EXPECT_TRUE(c.courses.empty());
  EXPECT_EQ(c.segment, 0);
}

TEST(MoodleConfig, ValuesAreRead) {
  json j = minimal();
  j["poll_interval"] = "30s";
  j["courses"] = json::array({2, "7"});
  j["segment"] = "industry";
  j["requests_per_second"] = 2.5;
  const MoodleConfig c = read_config(j);
  EXPECT_EQ(c.poll_interval, std::chrono::seconds(30));
  EXPECT_EQ(c.courses, (std::vector<int64_t>{2, 7}));
  EXPECT_EQ(c.segment, 4);
  EXPECT_EQ(c.requests_per_second, 2.5);
}

TEST(MoodleConfig, EveryCheckNamesItsKey) {
  const auto with = [](const char* key, json value) {
    json j = minimal();
    j[key] = std::move(value);
    return j;
  };
  EXPECT_EQ(error_of({{"token", "t"}}), "config.url: required, but missing");
  EXPECT_NE(error_of(with("url", "ftp://x")).find("config.url: must start with https://"),
            std::string::npos);
  EXPECT_NE(error_of(with("token", "")).find("config.token: empty"), std::string::npos);
  EXPECT_NE(error_of(with("courses", json::array({0}))).find("config.courses[0]"),
            std::string::npos);
  EXPECT_NE(error_of(with("courses", "5")).find("config.courses"), std::string::npos);
  EXPECT_NE(error_of(with("segment", "alumni")).find("config.segment"), std::string::npos);
  EXPECT_NE(error_of(with("requests_per_second", 0)).find("config.requests_per_second"),
            std::string::npos);
  EXPECT_NE(error_of(with("max_concurrency", 0)).find("config.max_concurrency"), std::string::npos);
  EXPECT_NE(error_of(with("page_size", 0)).find("config.page_size"), std::string::npos);
  EXPECT_NE(error_of(with("full_sync_interval", "1s")).find("config.full_sync_interval"),
            std::string::npos);
  EXPECT_NE(error_of(with("pol_interval", "1s")).find("pol_interval"), std::string::npos);
}

}  // namespace
}  // namespace simpang::plugins::lms_moodle
