// lms-moodle in a real hub (`simpang run`) against the Moodle stand-in on loopback, routed to
// sink-jsonl: the events of a site arrive once each; a later change in Moodle becomes an event; a
// kill -9 of the hub in the middle of a poll neither skips nor invents events (a re-send carries
// its id); an invalid token degrades the instance with Moodle's message and it recovers; missing
// functions and capabilities are named; 500s are retried; a refused course is skipped.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "moodle_changes.h"
#include "moodle_standin.h"
#include "simpang/sdk/cloudevents.h"
#include "test_support.h"

namespace simpang::plugins::lms_moodle {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using simpang::Status;
using simpang::standins::MoodleFaults;
using simpang::standins::MoodleStandin;
using simpang::testing::read_file;
using simpang::testing::wait_for;

constexpr char kTokenVariable[] = "SIMPANG_IT_MOODLE_TOKEN";
constexpr char kToken[] = "it-moodle-token-5f3a";

// The demo's seed, with the test's token.
json demo_seed() {
  json seed = json::parse(
      read_file(std::filesystem::path(SIMPANG_SOURCE_DIR) / "tests/standins/moodle/seed.json"));
  seed["tokens"][0]["token"] = kToken;
  return seed;
}

// The demo seed: 3 courses (and the front page), 5 learners, 7 enrolments, 2 completions and 2
// badges.
constexpr size_t kDemoEvents = 3 + 5 + 7 + 2 + 2;

// A site of `courses` courses with `per_course` learners each out of `users`.
json large_seed(int courses, int users, int per_course) {
  json seed = demo_seed();
  seed["courses"] = json::array({{{"id", 1}, {"shortname", "lms"}, {"fullname", "LMS"}}});
  seed["users"] = json::array();
  seed["enrolments"] = json::array();
  seed["completions"] = json::array();
  seed["badges"] = json::array();
  for (int c = 0; c < courses; ++c) {
    seed["courses"].push_back({{"id", 10 + c},
                               {"shortname", "c" + std::to_string(c)},
                               {"fullname", "Course " + std::to_string(c)},
                               {"idnumber", "C-" + std::to_string(c)},
                               {"timemodified", 1735600000 + c}});
  }
  for (int u = 0; u < users; ++u) {
    seed["users"].push_back({{"id", 1000 + u},
                             {"username", "u" + std::to_string(u)},
                             {"firstname", "Learner"},
                             {"lastname", std::to_string(u)},
                             {"email", "u" + std::to_string(u) + "@example.edu.my"},
                             {"firstaccess", 1735000000 + u}});
  }
  for (int c = 0; c < courses; ++c) {
    for (int k = 0; k < per_course; ++k) {
      const int u = (c * 7 + k) % users;
      seed["enrolments"].push_back(
          {{"courseid", 10 + c}, {"userid", 1000 + u}, {"lastcourseaccess", 1736000000 + k}});
      if (k % 5 == 0) {
        seed["completions"].push_back(
            {{"courseid", 10 + c}, {"userid", 1000 + u}, {"timecompleted", 1736500000 + k}});
        seed["badges"].push_back({{"userid", 1000 + u},
                                  {"id", 500 + c},
                                  {"name", "Badge " + std::to_string(c)},
                                  {"type", 2},
                                  {"courseid", 10 + c},
                                  {"uniquehash", "h" + std::to_string(c) + "x" + std::to_string(u)},
                                  {"dateissued", 1736500100 + k}});
      }
    }
  }
  return seed;
}

// How many events of each kind a seed makes: courses but the front page, enrolled learners,
// enrolments, completions and badges of enrolled learners.
struct Expected {
  size_t courses = 0, persons = 0, enrolments = 0, completions = 0, badges = 0;
  size_t total() const { return courses + persons + enrolments + completions + badges; }
};
Expected expected(const json& seed) {
  Expected e;
  std::set<int64_t> learners;
  for (const json& c : seed["courses"]) {
    e.courses += c["id"] != 1 ? 1 : 0;
  }
  for (const json& en : seed["enrolments"]) {
    learners.insert(en["userid"].get<int64_t>());
    ++e.enrolments;
  }
  e.persons = learners.size();
  e.completions = seed["completions"].size();
  e.badges = seed["badges"].size();
  return e;
}

// The ids the connector must give the seed's enrolments, completions and badges: they depend on
// nothing but the site and the entity, so they are known before the run.
std::set<std::string> expected_ids(const json& seed) {
  const Site site{"lms.example.edu.my", "/simpang/lms-moodle/moodle"};
  std::set<std::string> ids;
  for (const json& e : seed["enrolments"]) {
    ids.insert(event_id(site, enrollment_key(e["courseid"], e["userid"]), "enrolled"));
  }
  for (const json& c : seed["completions"]) {
    ids.insert(event_id(site, enrollment_key(c["courseid"], c["userid"]), "completed"));
  }
  for (const json& b : seed["badges"]) {
    ids.insert(event_id(site, badge_key(b["uniquehash"].get<std::string>()), "issued"));
  }
  return ids;
}

struct HubOptions {
  std::string extra_config;  // more lines of the instance's config:
  int requests_per_second = 500;
  int max_concurrency = 4;
  std::string full_sync_interval = "1h";
  bool isolated = false;  // the instance in a plugin host process
};

class MoodleHub {
 public:
  explicit MoodleHub(MoodleStandin& site, HubOptions options = {})
      : site_(site), options_(std::move(options)), dir_("lmsm") {
    ::setenv(kTokenVariable, kToken, 1);
    simpang::testing::write_file(dir_ / "hub.yaml", config());
  }
  ~MoodleHub() {
    if (hub_) {
      hub_->stop(20s);
    }
  }

  void start() {
    hub_ = std::make_unique<simpang::testing::Process>(
        std::vector<std::string>{simpang::testing::simpang_binary().string(), "run",
                                 (dir_ / "hub.yaml").string()},
        dir_ / "hub.log");
  }
  void kill_hub() {
    hub_->signal(SIGKILL);
    ASSERT_TRUE(hub_->wait(20s).has_value());
  }
  std::optional<int> stop() { return hub_->stop(20s); }
  std::string log() const { return read_file(dir_ / "hub.log"); }
  bool log_has(const std::string& text, std::chrono::milliseconds timeout = 30s) const {
    return wait_for([&] { return log().find(text) != std::string::npos; }, timeout);
  }
  std::filesystem::path output() const { return dir_ / "out.jsonl"; }
  size_t lines() const { return simpang::testing::count_lines(output()); }
  bool wait_lines(size_t n, std::chrono::milliseconds timeout = 60s) const {
    return wait_for([&] { return lines() >= n; }, timeout);
  }
  std::vector<simpang::v1::Event> events() const {
    std::vector<simpang::v1::Event> out;
    for (const std::string& line : simpang::testing::read_lines(output())) {
      auto e = simpang::sdk::from_cloudevents_json(line);
      EXPECT_TRUE(e.ok()) << line;
      if (e.ok()) {
        out.push_back(std::move(*e));
      }
    }
    return out;
  }
  std::map<std::string, int> ids() const { return simpang::testing::event_ids(output()); }
  std::map<std::string, int> types() const {
    std::map<std::string, int> out;
    std::set<std::string> seen;
    for (const auto& e : events()) {
      if (seen.insert(e.id()).second) {
        ++out[e.type()];
      }
    }
    return out;
  }
  // Waits until the stand-in has answered `polls` more complete polls (one courses call each).
  bool wait_polls(int polls) const {
    const auto courses_calls = [&] {
      const auto calls = site_.calls();
      const auto it = calls.find("core_course_get_courses_by_field");
      return it == calls.end() ? int64_t{0} : it->second;
    };
    const int64_t target = courses_calls() + polls + 1;  // +1: the poll under way may be half done
    return wait_for([&] { return courses_calls() >= target; }, 60s);
  }

 private:
  std::string config() const {
    return "hub:\n"
           "  state_dir: " +
           (dir_ / "state").string() +
           "\n"
           "  summary_interval: 0s\n"
           "plugins:\n"
           "  - name: moodle\n"
           "    plugin: lms-moodle\n" +
           std::string(options_.isolated ? "    isolation: process\n" : "") +
           "    config:\n"
           "      url: " +
           site_.url() +
           "\n"
           "      token: \"${env:" +
           kTokenVariable +
           "}\"\n"
           "      poll_interval: 200ms\n"
           "      full_sync_interval: " +
           options_.full_sync_interval +
           "\n"
           "      requests_per_second: " +
           std::to_string(options_.requests_per_second) +
           "\n"
           "      max_concurrency: " +
           std::to_string(options_.max_concurrency) +
           "\n"
           "      page_size: 20\n"
           "      retry_backoff: 50ms\n"
           "      max_retry_backoff: 400ms\n"
           "      segment: student\n" +
           options_.extra_config +
           "  - name: capture\n"
           "    plugin: sink-jsonl\n"
           "    config:\n"
           "      path: " +
           output().string() +
           "\n"
           "routes:\n"
           "  - name: moodle-to-capture\n"
           "    from: [moodle]\n"
           "    to: [capture]\n";
  }

  MoodleStandin& site_;
  const HubOptions options_;
  simpang::testing::TempDir dir_;
  std::unique_ptr<simpang::testing::Process> hub_;
};

std::unique_ptr<MoodleStandin> start_site(json seed) {
  auto site = std::make_unique<MoodleStandin>(std::move(seed));
  const Status s = site->start();
  EXPECT_TRUE(s.ok()) << s.message();
  return site;
}

TEST(LmsMoodleHub, ASitesEventsArriveOnceAndALaterChangeBecomesAnEvent) {
  auto site = start_site(demo_seed());
  MoodleHub hub(*site);
  hub.start();
  ASSERT_EQ(expected(demo_seed()).total(), kDemoEvents);
  ASSERT_TRUE(hub.wait_lines(kDemoEvents)) << hub.log();
  ASSERT_TRUE(hub.log_has("Moodle site 'Programme LMS (stand-in)'")) << hub.log();
  // Two more complete polls find nothing new.
  ASSERT_TRUE(hub.wait_polls(2)) << hub.log();
  EXPECT_EQ(hub.lines(), kDemoEvents) << hub.log();
  EXPECT_EQ(hub.types(), (std::map<std::string, int>{{"talent.completion.recorded", 2},
                                                     {"talent.course.published", 3},
                                                     {"talent.credential.issued", 2},
                                                     {"talent.enrollment.created", 7},
                                                     {"talent.person.registered", 5}}));
  for (const auto& [id, n] : hub.ids()) {
    EXPECT_EQ(n, 1) << id;
  }
  // The events carry Moodle's data.
  bool found = false;
  for (const auto& e : hub.events()) {
    if (e.type() == "talent.completion.recorded" && e.subject() == "lms.example.edu.my/user/101") {
      found = true;
      EXPECT_EQ(e.source(), "/simpang/lms-moodle/moodle");
      EXPECT_EQ(e.time().seconds(), 1736300000);
      const json data = json::parse(e.text_data());
      EXPECT_EQ(data["courseId"], "lms.example.edu.my/course/2");
      EXPECT_EQ(data["score"], 86.5);
      EXPECT_EQ(data["passed"], true);
    }
  }
  EXPECT_TRUE(found);

  // Nurul (105) comes back to course 4 and completes it; her profile changes too.
  json seed = demo_seed();
  for (json& e : seed["enrolments"]) {
    if (e["courseid"] == 4 && e["userid"] == 105) {
      e["lastcourseaccess"] = 1741000000;
    }
  }
  seed["completions"].push_back({{"courseid", 4}, {"userid", 105}, {"timecompleted", 1741000100}});
  seed["users"][4]["email"] = "nurul@acme.example.com";
  site->set_seed(seed);
  ASSERT_TRUE(hub.wait_lines(kDemoEvents + 2)) << hub.log();
  ASSERT_TRUE(hub.wait_polls(1)) << hub.log();
  const auto types = hub.types();
  EXPECT_EQ(types.at("talent.completion.recorded"), 3);
  EXPECT_EQ(types.at("talent.person.registered"), 6);  // the upsert
  EXPECT_EQ(hub.lines(), kDemoEvents + 2);
  EXPECT_EQ(hub.stop(), 0);
}

TEST(LmsMoodleHub, InAPluginHostProcessTheEventsArriveToo) {
  auto site = start_site(demo_seed());
  MoodleHub hub(*site, {.isolated = true});
  hub.start();
  ASSERT_TRUE(hub.wait_lines(kDemoEvents)) << hub.log();
  ASSERT_TRUE(hub.wait_polls(1)) << hub.log();
  EXPECT_EQ(hub.lines(), kDemoEvents);
  EXPECT_EQ(hub.stop(), 0);
}

TEST(LmsMoodleHub, ReconciliationFindsACompletionAndABadgeGivenWhileTheLearnerWasAway) {
  auto site = start_site(demo_seed());
  // 1 s of 200 ms polls: five reconciliation slots.
  MoodleHub hub(*site, {.full_sync_interval = "1s"});
  hub.start();
  ASSERT_TRUE(hub.wait_lines(kDemoEvents)) << hub.log();
  // A teacher marks Arjun (102) complete in course 4 and awards a badge; he is not on the site.
  json seed = demo_seed();
  seed["completions"].push_back({{"courseid", 4}, {"userid", 102}, {"timecompleted", 1741000000}});
  seed["badges"].push_back({{"userid", 102},
                            {"id", 12},
                            {"name", "Data Analytics"},
                            {"type", 2},
                            {"courseid", 4},
                            {"uniquehash", "0a1b2c3d4e5f"},
                            {"dateissued", 1741000050}});
  site->set_seed(seed);
  ASSERT_TRUE(hub.wait_lines(kDemoEvents + 2)) << hub.log();
  const auto types = hub.types();
  EXPECT_EQ(types.at("talent.completion.recorded"), 3);
  EXPECT_EQ(types.at("talent.credential.issued"), 3);
  EXPECT_TRUE(hub.log_has("(reconciliation slot 5 of 5)")) << hub.log();
  EXPECT_EQ(hub.stop(), 0);
}

TEST(LmsMoodleHub, KillNineOfTheHubMidPollNeitherSkipsNorRepeats) {
  // 30 courses x 40 learners: 30 + 243 + 1200 + 240 + 240 events.
  const json seed = large_seed(30, 300, 40);
  const Expected want = expected(seed);
  const size_t kExpected = want.total();
  ASSERT_EQ(kExpected, 30u + 243 + 1200 + 240 + 240);
  auto site = start_site(seed);
  // Slow enough that the kill lands in the middle of the first poll.
  MoodleHub hub(*site, {.requests_per_second = 150});
  hub.start();
  ASSERT_TRUE(hub.wait_lines(kExpected / 3)) << hub.log();
  hub.kill_hub();
  const size_t before = hub.lines();
  ASSERT_LT(before, kExpected) << "the poll had finished before the kill";
  hub.start();
  ASSERT_TRUE(hub.wait_lines(kExpected, 120s)) << hub.log();
  ASSERT_TRUE(hub.wait_polls(1)) << hub.log();
  const auto ids = hub.ids();
  // Every change is there, under one id each: a re-sent event kept its id (a changed id would
  // show as an extra one), and nothing was skipped (fewer).
  EXPECT_EQ(ids.size(), kExpected);
  // And those are the ids the changes must have.
  size_t found = 0;
  for (const std::string& id : expected_ids(seed)) {
    found += ids.count(id);
  }
  EXPECT_EQ(found, want.enrolments + want.completions + want.badges);
  size_t resent = 0;
  for (const auto& [id, n] : ids) {
    resent += n > 1 ? 1 : 0;
  }
  std::cout << "kill -9 after " << before << " of " << kExpected << " events; " << resent
            << " delivered twice (same id)\n";
  const auto types = hub.types();
  EXPECT_EQ(types.at("talent.course.published"), want.courses);
  EXPECT_EQ(types.at("talent.person.registered"), want.persons);
  EXPECT_EQ(types.at("talent.enrollment.created"), want.enrolments);
  EXPECT_EQ(types.at("talent.completion.recorded"), want.completions);
  EXPECT_EQ(types.at("talent.credential.issued"), want.badges);
  EXPECT_EQ(hub.stop(), 0);
}

TEST(LmsMoodleHub, AnInvalidTokenDegradesWithMoodlesMessageAndRecovers) {
  auto site = start_site(demo_seed());
  site->set_faults({.invalid_token = true});
  MoodleHub hub(*site);
  hub.start();
  EXPECT_TRUE(
      hub.log_has("degraded: core_webservice_get_site_info refused: moodle_exception "
                  "invalidtoken: Invalid token - token not found"))
      << hub.log();
  EXPECT_EQ(hub.lines(), 0u);
  site->set_faults({});
  EXPECT_TRUE(hub.log_has("no longer degraded")) << hub.log();
  EXPECT_TRUE(hub.wait_lines(kDemoEvents)) << hub.log();
  EXPECT_EQ(hub.stop(), 0);
}

TEST(LmsMoodleHub, AMissingFunctionIsNamed) {
  json seed = demo_seed();
  seed["tokens"][0]["functions"] = {"core_webservice_get_site_info",
                                    "core_course_get_courses_by_field",
                                    "core_completion_get_course_completion_status"};
  auto site = start_site(seed);
  MoodleHub hub(*site);
  hub.start();
  EXPECT_TRUE(hub.log_has("degraded: the token's service lacks core_enrol_get_enrolled_users"))
      << hub.log();
  EXPECT_TRUE(hub.log_has("the token's service lacks core_badges_get_user_badges")) << hub.log();
  EXPECT_EQ(hub.lines(), 0u);
}

TEST(LmsMoodleHub, WithoutTheBadgeFunctionTheRestArrives) {
  json seed = demo_seed();
  seed["tokens"][0]["functions"] = {
      "core_webservice_get_site_info", "core_course_get_courses_by_field",
      "core_enrol_get_enrolled_users", "core_completion_get_course_completion_status"};
  auto site = start_site(seed);
  MoodleHub hub(*site);
  hub.start();
  ASSERT_TRUE(hub.wait_lines(kDemoEvents - 2)) << hub.log();
  ASSERT_TRUE(hub.wait_polls(1)) << hub.log();
  EXPECT_EQ(hub.lines(), kDemoEvents - 2);
  EXPECT_EQ(hub.types().count("talent.credential.issued"), 0u);
  EXPECT_TRUE(
      hub.log_has("the token's service lacks core_badges_get_user_badges: "
                  "talent.credential.issued events are not emitted"));
  EXPECT_EQ(hub.stop(), 0);
}

TEST(LmsMoodleHub, MissingCapabilitiesAreNamed) {
  auto site = start_site(demo_seed());
  site->set_faults(
      {.missing_capabilities = {"moodle/course:update", "moodle/badges:configuredetails"}});
  MoodleHub hub(*site);
  hub.start();
  ASSERT_TRUE(hub.wait_lines(kDemoEvents)) << hub.log();
  EXPECT_TRUE(
      hub.log_has("the token's role lacks moodle/course:update: Moodle leaves out the "
                  "courses' idnumber"))
      << hub.log();
  EXPECT_TRUE(hub.log_has("the token's role lacks moodle/badges:configuredetails")) << hub.log();
  EXPECT_EQ(hub.stop(), 0);
}

TEST(LmsMoodleHub, ServerErrorsAreRetriedAndARefusedCourseIsSkipped) {
  auto site = start_site(demo_seed());
  site->set_faults({.fail_next = 3, .refuse_courses = {3}});
  MoodleHub hub(*site);
  hub.start();
  // Course 3's two enrolments, its one new learner (104) and nothing else are missing.
  ASSERT_TRUE(hub.wait_lines(kDemoEvents - 3)) << hub.log();
  ASSERT_TRUE(hub.wait_polls(1)) << hub.log();
  EXPECT_EQ(hub.lines(), kDemoEvents - 3);
  EXPECT_TRUE(
      hub.log_has("core_enrol_get_enrolled_users refused for course 3, skipped: "
                  "required_capability_exception nopermissions"))
      << hub.log();
  EXPECT_EQ(hub.stop(), 0);
}

TEST(LmsMoodleHub, TheRateAndConcurrencyLimitsAreHonoured) {
  const json seed = large_seed(4, 60, 30);
  auto site = start_site(seed);
  site->set_faults({.slow_ms = 60});  // calls overlap unless the connector keeps them apart
  MoodleHub hub(*site, {.requests_per_second = 40, .max_concurrency = 2});
  hub.start();
  ASSERT_TRUE(hub.wait_lines(expected(seed).total(), 90s)) << hub.log();
  EXPECT_LE(site->max_in_flight(), 2);
  EXPECT_EQ(site->max_in_flight(), 2);  // and the limit is used: it is not one at a time
  // In any window of one second: at most 40 calls plus the burst of one second's worth.
  const auto arrivals = site->arrivals();
  ASSERT_GT(arrivals.size(), 100u);
  size_t most = 0;
  for (size_t i = 0, j = 0; j < arrivals.size(); ++j) {
    while (arrivals[j] - arrivals[i] >= 1s) {
      ++i;
    }
    most = std::max(most, j - i + 1);
  }
  EXPECT_LE(most, 80u);
  const auto span = arrivals.back() - arrivals.front();
  EXPECT_GE(span, std::chrono::milliseconds(1000 * (arrivals.size() - 40) / 40 - 100));
  EXPECT_EQ(hub.stop(), 0);
}

TEST(LmsMoodleHub, SlowAnswersAndOversizedPagesStillComplete) {
  const json seed = large_seed(3, 100, 45);
  auto site = start_site(seed);
  site->set_faults({.slow_ms = 100, .large_pages = true});
  MoodleHub hub(*site);
  hub.start();
  const size_t kExpected = expected(seed).total();
  ASSERT_TRUE(hub.wait_lines(kExpected, 90s)) << hub.log();
  EXPECT_TRUE(hub.log_has("(limitnumber ignored): taking it as the last page")) << hub.log();
  ASSERT_TRUE(hub.wait_polls(1)) << hub.log();
  EXPECT_EQ(hub.ids().size(), kExpected);
  EXPECT_EQ(hub.stop(), 0);
}

}  // namespace
}  // namespace simpang::plugins::lms_moodle
