// The journal: where the hub keeps every event it has accepted and every delivery it still owes.
// Journal is the interface the broker uses; a backend implements it (sqlite/: one SQLite file, the
// durable default; memory/: nothing survives the process). open_journal.h chooses and opens one.
//
// What every backend must do (the delivery contract of docs/architecture.md, as the journal's
// share of it; tests/unit/journal/journal_contract_test.cc checks each point on every backend):
//
//  1. Durable before ack. append()'s `done` reports success only once the batch is as durable as
//     the backend promises (a durable backend: it survives kill -9 of the process, and
//     JournalSync::kFull also power loss). The broker acknowledges the publisher only then.
//  2. At least once per matching destination. Every NewDelivery of an appended event stays
//     pending, and is returned by load_pending(), until an update() acks it or moves it to the dead
//     letters; after a crash and reopen a durable backend returns every one not yet acked. An ack
//     that was lost (update() is fire-and-forget) only means a redelivery.
//  3. De-duplication window. An event whose (source, id) the journal accepted within
//     min(dedup_window, retention) is reported `duplicate` and not routed again, within one batch
//     too, and (durable backends) across a reopen. After the window it is a new event.
//  4. Ids. Event seqs and delivery ids are unique, increase in append order and are never reused,
//     not even after every row holding them is gone or across a reopen: the broker uses delivery
//     ids as wire ids and pages with load_pending(after_id).
//  5. Retries and dead letters. A kRetry update records attempts, not_before and the error; a kDead
//     one moves the delivery to the dead-letter queue with its error, where JournalAdmin
//     (journal_admin.h) lists, drops and replays it. Updates for unknown, acked or dead ids change
//     nothing.
//  6. Cursors committed atomically with the events. An AppendBatch's cursors are written together
//     with its events: after any crash either both are there or neither.
//  7. Replay. A replayed delivery is pending again under a new id, larger than every id before,
//     with attempts reset; on_replay (given to start()) names the destinations that got some, so
//     the broker loads them.
//  8. Completion order. append() callbacks run in submission order, and a completion never
//     overtakes an earlier one.
//  9. Back-pressure. full() is true while events with a pending delivery exceed max_events.
//
// Thread rules are given per method. Callbacks (`done`, `on_replay`) run on a thread of the
// backend's or on the caller's thread, possibly before the call that triggers them returns: they
// must not block for long, nor throw, nor call stop() or add_names(); the broker posts them to its
// loop.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "journal/journal_admin.h"
#include "journal/journal_options.h"
#include "simpang/base/status.h"

namespace simpang::hub {

// One destination of an event being appended.
struct NewDelivery {
  uint32_t destination = 0;  // index into the destination names given to open_journal()
  uint32_t route = 0;        // index into the route names given to open_journal()
};

// One event being appended, with where it must go.
struct NewEvent {
  std::string source;                       // CloudEvents source
  std::string id;                           // CloudEvents id
  std::shared_ptr<const std::string> body;  // the serialized simpang.v1.Event
  std::vector<NewDelivery> deliveries;      // empty: accepted but routed nowhere
};

// A publish batch being made durable.
struct AppendBatch {
  std::string publisher;  // the publishing instance
  std::vector<NewEvent> events;
  std::map<std::string, std::string>
      cursors;  // the publisher's cursors, written atomically with it
};

// What happened to one appended event.
struct AppendedEvent {
  bool duplicate = false;              // already journaled within the window; not routed
  uint64_t seq = 0;                    // the event's sequence number (0 for a duplicate)
  std::vector<uint64_t> delivery_ids;  // one per NewDelivery, same order
};

// StoredDelivery::route of a delivery whose route is not in this run's configuration (renamed or
// removed since it was appended): the broker applies the destination's default policy.
inline constexpr uint32_t kUnknownRoute = 0xffffffff;

// A pending delivery, as loaded for sending.
struct StoredDelivery {
  uint64_t id = 0;  // increasing in append (and replay) order
  uint64_t event_seq = 0;
  uint32_t destination = 0;                            // the index it was loaded with
  uint32_t route = 0;                                  // or kUnknownRoute
  uint32_t attempts = 0;                               // deliveries tried so far
  std::chrono::system_clock::time_point not_before{};  // earliest next attempt (retry backoff)
  std::shared_ptr<const std::string> body;
  std::chrono::system_clock::time_point accepted_at{};  // when the event was journaled
};

// How a delivery was settled, to be recorded.
struct DeliveryUpdate {
  enum class Kind {
    kAcked,  // delivered: the delivery is no longer owed
    kRetry,  // still pending: attempts and not_before updated, error kept
    kDead,   // moved to the dead-letter queue with the error
  };
  uint64_t delivery_id = 0;
  Kind kind = Kind::kAcked;
  uint32_t attempts = 0;
  std::chrono::system_clock::time_point not_before{};
  std::string error;
};

// Replays the journal carried out (requested through a JournalAdmin); the broker then reloads
// those destinations.
struct ReplayNotice {
  std::vector<uint32_t> destinations;  // indices that received new pending deliveries
  uint64_t deliveries = 0;
};

// Counters for metrics and tests. Monotonic since open unless marked "now". A backend may leave
// counters it has no notion of at 0 (the memory backend commits nothing).
struct JournalStats {
  uint64_t commits = 0;         // transactions committed
  uint64_t appended = 0;        // events journaled (duplicates not included)
  uint64_t duplicates = 0;      // events recognised as already journaled within dedup_window
  uint64_t updates = 0;         // delivery updates applied (acked, retry, dead; unknown ids too)
  uint64_t pruned = 0;          // events deleted by retention or the max_events bound
  uint64_t replayed = 0;        // deliveries added by replays
  uint64_t failed_commits = 0;  // transactions rolled back on an error
  uint64_t events = 0;          // now: events kept
  uint64_t pending_events = 0;  // now: events with at least one pending delivery
};

// OWNERSHIP: open_journal() returns the only owner; destroying a journal stops it (as stop()) and
// releases what it holds (a SQLite journal's FILE.lock).
class Journal {
 public:
  using AppendDone = std::function<void(StatusOr<std::vector<AppendedEvent>>)>;
  using ReplayDone = std::function<void(ReplayNotice)>;

  virtual ~Journal() = default;

  // Starts the journal's work (threads, if it has any). `on_replay` is called after the journal
  // carried out replays. Thread rule: the owner; once.
  virtual void start(ReplayDone on_replay) = 0;
  // Finishes what was submitted (makes it durable and runs its callbacks) and stops. Afterwards
  // append() fails at once and update() is dropped. Thread rule: the owner, never a callback.
  virtual void stop() = 0;

  // Submits a batch; `done` runs exactly once, when it is durable or failed. A batch naming a
  // destination or route index beyond the names given fails alone, writing nothing (neither its
  // events nor its cursors). Appends submitted before start() are kept: a backend with a thread
  // completes them once started, one with nothing to wait for at once. Thread rule: any thread.
  virtual void append(AppendBatch batch, AppendDone done) = 0;
  // Submits settlement records (no callback: losing one in a crash only means a redelivery).
  // Thread rule: any thread.
  virtual void update(std::vector<DeliveryUpdate> updates) = 0;

  // True while events with a pending delivery exceed max_events: publishers must wait. Cheap
  // (asked per publish). Thread rule: any.
  virtual bool full() const = 0;

  // Names the destinations and routes a configuration reload added: their indices continue after
  // those given to open_journal() and to earlier calls. A name given before gets a second index
  // that reaches the same deliveries. Returns once they are usable by append(); fails after
  // stop(). Thread rule: any thread, but not from a callback (it may wait for the journal's
  // thread), and not concurrently with an append() that uses the new indices.
  virtual Status add_names(const std::vector<std::string>& destinations,
                           const std::vector<std::string>& routes) = 0;

  // Up to `limit` pending deliveries of `destination` with id > `after_id`, in id order. Sees
  // every append whose `done` has run and every update stats().updates has counted. An index
  // beyond the names given is an error.
  // Thread rule: any thread; may block on storage, so keep it off an event loop.
  virtual StatusOr<std::vector<StoredDelivery>> load_pending(uint32_t destination,
                                                             uint64_t after_id, size_t limit) = 0;
  // The cursors of an instance, as last written. Thread rule: as load_pending().
  virtual StatusOr<std::map<std::string, std::string>> load_cursors(
      const std::string& instance) = 0;

  // Counters. Thread rule: any. (Every backend here keeps them; a test's stand-in need not.)
  virtual JournalStats stats() const { return {}; }

  // The operator's side of this journal (dead letters, replays), for an admin surface in the
  // hub's own process. OWNERSHIP: the caller owns the result, which must not outlive this journal.
  // A backend without an operator side returns an error saying so (the default, so that a test's
  // stand-in need not implement it). Thread rule: any thread.
  virtual StatusOr<std::unique_ptr<JournalAdmin>> open_admin() {
    return Status::Error("journal: this backend offers no operator side (dead letters, replays)");
  }
};

}  // namespace simpang::hub
