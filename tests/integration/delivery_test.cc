// The delivery contract under attack: the real hub process with its SQLite journal, killed with
// SIGKILL mid-stream, a sink that fails at random, one that rejects everything, one that is stuck
// (and recovers, or holds up a shutdown), ordering under failures and across kills, duplicates
// published after a restart, a full journal, and a damaged journal file.
#include <signal.h>

#include <algorithm>
#include <vector>
#include <map>
#include <random>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace simpang::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class Delivery : public ::testing::Test {
 protected:
  std::string hub_section() const {
    return "hub:\n  state_dir: " + (dir_ / "state").string() +
           "\n  summary_interval: 1s\n  heartbeat: 500ms\n";
  }
  std::string source(int count, int per_tick = 200) const {
    return "  - name: source\n    plugin: test-source\n    config: {count: " +
           std::to_string(count) + ", per_tick: " + std::to_string(per_tick) +
           ", subjects: 20, manifest: " + (dir_ / "manifest.jsonl").string() + "}\n";
  }
  std::filesystem::path out(const std::string& sink) const { return dir_ / (sink + ".jsonl"); }

  std::unique_ptr<Process> start_hub(const std::string& yaml) {
    write_file(dir_ / "hub.yaml", yaml);
    return std::make_unique<Process>(
        std::vector<std::string>{simpang_binary().string(), "run", (dir_ / "hub.yaml").string()},
        dir_ / "hub.log");
  }

  // Stops the hub with SIGTERM and expects a clean exit.
  void stop_hub(Process& hub) {
    hub.signal(SIGTERM);
    auto status = hub.wait(seconds(60));
    ASSERT_TRUE(status.has_value()) << "hub did not stop after SIGTERM";
    EXPECT_EQ(*status, 0) << read_file(dir_ / "hub.log");
  }

  // The ids in a sink's output, with how often each arrived.
  std::map<std::string, int> ids_in(const std::filesystem::path& file) const {
    return event_ids(file);
  }

  // Fails the test unless `ids` holds each of the source's events source-0 ... source-(count-1),
  // and nothing else.
  static void expect_every_id(const std::map<std::string, int>& ids, int count) {
    ASSERT_EQ(ids.size(), static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) {
      ASSERT_EQ(ids.count("source-" + std::to_string(i)), 1u) << "event source-" << i << " lost";
    }
  }

  // Waits until `file` holds `count` distinct event ids (duplicates allowed).
  bool all_distinct_arrived(const std::filesystem::path& file, int count) const {
    return wait_for(
        [&] {
          return count_lines(file) >= static_cast<size_t>(count) &&
                 ids_in(file).size() >= static_cast<size_t>(count);
        },
        seconds(180));
  }

  TempDir dir_;
};

TEST_F(Delivery, EveryAcknowledgedEventSurvivesRepeatedSigkillOfTheHub) {
  constexpr int kCount = 100000;
  const std::string yaml = hub_section() + "plugins:\n" + source(kCount, 500) +
                           "  - name: sink\n    plugin: sink-jsonl\n    config: {path: " +
                           out("sink").string() + "}\nroutes:\n  - name: all\n    from: [source]\n"
                           "    to: [sink]\n";
  std::mt19937 random(20261129);
  for (int kill = 0; kill < 5; ++kill) {
    const size_t before = count_lines(out("sink"));
    auto hub = start_hub(yaml);
    // Kill at a random point of the stream: after a random number of further deliveries.
    const size_t target = before + std::uniform_int_distribution<size_t>(2000, 18000)(random);
    ASSERT_TRUE(wait_for([&] { return count_lines(out("sink")) >= target; }, seconds(120)))
        << "run " << kill << " stalled at " << count_lines(out("sink")) << "\n"
        << read_file(dir_ / "hub.log");
    hub->signal(SIGKILL);
    ASSERT_EQ(hub->wait(seconds(30)), 128 + SIGKILL);
  }
  // A last, undisturbed run: the source resumes from its stored cursor, the journal redelivers
  // what the sink had not acknowledged.
  auto hub = start_hub(yaml);
  ASSERT_TRUE(all_distinct_arrived(out("sink"), kCount))
      << "only " << ids_in(out("sink")).size() << " distinct events arrived\n"
      << read_file(dir_ / "hub.log");
  stop_hub(*hub);
  const auto ids = ids_in(out("sink"));
  expect_every_id(ids, kCount);
  size_t duplicates = 0;
  for (const auto& [id, times] : ids) {
    duplicates += times - 1;
  }
  std::cout << "[ crash    ] " << kCount << " events, 5 SIGKILLs of the hub: all arrived, "
            << duplicates << " duplicates" << std::endl;
}

TEST_F(Delivery, EveryEventSurvivesRepeatedSigkillOfTheSinksProcess) {
  constexpr int kCount = 100000;
  auto hub = start_hub(hub_section() + "plugins:\n" + source(kCount, 100) +
                       "  - name: sink\n    plugin: sink-jsonl\n    isolation: process\n"
                       "    restart: {initial_backoff: 10ms, max_failures: 100}\n"
                       "    config: {path: " + out("sink").string() +
                       "}\nroutes:\n  - name: all\n    from: [source]\n    to: [sink]\n");
  const std::string sink_process = "--state-dir " + (dir_ / "state" / "instances" / "sink").string();
  std::mt19937 random(4242);
  int kills = 0;
  for (int round = 0; round < 5; ++round) {
    const size_t target =
        count_lines(out("sink")) + std::uniform_int_distribution<size_t>(2000, 15000)(random);
    std::vector<pid_t> pids;
    ASSERT_TRUE(wait_for(
        [&] {
          pids = pids_with(sink_process);
          return count_lines(out("sink")) >= target && !pids.empty();
        },
        seconds(120)))
        << read_file(dir_ / "hub.log");
    for (pid_t pid : pids) {
      ::kill(pid, SIGKILL);
      ++kills;
    }
  }
  ASSERT_TRUE(all_distinct_arrived(out("sink"), kCount))
      << "only " << ids_in(out("sink")).size() << " distinct events arrived\n"
      << read_file(dir_ / "hub.log");
  stop_hub(*hub);
  const auto ids = ids_in(out("sink"));
  expect_every_id(ids, kCount);
  size_t duplicates = 0;
  for (const auto& [id, times] : ids) {
    duplicates += times - 1;
  }
  std::cout << "[ crash    ] " << kCount << " events, " << kills
            << " SIGKILLs of the sink's plugin-host: all arrived, " << duplicates << " duplicates"
            << std::endl;
}

TEST_F(Delivery, ASinkFailingThirtyPercentStillGetsEveryEvent) {
  constexpr int kCount = 5000;
  auto hub = start_hub(hub_section() + "plugins:\n" + source(kCount) +
                       "  - name: flaky\n    plugin: test-sink\n    config: {fail_rate: 0.3, path: " +
                       out("flaky").string() +
                       "}\nroutes:\n  - name: all\n    from: [source]\n    to: [flaky]\n"
                       "    retry: {max_attempts: 100, initial_backoff: 1ms, max_backoff: 20ms}\n");
  ASSERT_TRUE(wait_for([&] { return count_lines(out("flaky")) >= kCount; }, seconds(120)))
      << read_file(dir_ / "hub.log");
  stop_hub(*hub);
  const auto ids = ids_in(out("flaky"));
  EXPECT_EQ(ids.size(), static_cast<size_t>(kCount));
  // The summary line counts the retries: about 0.3/0.7 of the events needed at least one.
  const std::string log = read_file(dir_ / "hub.log");
  const auto at = log.rfind("retried=");
  ASSERT_NE(at, std::string::npos) << log;
  const long retried = std::stol(log.substr(at + 8));
  std::cout << "[ flaky    ] " << kCount << " events through a 30%-failing sink, " << retried
            << " retries" << std::endl;
  EXPECT_GT(retried, kCount / 5);
  EXPECT_LT(retried, kCount);
}

TEST_F(Delivery, SubjectOrderingHoldsUnderRandomFailures) {
  constexpr int kCount = 3000;
  auto hub = start_hub(hub_section() + "plugins:\n" + source(kCount) +
                       "  - name: flaky\n    plugin: test-sink\n    config: {fail_rate: 0.3, path: " +
                       out("flaky").string() +
                       "}\nroutes:\n  - name: all\n    from: [source]\n    to: [flaky]\n"
                       "    ordering: subject\n"
                       "    retry: {max_attempts: 100, initial_backoff: 1ms, max_backoff: 10ms}\n");
  ASSERT_TRUE(wait_for([&] { return count_lines(out("flaky")) >= kCount; }, seconds(120)))
      << read_file(dir_ / "hub.log");
  stop_hub(*hub);
  std::map<std::string, int64_t> last_seq;
  size_t lines = 0;
  for (const auto& line : read_lines(out("flaky"))) {
    auto event = nlohmann::json::parse(line);
    const std::string subject = event["subject"];
    const int64_t seq = event["seq"];
    auto [it, first] = last_seq.try_emplace(subject, seq);
    if (!first) {
      ASSERT_GT(seq, it->second) << "subject " << subject << " out of order";
      it->second = seq;
    }
    ++lines;
  }
  EXPECT_EQ(lines, static_cast<size_t>(kCount));
  EXPECT_EQ(last_seq.size(), 20u);
}

TEST_F(Delivery, AStuckSinkHoldsOnlyItsOwnBacklog) {
  constexpr int kCount = 20000;
  // The stuck sink does not return from its first delivery while `gate` exists.
  const auto gate = dir_ / "stuck-gate";
  write_file(gate, "remove me to unstick the sink\n");
  auto hub = start_hub(hub_section() + "  queue_limit: 1000\nplugins:\n" + source(kCount) +
                       "  - name: healthy\n    plugin: sink-jsonl\n    config: {path: " +
                       out("healthy").string() +
                       "}\n  - name: stuck\n    plugin: test-sink\n    stop_timeout: 1s\n"
                       "    config: {hold_while: " + gate.string() + ", path: " +
                       out("stuck").string() +
                       "}\nroutes:\n  - name: all\n    from: [source]\n    to: [healthy, stuck]\n");
  // The healthy sink gets everything although its neighbour has taken nothing: the stuck one's
  // backlog waits in the journal, beyond its 1000 in memory, and publishers are not held back.
  ASSERT_TRUE(wait_for([&] { return count_lines(out("healthy")) >= kCount; }, seconds(120)))
      << read_file(dir_ / "hub.log");
  expect_every_id(ids_in(out("healthy")), kCount);
  EXPECT_EQ(count_lines(out("stuck")), 0u);

  // Once it recovers, its whole backlog reaches it: each of the events, at least once.
  std::filesystem::remove(gate);
  ASSERT_TRUE(all_distinct_arrived(out("stuck"), kCount))
      << "only " << ids_in(out("stuck")).size() << " distinct events reached the recovered sink\n"
      << read_file(dir_ / "hub.log");
  stop_hub(*hub);
  expect_every_id(ids_in(out("stuck")), kCount);
}

TEST_F(Delivery, ADuplicatePublishedAfterAHubRestartIsRecognised) {
  // A file of events that two source-jsonl instances publish, the second only after a restart of
  // the hub: its (source, id) pairs were journaled by the first hub, so the reopened journal must
  // know them.
  constexpr int kCount = 100;
  const auto events = dir_ / "events.jsonl";
  for (int i = 0; i < kCount; ++i) {
    append_file(events, nlohmann::json{{"specversion", "1.0"},
                                       {"id", "source-" + std::to_string(i)},
                                       {"source", "/tests/duplicates"},
                                       {"type", "test.event.created"}}
                                .dump() +
                            "\n");
  }
  const auto reader = [&](const std::string& name) {
    return "  - name: " + name + "\n    plugin: source-jsonl\n    config: {path: " +
           events.string() + "}\n";
  };
  const std::string sink = "  - name: sink\n    plugin: test-sink\n    config: {path: " +
                           out("sink").string() + "}\n";
  {
    auto hub = start_hub(hub_section() + "plugins:\n" + reader("first") + sink +
                         "routes:\n  - name: all\n    from: [first]\n    to: [sink]\n");
    ASSERT_TRUE(wait_for([&] { return count_lines(out("sink")) >= kCount; }, seconds(60)))
        << read_file(dir_ / "hub.log");
    stop_hub(*hub);
  }
  std::filesystem::remove(dir_ / "hub.log");
  auto hub = start_hub(hub_section() + "plugins:\n" + reader("first") + reader("again") + sink +
                       "routes:\n  - name: all\n    from: [first, again]\n    to: [sink]\n");
  // `again` has no cursor yet: it publishes the whole file once more, and the hub acknowledges
  // each event as a duplicate without routing it (or, failing, delivers some again).
  const auto all_counted = [&] {
    return read_file(dir_ / "hub.log").find("duplicates=" + std::to_string(kCount)) !=
           std::string::npos;
  };
  ASSERT_TRUE(wait_for([&] { return all_counted() || count_lines(out("sink")) > kCount; },
                       seconds(60)))
      << read_file(dir_ / "hub.log");
  EXPECT_TRUE(all_counted()) << read_file(dir_ / "hub.log");
  stop_hub(*hub);
  const std::string log = read_file(dir_ / "hub.log");
  EXPECT_NE(log.find(std::to_string(kCount) + " events published"), std::string::npos) << log;
  EXPECT_EQ(count_lines(out("sink")), static_cast<size_t>(kCount))
      << "a duplicate published after the restart was delivered again\n" << log;
  expect_every_id(ids_in(out("sink")), kCount);
}

TEST_F(Delivery, SubjectOrderingHoldsAcrossSigkillOfTheHubAndRedelivery) {
  constexpr int kCount = 6000;
  constexpr int kSubjects = 20;  // source(): the source's subject of event n is n % 20
  // The sink fails some deliveries, so that retries would let later events of a subject
  // overtake earlier ones if the hub did not hold each subject, before and after each crash.
  // A heartbeat slow enough that a sink starved of CPU for a moment is not presumed gone (its
  // redelivery within a run would repeat a seq there, which the check below does not allow).
  const std::string yaml =
      "hub:\n  state_dir: " + (dir_ / "state").string() +
      "\n  summary_interval: 1s\n  heartbeat: 2s\nplugins:\n" + source(kCount, 100) +
      "  - name: sink\n    plugin: test-sink\n    config: {fail_rate: 0.2, path: " +
      out("sink").string() +
      "}\nroutes:\n  - name: all\n    from: [source]\n    to: [sink]\n"
      "    ordering: subject\n"
      "    retry: {max_attempts: 100, initial_backoff: 1ms, max_backoff: 10ms}\n";
  // Where each hub's run begins in the sink's output: within one run, deliveries of a subject
  // are strictly in order; a run after a crash redelivers what was not acknowledged, in order.
  std::vector<size_t> run_starts;
  std::mt19937 random(777);
  for (int kill = 0; kill < 3; ++kill) {
    run_starts.push_back(count_lines(out("sink")));
    auto hub = start_hub(yaml);
    const size_t target =
        run_starts.back() + std::uniform_int_distribution<size_t>(300, 1500)(random);
    ASSERT_TRUE(wait_for([&] { return count_lines(out("sink")) >= target; }, seconds(120)))
        << "run " << kill << " stalled at " << count_lines(out("sink")) << "\n"
        << read_file(dir_ / "hub.log");
    hub->signal(SIGKILL);
    ASSERT_EQ(hub->wait(seconds(30)), 128 + SIGKILL);
  }
  run_starts.push_back(count_lines(out("sink")));
  auto hub = start_hub(yaml);
  ASSERT_TRUE(all_distinct_arrived(out("sink"), kCount))
      << "only " << ids_in(out("sink")).size() << " distinct events arrived\n"
      << read_file(dir_ / "hub.log");
  stop_hub(*hub);
  expect_every_id(ids_in(out("sink")), kCount);

  const auto lines = read_lines(out("sink"));
  // Per subject: the last seq seen in the current run, and the highest seen in any run.
  std::map<std::string, int64_t> last_in_run;
  std::map<std::string, int64_t> highest;
  size_t run = 0;
  size_t redelivered = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    while (run + 1 < run_starts.size() && i >= run_starts[run + 1]) {
      ++run;
      last_in_run.clear();
    }
    const auto event = nlohmann::json::parse(lines[i]);
    const std::string subject = event["subject"];
    const int64_t seq = event["seq"];
    auto last = last_in_run.find(subject);
    ASSERT_TRUE(last == last_in_run.end() || seq > last->second)
        << subject << ": seq " << seq << " after " << last->second << " in run " << run;
    last_in_run[subject] = seq;
    // Nothing overtakes: an event seen for the first time directly follows its subject's
    // predecessor's first sight (a redelivered one may repeat what was seen, never skip ahead).
    auto top = highest.find(subject);
    const int64_t expected_next = top == highest.end() ? seq % kSubjects : top->second + kSubjects;
    if (top != highest.end() && seq <= top->second) {
      ++redelivered;
      continue;
    }
    ASSERT_EQ(seq, expected_next) << subject << " skipped ahead in run " << run;
    highest[subject] = seq;
  }
  EXPECT_EQ(highest.size(), static_cast<size_t>(kSubjects));
  std::cout << "[ ordering ] " << kCount << " events, 3 SIGKILLs of the hub: in order per subject, "
            << redelivered << " redelivered" << std::endl;
}

TEST_F(Delivery, SigtermWithAStuckSinkEndsAfterTheDrainTimeoutWithExitCode3) {
  constexpr int kCount = 200;
  // A heartbeat long enough that the stuck sink still counts as connected when the hub drains
  // (a consumer presumed gone is owed nothing); a drain_timeout far from the 10 s default.
  auto hub = start_hub("hub:\n  state_dir: " + (dir_ / "state").string() +
                       "\n  summary_interval: 0s\n  heartbeat: 10s\n  drain_timeout: 1s\n"
                       "plugins:\n" + source(kCount) +
                       "  - name: healthy\n    plugin: sink-jsonl\n    config: {path: " +
                       out("healthy").string() +
                       "}\n  - name: stuck\n    plugin: test-sink\n    stop_timeout: 500ms\n"
                       "    config: {delay_ms: 3600000, path: " + out("stuck").string() +
                       "}\nroutes:\n  - name: all\n    from: [source]\n    to: [healthy, stuck]\n");
  ASSERT_TRUE(wait_for([&] { return count_lines(out("healthy")) >= kCount; }, seconds(60)))
      << read_file(dir_ / "hub.log");
  const auto sent = std::chrono::steady_clock::now();
  hub->signal(SIGTERM);
  const auto status = hub->wait(seconds(60));
  const auto took =
      std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - sent);
  const std::string log = read_file(dir_ / "hub.log");
  ASSERT_TRUE(status.has_value()) << "the hub did not stop within 60 s of SIGTERM\n" << log;
  // README: exit code 3, "stopped but the drain timed out or a plugin did not stop in time".
  EXPECT_EQ(*status, 3) << log;
  EXPECT_NE(log.find("drain timeout (1000 ms) reached with events still outstanding"),
            std::string::npos)
      << log;
  EXPECT_GE(took, milliseconds(1000)) << "the drain did not wait its drain_timeout\n" << log;
  // With the 10 s default it would have taken more than 10 s.
  EXPECT_LT(took, milliseconds(8000)) << log;
  EXPECT_EQ(count_lines(out("stuck")), 0u);
}

TEST_F(Delivery, AFullJournalHoldsBackThePublisherUntilTheSinkDrains) {
  constexpr int kCount = 4000;
  constexpr int kMaxEvents = 1000;  // the journal's bound (its minimum)
  constexpr int kMaxBatch = 50;
  // What the publisher can get journaled before its acks are held (the batch that crosses the
  // bound), plus what its window lets it send unacknowledged (8 batches) and the batch it is
  // filling: with margin, where it must stop while the sink takes nothing.
  constexpr int kBound = kMaxEvents + 12 * kMaxBatch;
  const auto gate = dir_ / "sink-gate";
  write_file(gate, "remove me to let the sink drain\n");
  auto hub = start_hub(hub_section() + "  max_batch: " + std::to_string(kMaxBatch) +
                       "\njournal:\n  max_events: " + std::to_string(kMaxEvents) +
                       "\nplugins:\n" + source(kCount, kMaxBatch) +
                       "  - name: sink\n    plugin: test-sink\n    config: {hold_while: " +
                       gate.string() + ", path: " + out("sink").string() +
                       "}\nroutes:\n  - name: all\n    from: [source]\n    to: [sink]\n");
  const auto published = [&] { return count_lines(dir_ / "manifest.jsonl"); };
  ASSERT_TRUE(wait_for([&] { return published() > static_cast<size_t>(kMaxEvents); }, seconds(60)))
      << read_file(dir_ / "hub.log");
  // The journal is past its bound with nothing delivered: the hub holds the publisher's acks,
  // so its window stays closed. Unheld, it would publish the rest within a fraction of this.
  EXPECT_FALSE(wait_for([&] { return published() > static_cast<size_t>(kBound); }, seconds(2)))
      << "the publisher went on to " << published() << " events past a full journal\n"
      << read_file(dir_ / "hub.log");
  EXPECT_EQ(count_lines(out("sink")), 0u);
  const size_t held_at = published();

  // The sink drains, the journal gets room, the acks resume: everything arrives.
  std::filesystem::remove(gate);
  ASSERT_TRUE(all_distinct_arrived(out("sink"), kCount))
      << "only " << ids_in(out("sink")).size() << " distinct events arrived\n"
      << read_file(dir_ / "hub.log");
  stop_hub(*hub);
  expect_every_id(ids_in(out("sink")), kCount);
  std::cout << "[ full     ] journal bound " << kMaxEvents << ": the publisher was held at "
            << held_at << " events, then published all " << kCount << std::endl;
}

TEST_F(Delivery, RejectedEventsWaitInTheDeadLetterQueueUntilReplayed) {
  constexpr int kCount = 200;
  const auto marker = dir_ / "sink-is-broken";
  write_file(marker, "remove me to fix the sink\n");
  const auto config = (dir_ / "hub.yaml").string();
  auto hub = start_hub(hub_section() + "plugins:\n" + source(kCount) +
                       "  - name: picky\n    plugin: test-sink\n    config: {reject_while: " +
                       marker.string() + ", path: " + out("picky").string() +
                       "}\nroutes:\n  - name: all\n    from: [source]\n    to: [picky]\n");
  const auto simpang = simpang_binary().string();
  // Every event is rejected and dead-lettered with the sink's reason.
  CommandResult listed;
  ASSERT_TRUE(wait_for(
      [&] {
        listed = run_command({simpang, "dlq", "list", config, "--limit", "1000"}, seconds(30));
        return listed.status == 0 &&
               std::count(listed.output.begin(), listed.output.end(), '\n') >= 2 * kCount + 1;
      },
      seconds(60)))
      << listed.output << read_file(dir_ / "hub.log");
  EXPECT_NE(listed.output.find("rejects everything while"), std::string::npos) << listed.output;
  EXPECT_NE(listed.output.find("source-199"), std::string::npos) << listed.output;
  EXPECT_EQ(count_lines(out("picky")), 0u);

  auto shown = run_command({simpang, "dlq", "show", config, "1"}, seconds(30));
  EXPECT_EQ(shown.status, 0) << shown.output;
  EXPECT_NE(shown.output.find("\"id\":\"source-"), std::string::npos) << shown.output;

  // Fix the sink, replay everything: all of it arrives and the queue is empty.
  std::filesystem::remove(marker);
  auto replayed = run_command({simpang, "dlq", "replay", config, "--all"}, seconds(60));
  ASSERT_EQ(replayed.status, 0) << replayed.output << read_file(dir_ / "hub.log");
  EXPECT_NE(replayed.output.find("replayed 200 dead letters"), std::string::npos)
      << replayed.output;
  ASSERT_TRUE(wait_for([&] { return count_lines(out("picky")) >= kCount; }, seconds(60)))
      << read_file(dir_ / "hub.log");
  EXPECT_EQ(ids_in(out("picky")).size(), static_cast<size_t>(kCount));
  auto empty = run_command({simpang, "dlq", "list", config}, seconds(30));
  EXPECT_NE(empty.output.find("the dead-letter queue is empty"), std::string::npos)
      << empty.output;

  // History can be delivered again to a destination that needs the past.
  auto history = run_command({simpang, "replay", config, "--to", "picky", "--from-seq", "1"},
                             seconds(60));
  ASSERT_EQ(history.status, 0) << history.output;
  ASSERT_TRUE(wait_for([&] { return count_lines(out("picky")) >= 2 * kCount; }, seconds(60)))
      << read_file(dir_ / "hub.log");
  stop_hub(*hub);
}

TEST_F(Delivery, TheHubRefusesADamagedJournal) {
  const std::string yaml = hub_section() + "plugins:\n" + source(100) +
                           "  - name: sink\n    plugin: sink-jsonl\n    config: {path: " +
                           out("sink").string() + "}\nroutes:\n  - name: all\n    from: [source]\n"
                           "    to: [sink]\n";
  {
    auto hub = start_hub(yaml);
    ASSERT_TRUE(wait_for([&] { return count_lines(out("sink")) >= 100; }, seconds(60)));
    stop_hub(*hub);
  }
  // Truncate the journal to half: SQLite's header survives, its pages do not.
  const auto journal = dir_ / "state" / "journal.db";
  ASSERT_TRUE(std::filesystem::exists(journal));
  std::filesystem::resize_file(journal, std::filesystem::file_size(journal) / 2);
  std::filesystem::remove(dir_ / "hub.log");
  auto hub = start_hub(yaml);
  auto status = hub->wait(seconds(30));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 1);
  const std::string log = read_file(dir_ / "hub.log");
  EXPECT_NE(log.find(journal.string()), std::string::npos) << log;
  EXPECT_NE(log.find("recover"), std::string::npos) << log;
}

}  // namespace
}  // namespace simpang::testing
