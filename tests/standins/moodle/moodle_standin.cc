// The Moodle stand-in; see moodle_standin.h.
#include "moodle_standin.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>

#include "moodle_protocol.h"

namespace simpang::standins {
namespace {

using nlohmann::json;
using simpang::http::Request;
using simpang::http::Responder;
using simpang::http::Response;
namespace moodle = simpang::plugins::lms_moodle;

const std::vector<std::string>& default_functions() {
  static const std::vector<std::string> kFunctions = {
      moodle::kSiteInfo, moodle::kCoursesByField, moodle::kEnrolledUsers, moodle::kCompletionStatus,
      moodle::kUserBadges};
  return kFunctions;
}

// Moodle's error form: HTTP 200 and an exception object.
json error(const std::string& exception, const std::string& errorcode, const std::string& message,
           const std::string& debuginfo = "") {
  json e = {{"exception", exception}, {"errorcode", errorcode}, {"message", message}};
  if (!debuginfo.empty()) {
    e["debuginfo"] = debuginfo;
  }
  return e;
}

json invalid_parameter(const std::string& what) {
  return error("invalid_parameter_exception", "invalidparameter",
               "Invalid parameter value detected", what);
}

json missing_record(const std::string& table) {
  return error("dml_missing_record_exception", "invalidrecord",
               "Can't find data record in database table " + table + ".");
}

json no_permission(const std::string& capability, const std::string& title) {
  return error("required_capability_exception", "nopermissions",
               "Sorry, but you do not currently have permissions to do that (" + title + ").",
               capability);
}

std::optional<int64_t> to_int(const std::map<std::string, std::string>& params,
                              const std::string& key) {
  const auto it = params.find(key);
  if (it == params.end()) {
    return std::nullopt;
  }
  int64_t v = 0;
  const auto [ptr, ec] =
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || ptr != it->second.data() + it->second.size()) {
    return std::nullopt;
  }
  return v;
}

int64_t get_int(const json& j, const char* key, int64_t fallback = 0) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : fallback;
}

std::string get_str(const json& j, const char* key, const std::string& fallback = "") {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

const json& list(const json& seed, const char* key) {
  static const json kEmpty = json::array();
  const auto it = seed.find(key);
  return it != seed.end() && it->is_array() ? *it : kEmpty;
}

}  // namespace

MoodleFaults MoodleFaults::from_json(const json& j) {
  MoodleFaults f;
  f.invalid_token = j.value("invalid_token", false);
  for (const json& n : j.value("missing_functions", json::array())) {
    f.missing_functions.insert(n.get<std::string>());
  }
  for (const json& n : j.value("missing_capabilities", json::array())) {
    f.missing_capabilities.insert(n.get<std::string>());
  }
  f.fail_next = j.value("fail_next", 0);
  f.slow_ms = j.value("slow_ms", 0);
  f.large_pages = j.value("large_pages", false);
  for (const json& n : j.value("refuse_courses", json::array())) {
    f.refuse_courses.insert(n.get<int64_t>());
  }
  return f;
}

MoodleStandin::MoodleStandin(json seed, uint16_t port)
    : requested_port_(port), seed_(std::move(seed)) {}

MoodleStandin::~MoodleStandin() { stop(); }

Status MoodleStandin::start() {
  simpang::http::ServerOptions options;
  options.port = requested_port_;
  options.max_body_bytes = 64 * 1024 * 1024;  // a seed of a large site
  server_ = std::make_unique<simpang::http::Server>(std::move(options));
  server_->route("POST", moodle::kRestPath, [this](Request request, Responder responder) {
    int slow = 0;
    {
      std::lock_guard lock(mu_);
      slow = faults_.slow_ms;
      arrivals_.push_back(std::chrono::steady_clock::now());
      max_in_flight_ = std::max(max_in_flight_, ++in_flight_);
    }
    Response response = answer(request.body);
    if (slow > 0) {
      delayed(std::chrono::milliseconds(slow), std::move(responder), std::move(response));
    } else {
      answered();
      responder.respond(std::move(response));
    }
  });
  server_->route("PUT", "/standin/seed", [this](Request request, Responder responder) {
    json seed = json::parse(request.body, nullptr, false);
    if (!seed.is_object()) {
      responder.respond(Response::Text(400, "the seed must be a JSON object\n"));
      return;
    }
    set_seed(std::move(seed));
    responder.respond(Response::Text(204, ""));
  });
  server_->route("PUT", "/standin/faults", [this](Request request, Responder responder) {
    json faults = json::parse(request.body, nullptr, false);
    if (!faults.is_object()) {
      responder.respond(Response::Text(400, "the faults must be a JSON object\n"));
      return;
    }
    try {
      set_faults(MoodleFaults::from_json(faults));
    } catch (const json::exception& e) {
      responder.respond(Response::Text(400, std::string("bad faults: ") + e.what() + "\n"));
      return;
    }
    responder.respond(Response::Text(204, ""));
  });
  server_->route("GET", "/standin/calls", [this](Request, Responder responder) {
    responder.respond(Response::Json(200, json(calls()).dump()));
  });
  if (Status s = server_->start(); !s.ok()) {
    return s;
  }
  delay_thread_ = std::thread([this] { delay_loop(); });
  return Status::Ok();
}

void MoodleStandin::stop() {
  {
    std::lock_guard lock(delay_mu_);
    stopping_ = true;
  }
  delay_cv_.notify_all();
  if (delay_thread_.joinable()) {
    delay_thread_.join();
  }
  if (server_) {
    server_->stop(std::chrono::seconds(2));
  }
}

uint16_t MoodleStandin::port() const { return server_->port(); }

std::string MoodleStandin::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

void MoodleStandin::set_seed(json seed) {
  std::lock_guard lock(mu_);
  seed_ = std::move(seed);
}

void MoodleStandin::set_faults(MoodleFaults faults) {
  std::lock_guard lock(mu_);
  faults_ = std::move(faults);
}

void MoodleStandin::answered() {
  std::lock_guard lock(mu_);
  --in_flight_;
}

int64_t MoodleStandin::max_in_flight() const {
  std::lock_guard lock(mu_);
  return max_in_flight_;
}

std::vector<std::chrono::steady_clock::time_point> MoodleStandin::arrivals() const {
  std::lock_guard lock(mu_);
  return arrivals_;
}

std::map<std::string, int64_t> MoodleStandin::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

void MoodleStandin::delayed(std::chrono::milliseconds delay, Responder responder,
                            Response response) {
  {
    std::lock_guard lock(delay_mu_);
    delayed_.push_back(Delayed{std::chrono::steady_clock::now() + delay, std::move(responder),
                               std::move(response)});
  }
  delay_cv_.notify_all();
}

void MoodleStandin::delay_loop() {
  std::unique_lock lock(delay_mu_);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    auto next = now + std::chrono::hours(1);
    for (auto it = delayed_.begin(); it != delayed_.end();) {
      if (it->due <= now) {
        answered();
        it->responder.respond(std::move(it->response));
        it = delayed_.erase(it);
      } else {
        next = std::min(next, it->due);
        ++it;
      }
    }
    delay_cv_.wait_until(lock, next);
  }
  for (Delayed& d : delayed_) {
    d.responder.respond(Response::Text(503, "stopping\n"));
  }
  delayed_.clear();
}

Response MoodleStandin::answer(const std::string& form_body) {
  std::map<std::string, std::string> params;
  for (auto& [name, value] : moodle::decode_form(form_body)) {
    params[name] = value;  // the last wins, as in PHP
  }
  const std::string function = params.count("wsfunction") ? params["wsfunction"] : "";
  std::lock_guard lock(mu_);
  ++calls_["total"];
  if (faults_.fail_next > 0) {
    --faults_.fail_next;
    return Response::Text(500, "Internal Server Error\n");
  }
  if (params.count("moodlewsrestformat") == 0 || params["moodlewsrestformat"] != "json") {
    // Moodle's default format is XML: a client that forgets the format reads XML.
    Response r = Response::Text(200, "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n<RESPONSE/>\n");
    r.content_type = "application/xml; charset=utf-8";
    return r;
  }
  const auto reply = [](const json& body) { return Response::Json(200, body.dump()); };
  const json* token = nullptr;
  for (const json& t : list(seed_, "tokens")) {
    if (params.count("wstoken") && get_str(t, "token") == params["wstoken"]) {
      token = &t;
    }
  }
  if (token == nullptr || faults_.invalid_token) {
    return reply(error("moodle_exception", "invalidtoken", "Invalid token - token not found"));
  }
  std::vector<std::string> service = default_functions();
  if (const auto it = token->find("functions"); it != token->end() && it->is_array()) {
    service = it->get<std::vector<std::string>>();
  }
  std::erase_if(service,
                [&](const std::string& f) { return faults_.missing_functions.count(f) != 0; });
  const auto known = default_functions();
  if (std::find(known.begin(), known.end(), function) == known.end()) {
    return reply(missing_record("external_functions"));
  }
  if (std::find(service.begin(), service.end(), function) == service.end()) {
    return reply(error("webservice_access_exception", "accessexception", "Access control exception",
                       "Access to the function " + function +
                           "() is not allowed. There could be multiple reasons for this: 1. The "
                           "service linked to the user token does not contain the function."));
  }
  const auto holds = [&](const std::string& capability) {
    if (faults_.missing_capabilities.count(capability) != 0) {
      return false;
    }
    const auto it = token->find("capabilities");
    if (it == token->end() || !it->is_array()) {
      return true;
    }
    return std::find(it->begin(), it->end(), capability) != it->end();
  };
  ++calls_[function];
  if (std::getenv("MOODLE_STANDIN_TRACE") != nullptr) {
    std::fprintf(stderr, "moodle-standin: %s\n", form_body.c_str());  // a debugging aid
  }
  if (function == moodle::kSiteInfo) {
    json info = site_info(*token);
    info["functions"] = json::array();
    for (const std::string& f : service) {
      info["functions"].push_back({{"name", f}, {"version", "2023100900"}});
    }
    return reply(info);
  }
  if (function == moodle::kCoursesByField) {
    return reply(courses(params, holds(moodle::kCourseUpdateCapability)));
  }
  if (function == moodle::kEnrolledUsers) {
    if (!holds("moodle/course:viewparticipants")) {
      return reply(no_permission("moodle/course:viewparticipants", "View participants"));
    }
    return reply(enrolled_users(params, faults_));
  }
  if (function == moodle::kCompletionStatus) {
    return reply(completion(params));
  }
  return reply(badges(params, holds(moodle::kBadgeDetailsCapability)));
}

json MoodleStandin::site_info(const json& token) const {
  const json site = seed_.value("site", json::object());
  return {{"sitename", get_str(site, "sitename", "Moodle stand-in")},
          {"username", get_str(token, "username", "wsuser")},
          {"firstname", "Web"},
          {"lastname", "Service"},
          {"fullname", "Web Service"},
          {"lang", "en"},
          {"userid", get_int(token, "userid", 2)},
          {"siteurl", get_str(site, "siteurl", url())},
          {"userpictureurl", ""},
          {"downloadfiles", 1},
          {"uploadfiles", 1},
          {"release", get_str(site, "release", "4.3.2 (Build: 20231222)")},
          {"version", get_str(site, "version", "2023100902")},
          {"mobilecssurl", ""},
          {"advancedfeatures", json::array()},
          {"usercanmanageownfiles", true},
          {"userquota", 0},
          {"usermaxuploadfilesize", 0},
          {"userhomepage", 1},
          {"siteid", 1},
          {"sitecalendartype", "gregorian"},
          {"usercalendartype", "gregorian"},
          {"theme", "boost"}};
}

json MoodleStandin::courses(const std::map<std::string, std::string>& params,
                            bool can_update) const {
  const std::string field = params.count("field") ? params.at("field") : "";
  const std::string value = params.count("value") ? params.at("value") : "";
  std::set<std::string> wanted;
  if (field == "ids") {
    size_t start = 0;
    while (start <= value.size()) {
      const size_t comma = std::min(value.find(',', start), value.size());
      wanted.insert(value.substr(start, comma - start));
      start = comma + 1;
    }
  } else if (!field.empty() && field != "id" && field != "shortname" && field != "idnumber" &&
             field != "category") {
    return invalid_parameter("Invalid field name");
  }
  json out = {{"courses", json::array()}, {"warnings", json::array()}};
  for (const json& c : list(seed_, "courses")) {
    const std::string id = std::to_string(get_int(c, "id"));
    if ((field == "id" && id != value) || (field == "ids" && wanted.count(id) == 0) ||
        (field == "shortname" && get_str(c, "shortname") != value) ||
        (field == "idnumber" && get_str(c, "idnumber") != value) ||
        (field == "category" && std::to_string(get_int(c, "categoryid")) != value)) {
      continue;
    }
    json course = {{"id", get_int(c, "id")},
                   {"fullname", get_str(c, "fullname")},
                   {"displayname", get_str(c, "fullname")},
                   {"shortname", get_str(c, "shortname")},
                   {"courseimage", ""},
                   {"categoryid", get_int(c, "categoryid", 1)},
                   {"categoryname", "Programme"},
                   {"sortorder", 10000 + get_int(c, "id")},
                   {"summary", ""},
                   {"summaryformat", 1},
                   {"summaryfiles", json::array()},
                   {"overviewfiles", json::array()},
                   {"showactivitydates", true},
                   {"showcompletionconditions", true},
                   {"contacts", json::array()},
                   {"enrollmentmethods", json::array({"manual"})},
                   {"customfields", json::array()},
                   {"format", get_int(c, "id") == 1 ? "site" : "topics"},
                   {"showgrades", 1},
                   {"newsitems", 5},
                   {"startdate", get_int(c, "startdate")},
                   {"enddate", get_int(c, "enddate")},
                   {"visible", c.value("visible", 1)},
                   {"enablecompletion", c.value("enablecompletion", 1)},
                   {"completionnotify", 0},
                   {"lang", ""},
                   {"theme", ""},
                   {"marker", 0},
                   {"calendartype", ""},
                   {"filters", json::array()},
                   {"courseformatoptions", json::array()}};
    // Moodle returns these only to a user who may update the course.
    if (can_update) {
      course["idnumber"] = get_str(c, "idnumber");
      course["timecreated"] = get_int(c, "timemodified");
      course["timemodified"] = get_int(c, "timemodified");
      course["requested"] = 0;
      course["cacherev"] = get_int(c, "timemodified");
      course["maxbytes"] = 0;
      course["groupmode"] = 0;
      course["groupmodeforce"] = 0;
      course["defaultgroupingid"] = 0;
      course["legacyfiles"] = 0;
      course["showreports"] = 0;
    }
    out["courses"].push_back(std::move(course));
  }
  return out;
}

json MoodleStandin::enrolled_users(const std::map<std::string, std::string>& params,
                                   const MoodleFaults& faults) const {
  const auto courseid = to_int(params, "courseid");
  if (!courseid) {
    return invalid_parameter(
        "courseid => Invalid parameter value detected (Missing required key "
        "in single structure: courseid)");
  }
  const json* course = nullptr;
  for (const json& c : list(seed_, "courses")) {
    if (get_int(c, "id") == *courseid) {
      course = &c;
    }
  }
  if (course == nullptr) {
    return missing_record("course");
  }
  if (faults.refuse_courses.count(*courseid) != 0) {
    return no_permission("moodle/course:viewparticipants", "View participants");
  }
  int64_t limitfrom = 0;
  int64_t limitnumber = 0;
  for (int i = 0; params.count("options[" + std::to_string(i) + "][name]") != 0; ++i) {
    const std::string name = params.at("options[" + std::to_string(i) + "][name]");
    const auto value = to_int(params, "options[" + std::to_string(i) + "][value]");
    if (!value) {
      return invalid_parameter("options => value for " + name + " is not an integer");
    }
    if (name == "limitfrom") {
      limitfrom = *value;
    } else if (name == "limitnumber") {
      limitnumber = *value;
    }
  }
  if (faults.large_pages) {
    limitnumber = 0;
  }
  std::map<int64_t, const json*> users;
  for (const json& u : list(seed_, "users")) {
    users[get_int(u, "id")] = &u;
  }
  // The last access to the site: the latest to any of the user's courses.
  std::map<int64_t, int64_t> lastaccess;
  for (const json& e : list(seed_, "enrolments")) {
    int64_t& last = lastaccess[get_int(e, "userid")];
    last = std::max(last, get_int(e, "lastcourseaccess"));
  }
  json out = json::array();
  int64_t index = 0;
  for (const json& e : list(seed_, "enrolments")) {
    if (get_int(e, "courseid") != *courseid) {
      continue;
    }
    const auto it = users.find(get_int(e, "userid"));
    if (it == users.end()) {
      continue;
    }
    if (index++ < limitfrom) {
      continue;
    }
    if (limitnumber > 0 && static_cast<int64_t>(out.size()) >= limitnumber) {
      break;
    }
    const json& u = *it->second;
    const std::string first = get_str(u, "firstname");
    const std::string last = get_str(u, "lastname");
    out.push_back(
        {{"id", get_int(u, "id")},
         {"username", get_str(u, "username")},
         {"firstname", first},
         {"lastname", last},
         {"fullname", first + " " + last},
         {"email", get_str(u, "email")},
         {"department", ""},
         {"idnumber", get_str(u, "idnumber")},
         {"firstaccess", get_int(u, "firstaccess")},
         {"lastaccess", lastaccess[get_int(u, "id")]},
         {"lastcourseaccess", get_int(e, "lastcourseaccess")},
         {"description", ""},
         {"descriptionformat", 1},
         {"profileimageurlsmall", ""},
         {"profileimageurl", ""},
         {"groups", json::array()},
         {"roles",
          json::array({{{"roleid", 5}, {"name", ""}, {"shortname", "student"}, {"sortorder", 0}}})},
         {"enrolledcourses", json::array({{{"id", *courseid},
                                           {"fullname", get_str(*course, "fullname")},
                                           {"shortname", get_str(*course, "shortname")}}})}});
  }
  return out;
}

json MoodleStandin::completion(const std::map<std::string, std::string>& params) const {
  const auto courseid = to_int(params, "courseid");
  const auto userid = to_int(params, "userid");
  if (!courseid || !userid) {
    return invalid_parameter("courseid and userid are required integers");
  }
  const json* course = nullptr;
  for (const json& c : list(seed_, "courses")) {
    if (get_int(c, "id") == *courseid) {
      course = &c;
    }
  }
  if (course == nullptr) {
    return missing_record("course");
  }
  if (course->value("enablecompletion", 1) == 0) {
    return error("moodle_exception", "completionnotenabled",
                 "Completion is not enabled for this course");
  }
  bool enrolled = false;
  for (const json& e : list(seed_, "enrolments")) {
    enrolled = enrolled || (get_int(e, "courseid") == *courseid && get_int(e, "userid") == *userid);
  }
  if (!enrolled) {
    return error("moodle_exception", "nottracked", "User is not tracked by completion");
  }
  const json* done = nullptr;
  for (const json& c : list(seed_, "completions")) {
    if (get_int(c, "courseid") == *courseid && get_int(c, "userid") == *userid) {
      done = &c;
    }
  }
  const int64_t when = done != nullptr ? get_int(*done, "timecompleted") : 0;
  json activity = {{"type", 4},
                   {"title", "Activity completion"},
                   {"status", done != nullptr ? "Yes" : "No"},
                   {"complete", done != nullptr},
                   {"timecompleted", done != nullptr ? json(when) : json(nullptr)},
                   {"details",
                    {{"type", "Activity completion"},
                     {"criteria", "Final assessment"},
                     {"requirement", "Marking yourself complete"},
                     {"status", ""}}}};
  json criteria = json::array({activity});
  if (done != nullptr && done->contains("grade")) {
    char grade[32];
    std::snprintf(grade, sizeof grade, "%.2f", done->at("grade").get<double>());
    criteria.push_back({{"type", 6},
                        {"title", "Course grade"},
                        {"status", "Yes"},
                        {"complete", true},
                        {"timecompleted", when},
                        {"details",
                         {{"type", "Course grade"},
                          {"criteria", "Course grade"},
                          {"requirement", "70.00"},
                          {"status", grade}}}});
  }
  return {{"completionstatus",
           {{"completed", done != nullptr}, {"aggregation", 1}, {"completions", criteria}}},
          {"warnings", json::array()}};
}

json MoodleStandin::badges(const std::map<std::string, std::string>& params,
                           bool configure_details) const {
  const auto userid = to_int(params, "userid");
  if (!userid) {
    return invalid_parameter("userid is a required integer");
  }
  json out = {{"badges", json::array()}, {"warnings", json::array()}};
  const std::string site = get_str(seed_.value("site", json::object()), "sitename", "Moodle");
  for (const json& b : list(seed_, "badges")) {
    if (get_int(b, "userid") != *userid) {
      continue;
    }
    json badge = {{"name", get_str(b, "name")},
                  {"description", get_str(b, "name")},
                  {"issuername", site},
                  {"issuerurl", get_str(seed_.value("site", json::object()), "siteurl", url())},
                  {"issuercontact", nullptr},
                  {"uniquehash", get_str(b, "uniquehash")},
                  {"dateissued", get_int(b, "dateissued")},
                  {"dateexpire", b.contains("dateexpire") ? b["dateexpire"] : json(nullptr)},
                  {"email", ""},
                  {"badgeurl", url() + "/webservice/pluginfile.php/1/badges/badgeimage/" +
                                   std::to_string(get_int(b, "id")) + "/f1"}};
    // Moodle leaves these out for a user without moodle/badges:configuredetails.
    if (configure_details) {
      badge["id"] = get_int(b, "id");
      badge["type"] = get_int(b, "type", 1);
      badge["courseid"] = b.contains("courseid") ? b["courseid"] : json(nullptr);
      badge["timecreated"] = get_int(b, "dateissued");
      badge["timemodified"] = get_int(b, "dateissued");
      badge["status"] = 1;
      badge["issuedid"] = get_int(b, "id") * 100;
      badge["visible"] = 1;
    } else {
      badge["type"] = get_int(b, "type", 1);
    }
    out["badges"].push_back(std::move(badge));
  }
  return out;
}

}  // namespace simpang::standins
