// The journal: where the hub keeps every accepted event and every delivery it still owes, so that
// nothing acknowledged is lost across a crash. The embedded default is one SQLite file in WAL mode.
//
// One writer thread owns the write connection and group-commits: everything submitted while the
// previous transaction was committing goes into the next one, so the hub's event loop never waits
// on fsync. Completions are reported through callbacks run on the writer thread; the broker posts
// them back to its own loop. Because the writer is the only thread that writes, and reports
// commits in the order it made them, a completion never overtakes an earlier one.
//
// Tables (see journal.cc for the schema):
//   events       every accepted event: seq, publisher instance, CloudEvents source and id (unique
//                together: de-duplication), the serialized simpang.v1.Event, received time
//   deliveries   one row per (event, destination) not yet acknowledged: pending or dead
//                (the dead-letter queue), attempts, when it may next be tried, the last error
//   cursors      connector cursors, per instance and key, written with the events they produced
//   requests     replay requests from `simpang dlq replay` / `simpang replay`, which the running
//                hub's writer carries out (so it stays the only writer of deliveries)
//   meta         schema version and the hub's identity
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "journal/journal_options.h"
#include "simpang/sdk/status.h"

namespace simpang::hub {

// One destination of an event being appended.
struct NewDelivery {
  uint32_t destination = 0;  // index into the destination names given to open()
  uint32_t route = 0;        // index into the route names given to open()
};

// One event being appended, with where it must go.
struct NewEvent {
  std::string source;                          // CloudEvents source
  std::string id;                              // CloudEvents id
  std::shared_ptr<const std::string> body;     // the serialized simpang.v1.Event
  std::vector<NewDelivery> deliveries;         // empty: accepted but routed nowhere
};

// A publish batch being made durable.
struct AppendBatch {
  std::string publisher;                       // the publishing instance
  std::vector<NewEvent> events;
  std::map<std::string, std::string> cursors;  // the publisher's cursors, written atomically with it
};

// What happened to one appended event.
struct AppendedEvent {
  bool duplicate = false;                      // already journaled within the window; not routed
  uint64_t seq = 0;                            // events.seq (0 for a duplicate)
  std::vector<uint64_t> delivery_ids;          // deliveries.id, one per NewDelivery, same order
};

// StoredDelivery::route of a row whose route is not in this run's configuration (renamed or
// removed since the row was written): the broker applies the destination's default policy.
inline constexpr uint32_t kUnknownRoute = 0xffffffff;

// A delivery row, as loaded for sending.
struct StoredDelivery {
  uint64_t id = 0;                             // deliveries.id: increasing in insertion order
  uint64_t event_seq = 0;
  uint32_t destination = 0;
  uint32_t route = 0;                          // or kUnknownRoute
  uint32_t attempts = 0;                       // deliveries tried so far
  std::chrono::system_clock::time_point not_before{};  // earliest next attempt (retry backoff)
  std::shared_ptr<const std::string> body;
  std::chrono::system_clock::time_point accepted_at{};  // when the event was journaled
};

// How a delivery was settled, to be recorded.
struct DeliveryUpdate {
  enum class Kind {
    kAcked,  // delete the row: delivered
    kRetry,  // still pending: attempts and not_before updated, error kept
    kDead,   // moved to the dead-letter queue with the error
  };
  uint64_t delivery_id = 0;
  Kind kind = Kind::kAcked;
  uint32_t attempts = 0;
  std::chrono::system_clock::time_point not_before{};
  std::string error;
};

// Replays the writer carried out for a request; the broker then reloads those destinations.
struct ReplayNotice {
  std::vector<uint32_t> destinations;          // indices that received new pending deliveries
  uint64_t deliveries = 0;
};

// Counters for metrics and tests. Monotonic since open() unless marked "now".
struct JournalStats {
  uint64_t commits = 0;         // transactions the writer committed
  uint64_t appended = 0;        // events journaled (duplicates not included)
  uint64_t duplicates = 0;      // events recognised as already journaled within dedup_window
  uint64_t updates = 0;         // delivery updates applied (acked, retry, dead)
  uint64_t pruned = 0;          // events deleted by retention or the max_events bound
  uint64_t replayed = 0;        // deliveries added by replay requests
  uint64_t failed_commits = 0;  // transactions rolled back on an error
  uint64_t events = 0;          // now: rows in the events table
  uint64_t pending_events = 0;  // now: events with at least one pending delivery
};

// OWNERSHIP: open() returns the only owner; destroying the journal stops it (as stop()) and
// releases FILE.lock. Thread rules are given per method; callbacks run on the journal's writer
// thread and must not block for long (they hold up the next group commit) nor throw.
class Journal {
 public:
  using AppendDone = std::function<void(StatusOr<std::vector<AppendedEvent>>)>;
  using ReplayDone = std::function<void(ReplayNotice)>;

  // Opens (creating if absent) the journal file. Destinations and routes are named so rows stay
  // meaningful across configuration changes (they are stored by name; indices are this run's).
  // A damaged file (not a database, failed integrity check, unknown schema version) is refused
  // with a message saying what is wrong, where, and how to recover; the hub must not start.
  static StatusOr<std::unique_ptr<Journal>> open(const JournalOptions& options,
                                                 std::vector<std::string> destinations,
                                                 std::vector<std::string> routes);
  virtual ~Journal() = default;

  // Starts the writer thread. `on_replay` runs on the writer thread after it carried out replay
  // requests found in the requests table.
  virtual void start(ReplayDone on_replay) = 0;
  // Finishes what was submitted (commits it and runs its callbacks) and stops the writer thread.
  virtual void stop() = 0;

  // Queues a batch for the next group commit; `done` runs on the writer thread once it is durable
  // (or failed). Thread rule: any thread.
  virtual void append(AppendBatch batch, AppendDone done) = 0;
  // Queues settlement records for the next commit (no callback: losing one in a crash only means
  // a redelivery). Thread rule: any thread.
  virtual void update(std::vector<DeliveryUpdate> updates) = 0;

  // True while pending events alone exceed max_events: publishers must wait. Thread rule: any.
  virtual bool full() const = 0;

  // Names the destinations and routes a configuration reload added: their indices continue after
  // those given to open() and to earlier calls. Returns once they are usable by append().
  // Thread rule: any thread; not concurrently with an append() that uses the new indices.
  virtual Status add_names(const std::vector<std::string>& destinations,
                           const std::vector<std::string>& routes) = 0;

  // Reads up to `limit` pending deliveries of `destination` with id > `after_id`, in id order.
  // Synchronous, on a read connection of its own; safe to call from any one thread at a time.
  virtual StatusOr<std::vector<StoredDelivery>> load_pending(uint32_t destination,
                                                             uint64_t after_id, size_t limit) = 0;
  // The cursors of an instance, as last written.
  virtual StatusOr<std::map<std::string, std::string>> load_cursors(
      const std::string& instance) = 0;

  // Counters as of the last commit. Thread rule: any.
  virtual JournalStats stats() const { return {}; }
};

}  // namespace simpang::hub
