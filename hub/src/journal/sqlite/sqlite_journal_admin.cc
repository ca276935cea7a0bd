// The SQLite journal's admin (open_sqlite_journal_admin): reads and drops dead letters directly,
// and turns replays into rows of the requests table that the lock holder carries out (store.h).
#include <thread>

#include "journal/journal_admin.h"
#include "journal/sqlite/file_lock.h"
#include "journal/sqlite/schema.h"
#include "journal/sqlite/sqlite_journal.h"
#include "journal/sqlite/sqlite_util.h"
#include "journal/sqlite/store.h"
#include "simpang/v1/event.pb.h"

namespace simpang::hub {
namespace {

using journal_internal::Db;
using journal_internal::FileLock;
using journal_internal::Stmt;

// How often a command waiting for the hub looks at its request row.
constexpr auto kRequestPollInterval = std::chrono::milliseconds(20);

// Thread rule: one thread at a time (it owns one connection). OWNERSHIP: owns its connection; a
// lock it takes to carry out a request itself is held only for that transaction.
class SqliteJournalAdmin final : public JournalAdmin {
 public:
  explicit SqliteJournalAdmin(std::unique_ptr<Db> db) : db_(std::move(db)) {}

  bool hub_running() override { return FileLock::held_by_someone(db_->path()); }
  StatusOr<std::vector<DeadLetter>> list_dead(const DeadLetterFilter& filter,
                                              size_t limit) override;
  StatusOr<DeadLetter> show_dead(uint64_t delivery_id) override;
  StatusOr<uint64_t> drop_dead(const DeadLetterFilter& filter) override;
  StatusOr<uint64_t> replay_dead(const DeadLetterFilter& filter,
                                 std::chrono::milliseconds wait) override;
  StatusOr<uint64_t> replay_history(const ReplaySpec& spec,
                                    std::chrono::milliseconds wait) override;
  StatusOr<uint64_t> read_history(
      const HistoryRange& range,
      const std::function<bool(const JournaledEvent&)>& on_event) override;

 private:
  std::string file() const { return db_->path().string(); }
  // Carries out every queued request here. REQUIRES: the caller holds FILE.lock.
  Status run_requests_here();
  // Waits for request `id` to be carried out, by the hub or (when none runs) here.
  StatusOr<uint64_t> await_request(int64_t id, std::chrono::milliseconds wait);

  std::unique_ptr<Db> db_;
};

StatusOr<std::vector<DeadLetter>> SqliteJournalAdmin::list_dead(const DeadLetterFilter& filter,
                                                                size_t limit) {
  Stmt stmt(*db_,
            "SELECT d.id, d.event_seq, coalesce(dn.name, ''), coalesce(rn.name, ''), d.attempts,"
            " coalesce(d.last_error, ''), coalesce(d.dead_at_ms, 0), e.event_id, e.source, e.body" +
                std::string(journal_internal::kDeadFrom) + " ORDER BY d.id LIMIT ?5");
  journal_internal::bind_dead_filter(stmt, filter);
  stmt.bind(5, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  std::vector<DeadLetter> letters;
  SIMPANG_RETURN_IF_ERROR(stmt.for_each_row([&](const Stmt& row) {
    DeadLetter& letter = letters.emplace_back();
    letter.delivery_id = static_cast<uint64_t>(row.column_int(0));
    letter.event_seq = static_cast<uint64_t>(row.column_int(1));
    letter.destination = row.column_text(2);
    letter.route = row.column_text(3);
    letter.attempts = static_cast<uint32_t>(row.column_int(4));
    letter.last_error = row.column_text(5);
    letter.dead_at = journal_internal::from_ms(row.column_int(6));
    letter.event_id = row.column_text(7);
    letter.event_source = row.column_text(8);
    letter.body = row.column_blob(9);
    simpang::v1::Event event;
    if (event.ParseFromString(letter.body)) {
      letter.event_type = event.type();
      letter.event_subject = event.subject();
    }
  }));
  return letters;
}

StatusOr<DeadLetter> SqliteJournalAdmin::show_dead(uint64_t delivery_id) {
  DeadLetterFilter filter;
  filter.delivery_id = delivery_id;
  auto letters = list_dead(filter, 1);
  if (!letters.ok()) {
    return letters.status();
  }
  if (letters->empty()) {
    Stmt pending(*db_, "SELECT 1 FROM deliveries WHERE id = ?1 AND state = 0");
    auto row = pending.bind(1, delivery_id).step();
    const bool is_pending = row.ok() && *row;
    return Status::Error("journal " + file() + ": delivery " + std::to_string(delivery_id) +
                         (is_pending ? " is pending, not a dead letter"
                                     : " is not a dead letter (delivered, dropped, replayed or "
                                       "never journaled)"));
  }
  return std::move(letters->front());
}

StatusOr<uint64_t> SqliteJournalAdmin::drop_dead(const DeadLetterFilter& filter) {
  // Dead rows are not in the hub's memory, so deleting them directly is safe while it runs.
  Stmt drop(*db_, "DELETE FROM deliveries WHERE id IN (SELECT d.id" +
                      std::string(journal_internal::kDeadFrom) + ")");
  journal_internal::bind_dead_filter(drop, filter);
  SIMPANG_RETURN_IF_ERROR(drop.run());
  return static_cast<uint64_t>(sqlite3_changes64(db_->handle()));
}

StatusOr<uint64_t> SqliteJournalAdmin::replay_dead(const DeadLetterFilter& filter,
                                                   std::chrono::milliseconds wait) {
  Stmt insert(*db_,
              "INSERT INTO requests(kind, created_ms, delivery_id, destination, route, event_type)"
              " VALUES ('replay_dead', ?1, ?2, ?3, ?4, ?5)");
  insert.bind(1, journal_internal::to_ms(std::chrono::system_clock::now()));
  if (filter.delivery_id) {
    insert.bind(2, *filter.delivery_id);
  }
  if (filter.destination) {
    insert.bind_text(3, *filter.destination);
  }
  if (filter.route) {
    insert.bind_text(4, *filter.route);
  }
  if (filter.event_type) {
    insert.bind_text(5, *filter.event_type);
  }
  SIMPANG_RETURN_IF_ERROR(insert.run());
  return await_request(sqlite3_last_insert_rowid(db_->handle()), wait);
}

StatusOr<uint64_t> SqliteJournalAdmin::replay_history(const ReplaySpec& spec,
                                                      std::chrono::milliseconds wait) {
  if (!spec.since && !spec.from_seq) {
    return Status::Error("journal " + file() +
                         ": a history replay needs a start: a time (since) or an event sequence "
                         "(from_seq)");
  }
  auto known =
      journal_internal::find_name(*db_, journal_internal::NameKind::kDestination, spec.destination);
  if (!known.ok()) {
    return known.status();
  }
  if (!*known) {
    auto names = journal_internal::list_names(*db_, journal_internal::NameKind::kDestination);
    std::string list;
    for (const auto& name : names.ok() ? *names : std::vector<std::string>()) {
      list += (list.empty() ? "" : ", ") + name;
    }
    return Status::Error("journal " + file() + ": no destination named '" + spec.destination +
                         "' has ever received events from this journal (it knows: " +
                         (list.empty() ? "none" : list) + ")");
  }
  Stmt insert(*db_,
              "INSERT INTO requests(kind, created_ms, destination, since_ms, from_seq)"
              " VALUES ('replay_history', ?1, ?2, ?3, ?4)");
  insert.bind(1, journal_internal::to_ms(std::chrono::system_clock::now()))
      .bind_text(2, spec.destination);
  if (spec.since) {
    insert.bind(3, journal_internal::to_ms(*spec.since));
  }
  if (spec.from_seq) {
    insert.bind(4, *spec.from_seq);
  }
  SIMPANG_RETURN_IF_ERROR(insert.run());
  return await_request(sqlite3_last_insert_rowid(db_->handle()), wait);
}

Status SqliteJournalAdmin::run_requests_here() {
  journal_internal::Transaction transaction(*db_);
  SIMPANG_RETURN_IF_ERROR(transaction.begin());
  auto ids = journal_internal::load_counters(*db_);
  if (!ids.ok()) {
    return ids.status();
  }
  const journal_internal::Counters before = *ids;
  auto done = journal_internal::run_queued_requests(
      *db_, *ids, "admin", journal_internal::to_ms(std::chrono::system_clock::now()));
  if (!done.ok()) {
    return done.status();
  }
  if (!(*ids == before)) {
    Stmt update_meta(*db_, "UPDATE meta SET value = ?2 WHERE key = ?1");
    SIMPANG_RETURN_IF_ERROR(journal_internal::save_counters(update_meta, *ids));
  }
  return transaction.commit();
}

StatusOr<uint64_t> SqliteJournalAdmin::await_request(int64_t id, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  Stmt state(*db_,
             "SELECT state, coalesce(count, 0), coalesce(error, '') FROM requests WHERE id = ?1");
  for (;;) {
    // No hub: carry it out here, holding the lock so that no hub starts halfway through. Checked
    // on every round, so a request survives a hub that stops before taking it.
    auto lock = FileLock::try_exclusive(db_->path());
    if (!lock.ok()) {
      return lock.status();
    }
    if (*lock != nullptr) {
      SIMPANG_RETURN_IF_ERROR(run_requests_here());
    }
    lock->reset();

    auto row = state.bind(1, id).step();
    if (!row.ok()) {
      return row.status();
    }
    if (!*row) {
      return Status::Error("journal " + file() + ": replay request " + std::to_string(id) +
                           " disappeared");
    }
    const std::string status(state.column_text(0));
    const auto count = static_cast<uint64_t>(state.column_int(1));
    const std::string error(state.column_text(2));
    state.reset();
    if (status == "done") {
      return count;
    }
    if (status == "failed") {
      return Status::Error("journal " + file() + ": replay request " + std::to_string(id) +
                           " failed: " + error);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      const auto pid = FileLock::holder_pid(db_->path());
      return Status::Error(
          "journal " + file() + ": replay request " + std::to_string(id) +
          " is queued, but the running hub" + (pid ? " (pid " + std::to_string(*pid) + ")" : "") +
          " has not taken it yet (waited " + std::to_string(wait.count()) +
          " ms). It stays queued: the hub carries it out when its journal writer next looks, or "
          "the next hub (or replay command) on this journal does.");
    }
    std::this_thread::sleep_for(kRequestPollInterval);
  }
}

StatusOr<uint64_t> SqliteJournalAdmin::read_history(
    const HistoryRange& range, const std::function<bool(const JournaledEvent&)>& on_event) {
  // One read transaction: a consistent snapshot, and WAL readers never block the hub's writer.
  Stmt stmt(*db_,
            "SELECT e.seq, e.received_ms, coalesce(n.name, ''), e.body FROM events e"
            " LEFT JOIN names n ON n.id = e.publisher AND n.kind = 3"
            " WHERE e.received_ms >= ?1 AND e.received_ms < ?2 ORDER BY e.seq LIMIT ?3");
  stmt.bind(1, range.since ? journal_internal::to_ms(*range.since) : INT64_MIN);
  stmt.bind(2, range.until ? journal_internal::to_ms(*range.until) : INT64_MAX);
  stmt.bind(3, static_cast<int64_t>(std::min<size_t>(range.limit, INT64_MAX)));
  uint64_t read = 0;
  JournaledEvent event;
  for (;;) {
    auto row = stmt.step();
    if (!row.ok()) {
      return Status::Error("journal " + file() + ": reading history: " + row.status().message());
    }
    if (!*row) {
      break;
    }
    event.seq = static_cast<uint64_t>(stmt.column_int(0));
    event.received = journal_internal::from_ms(stmt.column_int(1));
    event.publisher = std::string(stmt.column_text(2));
    event.body = std::string(stmt.column_blob(3));
    ++read;
    if (!on_event(event)) {
      break;
    }
  }
  return read;
}

}  // namespace

StatusOr<std::unique_ptr<JournalAdmin>> open_sqlite_journal_admin(
    const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) {
    return Status::Error("journal " + file.string() +
                         ": no such file (a hub creates its journal when it first starts; check "
                         "the state directory)");
  }
  SIMPANG_RETURN_IF_ERROR(journal_internal::precheck_file(file));
  auto db = journal_internal::open_connection(file, /*create=*/false);
  if (!db.ok()) {
    return db.status();
  }
  // No quick_check: it reads the whole file, and an operator inspecting dead letters should not
  // wait for that (the hub checks on every start).
  SIMPANG_RETURN_IF_ERROR(
      journal_internal::prepare_schema(**db, /*create=*/false, /*verify=*/false));
  return std::unique_ptr<JournalAdmin>(new SqliteJournalAdmin(std::move(*db)));
}

}  // namespace simpang::hub
