// Moodle's REST protocol; see moodle_protocol.h.
#include "moodle_protocol.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <set>

namespace simpang::plugins::lms_moodle {
namespace {

using nlohmann::json;

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string scalar_text(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  if (value.is_boolean()) {
    return value.get<bool>() ? "1" : "0";
  }
  if (value.is_null()) {
    return "";
  }
  return value.dump();  // numbers
}

void encode_into(const std::string& key, const json& value, std::string& out) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      encode_into(key + "[" + it.key() + "]", it.value(), out);
    }
    return;
  }
  if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) {
      encode_into(key + "[" + std::to_string(i) + "]", value[i], out);
    }
    return;
  }
  if (!out.empty()) {
    out += '&';
  }
  // Brackets literal, the rest of the key escaped like a value.
  for (char c : key) {
    if (c == '[' || c == ']') {
      out += c;
    } else {
      out += form_escape(std::string_view(&c, 1));
    }
  }
  out += '=';
  out += form_escape(scalar_text(value));
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string form_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

// Field readers: Moodle's JSON writes PARAM_INT as a number and PARAM_BOOL as a boolean, but
// older sites and proxies have been seen writing numbers as strings; both are read.
std::optional<int64_t> get_int(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return std::nullopt;
  }
  if (it->is_number_integer()) {
    return it->get<int64_t>();
  }
  if (it->is_number_float()) {
    const double d = it->get<double>();
    if (std::isfinite(d) && std::fabs(d) < 9e18) {
      return static_cast<int64_t>(d);
    }
    return std::nullopt;
  }
  if (it->is_boolean()) {
    return it->get<bool>() ? 1 : 0;
  }
  if (it->is_string()) {
    const std::string& s = it->get_ref<const std::string&>();
    int64_t v = 0;
    const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && ptr == s.data() + s.size()) {
      return v;
    }
  }
  return std::nullopt;
}

std::optional<std::string> get_string(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return std::nullopt;
  }
  if (it->is_string()) {
    return it->get<std::string>();
  }
  if (it->is_number()) {
    return it->dump();
  }
  return std::nullopt;
}

std::optional<bool> get_bool(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    return std::nullopt;
  }
  if (it->is_boolean()) {
    return it->get<bool>();
  }
  if (const auto v = get_int(object, key)) {
    return *v != 0;
  }
  return std::nullopt;
}

Status missing(std::string_view function, std::string_view what) {
  return Status::Error(std::string(function) + ": result has no valid '" + std::string(what) + "'");
}

std::vector<Warning> parse_warnings(const json& result) {
  std::vector<Warning> out;
  const auto it = result.find("warnings");
  if (it == result.end() || !it->is_array()) {
    return out;
  }
  for (const json& w : *it) {
    if (!w.is_object()) {
      continue;
    }
    Warning warning;
    warning.item = get_string(w, "item").value_or("");
    warning.itemid = get_int(w, "itemid").value_or(0);
    warning.warningcode = get_string(w, "warningcode").value_or("");
    warning.message = get_string(w, "message").value_or("");
    out.push_back(std::move(warning));
  }
  return out;
}

bool looks_like_html(std::string_view body) {
  const size_t start = body.find_first_not_of(" \t\r\n");
  return start != std::string_view::npos && body[start] == '<';
}

}  // namespace

std::string form_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (unreserved(c)) {
      out += ch;
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

std::string encode_params(const json& params) {
  std::string out;
  if (!params.is_object()) {
    return out;
  }
  for (auto it = params.begin(); it != params.end(); ++it) {
    encode_into(it.key(), it.value(), out);
  }
  return out;
}

std::string call_body(std::string_view token, std::string_view function, const json& params) {
  std::string out = "wstoken=" + form_escape(token) + "&wsfunction=" + form_escape(function) +
                    "&moodlewsrestformat=json";
  const std::string rest = encode_params(params);
  if (!rest.empty()) {
    out += '&';
    out += rest;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> decode_form(std::string_view body) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t start = 0;
  while (start <= body.size()) {
    size_t end = body.find('&', start);
    if (end == std::string_view::npos) {
      end = body.size();
    }
    const std::string_view pair = body.substr(start, end - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');
      if (eq == std::string_view::npos) {
        out.emplace_back(form_unescape(pair), "");
      } else {
        out.emplace_back(form_unescape(pair.substr(0, eq)), form_unescape(pair.substr(eq + 1)));
      }
    }
    start = end + 1;
  }
  return out;
}

std::string_view to_string(FailureKind kind) {
  switch (kind) {
    case FailureKind::kInstance:
      return "instance";
    case FailureKind::kItem:
      return "item";
    case FailureKind::kTransient:
      return "transient";
  }
  return "unknown";
}

FailureKind classify_errorcode(std::string_view errorcode) {
  // The token, its service or its user's standing: nothing will work until someone fixes them.
  static const std::set<std::string_view> kInstance = {
      "invalidtoken",         // token unknown, expired or for another site
      "accessexception",      // webservice_access_exception: function not in the service, IP
      "servicenotavailable",  // the service is disabled
      "webservicesnotenabled",
      "enablewsdescription",
      "wsaccessuserdeleted",
      "wsaccessusersuspended",
      "wsaccessusernologin",
      "wsaccessuserexpired",
      "usernotfullysetup",
      "invalidlogin",
      "forcepasswordchangenotice",
      "restoredaccountresetpassword",
      "nopermissions",  // required_capability_exception: a capability the token lacks
      "invalidfunction",
      "invalidrecordunknown"};
  // Moodle under maintenance or overloaded: try again later.
  static const std::set<std::string_view> kTransient = {"sitemaintenance", "dbconnectionfailed",
                                                        "dmlreadexception", "cannotconnect"};
  if (kInstance.count(errorcode) != 0) {
    return FailureKind::kInstance;
  }
  if (kTransient.count(errorcode) != 0) {
    return FailureKind::kTransient;
  }
  // usernotenroled, nottracked, completionnotenabled, invalidrecord, invalidcourseid,
  // invaliduser, requireloginerror, coursehidden, invalidparameter and the rest: this course or
  // user was refused.
  return FailureKind::kItem;
}

Reply classify_reply(int http_status, std::string_view body) {
  if (http_status >= 500 || http_status == 429 || http_status == 408) {
    return Failure{FailureKind::kTransient, "http-" + std::to_string(http_status),
                   "HTTP " + std::to_string(http_status) + " from server.php"};
  }
  if (http_status != 200) {
    return Failure{FailureKind::kInstance, "http-" + std::to_string(http_status),
                   "HTTP " + std::to_string(http_status) +
                       " from server.php: is the url the site's root and are web services "
                       "enabled?"};
  }
  json value = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) {
    if (looks_like_html(body)) {
      return Failure{FailureKind::kTransient, "malformed",
                     "server.php answered an HTML page instead of JSON (maintenance or a proxy?)"};
    }
    return Failure{FailureKind::kInstance, "malformed",
                   "server.php answered something that is not JSON (is moodlewsrestformat=json "
                   "supported?)"};
  }
  if (value.is_object() && value.contains("exception") && value.contains("errorcode")) {
    Failure failure;
    failure.errorcode = get_string(value, "errorcode").value_or("");
    failure.kind = classify_errorcode(failure.errorcode);
    failure.message = get_string(value, "message").value_or("(no message)");
    if (const auto debug = get_string(value, "debuginfo"); debug && !debug->empty()) {
      failure.message += " (" + *debug + ")";
    }
    failure.message = get_string(value, "exception").value_or("exception") + " " +
                      failure.errorcode + ": " + failure.message;
    return failure;
  }
  return Reply(std::move(value));
}

StatusOr<SiteInfo> parse_site_info(const json& result) {
  if (!result.is_object()) {
    return Status::Error(std::string(kSiteInfo) + ": result is not an object");
  }
  SiteInfo site;
  const auto sitename = get_string(result, "sitename");
  const auto siteurl = get_string(result, "siteurl");
  const auto userid = get_int(result, "userid");
  if (!sitename) return missing(kSiteInfo, "sitename");
  if (!siteurl) return missing(kSiteInfo, "siteurl");
  if (!userid) return missing(kSiteInfo, "userid");
  site.sitename = *sitename;
  site.siteurl = *siteurl;
  site.userid = *userid;
  site.username = get_string(result, "username").value_or("");
  site.release = get_string(result, "release").value_or("");
  const auto functions = result.find("functions");
  if (functions == result.end() || !functions->is_array()) {
    return missing(kSiteInfo, "functions");
  }
  for (const json& f : *functions) {
    if (f.is_object()) {
      if (auto name = get_string(f, "name")) {
        site.functions.push_back(std::move(*name));
      }
    }
  }
  return site;
}

std::vector<std::string> missing_functions(const SiteInfo& site,
                                           const std::vector<std::string>& needed) {
  std::vector<std::string> out;
  for (const std::string& name : needed) {
    if (std::find(site.functions.begin(), site.functions.end(), name) == site.functions.end()) {
      out.push_back(name);
    }
  }
  return out;
}

StatusOr<Courses> parse_courses(const json& result) {
  if (!result.is_object()) {
    return Status::Error(std::string(kCoursesByField) + ": result is not an object");
  }
  const auto list = result.find("courses");
  if (list == result.end() || !list->is_array()) {
    return missing(kCoursesByField, "courses");
  }
  Courses out;
  out.warnings = parse_warnings(result);
  for (size_t i = 0; i < list->size(); ++i) {
    const json& c = (*list)[i];
    const auto id = c.is_object() ? get_int(c, "id") : std::nullopt;
    if (!id) {
      return missing(kCoursesByField, "courses[" + std::to_string(i) + "].id");
    }
    Course course;
    course.id = *id;
    course.shortname = get_string(c, "shortname").value_or("");
    course.fullname = get_string(c, "fullname").value_or(course.shortname);
    course.categoryid = get_int(c, "categoryid").value_or(0);
    course.visible = get_bool(c, "visible").value_or(true);
    course.startdate = get_int(c, "startdate").value_or(0);
    course.enddate = get_int(c, "enddate").value_or(0);
    course.format = get_string(c, "format").value_or("");
    course.idnumber = get_string(c, "idnumber");
    course.timemodified = get_int(c, "timemodified");
    course.enablecompletion = get_bool(c, "enablecompletion");
    out.courses.push_back(std::move(course));
  }
  return out;
}

StatusOr<std::vector<EnrolledUser>> parse_enrolled_users(const json& result) {
  if (!result.is_array()) {
    return Status::Error(std::string(kEnrolledUsers) + ": result is not an array of users");
  }
  std::vector<EnrolledUser> out;
  out.reserve(result.size());
  for (size_t i = 0; i < result.size(); ++i) {
    const json& u = result[i];
    const auto id = u.is_object() ? get_int(u, "id") : std::nullopt;
    if (!id) {
      return missing(kEnrolledUsers, "[" + std::to_string(i) + "].id");
    }
    EnrolledUser user;
    user.id = *id;
    user.username = get_string(u, "username").value_or("");
    user.fullname = get_string(u, "fullname").value_or("");
    if (user.fullname.empty()) {
      const std::string first = get_string(u, "firstname").value_or("");
      const std::string last = get_string(u, "lastname").value_or("");
      user.fullname = first.empty() || last.empty() ? first + last : first + " " + last;
    }
    user.email = get_string(u, "email").value_or("");
    user.idnumber = get_string(u, "idnumber").value_or("");
    user.firstaccess = get_int(u, "firstaccess").value_or(0);
    user.lastaccess = get_int(u, "lastaccess").value_or(0);
    user.lastcourseaccess = get_int(u, "lastcourseaccess").value_or(0);
    out.push_back(std::move(user));
  }
  return out;
}

StatusOr<CompletionStatus> parse_completion_status(const json& result) {
  if (!result.is_object()) {
    return Status::Error(std::string(kCompletionStatus) + ": result is not an object");
  }
  const auto status = result.find("completionstatus");
  if (status == result.end() || !status->is_object()) {
    return missing(kCompletionStatus, "completionstatus");
  }
  const auto completed = get_bool(*status, "completed");
  if (!completed) {
    return missing(kCompletionStatus, "completionstatus.completed");
  }
  CompletionStatus out;
  out.completed = *completed;
  out.warnings = parse_warnings(result);
  const auto criteria = status->find("completions");
  if (criteria != status->end() && criteria->is_array()) {
    for (const json& c : *criteria) {
      if (!c.is_object()) {
        continue;
      }
      out.timecompleted = std::max(out.timecompleted, get_int(c, "timecompleted").value_or(0));
      // COMPLETION_CRITERIA_TYPE_GRADE (6): details.status is the achieved course grade.
      if (get_int(c, "type").value_or(0) == 6) {
        const auto details = c.find("details");
        if (details != c.end() && details->is_object()) {
          const std::string text = get_string(*details, "status").value_or("");
          double grade = 0;
          const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), grade);
          if (ec == std::errc() && ptr != text.data() && std::isfinite(grade)) {
            out.grade = grade;
          }
        }
      }
    }
  }
  return out;
}

StatusOr<Badges> parse_badges(const json& result) {
  if (!result.is_object()) {
    return Status::Error(std::string(kUserBadges) + ": result is not an object");
  }
  const auto list = result.find("badges");
  if (list == result.end() || !list->is_array()) {
    return missing(kUserBadges, "badges");
  }
  Badges out;
  out.warnings = parse_warnings(result);
  for (size_t i = 0; i < list->size(); ++i) {
    const json& b = (*list)[i];
    const auto hash = b.is_object() ? get_string(b, "uniquehash") : std::nullopt;
    if (!hash || hash->empty()) {
      return missing(kUserBadges, "badges[" + std::to_string(i) + "].uniquehash");
    }
    Badge badge;
    badge.uniquehash = *hash;
    badge.id = get_int(b, "id");
    badge.name = get_string(b, "name").value_or("");
    badge.issuername = get_string(b, "issuername").value_or("");
    badge.type = static_cast<int>(get_int(b, "type").value_or(1));
    badge.courseid = get_int(b, "courseid");
    badge.dateissued = get_int(b, "dateissued").value_or(0);
    badge.dateexpire = get_int(b, "dateexpire");
    out.badges.push_back(std::move(badge));
  }
  return out;
}

json enrolled_users_params(int64_t courseid, int64_t limitfrom, int64_t limitnumber) {
  return json{{"courseid", courseid},
              {"options", json::array({json{{"name", "onlyactive"}, {"value", 1}},
                                       json{{"name", "limitfrom"}, {"value", limitfrom}},
                                       json{{"name", "limitnumber"}, {"value", limitnumber}}})}};
}

}  // namespace simpang::plugins::lms_moodle
