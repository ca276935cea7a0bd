// The SQLite journal: open_sqlite_journal and its implementation, SqliteJournal. The schema is in
// schema.cc, what the writer shares with the admin (sqlite_journal_admin.cc) in store.cc.
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
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <utility>

#include "journal/sqlite/dedup_window.h"
#include "journal/sqlite/file_lock.h"
#include "journal/sqlite/schema.h"
#include "journal/sqlite/sqlite_util.h"
#include "journal/sqlite/store.h"

namespace simpang::hub {
namespace {

using journal_internal::Counters;
using journal_internal::Db;
using journal_internal::FileLock;
using journal_internal::NameKind;
using journal_internal::Stmt;

// How often the writer looks for replay requests while busy (PRAGMA data_version is cheap, but
// not free); an idle writer looks at every wake-up, which is at most this far apart too.
constexpr auto kRequestCheckInterval = std::chrono::milliseconds(200);
// A busy writer prunes after this many appended events even before maintenance_interval, so each
// prune pass stays small and no commit stalls on a large one.
constexpr uint64_t kPruneEveryAppended = 8192;
// Rows a prune pass looks at, beyond twice the events appended since the last pass (pruning keeps
// up with appending, with room to catch up).
constexpr int64_t kPruneBaseBudget = 1024;
// WAL frames (pages) after which the checkpointer thread copies the WAL back into the database
// (SQLite's own automatic checkpoint uses the same 1,000), and after which it holds the writer
// back for a moment so the WAL can start over: a WAL restarts only when a write transaction
// begins with every frame copied, which never happens by itself while the writer is always busy,
// so passive checkpoints alone would let the file grow without bound. The earlier passive ones
// did most of the copying, so the pause is short.
constexpr int kCheckpointFrames = 1000;
constexpr int kCheckpointForceFrames = 4096;
// Free pages are reused by new rows; they are handed back to the file system only when they are
// many (over a quarter of the file and over 8 MiB, at 4 KiB pages), a slice per maintenance pass.
constexpr int64_t kVacuumMinFreePages = 2048;
constexpr int64_t kVacuumSlicePages = 4096;
// Deliveries the writer remembers by id after appending them (a power of two; 24 bytes each), so
// that settling one, which usually comes soon after, needs no lookup. Measured: the lookup was a
// tenth of the writer's time per event appended and acked.
constexpr size_t kRecentDeliveries = size_t{1} << 16;

// This run's destination and route indices <-> names.id. Replaced, never modified: a reload's
// add_names() publishes a longer copy, and readers keep the snapshot they took.
struct Names {
  std::vector<int64_t> destination_ids;
  std::vector<int64_t> route_ids;
  std::unordered_map<int64_t, uint32_t> destination_index;  // a repeated name keeps its first index
  std::unordered_map<int64_t, uint32_t> route_index;
};

// Adds names to `names` (and to the dictionary when new). REQUIRES: a transaction is open.
Status add_to(Names& names, Db& db, const std::vector<std::string>& destinations,
              const std::vector<std::string>& routes) {
  for (const std::string& name : destinations) {
    auto id = journal_internal::ensure_name(db, NameKind::kDestination, name);
    if (!id.ok()) {
      return id.status();
    }
    names.destination_index.emplace(*id, static_cast<uint32_t>(names.destination_ids.size()));
    names.destination_ids.push_back(*id);
  }
  for (const std::string& name : routes) {
    auto id = journal_internal::ensure_name(db, NameKind::kRoute, name);
    if (!id.ok()) {
      return id.status();
    }
    names.route_index.emplace(*id, static_cast<uint32_t>(names.route_ids.size()));
    names.route_ids.push_back(*id);
  }
  return Status::Ok();
}

// An add_names() call waiting for the writer.
struct NamesRequest {
  std::vector<std::string> destinations;
  std::vector<std::string> routes;
  std::promise<Status> done;
};

// One unit of queued work, in submission order: an append, updates, or names.
struct Op {
  bool is_append = false;
  AppendBatch batch;
  Journal::AppendDone done;
  std::vector<DeliveryUpdate> updates;
  std::shared_ptr<NamesRequest> names;
};

// Changes one transaction makes to the counters; applied to the atomics only once it commits.
struct GroupDelta {
  int64_t events = 0;
  int64_t pending_events = 0;
  uint64_t appended = 0;
  uint64_t duplicates = 0;
  uint64_t updates = 0;
  uint64_t pruned = 0;
  uint64_t replayed = 0;
};

// The writer connection's statements, prepared once. Declared after the Db they use, so they are
// finalized before it closes.
struct WriterStatements {
  explicit WriterStatements(Db& db)
      : begin(db, "BEGIN IMMEDIATE"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK"),
        find_event(db, "SELECT source, event_id FROM events WHERE seq = ?1"),
        insert_event(db,
                     "INSERT INTO events(seq, received_ms, publisher, first_delivery, "
                     "delivery_count, source, event_id, routing, body) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        insert_delivery(db,
                        "INSERT INTO deliveries(id, event_seq, destination, route, state, "
                        "attempts, not_before_ms, siblings) VALUES (?1, ?2, ?3, ?4, 0, 0, 0, ?5)"),
        upsert_cursor(
            db,
            "INSERT INTO cursors(instance, key, value, updated_ms) VALUES (?1, ?2, ?3, ?4)"
            " ON CONFLICT(instance, key) DO UPDATE SET value = excluded.value,"
            " updated_ms = excluded.updated_ms"),
        // Looked up, then deleted or updated: RETURNING would cost more than the second lookup of
        // a page just read (SQLite gathers RETURNING rows in a temporary table first).
        find_delivery(db, "SELECT event_seq, state, siblings FROM deliveries WHERE id = ?1"),
        ack(db, "DELETE FROM deliveries WHERE id = ?1 AND state = 0"),
        retry(db,
              "UPDATE deliveries SET attempts = ?2, not_before_ms = ?3, "
              "last_error = coalesce(?4, last_error) WHERE id = ?1 AND state = 0"),
        dead(db,
             "UPDATE deliveries SET state = 1, attempts = ?2, last_error = ?3, dead_at_ms = ?4 "
             "WHERE id = ?1 AND state = 0"),
        update_meta(db, "UPDATE meta SET value = ?2 WHERE key = ?1"),
        data_version(db, "PRAGMA data_version"),
        has_requests(db, "SELECT EXISTS (SELECT 1 FROM requests WHERE state = 'queued')"),
        prune_scan(db,
                   "SELECT seq, received_ms, first_delivery, delivery_count FROM events "
                   "WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
        prune_delete(db, "DELETE FROM events WHERE seq = ?1"),
        prune_requests(db, "DELETE FROM requests WHERE state <> 'queued' AND done_ms < ?1"),
        freelist_count(db, "PRAGMA freelist_count"),
        page_count(db, "PRAGMA page_count"),
        count_replayed(db, "SELECT count(*) FROM deliveries WHERE siblings = 0") {}

  bool prepared(std::string& error) {
    for (Stmt* stmt : {&begin,         &commit,         &rollback,
                       &find_event,    &insert_event,   &insert_delivery,
                       &upsert_cursor, &find_delivery,  &ack,
                       &retry,         &dead,           &update_meta,
                       &data_version,  &has_requests,   &prune_scan,
                       &prune_delete,  &prune_requests, &freelist_count,
                       &page_count,    &count_replayed}) {
      if (!stmt->prepared()) {
        error = stmt->run().message();
        return false;
      }
    }
    return true;
  }

  Stmt begin, commit, rollback;
  Stmt find_event, insert_event, insert_delivery, upsert_cursor;
  Stmt find_delivery, ack, retry, dead;
  Stmt update_meta, data_version, has_requests;
  Stmt prune_scan, prune_delete, prune_requests, freelist_count, page_count, count_replayed;
};

// Runs one statement returning an integer; 0 on error (used for PRAGMAs whose failure only skips
// an optimisation).
int64_t query_or_zero(Stmt& stmt) {
  auto row = stmt.step();
  const int64_t value = row.ok() && *row ? stmt.column_int(0) : 0;
  stmt.reset();
  return value;
}

// Thread rules: append(), update(), full() and stats() from any thread; load_pending() and
// load_cursors() from any thread (serialised on the reader connection); start() and stop() from
// the owner, never from a callback (stop() joins the thread the callbacks run on). Two threads of
// its own: the writer (the write connection, the queue's consumer, every callback) and the
// checkpointer (its own connection); the read methods run on their caller's thread.
// OWNERSHIP: owns its connections, threads and FILE.lock; the callbacks it is given are called,
// never stored beyond stop().
class SqliteJournal final : public Journal {
 public:
  SqliteJournal(JournalOptions options, std::unique_ptr<FileLock> lock)
      : options_(std::move(options)), lock_(std::move(lock)), dedup_(options_.dedup_max_events) {}
  ~SqliteJournal() override;

  // Everything open() does after taking the lock. Runs on the opening thread, before start().
  Status init(std::vector<std::string> destinations, std::vector<std::string> routes);

  void start(ReplayDone on_replay) override;
  void stop() override;
  void append(AppendBatch batch, AppendDone done) override;
  void update(std::vector<DeliveryUpdate> updates) override;
  bool full() const override {
    return pending_events_.load(std::memory_order_relaxed) > options_.max_events;
  }
  // REQUIRES: not called from a callback (it waits for the writer).
  Status add_names(const std::vector<std::string>& destinations,
                   const std::vector<std::string>& routes) override;
  StatusOr<std::vector<StoredDelivery>> load_pending(uint32_t destination, uint64_t after_id,
                                                     size_t limit) override;
  StatusOr<std::map<std::string, std::string>> load_cursors(const std::string& instance) override;
  JournalStats stats() const override;
  // An admin on the same file, with a connection of its own.
  StatusOr<std::unique_ptr<JournalAdmin>> open_admin() override {
    return open_sqlite_journal_admin(options_.file);
  }

 private:
  std::chrono::system_clock::time_point now() const {
    return options_.clock ? options_.clock() : std::chrono::system_clock::now();
  }

  // --- writer thread only ---------------------------------------------------------------------
  void run();
  // One transaction: the group's appends and updates, then due requests and maintenance.
  void commit_group(std::vector<Op>& group, bool idle);
  // sqlite3_wal_hook: after each commit, with the WAL's size; wakes the checkpointer.
  static int on_wal_commit(void* self, sqlite3* db, const char* name, int frames);
  // Appends one batch. A batch the journal cannot take (a destination index out of range) gets
  // its own error in `result` and leaves the transaction intact; the returned Status is a database
  // error that fails the whole transaction.
  Status append_batch(const AppendBatch& batch, const Names& names, int64_t now_ms,
                      StatusOr<std::vector<AppendedEvent>>& result, GroupDelta& delta);
  Status apply_updates(const std::vector<DeliveryUpdate>& updates, int64_t now_ms,
                       GroupDelta& delta);
  // After delivery `id` (with `siblings`) of `event_seq` stopped being pending: does the event
  // have another pending one?
  Status note_not_pending(int64_t event_seq, int64_t id, int64_t siblings, GroupDelta& delta);
  StatusOr<int64_t> instance_id(const std::string& name);
  bool requests_waiting();
  Status maintain(int64_t now_ms, GroupDelta& delta, int64_t& prune_cursor);
  // Refills the de-duplication window from the events table (at open).
  Status load_dedup_window(int64_t now_ms);
  // The pending delivery `id`, or nullopt when it is gone or dead; from recent_ when it is there.
  struct PendingRow {
    int64_t event_seq;
    int64_t siblings;
  };
  StatusOr<std::optional<PendingRow>> find_pending(int64_t id);
  // Settles delivery `id` (ack: delete; dead: mark) and keeps the counts right.
  Status settle(const DeliveryUpdate& update, int64_t now_ms, GroupDelta& delta);
  int64_t dedup_ms() const { return std::min(options_.dedup_window, options_.retention).count(); }

  // --- checkpointer thread ---------------------------------------------------------------------
  void run_checkpoints();

  const JournalOptions options_;
  // OWNERSHIP: held from open() until destruction: this process is the journal's only writer.
  std::unique_ptr<FileLock> lock_;

  // The current names. GUARDED_BY(names_mutex_); the snapshot itself is immutable.
  std::shared_ptr<const Names> names() const {
    std::lock_guard lock(names_mutex_);
    return names_;
  }
  void publish(std::shared_ptr<const Names> names) {
    std::lock_guard lock(names_mutex_);
    names_ = std::move(names);
  }
  mutable std::mutex names_mutex_;
  std::shared_ptr<const Names> names_;

  // Writer state. GUARDED_BY: the writer thread (init() before it starts, nothing after stop()).
  std::unique_ptr<Db> writer_db_;
  std::unique_ptr<WriterStatements> w_;
  std::unique_ptr<journal_internal::EventRows> event_rows_;
  Counters counters_;
  Counters saved_counters_;  // as last written to meta
  // Rows added by replays (siblings = 0): while there are none, settling a delivery need not look
  // for them. May be too high (an admin dropped some), never too low; recounted by maintenance.
  int64_t replayed_rows_ = 0;
  // Direct-mapped by id: the most recently appended deliveries, while this writer knows whether
  // they are still pending. Cleared when a transaction rolls back.
  struct RecentDelivery {
    int64_t id = 0;
    int64_t event_seq = 0;
    int32_t siblings = 0;
    bool pending = false;
  };
  std::vector<RecentDelivery> recent_ = std::vector<RecentDelivery>(kRecentDeliveries);
  journal_internal::DedupWindow dedup_;
  std::unordered_map<std::string, int64_t> instance_ids_;
  std::vector<std::string> new_instances_;  // added to instance_ids_ by the open transaction
  std::string routing_;                     // scratch for events.routing
  int64_t prune_cursor_ = 0;
  uint64_t appended_since_maintenance_ = 0;
  std::chrono::steady_clock::time_point last_maintenance_{};
  std::chrono::steady_clock::time_point last_request_check_{};
  bool request_check_forced_ = true;  // at start(): requests queued while no hub ran
  int64_t data_version_ = -1;
  bool requests_pending_ = false;  // found queued requests not yet carried out (a failed commit)
  ReplayDone on_replay_;

  // Reader connection. GUARDED_BY: reader_mutex_.
  std::mutex reader_mutex_;
  std::unique_ptr<Db> reader_db_;
  Stmt load_pending_stmt_;
  Stmt load_cursors_stmt_;

  // The queue. GUARDED_BY: mutex_.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Op> queue_;
  std::vector<std::vector<Op>> finished_;  // committed groups, for a submitter to free
  bool started_ = false;
  bool stopping_ = false;  // stop() called: drain, then exit
  bool closed_ = false;    // the writer has exited (or never started and stop() ran)
  std::thread writer_;

  // Checkpoints run on a thread and connection of their own, so the writer never waits for the
  // WAL to be copied into the database (nor, with synchronous=NORMAL, for its fsync).
  std::unique_ptr<Db> checkpoint_db_;  // GUARDED_BY: the checkpointer thread (after start())
  std::thread checkpointer_;
  std::mutex checkpoint_mutex_;
  std::condition_variable checkpoint_wake_;
  int wal_frames_ = 0;            // GUARDED_BY(checkpoint_mutex_): as of the last commit
  bool checkpoint_stop_ = false;  // GUARDED_BY(checkpoint_mutex_)

  // Counters, written by the writer after each commit; read by anyone.
  std::atomic<uint64_t> events_{0};
  std::atomic<uint64_t> pending_events_{0};
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> appended_{0};
  std::atomic<uint64_t> duplicates_{0};
  std::atomic<uint64_t> updates_{0};
  std::atomic<uint64_t> pruned_{0};
  std::atomic<uint64_t> replayed_{0};
  std::atomic<uint64_t> failed_commits_{0};
};

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
  SIMPANG_RETURN_IF_ERROR(journal_internal::precheck_file(file));
  auto db = journal_internal::open_connection(file, /*create=*/true);
  if (!db.ok()) {
    return db.status();
  }
  writer_db_ = std::move(*db);
  SIMPANG_RETURN_IF_ERROR(
      journal_internal::prepare_schema(*writer_db_, /*create=*/true, options_.verify_on_open));
  SIMPANG_RETURN_IF_ERROR(journal_internal::configure_writer(*writer_db_, options_.sync));

  // This run's names, added to the dictionary if new.
  {
    journal_internal::Transaction transaction(*writer_db_);
    SIMPANG_RETURN_IF_ERROR(transaction.begin());
    auto names = std::make_shared<Names>();
    SIMPANG_RETURN_IF_ERROR(add_to(*names, *writer_db_, destinations, routes));
    SIMPANG_RETURN_IF_ERROR(transaction.commit());
    publish(std::move(names));
  }

  auto counters = journal_internal::load_counters(*writer_db_);
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
  event_rows_ = std::make_unique<journal_internal::EventRows>(*writer_db_);
  SIMPANG_RETURN_IF_ERROR(event_rows_->prepared());
  replayed_rows_ = query_or_zero(w_->count_replayed);
  SIMPANG_RETURN_IF_ERROR(load_dedup_window(journal_internal::to_ms(now())));

  auto reader = journal_internal::open_connection(file, /*create=*/false);
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
  auto checkpointer = journal_internal::open_connection(file, /*create=*/false);
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
      journal_internal::Transaction transaction(*writer_db_);
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

void SqliteJournal::commit_group(std::vector<Op>& group, bool idle) {
  const auto clock_now = now();
  const int64_t now_ms = journal_internal::to_ms(clock_now);
  const auto steady = std::chrono::steady_clock::now();

  bool run_requests = false;
  if (idle || request_check_forced_ || steady - last_request_check_ >= kRequestCheckInterval) {
    last_request_check_ = steady;
    run_requests = requests_waiting();
  }
  const bool run_maintenance = steady - last_maintenance_ >= options_.maintenance_interval ||
                               appended_since_maintenance_ >= kPruneEveryAppended;
  if (group.empty() && !run_requests && !run_maintenance) {
    return;
  }

  const Counters counters_before = counters_;
  const int64_t replayed_rows_before = replayed_rows_;
  GroupDelta delta;
  std::vector<StatusOr<std::vector<AppendedEvent>>> results;
  std::vector<journal_internal::ExecutedRequest> executed;
  int64_t prune_cursor = prune_cursor_;
  new_instances_.clear();

  // Names added by add_names() in this group serve the appends after them at once, and are
  // published to the other threads once committed.
  std::shared_ptr<const Names> names = this->names();
  bool names_added = false;

  Status status = w_->begin.run();
  for (size_t i = 0; status.ok() && i < group.size(); ++i) {
    const Op& op = group[i];
    if (op.is_append) {
      results.emplace_back(std::vector<AppendedEvent>());
      status = append_batch(op.batch, *names, now_ms, results.back(), delta);
    } else if (op.names) {
      auto more = std::make_shared<Names>(*names);
      status = add_to(*more, *writer_db_, op.names->destinations, op.names->routes);
      names = std::move(more);
      names_added = true;
    } else {
      status = apply_updates(op.updates, now_ms, delta);
    }
  }
  if (status.ok() && run_requests) {
    auto done = journal_internal::run_queued_requests(*writer_db_, counters_, "hub", now_ms);
    if (done.ok()) {
      executed = std::move(*done);
      for (const auto& request : executed) {
        delta.replayed += request.count;
      }
      replayed_rows_ += static_cast<int64_t>(delta.replayed);
    } else {
      status = done.status();
    }
  }
  if (status.ok() && run_maintenance) {
    status = maintain(now_ms, delta, prune_cursor);
  }
  counters_.pending_events += delta.pending_events;
  if (status.ok() && !(counters_ == saved_counters_)) {
    status = journal_internal::save_counters(w_->update_meta, counters_);
  }
  if (status.ok()) {
    status = w_->commit.run();
  }

  if (!status.ok()) {
    // Nothing of this group is in the file: undo what memory assumed.
    (void)w_->rollback.run();
    dedup_.forget_from(counters_before.next_event_seq);
    counters_ = counters_before;
    replayed_rows_ = replayed_rows_before;
    std::fill(recent_.begin(), recent_.end(), RecentDelivery{});
    for (const auto& name : new_instances_) {
      instance_ids_.erase(name);
    }
    ++failed_commits_;
    for (Op& op : group) {
      if (op.is_append && op.done) {
        op.done(status);
      } else if (op.names) {
        op.names->done.set_value(status);
      }
    }
    return;
  }

  if (names_added) {
    publish(names);
  }

  saved_counters_ = counters_;
  prune_cursor_ = prune_cursor;
  dedup_.expire(now_ms - dedup_ms());
  if (run_requests) {
    requests_pending_ = false;
  }
  if (run_maintenance) {
    last_maintenance_ = steady;
    appended_since_maintenance_ = 0;
  } else {
    appended_since_maintenance_ += delta.appended;
  }
  events_.fetch_add(static_cast<uint64_t>(delta.events));  // wraps correctly for a negative delta
  pending_events_ = static_cast<uint64_t>(counters_.pending_events);
  appended_ += delta.appended;
  duplicates_ += delta.duplicates;
  updates_ += delta.updates;
  pruned_ += delta.pruned;
  replayed_ += delta.replayed;
  ++commits_;

  // Completions in submission order, after the commit made them true.
  size_t next_result = 0;
  for (Op& op : group) {
    if (op.is_append) {
      StatusOr<std::vector<AppendedEvent>>& result = results[next_result++];
      if (op.done) {
        op.done(std::move(result));
      }
    } else if (op.names) {
      op.names->done.set_value(Status::Ok());
    }
  }
  if (!executed.empty() && on_replay_) {
    ReplayNotice notice;
    for (const auto& request : executed) {
      notice.deliveries += request.count;
      for (int64_t id : request.destination_ids) {
        auto index = names->destination_index.find(id);
        if (index != names->destination_index.end() &&
            std::find(notice.destinations.begin(), notice.destinations.end(), index->second) ==
                notice.destinations.end()) {
          notice.destinations.push_back(index->second);
        }
      }
    }
    if (notice.deliveries > 0) {
      std::sort(notice.destinations.begin(), notice.destinations.end());
      on_replay_(std::move(notice));
    }
  }
}

StatusOr<int64_t> SqliteJournal::instance_id(const std::string& name) {
  auto found = instance_ids_.find(name);
  if (found != instance_ids_.end()) {
    return found->second;
  }
  auto id = journal_internal::ensure_name(*writer_db_, NameKind::kInstance, name);
  if (id.ok()) {
    instance_ids_.emplace(name, *id);
    new_instances_.push_back(name);
  }
  return id;
}

Status SqliteJournal::append_batch(const AppendBatch& batch, const Names& names, int64_t now_ms,
                                   StatusOr<std::vector<AppendedEvent>>& result,
                                   GroupDelta& delta) {
  for (const NewEvent& event : batch.events) {
    for (const NewDelivery& delivery : event.deliveries) {
      if (delivery.destination >= names.destination_ids.size() ||
          delivery.route >= names.route_ids.size()) {
        result = Status::Error("journal: event " + event.id + " of " + batch.publisher +
                               " names destination " + std::to_string(delivery.destination) +
                               " / route " + std::to_string(delivery.route) +
                               ", beyond the names given to open() and add_names()");
        return Status::Ok();
      }
    }
  }
  auto publisher = instance_id(batch.publisher);
  if (!publisher.ok()) {
    return publisher.status();
  }
  const int64_t window_ms = dedup_ms();
  const int64_t window_start = now_ms - window_ms;

  std::vector<AppendedEvent>& out = *result;
  out.resize(batch.events.size());
  for (size_t i = 0; i < batch.events.size(); ++i) {
    const NewEvent& event = batch.events[i];
    AppendedEvent& appended = out[i];
    const uint64_t key = journal_internal::dedup_key(event.source, event.id);
    if (window_ms > 0) {
      if (const int64_t candidate = dedup_.find(key, window_start); candidate != 0) {
        // The hash matched: the stored strings decide (a row of this transaction counts too).
        Stmt& find = w_->find_event;
        auto row = find.bind(1, candidate).step();
        const bool duplicate = row.ok() && *row && find.column_text(0) == event.source &&
                               find.column_text(1) == event.id;
        find.reset();
        if (!row.ok()) {
          return row.status();
        }
        if (duplicate) {
          appended.duplicate = true;
          ++delta.duplicates;
          continue;
        }
      }
    }

    const int64_t seq = counters_.next_event_seq++;
    routing_.clear();
    for (const NewDelivery& delivery : event.deliveries) {
      journal_internal::append_routing(routing_, names.destination_ids[delivery.destination],
                                       names.route_ids[delivery.route]);
    }
    const std::string_view body = event.body ? std::string_view(*event.body) : std::string_view();
    const auto siblings = static_cast<int64_t>(event.deliveries.size());
    SIMPANG_RETURN_IF_ERROR(w_->insert_event.bind(1, seq)
                                .bind(2, now_ms)
                                .bind(3, *publisher)
                                .bind(4, counters_.next_delivery_id)
                                .bind(5, siblings)
                                .bind_text(6, event.source)
                                .bind_text(7, event.id)
                                .bind_blob(8, routing_)
                                .bind_blob(9, body)
                                .run());
    if (window_ms > 0) {
      dedup_.add(key, seq, now_ms);
    }
    appended.seq = static_cast<uint64_t>(seq);
    appended.delivery_ids.reserve(event.deliveries.size());
    for (const NewDelivery& delivery : event.deliveries) {
      const int64_t id = counters_.next_delivery_id++;
      SIMPANG_RETURN_IF_ERROR(w_->insert_delivery.bind(1, id)
                                  .bind(2, seq)
                                  .bind(3, names.destination_ids[delivery.destination])
                                  .bind(4, names.route_ids[delivery.route])
                                  .bind(5, siblings)
                                  .run());
      appended.delivery_ids.push_back(static_cast<uint64_t>(id));
      recent_[static_cast<size_t>(id) & (kRecentDeliveries - 1)] =
          RecentDelivery{id, seq, static_cast<int32_t>(siblings), true};
    }
    ++delta.events;
    ++delta.appended;
    if (!event.deliveries.empty()) {
      ++delta.pending_events;
    }
  }
  for (const auto& [key, value] : batch.cursors) {
    SIMPANG_RETURN_IF_ERROR(w_->upsert_cursor.bind_text(1, batch.publisher)
                                .bind_text(2, key)
                                .bind_blob(3, value)
                                .bind(4, now_ms)
                                .run());
  }
  return Status::Ok();
}

Status SqliteJournal::note_not_pending(int64_t event_seq, int64_t id, int64_t siblings,
                                       GroupDelta& delta) {
  auto other = event_rows_->has_pending(event_seq, id, siblings, replayed_rows_ > 0);
  if (!other.ok()) {
    return other.status();
  }
  if (!*other) {
    --delta.pending_events;
  }
  return Status::Ok();
}

Status SqliteJournal::apply_updates(const std::vector<DeliveryUpdate>& updates, int64_t now_ms,
                                    GroupDelta& delta) {
  for (const DeliveryUpdate& update : updates) {
    if (update.kind == DeliveryUpdate::Kind::kRetry) {
      Stmt& retry = w_->retry;
      retry.bind(1, update.delivery_id)
          .bind(2, update.attempts)
          .bind(3, journal_internal::to_ms(update.not_before));
      if (update.error.empty()) {
        retry.bind_null(4);
      } else {
        retry.bind_text(4, update.error);
      }
      SIMPANG_RETURN_IF_ERROR(retry.run());
    } else {
      SIMPANG_RETURN_IF_ERROR(settle(update, now_ms, delta));
    }
    ++delta.updates;
  }
  return Status::Ok();
}

Status SqliteJournal::settle(const DeliveryUpdate& update, int64_t now_ms, GroupDelta& delta) {
  // An update for a row that is gone (acked twice, or replayed under a new id) or dead (only
  // `simpang dlq drop` removes a dead letter) changes nothing.
  const auto id = static_cast<int64_t>(update.delivery_id);
  auto row = find_pending(id);
  if (!row.ok()) {
    return row.status();
  }
  if (!*row) {
    return Status::Ok();
  }
  if (update.kind == DeliveryUpdate::Kind::kAcked) {
    SIMPANG_RETURN_IF_ERROR(w_->ack.bind(1, id).run());
  } else {
    SIMPANG_RETURN_IF_ERROR(w_->dead.bind(1, id)
                                .bind(2, update.attempts)
                                .bind_text(3, update.error)
                                .bind(4, now_ms)
                                .run());
  }
  // Both statements require state = 0: a row the remembered state was wrong about is not counted.
  if (sqlite3_changes(writer_db_->handle()) == 0) {
    return Status::Ok();
  }
  RecentDelivery& recent = recent_[static_cast<size_t>(id) & (kRecentDeliveries - 1)];
  if (recent.id == id) {
    recent.pending = false;
  }
  if (update.kind == DeliveryUpdate::Kind::kAcked && (*row)->siblings == 0) {
    --replayed_rows_;
  }
  return note_not_pending((*row)->event_seq, id, (*row)->siblings, delta);
}

StatusOr<std::optional<SqliteJournal::PendingRow>> SqliteJournal::find_pending(int64_t id) {
  const RecentDelivery& recent = recent_[static_cast<size_t>(id) & (kRecentDeliveries - 1)];
  if (recent.id == id) {
    return recent.pending ? std::optional(PendingRow{recent.event_seq, recent.siblings})
                          : std::nullopt;
  }
  Stmt& find = w_->find_delivery;
  auto row = find.bind(1, id).step();
  std::optional<PendingRow> pending;
  if (row.ok() && *row && find.column_int(1) == journal_internal::kPending) {
    pending = PendingRow{find.column_int(0), find.column_int(2)};
  }
  find.reset();
  if (!row.ok()) {
    return row.status();
  }
  return pending;
}

Status SqliteJournal::load_dedup_window(int64_t now_ms) {
  if (dedup_ms() <= 0) {
    return Status::Ok();
  }
  // Newest first, back to the start of the window; remembered oldest first.
  Stmt recent(*writer_db_,
              "SELECT seq, received_ms, source, event_id FROM events ORDER BY seq DESC LIMIT ?1");
  recent.bind(1, static_cast<int64_t>(options_.dedup_max_events));
  const int64_t since = now_ms - dedup_ms();
  struct Recent {
    uint64_t key;
    int64_t seq;
    int64_t received_ms;
  };
  std::vector<Recent> events;
  SIMPANG_RETURN_IF_ERROR(recent.for_each_row([&](const Stmt& row) {
    if (row.column_int(1) < since) {
      return false;
    }
    events.push_back(Recent{journal_internal::dedup_key(row.column_text(2), row.column_text(3)),
                            row.column_int(0), row.column_int(1)});
    return true;
  }));
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    dedup_.add(it->key, it->seq, it->received_ms);
  }
  return Status::Ok();
}

Status SqliteJournal::maintain(int64_t now_ms, GroupDelta& delta, int64_t& prune_cursor) {
  // Retention and the max_events bound. Events are scanned oldest first from where the last pass
  // stopped; an event goes when nothing (pending or dead) refers to it and it is past retention,
  // or when the table is over max_events. The scan ends at the first event still within
  // retention (younger ones follow) unless the bound forces pruning younger acked events too.
  const int64_t cutoff = now_ms - options_.retention.count();
  int64_t over = static_cast<int64_t>(events_.load()) + delta.events -
                 static_cast<int64_t>(options_.max_events);
  const int64_t budget =
      kPruneBaseBudget + 2 * static_cast<int64_t>(appended_since_maintenance_ + delta.appended);
  std::vector<int64_t> doomed;
  int64_t scanned = 0;
  int64_t last_seq = prune_cursor;
  bool reached_young = false;
  auto examine = [&](const Stmt& row) -> StatusOr<bool> {
    ++scanned;
    last_seq = row.column_int(0);
    if (row.column_int(1) >= cutoff && over <= 0) {
      reached_young = true;
      return false;
    }
    // It goes when nothing (pending or dead) refers to it any more. (Reading deliveries while the
    // scan of events is open is fine; nothing is deleted until the scan is over.)
    auto referenced =
        event_rows_->has_any(last_seq, row.column_int(2), row.column_int(3), replayed_rows_ > 0);
    if (!referenced.ok()) {
      return referenced.status();
    }
    if (!*referenced) {
      doomed.push_back(last_seq);
      --over;
    }
    return true;
  };
  SIMPANG_RETURN_IF_ERROR(
      w_->prune_scan.bind(1, prune_cursor).bind(2, budget).for_each_row(examine));
  // Deleted after the scan: a statement does not modify the table another one is iterating.
  for (int64_t seq : doomed) {
    SIMPANG_RETURN_IF_ERROR(w_->prune_delete.bind(1, seq).run());
  }
  delta.events -= static_cast<int64_t>(doomed.size());
  delta.pruned += doomed.size();
  // Next pass: from the start again once the old end is done, otherwise where this one stopped.
  prune_cursor = reached_young || scanned < budget ? 0 : last_seq;

  SIMPANG_RETURN_IF_ERROR(w_->prune_requests.bind(1, cutoff).run());
  replayed_rows_ = query_or_zero(w_->count_replayed);

  // Hand a slice of free pages back after a large prune (auto_vacuum = INCREMENTAL).
  const int64_t free_pages = query_or_zero(w_->freelist_count);
  if (free_pages > kVacuumMinFreePages && free_pages * 4 > query_or_zero(w_->page_count)) {
    SIMPANG_RETURN_IF_ERROR(
        writer_db_->exec("PRAGMA incremental_vacuum(" + std::to_string(kVacuumSlicePages) + ")"));
  }
  return Status::Ok();
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
    delivery.not_before = journal_internal::from_ms(row.column_int(4));
    delivery.body = std::make_shared<const std::string>(row.column_blob(5));
    delivery.accepted_at = journal_internal::from_ms(row.column_int(6));
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

}  // namespace

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
  auto lock = FileLock::try_exclusive(options.file);
  if (!lock.ok()) {
    return lock.status();
  }
  if (*lock == nullptr) {
    const auto pid = FileLock::holder_pid(options.file);
    return Status::Error(
        "journal " + options.file.string() + ": in use by another process (" +
        (pid ? "pid " + std::to_string(*pid) : std::string("a hub or a `simpang` command")) +
        " holds " + journal_internal::lock_path(options.file).string() +
        "). Two hubs on one journal would deliver every event twice and undo each other's "
        "bookkeeping: stop the other hub, or give this one a state directory of its own.");
  }
  auto journal = std::make_unique<SqliteJournal>(options, std::move(*lock));
  SIMPANG_RETURN_IF_ERROR(journal->init(std::move(destinations), std::move(routes)));
  return std::unique_ptr<Journal>(std::move(journal));
}

}  // namespace simpang::hub
