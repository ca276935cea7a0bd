// Process isolation and supervision: a plugin in its own `simpang plugin-host` process that
// segfaults, aborts, throws, hangs, never says hello, ignores stop or freezes its host. The hub
// must survive each, restart the plugin with backoff (or give up on it, saying why), lose no
// event, bound each stop by the instance's stop_timeout, and take its hosts with it when killed.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

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

struct Stopped {
  std::optional<int> status;    // the hub's exit status; nullopt if it did not exit within 30 s
  std::chrono::milliseconds took;
};
// Sends the hub SIGTERM and returns how it exited and how long that took. Fails the test when it
// does not exit within 30 s.
Stopped stop_and_time(Process& hub) {
  const auto sent = std::chrono::steady_clock::now();
  hub.signal(SIGTERM);
  Stopped stopped;
  stopped.status = hub.wait(seconds(30));
  EXPECT_TRUE(stopped.status.has_value()) << "the hub waited more than 30 s for a plugin";
  stopped.took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - sent);
  return stopped;
}

// A stop_timeout far from the 5 s default, so the timings below tell which one applied.
constexpr std::chrono::milliseconds kStopTimeout{500};
std::string stop_timeout_key() {
  return "    stop_timeout: " + std::to_string(kStopTimeout.count()) + "ms\n";
}

TEST_F(Isolation, APluginThatIgnoresStopIsKilledAfterItsGracePeriod) {
  auto hub = start(config(10, "ignore_stop", /*once=*/false, stop_timeout_key()));
  ASSERT_TRUE(wait_for([&] { return count_lines(out()) >= 10; }, seconds(30))) << log();
  const auto [status, took] = stop_and_time(*hub);
  // A plugin that did not stop in time makes the stop unclean: exit 3, as the README says.
  EXPECT_EQ(status, 3) << log();
  // Its host gives up on it once its stop_timeout has passed and exits with kHostUnclean (3),
  // which ends the plugin's thread with the process; the supervisor reports that exit status.
  EXPECT_NE(log().find("instance=crasher stopped: exited with status 3"), std::string::npos)
      << log();
  EXPECT_GE(took, kStopTimeout) << "it was not given its stop_timeout\n" << log();
  // Well before the 5 s default would have run out; the rest of the shutdown is quick.
  EXPECT_LT(took, std::chrono::milliseconds(4000)) << log();
  // The host left by itself: the supervisor's own kill (stop_timeout + 1 s) was not needed.
  EXPECT_EQ(log().find("did not stop within its stop_timeout; killing it"), std::string::npos)
      << log();
}

TEST_F(Isolation, APluginHostThatCannotExitIsKilledAfterItsStopTimeoutAndAllowance) {
  // on_stop freezes the whole host process (SIGSTOP): it can neither give up on the plugin nor
  // exit, so only the supervisor's SIGKILL, after stop_timeout and the host's 1 s allowance,
  // ends it.
  auto hub = start(config(10, "freeze_on_stop", /*once=*/false, stop_timeout_key()));
  ASSERT_TRUE(wait_for([&] { return count_lines(out()) >= 10; }, seconds(30))) << log();
  const auto [status, took] = stop_and_time(*hub);
  EXPECT_EQ(status, 3) << log();
  EXPECT_NE(log().find("instance=crasher did not stop within its stop_timeout; killing it"),
            std::string::npos)
      << log();
  EXPECT_NE(log().find("instance=crasher stopped: killed by signal 9"), std::string::npos) << log();
  EXPECT_GE(took, kStopTimeout + std::chrono::milliseconds(1000)) << log();
  // The 5 s default would have meant 6 s.
  EXPECT_LT(took, std::chrono::milliseconds(5000)) << log();
}

// Makes this process the reaper of orphaned descendants (PR_SET_CHILD_SUBREAPER) for its
// lifetime, so that the children of a hub killed here come to us: we can then see how they end,
// whatever PID 1 of the machine does with orphans. Kills those still running when destroyed.
class OrphanReaper {
 public:
  OrphanReaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~OrphanReaper() {
    // A failed test leaves no host behind: one still running is a plugin host (its command line
    // says so, so the pid has not been reused), ours to kill.
    for (pid_t pid : watched_) {
      if (!statuses_.count(pid) && process_alive(pid) &&
          read_file("/proc/" + std::to_string(pid) + "/cmdline").find("plugin-host") !=
              std::string::npos) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);  // fails harmlessly when it is not (yet) our child
      }
    }
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
  void watch(std::vector<pid_t> pids) { watched_ = std::move(pids); }
  // Reaps what has come to us and ended. True once every watched process has.
  bool all_reaped() {
    for (pid_t pid : watched_) {
      int status = 0;
      if (!statuses_.count(pid) && ::waitpid(pid, &status, WNOHANG) == pid) {
        statuses_[pid] = status;
      }
    }
    return statuses_.size() == watched_.size();
  }
  const std::map<pid_t, int>& statuses() const { return statuses_; }

 private:
  std::vector<pid_t> watched_;
  std::map<pid_t, int> statuses_;
};

TEST_F(Isolation, PluginHostsDieWithTheHubWhenItIsKilled) {
  OrphanReaper reaper;
  const std::string yaml =
      "hub:\n  state_dir: " + (dir_ / "state").string() +
      "\n  summary_interval: 0s\n  heartbeat: 200ms\n"
      "plugins:\n"
      "  - name: source\n    plugin: test-source\n    isolation: process\n"
      "    config: {count: 1000000, per_tick: 5, manifest: " +
      (dir_ / "manifest.jsonl").string() +
      "}\n"
      "  - name: sink\n    plugin: test-sink\n    isolation: process\n    config: {path: " +
      out().string() + "}\nroutes:\n  - name: all\n    from: [source]\n    to: [sink]\n";
  auto hub = start(yaml);
  // Both hosts run and events flow between them.
  std::vector<pid_t> hosts;
  ASSERT_TRUE(wait_for(
      [&] {
        hosts.clear();
        for (pid_t pid : children_of(hub->pid())) {
          if (read_file("/proc/" + std::to_string(pid) + "/cmdline").find("plugin-host") !=
              std::string::npos) {
            hosts.push_back(pid);
          }
        }
        return hosts.size() == 2 && count_lines(out()) >= 100;
      },
      seconds(60)))
      << hosts.size() << " plugin hosts\n"
      << log();
  reaper.watch(hosts);

  hub->signal(SIGKILL);
  ASSERT_EQ(hub->wait(seconds(30)), 128 + SIGKILL);
  // Each host ends with the hub, by the SIGKILL the hub asked for at its start (a host outliving
  // its hub would hold its plugin's files and keep publishing to a socket nobody reads).
  ASSERT_TRUE(wait_for([&] { return reaper.all_reaped(); }, seconds(10)))
      << "plugin hosts still running after the hub was killed: "
      << hosts.size() - reaper.statuses().size() << " of " << hosts.size();
  for (const auto& [pid, status] : reaper.statuses()) {
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "host " << pid << " " << describe_wait_status(status);
  }
}

}  // namespace
}  // namespace simpang::testing
