// The statement store on SQLite; see xapi_store.h. Statements are prepared per call: the store's
// cost is the fsync of each transaction, not the parse of a few lines of SQL.
#include "xapi_store.h"

#include <sqlite3.h>

#include <string_view>

namespace simpang::plugins::lms_xapi {
namespace {

struct Finalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS statements (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  id        TEXT NOT NULL UNIQUE,
  stored_ms INTEGER NOT NULL,
  pending   INTEGER NOT NULL,
  voided    INTEGER NOT NULL DEFAULT 0,
  voids     TEXT NOT NULL DEFAULT '',
  json      TEXT NOT NULL,
  received  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS statements_pending ON statements(pending) WHERE pending = 1;
CREATE INDEX IF NOT EXISTS statements_stored ON statements(stored_ms);
)sql";

constexpr char kColumns[] = "seq, id, stored_ms, pending, voided, voids, json, received";

void bind_text(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text == nullptr
             ? std::string()
             : std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

}  // namespace

StatusOr<std::unique_ptr<StatementStore>> StatementStore::open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = path.string() + ": cannot open the statement store: " +
                          (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return Status::Error(std::move(message));
  }
  std::unique_ptr<StatementStore> store(new StatementStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  // WAL. Inserts commit with synchronous=NORMAL (no fsync) and marks with FULL: the mark's fsync
  // of the WAL makes the insert before it durable too, so an answered statement survives a power
  // cut at the cost of one fsync. An insert lost to a power cut was never answered; its events,
  // if the hub has them, come again with the same ids when the client retries.
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSchema}) {
    if (Status s = store->exec(sql); !s.ok()) {
      return s;
    }
  }
  return store;
}

StatementStore::~StatementStore() { sqlite3_close(db_); }

Status StatementStore::error(const std::string& what) const {
  return Status::Error(path_.string() + ": " + what + ": " + sqlite3_errmsg(db_) + " (" +
                       std::to_string(sqlite3_extended_errcode(db_)) + ")");
}

Status StatementStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = message != nullptr ? message : "unknown error";
    sqlite3_free(message);
    return Status::Error(path_.string() + ": " + std::string(sql).substr(0, 40) + ": " + text);
  }
  return Status::Ok();
}

Status StatementStore::read_rows(sqlite3_stmt* stmt,
                                 const std::function<bool(const StoredStatement&)>& visit) {
  while (true) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
      return Status::Ok();
    }
    if (rc != SQLITE_ROW) {
      return error("reading statements");
    }
    StoredStatement row;
    row.seq = sqlite3_column_int64(stmt, 0);
    row.id = column_text(stmt, 1);
    row.stored_ms = sqlite3_column_int64(stmt, 2);
    row.pending = sqlite3_column_int(stmt, 3) != 0;
    row.voided = sqlite3_column_int(stmt, 4) != 0;
    row.voids = column_text(stmt, 5);
    row.json = column_text(stmt, 6);
    row.received = column_text(stmt, 7);
    if (!visit(row)) {
      return Status::Ok();
    }
  }
}

StatusOr<std::optional<StoredStatement>> StatementStore::find(const std::string& id) {
  sqlite3_stmt* raw = nullptr;
  const std::string sql = std::string("SELECT ") + kColumns + " FROM statements WHERE id = ?1";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return error("preparing a lookup");
  }
  StmtPtr stmt(raw);
  bind_text(raw, 1, id);
  std::optional<StoredStatement> found;
  if (Status s = read_rows(raw,
                           [&](const StoredStatement& row) {
                             found = row;
                             return false;
                           });
      !s.ok()) {
    return s;
  }
  return found;
}

Status StatementStore::insert_pending(const std::vector<StoredStatement>& rows) {
  if (rows.empty()) {
    return Status::Ok();
  }
  if (Status s = exec("PRAGMA synchronous=NORMAL"); !s.ok()) {
    return s;
  }
  if (Status s = exec("BEGIN IMMEDIATE"); !s.ok()) {
    return s;
  }
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO statements(id, stored_ms, pending, voids, json, received) "
                         "VALUES (?1, ?2, 1, ?3, ?4, ?5)",
                         -1, &raw, nullptr) != SQLITE_OK) {
    Status s = error("preparing an insert");
    (void)exec("ROLLBACK");
    return s;
  }
  StmtPtr stmt(raw);
  for (const StoredStatement& row : rows) {
    bind_text(raw, 1, row.id);
    sqlite3_bind_int64(raw, 2, row.stored_ms);
    bind_text(raw, 3, row.voids);
    bind_text(raw, 4, row.json);
    bind_text(raw, 5, row.received);
    if (sqlite3_step(raw) != SQLITE_DONE) {
      Status s = error("inserting statement " + row.id);
      stmt.reset();
      (void)exec("ROLLBACK");
      return s;
    }
    sqlite3_reset(raw);
  }
  stmt.reset();
  if (Status s = exec("COMMIT"); !s.ok()) {
    (void)exec("ROLLBACK");
    return s;
  }
  return Status::Ok();
}

Status StatementStore::mark_stored(const std::vector<std::string>& ids) {
  if (ids.empty()) {
    return Status::Ok();
  }
  if (Status s = exec("PRAGMA synchronous=FULL"); !s.ok()) {
    return s;
  }
  if (Status s = exec("BEGIN IMMEDIATE"); !s.ok()) {
    return s;
  }
  sqlite3_stmt* mark_raw = nullptr;
  sqlite3_stmt* void_raw = nullptr;
  const bool prepared =
      sqlite3_prepare_v2(db_, "UPDATE statements SET pending = 0 WHERE id = ?1 AND pending = 1", -1,
                         &mark_raw, nullptr) == SQLITE_OK &&
      sqlite3_prepare_v2(
          db_,
          "UPDATE statements SET voided = 1 WHERE pending = 0 AND voids = '' AND id = "
          "(SELECT voids FROM statements WHERE id = ?1 AND voids != '')",
          -1, &void_raw, nullptr) == SQLITE_OK;
  StmtPtr mark(mark_raw);
  StmtPtr voiding(void_raw);
  Status failed = Status::Ok();
  if (!prepared) {
    failed = error("preparing the stored mark");
  }
  for (size_t i = 0; failed.ok() && i < ids.size(); ++i) {
    bind_text(mark_raw, 1, ids[i]);
    if (sqlite3_step(mark_raw) != SQLITE_DONE) {
      failed = error("marking statement " + ids[i] + " stored");
    }
    sqlite3_reset(mark_raw);
  }
  // Voiding after every mark, so a batch holding a statement and its voiding statement voids it.
  for (size_t i = 0; failed.ok() && i < ids.size(); ++i) {
    bind_text(void_raw, 1, ids[i]);
    if (sqlite3_step(void_raw) != SQLITE_DONE) {
      failed = error("applying the voiding statement " + ids[i]);
    }
    sqlite3_reset(void_raw);
  }
  mark.reset();
  voiding.reset();
  if (!failed.ok()) {
    (void)exec("ROLLBACK");
    return failed;
  }
  if (Status s = exec("COMMIT"); !s.ok()) {
    (void)exec("ROLLBACK");
    return s;
  }
  return Status::Ok();
}

StatusOr<std::vector<StoredStatement>> StatementStore::pending() {
  sqlite3_stmt* raw = nullptr;
  const std::string sql =
      std::string("SELECT ") + kColumns + " FROM statements WHERE pending = 1 ORDER BY seq";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return error("preparing the pending scan");
  }
  StmtPtr stmt(raw);
  std::vector<StoredStatement> rows;
  if (Status s = read_rows(raw,
                           [&](const StoredStatement& row) {
                             rows.push_back(row);
                             return true;
                           });
      !s.ok()) {
    return s;
  }
  return rows;
}

Status StatementStore::scan(const ScanRange& range,
                            const std::function<bool(const StoredStatement&)>& visit) {
  std::string sql =
      std::string("SELECT ") + kColumns + " FROM statements WHERE pending = 0 AND voided = 0";
  if (range.after_seq) {
    sql += range.ascending ? " AND seq > ?1" : " AND seq < ?1";
  }
  if (range.since_ms) {
    sql += " AND stored_ms > ?2";
  }
  if (range.until_ms) {
    sql += " AND stored_ms <= ?3";
  }
  sql += range.ascending ? " ORDER BY seq ASC" : " ORDER BY seq DESC";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    return error("preparing a query");
  }
  StmtPtr stmt(raw);
  if (range.after_seq) sqlite3_bind_int64(raw, 1, *range.after_seq);
  if (range.since_ms) sqlite3_bind_int64(raw, 2, *range.since_ms);
  if (range.until_ms) sqlite3_bind_int64(raw, 3, *range.until_ms);
  return read_rows(raw, visit);
}

StatusOr<std::optional<int64_t>> StatementStore::oldest_pending_ms() {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT MIN(stored_ms) FROM statements WHERE pending = 1", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return error("preparing the pending minimum");
  }
  StmtPtr stmt(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) {
    return error("reading the pending minimum");
  }
  if (sqlite3_column_type(raw, 0) == SQLITE_NULL) {
    return std::optional<int64_t>();
  }
  return std::optional<int64_t>(sqlite3_column_int64(raw, 0));
}

StatusOr<int64_t> StatementStore::newest_stored_ms() {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT COALESCE(MAX(stored_ms), 0) FROM statements", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return error("preparing the newest stored time");
  }
  StmtPtr stmt(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) {
    return error("reading the newest stored time");
  }
  return sqlite3_column_int64(raw, 0);
}

}  // namespace simpang::plugins::lms_xapi
