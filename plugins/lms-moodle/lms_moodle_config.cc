// lms-moodle's configuration; see lms_moodle_config.h.
#include "lms_moodle_config.h"

#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::lms_moodle {
namespace {

using simpang::sdk::ConfigError;
using simpang::sdk::ConfigReader;

int segment_of(const std::string& name) {
  static const std::pair<const char*, int> kSegments[] = {
      {"", 0}, {"student", 1}, {"educator", 2}, {"government", 3}, {"industry", 4}};
  for (const auto& [text, value] : kSegments) {
    if (name == text) {
      return value;
    }
  }
  throw ConfigError(
      "config.segment: must be one of student, educator, government, industry; got '" + name + "'");
}

}  // namespace

MoodleConfig read_config(const nlohmann::json& json) {
  ConfigReader r(json);
  MoodleConfig c;
  c.url = r.required<std::string>("url");
  while (!c.url.empty() && c.url.back() == '/') {
    c.url.pop_back();
  }
  if (c.url.rfind("https://", 0) != 0 && c.url.rfind("http://", 0) != 0) {
    throw ConfigError("config.url: must start with https:// (or http:// for a local site), got '" +
                      c.url + "'");
  }
  c.token = r.required<std::string>("token");
  if (c.token.empty()) {
    throw ConfigError("config.token: empty (give it as \"${env:NAME}\" or \"${file:PATH}\")");
  }
  c.poll_interval = r.optional("poll_interval", c.poll_interval);
  c.full_sync_interval = r.optional("full_sync_interval", c.full_sync_interval);
  c.requests_per_second = r.optional("requests_per_second", c.requests_per_second);
  c.max_concurrency = r.optional<uint32_t>("max_concurrency", c.max_concurrency);
  c.page_size = r.optional<int64_t>("page_size", c.page_size);
  c.badges = r.optional("badges", c.badges);
  c.request_timeout = r.optional("request_timeout", c.request_timeout);
  c.max_attempts = r.optional("max_attempts", c.max_attempts);
  c.retry_backoff = r.optional("retry_backoff", c.retry_backoff);
  c.max_retry_backoff = r.optional("max_retry_backoff", c.max_retry_backoff);
  c.verify_tls = r.optional("verify_tls", c.verify_tls);
  c.ca_file = r.optional<std::string>("ca_file", "");
  c.provider_id = r.optional<std::string>("provider_id", "");
  c.segment = segment_of(r.optional<std::string>("segment", ""));
  const nlohmann::json courses = r.optional<nlohmann::json>("courses", nlohmann::json::array());
  if (!courses.is_array()) {
    throw ConfigError("config.courses: must be a list of Moodle course ids");
  }
  for (size_t i = 0; i < courses.size(); ++i) {
    const nlohmann::json& id = courses[i];
    int64_t v = 0;
    if (id.is_number_integer()) {
      v = id.get<int64_t>();
    } else if (id.is_string()) {
      try {
        size_t used = 0;
        v = std::stoll(id.get<std::string>(), &used);
        v = used == id.get<std::string>().size() ? v : 0;
      } catch (const std::exception&) {
        v = 0;
      }
    }
    if (v <= 0) {
      throw ConfigError("config.courses[" + std::to_string(i) +
                        "]: must be a Moodle course id (a positive integer), got " + id.dump());
    }
    c.courses.push_back(v);
  }
  r.reject_unknown();
  if (c.poll_interval < std::chrono::milliseconds(100)) {
    throw ConfigError("config.poll_interval: must be at least 100ms");
  }
  if (c.full_sync_interval < c.poll_interval) {
    throw ConfigError("config.full_sync_interval: must be at least poll_interval");
  }
  if (!(c.requests_per_second > 0)) {
    throw ConfigError("config.requests_per_second: must be greater than 0");
  }
  if (c.max_concurrency == 0) {
    throw ConfigError("config.max_concurrency: must be at least 1");
  }
  if (c.page_size < 1 || c.page_size > 10000) {
    throw ConfigError("config.page_size: must be between 1 and 10000");
  }
  if (c.max_attempts < 1) {
    throw ConfigError("config.max_attempts: must be at least 1");
  }
  if (c.retry_backoff <= std::chrono::milliseconds(0) || c.max_retry_backoff < c.retry_backoff) {
    throw ConfigError("config.retry_backoff: must be positive and at most max_retry_backoff");
  }
  return c;
}

}  // namespace simpang::plugins::lms_moodle
