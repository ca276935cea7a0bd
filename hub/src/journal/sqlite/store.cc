// Operations shared by the journal's writer and JournalAdmin; see store.h.
#include "journal/sqlite/store.h"

#include <algorithm>
#include <set>

namespace simpang::hub::journal_internal {
namespace {

struct QueuedRequest {
  int64_t id = 0;
  std::string kind;
  std::optional<int64_t> delivery_id;
  std::optional<std::string> destination;
  std::optional<std::string> route;
  std::optional<std::string> event_type;
  std::optional<int64_t> since_ms;
  std::optional<int64_t> from_seq;
};

std::optional<int64_t> optional_int(const Stmt& stmt, int column) {
  return stmt.column_is_null(column) ? std::nullopt : std::optional(stmt.column_int(column));
}

std::optional<std::string> optional_text(const Stmt& stmt, int column) {
  return stmt.column_is_null(column) ? std::nullopt
                                     : std::optional(std::string(stmt.column_text(column)));
}

// The outcome of one request: a count, or the reason it cannot be carried out (recorded on the
// row). A database error is returned separately, as the Status of the whole transaction.
struct Outcome {
  uint64_t count = 0;
  std::set<int64_t> destination_ids;
  std::string refusal;
};

Status replay_dead(Db& db, const QueuedRequest& request, Counters& counters, Outcome& outcome) {
  DeadLetterFilter filter;
  if (request.delivery_id) {
    filter.delivery_id = static_cast<uint64_t>(*request.delivery_id);
  }
  filter.destination = request.destination;
  filter.route = request.route;
  filter.event_type = request.event_type;
  struct Dead {
    int64_t id;
    int64_t destination;
    int64_t event_seq;
  };
  // Collected first: the rows are rewritten (new ids) while nothing iterates over them.
  std::vector<Dead> rows;
  {
    Stmt select(
        db, "SELECT d.id, d.destination, d.event_seq" + std::string(kDeadFrom) + " ORDER BY d.id");
    bind_dead_filter(select, filter);
    SIMPANG_RETURN_IF_ERROR(select.for_each_row([&](const Stmt& row) {
      rows.push_back(Dead{row.column_int(0), row.column_int(1), row.column_int(2)});
    }));
  }
  EventRows events(db);
  SIMPANG_RETURN_IF_ERROR(events.prepared());
  // A new id, larger than any the broker has seen, so its paging (ids above what it loaded) finds
  // the row; the old id is gone, so a late settlement for it changes nothing. siblings = 0: the
  // row has left its event's id range.
  Stmt revive(db,
              "UPDATE deliveries SET id = ?2, state = 0, attempts = 0, not_before_ms = 0, "
              "siblings = 0, dead_at_ms = NULL WHERE id = ?1");
  for (const Dead& dead : rows) {
    auto pending = events.has_pending(dead.event_seq, /*except_id=*/0, /*siblings=*/-1);
    if (!pending.ok()) {
      return pending.status();
    }
    if (!*pending) {
      ++counters.pending_events;
    }
    SIMPANG_RETURN_IF_ERROR(revive.bind(1, dead.id).bind(2, counters.next_delivery_id++).run());
    outcome.destination_ids.insert(dead.destination);
  }
  outcome.count = rows.size();
  return Status::Ok();
}

Status replay_history(Db& db, const QueuedRequest& request, Counters& counters, Outcome& outcome) {
  if (!request.destination) {
    outcome.refusal = "no destination given";
    return Status::Ok();
  }
  auto found = find_name(db, NameKind::kDestination, *request.destination);
  if (!found.ok()) {
    return found.status();
  }
  if (!*found) {
    outcome.refusal = "the journal has no destination named '" + *request.destination + "'";
    return Status::Ok();
  }
  const int64_t destination = **found;
  // seq is the rowid: a literal range lets SQLite start there instead of scanning from the first
  // event. received_ms has no index (it would cost every append); a time replay scans.
  std::string sql =
      "SELECT seq, simpang_route_for(routing, ?1), first_delivery, delivery_count FROM events "
      "WHERE simpang_route_for(routing, ?1) IS NOT NULL";
  if (request.since_ms) {
    sql += " AND received_ms >= ?2";
  }
  if (request.from_seq) {
    sql += " AND seq >= ?3";
  }
  sql += " ORDER BY seq";
  Stmt select(db, sql);
  select.bind(1, destination);
  if (request.since_ms) {
    select.bind(2, *request.since_ms);
  }
  if (request.from_seq) {
    select.bind(3, *request.from_seq);
  }
  // Already owed to the destination (among the event's own rows or replayed ones): a second copy
  // would only be a duplicate.
  Stmt owed_own(db,
                "SELECT 1 FROM deliveries WHERE id BETWEEN ?1 AND ?2 AND destination = ?3 "
                "AND state = 0 LIMIT 1");
  Stmt owed_replayed(db,
                     "SELECT 1 FROM deliveries WHERE event_seq = ?1 AND siblings = 0 AND "
                     "destination = ?2 AND state = 0 LIMIT 1");
  Stmt insert(db,
              "INSERT INTO deliveries(id, event_seq, destination, route, state, attempts, "
              "not_before_ms, siblings) VALUES (?1, ?2, ?3, ?4, 0, 0, 0, 0)");
  EventRows events(db);
  SIMPANG_RETURN_IF_ERROR(events.prepared());
  // Inserting into deliveries while reading events is safe: different tables.
  SIMPANG_RETURN_IF_ERROR(select.for_each_row([&](const Stmt& row) -> Status {
    const int64_t seq = row.column_int(0);
    const int64_t route = row.column_int(1);
    const int64_t first = row.column_int(2);
    const int64_t count = row.column_int(3);
    auto own = owed_own.bind(1, first).bind(2, first + count - 1).bind(3, destination).exists();
    if (!own.ok()) {
      return own.status();
    }
    auto replayed = owed_replayed.bind(1, seq).bind(2, destination).exists();
    if (!replayed.ok()) {
      return replayed.status();
    }
    if (*own || *replayed) {
      return Status::Ok();
    }
    auto pending = events.has_pending(seq, /*except_id=*/0, /*siblings=*/-1);
    if (!pending.ok()) {
      return pending.status();
    }
    if (!*pending) {
      ++counters.pending_events;
    }
    SIMPANG_RETURN_IF_ERROR(insert.bind(1, counters.next_delivery_id++)
                                .bind(2, seq)
                                .bind(3, destination)
                                .bind(4, route)
                                .run());
    ++outcome.count;
    return Status::Ok();
  }));
  if (outcome.count > 0) {
    outcome.destination_ids.insert(destination);
  }
  return Status::Ok();
}

}  // namespace

StatusOr<Counters> load_counters(Db& db) {
  Stmt stmt(db,
            "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'next_event_seq'), 1),"
            "           coalesce((SELECT max(seq) FROM events), 0) + 1),"
            "       max(coalesce((SELECT value FROM meta WHERE key = 'next_delivery_id'), 1),"
            "           coalesce((SELECT max(id) FROM deliveries), 0) + 1),"
            "       (SELECT value FROM meta WHERE key = 'pending_events')");
  auto row = stmt.step();
  if (!row.ok()) {
    return row.status();
  }
  Counters counters{stmt.column_int(0), stmt.column_int(1), stmt.column_int(2)};
  if (stmt.column_is_null(2)) {
    stmt.reset();
    auto counted = count_pending_events(db);
    if (!counted.ok()) {
      return counted.status();
    }
    counters.pending_events = *counted;
  }
  return counters;
}

Status save_counters(Stmt& update_meta, const Counters& counters) {
  SIMPANG_RETURN_IF_ERROR(
      update_meta.bind_text(1, "next_event_seq").bind(2, counters.next_event_seq).run());
  SIMPANG_RETURN_IF_ERROR(
      update_meta.bind_text(1, "next_delivery_id").bind(2, counters.next_delivery_id).run());
  return update_meta.bind_text(1, "pending_events").bind(2, counters.pending_events).run();
}

EventRows::EventRows(Db& db)
    : event_range_(db, "SELECT first_delivery, delivery_count FROM events WHERE seq = ?1"),
      pending_in_range_(db,
                        "SELECT 1 FROM deliveries WHERE id BETWEEN ?1 AND ?2 AND event_seq = ?3 "
                        "AND id <> ?4 AND state = 0 LIMIT 1"),
      any_in_range_(db, "SELECT 1 FROM deliveries WHERE id BETWEEN ?1 AND ?2 LIMIT 1"),
      pending_replayed_(db,
                        "SELECT 1 FROM deliveries WHERE event_seq = ?1 AND siblings = 0 AND "
                        "id <> ?2 AND state = 0 LIMIT 1"),
      any_replayed_(db, "SELECT 1 FROM deliveries WHERE event_seq = ?1 AND siblings = 0 LIMIT 1") {}

Status EventRows::prepared() {
  for (Stmt* stmt :
       {&event_range_, &pending_in_range_, &any_in_range_, &pending_replayed_, &any_replayed_}) {
    if (!stmt->prepared()) {
      return stmt->run();
    }
  }
  return Status::Ok();
}

StatusOr<bool> EventRows::has_pending(int64_t event_seq, int64_t except_id, int64_t siblings,
                                      bool replays_exist) {
  // The event's own ids: around the settled row when its siblings count is known (the event's
  // ids lie within siblings - 1 of it; event_seq picks them out), else from the events row.
  int64_t low = 0;
  int64_t high = -1;
  if (siblings > 1) {
    low = except_id - (siblings - 1);
    high = except_id + (siblings - 1);
  } else if (siblings != 1) {
    event_range_.bind(1, event_seq);
    auto row = event_range_.step();
    if (row.ok() && *row) {
      low = event_range_.column_int(0);
      high = low + event_range_.column_int(1) - 1;
    }
    event_range_.reset();
    if (!row.ok()) {
      return row.status();
    }
  }
  if (low <= high) {
    auto own =
        pending_in_range_.bind(1, low).bind(2, high).bind(3, event_seq).bind(4, except_id).exists();
    if (!own.ok() || *own) {
      return own;
    }
  }
  if (!replays_exist) {
    return false;
  }
  return pending_replayed_.bind(1, event_seq).bind(2, except_id).exists();
}

StatusOr<bool> EventRows::has_any(int64_t event_seq, int64_t first_delivery, int64_t delivery_count,
                                  bool replays_exist) {
  if (delivery_count > 0) {
    auto own =
        any_in_range_.bind(1, first_delivery).bind(2, first_delivery + delivery_count - 1).exists();
    if (!own.ok() || *own) {
      return own;
    }
  }
  if (!replays_exist) {
    return false;
  }
  return any_replayed_.bind(1, event_seq).exists();
}

StatusOr<std::optional<int64_t>> find_name(Db& db, NameKind kind, std::string_view name) {
  Stmt stmt(db, "SELECT id FROM names WHERE kind = ?1 AND name = ?2");
  stmt.bind(1, static_cast<int64_t>(kind)).bind_text(2, name);
  auto row = stmt.step();
  if (!row.ok()) {
    return row.status();
  }
  return *row ? std::optional(stmt.column_int(0)) : std::nullopt;
}

StatusOr<int64_t> ensure_name(Db& db, NameKind kind, std::string_view name) {
  auto found = find_name(db, kind, name);
  if (!found.ok()) {
    return found.status();
  }
  if (*found) {
    return **found;
  }
  Stmt insert(db, "INSERT INTO names(kind, name) VALUES (?1, ?2)");
  SIMPANG_RETURN_IF_ERROR(insert.bind(1, static_cast<int64_t>(kind)).bind_text(2, name).run());
  return static_cast<int64_t>(sqlite3_last_insert_rowid(db.handle()));
}

StatusOr<std::vector<std::string>> list_names(Db& db, NameKind kind) {
  Stmt stmt(db, "SELECT name FROM names WHERE kind = ?1 ORDER BY name");
  stmt.bind(1, static_cast<int64_t>(kind));
  std::vector<std::string> names;
  SIMPANG_RETURN_IF_ERROR(
      stmt.for_each_row([&](const Stmt& row) { names.emplace_back(row.column_text(0)); }));
  return names;
}

void bind_dead_filter(Stmt& stmt, const DeadLetterFilter& filter) {
  if (filter.delivery_id) {
    stmt.bind(1, *filter.delivery_id);
  }
  if (filter.destination) {
    stmt.bind_text(2, *filter.destination);
  }
  if (filter.route) {
    stmt.bind_text(3, *filter.route);
  }
  if (filter.event_type) {
    stmt.bind_text(4, *filter.event_type);
  }
}

StatusOr<int64_t> count_pending_events(Db& db) {
  return db.query_int("SELECT count(DISTINCT event_seq) FROM deliveries WHERE state = 0");
}

StatusOr<std::vector<ExecutedRequest>> run_queued_requests(Db& db, Counters& counters,
                                                           std::string_view done_by,
                                                           int64_t now_ms) {
  std::vector<QueuedRequest> queued;
  {
    Stmt select(db,
                "SELECT id, kind, delivery_id, destination, route, event_type, since_ms, from_seq "
                "FROM requests WHERE state = 'queued' ORDER BY id");
    SIMPANG_RETURN_IF_ERROR(select.for_each_row([&](const Stmt& row) {
      queued.push_back(QueuedRequest{row.column_int(0), std::string(row.column_text(1)),
                                     optional_int(row, 2), optional_text(row, 3),
                                     optional_text(row, 4), optional_text(row, 5),
                                     optional_int(row, 6), optional_int(row, 7)});
    }));
  }
  std::vector<ExecutedRequest> executed;
  Stmt finish(db,
              "UPDATE requests SET state = ?2, done_ms = ?3, done_by = ?4, count = ?5, error = ?6 "
              "WHERE id = ?1");
  for (const QueuedRequest& request : queued) {
    Outcome outcome;
    if (request.kind == "replay_dead") {
      SIMPANG_RETURN_IF_ERROR(replay_dead(db, request, counters, outcome));
    } else if (request.kind == "replay_history") {
      SIMPANG_RETURN_IF_ERROR(replay_history(db, request, counters, outcome));
    } else {
      outcome.refusal = "unknown request kind '" + request.kind + "'";
    }
    finish.bind(1, request.id)
        .bind_text(2, outcome.refusal.empty() ? "done" : "failed")
        .bind(3, now_ms)
        .bind_text(4, done_by)
        .bind(5, outcome.count);
    if (outcome.refusal.empty()) {
      finish.bind_null(6);
    } else {
      finish.bind_text(6, outcome.refusal);
    }
    SIMPANG_RETURN_IF_ERROR(finish.run());
    executed.push_back(ExecutedRequest{
        request.id, outcome.count,
        std::vector<int64_t>(outcome.destination_ids.begin(), outcome.destination_ids.end())});
  }
  return executed;
}

}  // namespace simpang::hub::journal_internal
