// The SQLite journal's own behaviour, beyond the contract every backend keeps (that is
// journal_contract_test.cc): group commit, settling rows the writer no longer remembers, retention
// and the max_events bound, the lock. Real SQLite files in a temporary directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "journal/journal_admin.h"
#include "journal/sqlite/sqlite_journal.h"
#include "journal_test_util.h"

namespace simpang::hub::testing {
namespace {

class JournalTest : public ::testing::Test {
 protected:
  JournalOptions options() {
    JournalOptions options;
    options.file = dir_ / "state" / "journal.db";
    options.clock = clock_.function();
    return options;
  }

  // Opens and starts a journal; nullptr (after a test failure) when it cannot be opened.
  std::unique_ptr<Journal> open(const JournalOptions& options,
                                std::vector<std::string> destinations = {"ledger", "webhook"},
                                std::vector<std::string> routes = {"all", "completions"}) {
    auto journal = open_sqlite_journal(options, std::move(destinations), std::move(routes));
    EXPECT_TRUE(journal.ok()) << journal.status().message();
    if (!journal.ok()) {
      return nullptr;
    }
    (*journal)->start([this](ReplayNotice notice) {
      std::lock_guard lock(mutex_);
      replays_.push_back(std::move(notice));
    });
    return std::move(*journal);
  }

  simpang::testing::TempDir dir_;
  FakeClock clock_;
  std::mutex mutex_;
  std::vector<ReplayNotice> replays_;
};

// Appends submitted while a commit is in progress all go into the next one. Made deterministic by
// holding the writer in the first append's callback until everything else has been submitted.
TEST_F(JournalTest, GroupCommitPutsManyAppendsInOneTransaction) {
  auto journal = open(options());
  ASSERT_NE(journal, nullptr);
  constexpr int kAppends = 2000;
  std::mutex mutex;
  std::condition_variable changed;
  bool submitted = false;
  std::vector<int> order;
  std::atomic<int> failed{0};
  auto record = [&](int i, bool ok) {
    std::lock_guard lock(mutex);
    failed += ok ? 0 : 1;
    order.push_back(i);
    changed.notify_all();
  };
  journal->append(batch_of("lms", {new_event("s", "0", {{0, 0}})}), [&](auto result) {
    record(0, result.ok());
    std::unique_lock lock(mutex);
    changed.wait_for(lock, kDeadline, [&] { return submitted; });
  });
  std::thread producer([&] {
    for (int i = 1; i < kAppends; ++i) {
      journal->append(batch_of("lms", {new_event("s", std::to_string(i), {{0, 0}})}),
                      [&, i](auto result) { record(i, result.ok()); });
    }
    std::lock_guard lock(mutex);
    submitted = true;
    changed.notify_all();
  });
  producer.join();
  {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, kDeadline, [&] { return order.size() == kAppends; }))
        << "every append callback";
  }
  EXPECT_EQ(failed.load(), 0);
  const JournalStats stats = journal->stats();
  EXPECT_EQ(stats.appended, static_cast<uint64_t>(kAppends));
  // The first append's commit, then the other 1,999 together (an idle wake-up's maintenance may
  // add one).
  EXPECT_LE(stats.commits, 3u) << "appends queued during a commit share the next one";
  std::lock_guard lock(mutex);
  for (int i = 0; i < kAppends; ++i) {
    ASSERT_EQ(order[i], i) << "callbacks run in submission order";
  }
}

// Settling a delivery the writer no longer remembers (pushed out of its recent-deliveries memory
// by 64Ki newer ones, or appended before a restart) reads the row instead; the counts stay right.
TEST_F(JournalTest, SettlingOldDeliveriesAfterManyNewerOnesAndAfterARestart) {
  std::vector<uint64_t> ids;
  {
    auto journal = open(options());
    ASSERT_NE(journal, nullptr);
    for (int batch = 0; batch < 70; ++batch) {
      std::vector<NewEvent> events;
      for (int i = 0; i < 1000; ++i) {
        events.push_back(NewEvent{
            "s", std::to_string(batch * 1000 + i), event_body("s", "x", "t", "p", 64), {{0, 0}}});
      }
      auto appended = append_sync(*journal, batch_of("lms", std::move(events)));
      ASSERT_TRUE(appended.ok());
      for (const auto& event : *appended) {
        ids.push_back(event.delivery_ids[0]);
      }
    }
    EXPECT_EQ(journal->stats().pending_events, 70'000u);
    journal->update({{ids.front(), DeliveryUpdate::Kind::kAcked, 1, {}, ""},
                     {ids[1], DeliveryUpdate::Kind::kDead, 1, {}, "old"},
                     {ids.back(), DeliveryUpdate::Kind::kAcked, 1, {}, ""},
                     {ids.front(), DeliveryUpdate::Kind::kAcked, 1, {}, ""}});  // again: no-op
    expect_eventually([&] { return journal->stats().updates == 4; }, "the settlements");
    EXPECT_EQ(journal->stats().pending_events, 69'997u);
  }
  auto journal = open(options());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(journal->stats().pending_events, 69'997u);
  journal->update({{ids[2], DeliveryUpdate::Kind::kAcked, 1, {}, ""},
                   {ids[1], DeliveryUpdate::Kind::kAcked, 1, {}, ""}});  // dead: not acked
  expect_eventually([&] { return journal->stats().updates == 2; }, "the settlements");
  EXPECT_EQ(journal->stats().pending_events, 69'996u);
  auto first = journal->load_pending(0, 0, 1);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ((*first)[0].id, ids[3]);
}

TEST_F(JournalTest, RetentionPrunesOldAckedEventsButNeverPendingOrDeadOnes) {
  auto opts = options();
  opts.retention = std::chrono::hours(1);
  opts.dedup_window = std::chrono::minutes(10);
  opts.maintenance_interval = std::chrono::milliseconds(0);
  auto journal = open(opts);
  ASSERT_NE(journal, nullptr);
  auto appended = append_sync(
      *journal,
      batch_of("lms", {new_event("s", "acked", {{0, 0}}), new_event("s", "pending", {{0, 0}}),
                       new_event("s", "dead", {{0, 0}}), new_event("s", "unrouted", {})}));
  ASSERT_TRUE(appended.ok());
  journal->update({{(*appended)[0].delivery_ids[0], DeliveryUpdate::Kind::kAcked, 1, {}, ""},
                   {(*appended)[2].delivery_ids[0], DeliveryUpdate::Kind::kDead, 3, {}, "bad"}});
  expect_eventually([&] { return journal->stats().updates == 2; }, "the updates");
  // Within retention nothing goes, however often maintenance runs.
  clock_.advance(std::chrono::minutes(59));
  auto young = append_sync(*journal, batch_of("lms", {new_event("s", "young", {{0, 0}})}));
  ASSERT_TRUE(young.ok());
  journal->update({{(*young)[0].delivery_ids[0], DeliveryUpdate::Kind::kAcked, 1, {}, ""}});
  expect_eventually([&] { return journal->stats().updates == 3; }, "the ack");
  EXPECT_EQ(journal->stats().pruned, 0u);

  clock_.advance(std::chrono::minutes(2));  // the first four are past retention, "young" is not
  expect_eventually([&] { return journal->stats().pruned == 2; }, "acked and unrouted pruned");
  EXPECT_EQ(journal->stats().events, 3u);
  const auto pending = all_pending(*journal, 0);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].event_seq, (*appended)[1].seq);
  journal.reset();
  auto admin = open_sqlite_journal_admin(opts.file);
  ASSERT_TRUE(admin.ok());
  auto dead = (*admin)->show_dead((*appended)[2].delivery_ids[0]);
  ASSERT_TRUE(dead.ok()) << dead.status().message();
  EXPECT_EQ(dead->event_id, "dead");
  EXPECT_FALSE(dead->body.empty());
}

TEST_F(JournalTest, MaxEventsPrunesAckedEventsEarly) {
  auto opts = options();
  opts.max_events = 10;
  opts.maintenance_interval = std::chrono::milliseconds(0);
  auto journal = open(opts);
  ASSERT_NE(journal, nullptr);
  std::vector<NewEvent> events;
  for (int i = 0; i < 30; ++i) {
    events.push_back(new_event("s", std::to_string(i), {{0, 0}}));
  }
  auto appended = append_sync(*journal, batch_of("lms", std::move(events)));
  ASSERT_TRUE(appended.ok());
  std::vector<DeliveryUpdate> acks;
  for (int i = 0; i < 25; ++i) {  // the last five stay pending
    acks.push_back({(*appended)[i].delivery_ids[0], DeliveryUpdate::Kind::kAcked, 1, {}, ""});
  }
  journal->update(std::move(acks));
  expect_eventually([&] { return journal->stats().events <= 10; }, "pruning down to max_events");
  EXPECT_EQ(journal->stats().events, 10u);  // the oldest acked went first, no more than needed
  EXPECT_EQ(all_pending(*journal, 0).size(), 5u);
}

TEST_F(JournalTest, ASecondOpenOfTheSameFileIsRefused) {
  auto journal = open(options());
  ASSERT_NE(journal, nullptr);
  auto second = open_sqlite_journal(options(), {"ledger"}, {"all"});
  ASSERT_FALSE(second.ok());
  const std::string message = second.status().message();
  EXPECT_NE(message.find(options().file.string()), std::string::npos) << message;
  EXPECT_NE(message.find("in use by another process"), std::string::npos) << message;
  EXPECT_NE(message.find("journal.db.lock"), std::string::npos) << message;
  EXPECT_NE(message.find("pid " + std::to_string(::getpid())), std::string::npos) << message;
  journal.reset();
  auto third = open_sqlite_journal(options(), {"ledger"}, {"all"});
  EXPECT_TRUE(third.ok()) << third.status().message();
}

}  // namespace
}  // namespace simpang::hub::testing
