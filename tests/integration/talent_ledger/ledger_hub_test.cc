// talent-ledger in a real hub: sim-programme -> talent-ledger (with transform-credential's
// credentials), a sink-jsonl recording what was published. Checks that `simpang ledger progress`
// shows moving numbers while the hub runs, and that after a kill -9 of the hub in the middle of
// the ledger's writes and a restart, every published event is in the ledger once: the rows of
// each entity table equal the distinct entities published, the applied events equal the distinct
// events published.
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "test_support.h"

namespace {

using namespace std::chrono_literals;
using simpang::testing::Process;
using simpang::testing::read_lines;
using simpang::testing::run_command;
using simpang::testing::simpang_binary;
using simpang::testing::wait_for;

// Counts with a connection of the test's own; -1 when the file or table is not there yet.
int64_t query_count(const std::filesystem::path& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return -1;
  }
  sqlite3_busy_timeout(db, 2000);
  sqlite3_stmt* st = nullptr;
  int64_t n = -1;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

// What was published, from the sink-jsonl record: distinct event ids, and distinct entity keys
// per ledger table.
struct Published {
  std::set<std::string> events;
  std::map<std::string, std::set<std::string>> entities;
};

Published published(const std::filesystem::path& jsonl) {
  static const std::map<std::string, std::pair<std::string, std::string>> kKey = {
      {"talent.organisation.registered", {"organisations", "organisationId"}},
      {"talent.course.published", {"courses", "courseId"}},
      {"talent.person.registered", {"persons", "personId"}},
      {"talent.employment.updated", {"employments", "personId"}},
      {"talent.enrollment.created", {"enrollments", "enrollmentId"}},
      {"talent.completion.recorded", {"completions", "enrollmentId"}},
      {"talent.credential.issued", {"credentials", "credentialId"}}};
  Published p;
  for (const std::string& line : read_lines(jsonl)) {
    const auto e = nlohmann::json::parse(line);
    p.events.insert(e["source"].get<std::string>() + " " + e["id"].get<std::string>());
    const auto it = kKey.find(e["type"].get<std::string>());
    if (it == kKey.end()) continue;
    std::string key = e["data"][it->second.second].get<std::string>();
    if (it->second.first == "employments")
      key += "/" + e["data"]["organisationId"].get<std::string>();
    p.entities[it->second.first].insert(key);
  }
  return p;
}

class TalentLedgerHub : public ::testing::Test {
 protected:
  std::filesystem::path ledger_db() const { return dir_ / "state/instances/ledger/ledger.db"; }
  std::filesystem::path record() const { return dir_ / "state/instances/record/published.jsonl"; }
  std::string config() const { return (dir_ / "hub.yaml").string(); }

  void write_config(int rate, int max_events) {
    // clang-format off
    simpang::testing::write_file(dir_ / "hub.yaml",
        "hub:\n"
        "  state_dir: " + (dir_ / "state").string() + "\n"
        "  summary_interval: 0s\n"
        "plugins:\n"
        "  - name: programme\n"
        "    plugin: sim-programme\n"
        "    config: {seed: 11, rate: " + std::to_string(rate) + ", max_events: " +
            std::to_string(max_events) + ", learners: 2000, partners: 30}\n"
        "  - name: credentials\n"
        "    plugin: transform-credential\n"
        "  - name: ledger\n"
        "    plugin: talent-ledger\n"
        "    config:\n"
        "      targets: {learners: 30000, partners: 200, end_date: 2027-12-31}\n"
        "  - name: record\n"
        "    plugin: sink-jsonl\n"
        "    config: {path: published.jsonl}\n"
        "routes:\n"
        "  - name: to-ledger\n"
        "    from: [programme, credentials]\n"
        "    match: {type: talent.**}\n"
        "    to: [ledger, record]\n"
        "  - name: completions\n"
        "    from: [programme]\n"
        "    match: {type: talent.completion.*}\n"
        "    to: [credentials]\n");
    // clang-format on
  }

  void start() {
    hub_ = std::make_unique<Process>(
        std::vector<std::string>{simpang_binary().string(), "run", config()}, dir_ / "hub.log");
  }

  int64_t applied() const {
    return query_count(ledger_db(), "SELECT COUNT(*) FROM applied_events");
  }

  // Waits until the simulator has published all `max_events` and the ledger holds as many
  // events as the record, then stops the hub (which drains what is in flight) and compares.
  void expect_ledger_matches_what_was_published(int max_events) {
    const bool caught_up = wait_for(
        [&] {
          const Published p = published(record());
          size_t from_programme = 0;
          for (const auto& e : p.events)
            from_programme += e.rfind("/simpang/sim-programme/", 0) == 0;
          return from_programme == static_cast<size_t>(max_events) &&
                 applied() == static_cast<int64_t>(p.events.size());
        },
        120s);
    ASSERT_TRUE(caught_up) << "applied " << applied() << "\n"
                           << simpang::testing::read_file(dir_ / "hub.log");
    ASSERT_EQ(hub_->stop(30s), 0);
    const Published p = published(record());
    EXPECT_EQ(applied(), static_cast<int64_t>(p.events.size()));
    for (const auto& [table, keys] : p.entities) {
      EXPECT_EQ(query_count(ledger_db(), "SELECT COUNT(*) FROM " + table),
                static_cast<int64_t>(keys.size()))
          << table;
    }
    EXPECT_GT(p.entities.at("credentials").size(), 0u);
    EXPECT_GT(p.entities.at("completions").size(), 0u);
  }

  simpang::testing::TempDir dir_{"ledger-hub"};
  std::unique_ptr<Process> hub_;
};

TEST_F(TalentLedgerHub, ProgressShowsNumbersThatMoveWhileTheHubRuns) {
  constexpr int kEvents = 4000;
  write_config(800, kEvents);
  start();
  const auto progress = [&]() -> nlohmann::json {
    auto r =
        run_command({simpang_binary().string(), "ledger", "progress", config(), "--json"}, 30s);
    if (r.status != 0) return nullptr;
    return nlohmann::json::parse(r.output, nullptr, false);
  };
  nlohmann::json first;
  ASSERT_TRUE(wait_for(
      [&] {
        first = progress();
        return first.is_object() && first["overall"]["registered"].get<int>() > 0;
      },
      60s))
      << simpang::testing::read_file(dir_ / "hub.log");
  nlohmann::json later;
  ASSERT_TRUE(wait_for(
      [&] {
        later = progress();
        return later.is_object() &&
               later["overall"]["enrolled"].get<int>() > first["overall"]["enrolled"].get<int>() &&
               later["overall"]["registered"].get<int>() >
                   first["overall"]["registered"].get<int>();
      },
      60s));
  EXPECT_EQ(later["learners"]["target"], 30000);
  EXPECT_EQ(later["partners"]["target"], 200);
  EXPECT_GT(later["partners"]["actual"].get<int>(), 0);
  expect_ledger_matches_what_was_published(kEvents);

  // The table form, once the hub has stopped (the file is read, not the hub).
  auto table = run_command({simpang_binary().string(), "ledger", "progress", config()}, 30s);
  ASSERT_EQ(table.status, 0) << table.output;
  EXPECT_NE(table.output.find("partners onboarded"), std::string::npos) << table.output;
  EXPECT_NE(table.output.find("COURSE"), std::string::npos);
  std::cout << table.output.substr(0, 600);
}

TEST_F(TalentLedgerHub, AKill9DuringLedgerWritesLosesNothingAndDoublesNothing) {
  constexpr int kEvents = 6000;
  write_config(1500, kEvents);
  start();
  // Kill it while the ledger is busy: some events applied, many still to come.
  ASSERT_TRUE(wait_for([&] { return applied() > 800; }, 60s))
      << simpang::testing::read_file(dir_ / "hub.log");
  hub_->signal(SIGKILL);
  ASSERT_TRUE(hub_->wait(10s).has_value());
  const int64_t at_kill = applied();
  EXPECT_LT(at_kill, kEvents) << "the kill came too late to interrupt anything";
  std::cout << "[ kill -9 ] ledger had applied " << at_kill << " events\n";
  // The simulator starts again from event 1 (the same ids): the hub drops what it has journaled
  // and redelivers what was not settled; the ledger must end with each event once.
  start();
  expect_ledger_matches_what_was_published(kEvents);
}

}  // namespace
