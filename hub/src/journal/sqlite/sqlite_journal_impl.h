// Inside the SQLite journal: SqliteJournal, the Journal that open_sqlite_journal() returns, and
// what its two source files share. sqlite_journal.cc has its life cycle (open, the writer and
// checkpointer threads, the queue) and its reads; sqlite_journal_commit.cc has the writer's
// transaction (appends, settlements, replay requests, maintenance). See sqlite_journal.h for what
// the backend is, and docs/journal.md for the measurements behind the constants.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "journal/journal.h"
#include "journal/journal_options.h"
#include "journal/sqlite/dedup_window.h"
#include "journal/sqlite/file_lock.h"
#include "journal/sqlite/sqlite_journal.h"
#include "journal/sqlite/sqlite_util.h"
#include "journal/sqlite/store.h"

namespace simpang::hub::journal_internal {

// How often the writer looks for replay requests while busy (PRAGMA data_version is cheap, but
// not free); an idle writer looks at every wake-up, which is at most this far apart too.
inline constexpr auto kRequestCheckInterval = std::chrono::milliseconds(200);
// A busy writer prunes after this many appended events even before maintenance_interval, so each
// prune pass stays small and no commit stalls on a large one.
inline constexpr uint64_t kPruneEveryAppended = 8192;
// Rows a prune pass looks at, beyond twice the events appended since the last pass (pruning keeps
// up with appending, with room to catch up).
inline constexpr int64_t kPruneBaseBudget = 1024;
// WAL frames (pages) after which the checkpointer thread copies the WAL back into the database
// (SQLite's own automatic checkpoint uses the same 1,000), and after which it holds the writer
// back for a moment so the WAL can start over: a WAL restarts only when a write transaction
// begins with every frame copied, which never happens by itself while the writer is always busy,
// so passive checkpoints alone would let the file grow without bound. The earlier passive ones
// did most of the copying, so the pause is short.
inline constexpr int kCheckpointFrames = 1000;
inline constexpr int kCheckpointForceFrames = 4096;
// Free pages are reused by new rows; they are handed back to the file system only when they are
// many (over a quarter of the file and over 8 MiB, at 4 KiB pages), a slice per maintenance pass.
inline constexpr int64_t kVacuumMinFreePages = 2048;
inline constexpr int64_t kVacuumSlicePages = 4096;
// Deliveries the writer remembers by id after appending them (a power of two; 24 bytes each), so
// that settling one, which usually comes soon after, needs no lookup. Measured: the lookup was a
// tenth of the writer's time per event appended and acked.
inline constexpr size_t kRecentDeliveries = size_t{1} << 16;

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
              const std::vector<std::string>& routes);

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
inline int64_t query_or_zero(Stmt& stmt) {
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
  std::unique_ptr<EventRows> event_rows_;
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
  DedupWindow dedup_;
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

}  // namespace simpang::hub::journal_internal
