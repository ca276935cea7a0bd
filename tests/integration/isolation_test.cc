// Process isolation and supervision: a plugin in its own `simpang plugin-host` process that
// segfaults, aborts, throws, hangs, never says hello or ignores stop. The hub must survive each,
// restart the plugin with backoff (or give up on it, saying why), and lose no event.
#include <signal.h>

#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace simpang::testing {
namespace {

using std::chrono::seconds;

class Isolation : public ::testing::Test {
 protected:
  // A source of `count` events and a test-crasher sink in its own process.
  std::string config(int count, const std::string& mode, bool once,
                     const std::string& extra_sink_keys = "") const {
    return "hub:\n  state_dir: " + (dir_ / "state").string() +
           "\n  summary_interval: 1s\n  heartbeat: 200ms\n  drain_timeout: 5s\n"
           "plugins:\n"
           "  - name: source\n    plugin: test-source\n    config: {count: " +
           std::to_string(count) + ", per_tick: 50, manifest: " +
           (dir_ / "manifest.jsonl").string() +
           "}\n"
           "  - name: crasher\n    plugin: test-crasher\n    isolation: process\n" +
           extra_sink_keys + "    restart: {initial_backoff: 50ms, max_failures: 3, window: 1m}\n" +
           "    config: {mode: " + mode + ", path: " + out().string() +
           (once ? ", once: " + (dir_ / "misbehaved").string() : std::string()) +
           "}\nroutes:\n  - name: all\n    from: [source]\n    to: [crasher]\n";
  }
  std::filesystem::path out() const { return dir_ / "out.jsonl"; }

  std::unique_ptr<Process> start(const std::string& yaml) {
    write_file(dir_ / "hub.yaml", yaml);
    return std::make_unique<Process>(
        std::vector<std::string>{simpang_binary().string(), "run", (dir_ / "hub.yaml").string()},
        dir_ / "hub.log");
  }
  std::string log() const { return read_file(dir_ / "hub.log"); }

  // Runs until every event arrived at the crasher, then stops the hub cleanly.
  void expect_all_delivered_after_one_misbehaviour(const std::string& mode,
                                                   const std::string& expected_in_log) {
    constexpr int kCount = 2000;
    auto hub = start(config(kCount, mode, /*once=*/true));
    ASSERT_TRUE(wait_for(
        [&] {
          if (count_lines(out()) < kCount) {
            return false;
          }
          std::set<std::string> ids;
          for (const auto& line : read_lines(out())) {
            ids.insert(nlohmann::json::parse(line)["id"].get<std::string>());
          }
          return ids.size() == kCount;
        },
        seconds(60)))
        << log();
    EXPECT_TRUE(std::filesystem::exists(dir_ / "misbehaved")) << "it never misbehaved";
    hub->signal(SIGTERM);
    auto status = hub->wait(seconds(30));
    ASSERT_TRUE(status.has_value()) << log();
    EXPECT_EQ(*status, 0) << log();
    EXPECT_NE(log().find(expected_in_log), std::string::npos) << log();
  }

  // Expects the hub to give up on the crasher, keep running, and say why.
  void expect_marked_failed(const std::string& mode, const std::string& expected_in_log,
                            const std::string& extra_sink_keys = "") {
    auto hub = start(config(100, mode, /*once=*/false, extra_sink_keys));
    ASSERT_TRUE(wait_for([&] { return log().find("marked failed") != std::string::npos; },
                         seconds(60)))
        << log();
    EXPECT_TRUE(hub->running()) << "the hub itself went down:\n" << log();
    EXPECT_NE(log().find(expected_in_log), std::string::npos) << log();
    hub->signal(SIGTERM);
    auto status = hub->wait(seconds(30));
    ASSERT_TRUE(status.has_value()) << log();
    // The failed instance's events wait in the journal: the stop is still orderly.
    EXPECT_EQ(*status, 0) << log();
  }

  TempDir dir_;
};

TEST_F(Isolation, ASegfaultRestartsThePluginAndLosesNothing) {
  expect_all_delivered_after_one_misbehaviour("segfault", "killed by signal 11");
}

TEST_F(Isolation, AnAbortRestartsThePluginAndLosesNothing) {
  expect_all_delivered_after_one_misbehaviour("abort", "killed by signal 6");
}

TEST_F(Isolation, AnExceptionFromAHandlerIsRetriedWithoutARestart) {
  expect_all_delivered_after_one_misbehaviour("throw", "retried=1 dead=0");
  EXPECT_EQ(log().find("crashed"), std::string::npos) << log();
}

TEST_F(Isolation, AnInfiniteLoopInAHandlerIsDetectedByMissedHeartbeats) {
  expect_all_delivered_after_one_misbehaviour("hang", "went silent");
}

TEST_F(Isolation, APluginThatAlwaysCrashesIsMarkedFailedAndTheHubCarriesOn) {
  expect_marked_failed("segfault", "failed 3 times");
}

TEST_F(Isolation, AnExceptionEscapingOnStartIsAFailureNotAHubCrash) {
  expect_marked_failed("throw_on_start", "throws from on_start on purpose");
}

TEST_F(Isolation, APluginThatNeverSaysHelloIsKilledAfterItsStartTimeout) {
  expect_marked_failed("no_hello", "did not say hello within 300 ms",
                       "    start_timeout: 300ms\n");
}

TEST_F(Isolation, APluginThatIgnoresStopIsKilledAfterItsGracePeriod) {
  auto hub = start(config(10, "ignore_stop", /*once=*/false, "    stop_timeout: 200ms\n"));
  ASSERT_TRUE(wait_for([&] { return count_lines(out()) >= 10; }, seconds(30))) << log();
  hub->signal(SIGTERM);
  auto status = hub->wait(seconds(30));
  ASSERT_TRUE(status.has_value()) << "the hub waited forever for a plugin\n" << log();
  EXPECT_NE(log().find("instance=crasher stopped"), std::string::npos) << log();
}

}  // namespace
}  // namespace simpang::testing
