// The LRS's statement store: one SQLite file (WAL) in the instance's state directory, holding each
// statement by id with its stored time, its voided flag, the JSON as stored (with the stored,
// authority and version the LRS set) and the JSON as received (what a re-sent statement with the
// same id is compared against).
//
// A statement goes in twice, which is the plugin's durability rule: insert_pending() puts the
// statements of one or more requests in as pending, in one transaction (nothing half-stored; no
// fsync, see open()); the plugin publishes them; once the hub has made them durable,
// mark_stored() makes them visible to queries and applies their voiding, in a transaction whose
// fsync makes the insert durable too. Rows still pending at start are published again (same event
// ids, so the hub's journal de-duplicates them): after any crash the store and the hub agree.
//
//   auto store = StatementStore::open(ctx.state_dir() / "statements.db");
//   SIMPANG_RETURN_IF_ERROR((*store)->insert_pending(rows));
//   ... publish; on durable:
//   SIMPANG_RETURN_IF_ERROR((*store)->mark_stored(ids));
//
// Thread rule: one thread (the plugin's runtime thread) uses a store.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "simpang/base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace simpang::plugins::lms_xapi {

// One row. A value type.
struct StoredStatement {
  int64_t seq = 0;        // insertion order; the paging cursor
  std::string id;         // the statement's UUID (lower case)
  int64_t stored_ms = 0;  // its `stored`, ms since the epoch
  bool pending = false;   // not yet durable in the hub: invisible to queries
  bool voided = false;    // a stored voiding statement targets it
  std::string voids;      // for a voiding statement, the id of its target; empty otherwise
  std::string json;       // the statement as stored (serialised)
  std::string received;   // the statement as received, normalised (serialised)
};

// What a scan visits (see StatementStore::scan).
struct ScanRange {
  bool ascending = false;
  std::optional<int64_t> after_seq;  // resume after this row (in scan order)
  std::optional<int64_t> since_ms;   // stored > since
  std::optional<int64_t> until_ms;   // stored <= until
};

class StatementStore {
 public:
  // Opens (creating it and its schema if needed) the store at `path`. Errors name the file.
  static StatusOr<std::unique_ptr<StatementStore>> open(const std::filesystem::path& path);
  ~StatementStore();
  StatementStore(const StatementStore&) = delete;
  StatementStore& operator=(const StatementStore&) = delete;

  // The row of statement `id`, pending or not; nullopt when there is none.
  StatusOr<std::optional<StoredStatement>> find(const std::string& id);

  // Inserts every row as pending, all or none (one transaction). `seq`, `pending` and `voided`
  // are ignored. REQUIRES: no row has an id already in the store (the plugin checked with find()
  // on this same thread).
  Status insert_pending(const std::vector<StoredStatement>& rows);

  // Marks rows stored, all in one transaction, and voids each target of a voiding statement among
  // them when the target is stored and not itself a voiding statement (xAPI-Data.md 2.3.2). Ids
  // not pending are skipped.
  Status mark_stored(const std::vector<std::string>& ids);

  // Every pending row, in insertion order.
  StatusOr<std::vector<StoredStatement>> pending();

  // Visits stored, non-voided rows in `range`, ordered by insertion (ascending or not), until
  // `visit` returns false.
  Status scan(const ScanRange& range, const std::function<bool(const StoredStatement&)>& visit);

  // The smallest `stored` of a pending row, or nullopt when none is pending: queries are
  // consistent only up to just before it.
  StatusOr<std::optional<int64_t>> oldest_pending_ms();
  // The largest `stored` of any row (0 when empty): new statements get a later one.
  StatusOr<int64_t> newest_stored_ms();

 private:
  StatementStore(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  Status exec(const char* sql);
  Status error(const std::string& what) const;
  Status read_rows(sqlite3_stmt* stmt, const std::function<bool(const StoredStatement&)>& visit);

  sqlite3* db_;
  std::filesystem::path path_;
};

}  // namespace simpang::plugins::lms_xapi
