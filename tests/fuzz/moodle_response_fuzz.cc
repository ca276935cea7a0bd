// Fuzz target: Moodle response parsing (plugins/lms-moodle/moodle_protocol.cc), which reads what a
// Moodle site (or whatever answers at its URL) sends back. Input: the first byte picks the HTTP
// status (200 most of the time, else 500, 404, 429), the rest is the body. Whatever the input,
// classify_reply() answers a result or a classified failure, every parser answers a value or an
// error naming the field, and the change detection built on a parsed value never throws. The
// form decoder, which the stand-in runs on request bodies, gets the same bytes.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "moodle_changes.h"
#include "moodle_protocol.h"

namespace lms = simpang::plugins::lms_moodle;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  static constexpr int kStatuses[] = {200, 200, 200, 200, 200, 500, 404, 429};
  const int status = kStatuses[data[0] % 8];
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  (void)lms::decode_form(body);

  const lms::Reply reply = lms::classify_reply(status, body);
  if (!reply.ok()) {
    if (reply.failure().message.empty()) {
      std::abort();  // every failure says what went wrong
    }
    return 0;
  }
  if (status != 200) {
    std::abort();  // only a 200 carries a result
  }
  const lms::Site site{"fuzz.example", "/simpang/lms-moodle/fuzz"};
  const nlohmann::json& value = reply.value();
  if (auto info = lms::parse_site_info(value); info.ok()) {
    (void)lms::missing_functions(*info, {lms::kSiteInfo, lms::kEnrolledUsers});
    (void)lms::site_host(info->siteurl);
  }
  if (auto courses = lms::parse_courses(value); courses.ok()) {
    for (const lms::Course& c : courses->courses) {
      (void)lms::course_change(site, {}, c, std::nullopt, 0);
    }
  }
  if (auto users = lms::parse_enrolled_users(value); users.ok()) {
    for (const lms::EnrolledUser& u : *users) {
      (void)lms::person_change(site, {}, u, std::nullopt, 0);
      (void)lms::enrollment_change(site, 2, u, std::nullopt, 0);
    }
  }
  if (auto status_value = lms::parse_completion_status(value); status_value.ok()) {
    (void)lms::completion_change(site, 2, 3, 0, *status_value, std::nullopt, 0);
  }
  if (auto badges = lms::parse_badges(value); badges.ok()) {
    for (const lms::Badge& b : badges->badges) {
      (void)lms::badge_change(site, 3, b);
    }
  }
  if (!value.is_object()) {
    // A parser reached with a non-object must have refused it.
    if (lms::parse_site_info(value).ok() || lms::parse_courses(value).ok() ||
        lms::parse_badges(value).ok() || lms::parse_completion_status(value).ok()) {
      std::abort();
    }
  }
  return 0;
}
