// Bare SQLite inserting the journal's rows, simpang-bench's durability baseline (sqlite_insert.h).
#include "sqlite_insert.h"

#include <sqlite3.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace simpang::bench {
namespace {

// The shape of the journal's events and deliveries tables and their indexes (schema.cc), without
// the tables a run of the bench never writes (meta, names, cursors, requests).
constexpr const char* kSchema = R"sql(
CREATE TABLE events (
  seq            INTEGER PRIMARY KEY,
  received_ms    INTEGER NOT NULL,
  publisher      INTEGER NOT NULL,
  first_delivery INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL,
  source         TEXT NOT NULL,
  event_id       TEXT NOT NULL,
  routing        BLOB NOT NULL,
  body           BLOB NOT NULL
);
CREATE TABLE deliveries (
  id            INTEGER PRIMARY KEY,
  event_seq     INTEGER NOT NULL,
  destination   INTEGER NOT NULL,
  route         INTEGER NOT NULL,
  state         INTEGER NOT NULL,
  attempts      INTEGER NOT NULL,
  not_before_ms INTEGER NOT NULL,
  siblings      INTEGER NOT NULL,
  last_error    TEXT,
  dead_at_ms    INTEGER
);
CREATE INDEX deliveries_pending ON deliveries (destination, id) WHERE state = 0;
CREATE INDEX deliveries_replayed ON deliveries (event_seq) WHERE siblings = 0;
)sql";

// Owns one connection and its statements; every failure becomes an exception with SQLite's text.
class Connection {
 public:
  explicit Connection(const std::filesystem::path& file) {
    if (sqlite3_open(file.c_str(), &db_) != SQLITE_OK) {
      const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw std::runtime_error("bare sqlite: cannot open " + file.string() + ": " + why);
    }
  }
  ~Connection() {
    for (sqlite3_stmt* statement : statements_) {
      sqlite3_finalize(statement);
    }
    sqlite3_close(db_);
  }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void exec(const std::string& sql) {
    check(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr));
  }

  // OWNERSHIP: the statement stays this connection's; it is finalized with it.
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* statement = nullptr;
    check(sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &statement, nullptr));
    statements_.push_back(statement);
    return statement;
  }

  // Steps a bound INSERT to completion and resets it for the next row.
  void run(sqlite3_stmt* statement) {
    const int rc = sqlite3_step(statement);
    sqlite3_reset(statement);
    if (rc != SQLITE_DONE) {
      check(rc);
    }
  }

  void check(int rc) {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
      throw std::runtime_error(std::string("bare sqlite: ") + sqlite3_errmsg(db_));
    }
  }

 private:
  sqlite3* db_ = nullptr;
  std::vector<sqlite3_stmt*> statements_;
};

}  // namespace

SqliteInsertResult run_sqlite_insert(const SqliteInsertOptions& options) {
  Connection db(options.file);
  // The pragmas the journal's writer sets (schema.cc: create_schema, configure_writer).
  db.exec("PRAGMA auto_vacuum = INCREMENTAL");
  db.exec("PRAGMA journal_mode = WAL");
  db.exec(std::string("PRAGMA synchronous = ") + (options.full_sync ? "FULL" : "NORMAL") +
          "; PRAGMA cache_size = -32768; PRAGMA temp_store = MEMORY;"
          " PRAGMA journal_size_limit = 67108864;");
  db.exec(kSchema);
  sqlite3_stmt* insert_event = db.prepare(
      "INSERT INTO events (seq, received_ms, publisher, first_delivery, delivery_count, source, "
      "event_id, routing, body) VALUES (?1, ?2, 1, ?1, 1, ?3, ?4, x'0101', ?5)");
  sqlite3_stmt* insert_delivery = db.prepare(
      "INSERT INTO deliveries (id, event_seq, destination, route, state, attempts, not_before_ms, "
      "siblings) VALUES (?1, ?1, 1, 1, 0, 0, 0, 1)");

  const auto start = std::chrono::steady_clock::now();
  uint64_t written = 0;
  while (written < options.count) {
    db.exec("BEGIN");
    const int64_t received_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    for (int i = 0; i < options.per_transaction && written < options.count; ++i) {
      const auto seq = static_cast<int64_t>(++written);
      const std::string id = options.id_prefix + std::to_string(seq);
      sqlite3_bind_int64(insert_event, 1, seq);
      sqlite3_bind_int64(insert_event, 2, received_ms);
      sqlite3_bind_text(insert_event, 3, options.source.data(),
                        static_cast<int>(options.source.size()), SQLITE_STATIC);
      sqlite3_bind_text(insert_event, 4, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
      sqlite3_bind_blob(insert_event, 5, options.body.data(), static_cast<int>(options.body.size()),
                        SQLITE_STATIC);
      db.run(insert_event);
      sqlite3_bind_int64(insert_delivery, 1, seq);
      db.run(insert_delivery);
    }
    db.exec("COMMIT");
  }
  SqliteInsertResult result;
  result.events = written;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.events_per_second =
      result.seconds > 0 ? static_cast<double>(written) / result.seconds : 0.0;
  return result;
}

}  // namespace simpang::bench
