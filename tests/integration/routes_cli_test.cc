// Trying a route change before applying it, as an administrator would, with the real `simpang`
// binary: `simpang routes test` (each event of a file against a configuration's routes, no hub)
// and shadow replay (`simpang replay CONFIG --through NEW_CONFIG`: journaled history through a
// changed configuration's routes, nothing delivered), once while a hub still runs on the journal.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace simpang::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

std::string event_line(const std::string& id, const std::string& type,
                       const std::string& subject = "") {
  json e = {{"specversion", "1.0"}, {"id", id}, {"source", "/lms/test"}, {"type", type}};
  if (!subject.empty()) e["subject"] = subject;
  return e.dump() + "\n";
}

class RoutesCli : public ::testing::Test {
 protected:
  // Instances: `lms` publishes (source-jsonl over events.jsonl), three sinks. Routes: completions
  // to ledger and feed, everything under talent.** to ledger.
  std::string config_text(const std::string& routes, const std::string& extra_sink = "") const {
    std::string text = "hub:\n  state_dir: " + state().string() +
                       "\n  log_level: warn\nplugins:\n"
                       "  - name: lms\n    plugin: source-jsonl\n    config: {path: " +
                       events().string() + "}\n";
    for (const std::string sink : {"ledger", "feed"}) {
      text += "  - name: " + sink + "\n    plugin: sink-jsonl\n    config: {path: " +
              (dir_ / (sink + ".jsonl")).string() + "}\n";
    }
    if (!extra_sink.empty()) {
      text += "  - name: " + extra_sink + "\n    plugin: sink-jsonl\n    config: {path: " +
              (dir_ / (extra_sink + ".jsonl")).string() + "}\n";
    }
    return text + "routes:\n" + routes;
  }
  static std::string today_routes() {
    return "  - name: completions\n    from: [lms]\n    match: {type: talent.completion.*}\n"
           "    to: [ledger, feed]\n"
           "  - name: talent\n    from: [\"l*\"]\n    match: {type: \"talent.**\"}\n"
           "    to: [ledger]\n";
  }

  std::filesystem::path config() const { return dir_ / "hub.yaml"; }
  std::filesystem::path state() const { return dir_ / "state"; }
  std::filesystem::path events() const { return dir_ / "events.jsonl"; }

  CommandResult simpang(std::vector<std::string> args) const {
    args.insert(args.begin(), simpang_binary().string());
    return run_command(args, seconds(60));
  }

  TempDir dir_;
};

void expect_says(const CommandResult& result, const std::vector<std::string>& words) {
  for (const auto& word : words) {
    EXPECT_NE(result.output.find(word), std::string::npos)
        << "expected the output to say '" << word << "':\n"
        << result.output;
  }
}

TEST_F(RoutesCli, RoutesTestNamesEveryMatchingRouteAndWhereEachEventGoes) {
  write_file(config(), config_text(today_routes()));
  write_file(events(), event_line("e1", "talent.completion.recorded", "p1") +
                           event_line("e2", "talent.enrollment.created") + "\n" +
                           event_line("e3", "other.thing") + "not json\n");
  const auto table = simpang(
      {"routes", "test", config().string(), "--events", events().string(), "--from", "lms"});
  EXPECT_EQ(table.status, 1) << table.output;  // a line that is not an event
  expect_says(table, {
                         "line 1: talent.completion.recorded id=e1",
                         "route completions (" + config().string() + ":",
                         "from lms; type talent.completion.*) -> ledger, feed",
                         "route talent (",
                         "-> ledger",
                         "goes to: ledger (by completions) feed (by completions)",
                         "line 2: talent.enrollment.created id=e2",
                         "goes to: ledger (by talent)",
                         "line 4: other.thing id=e3",
                         "unrouted: no route matches it from lms",
                         events().string() + ":5: not an event: not valid JSON",
                         "3 events from lms: 2 routed, 1 unrouted; 1 lines not events",
                     });

  const auto as_json = simpang({"routes", "test", config().string(), "--events", events().string(),
                                "--from", "lms", "--json"});
  std::vector<json> lines;
  std::istringstream in(as_json.output);
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 4u) << as_json.output;
  EXPECT_EQ(lines[0]["line"], 1);
  ASSERT_EQ(lines[0]["routes"].size(), 2u);  // both routes match e1, though talent adds nothing
  EXPECT_EQ(lines[0]["routes"][0]["route"], "completions");
  EXPECT_EQ(lines[0]["routes"][1]["route"], "talent");
  EXPECT_EQ(lines[0]["destinations"],
            json::parse(R"([{"destination":"ledger","route":"completions"},
                            {"destination":"feed","route":"completions"}])"));
  EXPECT_EQ(lines[1]["destinations"],
            json::parse(R"([{"destination":"ledger","route":"talent"}])"));
  EXPECT_TRUE(lines[2]["unrouted"]);
  EXPECT_EQ(lines[3]["line"], 5);
  EXPECT_NE(lines[3]["error"].get<std::string>().find("not valid JSON"), std::string::npos);

  // Published by another instance, the `from: [lms]` route no longer matches; `l*` still does.
  write_file(events(), event_line("e1", "talent.completion.recorded"));
  const auto other = simpang(
      {"routes", "test", config().string(), "--events", events().string(), "--from", "ledger"});
  EXPECT_EQ(other.status, 0) << other.output;
  expect_says(other, {"goes to: ledger (by talent)"});
  EXPECT_EQ(other.output.find("route completions"), std::string::npos) << other.output;
}

TEST_F(RoutesCli, RoutesTestRefusesWhatItCannotAnswer) {
  write_file(config(), config_text(today_routes()));
  write_file(events(), event_line("e1", "talent.completion.recorded"));
  const auto unknown = simpang(
      {"routes", "test", config().string(), "--events", events().string(), "--from", "nobody"});
  EXPECT_EQ(unknown.status, 1);
  expect_says(unknown, {"no instance named 'nobody'", "the instances are: lms, ledger, feed"});
  const auto missing = simpang({"routes", "test", config().string(), "--events",
                                (dir_ / "none.jsonl").string(), "--from", "lms"});
  EXPECT_EQ(missing.status, 1);
  expect_says(missing, {"none.jsonl: cannot read the events file"});
  const auto bad = dir_ / "bad.yaml";
  write_file(bad, "routes: [\n  - a\n");
  const auto invalid =
      simpang({"routes", "test", bad.string(), "--events", events().string(), "--from", "lms"});
  EXPECT_EQ(invalid.status, 1);
  expect_says(invalid, {bad.string() + ":2:3:"});
  const auto no_from =
      simpang({"routes", "test", config().string(), "--events", events().string()});
  EXPECT_NE(no_from.status, 0);
  expect_says(no_from, {"--from"});
}

TEST_F(RoutesCli, ShadowReplayCountsWhatAChangedConfigurationWouldDeliverDifferently) {
  // 6 completions, 4 enrollments, 2 person records, 3 events no route takes.
  std::string lines;
  int n = 0;
  for (int i = 0; i < 6; ++i)
    lines += event_line("c" + std::to_string(++n), "talent.completion.recorded");
  for (int i = 0; i < 4; ++i)
    lines += event_line("n" + std::to_string(++n), "talent.enrollment.created");
  for (int i = 0; i < 2; ++i)
    lines += event_line("p" + std::to_string(++n), "talent.person.registered");
  for (int i = 0; i < 3; ++i) lines += event_line("o" + std::to_string(++n), "other.thing");
  write_file(events(), lines);
  write_file(config(), config_text(today_routes()));
  // The change: completions also go to a new archive; the broad talent route narrows to persons.
  const auto next = dir_ / "next.yaml";
  write_file(
      next,
      config_text("  - name: completions\n    from: [lms]\n    match: {type: talent.completion.*}\n"
                  "    to: [ledger, feed, archive]\n"
                  "  - name: talent\n    from: [\"l*\"]\n    match: {type: \"talent.person.*\"}\n"
                  "    to: [ledger]\n",
                  "archive"));

  Process hub({simpang_binary().string(), "run", config().string()}, dir_ / "hub.log");
  ASSERT_TRUE(wait_for([&] { return count_lines(dir_ / "ledger.jsonl") >= 12; }, seconds(60)))
      << read_file(dir_ / "hub.log");

  const auto check = [&](const CommandResult& result) {
    ASSERT_EQ(result.status, 0) << result.output;
    const json out = json::parse(result.output);
    EXPECT_EQ(out["events"], 15);
    EXPECT_EQ(out["unrouted"]["current"], 3);
    EXPECT_EQ(out["unrouted"]["next"], 7);  // the 4 enrollments are no longer routed
    const json& d = out["destinations"];
    EXPECT_EQ(d["ledger"]["unchanged"], 8);  // 6 completions + 2 persons
    EXPECT_EQ(d["ledger"]["removed"], 4);    // the enrollments
    EXPECT_EQ(d["ledger"]["added"], 0);
    EXPECT_EQ(d["feed"]["unchanged"], 6);
    EXPECT_EQ(d["feed"]["added"], 0);
    EXPECT_EQ(d["feed"]["removed"], 0);
    EXPECT_EQ(d["archive"]["added"], 6);
    EXPECT_FALSE(d["archive"]["in_current"]);
    EXPECT_TRUE(d["archive"]["in_next"]);
    ASSERT_EQ(d["ledger"]["removed_samples"].size(), 3u);
    EXPECT_EQ(d["ledger"]["removed_samples"][0]["type"], "talent.enrollment.created");
  };
  // While the hub runs on the journal: read only, beside its writer.
  check(simpang({"replay", config().string(), "--through", next.string(), "--json"}));
  ASSERT_TRUE(hub.running());
  ASSERT_EQ(hub.stop(seconds(20)), 0) << read_file(dir_ / "hub.log");
  check(simpang({"replay", config().string(), "--through", next.string(), "--json"}));
  // Nothing was delivered: no archive file, the sinks hold what the hub delivered.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "archive.jsonl"));
  EXPECT_EQ(count_lines(dir_ / "ledger.jsonl"), 12u);
  EXPECT_EQ(count_lines(dir_ / "feed.jsonl"), 6u);

  const auto table = simpang({"replay", config().string(), "--through", next.string()});
  EXPECT_EQ(table.status, 0) << table.output;
  expect_says(table, {"shadow replay of 15 journaled events", "nothing is delivered",
                      "archive (new)", "added, e.g.: c1 (talent.completion.recorded)",
                      "removed, e.g.: n7 (talent.enrollment.created)",
                      "unrouted: 3 today, 7 with the change"});
  // A window in the future holds nothing.
  const auto later = simpang({"replay", config().string(), "--through", next.string(), "--since",
                              "2200-01-01T00:00:00Z", "--json"});
  ASSERT_EQ(later.status, 0) << later.output;
  EXPECT_EQ(json::parse(later.output)["events"], 0);
}

TEST_F(RoutesCli, ShadowReplayRefusesBadInputWithTheReason) {
  write_file(events(), event_line("c1", "talent.completion.recorded"));
  write_file(config(), config_text(today_routes()));
  const auto next = dir_ / "next.yaml";
  write_file(next, "routes: [\n  - a\n");
  // No journal yet: said, and none is created.
  const auto no_journal = simpang({"replay", config().string(), "--through", next.string()});
  EXPECT_EQ(no_journal.status, 1);
  expect_says(no_journal, {"no such file"});
  EXPECT_FALSE(std::filesystem::exists(state() / "journal.db"));

  const auto run = simpang({"run", config().string(), "--duration", "1s"});
  ASSERT_EQ(run.status, 0) << run.output;
  const auto invalid = simpang({"replay", config().string(), "--through", next.string()});
  EXPECT_EQ(invalid.status, 1);
  expect_says(invalid, {"the changed configuration is not valid", next.string() + ":2:3:"});
  write_file(next, config_text(today_routes()));
  const auto bad_time =
      simpang({"replay", config().string(), "--through", next.string(), "--since", "yesterday"});
  EXPECT_EQ(bad_time.status, 2);
  expect_says(bad_time, {"--since 'yesterday' is not an RFC 3339 time"});
  const auto far = simpang(
      {"replay", config().string(), "--through", next.string(), "--since", "2999-01-01T00:00:00Z"});
  EXPECT_EQ(far.status, 2);
  expect_says(far, {"--since '2999-01-01T00:00:00Z' is out of range"});
  const auto by_seq =
      simpang({"replay", config().string(), "--through", next.string(), "--from-seq", "1"});
  EXPECT_EQ(by_seq.status, 2);
  expect_says(by_seq, {"use --since"});
  const auto neither = simpang({"replay", config().string()});
  EXPECT_EQ(neither.status, 2);
  expect_says(neither, {"--to DESTINATION", "--through NEW_CONFIG"});
  const auto both =
      simpang({"replay", config().string(), "--to", "ledger", "--through", next.string()});
  EXPECT_NE(both.status, 0);
  expect_says(both, {"excludes"});
}

}  // namespace
}  // namespace simpang::testing
