// The Moodle stand-in's web-service functions, in the shapes of Moodle's external function
// definitions; see moodle_standin.h.
#include <algorithm>
#include <cstdio>
#include <set>

#include "moodle_standin.h"
#include "standin_json.h"

namespace simpang::standins {

using nlohmann::json;
using simpang::http::Request;
using simpang::http::Responder;
using simpang::http::Response;
namespace moodle = simpang::plugins::lms_moodle;
using namespace standin_internal;

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
