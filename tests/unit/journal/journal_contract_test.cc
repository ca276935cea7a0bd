// The journal's contract (journal.h, journal_admin.h), checked on every backend: the same cases
// run over each entry of kBackends. A new backend passes this suite by adding itself there; a case
// that needs what a backend does not promise (durability, history) says so and is skipped for it.
// SQLite-only behaviour (the file lock, damaged files, group commit, retention, the admin command
// without a hub) is tested in journal_test.cc, journal_admin_test.cc and
// journal_corruption_test.cc.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "journal/journal.h"
#include "journal/journal_admin.h"
#include "journal/open_journal.h"
#include "journal_test_util.h"

namespace simpang::hub::testing {
namespace {

// What a backend promises beyond the common contract.
struct Backend {
  std::string name;
  JournalBackend backend;
  bool durable = false;          // survives reopen and kill -9: cases 1, and the reopen halves
  bool replays_history = false;  // keeps settled events (retention): JournalAdmin::replay_history
};

const Backend kBackends[] = {
    {"sqlite", JournalBackend::kSqlite, /*durable=*/true, /*replays_history=*/true},
    {"memory", JournalBackend::kMemory, /*durable=*/false, /*replays_history=*/false},
};

// Test names and failure messages show the backend's name.
void PrintTo(const Backend& backend, std::ostream* out) { *out << backend.name; }

class JournalContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  bool durable() const { return GetParam().durable; }

  JournalOptions options() {
    JournalOptions options;
    options.backend = GetParam().backend;
    options.file = dir_ / "state" / "journal.db";
    options.clock = clock_.function();
    return options;
  }

  // Opens (and, with `start`, starts) a journal; nullptr after a test failure.
  std::unique_ptr<Journal> open(const JournalOptions& options,
                                std::vector<std::string> destinations = {"ledger", "webhook"},
                                std::vector<std::string> routes = {"all", "completions"},
                                bool start = true) {
    auto journal = open_journal(options, std::move(destinations), std::move(routes));
    EXPECT_TRUE(journal.ok()) << journal.status().message();
    if (!journal.ok()) {
      return nullptr;
    }
    if (start) {
      start_journal(**journal);
    }
    return std::move(*journal);
  }
  std::unique_ptr<Journal> open() { return open(options()); }

  void start_journal(Journal& journal) {
    journal.start([this](ReplayNotice notice) {
      std::lock_guard lock(mutex_);
      replays_.push_back(std::move(notice));
    });
  }

  std::unique_ptr<JournalAdmin> admin_of(Journal& journal) {
    auto admin = journal.open_admin();
    EXPECT_TRUE(admin.ok()) << admin.status().message();
    return admin.ok() ? std::move(*admin) : nullptr;
  }

  // Submits updates and waits until the journal has applied them.
  void settle(Journal& journal, std::vector<DeliveryUpdate> updates) {
    const uint64_t target = journal.stats().updates + updates.size();
    journal.update(std::move(updates));
    expect_eventually([&] { return journal.stats().updates >= target; }, "the updates");
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

DeliveryUpdate ack(uint64_t id) { return {id, DeliveryUpdate::Kind::kAcked, 1, {}, ""}; }

// The CloudEvents ids of stored deliveries, read from their bodies.
std::set<std::string> event_ids(const std::vector<StoredDelivery>& rows) {
  std::set<std::string> ids;
  for (const auto& row : rows) {
    simpang::v1::Event event;
    EXPECT_TRUE(row.body && event.ParseFromString(*row.body));
    ids.insert(event.id());
  }
  return ids;
}

// --- append, ids, paging ------------------------------------------------------------------------

TEST_P(JournalContractTest, AppendReturnsIncreasingIdsAndLoadsPendingInIdOrder) {
  auto journal = open();
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
  EXPECT_EQ(journal->stats().pending_events, 3u);
  if (GetParam().replays_history) {
    EXPECT_EQ(journal->stats().events, 4u);  // the unrouted one is kept too
  }
}

TEST_P(JournalContractTest, PagingVisitsEveryPendingDeliveryOnceInIdOrder) {
  auto journal = open();
  ASSERT_NE(journal, nullptr);
  std::vector<NewEvent> events;
  for (int i = 0; i < 250; ++i) {
    events.push_back(new_event("s", std::to_string(i), {{static_cast<uint32_t>(i % 2), 0}}));
  }
  auto appended = append_sync(*journal, batch_of("lms", std::move(events)));
  ASSERT_TRUE(appended.ok());
  std::vector<uint64_t> expected;
  for (size_t i = 0; i < appended->size(); i += 2) {
    expected.push_back((*appended)[i].delivery_ids[0]);
  }
  std::vector<uint64_t> paged;
  uint64_t after = 0;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = journal->load_pending(0, after, 40);
    ASSERT_TRUE(page.ok()) << page.status().message();
    if (page->empty()) {
      break;
    }
    EXPECT_LE(page->size(), 40u);
    for (const auto& row : *page) {
      EXPECT_GT(row.id, after);
      paged.push_back(row.id);
      after = row.id;
    }
  }
  EXPECT_EQ(paged, expected);  // 125 rows: four pages of 40, 40, 40, 5
}

TEST_P(JournalContractTest, IdsAreNeverReusedAfterEveryRowIsAcked) {
  uint64_t last_id = 0;
  uint64_t last_seq = 0;
  auto journal = open();
  ASSERT_NE(journal, nullptr);
  auto appended = append_sync(*journal, batch_of("lms", {new_event("s", "1", {{0, 0}})}));
  ASSERT_TRUE(appended.ok());
  last_id = (*appended)[0].delivery_ids[0];
  settle(*journal, {ack(last_id)});
  EXPECT_EQ(journal->stats().pending_events, 0u);
  auto next = append_sync(*journal, batch_of("lms", {new_event("s", "2", {{0, 0}})}));
  ASSERT_TRUE(next.ok());
  EXPECT_GT((*next)[0].delivery_ids[0], last_id);
  EXPECT_GT((*next)[0].seq, (*appended)[0].seq);
  last_id = (*next)[0].delivery_ids[0];
  last_seq = (*next)[0].seq;
  settle(*journal, {ack(last_id)});
  if (!durable()) {
    return;
  }
  journal.reset();
  journal = open();
  ASSERT_NE(journal, nullptr);
  auto reopened = append_sync(*journal, batch_of("lms", {new_event("s", "3", {{0, 0}})}));
  ASSERT_TRUE(reopened.ok());
  EXPECT_GT((*reopened)[0].delivery_ids[0], last_id);
  EXPECT_GT((*reopened)[0].seq, last_seq);
}

// --- completion order ---------------------------------------------------------------------------

TEST_P(JournalContractTest, CompletionsRunInSubmissionOrder) {
  auto journal = open();
  ASSERT_NE(journal, nullptr);
  constexpr int kAppends = 2000;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::pair<int, uint64_t>> order;  // (submission index, seq)
  int failed = 0;
  for (int i = 0; i < kAppends; ++i) {
    journal->append(batch_of("lms", {new_event("s", std::to_string(i), {{0, 0}})}),
                    [&, i](StatusOr<std::vector<AppendedEvent>> result) {
                      std::lock_guard lock(mutex);
                      if (result.ok()) {
                        order.emplace_back(i, (*result)[0].seq);
                      } else {
                        ++failed;
                      }
                      changed.notify_all();
                    });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(changed.wait_for(lock, kDeadline, [&] {
    return static_cast<int>(order.size()) + failed == kAppends;
  })) << "every append callback";
  EXPECT_EQ(failed, 0);
  for (int i = 0; i < kAppends; ++i) {
    ASSERT_EQ(order[i].first, i) << "callbacks run in submission order";
    if (i > 0) {
      ASSERT_GT(order[i].second, order[i - 1].second) << "seqs increase in submission order";
    }
  }
}

// --- de-duplication -----------------------------------------------------------------------------

TEST_P(JournalContractTest, DuplicatesWithinTheWindowAreNotRoutedAgain) {
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

TEST_P(JournalContractTest, TheSameIdAfterTheWindowIsANewEvent) {
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

TEST_P(JournalContractTest, DuplicatesAreRecognisedAfterAReopen) {
  if (!durable()) {
    GTEST_SKIP() << GetParam().name << " is not durable";
  }
  auto opts = options();
  opts.dedup_window = std::chrono::minutes(10);
  {
    auto journal = open(opts);
    ASSERT_NE(journal, nullptr);
    auto first = append_sync(*journal, batch_of("lms", {new_event("s", "1", {{0, 0}})}));
    ASSERT_TRUE(first.ok());
    // Delivered and acked before the restart: the window, not the pending row, must catch it.
    settle(*journal, {ack((*first)[0].delivery_ids[0])});
  }
  clock_.advance(std::chrono::minutes(5));
  auto journal = open(opts);
  ASSERT_NE(journal, nullptr);
  auto again = append_sync(
      *journal, batch_of("lms", {new_event("s", "1", {{0, 0}}), new_event("s", "2", {{0, 0}})}));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)[0].duplicate);
  EXPECT_FALSE((*again)[1].duplicate);
  EXPECT_EQ(all_pending(*journal, 0).size(), 1u);
}

// --- settlement: acks, retries, dead letters ----------------------------------------------------

TEST_P(JournalContractTest, AckRetryAndDeadUpdateTheRows) {
  auto journal = open();
  ASSERT_NE(journal, nullptr);
  auto appended = append_sync(
      *journal, batch_of("lms", {new_event("s", "1", {{0, 0}}), new_event("s", "2", {{0, 0}}),
                                 new_event("s", "3", {{0, 0}})}));
  ASSERT_TRUE(appended.ok());
  const uint64_t acked = (*appended)[0].delivery_ids[0];
  const uint64_t retried = (*appended)[1].delivery_ids[0];
  const uint64_t dead = (*appended)[2].delivery_ids[0];
  const auto later = clock_.now() + std::chrono::seconds(30);
  settle(*journal, {
                       {acked, DeliveryUpdate::Kind::kAcked, 1, {}, ""},
                       {retried, DeliveryUpdate::Kind::kRetry, 2, later, "503 from the ledger"},
                       {dead, DeliveryUpdate::Kind::kDead, 5, {}, "schema mismatch"},
                       {999'999, DeliveryUpdate::Kind::kAcked, 1, {}, ""},  // unknown: ignored
                   });
  EXPECT_EQ(journal->stats().updates, 4u);

  auto check_pending = [&](Journal& j) {
    const auto pending = all_pending(j, 0);
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].id, retried);
    EXPECT_EQ(pending[0].attempts, 2u);
    EXPECT_EQ(std::chrono::duration_cast<std::chrono::milliseconds>(pending[0].not_before - later)
                  .count(),
              0);
    EXPECT_EQ(j.stats().pending_events, 1u);
  };
  check_pending(*journal);

  auto check_dead = [&](Journal& j) {
    auto admin = admin_of(j);
    ASSERT_NE(admin, nullptr);
    auto letter = admin->show_dead(dead);
    ASSERT_TRUE(letter.ok()) << letter.status().message();
    EXPECT_EQ(letter->attempts, 5u);
    EXPECT_EQ(letter->last_error, "schema mismatch");
    EXPECT_EQ(letter->destination, "ledger");
    EXPECT_EQ(letter->route, "all");
    EXPECT_EQ(letter->dead_at, clock_.now());
    EXPECT_EQ(letter->event_id, "3");
  };
  check_dead(*journal);

  // A dead letter stays dead: neither an ack nor a retry of its id changes it.
  settle(*journal, {ack(dead), {dead, DeliveryUpdate::Kind::kRetry, 9, later, "late"}});
  check_dead(*journal);
  check_pending(*journal);

  if (durable()) {
    journal.reset();
    journal = open();
    ASSERT_NE(journal, nullptr);
    check_pending(*journal);
    check_dead(*journal);
  }
}

TEST_P(JournalContractTest, DeadLettersAreListedShownAndDroppedWithFilters) {
  auto journal = open();
  ASSERT_NE(journal, nullptr);
  const DeadLetterFixture fixture = populate_dead_letters(*journal);
  auto admin = admin_of(*journal);
  ASSERT_NE(admin, nullptr);
  EXPECT_TRUE(admin->hub_running());

  expect_fixture_listed_and_shown(*admin, fixture);
  auto pending = append_sync(*journal, batch_of("lms", {new_event("s", "p", {{0, 0}})}));
  ASSERT_TRUE(pending.ok());
  auto not_dead = admin->show_dead((*pending)[0].delivery_ids[0]);
  ASSERT_FALSE(not_dead.ok());
  EXPECT_NE(not_dead.status().message().find("is pending"), std::string::npos);

  expect_fixture_dropped(*admin, fixture);
}

// --- replay -------------------------------------------------------------------------------------

TEST_P(JournalContractTest, ReplayedDeadLettersArePendingAgainUnderNewIds) {
  auto journal = open();
  ASSERT_NE(journal, nullptr);
  const DeadLetterFixture fixture = populate_dead_letters(*journal);
  auto admin = admin_of(*journal);
  ASSERT_NE(admin, nullptr);

  auto replayed =
      admin->replay_dead(where(std::nullopt, std::nullopt, "talent.enrollment.v1"), kDeadline);
  ASSERT_TRUE(replayed.ok()) << replayed.status().message();
  EXPECT_EQ(*replayed, 2u);  // e1: ledger and webhook
  expect_eventually([&] { return !replays().empty(); }, "on_replay");
  const auto notices = replays();
  ASSERT_EQ(notices.size(), 1u);
  EXPECT_EQ(notices[0].destinations, (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(notices[0].deliveries, 2u);

  // The broker pages from what it had loaded: the replayed rows are above it.
  for (uint32_t destination : {0u, 1u}) {
    auto rows = journal->load_pending(destination, fixture.highest_id, 100);
    ASSERT_TRUE(rows.ok());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_GT((*rows)[0].id, fixture.highest_id);
    EXPECT_EQ((*rows)[0].event_seq, fixture.events[1].seq);
    EXPECT_EQ((*rows)[0].attempts, 0u);
  }
  EXPECT_EQ(journal->stats().pending_events, 1u);
  EXPECT_EQ(journal->stats().replayed, 2u);
  EXPECT_EQ(admin->list_dead({}, 100)->size(), 3u);
  // A late settlement for an old id changes nothing.
  settle(*journal, {ack(fixture.ledger_dead[1])});
  EXPECT_EQ(all_pending(*journal, 0).size(), 1u);
}

TEST_P(JournalContractTest, HistoryIsReplayedOrRefusedWithAReason) {
  auto journal = open();
  ASSERT_NE(journal, nullptr);
  const DeadLetterFixture fixture = populate_dead_letters(*journal);
  auto admin = admin_of(*journal);
  ASSERT_NE(admin, nullptr);
  auto replayed =
      admin->replay_history(since("ledger", clock_.now() - std::chrono::minutes(1)), kDeadline);
  if (!GetParam().replays_history) {
    ASSERT_FALSE(replayed.ok());
    EXPECT_NE(replayed.status().message().find("not supported"), std::string::npos)
        << replayed.status().message();
    EXPECT_TRUE(replays().empty());
    return;
  }
  ASSERT_TRUE(replayed.ok()) << replayed.status().message();
  EXPECT_EQ(*replayed, 6u);
  expect_eventually([&] { return !replays().empty(); }, "on_replay");
  EXPECT_EQ(replays()[0].destinations, std::vector<uint32_t>{0});
  auto rows = journal->load_pending(0, fixture.highest_id, 100);
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(rows->size(), 6u);

  // From a sequence: the webhook's e1 and e2 (e0 is before it).
  auto webhook = admin->replay_history(from_seq("webhook", fixture.events[1].seq), kDeadline);
  ASSERT_TRUE(webhook.ok()) << webhook.status().message();
  EXPECT_EQ(*webhook, 2u);
  expect_eventually([&] { return replays().size() == 2; }, "the second on_replay");
  EXPECT_EQ(replays()[1].destinations, std::vector<uint32_t>{1});
  EXPECT_EQ(replays()[1].deliveries, 2u);
  auto webhook_rows = journal->load_pending(1, fixture.highest_id, 100);
  ASSERT_TRUE(webhook_rows.ok());
  ASSERT_EQ(webhook_rows->size(), 2u);
  EXPECT_EQ((*webhook_rows)[0].event_seq, fixture.events[1].seq);
  EXPECT_EQ((*webhook_rows)[1].event_seq, fixture.events[2].seq);
  EXPECT_EQ(journal->stats().pending_events, 6u);  // e0..e5 each owe the ledger
}

// --- cursors ------------------------------------------------------------------------------------

TEST_P(JournalContractTest, CursorsAreWrittenWithTheirBatch) {
  auto journal = open();
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(append_sync(*journal, batch_of("hr-csv", {new_event("s", "1", {{0, 0}})},
                                             {{"file", "people-1.csv"}, {"line", "10"}}))
                  .ok());
  ASSERT_TRUE(append_sync(*journal, batch_of("hr-csv", {}, {{"line", "20"}})).ok());
  // A batch that fails writes neither its events nor its cursors.
  EXPECT_FALSE(
      append_sync(*journal, batch_of("hr-csv", {new_event("s", "2", {{9, 0}})}, {{"line", "30"}}))
          .ok());
  auto cursors = journal->load_cursors("hr-csv");
  ASSERT_TRUE(cursors.ok()) << cursors.status().message();
  EXPECT_EQ(*cursors,
            (std::map<std::string, std::string>{{"file", "people-1.csv"}, {"line", "20"}}));
  EXPECT_EQ(all_pending(*journal, 0).size(), 1u);
  auto none = journal->load_cursors("moodle");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  if (!durable()) {
    return;
  }
  journal.reset();
  journal = open();
  ASSERT_NE(journal, nullptr);
  cursors = journal->load_cursors("hr-csv");
  ASSERT_TRUE(cursors.ok());
  EXPECT_EQ(cursors->at("line"), "20");
}

// --- back-pressure ------------------------------------------------------------------------------

TEST_P(JournalContractTest, FullWhilePendingEventsExceedTheBound) {
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
  settle(*journal, {ack((*first)[0].delivery_ids[0])});
  EXPECT_TRUE(journal->full());
  EXPECT_EQ(journal->stats().pending_events, 7u);
  journal->update({ack((*first)[0].delivery_ids[1]),
                   {(*second)[0].delivery_ids[0], DeliveryUpdate::Kind::kDead, 1, {}, "x"}});
  expect_eventually([&] { return !journal->full(); }, "full() to turn false");
  EXPECT_EQ(journal->stats().pending_events, 5u);
}

// --- names, failures, stop ----------------------------------------------------------------------

TEST_P(JournalContractTest, ABatchWithAnUnknownIndexFailsAloneAndOthersCommit) {
  auto journal = open(options(), {"ledger"}, {"all"}, /*start=*/false);
  ASSERT_NE(journal, nullptr);
  // Submitted before start(): a backend that queues puts both in one group.
  auto bad = std::make_shared<std::promise<Status>>();
  auto good = std::make_shared<std::promise<Status>>();
  journal->append(batch_of("lms", {new_event("s", "1", {{3, 0}})}),
                  [bad](auto result) { bad->set_value(result.status()); });
  journal->append(batch_of("lms", {new_event("s", "2", {{0, 0}})}),
                  [good](auto result) { good->set_value(result.status()); });
  journal->start({});
  auto bad_status = bad->get_future();
  auto good_status = good->get_future();
  ASSERT_EQ(bad_status.wait_for(kDeadline), std::future_status::ready);
  ASSERT_EQ(good_status.wait_for(kDeadline), std::future_status::ready);
  EXPECT_FALSE(bad_status.get().ok());
  EXPECT_TRUE(good_status.get().ok());
  EXPECT_EQ(journal->stats().appended, 1u);
  EXPECT_EQ(all_pending(*journal, 0).size(), 1u);
}

// A configuration reload names new destinations and routes; their indices follow the earlier ones.
TEST_P(JournalContractTest, AddNamesExtendsTheIndicesWhileRunning) {
  auto journal = open(options(), {"ledger"}, {"all"}, /*start=*/false);
  ASSERT_NE(journal, nullptr);
  ASSERT_TRUE(journal->add_names({"webhook"}, {}).ok());  // before start()
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
  EXPECT_EQ(hr[0].destination, 2u);
  EXPECT_EQ(hr[0].id, (*second)[0].delivery_ids[0]);
  // A name already known (index 3 is "ledger" again) reaches the same rows as its first index.
  const auto ledger_again = all_pending(*journal, 3);
  ASSERT_EQ(ledger_again.size(), 1u);
  EXPECT_EQ(ledger_again[0].id, (*first)[0].delivery_ids[0]);
  EXPECT_EQ(ledger_again[0].destination, 3u);
  // Beyond the names given: refused.
  auto beyond = append_sync(*journal, batch_of("lms", {new_event("s", "3", {{4, 0}})}));
  EXPECT_FALSE(beyond.ok());

  journal->stop();
  EXPECT_FALSE(journal->add_names({"late"}, {}).ok());
}

TEST_P(JournalContractTest, StopFinishesWhatWasSubmittedAndRefusesMore) {
  std::atomic<int> ok{0};
  {
    auto journal = open();
    ASSERT_NE(journal, nullptr);
    for (int i = 0; i < 50; ++i) {
      journal->append(batch_of("lms", {new_event("s", std::to_string(i), {{0, 0}})}),
                      [&ok](auto result) { ok += result.ok() ? 1 : 0; });
    }
    journal->stop();
    EXPECT_EQ(ok.load(), 50);
    // After stop(): refused at once rather than never answered.
    bool answered = false;
    bool refused = false;
    journal->append(batch_of("lms", {new_event("s", "late", {{0, 0}})}), [&](auto result) {
      answered = true;
      refused = !result.ok();
    });
    EXPECT_TRUE(answered);
    EXPECT_TRUE(refused);
  }
  if (!durable()) {
    return;
  }
  auto journal = open();
  ASSERT_NE(journal, nullptr);
  EXPECT_EQ(all_pending(*journal, 0).size(), 50u);
}

// --- reopen, durable backends -------------------------------------------------------------------

TEST_P(JournalContractTest, ReopenKeepsPendingDeliveriesAndForgetsAckedOnes) {
  if (!durable()) {
    GTEST_SKIP() << GetParam().name << " is not durable";
  }
  std::vector<uint64_t> kept;
  uint64_t highest = 0;
  {
    auto journal = open();
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
        acks.push_back(ack(id));
      } else {
        kept.push_back(id);
      }
    }
    journal->update(std::move(acks));
    journal->stop();  // finishes the submitted updates
  }
  auto journal = open();
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

  // Ids continue above everything handed out before, even above rows no longer stored.
  auto appended = append_sync(*journal, batch_of("lms", {new_event("s", "new", {{0, 0}})}));
  ASSERT_TRUE(appended.ok());
  EXPECT_GT((*appended)[0].delivery_ids[0], highest);
}

TEST_P(JournalContractTest, RowsKeepTheirDestinationAndRouteByNameAcrossConfigChanges) {
  if (!durable()) {
    GTEST_SKIP() << GetParam().name << " is not durable";
  }
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

// A child process appends batches (each with a cursor naming it) and reports each one on a pipe
// once append() said it is durable; the test kill -9s it mid-stream, reopens the journal and finds
// every reported event pending for both destinations, and the cursor with exactly its batch.
TEST_P(JournalContractTest, EveryAcknowledgedEventSurvivesKillNineOfTheWriter) {
  if (!durable()) {
    GTEST_SKIP() << GetParam().name << " is not durable";
  }
  constexpr int kPerBatch = 20;
  constexpr int kReportedBeforeKill = 40;
  auto id_of = [](int batch, int i) { return std::to_string(batch) + "-" + std::to_string(i); };
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const JournalOptions opts = options();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Only async-signal-safe exits from here on: the child never returns into the test runner.
    ::close(fds[0]);
    auto journal = open_journal(opts, {"ledger", "webhook"}, {"all", "completions"});
    if (!journal.ok()) {
      ::_exit(2);
    }
    (*journal)->start({});
    for (int batch = 0;; ++batch) {
      std::vector<NewEvent> events;
      for (int i = 0; i < kPerBatch; ++i) {
        events.push_back(new_event("crash://test", id_of(batch, i), {{0, 0}, {1, 1}}));
      }
      auto done = append_sync(
          **journal, batch_of("lms", std::move(events), {{"batch", std::to_string(batch)}}));
      const int32_t report = batch;
      if (!done.ok() || ::write(fds[1], &report, sizeof report) != sizeof report) {
        ::_exit(3);
      }
    }
  }
  ::close(fds[1]);
  std::vector<int32_t> reported;
  auto read_report = [&](int timeout_ms) {
    pollfd readable{fds[0], POLLIN, 0};
    if (::poll(&readable, 1, timeout_ms) != 1) {
      return false;
    }
    int32_t batch = 0;
    if (::read(fds[0], &batch, sizeof batch) != sizeof batch) {
      return false;
    }
    reported.push_back(batch);
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (reported.size() < kReportedBeforeKill) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !read_report(static_cast<int>(left.count()))) {
      break;  // the assertion below reports it
    }
  }
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended by itself (status " << status << ") before the kill";
  while (read_report(0)) {  // reports written before the kill
  }
  ::close(fds[0]);
  ASSERT_GE(reported.size(), static_cast<size_t>(kReportedBeforeKill));
  for (size_t i = 0; i < reported.size(); ++i) {
    ASSERT_EQ(reported[i], static_cast<int32_t>(i));
  }
  const int last_acknowledged = reported.back();

  auto journal = open();
  ASSERT_NE(journal, nullptr);
  for (uint32_t destination : {0u, 1u}) {
    const std::set<std::string> ids = event_ids(all_pending(*journal, destination));
    for (int batch = 0; batch <= last_acknowledged; ++batch) {
      for (int i = 0; i < kPerBatch; ++i) {
        ASSERT_EQ(ids.count(id_of(batch, i)), 1u)
            << "acknowledged event " << id_of(batch, i) << " lost for destination " << destination;
      }
    }
  }
  // The cursor names the last batch that committed, and that batch is there whole; the next one
  // (if it was in flight) is not there at all.
  auto cursors = journal->load_cursors("lms");
  ASSERT_TRUE(cursors.ok()) << cursors.status().message();
  ASSERT_EQ(cursors->count("batch"), 1u);
  const int cursor = std::stoi(cursors->at("batch"));
  EXPECT_GE(cursor, last_acknowledged);
  const std::set<std::string> ledger = event_ids(all_pending(*journal, 0));
  for (int i = 0; i < kPerBatch; ++i) {
    EXPECT_EQ(ledger.count(id_of(cursor, i)), 1u) << id_of(cursor, i);
    EXPECT_EQ(ledger.count(id_of(cursor + 1, i)), 0u) << id_of(cursor + 1, i);
  }
  // A publisher retrying its last batch after the crash is recognised.
  auto again = append_sync(
      *journal,
      batch_of("lms", {new_event("crash://test", id_of(last_acknowledged, 0), {{0, 0}})}));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_TRUE((*again)[0].duplicate);
}

// open_journal_admin() is for a command in another process: a backend that keeps nothing outside
// the hub's process is refused with the reason, and a durable one is never created by it.
TEST(OpenJournalAdminTest, RefusesTheMemoryBackendAndNeverCreatesAFile) {
  simpang::testing::TempDir dir;
  JournalOptions options;
  options.file = dir / "journal.db";
  options.backend = JournalBackend::kMemory;
  auto memory = open_journal_admin(options);
  ASSERT_FALSE(memory.ok());
  EXPECT_NE(memory.status().message().find("kept in memory"), std::string::npos)
      << memory.status().message();
  options.backend = JournalBackend::kSqlite;
  auto missing = open_journal_admin(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("no such file"), std::string::npos)
      << missing.status().message();
  EXPECT_FALSE(std::filesystem::exists(options.file));
}

INSTANTIATE_TEST_SUITE_P(Backends, JournalContractTest, ::testing::ValuesIn(kBackends),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace simpang::hub::testing
