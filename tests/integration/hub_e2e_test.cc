// End to end: the real hub process, real plugins, real inproc:// and ipc:// sockets, real files.
// A test source publishes numbered events and writes a manifest of what it emitted; sink-jsonl
// writes what it received; the tests compare the two.
#include <signal.h>

#include <algorithm>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace simpang::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

struct Sink {
  std::string name;
  std::string transport = "inproc";
};

std::string hub_config(const TempDir& dir, int count, const std::string& source_transport,
                       const std::vector<Sink>& sinks, int per_tick = 200) {
  std::string yaml = "hub:\n  state_dir: " + (dir / "state").string() +
                     "\n  summary_interval: 0s\n  heartbeat: 500ms\n  log_level: info\n"
                     "plugins:\n"
                     "  - name: source\n    plugin: test-source\n    transport: " +
                     source_transport + "\n    config:\n      count: " + std::to_string(count) +
                     "\n      per_tick: " + std::to_string(per_tick) +
                     "\n      manifest: " + (dir / "manifest.jsonl").string() + "\n";
  std::string to;
  for (const auto& sink : sinks) {
    yaml += "  - name: " + sink.name + "\n    plugin: sink-jsonl\n    transport: " +
            sink.transport + "\n    config:\n      path: " + (dir / (sink.name + ".jsonl")).string() +
            "\n";
    to += (to.empty() ? "" : ", ") + sink.name;
  }
  yaml += "routes:\n  - name: all\n    from: [source]\n    match:\n      type: test.**\n    to: [" +
          to + "]\n";
  return yaml;
}

// The multiset of lines, for comparison regardless of order.
std::multiset<std::string> line_set(const std::filesystem::path& file) {
  auto lines = read_lines(file);
  return {lines.begin(), lines.end()};
}

class HubEndToEnd : public ::testing::Test {
 protected:
  // Starts the hub on `yaml`, waits until every sink file holds `expect` lines, stops it with
  // SIGTERM and returns its exit status.
  int run_until_delivered(const std::string& yaml, const std::vector<std::string>& sinks,
                          size_t expect) {
    write_file(dir_ / "hub.yaml", yaml);
    Process hub({simpang_binary().string(), "run", (dir_ / "hub.yaml").string()},
                dir_ / "hub.log");
    const bool delivered = wait_for(
        [&] {
          return std::all_of(sinks.begin(), sinks.end(), [&](const std::string& sink) {
            return count_lines(dir_ / (sink + ".jsonl")) >= expect;
          });
        },
        seconds(120));
    hub.signal(SIGTERM);
    auto status = hub.wait(seconds(30));
    EXPECT_TRUE(delivered) << "not every event arrived; hub log:\n" << read_file(dir_ / "hub.log");
    EXPECT_TRUE(status.has_value()) << "hub did not exit after SIGTERM";
    return status.value_or(-1);
  }

  TempDir dir_;
};

TEST_F(HubEndToEnd, EveryEventArrivesByteForByteOverInproc) {
  constexpr int kCount = 20000;
  const int status = run_until_delivered(hub_config(dir_, kCount, "inproc", {{"out"}}), {"out"}, kCount);
  EXPECT_EQ(status, 0) << read_file(dir_ / "hub.log");
  const auto sent = line_set(dir_ / "manifest.jsonl");
  const auto received = line_set(dir_ / "out.jsonl");
  EXPECT_EQ(sent.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(received, sent);
}

TEST_F(HubEndToEnd, EveryEventArrivesByteForByteOverIpc) {
  constexpr int kCount = 20000;
  const int status = run_until_delivered(
      hub_config(dir_, kCount, "ipc", {{"out", "ipc"}}), {"out"}, kCount);
  EXPECT_EQ(status, 0) << read_file(dir_ / "hub.log");
  EXPECT_EQ(line_set(dir_ / "out.jsonl"), line_set(dir_ / "manifest.jsonl"));
  EXPECT_EQ(count_lines(dir_ / "out.jsonl"), static_cast<size_t>(kCount));
}

TEST_F(HubEndToEnd, FanOutDeliversEveryEventToBothSinks) {
  constexpr int kCount = 10000;
  const int status = run_until_delivered(
      hub_config(dir_, kCount, "inproc", {{"left"}, {"right", "ipc"}}), {"left", "right"}, kCount);
  EXPECT_EQ(status, 0) << read_file(dir_ / "hub.log");
  const auto sent = line_set(dir_ / "manifest.jsonl");
  EXPECT_EQ(sent.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(line_set(dir_ / "left.jsonl"), sent);
  EXPECT_EQ(line_set(dir_ / "right.jsonl"), sent);
}

TEST_F(HubEndToEnd, SigtermMidStreamDrainsWhatWasPublishedAndExitsZero) {
  // Slow enough that SIGTERM lands long before the source is done.
  constexpr int kCount = 1000000;
  write_file(dir_ / "hub.yaml", hub_config(dir_, kCount, "inproc", {{"out"}}, /*per_tick=*/5));
  Process hub({simpang_binary().string(), "run", (dir_ / "hub.yaml").string()}, dir_ / "hub.log");
  ASSERT_TRUE(wait_for([&] { return count_lines(dir_ / "out.jsonl") >= 100; }, seconds(60)))
      << read_file(dir_ / "hub.log");
  hub.signal(SIGTERM);
  auto status = hub.wait(seconds(30));
  ASSERT_TRUE(status.has_value()) << "hub did not exit after SIGTERM";
  EXPECT_EQ(*status, 0) << read_file(dir_ / "hub.log");
  // Everything the source emitted before it was stopped was delivered: nothing in flight was lost.
  const auto sent = line_set(dir_ / "manifest.jsonl");
  EXPECT_LT(sent.size(), static_cast<size_t>(kCount));
  EXPECT_EQ(line_set(dir_ / "out.jsonl"), sent);
}

TEST_F(HubEndToEnd, UnroutedEventsAreCountedAndLogged) {
  std::string yaml = hub_config(dir_, 50, "inproc", {{"out"}});
  // Route only a type the source never publishes.
  yaml.replace(yaml.find("type: test.**"), 13, "type: other.**");
  write_file(dir_ / "hub.yaml", yaml);
  Process hub({simpang_binary().string(), "run", (dir_ / "hub.yaml").string(), "--duration", "3s"},
              dir_ / "hub.log");
  auto status = hub.wait(seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0);
  const std::string log = read_file(dir_ / "hub.log");
  EXPECT_NE(log.find("type=test.event.created matches no route"), std::string::npos) << log;
  EXPECT_NE(log.find("unrouted=50"), std::string::npos) << log;
  // The plugin's own metrics reached the hub and its summary.
  EXPECT_NE(log.find("metrics instance=source emitted=50 next=50"), std::string::npos) << log;
  EXPECT_EQ(count_lines(dir_ / "out.jsonl"), 0u);
}

TEST_F(HubEndToEnd, RunRefusesAnInvalidConfigBeforeStartingAnything) {
  // Valid instances around the invalid one: had the hub started anything, the state directory
  // (journal, instance directories) and the plugins' files would exist.
  const auto state = dir_ / "state";
  const std::string valid_plugins =
      "  - name: source\n    plugin: test-source\n    config: {count: 10, manifest: " +
      (dir_ / "manifest.jsonl").string() +
      "}\n"
      "  - name: out\n    plugin: sink-jsonl\n    config: {path: " +
      (dir_ / "out.jsonl").string() + "}\n";
  const std::string routes = "routes:\n  - name: all\n    from: [source]\n    to: [out]\n";
  write_file(dir_ / "hub.yaml", "hub:\n  state_dir: " + state.string() +
                                    "\nplugins:\n  - name: a\n    plugin: no-such-plugin\n" +
                                    valid_plugins + routes);
  {
    Process hub({simpang_binary().string(), "run", (dir_ / "hub.yaml").string()},
                dir_ / "hub.log");
    auto status = hub.wait(seconds(30));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1);
  }
  const std::string log = read_file(dir_ / "hub.log");
  EXPECT_NE(log.find((dir_ / "hub.yaml").string() + ":5:13:"), std::string::npos) << log;
  EXPECT_FALSE(std::filesystem::exists(state)) << "the refused hub created its state directory";
  EXPECT_FALSE(std::filesystem::exists(dir_ / "manifest.jsonl")) << "it created the source";
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out.jsonl")) << "it created the sink";

  // The same file without the invalid instance does create all three: what was checked above
  // is what starting leaves behind.
  write_file(dir_ / "hub.yaml", "hub:\n  state_dir: " + state.string() + "\nplugins:\n" +
                                    valid_plugins + routes);
  Process hub({simpang_binary().string(), "run", (dir_ / "hub.yaml").string(), "--duration",
               "500ms"},
              dir_ / "hub-valid.log");
  auto status = hub.wait(seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << read_file(dir_ / "hub-valid.log");
  EXPECT_TRUE(std::filesystem::exists(state / "journal.db"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "manifest.jsonl"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "out.jsonl"));
}

TEST_F(HubEndToEnd, DemoPipelineDerivesCredentialsFromCertificationCompletions) {
  const std::string yaml =
      "hub:\n  state_dir: " + (dir_ / "state").string() +
      "\n  summary_interval: 0s\n"
      "plugins:\n"
      "  - name: programme\n    plugin: sim-programme\n    config: {seed: 7, rate: 5000, max_events: 3000}\n"
      "  - name: credentials\n    plugin: transform-credential\n"
      "  - name: ledger\n    plugin: sink-jsonl\n    config: {path: " + (dir_ / "ledger.jsonl").string() + "}\n"
      "routes:\n"
      "  - name: everything\n    from: [programme, credentials]\n    to: [ledger]\n"
      "  - name: completions\n    from: [programme]\n    match: {type: talent.completion.*}\n"
      "    to: [credentials]\n";
  write_file(dir_ / "hub.yaml", yaml);
  Process hub({simpang_binary().string(), "run", (dir_ / "hub.yaml").string()}, dir_ / "hub.log");
  // Wait for every simulated event; credentials derived from them are in the same file.
  auto simulated_lines = [&] {
    const auto lines = read_lines(dir_ / "ledger.jsonl");
    return std::count_if(lines.begin(), lines.end(), [](const std::string& line) {
      return line.find("\"talent.credential.issued\"") == std::string::npos;
    });
  };
  ASSERT_TRUE(wait_for([&] { return simulated_lines() >= 3000; }, seconds(60)))
      << read_file(dir_ / "hub.log");
  hub.signal(SIGTERM);
  auto status = hub.wait(seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << read_file(dir_ / "hub.log");

  // Every certification completion that passed has exactly one credential, and nothing else does.
  std::set<std::string> expected;
  std::set<std::string> issued;
  size_t simulated = 0;
  for (const auto& line : read_lines(dir_ / "ledger.jsonl")) {
    auto event = nlohmann::json::parse(line);
    const std::string type = event["type"];
    if (type == "talent.credential.issued") {
      issued.insert(event["id"].get<std::string>());
      continue;
    }
    ++simulated;
    if (type == "talent.completion.recorded" && event["data"].value("passed", false) &&
        event["data"].value("certification", false)) {
      expected.insert("cred-" + event["id"].get<std::string>());
    }
  }
  EXPECT_EQ(simulated, 3000u);
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(issued, expected);
}

}  // namespace
}  // namespace simpang::testing
