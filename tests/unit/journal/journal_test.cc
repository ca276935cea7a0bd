// Journal: append / settle round trips, ids, de-duplication, cursors, reopening, group commit,
// retention and the max_events bound, the lock. Real SQLite files in a temporary directory.
#include "journal/journal.h"
#include "journal/sqlite/sqlite_journal.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "journal/journal_admin.h"
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

TEST_F(JournalTest, AppendReturnsIncreasingIdsAndLoadsPendingInIdOrder) {
  auto journal = open(options());
  ASSERT_NE(journal, nullptr);
  auto first = append_sync(
      *journal,
      batch_of("lms", {new_event("moodle://a", "1", {{0, 0}, {1, 1}}),
                       new_event("moodle://a", "2", {{0, 0}}), new_event("moodle://a", "3", {})}));
  ASSERT_TRUE(first.ok()) << first.status().message();
  ASSERT_EQ(first->size(), 3u);
  EXPECT_FALSE((*first)[0].duplicate);
  EXPECT_LT((*first)[0].seq, (*first)[1].seq);
  EXPECT_LT((*first)[1].seq, (*first)[2].seq);
  ASSERT_EQ((*first)[0].delivery_ids.size(), 2u);
  ASSERT_EQ((*first)[1].delivery_ids.size(), 1u);
  EXPECT_TRUE((*first)[2].delivery_ids.empty());  // accepted, routed nowhere
  EXPECT_LT((*first)[0].delivery_ids[0], (*first)[0].delivery_ids[1]);
  EXPECT_LT((*first)[0].delivery_ids[1], (*first)[1].delivery_ids[0]);

  auto second = append_sync(*journal, batch_of("lms", {new_event("moodle://a", "4", {{0, 1}})}));
  ASSERT_TRUE(second.ok());
  EXPECT_GT((*second)[0].delivery_ids[0], (*first)[1].delivery_ids[0]);

  const auto ledger = all_pending(*journal, 0);
  ASSERT_EQ(ledger.size(), 3u);
  EXPECT_EQ(ledger[0].id, (*first)[0].delivery_ids[0]);
  EXPECT_EQ(ledger[0].event_seq, (*first)[0].seq);
  EXPECT_EQ(ledger[0].destination, 0u);
  EXPECT_EQ(ledger[0].route, 0u);
  EXPECT_EQ(ledger[0].attempts, 0u);
  EXPECT_EQ(*ledger[0].body, *event_body("moodle://a", "1"));
  EXPECT_EQ(ledger[0].accepted_at, clock_.now());
  EXPECT_EQ(ledger[1].id, (*first)[1].delivery_ids[0]);
  EXPECT_EQ(ledger[2].id, (*second)[0].delivery_ids[0]);
  EXPECT_EQ(ledger[2].route, 1u);
  const auto webhook = all_pending(*journal, 1);
  ASSERT_EQ(webhook.size(), 1u);
  EXPECT_EQ(webhook[0].id, (*first)[0].delivery_ids[1]);
  EXPECT_EQ(webhook[0].route, 1u);

  // Paging: after_id and limit.
  auto page = journal->load_pending(0, ledger[0].id, 1);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].id, ledger[1].id);
  EXPECT_FALSE(journal->load_pending(7, 0, 10).ok());  // no such destination index
  EXPECT_EQ(journal->stats().appended, 4u);
  EXPECT_EQ(journal->stats().events, 4u);
  EXPECT_EQ(journal->stats().pending_events, 3u);
}

TEST_F(JournalTest, AckRetryAndDeadUpdateTheRows) {
  auto journal = open(options());
  ASSERT_NE(journal, nullptr);
  auto appended = append_sync(
      *journal, batch_of("lms", {new_event("s", "1", {{0, 0}}), new_event("s", "2", {{0, 0}}),
                                 new_event("s", "3", {{0, 0}})}));
  ASSERT_TRUE(appended.ok());
  const uint64_t acked = (*appended)[0].delivery_ids[0];
  const uint64_t retried = (*appended)[1].delivery_ids[0];
  const uint64_t dead = (*appended)[2].delivery_ids[0];
  const auto later = clock_.now() + std::chrono::seconds(30);
  journal->update({
      {acked, DeliveryUpdate::Kind::kAcked, 1, {}, ""},
      {retried, DeliveryUpdate::Kind::kRetry, 2, later, "503 from the ledger"},
      {dead, DeliveryUpdate::Kind::kDead, 5, {}, "schema mismatch"},
      {999'999, DeliveryUpdate::Kind::kAcked, 1, {}, ""},  // unknown: ignored
  });
  expect_eventually([&] { return journal->stats().updates == 4; }, "the updates");

  const auto pending = all_pending(*journal, 0);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].id, retried);
  EXPECT_EQ(pending[0].attempts, 2u);
  EXPECT_EQ(
      std::chrono::duration_cast<std::chrono::milliseconds>(pending[0].not_before - later).count(),
      0);
  EXPECT_EQ(journal->stats().pending_events, 1u);

  journal.reset();  // the admin reads the dead letter from the file
  auto admin = open_sqlite_journal_admin(options().file);
  ASSERT_TRUE(admin.ok()) << admin.status().message();
  auto letter = (*admin)->show_dead(dead);
  ASSERT_TRUE(letter.ok()) << letter.status().message();
  EXPECT_EQ(letter->attempts, 5u);
  EXPECT_EQ(letter->last_error, "schema mismatch");
  EXPECT_EQ(letter->destination, "ledger");
  EXPECT_EQ(letter->route, "all");
  EXPECT_EQ(letter->dead_at, clock_.now());
}

TEST_F(JournalTest, DuplicatesWithinTheWindowAreNotRoutedAgain) {
  auto opts = options();
  opts.dedup_window = std::chrono::minutes(10);
  auto journal = open(opts);
  ASSERT_NE(journal, nullptr);
  auto first = append_sync(*journal, batch_of("lms", {new_event("s", "1", {{0, 0}})}));
  ASSERT_TRUE(first.ok());
  clock_.advance(std::chrono::minutes(9));
  auto again = append_sync(
      *journal, batch_of("lms", {new_event("s", "1", {{0, 0}}), new_event("other", "1", {{0, 0}}),
                                 new_event("s", "2", {{0, 0}}), new_event("s", "2", {{0, 0}})}));
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), 4u);
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_EQ((*again)[0].seq, 0u);
  EXPECT_TRUE((*again)[0].delivery_ids.empty());
  EXPECT_FALSE((*again)[1].duplicate);  // same id, another source: another event
  EXPECT_FALSE((*again)[2].duplicate);
  EXPECT_TRUE((*again)[3].duplicate);  // a duplicate within one batch
  EXPECT_EQ(all_pending(*journal, 0).size(), 3u);
  EXPECT_EQ(journal->stats().duplicates, 2u);
}

TEST_F(JournalTest, TheSameIdAfterTheWindowIsANewEvent) {
  auto opts = options();
  opts.dedup_window = std::chrono::minutes(10);
  auto journal = open(opts);
  ASSERT_NE(journal, nullptr);
  auto first = append_sync(*journal, batch_of("lms", {new_event("s", "1", {{0, 0}})}));
  ASSERT_TRUE(first.ok());
  clock_.advance(std::chrono::minutes(10) + std::chrono::milliseconds(1));
  auto again = append_sync(*journal, batch_of("lms", {new_event("s", "1", {{0, 0}})}));
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE((*again)[0].duplicate);
  EXPECT_GT((*again)[0].seq, (*first)[0].seq);
  EXPECT_EQ(all_pending(*journal, 0).size(), 2u);
}

TEST_F(JournalTest, CursorsAreWrittenWithTheirBatch) {
  auto journal = open(options());
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(append_sync(*journal, batch_of("hr-csv", {new_event("s", "1", {{0, 0}})},
                                             {{"file", "people-1.csv"}, {"line", "10"}}))
                  .ok());
  ASSERT_TRUE(append_sync(*journal, batch_of("hr-csv", {}, {{"line", "20"}})).ok());
  auto cursors = journal->load_cursors("hr-csv");
  ASSERT_TRUE(cursors.ok()) << cursors.status().message();
  EXPECT_EQ(*cursors,
            (std::map<std::string, std::string>{{"file", "people-1.csv"}, {"line", "20"}}));
  auto none = journal->load_cursors("moodle");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  journal.reset();
  journal = open(options());
  ASSERT_NE(journal, nullptr);
  cursors = journal->load_cursors("hr-csv");
  ASSERT_TRUE(cursors.ok());
  EXPECT_EQ(cursors->at("line"), "20");
}

TEST_F(JournalTest, ReopenKeepsPendingDeliveriesAndForgetsAckedOnes) {
  std::vector<uint64_t> kept;
  uint64_t highest = 0;
  {
    auto journal = open(options());
    ASSERT_NE(journal, nullptr);
    std::vector<NewEvent> events;
    for (int i = 0; i < 100; ++i) {
      events.push_back(new_event("s", std::to_string(i), {{static_cast<uint32_t>(i % 2), 0}}));
    }
    auto appended = append_sync(*journal, batch_of("lms", std::move(events)));
    ASSERT_TRUE(appended.ok());
    std::vector<DeliveryUpdate> acks;
    for (size_t i = 0; i < appended->size(); ++i) {
      const uint64_t id = (*appended)[i].delivery_ids[0];
      highest = std::max(highest, id);
      if (i % 3 == 0) {
        acks.push_back({id, DeliveryUpdate::Kind::kAcked, 1, {}, ""});
      } else {
        kept.push_back(id);
      }
    }
    journal->update(std::move(acks));
    journal->stop();  // finishes the queued updates
  }
  auto journal = open(options());
  ASSERT_NE(journal, nullptr);
  std::vector<uint64_t> loaded;
  for (uint32_t destination : {0u, 1u}) {
    for (const auto& row : all_pending(*journal, destination)) {
      loaded.push_back(row.id);
    }
  }
  std::sort(loaded.begin(), loaded.end());
  EXPECT_EQ(loaded, kept);
  EXPECT_EQ(journal->stats().pending_events, kept.size());
  EXPECT_EQ(journal->stats().events, 100u);

  // Ids continue above everything handed out before, even above rows no longer stored.
  auto appended = append_sync(*journal, batch_of("lms", {new_event("s", "new", {{0, 0}})}));
  ASSERT_TRUE(appended.ok());
  EXPECT_GT((*appended)[0].delivery_ids[0], highest);
}

TEST_F(JournalTest, IdsAreNeverReusedAfterEveryRowIsAcked) {
  uint64_t last_id = 0;
  uint64_t last_seq = 0;
  {
    auto journal = open(options());
    ASSERT_NE(journal, nullptr);
    auto appended = append_sync(*journal, batch_of("lms", {new_event("s", "1", {{0, 0}})}));
    ASSERT_TRUE(appended.ok());
    last_id = (*appended)[0].delivery_ids[0];
    last_seq = (*appended)[0].seq;
    journal->update({{last_id, DeliveryUpdate::Kind::kAcked, 1, {}, ""}});
    expect_eventually([&] { return journal->stats().pending_events == 0; }, "the ack");
    auto next = append_sync(*journal, batch_of("lms", {new_event("s", "2", {{0, 0}})}));
    ASSERT_TRUE(next.ok());
    EXPECT_GT((*next)[0].delivery_ids[0], last_id);
    last_id = (*next)[0].delivery_ids[0];
    last_seq = (*next)[0].seq;
    journal->update({{last_id, DeliveryUpdate::Kind::kAcked, 1, {}, ""}});
  }
  auto journal = open(options());
  ASSERT_NE(journal, nullptr);
  auto appended = append_sync(*journal, batch_of("lms", {new_event("s", "3", {{0, 0}})}));
  ASSERT_TRUE(appended.ok());
  EXPECT_GT((*appended)[0].delivery_ids[0], last_id);
  EXPECT_GT((*appended)[0].seq, last_seq);
}

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

TEST_F(JournalTest, FullWhilePendingEventsExceedTheBound) {
  auto opts = options();
  opts.max_events = 5;
  auto journal = open(opts);
  ASSERT_NE(journal, nullptr);
  std::vector<NewEvent> events;
  for (int i = 0; i < 5; ++i) {
    events.push_back(new_event("s", std::to_string(i), {{0, 0}, {1, 0}}));
  }
  auto first = append_sync(*journal, batch_of("lms", std::move(events)));
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(journal->full());  // 5 pending events, not more than 5
  auto second = append_sync(
      *journal, batch_of("lms", {new_event("s", "5", {{0, 0}}), new_event("s", "6", {{0, 0}})}));
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(journal->full());
  // Acking one of an event's two deliveries leaves it pending.
  journal->update({{(*first)[0].delivery_ids[0], DeliveryUpdate::Kind::kAcked, 1, {}, ""}});
  expect_eventually([&] { return journal->stats().updates == 1; }, "the first ack");
  EXPECT_TRUE(journal->full());
  EXPECT_EQ(journal->stats().pending_events, 7u);
  journal->update({{(*first)[0].delivery_ids[1], DeliveryUpdate::Kind::kAcked, 1, {}, ""},
                   {(*second)[0].delivery_ids[0], DeliveryUpdate::Kind::kDead, 1, {}, "x"}});
  expect_eventually([&] { return !journal->full(); }, "full() to turn false");
  EXPECT_EQ(journal->stats().pending_events, 5u);
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

TEST_F(JournalTest, ABatchWithAnUnknownIndexFailsAloneAndOthersCommit) {
  auto journal = open_sqlite_journal(options(), {"ledger"}, {"all"});
  ASSERT_TRUE(journal.ok());
  // Queued before start(), so both land in one group.
  auto bad = std::make_shared<std::promise<Status>>();
  auto good = std::make_shared<std::promise<Status>>();
  (*journal)->append(batch_of("lms", {new_event("s", "1", {{3, 0}})}),
                     [bad](auto result) { bad->set_value(result.status()); });
  (*journal)->append(batch_of("lms", {new_event("s", "2", {{0, 0}})}),
                     [good](auto result) { good->set_value(result.status()); });
  (*journal)->start({});
  auto bad_status = bad->get_future();
  auto good_status = good->get_future();
  ASSERT_EQ(bad_status.wait_for(kDeadline), std::future_status::ready);
  ASSERT_EQ(good_status.wait_for(kDeadline), std::future_status::ready);
  EXPECT_FALSE(bad_status.get().ok());
  EXPECT_TRUE(good_status.get().ok());
  EXPECT_EQ((*journal)->stats().appended, 1u);
}

TEST_F(JournalTest, StopFinishesWhatWasQueued) {
  std::atomic<int> ok{0};
  {
    auto journal = open(options());
    ASSERT_NE(journal, nullptr);
    for (int i = 0; i < 50; ++i) {
      journal->append(batch_of("lms", {new_event("s", std::to_string(i), {{0, 0}})}),
                      [&ok](auto result) { ok += result.ok() ? 1 : 0; });
    }
    journal->stop();
    EXPECT_EQ(ok.load(), 50);
    // After stop(): refused at once rather than never answered.
    bool refused = false;
    journal->append(batch_of("lms", {new_event("s", "late", {{0, 0}})}),
                    [&refused](auto result) { refused = !result.ok(); });
    EXPECT_TRUE(refused);
  }
  auto journal = open(options());
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(all_pending(*journal, 0).size(), 50u);
}

TEST_F(JournalTest, RowsKeepTheirDestinationAndRouteByNameAcrossConfigChanges) {
  {
    auto journal = open(options(), {"ledger", "webhook"}, {"all", "completions"});
    ASSERT_NE(journal, nullptr);
    ASSERT_TRUE(
        append_sync(*journal, batch_of("lms", {new_event("s", "1", {{0, 1}, {1, 0}})})).ok());
  }
  // The next configuration lists destinations in another order, renames a route and drops one.
  auto journal = open(options(), {"hr", "webhook", "ledger"}, {"completions"});
  ASSERT_NE(journal, nullptr);
  const auto ledger = all_pending(*journal, 2);
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_EQ(ledger[0].destination, 2u);
  EXPECT_EQ(ledger[0].route, 0u);  // "completions", now index 0
  const auto webhook = all_pending(*journal, 1);
  ASSERT_EQ(webhook.size(), 1u);
  EXPECT_EQ(webhook[0].route, kUnknownRoute);  // "all" is gone
  EXPECT_TRUE(all_pending(*journal, 0).empty());
}

// A configuration reload names new destinations and routes; their indices follow the earlier ones.
TEST_F(JournalTest, AddNamesExtendsTheIndicesWhileRunning) {
  auto opened = open_sqlite_journal(options(), {"ledger"}, {"all"});
  ASSERT_TRUE(opened.ok());
  auto journal = std::move(*opened);
  // Before start(): done on the caller's thread.
  ASSERT_TRUE(journal->add_names({"webhook"}, {}).ok());
  journal->start({});
  auto first = append_sync(*journal, batch_of("lms", {new_event("s", "1", {{0, 0}, {1, 0}})}));
  ASSERT_TRUE(first.ok()) << first.status().message();

  // While running: usable by the next append as soon as add_names returns.
  ASSERT_TRUE(journal->add_names({"hr", "ledger"}, {"people"}).ok());
  auto second = append_sync(*journal, batch_of("lms", {new_event("s", "2", {{2, 1}})}));
  ASSERT_TRUE(second.ok()) << second.status().message();
  const auto hr = all_pending(*journal, 2);
  ASSERT_EQ(hr.size(), 1u);
  EXPECT_EQ(hr[0].route, 1u);
  EXPECT_EQ(hr[0].id, (*second)[0].delivery_ids[0]);
  // A name already known (index 3 is "ledger" again) reaches the same rows as its first index.
  EXPECT_EQ(all_pending(*journal, 3).size(), 1u);
  EXPECT_EQ(all_pending(*journal, 3)[0].id, (*first)[0].delivery_ids[0]);
  // Beyond the names given: refused.
  auto beyond = append_sync(*journal, batch_of("lms", {new_event("s", "3", {{4, 0}})}));
  EXPECT_FALSE(beyond.ok());

  journal->stop();
  EXPECT_FALSE(journal->add_names({"late"}, {}).ok());
}

}  // namespace
}  // namespace simpang::hub::testing
