// lms-moodle's configuration: the instance's `config:` mapping read and validated at once (every
// key checked, unknown keys refused). The token arrives resolved: the hub replaces `${env:NAME}`
// and `${file:PATH}` references before the plugin sees its config, and nothing here logs it.
//
//   MoodleConfig config = read_config(ctx.config());  // throws simpang::sdk::ConfigError
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace simpang::plugins::lms_moodle {

struct MoodleConfig {
  std::string url;    // the site's root, e.g. "https://lms.example.edu.my" (no trailing '/')
  std::string token;  // the web-service token
  std::chrono::milliseconds poll_interval{std::chrono::minutes(5)};
  std::chrono::milliseconds full_sync_interval{std::chrono::hours(24)};
  double requests_per_second = 10;  // at most this many calls per second, on average
  size_t max_concurrency = 4;       // calls on the network at once
  int64_t page_size = 500;          // enrolled users per page
  std::vector<int64_t> courses;     // followed course ids; empty: every course but the front page
  bool badges = true;               // follow badges (core_badges_get_user_badges)
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  int max_attempts = 5;  // per call, for network errors, timeouts and 5xx
  std::chrono::milliseconds retry_backoff{std::chrono::seconds(1)};      // first retry's wait
  std::chrono::milliseconds max_retry_backoff{std::chrono::minutes(5)};  // and the longest
  bool verify_tls = true;
  std::string ca_file;
  std::string provider_id;  // Course.provider_id of the site's courses
  int segment = 0;          // Person.segment of the site's learners (simpang.talent.v1.Segment)
};

MoodleConfig read_config(const nlohmann::json& config);

}  // namespace simpang::plugins::lms_moodle
