// hr-scim's store; see scim_store.h.
#include "scim_store.h"

#include <sqlite3.h>

namespace simpang::plugins::hr_scim {
namespace {

struct Finalize {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, Finalize>;

constexpr char kSchema[] = R"sql(
CREATE TABLE IF NOT EXISTS resources (
  client   TEXT NOT NULL,
  type     TEXT NOT NULL,
  id       TEXT NOT NULL,
  name_key TEXT NOT NULL,
  version  INTEGER NOT NULL,
  json     TEXT NOT NULL,
  PRIMARY KEY (client, type, id)
);
CREATE UNIQUE INDEX IF NOT EXISTS users_by_name ON resources(client, type, name_key)
  WHERE type = 'User';
CREATE INDEX IF NOT EXISTS resources_by_name ON resources(client, type, name_key);
CREATE TABLE IF NOT EXISTS outbox (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  queued_ms INTEGER NOT NULL,
  event     BLOB NOT NULL
);
)sql";

void bind_text(sqlite3_stmt* stmt, int index, const std::string& text) {
  sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  return text == nullptr
             ? std::string()
             : std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)));
}

ResourceRow read_row(sqlite3_stmt* stmt) {
  ResourceRow row;
  row.client = column_text(stmt, 0);
  row.type = column_text(stmt, 1);
  row.id = column_text(stmt, 2);
  row.name_key = column_text(stmt, 3);
  row.version = sqlite3_column_int64(stmt, 4);
  row.json = column_text(stmt, 5);
  return row;
}

constexpr char kColumns[] = "client, type, id, name_key, version, json";

}  // namespace

StatusOr<std::unique_ptr<ScimStore>> ScimStore::open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string message = path.string() + ": cannot open the SCIM store: " +
                          (db != nullptr ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return Status::Error(message);
  }
  std::unique_ptr<ScimStore> store(new ScimStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  for (const char* sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", kSchema}) {
    if (Status s = store->exec(sql); !s.ok()) return s;
  }
  return store;
}

ScimStore::~ScimStore() { sqlite3_close(db_); }

Status ScimStore::exec(const char* sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
    std::string text = path_.string() + ": " + (message != nullptr ? message : "error");
    sqlite3_free(message);
    return Status::Error(text);
  }
  return Status::Ok();
}

Status ScimStore::error(const std::string& what) const {
  return Status::Error(path_.string() + ": " + what + ": " + sqlite3_errmsg(db_));
}

StatusOr<std::optional<ResourceRow>> ScimStore::get(const std::string& client,
                                                    const std::string& type,
                                                    const std::string& id) {
  sqlite3_stmt* raw = nullptr;
  const std::string sql = std::string("SELECT ") + kColumns +
                          " FROM resources WHERE client = ?1 AND type = ?2 AND id = ?3";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) return error("get");
  StmtPtr stmt(raw);
  bind_text(raw, 1, client);
  bind_text(raw, 2, type);
  bind_text(raw, 3, id);
  const int rc = sqlite3_step(raw);
  if (rc == SQLITE_ROW) return std::optional<ResourceRow>(read_row(raw));
  if (rc == SQLITE_DONE) return std::optional<ResourceRow>();
  return error("get");
}

StatusOr<std::optional<ResourceRow>> ScimStore::by_name(const std::string& client,
                                                        const std::string& type,
                                                        const std::string& name_key) {
  sqlite3_stmt* raw = nullptr;
  const std::string sql =
      std::string("SELECT ") + kColumns +
      " FROM resources WHERE client = ?1 AND type = ?2 AND name_key = ?3 LIMIT 1";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) return error("by_name");
  StmtPtr stmt(raw);
  bind_text(raw, 1, client);
  bind_text(raw, 2, type);
  bind_text(raw, 3, name_key);
  const int rc = sqlite3_step(raw);
  if (rc == SQLITE_ROW) return std::optional<ResourceRow>(read_row(raw));
  if (rc == SQLITE_DONE) return std::optional<ResourceRow>();
  return error("by_name");
}

StatusOr<std::vector<ResourceRow>> ScimStore::all(const std::string& client,
                                                  const std::string& type) {
  sqlite3_stmt* raw = nullptr;
  const std::string sql = std::string("SELECT ") + kColumns +
                          " FROM resources WHERE client = ?1 AND type = ?2 ORDER BY rowid";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) return error("all");
  StmtPtr stmt(raw);
  bind_text(raw, 1, client);
  bind_text(raw, 2, type);
  std::vector<ResourceRow> rows;
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) rows.push_back(read_row(raw));
  if (rc != SQLITE_DONE) return error("all");
  return rows;
}

StatusOr<std::vector<int64_t>> ScimStore::commit(const ResourceRow& row, bool remove,
                                                 const std::vector<simpang::v1::Event>& events,
                                                 int64_t now_ms) {
  if (Status s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  auto fail = [this](const std::string& what) {
    Status s = error(what);
    (void)exec("ROLLBACK");
    return s;
  };
  sqlite3_stmt* raw = nullptr;
  const char* sql = remove
                        ? "DELETE FROM resources WHERE client = ?1 AND type = ?2 AND id = ?3"
                        : "INSERT OR REPLACE INTO resources (client, type, id, name_key, version, "
                          "json) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
  if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK) return fail("commit");
  {
    StmtPtr stmt(raw);
    bind_text(raw, 1, row.client);
    bind_text(raw, 2, row.type);
    bind_text(raw, 3, row.id);
    if (!remove) {
      bind_text(raw, 4, row.name_key);
      sqlite3_bind_int64(raw, 5, row.version);
      bind_text(raw, 6, row.json);
    }
    if (sqlite3_step(raw) != SQLITE_DONE) return fail("commit " + row.type + " " + row.id);
  }
  std::vector<int64_t> seqs;
  if (sqlite3_prepare_v2(db_, "INSERT INTO outbox (queued_ms, event) VALUES (?1, ?2)", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return fail("outbox");
  }
  StmtPtr stmt(raw);
  for (const simpang::v1::Event& event : events) {
    const std::string bytes = event.SerializeAsString();
    sqlite3_reset(raw);
    sqlite3_bind_int64(raw, 1, now_ms);
    sqlite3_bind_blob(raw, 2, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    if (sqlite3_step(raw) != SQLITE_DONE) return fail("outbox");
    seqs.push_back(sqlite3_last_insert_rowid(db_));
  }
  stmt.reset();
  if (Status s = exec("COMMIT"); !s.ok()) {
    (void)exec("ROLLBACK");
    return s;
  }
  return seqs;
}

Status ScimStore::mark_sent(const std::vector<int64_t>& seqs) {
  if (seqs.empty()) return Status::Ok();
  if (Status s = exec("BEGIN IMMEDIATE"); !s.ok()) return s;
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "DELETE FROM outbox WHERE seq = ?1", -1, &raw, nullptr) !=
      SQLITE_OK) {
    Status s = error("mark_sent");
    (void)exec("ROLLBACK");
    return s;
  }
  StmtPtr stmt(raw);
  for (int64_t seq : seqs) {
    sqlite3_reset(raw);
    sqlite3_bind_int64(raw, 1, seq);
    if (sqlite3_step(raw) != SQLITE_DONE) {
      Status s = error("mark_sent");
      stmt.reset();
      (void)exec("ROLLBACK");
      return s;
    }
  }
  stmt.reset();
  return exec("COMMIT");
}

StatusOr<std::vector<OutboxRow>> ScimStore::outbox() {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT seq, queued_ms, event FROM outbox ORDER BY seq", -1, &raw,
                         nullptr) != SQLITE_OK) {
    return error("outbox");
  }
  StmtPtr stmt(raw);
  std::vector<OutboxRow> rows;
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    OutboxRow row;
    row.seq = sqlite3_column_int64(raw, 0);
    row.queued_ms = sqlite3_column_int64(raw, 1);
    const void* blob = sqlite3_column_blob(raw, 2);
    if (!row.event.ParseFromArray(blob, sqlite3_column_bytes(raw, 2))) {
      return Status::Error(path_.string() + ": outbox row " + std::to_string(row.seq) +
                           " does not hold an event");
    }
    rows.push_back(std::move(row));
  }
  if (rc != SQLITE_DONE) return error("outbox");
  return rows;
}

}  // namespace simpang::plugins::hr_scim
