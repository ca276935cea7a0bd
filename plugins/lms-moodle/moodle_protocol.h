// Moodle's REST web-service protocol as pure functions: the request body of a call (a POST form
// with wstoken, wsfunction, moodlewsrestformat=json and the parameters in Moodle's array
// encoding), the classification of an answer (a result, or one of Moodle's error forms, said to be
// fatal for the instance, per item or transient), and the parsers of the five functions the
// connector calls, after the return structures of Moodle's external function definitions. No I/O:
// the plugin, the unit tests, the stand-in and the fuzz target all link this alone.
//
//   std::string body = call_body(token, "core_enrol_get_enrolled_users",
//                                {{"courseid", 5}, {"options", nlohmann::json::array({
//                                    {{"name", "limitfrom"}, {"value", 0}}})}});
//   // courseid=5&options[0][name]=limitfrom&options[0][value]=0 (and the three fixed fields)
//   Reply r = classify_reply(status, response_body);
//   if (!r.ok()) { /* r.failure().kind: kInstance, kItem or kTransient */ }
//   StatusOr<std::vector<EnrolledUser>> users = parse_enrolled_users(r.value());
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "simpang/sdk/status.h"

namespace simpang::plugins::lms_moodle {

using simpang::sdk::Status;
using simpang::sdk::StatusOr;

inline constexpr char kRestPath[] = "/webservice/rest/server.php";

// The functions the connector calls.
inline constexpr char kSiteInfo[] = "core_webservice_get_site_info";
inline constexpr char kCoursesByField[] = "core_course_get_courses_by_field";
inline constexpr char kEnrolledUsers[] = "core_enrol_get_enrolled_users";
inline constexpr char kCompletionStatus[] = "core_completion_get_course_completion_status";
inline constexpr char kUserBadges[] = "core_badges_get_user_badges";

// Capabilities whose absence makes Moodle leave fields out.
inline constexpr char kCourseUpdateCapability[] = "moodle/course:update";
inline constexpr char kBadgeDetailsCapability[] = "moodle/badges:configuredetails";

// ---- Requests ---------------------------------------------------------------------------------

// application/x-www-form-urlencoded escaping: unreserved characters kept, space as '+', the rest
// as %XX.
std::string form_escape(std::string_view text);

// Moodle's array encoding of `params` (a JSON object): a scalar is `key=value`, an array element
// `key[i]`, an object member `key[name]`, nested to any depth; true/false as 1/0, null as empty.
// Brackets stay literal (PHP reads them either way). Keys come out in the object's (sorted) order.
std::string encode_params(const nlohmann::json& params);

// The whole POST body of one call: wstoken, wsfunction, moodlewsrestformat=json, then `params`.
std::string call_body(std::string_view token, std::string_view function,
                      const nlohmann::json& params = nlohmann::json::object());

// The inverse, for the stand-in and the tests: a form body as ordered (name, value) pairs, names
// and values percent-decoded ('+' as space). Malformed escapes are kept as written.
std::vector<std::pair<std::string, std::string>> decode_form(std::string_view body);

// ---- Answers ------------------------------------------------------------------------------------

// What a failure means for the connector.
enum class FailureKind {
  kInstance,   // the token or its service is unusable (invalid token, access control, service
               // gone, a missing capability): the instance is degraded until it is fixed
  kItem,       // one course or user was refused (not enrolled, no completion there): skip it
  kTransient,  // the network, a timeout, a 5xx, maintenance: retry with backoff
};
std::string_view to_string(FailureKind kind);

struct Failure {
  FailureKind kind = FailureKind::kTransient;
  std::string errorcode;  // Moodle's errorcode; "http-503", "network", "malformed" otherwise
  std::string message;    // for the log: Moodle's message (and debuginfo), or what went wrong
};

// Moodle's error codes by kind; an unknown code is kItem (the call's subject was refused).
FailureKind classify_errorcode(std::string_view errorcode);

// The answer to one call: the decoded JSON result or the failure that stands in for it.
class [[nodiscard]] Reply {
 public:
  Reply(nlohmann::json value) : value_(std::move(value)) {}  // NOLINT: implicit
  Reply(Failure failure) : value_(std::move(failure)) {}     // NOLINT: implicit
  bool ok() const { return std::holds_alternative<nlohmann::json>(value_); }
  const nlohmann::json& value() const { return std::get<nlohmann::json>(value_); }
  const Failure& failure() const { return std::get<Failure>(value_); }

 private:
  std::variant<nlohmann::json, Failure> value_;
};

// Classifies an HTTP answer from server.php: 5xx and 429 are transient; another non-200 is an
// instance failure (a wrong URL answers 404, a proxy 401/403); a 200 whose body is
// {"exception", "errorcode", "message"} is Moodle's error form, classified by errorcode; a 200
// body that is not JSON is transient when it looks like an HTML page (maintenance, a proxy) and
// kInstance otherwise. Everything else is the result.
Reply classify_reply(int http_status, std::string_view body);

// ---- Results ----------------------------------------------------------------------------------

// A warning Moodle returns beside a result (`warnings: [{item, itemid, warningcode, message}]`).
struct Warning {
  std::string item;
  int64_t itemid = 0;
  std::string warningcode;
  std::string message;
};

struct SiteInfo {
  std::string sitename;
  std::string siteurl;
  std::string username;  // the token's user
  int64_t userid = 0;
  std::string release;
  std::vector<std::string> functions;  // the token's service, by name
};
StatusOr<SiteInfo> parse_site_info(const nlohmann::json& result);
// Which of `needed` the site's service does not offer, in `needed`'s order.
std::vector<std::string> missing_functions(const SiteInfo& site,
                                           const std::vector<std::string>& needed);

struct Course {
  int64_t id = 0;
  std::string shortname;
  std::string fullname;
  int64_t categoryid = 0;
  bool visible = true;
  int64_t startdate = 0;
  int64_t enddate = 0;
  std::string format;  // "site" for the front page
  // Only returned to a token holding moodle/course:update in the course.
  std::optional<std::string> idnumber;
  std::optional<int64_t> timemodified;
  std::optional<bool> enablecompletion;
};
struct Courses {
  std::vector<Course> courses;
  std::vector<Warning> warnings;
};
StatusOr<Courses> parse_courses(const nlohmann::json& result);

struct EnrolledUser {
  int64_t id = 0;
  std::string username;
  std::string fullname;
  std::string email;     // left out by Moodle when the token may not see it
  std::string idnumber;  // likewise
  int64_t firstaccess = 0;
  int64_t lastaccess = 0;
  int64_t lastcourseaccess = 0;  // the user's last access to this course; 0 never
};
// The result of core_enrol_get_enrolled_users: a bare array of users.
StatusOr<std::vector<EnrolledUser>> parse_enrolled_users(const nlohmann::json& result);

struct CompletionStatus {
  bool completed = false;
  int64_t timecompleted = 0;    // the latest criterion's timecompleted once completed; 0 unknown
  std::optional<double> grade;  // the course-grade criterion's achieved grade, when it has one
  std::vector<Warning> warnings;
};
StatusOr<CompletionStatus> parse_completion_status(const nlohmann::json& result);

struct Badge {
  std::optional<int64_t> id;  // left out without moodle/badges:configuredetails
  std::string name;
  std::string issuername;
  int type = 1;  // 1 site, 2 course
  // The course of a course badge; left out without moodle/badges:configuredetails.
  std::optional<int64_t> courseid;
  std::string uniquehash;  // the issued badge's own id
  int64_t dateissued = 0;
  std::optional<int64_t> dateexpire;
};
struct Badges {
  std::vector<Badge> badges;
  std::vector<Warning> warnings;
};
StatusOr<Badges> parse_badges(const nlohmann::json& result);

// ---- Paging -------------------------------------------------------------------------------------

// The parameters of one page of core_enrol_get_enrolled_users: courseid and the options
// limitfrom / limitnumber (and onlyactive=1: suspended enrolments are not followed).
nlohmann::json enrolled_users_params(int64_t courseid, int64_t limitfrom, int64_t limitnumber);

}  // namespace simpang::plugins::lms_moodle
