// lms-xapi in a real hub (`simpang run`), on real loopback, with curl as the learning platform:
// good statements are stored, answered, published raw and mapped to talent events; a table of bad
// requests, each with its status and the message naming the property and the rule, none of which
// publishes anything; 409 for an id reused with other content; queries; voiding; About; the store
// across a restart.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "lrs_hub.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::lms_xapi_test {
namespace {

using nlohmann::json;
using simpang::v1::Event;

constexpr char kLearner[] = "mailto:siti@example.edu.my";
constexpr char kCourse[] = "http://lms.example.edu.my/course/ml-101";

json statement(const std::string& verb, const std::string& id = "",
               const std::string& mbox = kLearner, const std::string& activity = kCourse) {
  json s = {
      {"actor", {{"mbox", mbox}, {"name", "Siti"}}},
      {"verb", {{"id", "http://adlnet.gov/expapi/verbs/" + verb}, {"display", {{"en-US", verb}}}}},
      {"object",
       {{"id", activity},
        {"definition",
         {{"type", "http://adlnet.gov/expapi/activities/course"},
          {"name", {{"en-US", "Machine learning 101"}, {"ms-MY", "Pembelajaran mesin 101"}}}}}}},
      {"timestamp", "2026-11-30T08:15:00Z"}};
  if (!id.empty()) s["id"] = id;
  return s;
}

const Event* find(const std::vector<Event>& events, const std::string& id) {
  for (const Event& e : events) {
    if (e.id() == id) return &e;
  }
  return nullptr;
}

TEST(LmsXapiHub, GoodStatementsAreStoredPublishedAndMapped) {
  LrsHub hub;
  const std::string id = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0";
  json registered = statement("registered", id);
  registered["context"] = {{"registration", "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}};
  XapiAnswer a = hub.request("POST", "/xapi/statements", registered.dump());
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(json::parse(a.body), json::array({id}));
  EXPECT_EQ(a.header("X-Experience-API-Version"), "1.0.3");
  EXPECT_FALSE(a.header("X-Experience-API-Consistent-Through").empty()) << a.raw;

  json passed = statement("passed");
  passed["result"] = {{"score", {{"scaled", 0.87}}}, {"success", true}, {"completion", true}};
  json earned = statement("earned");
  earned["verb"]["id"] = "http://id.tincanapi.com/verb/earned";
  earned["object"] = {{"id", "http://lms.example.edu.my/badge/ml-101"},
                      {"definition", {{"name", {{"en-US", "ML 101 certificate"}}}}}};
  earned["context"] = {{"contextActivities", {{"parent", {{"id", kCourse}}}}}};
  a = hub.request("POST", "/xapi/statements", json::array({passed, earned}).dump());
  ASSERT_EQ(a.status, 200) << a.raw;
  const json ids = json::parse(a.body);
  ASSERT_EQ(ids.size(), 2u);
  const std::string passed_id = ids[0], earned_id = ids[1];

  const std::string put_id = "6690e6c9-3ef0-4ed3-8b37-7f3964730bee";
  a = hub.request("PUT", "/xapi/statements?statementId=" + put_id, statement("attempted").dump());
  EXPECT_EQ(a.status, 204) << a.raw;

  // 4 statements stored raw, plus enrollment, completion and credential.
  const std::vector<Event> out = hub.wait_for_output(7);
  EXPECT_EQ(out.size(), 7u);
  const Event* raw = find(out, id);
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(raw->type(), "xapi.statement.stored");
  EXPECT_EQ(raw->source(), "/lms/xapi/test");
  EXPECT_EQ(raw->subject(), "siti@example.edu.my");
  const json stored = json::parse(raw->text_data());
  EXPECT_EQ(stored["verb"]["id"], "http://adlnet.gov/expapi/verbs/registered");
  EXPECT_EQ(stored["authority"]["account"]["name"], "moodle");
  EXPECT_EQ(stored["version"], "1.0.0");
  EXPECT_TRUE(stored.contains("stored"));
  ASSERT_NE(find(out, put_id), nullptr);

  const Event* enrollment = find(out, id + ".enrollment");
  ASSERT_NE(enrollment, nullptr);
  EXPECT_EQ(enrollment->type(), "talent.enrollment.created");
  simpang::talent::v1::Enrollment e;
  ASSERT_TRUE(simpang::sdk::get_json_data(*enrollment, e).ok());
  EXPECT_EQ(e.enrollment_id(), "ec531277-b57b-4c15-8d91-d292c5b2b8f7");
  EXPECT_EQ(e.person_id(), "siti@example.edu.my");
  EXPECT_EQ(e.course_id(), kCourse);
  EXPECT_EQ(e.enrolled_at().seconds(), 1796026500);

  const Event* completion = find(out, passed_id + ".completion");
  ASSERT_NE(completion, nullptr);
  EXPECT_EQ(completion->type(), "talent.completion.recorded");
  simpang::talent::v1::Completion c;
  ASSERT_TRUE(simpang::sdk::get_json_data(*completion, c).ok());
  EXPECT_DOUBLE_EQ(c.score(), 87);
  EXPECT_TRUE(c.passed());
  EXPECT_TRUE(c.certification());

  const Event* credential = find(out, earned_id + ".credential");
  ASSERT_NE(credential, nullptr);
  simpang::talent::v1::Credential k;
  ASSERT_TRUE(simpang::sdk::get_json_data(*credential, k).ok());
  EXPECT_EQ(k.name(), "ML 101 certificate");
  EXPECT_EQ(k.course_id(), kCourse);
  EXPECT_EQ(k.person_id(), "siti@example.edu.my");

  a = hub.request("GET", "/xapi/statements?statementId=" + id);
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(json::parse(a.body), stored);
  EXPECT_FALSE(a.header("X-Experience-API-Consistent-Through").empty());
  EXPECT_FALSE(a.header("Last-Modified").empty());
}

TEST(LmsXapiHub, BadRequestsGetTheirStatusAndMessageAndPublishNothing) {
  LrsHub hub;
  struct Case {
    std::string name;
    std::string method;
    std::string target;
    std::string body;
    RequestOptions options;
    int status;
    std::string phrase;
  };
  json bad_mbox = statement("completed");
  bad_mbox["actor"]["mbox"] = "siti@example.edu.my";
  json two_ifis = statement("completed");
  two_ifis["actor"]["openid"] = "http://openid.example.org/siti";
  json bad_scaled = statement("completed");
  bad_scaled["result"] = {{"score", {{"scaled", 1.5}}}};
  json unknown = statement("completed");
  unknown["grade"] = "A";
  json bad_timestamp = statement("completed");
  bad_timestamp["timestamp"] = "30/11/2026";
  json bad_duration = statement("completed");
  bad_duration["result"] = {{"duration", "90 minutes"}};
  json bad_registration = statement("completed");
  bad_registration["context"] = {{"registration", "42"}};
  json bad_verb = statement("completed");
  bad_verb["verb"]["id"] = "completed";
  json bad_language = statement("completed");
  bad_language["verb"]["display"] = {{"en_US", "completed"}};
  const std::string good = statement("completed").dump();
  RequestOptions no_auth{.auth = false};
  RequestOptions no_version{.version = false};
  RequestOptions old_version{.version = false, .headers = {"X-Experience-API-Version: 0.95"}};
  RequestOptions text{.content_type = "text/plain"};
  RequestOptions multipart{.content_type = "multipart/mixed; boundary=abc"};
  const std::vector<Case> cases = {
      {"no credentials", "POST", "/xapi/statements", good, no_auth, 401, "HTTP Basic"},
      {"no version header", "POST", "/xapi/statements", good, no_version, 400,
       "X-Experience-API-Version: required"},
      {"old version", "POST", "/xapi/statements", good, old_version, 400, "must be 1.0.x"},
      {"text body", "POST", "/xapi/statements", good, text, 400, "must be application/json"},
      {"multipart", "POST", "/xapi/statements", good, multipart, 400, "multipart/mixed"},
      {"not JSON", "POST", "/xapi/statements", "{\"actor\":", {}, 400, "not valid JSON"},
      {"not a statement", "POST", "/xapi/statements", "42", {}, 400, "must be a statement"},
      {"mbox not mailto",
       "POST",
       "/xapi/statements",
       bad_mbox.dump(),
       {},
       400,
       "actor.mbox: must be a mailto IRI"},
      {"two identifiers",
       "POST",
       "/xapi/statements",
       two_ifis.dump(),
       {},
       400,
       "actor: an Agent must have exactly one inverse functional identifier"},
      {"scaled out of range",
       "POST",
       "/xapi/statements",
       bad_scaled.dump(),
       {},
       400,
       "result.score.scaled: must be between -1 and 1"},
      {"unknown property",
       "POST",
       "/xapi/statements",
       unknown.dump(),
       {},
       400,
       "grade: unknown property"},
      {"bad timestamp",
       "POST",
       "/xapi/statements",
       bad_timestamp.dump(),
       {},
       400,
       "timestamp: must be an ISO 8601 timestamp"},
      {"bad duration",
       "POST",
       "/xapi/statements",
       bad_duration.dump(),
       {},
       400,
       "result.duration: must be an ISO 8601 duration"},
      {"bad registration",
       "POST",
       "/xapi/statements",
       bad_registration.dump(),
       {},
       400,
       "context.registration: must be a UUID"},
      {"verb not an IRI",
       "POST",
       "/xapi/statements",
       bad_verb.dump(),
       {},
       400,
       "verb.id: must be an absolute IRI"},
      {"bad language tag", "POST", "/xapi/statements", bad_language.dump(), {}, 400, "RFC 5646"},
      {"bad one of a batch",
       "POST",
       "/xapi/statements",
       json::array({statement("completed"), bad_mbox}).dump(),
       {},
       400,
       "[1].actor.mbox"},
      {"same id twice in a batch",
       "POST",
       "/xapi/statements",
       json::array({statement("completed", "fd41c918-b88b-4b20-a0a5-a4c32391aaa1"),
                    statement("passed", "fd41c918-b88b-4b20-a0a5-a4c32391aaa1")})
           .dump(),
       {},
       400,
       "two statements with id"},
      {"batch too large",
       "POST",
       "/xapi/statements",
       json(std::vector<json>(21, statement("completed"))).dump(),
       {},
       413,
       "at most 20"},
      {"PUT without statementId",
       "PUT",
       "/xapi/statements",
       good,
       {},
       400,
       "requires the statementId"},
      {"PUT with a bad statementId",
       "PUT",
       "/xapi/statements?statementId=42",
       good,
       {},
       400,
       "statementId\",\"message\":\"must be a UUID"},
      {"PUT id differs",
       "PUT",
       "/xapi/statements?statementId=fd41c918-b88b-4b20-a0a5-a4c32391aaa2",
       statement("completed", "fd41c918-b88b-4b20-a0a5-a4c32391aaa3").dump(),
       {},
       400,
       "differs from the statementId"},
      {"GET bad since",
       "GET",
       "/xapi/statements?since=yesterday",
       "",
       {},
       400,
       "parameter 'since': must be an ISO 8601 timestamp"},
      {"GET unknown parameter",
       "GET",
       "/xapi/statements?colour=red",
       "",
       {},
       400,
       "parameter 'colour': unknown parameter"},
      {"GET bad agent",
       "GET",
       "/xapi/statements?agent=%7B%22mbox%22%3A%22siti%22%7D",
       "",
       {},
       400,
       "agent.mbox: must be a mailto IRI"},
      {"GET id with filters",
       "GET",
       "/xapi/statements?statementId=fd41c918-b88b-4b20-a0a5-a4c32391aaa0&verb=http://x.example/v",
       "",
       {},
       400,
       "not allowed with statementId"},
      {"GET bad more token",
       "GET",
       "/xapi/statements?more=zz",
       "",
       {},
       400,
       "not a token this LRS issued"},
      {"GET attachments", "GET", "/xapi/statements?attachments=true", "", {}, 400, "not supported"},
      {"GET unknown id",
       "GET",
       "/xapi/statements?statementId=fd41c918-b88b-4b20-a0a5-a4c32391aaa9",
       "",
       {},
       404,
       "no statement"},
      {"DELETE", "DELETE", "/xapi/statements", "", {}, 405, "immutable"},
      {"document resource",
       "GET",
       "/xapi/activities/state",
       "",
       {},
       404,
       "Document Resources are not implemented"},
  };
  for (const Case& c : cases) {
    const XapiAnswer a = hub.request(c.method, c.target, c.body, c.options);
    EXPECT_EQ(a.status, c.status) << c.name << "\n" << a.raw;
    EXPECT_NE(a.body.find(c.phrase), std::string::npos) << c.name << ": " << a.body;
    EXPECT_EQ(a.header("X-Experience-API-Version"), "1.0.3") << c.name;
    if (c.status == 401) {
      EXPECT_NE(a.header("WWW-Authenticate").find("Basic"), std::string::npos) << a.raw;
    }
  }
  // Wrong password: refused without saying which part is wrong.
  const XapiAnswer wrong = hub.request(
      "POST", "/xapi/statements", good,
      RequestOptions{.auth = false, .headers = {"Authorization: Basic bW9vZGxlLWxyczpub3Bl"}});
  EXPECT_EQ(wrong.status, 401) << wrong.raw;
  EXPECT_NE(wrong.body.find("invalid user-id or password"), std::string::npos) << wrong.body;

  // Nothing of the refused requests reached the hub: a marker is the only statement out.
  const std::string marker = "0d6e5c5b-6f0e-4f6a-9d57-2b1f2f0f0f01";
  ASSERT_EQ(hub.request("POST", "/xapi/statements", statement("completed", marker).dump()).status,
            200);
  const std::vector<Event> out = hub.wait_for_output(2);  // the marker and its completion
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].id(), marker);
}

TEST(LmsXapiHub, SameIdSameContentIsAcceptedAgainAndOtherContentIs409) {
  LrsHub hub;
  const std::string id = "3b1a8f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
  const json first = statement("attempted", id);
  ASSERT_EQ(hub.request("POST", "/xapi/statements", first.dump()).status, 200);
  XapiAnswer again = hub.request("POST", "/xapi/statements", first.dump());
  EXPECT_EQ(again.status, 200) << again.raw;
  EXPECT_EQ(json::parse(again.body), json::array({id}));
  EXPECT_EQ(hub.request("PUT", "/xapi/statements?statementId=" + id, first.dump()).status, 204);
  // Not part of the statement (xAPI-Data.md 2.3.1): the verb's display, the Activity definition.
  json relabelled = first;
  relabelled["verb"]["display"] = {{"ms-MY", "mencuba"}};
  relabelled["object"]["definition"]["name"] = {{"en-US", "ML 101 (2026)"}};
  EXPECT_EQ(hub.request("POST", "/xapi/statements", relabelled.dump()).status, 200);

  const XapiAnswer conflict =
      hub.request("POST", "/xapi/statements", statement("completed", id).dump());
  EXPECT_EQ(conflict.status, 409) << conflict.raw;
  EXPECT_NE(conflict.body.find("already stored with different content"), std::string::npos);
  // A batch with one conflicting statement stores none of it.
  const std::string fresh = "3b1a8f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5c";
  const XapiAnswer batch =
      hub.request("POST", "/xapi/statements",
                  json::array({statement("attempted", fresh), statement("completed", id)}).dump());
  EXPECT_EQ(batch.status, 409) << batch.raw;
  EXPECT_NE(batch.body.find("[1].id"), std::string::npos) << batch.body;
  EXPECT_EQ(hub.request("GET", "/xapi/statements?statementId=" + fresh).status, 404);

  const XapiAnswer got = hub.request("GET", "/xapi/statements?statementId=" + id);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body)["verb"]["id"], "http://adlnet.gov/expapi/verbs/attempted");
  // Published once (the hub keeps one event per id).
  ASSERT_EQ(hub.request("POST", "/xapi/statements", statement("attempted", fresh).dump()).status,
            200);
  const std::vector<Event> out = hub.wait_for_output(2);
  EXPECT_EQ(out.size(), 2u);
}

TEST(LmsXapiHub, QueriesFilterPageAndShape) {
  LrsHub hub;
  const std::string reg = "ec531277-b57b-4c15-8d91-d292c5b2b8f7";
  std::vector<json> batch;
  for (int i = 0; i < 5; ++i) {
    json s = statement(i % 2 == 0 ? "completed" : "attempted", "",
                       i < 3 ? kLearner : "mailto:amir@example.edu.my",
                       std::string(kCourse) + (i == 4 ? "-b" : ""));
    if (i == 1) s["context"] = {{"registration", reg}};
    if (i == 2) {
      s["object"]["id"] = "http://lms.example.edu.my/quiz/1";
      s["context"] = {{"contextActivities", {{"parent", {{"id", kCourse}}}}}};
    }
    batch.push_back(s);
  }
  XapiAnswer a = hub.request("POST", "/xapi/statements", json(batch).dump());
  ASSERT_EQ(a.status, 200) << a.raw;
  const json ids = json::parse(a.body);

  const auto query = [&](const std::string& q) {
    const XapiAnswer r = hub.request("GET", "/xapi/statements" + q);
    EXPECT_EQ(r.status, 200) << q << "\n" << r.raw;
    EXPECT_FALSE(r.header("X-Experience-API-Consistent-Through").empty()) << q;
    EXPECT_FALSE(r.header("Last-Modified").empty()) << q;
    return json::parse(r.body.empty() ? "{}" : r.body);
  };
  const auto ids_of = [](const json& result) {
    std::vector<std::string> out;
    for (const json& s : result["statements"]) out.push_back(s["id"]);
    return out;
  };
  // Newest first by default.
  EXPECT_EQ(ids_of(query("")), (std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));
  EXPECT_EQ(ids_of(query("?ascending=true")),
            (std::vector<std::string>{ids[0], ids[1], ids[2], ids[3], ids[4]}));
  EXPECT_EQ(ids_of(query("?agent=%7B%22mbox%22%3A%22mailto%3Aamir%40example.edu.my%22%7D")),
            (std::vector<std::string>{ids[4], ids[3]}));
  EXPECT_EQ(ids_of(query("?verb=http%3A%2F%2Fadlnet.gov%2Fexpapi%2Fverbs%2Fcompleted")),
            (std::vector<std::string>{ids[4], ids[2], ids[0]}));
  EXPECT_EQ(ids_of(query("?activity=" + std::string(kCourse))),
            (std::vector<std::string>{ids[3], ids[1], ids[0]}));
  EXPECT_EQ(ids_of(query("?activity=" + std::string(kCourse) + "&related_activities=true")),
            (std::vector<std::string>{ids[3], ids[2], ids[1], ids[0]}));
  EXPECT_EQ(ids_of(query("?registration=" + reg)), (std::vector<std::string>{ids[1]}));
  EXPECT_TRUE(query("?until=2000-01-01T00:00:00Z")["statements"].empty());
  EXPECT_EQ(query("?since=2000-01-01T00:00:00Z")["statements"].size(), 5u);

  // Paging: two at a time, following `more`, sees each statement once.
  std::vector<std::string> seen;
  json page = query("?limit=2");
  for (int pages = 0; pages < 5; ++pages) {
    for (const std::string& id : ids_of(page)) seen.push_back(id);
    const std::string more = page["more"];
    if (more.empty()) break;
    EXPECT_EQ(more.rfind("/xapi/statements?more=", 0), 0u) << more;
    page = query(more.substr(std::string("/xapi/statements").size()));
  }
  EXPECT_EQ(seen, (std::vector<std::string>{ids[4], ids[3], ids[2], ids[1], ids[0]}));

  // format=ids keeps identifiers only; canonical keeps one language.
  const json by_ids = query("?format=ids&limit=1")["statements"][0];
  EXPECT_FALSE(by_ids["actor"].contains("name"));
  EXPECT_EQ(by_ids["object"],
            (json{{"objectType", "Activity"}, {"id", std::string(kCourse) + "-b"}}));
  const XapiAnswer canonical = hub.request("GET", "/xapi/statements?format=canonical&limit=1", "",
                                           RequestOptions{.headers = {"Accept-Language: ms-MY"}});
  ASSERT_EQ(canonical.status, 200);
  EXPECT_EQ(json::parse(canonical.body)["statements"][0]["object"]["definition"]["name"],
            (json{{"ms-MY", "Pembelajaran mesin 101"}}));
}

TEST(LmsXapiHub, VoidingHidesTheStatementFromQueriesButNotFromVoidedStatementId) {
  LrsHub hub;
  const std::string target = "9a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d";
  ASSERT_EQ(hub.request("POST", "/xapi/statements", statement("completed", target).dump()).status,
            200);
  json voiding = statement("voided");
  voiding["object"] = {{"objectType", "StatementRef"}, {"id", target}};
  XapiAnswer a = hub.request("POST", "/xapi/statements", voiding.dump());
  ASSERT_EQ(a.status, 200) << a.raw;
  const std::string voiding_id = json::parse(a.body)[0];

  a = hub.request("GET", "/xapi/statements?statementId=" + target);
  EXPECT_EQ(a.status, 404) << a.raw;
  EXPECT_NE(a.body.find("is voided"), std::string::npos) << a.body;
  a = hub.request("GET", "/xapi/statements?voidedStatementId=" + target);
  ASSERT_EQ(a.status, 200) << a.raw;
  EXPECT_EQ(json::parse(a.body)["id"], target);
  const json all = json::parse(hub.request("GET", "/xapi/statements").body);
  ASSERT_EQ(all["statements"].size(), 1u);
  EXPECT_EQ(all["statements"][0]["id"], voiding_id);
  // The voiding statement targets a `completed` one, so a verb filter for completed finds it
  // (xAPI-Communication.md 2.1.3, Filter Conditions for StatementRefs).
  const json completed = json::parse(
      hub.request("GET", "/xapi/statements?verb=http://adlnet.gov/expapi/verbs/completed").body);
  ASSERT_EQ(completed["statements"].size(), 1u) << completed.dump();
  EXPECT_EQ(completed["statements"][0]["id"], voiding_id);
  EXPECT_TRUE(
      json::parse(hub.request("GET", "/xapi/statements?verb=http://adlnet.gov/expapi/verbs/passed")
                      .body)["statements"]
          .empty());
}

TEST(LmsXapiHub, AboutAndTheStoreAcrossARestart) {
  LrsHub hub;
  XapiAnswer about =
      hub.request("GET", "/xapi/about", "", RequestOptions{.auth = false, .version = false});
  ASSERT_EQ(about.status, 200) << about.raw;
  EXPECT_EQ(json::parse(about.body)["version"], json::array({"1.0.3"}));
  const std::string id = "1f2e3d4c-5b6a-4978-8a6b-5c4d3e2f1a0b";
  ASSERT_EQ(hub.request("POST", "/xapi/statements", statement("completed", id).dump()).status, 200);
  ASSERT_EQ(hub.stop(), 0);
  hub.start();
  const XapiAnswer got = hub.request("GET", "/xapi/statements?statementId=" + id);
  EXPECT_EQ(got.status, 200) << got.raw;
  const XapiAnswer head = hub.request("HEAD", "/xapi/statements?statementId=" + id);
  EXPECT_EQ(head.status, 200) << head.raw;
  EXPECT_TRUE(head.body.empty()) << head.raw;
  EXPECT_FALSE(head.header("Last-Modified").empty()) << head.raw;
  EXPECT_EQ(hub.request("POST", "/xapi/statements", statement("passed", id).dump()).status, 409);
}

// The stand-in learning platform's seeded cohort: every good statement stored, every bad one
// refused, and the sink holds one xapi.statement.stored per stored statement plus one talent event
// per mapped verb.
TEST(LmsXapiHub, TheStandInPlatformsCohortArrivesWhole) {
  LrsHub hub;
  simpang::testing::TempDir dir("xclient");
  simpang::testing::write_file(dir / "pw", hub.password() + "\n");
  const auto run = simpang::testing::run_command(
      {std::string(SIMPANG_BUILD_DIR) + "/bin/xapi-standin-client", "--url",
       "http://127.0.0.1:" + std::to_string(hub.port()) + "/xapi", "--user", kUser,
       "--password-file", (dir / "pw").string(), "--learners", "12", "--seed", "7", "--batch", "5",
       "--bad-every", "20", "--ids-file", (dir / "ids").string()},
      60s);
  ASSERT_EQ(run.status, 0) << run.output << hub.log();
  std::map<std::string, int> summary;
  std::istringstream words(run.output);
  for (std::string word; words >> word;) {
    const size_t eq = word.find('=');
    if (eq != std::string::npos) summary[word.substr(0, eq)] = std::stoi(word.substr(eq + 1));
  }
  ASSERT_GT(summary["stored"], 0) << run.output;
  EXPECT_GT(summary["bad_refused"], 0) << run.output;
  EXPECT_EQ(summary["sent"], summary["stored"] + summary["bad_refused"]) << run.output;
  const int talent = summary["registered"] + summary["completed"] + summary["passed"] +
                     summary["failed"] + summary["earned"];
  const std::vector<Event> out = hub.wait_for_output(summary["stored"] + talent);
  std::map<std::string, int> by_type;
  for (const Event& e : out) ++by_type[e.type()];
  EXPECT_EQ(by_type["xapi.statement.stored"], summary["stored"]);
  EXPECT_EQ(by_type["talent.enrollment.created"], summary["registered"]);
  EXPECT_EQ(by_type["talent.completion.recorded"],
            summary["completed"] + summary["passed"] + summary["failed"]);
  EXPECT_EQ(by_type["talent.credential.issued"], summary["earned"]);
  // Each stored id is readable from the LRS.
  const std::vector<std::string> ids = simpang::testing::read_lines(dir / "ids");
  ASSERT_EQ(ids.size(), static_cast<size_t>(summary["stored"]));
  for (size_t i = 0; i < ids.size(); i += 17) {
    EXPECT_EQ(hub.request("GET", "/xapi/statements?statementId=" + ids[i]).status, 200) << ids[i];
  }
}

}  // namespace
}  // namespace simpang::lms_xapi_test
