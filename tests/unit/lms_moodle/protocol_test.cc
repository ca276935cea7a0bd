// Moodle's REST protocol as the connector speaks it: the call encoding, the classification of
// every answer form, and the parsers of the five functions' results (after Moodle's external
// function definitions, including the fields Moodle leaves out for lack of a capability).
#include <gtest/gtest.h>

#include "moodle_protocol.h"

namespace simpang::plugins::lms_moodle {
namespace {

using nlohmann::json;

TEST(MoodleEncoding, ScalarsArraysAndNestedObjectsUseMoodlesArrayEncoding) {
  EXPECT_EQ(encode_params({{"field", "ids"}, {"value", "5,7"}}), "field=ids&value=5%2C7");
  EXPECT_EQ(encode_params({{"field", "id"}, {"values", json::array({5, 6})}}),
            "field=id&values[0]=5&values[1]=6");
  EXPECT_EQ(encode_params(enrolled_users_params(12, 200, 100)),
            "courseid=12&options[0][name]=onlyactive&options[0][value]=1"
            "&options[1][name]=limitfrom&options[1][value]=200"
            "&options[2][name]=limitnumber&options[2][value]=100");
  EXPECT_EQ(encode_params({{"flag", true}, {"off", false}, {"none", nullptr}}),
            "flag=1&none=&off=0");
}

TEST(MoodleEncoding, CallBodyCarriesTokenFunctionAndJsonFormatEscaped) {
  EXPECT_EQ(call_body("a b&c", kSiteInfo),
            "wstoken=a+b%26c&wsfunction=core_webservice_get_site_info&moodlewsrestformat=json");
  EXPECT_EQ(call_body("t", kUserBadges, {{"userid", 3}}),
            "wstoken=t&wsfunction=core_badges_get_user_badges&moodlewsrestformat=json&userid=3");
  EXPECT_EQ(form_escape("é/ü?"), "%C3%A9%2F%C3%BC%3F");
}

TEST(MoodleEncoding, DecodeFormInvertsEncodingAndKeepsMalformedEscapes) {
  const auto pairs = decode_form(call_body("x y", kEnrolledUsers, enrolled_users_params(4, 0, 50)));
  ASSERT_GE(pairs.size(), 4u);
  EXPECT_EQ(pairs[0], (std::pair<std::string, std::string>{"wstoken", "x y"}));
  EXPECT_EQ(pairs[3], (std::pair<std::string, std::string>{"courseid", "4"}));
  EXPECT_EQ(pairs.back(), (std::pair<std::string, std::string>{"options[2][value]", "50"}));
  const auto odd = decode_form("a=%zz&%5Bk%5D=%41&&flag");
  ASSERT_EQ(odd.size(), 3u);
  EXPECT_EQ(odd[0].second, "%zz");
  EXPECT_EQ(odd[1], (std::pair<std::string, std::string>{"[k]", "A"}));
  EXPECT_EQ(odd[2], (std::pair<std::string, std::string>{"flag", ""}));
}

struct ErrorCase {
  const char* errorcode;
  FailureKind kind;
};

TEST(MoodleAnswers, EveryErrorFormIsClassified) {
  const ErrorCase cases[] = {
      {"invalidtoken", FailureKind::kInstance},
      {"accessexception", FailureKind::kInstance},
      {"servicenotavailable", FailureKind::kInstance},
      {"nopermissions", FailureKind::kInstance},
      {"wsaccessusersuspended", FailureKind::kInstance},
      {"usernotenroled", FailureKind::kItem},
      {"completionnotenabled", FailureKind::kItem},
      {"invalidrecord", FailureKind::kItem},
      {"nottracked", FailureKind::kItem},
      {"sitemaintenance", FailureKind::kTransient},
      {"somethingnew", FailureKind::kItem},
  };
  for (const ErrorCase& c : cases) {
    const json body = {{"exception", "moodle_exception"},
                       {"errorcode", c.errorcode},
                       {"message", std::string("text of ") + c.errorcode},
                       {"debuginfo", "detail"}};
    const Reply r = classify_reply(200, body.dump());
    ASSERT_FALSE(r.ok()) << c.errorcode;
    EXPECT_EQ(r.failure().kind, c.kind) << c.errorcode;
    EXPECT_EQ(r.failure().errorcode, c.errorcode);
    EXPECT_EQ(r.failure().message, std::string("moodle_exception ") + c.errorcode + ": text of " +
                                       c.errorcode + " (detail)");
  }
}

TEST(MoodleAnswers, HttpStatusesAndNonJsonBodies) {
  EXPECT_EQ(classify_reply(500, "oops").failure().kind, FailureKind::kTransient);
  EXPECT_EQ(classify_reply(503, "").failure().errorcode, "http-503");
  EXPECT_EQ(classify_reply(429, "").failure().kind, FailureKind::kTransient);
  EXPECT_EQ(classify_reply(404, "").failure().kind, FailureKind::kInstance);
  EXPECT_NE(classify_reply(404, "").failure().message.find("HTTP 404"), std::string::npos);
  EXPECT_EQ(classify_reply(200, "<html>maintenance</html>").failure().kind,
            FailureKind::kTransient);
  EXPECT_EQ(classify_reply(200, "not json").failure().kind, FailureKind::kInstance);
  const Reply ok = classify_reply(200, "[]");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok.value().is_array());
  // An object that merely has a "message" member is a result, not an error.
  EXPECT_TRUE(classify_reply(200, R"({"message":"hi"})").ok());
}

TEST(MoodleResults, SiteInfoAndMissingFunctions) {
  const json info = {{"sitename", "Example LMS"},
                     {"siteurl", "https://lms.example.edu.my"},
                     {"username", "wsuser"},
                     {"userid", 2},
                     {"release", "4.3"},
                     {"functions", json::array({{{"name", kSiteInfo}, {"version", "2023"}},
                                                {{"name", kCoursesByField}}})}};
  const auto site = parse_site_info(info);
  ASSERT_TRUE(site.ok()) << site.status().message();
  EXPECT_EQ(site->sitename, "Example LMS");
  EXPECT_EQ(site->userid, 2);
  EXPECT_EQ(missing_functions(*site, {kSiteInfo, kEnrolledUsers, kCoursesByField, kUserBadges}),
            (std::vector<std::string>{kEnrolledUsers, kUserBadges}));
  json broken = info;
  broken.erase("functions");
  EXPECT_EQ(parse_site_info(broken).status().message(),
            "core_webservice_get_site_info: result has no valid 'functions'");
  EXPECT_FALSE(parse_site_info(json::array()).ok());
}

TEST(MoodleResults, CoursesWithAndWithoutTheUpdateCapabilityFields) {
  const json result = {
      {"courses",
       json::array({{{"id", 1}, {"shortname", "site"}, {"fullname", "Site"}, {"format", "site"}},
                    {{"id", 5},
                     {"shortname", "ai101"},
                     {"fullname", "AI Foundations"},
                     {"categoryid", 2},
                     {"visible", 1},
                     {"startdate", 1735689600},
                     {"idnumber", "AI-101"},
                     {"timemodified", "1735700000"},
                     {"enablecompletion", 1}}})},
      {"warnings",
       json::array(
           {{{"item", "course"}, {"itemid", 9}, {"warningcode", "x"}, {"message", "hidden"}}})}};
  const auto courses = parse_courses(result);
  ASSERT_TRUE(courses.ok()) << courses.status().message();
  ASSERT_EQ(courses->courses.size(), 2u);
  EXPECT_FALSE(courses->courses[0].idnumber.has_value());
  EXPECT_EQ(courses->courses[1].idnumber, "AI-101");
  EXPECT_EQ(courses->courses[1].timemodified, 1735700000);  // a numeric string is read too
  EXPECT_EQ(courses->courses[1].enablecompletion, true);
  ASSERT_EQ(courses->warnings.size(), 1u);
  EXPECT_EQ(courses->warnings[0].itemid, 9);
  EXPECT_EQ(parse_courses({{"courses", json::array({{{"shortname", "x"}}})}}).status().message(),
            "core_course_get_courses_by_field: result has no valid 'courses[0].id'");
}

TEST(MoodleResults, EnrolledUsers) {
  const json result = json::array({{{"id", 7},
                                    {"username", "siti"},
                                    {"firstname", "Siti"},
                                    {"lastname", "Lee"},
                                    {"email", "siti@example.edu.my"},
                                    {"lastcourseaccess", 1735800000}},
                                   {{"id", 8}, {"username", "ali"}, {"fullname", "Ali Hassan"}}});
  const auto users = parse_enrolled_users(result);
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].fullname, "Siti Lee");
  EXPECT_EQ((*users)[0].lastcourseaccess, 1735800000);
  EXPECT_EQ((*users)[1].email, "");
  EXPECT_FALSE(parse_enrolled_users({{"users", json::array()}}).ok());
  EXPECT_FALSE(parse_enrolled_users(json::array({{{"username", "noid"}}})).ok());
}

TEST(MoodleResults, CompletionStatusTakesTheLatestCriterionAndTheGrade) {
  const json result = {
      {"completionstatus",
       {{"completed", true},
        {"aggregation", 1},
        {"completions",
         json::array(
             {{{"type", 4}, {"complete", true}, {"timecompleted", 1735900000}},
              {{"type", 6},
               {"complete", true},
               {"timecompleted", 1735950000},
               {"details",
                {{"type", "Course grade"}, {"requirement", "70.00"}, {"status", "85.50"}}}}})}}},
      {"warnings", json::array()}};
  const auto status = parse_completion_status(result);
  ASSERT_TRUE(status.ok()) << status.status().message();
  EXPECT_TRUE(status->completed);
  EXPECT_EQ(status->timecompleted, 1735950000);
  EXPECT_EQ(status->grade, 85.5);
  const auto open = parse_completion_status(
      {{"completionstatus", {{"completed", false}, {"completions", json::array()}}}});
  ASSERT_TRUE(open.ok());
  EXPECT_FALSE(open->completed);
  EXPECT_FALSE(open->grade.has_value());
  EXPECT_FALSE(parse_completion_status({{"completionstatus", json::object()}}).ok());
}

TEST(MoodleResults, BadgesWithAndWithoutConfigureDetails) {
  const json result = {{"badges", json::array({{{"id", 3},
                                                {"name", "AI Practitioner"},
                                                {"type", 2},
                                                {"courseid", 5},
                                                {"uniquehash", "abc123"},
                                                {"dateissued", 1736000000},
                                                {"dateexpire", nullptr}},
                                               {{"name", "Course badge, details hidden"},
                                                {"type", 2},
                                                {"uniquehash", "def456"},
                                                {"dateissued", 1736000100}}})},
                       {"warnings", json::array()}};
  const auto badges = parse_badges(result);
  ASSERT_TRUE(badges.ok()) << badges.status().message();
  ASSERT_EQ(badges->badges.size(), 2u);
  EXPECT_EQ(badges->badges[0].courseid, 5);
  EXPECT_FALSE(badges->badges[0].dateexpire.has_value());
  EXPECT_FALSE(badges->badges[1].id.has_value());
  EXPECT_FALSE(badges->badges[1].courseid.has_value());
  EXPECT_EQ(parse_badges({{"badges", json::array({{{"name", "x"}}})}}).status().message(),
            "core_badges_get_user_badges: result has no valid 'badges[0].uniquehash'");
}

}  // namespace
}  // namespace simpang::plugins::lms_moodle
