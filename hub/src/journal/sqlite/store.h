// Journal operations shared by the hub's writer thread and the operator's JournalAdmin: the names
// dictionary, the counters kept in meta, "does this event still have deliveries", the dead-letter
// filter, and carrying out replay requests. Whoever holds FILE.lock runs the writing ones (the
// hub's writer, or the command when no hub runs), so a replay is carried out by the same code
// either way.
//
// Thread rule: everything works on the Db passed in and follows its rule. Functions marked
// "REQUIRES: a transaction is open" expect the caller's BEGIN IMMEDIATE.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "journal/journal_admin.h"
#include "journal/sqlite/schema.h"
#include "journal/sqlite/sqlite_util.h"

namespace simpang::hub::journal_internal {

// What meta keeps besides the schema version, written in the transaction that changes it.
struct Counters {
  // The next events.seq and deliveries.id. An id is never handed out twice, even after every row
  // holding it was deleted: the broker uses delivery ids as wire ids, and `load_pending(after_id)`
  // paging relies on new rows having larger ids.
  int64_t next_event_seq = 1;
  int64_t next_delivery_id = 1;
  // Events with at least one pending delivery (Journal::full() compares it with max_events).
  // Maintained, not counted: counting needs a scan of every pending delivery.
  int64_t pending_events = 0;
  bool operator==(const Counters&) const = default;
};

// Reads the counters (the id counters are at least one past the largest id in their table).
StatusOr<Counters> load_counters(Db& db);
// REQUIRES: a transaction is open; `update_meta` is "UPDATE meta SET value = ?2 WHERE key = ?1".
Status save_counters(Stmt& update_meta, const Counters& counters);

// Whether an event still has delivery rows. There is no index on deliveries.event_seq (it would
// cost every append and every ack an index update): an event's own rows have consecutive ids from
// events.first_delivery, so they are a rowid range, and the rows a replay added later
// (siblings = 0) are few and in the partial index deliveries_replayed.
// OWNERSHIP: borrows the Db, which outlives it.
class EventRows {
 public:
  explicit EventRows(Db& db);
  // Whether all statements prepared; otherwise the error.
  Status prepared();

  // A pending row of `event_seq` other than `except_id`. `siblings` and `except_id` describe the
  // row being settled when there is one (they spare reading the events row in the common case of
  // an event appended with a single delivery); pass siblings = -1 when unknown. `replays_exist`:
  // false when no replayed row can exist, skipping that probe.
  StatusOr<bool> has_pending(int64_t event_seq, int64_t except_id, int64_t siblings,
                             bool replays_exist = true);
  // Any row (pending or dead) of the event with its own ids [first, first + count).
  StatusOr<bool> has_any(int64_t event_seq, int64_t first_delivery, int64_t delivery_count,
                         bool replays_exist = true);

 private:
  Stmt event_range_;       // events.first_delivery, delivery_count of a seq
  Stmt pending_in_range_;  // a pending row in an id range, of the event, not the excepted one
  Stmt any_in_range_;      // any row in an id range
  Stmt pending_replayed_;  // a pending replayed row of the event, not the excepted one
  Stmt any_replayed_;      // any replayed row of the event
};

// names.id for (kind, name), or nullopt when the journal has never seen it.
StatusOr<std::optional<int64_t>> find_name(Db& db, NameKind kind, std::string_view name);
// names.id for (kind, name), inserting it when new.
StatusOr<int64_t> ensure_name(Db& db, NameKind kind, std::string_view name);
// Every name of a kind, sorted (for "did you mean" style errors).
StatusOr<std::vector<std::string>> list_names(Db& db, NameKind kind);

// The FROM/WHERE of a dead-letter query over deliveries d, events e, names dn (destination) and
// rn (route), with the filter bound as ?1..?4 by bind_dead_filter().
inline constexpr std::string_view kDeadFrom =
    " FROM deliveries d JOIN events e ON e.seq = d.event_seq"
    " LEFT JOIN names dn ON dn.id = d.destination LEFT JOIN names rn ON rn.id = d.route"
    " WHERE d.state = 1 AND (?1 IS NULL OR d.id = ?1) AND (?2 IS NULL OR dn.name = ?2)"
    " AND (?3 IS NULL OR rn.name = ?3) AND (?4 IS NULL OR simpang_event_type(e.body) = ?4)";
// OWNERSHIP: the filter's strings must outlive the statement's next reset (bound SQLITE_STATIC).
void bind_dead_filter(Stmt& stmt, const DeadLetterFilter& filter);

// Events with at least one pending delivery, counted (a scan of every pending delivery). For a
// file whose meta lacks the maintained count.
StatusOr<int64_t> count_pending_events(Db& db);

// One replay request carried out.
struct ExecutedRequest {
  int64_t id = 0;
  uint64_t count = 0;                    // pending deliveries added
  std::vector<int64_t> destination_ids;  // names.id of destinations that received some
};

// Carries out every queued request, oldest first: dead -> pending with attempts reset and a new id
// (replay_dead); a new pending delivery per retained event that was routed to the destination and
// has none pending there (replay_history). Each request row is marked done with its count, or
// failed with the reason when it cannot be carried out (an unknown destination); either way it is
// not tried again. New delivery ids come from `counters`, whose pending_events it keeps right.
// `done_by` is recorded ('hub' or 'admin').
// REQUIRES: a transaction is open, and the caller holds FILE.lock (it is the only writer of
// deliveries).
StatusOr<std::vector<ExecutedRequest>> run_queued_requests(Db& db, Counters& counters,
                                                           std::string_view done_by,
                                                           int64_t now_ms);

}  // namespace simpang::hub::journal_internal
