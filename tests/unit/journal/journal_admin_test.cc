// The SQLite journal's admin (open_sqlite_journal_admin), beyond the contract every backend's
// admin keeps (journal_contract_test.cc): the command working on the file with no hub running (it
// carries replays out itself), history replays from a time or a sequence, requests queued for a hub
// that has not started, replayed rows and retention, the lock, files it refuses.
#include "journal/journal_admin.h"

#include <gtest/gtest.h>

#include <mutex>

#include "journal/journal.h"
#include "journal/sqlite/sqlite_journal.h"
#include "journal_test_util.h"

namespace simpang::hub::testing {
namespace {

class JournalAdminTest : public ::testing::Test {
 protected:
  JournalOptions options() {
    JournalOptions options;
    options.file = dir_ / "journal.db";
    options.clock = clock_.function();
    return options;
  }

  std::unique_ptr<Journal> open_journal(bool start = true) {
    auto journal = open_sqlite_journal(options(), {"ledger", "webhook"}, {"all", "completions"});
    EXPECT_TRUE(journal.ok()) << journal.status().message();
    if (!journal.ok()) {
      return nullptr;
    }
    if (start) {
      start_journal(**journal);
    }
    return std::move(*journal);
  }

  void start_journal(Journal& journal) {
    journal.start([this](ReplayNotice notice) {
      std::lock_guard lock(mutex_);
      replays_.push_back(std::move(notice));
    });
  }

  std::unique_ptr<JournalAdmin> open_admin() {
    auto admin = open_sqlite_journal_admin(options().file);
    EXPECT_TRUE(admin.ok()) << admin.status().message();
    return admin.ok() ? std::move(*admin) : nullptr;
  }

  std::vector<ReplayNotice> replays() {
    std::lock_guard lock(mutex_);
    return replays_;
  }

  simpang::testing::TempDir dir_;
  FakeClock clock_;
  std::mutex mutex_;
  std::vector<ReplayNotice> replays_;
};

TEST_F(JournalAdminTest, ListsShowsAndDropsDeadLettersWithFilters) {
  DeadLetterFixture fixture;
  {
    auto journal = open_journal();
    ASSERT_NE(journal, nullptr);
    fixture = populate_dead_letters(*journal);
  }
  auto admin = open_admin();
  ASSERT_NE(admin, nullptr);
  EXPECT_FALSE(admin->hub_running());

  expect_fixture_listed_and_shown(*admin, fixture);
  expect_fixture_dropped(*admin, fixture);
}

TEST_F(JournalAdminTest, ReplayDeadWithoutAHubIsCarriedOutByTheCommand) {
  DeadLetterFixture fixture;
  {
    auto journal = open_journal();
    ASSERT_NE(journal, nullptr);
    fixture = populate_dead_letters(*journal);
  }
  {
    auto admin = open_admin();
    ASSERT_NE(admin, nullptr);
    auto replayed = admin->replay_dead(where("ledger"), std::chrono::seconds(5));
    ASSERT_TRUE(replayed.ok()) << replayed.status().message();
    EXPECT_EQ(*replayed, 3u);
    EXPECT_TRUE(admin->list_dead(where("ledger"), 100)->empty());
    EXPECT_EQ(admin->list_dead({}, 100)->size(), 2u);
  }
  auto journal = open_journal();
  ASSERT_NE(journal, nullptr);
  const auto pending = all_pending(*journal, 0);
  ASSERT_EQ(pending.size(), 3u);
  for (size_t i = 0; i < pending.size(); ++i) {
    EXPECT_GT(pending[i].id, fixture.highest_id) << "a replayed row gets a new, larger id";
    EXPECT_EQ(pending[i].attempts, 0u);
    EXPECT_EQ(pending[i].event_seq, fixture.events[i].seq);
    EXPECT_EQ(pending[i].route, 0u);
  }
  EXPECT_EQ(journal->stats().pending_events, 3u);
  EXPECT_TRUE(replays().empty());  // nothing left for the hub to do
}

TEST_F(JournalAdminTest, ReplayHistoryFromATimeOrASequence) {
  DeadLetterFixture fixture;
  {
    auto journal = open_journal();
    ASSERT_NE(journal, nullptr);
    fixture = populate_dead_letters(*journal);
    clock_.advance(std::chrono::minutes(5));
    // e6: later, to the ledger only; e7: routed nowhere.
    ASSERT_TRUE(append_sync(*journal, batch_of("lms", {new_event("moodle://lms", "e6", {{0, 0}}),
                                                       new_event("moodle://lms", "e7", {})}))
                    .ok());
  }
  auto admin = open_admin();
  ASSERT_NE(admin, nullptr);
  // The webhook received e0..e2; e0 and e1 are dead, not pending, so all three are replayed.
  auto webhook = admin->replay_history(from_seq("webhook", 0), kDeadline);
  ASSERT_TRUE(webhook.ok()) << webhook.status().message();
  EXPECT_EQ(*webhook, 3u);
  // Since five minutes later: e6 only (e7 was never routed to the ledger).
  auto later =
      admin->replay_history(since("ledger", clock_.now() - std::chrono::seconds(1)), kDeadline);
  ASSERT_TRUE(later.ok()) << later.status().message();
  EXPECT_EQ(*later, 0u) << "e6 is still pending for the ledger: no second copy";
  // From e4 on: e4 and e5 (acked) are replayed, e6 is already pending.
  auto from_e4 = admin->replay_history(from_seq("ledger", fixture.events[4].seq), kDeadline);
  ASSERT_TRUE(from_e4.ok());
  EXPECT_EQ(*from_e4, 2u);

  auto journal = open_journal();
  ASSERT_NE(journal, nullptr);
  const auto webhook_rows = all_pending(*journal, 1);
  ASSERT_EQ(webhook_rows.size(), 3u);
  EXPECT_EQ(webhook_rows[0].route, 1u);  // the route that first sent it there
  const auto ledger_rows = journal->load_pending(0, fixture.highest_id, 100);
  ASSERT_TRUE(ledger_rows.ok());
  ASSERT_EQ(ledger_rows->size(), 3u);  // e6, then the replayed e4, e5
  EXPECT_EQ((*ledger_rows)[1].event_seq, fixture.events[4].seq);
  EXPECT_EQ((*ledger_rows)[2].event_seq, fixture.events[5].seq);
}

// The pending-events count (what full() compares) and retention see rows a replay added, which
// sit outside the event's own id range.
TEST_F(JournalAdminTest, ReplayedRowsKeepTheirEventPendingAndRetained) {
  JournalOptions opts = options();
  opts.retention = std::chrono::hours(1);
  opts.maintenance_interval = std::chrono::milliseconds(0);
  auto opened = open_sqlite_journal(opts, {"ledger", "webhook"}, {"all", "completions"});
  ASSERT_TRUE(opened.ok());
  auto journal = std::move(*opened);
  start_journal(*journal);
  auto appended = append_sync(*journal, batch_of("lms", {new_event("s", "e1", {{0, 0}, {1, 1}}),
                                                         new_event("s", "e2", {{0, 0}})}));
  ASSERT_TRUE(appended.ok());
  const uint64_t a = (*appended)[0].delivery_ids[0];
  const uint64_t b = (*appended)[0].delivery_ids[1];
  const uint64_t c = (*appended)[1].delivery_ids[0];
  EXPECT_EQ(journal->stats().pending_events, 2u);
  journal->update({{b, DeliveryUpdate::Kind::kDead, 3, {}, "bad"}});
  expect_eventually([&] { return journal->stats().updates == 1; }, "the dead letter");
  EXPECT_EQ(journal->stats().pending_events, 2u);  // e1 still owes the ledger

  auto admin = open_admin();
  ASSERT_NE(admin, nullptr);
  auto replayed = admin->replay_dead(with_id(b), kDeadline);
  ASSERT_TRUE(replayed.ok()) << replayed.status().message();
  EXPECT_EQ(*replayed, 1u);
  EXPECT_EQ(journal->stats().pending_events, 2u);
  auto webhook = journal->load_pending(1, c, 10);
  ASSERT_TRUE(webhook.ok());
  ASSERT_EQ(webhook->size(), 1u);
  const uint64_t b2 = (*webhook)[0].id;

  // e1's own rows are all gone, only the replayed one is left: still pending, still retained.
  journal->update({{a, DeliveryUpdate::Kind::kAcked, 1, {}, ""}});
  expect_eventually([&] { return journal->stats().updates == 2; }, "the ack of a");
  EXPECT_EQ(journal->stats().pending_events, 2u);
  clock_.advance(std::chrono::hours(2));
  journal->update({{c, DeliveryUpdate::Kind::kAcked, 1, {}, ""}});
  expect_eventually([&] { return journal->stats().pruned == 1; }, "e2 pruned");
  EXPECT_EQ(journal->stats().pending_events, 1u);
  EXPECT_EQ(journal->stats().events, 1u);  // e1 stays: its replayed delivery is pending

  journal->update({{b2, DeliveryUpdate::Kind::kAcked, 1, {}, ""}});
  expect_eventually([&] { return journal->stats().pruned == 2; }, "e1 pruned");
  EXPECT_EQ(journal->stats().pending_events, 0u);
  EXPECT_EQ(journal->stats().events, 0u);

  // The count survives a restart (it is kept in the file, not recounted).
  journal.reset();
  auto reopened = open_journal();
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->stats().pending_events, 0u);
}

TEST_F(JournalAdminTest, ReplayHistoryNeedsAKnownDestinationAndAStart) {
  { ASSERT_NE(open_journal(), nullptr); }
  auto admin = open_admin();
  ASSERT_NE(admin, nullptr);
  auto unknown = admin->replay_history(from_seq("ledgr", 1), kDeadline);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("no destination named 'ledgr'"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("ledger, webhook"), std::string::npos);
  ReplaySpec no_start_spec;
  no_start_spec.destination = "ledger";
  auto no_start = admin->replay_history(no_start_spec, kDeadline);
  ASSERT_FALSE(no_start.ok());
  EXPECT_NE(no_start.status().message().find("needs a start"), std::string::npos);
}

TEST_F(JournalAdminTest, AQueuedRequestWaitsForTheHubAndIsTakenWhenItRuns) {
  DeadLetterFixture fixture;
  {
    auto journal = open_journal();
    ASSERT_NE(journal, nullptr);
    fixture = populate_dead_letters(*journal);
  }
  // A hub that holds the lock but whose writer has not started yet.
  auto journal = open_journal(/*start=*/false);
  ASSERT_NE(journal, nullptr);
  auto admin = open_admin();
  ASSERT_NE(admin, nullptr);
  auto queued = admin->replay_dead(where("webhook"), std::chrono::milliseconds(100));
  ASSERT_FALSE(queued.ok());
  EXPECT_NE(queued.status().message().find("is queued"), std::string::npos)
      << queued.status().message();
  EXPECT_NE(queued.status().message().find("has not taken it yet"), std::string::npos);

  start_journal(*journal);  // looks for requests left while it was not running
  expect_eventually([&] { return !replays().empty(); }, "on_replay");
  EXPECT_EQ(replays()[0].destinations, std::vector<uint32_t>{1});
  EXPECT_EQ(all_pending(*journal, 1).size(), 2u);
  EXPECT_TRUE(admin->list_dead(where("webhook"), 100)->empty());
}

TEST_F(JournalAdminTest, OpenRefusesAMissingFileAndAnEmptyOne) {
  auto missing = open_sqlite_journal_admin(dir_ / "nope.db");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.db: no such file"), std::string::npos);
  simpang::testing::write_file(dir_ / "empty.db", "");
  auto empty = open_sqlite_journal_admin(dir_ / "empty.db");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.status().message().find("not a journal"), std::string::npos);
}

TEST_F(JournalAdminTest, HubRunningFollowsTheJournalsLock) {
  { ASSERT_NE(open_journal(), nullptr); }
  auto admin = open_admin();
  ASSERT_NE(admin, nullptr);
  EXPECT_FALSE(admin->hub_running());
  auto journal = open_journal();
  ASSERT_NE(journal, nullptr);
  EXPECT_TRUE(admin->hub_running());
  journal.reset();
  EXPECT_FALSE(admin->hub_running());
}

}  // namespace
}  // namespace simpang::hub::testing
