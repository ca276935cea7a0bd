// The admin API's journal operations on a real hub: dead letters from a rejecting sink listed
// (with filters), shown, dropped, replayed one by one and by filter, and delivered once the sink
// accepts; history replayed to a destination by sequence; a table of bad requests, each with its
// status and problem detail; a bearer token required when one is configured. curl is the client.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admin_fixture.h"
#include "test_support.h"

namespace simpang::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class JournalApi : public AdminApi {
 protected:
  static constexpr int kEvents = 30;
  // A source publishing kEvents events to a sink that rejects them while `reject` exists.
  std::string rejecting_config(const std::string& admin) const {
    return hub_section() +
           "plugins:\n"
           "  - name: source\n    plugin: test-source\n"
           "    config: {count: " + std::to_string(kEvents) + ", per_tick: 10, manifest: " +
           (dir_ / "manifest.jsonl").string() +
           "}\n"
           "  - name: sink\n    plugin: test-sink\n    config: {path: " +
           (dir_ / "out.jsonl").string() + ", reject_while: " + reject().string() +
           "}\n"
           "routes:\n  - name: all\n    from: [source]\n    to: [sink]\n" +
           admin;
  }
  std::filesystem::path reject() const { return dir_ / "reject"; }
  json dead(const std::string& query = "") {
    Answer a = curl("/api/v1/dead-letters" + query);
    EXPECT_EQ(a.status, 200) << a.body;
    return json::parse(a.body);
  }
  Answer post(const std::string& path, const std::string& body) {
    return curl(path, {"-X", "POST", "-H", "Content-Type: application/json", "--data", body});
  }
};

TEST_F(JournalApi, DeadLettersAreListedShownDroppedAndReplayedUntilDelivered) {
  write_file(reject(), "");
  start(rejecting_config("admin:\n  port: 0\n"));
  ASSERT_TRUE(wait_for([&] { return dead("?limit=1000")["count"] == kEvents; }, seconds(30)))
      << log();

  const json all = dead("?destination=sink&route=all&type=test.event.created&limit=1000");
  ASSERT_EQ(all["count"], kEvents);
  EXPECT_EQ(dead("?destination=nobody")["count"], 0);
  EXPECT_EQ(dead("?limit=5")["dead_letters"].size(), 5u);
  const json& first = all["dead_letters"][0];
  EXPECT_EQ(first["destination"], "sink");
  EXPECT_EQ(first["route"], "all");
  EXPECT_NE(first["last_error"].get<std::string>().find("test-sink rejects everything"),
            std::string::npos)
      << first;
  const uint64_t first_id = first["id"];
  const uint64_t second_id = all["dead_letters"][1]["id"];

  Answer shown = curl("/api/v1/dead-letters/" + std::to_string(first_id));
  ASSERT_EQ(shown.status, 200) << shown.body;
  const json one = json::parse(shown.body);
  EXPECT_EQ(one["id"], first_id);
  EXPECT_EQ(one["cloudevent"]["id"], first["event"]["id"]);
  EXPECT_EQ(one["cloudevent"]["type"], "test.event.created");

  Answer dropped = curl("/api/v1/dead-letters/" + std::to_string(first_id), {"-X", "DELETE"});
  ASSERT_EQ(dropped.status, 200) << dropped.body;
  EXPECT_EQ(json::parse(dropped.body)["dropped"], 1);
  Answer gone = curl("/api/v1/dead-letters/" + std::to_string(first_id));
  EXPECT_EQ(gone.status, 404);
  EXPECT_NE(json::parse(gone.body)["detail"].get<std::string>().find("is not a dead letter"),
            std::string::npos)
      << gone.body;

  // The sink is fixed: one replayed by id, then the rest by filter; all are delivered.
  std::filesystem::remove(reject());
  Answer replayed = post("/api/v1/dead-letters/" + std::to_string(second_id) + "/replay", "");
  ASSERT_EQ(replayed.status, 200) << replayed.body;
  EXPECT_EQ(json::parse(replayed.body)["replayed"], 1);
  ASSERT_TRUE(wait_for([&] { return count_lines(dir_ / "out.jsonl") == 1; }, seconds(30))) << log();
  Answer rest = post("/api/v1/dead-letters/replay", R"({"destination": "sink"})");
  ASSERT_EQ(rest.status, 200) << rest.body;
  EXPECT_EQ(json::parse(rest.body)["replayed"], kEvents - 2);
  ASSERT_TRUE(wait_for([&] { return count_lines(dir_ / "out.jsonl") == kEvents - 1; },
                       seconds(30)))
      << log();
  EXPECT_EQ(dead()["count"], 0);

  // History again, by sequence: every kept event routed to the sink with nothing pending there.
  Answer history = post("/api/v1/replay", R"({"destination": "sink", "from_seq": 0})");
  ASSERT_EQ(history.status, 200) << history.body;
  const uint64_t queued = json::parse(history.body)["queued"];
  EXPECT_GE(queued, 1u);
  ASSERT_TRUE(wait_for(
      [&] { return count_lines(dir_ / "out.jsonl") == kEvents - 1 + queued; }, seconds(30)))
      << log();

  // Every change is logged with who made it.
  const std::string text = log();
  EXPECT_NE(text.find("admin: no token configured from 127.0.0.1 dropped dead letter " +
                      std::to_string(first_id)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("replayed " + std::to_string(kEvents - 2) + " dead letters (destination=sink"),
            std::string::npos);
  EXPECT_NE(text.find("replayed history to sink (from seq 0)"), std::string::npos);
}

TEST_F(JournalApi, BadRequestsGetProblemDetails) {
  start(rejecting_config("admin:\n  port: 0\n"));
  struct Case {
    std::vector<std::string> curl_args;
    std::string path;
    int status;
    std::string detail;
  };
  const std::string json_type = "Content-Type: application/json";
  const std::vector<Case> cases = {
      {{}, "/api/v1/dead-letters?limit=0", 400, "limit must be a whole number from 1 to 1000"},
      {{}, "/api/v1/dead-letters?limit=x", 400, "got 'x'"},
      {{}, "/api/v1/dead-letters?colour=red", 400, "unknown parameter 'colour'"},
      {{}, "/api/v1/dead-letters?type=%zz", 400, "malformed %-escape"},
      {{}, "/api/v1/dead-letters/abc", 404, "with a numeric id"},
      {{}, "/api/v1/dead-letters/1/undo", 404, "no admin endpoint"},
      {{}, "/api/v1/dead-letters/987654", 404, "is not a dead letter"},
      {{"-X", "PUT"}, "/api/v1/dead-letters", 405, "it allows GET"},
      {{}, "/api/v1/replay", 405, "it allows POST"},
      {{"-X", "POST", "--data", "{}"}, "/api/v1/dead-letters/replay", 415,
       "Content-Type: application/json"},
      {{"-X", "POST", "-H", json_type, "--data", "{}"}, "/api/v1/dead-letters/replay", 400,
       "say which dead letters"},
      {{"-X", "POST", "-H", json_type, "--data", "[1]"}, "/api/v1/dead-letters/replay", 400,
       "not a JSON object"},
      {{"-X", "POST", "-H", json_type, "--data", R"({"colour": 1})"},
       "/api/v1/dead-letters/replay", 400, "unknown member 'colour'"},
      {{"-X", "POST", "-H", json_type, "--data", R"({"destination": 5})"},
       "/api/v1/dead-letters/replay", 400, "'destination' must be a non-empty string"},
      {{"-X", "POST", "-H", json_type, "--data", "{}"}, "/api/v1/replay", 400,
       "'destination' is required"},
      {{"-X", "POST", "-H", json_type, "--data", R"({"destination": "sink"})"}, "/api/v1/replay",
       400, "say where to start"},
      {{"-X", "POST", "-H", json_type, "--data", R"({"destination": "sink", "since": "x"})"},
       "/api/v1/replay", 400, "'since' must be an RFC 3339 time"},
      {{"-X", "POST", "-H", json_type, "--data", R"({"destination": "sink", "from_seq": -1})"},
       "/api/v1/replay", 400, "'from_seq' must be a journal sequence number"},
  };
  for (const Case& c : cases) {
    Answer a = curl(c.path, c.curl_args);
    EXPECT_EQ(a.status, c.status) << c.path << ": " << a.body;
    EXPECT_EQ(a.content_type, "application/problem+json") << c.path;
    const json body = json::parse(a.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << c.path << ": " << a.body;
    EXPECT_EQ(body["status"], c.status);
    EXPECT_NE(body["detail"].get<std::string>().find(c.detail), std::string::npos)
        << c.path << ": " << body["detail"];
  }
}

TEST_F(JournalApi, ATokenIsRequiredWhenConfigured) {
  write_file(dir_ / "admin.token", "Xk3journalToken\n");
  start(rejecting_config("admin:\n  port: 0\n  token: ${file:admin.token}\n"));
  for (const std::string path : {"/api/v1/dead-letters", "/api/v1/dead-letters/1"}) {
    EXPECT_EQ(curl(path).status, 401) << path;
  }
  EXPECT_EQ(curl("/api/v1/dead-letters/replay",
                 {"-X", "POST", "-H", "Content-Type: application/json", "--data", "{\"all\":true}"})
                .status,
            401);
  Answer with = curl("/api/v1/dead-letters", {"-H", "Authorization: Bearer Xk3journalToken"});
  EXPECT_EQ(with.status, 200) << with.body;
}

}  // namespace
}  // namespace simpang::testing
