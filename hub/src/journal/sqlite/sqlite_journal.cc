// The SQLite journal: open_sqlite_journal, and SqliteJournal's life cycle (its threads and queue)
// and reads. The writer's transaction is in sqlite_journal_commit.cc, the schema in schema.cc, what
// the writer shares with the admin (sqlite_journal_admin.cc) in store.cc.
//
// One writer thread owns the write connection. append() and update() queue work under a mutex;
// the writer takes everything queued (up to max_commit_events events), applies it in one
// BEGIN IMMEDIATE ... COMMIT with statements prepared once, and then runs the append callbacks in
// submission order. Everything the writer needs per row is already in the queued batch, so the
// per-row work is binding and stepping prepared statements. Reads (load_pending, load_cursors) use
// a second connection: WAL lets them read the last commit while the writer writes the next one.
// A third connection, on a thread of its own, checkpoints the WAL into the database, so the
// writer never does that copying (half its time, measured, when it did). De-duplication looks in
// memory (dedup_window.h), and no index on deliveries.event_seq is kept (store.h, EventRows):
// both would cost every append and ack an index update, and each was measured (docs/journal.md).
#include "journal/sqlite/sqlite_journal.h"

#include <algorithm>
#include <limits>
#include <system_error>
#include <utility>

#include "journal/sqlite/schema.h"
#include "journal/sqlite/sqlite_journal_impl.h"

namespace simpang::hub {
namespace journal_internal {

// Adds names to `names` (and to the dictionary when new). REQUIRES: a transaction is open.
Status add_to(Names& names, Db& db, const std::vector<std::string>& destinations,
              const std::vector<std::string>& routes) {
  for (const std::string& name : destinations) {
    auto id = ensure_name(db, NameKind::kDestination, name);
    if (!id.ok()) {
      return id.status();
    }
    names.destination_index.emplace(*id, static_cast<uint32_t>(names.destination_ids.size()));
    names.destination_ids.push_back(*id);
  }
  for (const std::string& name : routes) {
    auto id = ensure_name(db, NameKind::kRoute, name);
    if (!id.ok()) {
      return id.status();
    }
    names.route_index.emplace(*id, static_cast<uint32_t>(names.route_ids.size()));
    names.route_ids.push_back(*id);
  }
  return Status::Ok();
}

SqliteJournal::~SqliteJournal() {
  stop();
  // Statements before their connections (a connection with live statements cannot close).
  if (writer_db_) {
    sqlite3_wal_hook(writer_db_->handle(), nullptr, nullptr);
  }
  w_.reset();
  event_rows_.reset();
  load_pending_stmt_ = Stmt();
  load_cursors_stmt_ = Stmt();
}

Status SqliteJournal::init(std::vector<std::string> destinations, std::vector<std::string> routes) {
  const auto& file = options_.file;
  SIMPANG_RETURN_IF_ERROR(precheck_file(file));
  auto db = open_connection(file, /*create=*/true);
  if (!db.ok()) {
    return db.status();
  }
  writer_db_ = std::move(*db);
  SIMPANG_RETURN_IF_ERROR(prepare_schema(*writer_db_, /*create=*/true, options_.verify_on_open));
  SIMPANG_RETURN_IF_ERROR(configure_writer(*writer_db_, options_.sync));

  // This run's names, added to the dictionary if new.
  {
    Transaction transaction(*writer_db_);
    SIMPANG_RETURN_IF_ERROR(transaction.begin());
    auto names = std::make_shared<Names>();
    SIMPANG_RETURN_IF_ERROR(add_to(*names, *writer_db_, destinations, routes));
    SIMPANG_RETURN_IF_ERROR(transaction.commit());
    publish(std::move(names));
  }

  auto counters = load_counters(*writer_db_);
  if (!counters.ok()) {
    return counters.status();
  }
  counters_ = saved_counters_ = *counters;
  auto events = writer_db_->query_int("SELECT count(*) FROM events");
  if (!events.ok()) {
    return events.status();
  }
  events_ = static_cast<uint64_t>(*events);
  pending_events_ = static_cast<uint64_t>(counters_.pending_events);

  w_ = std::make_unique<WriterStatements>(*writer_db_);
  std::string error;
  if (!w_->prepared(error)) {
    return Status::Error(error);
  }
  event_rows_ = std::make_unique<EventRows>(*writer_db_);
  SIMPANG_RETURN_IF_ERROR(event_rows_->prepared());
  replayed_rows_ = query_or_zero(w_->count_replayed);
  SIMPANG_RETURN_IF_ERROR(load_dedup_window(to_ms(now())));

  auto reader = open_connection(file, /*create=*/false);
  if (!reader.ok()) {
    return reader.status();
  }
  reader_db_ = std::move(*reader);
  SIMPANG_RETURN_IF_ERROR(reader_db_->exec("PRAGMA query_only = 1"));
  load_pending_stmt_ =
      Stmt(*reader_db_,
           "SELECT d.id, d.event_seq, d.route, d.attempts, d.not_before_ms, e.body,"
           " e.received_ms"
           " FROM deliveries d JOIN events e ON e.seq = d.event_seq"
           " WHERE d.destination = ?1 AND d.state = 0 AND d.id > ?2"
           " ORDER BY d.id LIMIT ?3");
  load_cursors_stmt_ =
      Stmt(*reader_db_, "SELECT key, value FROM cursors WHERE instance = ?1 ORDER BY key");
  for (Stmt* stmt : {&load_pending_stmt_, &load_cursors_stmt_}) {
    if (!stmt->prepared()) {
      return stmt->run();
    }
  }
  auto checkpointer = open_connection(file, /*create=*/false);
  if (!checkpointer.ok()) {
    return checkpointer.status();
  }
  checkpoint_db_ = std::move(*checkpointer);
  // A connection that has not read the database yet does not know it is in WAL mode, and its
  // checkpoints do nothing: read once.
  SIMPANG_RETURN_IF_ERROR(checkpoint_db_->query_int("SELECT count(*) FROM sqlite_schema").status());
  SIMPANG_RETURN_IF_ERROR(writer_db_->exec("PRAGMA wal_autocheckpoint = 0"));
  sqlite3_wal_hook(writer_db_->handle(), &SqliteJournal::on_wal_commit, this);

  last_maintenance_ = last_request_check_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

int SqliteJournal::on_wal_commit(void* self, sqlite3* db, const char* name, int frames) {
  auto* journal = static_cast<SqliteJournal*>(self);
  bool wake = false;
  {
    std::lock_guard lock(journal->checkpoint_mutex_);
    wake = frames >= kCheckpointFrames && journal->wal_frames_ < kCheckpointFrames;
    journal->wal_frames_ = frames;
  }
  if (wake || frames >= kCheckpointForceFrames) {
    journal->checkpoint_wake_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteJournal::run_checkpoints() {
  for (;;) {
    int frames = 0;
    {
      std::unique_lock lock(checkpoint_mutex_);
      checkpoint_wake_.wait(
          lock, [this] { return checkpoint_stop_ || wal_frames_ >= kCheckpointFrames; });
      if (checkpoint_stop_) {
        return;
      }
      frames = wal_frames_;
      wal_frames_ = 0;  // the next commits report the WAL as it is after this checkpoint
    }
    // PASSIVE never blocks the writer. RESTART, only when the WAL has grown too far, waits for
    // the writer's current transaction and holds the next one back until the WAL can start over.
    const int mode =
        frames >= kCheckpointForceFrames ? SQLITE_CHECKPOINT_RESTART : SQLITE_CHECKPOINT_PASSIVE;
    // A failed checkpoint only leaves the WAL longer; the next commit asks again.
    (void)sqlite3_wal_checkpoint_v2(checkpoint_db_->handle(), nullptr, mode, nullptr, nullptr);
  }
}

void SqliteJournal::start(ReplayDone on_replay) {
  std::lock_guard lock(mutex_);
  if (started_ || closed_) {
    return;
  }
  started_ = true;
  on_replay_ = std::move(on_replay);
  checkpointer_ = std::thread([this] { run_checkpoints(); });
  writer_ = std::thread([this] { run(); });
}

void SqliteJournal::stop() {
  std::deque<Op> orphans;  // queued before a start() that never came
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (!started_) {
      closed_ = true;
      orphans.swap(queue_);
    }
  }
  wake_.notify_one();
  if (writer_.joinable()) {
    writer_.join();
  }
  {
    std::lock_guard lock(checkpoint_mutex_);
    checkpoint_stop_ = true;
  }
  checkpoint_wake_.notify_one();
  if (checkpointer_.joinable()) {
    checkpointer_.join();
  }
  for (Op& op : orphans) {
    if (op.is_append && op.done) {
      op.done(Status::Error("journal " + options_.file.string() + ": stopped before it started"));
    }
  }
}

void SqliteJournal::append(AppendBatch batch, AppendDone done) {
  std::vector<std::vector<Op>> finished;  // destroyed here, after the lock is released
  {
    std::lock_guard lock(mutex_);
    finished.swap(finished_);
    if (!closed_) {
      queue_.push_back(Op{true, std::move(batch), std::move(done), {}, nullptr});
      wake_.notify_one();
      return;
    }
  }
  // No writer will ever run it: report on the caller's thread rather than never.
  done(Status::Error("journal " + options_.file.string() + ": stopped"));
}

void SqliteJournal::update(std::vector<DeliveryUpdate> updates) {
  if (updates.empty()) {
    return;
  }
  std::vector<std::vector<Op>> finished;  // destroyed here, after the lock is released
  std::lock_guard lock(mutex_);
  finished.swap(finished_);
  if (closed_) {
    return;  // after stop(): the settlement is lost, which only means a redelivery
  }
  queue_.push_back(Op{false, {}, {}, std::move(updates), nullptr});
  wake_.notify_one();
}

Status SqliteJournal::add_names(const std::vector<std::string>& destinations,
                                const std::vector<std::string>& routes) {
  auto request = std::make_shared<NamesRequest>();
  request->destinations = destinations;
  request->routes = routes;
  auto done = request->done.get_future();
  {
    std::lock_guard lock(mutex_);
    if (closed_) {
      return Status::Error("journal " + options_.file.string() + ": stopped");
    }
    if (!started_) {
      // No writer thread yet, and start() waits for mutex_: the writer connection is this
      // thread's for the moment.
      Transaction transaction(*writer_db_);
      SIMPANG_RETURN_IF_ERROR(transaction.begin());
      auto more = std::make_shared<Names>(*names());
      SIMPANG_RETURN_IF_ERROR(add_to(*more, *writer_db_, destinations, routes));
      SIMPANG_RETURN_IF_ERROR(transaction.commit());
      publish(std::move(more));
      return Status::Ok();
    }
    Op op;
    op.names = std::move(request);
    queue_.push_back(std::move(op));
    wake_.notify_one();
  }
  // The writer answers after its next commit (or rollback): it drains the queue even when stopping.
  return done.get();
}

JournalStats SqliteJournal::stats() const {
  JournalStats stats;
  stats.commits = commits_.load();
  stats.appended = appended_.load();
  stats.duplicates = duplicates_.load();
  stats.updates = updates_.load();
  stats.pruned = pruned_.load();
  stats.replayed = replayed_.load();
  stats.failed_commits = failed_commits_.load();
  stats.events = events_.load();
  stats.pending_events = pending_events_.load();
  return stats;
}

void SqliteJournal::run() {
  std::vector<Op> group;
  const uint64_t max_events = std::max<uint32_t>(options_.max_commit_events, 1);
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, kRequestCheckInterval, [this] { return !queue_.empty() || stopping_; });
      // Whole batches, in order, until the group holds max_commit_events events (an update
      // counts as an event: it costs about as much). A batch larger than that commits alone.
      uint64_t weight = 0;
      while (!queue_.empty() && (group.empty() || weight < max_events)) {
        Op& op = queue_.front();
        const uint64_t cost = op.is_append ? op.batch.events.size() : op.updates.size();
        if (!group.empty() && weight + cost > max_events) {
          break;
        }
        weight += cost;
        group.push_back(std::move(op));
        queue_.pop_front();
      }
      if (group.empty() && stopping_) {
        closed_ = true;
        return;
      }
    }
    const bool idle = group.empty();
    commit_group(group, idle);
    if (!group.empty()) {
      // The batches were allocated by the threads that submitted them, and are freed there, on
      // their next append() or update(): freeing another thread's memory is slow in glibc, and
      // it is not the writer's work.
      std::lock_guard lock(mutex_);
      finished_.push_back(std::move(group));
      group = std::vector<Op>();
    }
  }
}

bool SqliteJournal::requests_waiting() {
  // data_version changes when another connection (an admin command) commits; only then can a new
  // request be there, so the requests table is read only then.
  const int64_t version = query_or_zero(w_->data_version);
  if (version != data_version_ || request_check_forced_) {
    data_version_ = version;
    request_check_forced_ = false;
    if (query_or_zero(w_->has_requests) != 0) {
      requests_pending_ = true;
    }
  }
  return requests_pending_;
}

StatusOr<std::vector<StoredDelivery>> SqliteJournal::load_pending(uint32_t destination,
                                                                  uint64_t after_id, size_t limit) {
  const std::shared_ptr<const Names> names = this->names();
  if (destination >= names->destination_ids.size()) {
    return Status::Error("journal: load_pending for destination " + std::to_string(destination) +
                         ", beyond the " + std::to_string(names->destination_ids.size()) +
                         " names given to open()");
  }
  std::lock_guard lock(reader_mutex_);
  Stmt& stmt = load_pending_stmt_;
  stmt.bind(1, names->destination_ids[destination])
      .bind(2, after_id)
      .bind(3, static_cast<int64_t>(std::min<size_t>(limit, std::numeric_limits<int64_t>::max())));
  std::vector<StoredDelivery> rows;
  // The reset at the end ends the read transaction, so the WAL is not held back for a checkpoint.
  SIMPANG_RETURN_IF_ERROR(stmt.for_each_row([&](const Stmt& row) {
    StoredDelivery& delivery = rows.emplace_back();
    delivery.id = static_cast<uint64_t>(row.column_int(0));
    delivery.event_seq = static_cast<uint64_t>(row.column_int(1));
    delivery.destination = destination;
    const auto route = names->route_index.find(row.column_int(2));
    delivery.route = route == names->route_index.end() ? kUnknownRoute : route->second;
    delivery.attempts = static_cast<uint32_t>(row.column_int(3));
    delivery.not_before = from_ms(row.column_int(4));
    delivery.body = std::make_shared<const std::string>(row.column_blob(5));
    delivery.accepted_at = from_ms(row.column_int(6));
  }));
  return rows;
}

StatusOr<std::map<std::string, std::string>> SqliteJournal::load_cursors(
    const std::string& instance) {
  std::lock_guard lock(reader_mutex_);
  Stmt& stmt = load_cursors_stmt_;
  stmt.bind_text(1, instance);
  std::map<std::string, std::string> cursors;
  SIMPANG_RETURN_IF_ERROR(stmt.for_each_row(
      [&](const Stmt& row) { cursors.emplace(row.column_text(0), row.column_blob(1)); }));
  return cursors;
}

}  // namespace journal_internal

StatusOr<std::unique_ptr<Journal>> open_sqlite_journal(const JournalOptions& options,
                                                       std::vector<std::string> destinations,
                                                       std::vector<std::string> routes) {
  if (options.file.empty()) {
    return Status::Error("journal: no file given");
  }
  std::error_code ec;
  if (options.file.has_parent_path()) {
    std::filesystem::create_directories(options.file.parent_path(), ec);
    if (ec) {
      return Status::Error("journal " + options.file.string() +
                           ": cannot create its directory: " + ec.message());
    }
  }
  // The lock first: a second hub must not even run the checks (or create the schema) while the
  // first one writes.
  auto lock = journal_internal::FileLock::try_exclusive(options.file);
  if (!lock.ok()) {
    return lock.status();
  }
  if (*lock == nullptr) {
    const auto pid = journal_internal::FileLock::holder_pid(options.file);
    return Status::Error(
        "journal " + options.file.string() + ": in use by another process (" +
        (pid ? "pid " + std::to_string(*pid) : std::string("a hub or a `simpang` command")) +
        " holds " + journal_internal::lock_path(options.file).string() +
        "). Two hubs on one journal would deliver every event twice and undo each other's "
        "bookkeeping: stop the other hub, or give this one a state directory of its own.");
  }
  auto journal = std::make_unique<journal_internal::SqliteJournal>(options, std::move(*lock));
  SIMPANG_RETURN_IF_ERROR(journal->init(std::move(destinations), std::move(routes)));
  return std::unique_ptr<Journal>(std::move(journal));
}

}  // namespace simpang::hub
