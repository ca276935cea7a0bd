// The journal's schema, its creation and the checks run when a file is opened; see schema.h.
#include "journal/sqlite/schema.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <system_error>

#include "simpang/v1/event.pb.h"

namespace simpang::hub::journal_internal {
namespace {

// Version 1. Column order puts the small columns first so reading them never touches a large
// body's overflow pages. No FOREIGN KEY clauses: enforcing them costs every insert and delete, and
// the writer is the only code that writes these tables.
constexpr std::string_view kSchemaSql = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value ANY
) WITHOUT ROWID;

-- Destination, route and instance names, so rows keep their meaning when the configuration changes
-- (a run's indices are mapped to these ids when the journal opens).
CREATE TABLE names (
  id   INTEGER PRIMARY KEY,
  kind INTEGER NOT NULL,  -- 1 destination, 2 route, 3 instance
  name TEXT NOT NULL,
  UNIQUE (kind, name)
);

-- Every accepted event. seq is assigned by the writer, never reused (meta.next_event_seq).
CREATE TABLE events (
  seq            INTEGER PRIMARY KEY,
  received_ms    INTEGER NOT NULL,  -- when the hub accepted it, ms since the Unix epoch
  publisher      INTEGER NOT NULL,  -- names.id of the publishing instance
  first_delivery INTEGER NOT NULL,  -- its deliveries were given ids first_delivery ...
  delivery_count INTEGER NOT NULL,  -- ... first_delivery + delivery_count - 1 when appended
  source         TEXT NOT NULL,     -- CloudEvents source
  event_id       TEXT NOT NULL,     -- CloudEvents id
  routing        BLOB NOT NULL,     -- varint pairs (destination names.id, route names.id)
  body           BLOB NOT NULL      -- the serialized simpang.v1.Event
);
-- No index on (source, event_id): de-duplication looks in memory (dedup_window.h), because a
-- random-order index costs every append a page write.

-- One row per (event, destination) not yet acknowledged. id is assigned by the writer, increasing,
-- never reused (meta.next_delivery_id); a replayed row gets a new, larger id.
CREATE TABLE deliveries (
  id            INTEGER PRIMARY KEY,
  event_seq     INTEGER NOT NULL,
  destination   INTEGER NOT NULL,  -- names.id
  route         INTEGER NOT NULL,  -- names.id
  state         INTEGER NOT NULL,  -- 0 pending, 1 dead (the dead-letter queue)
  attempts      INTEGER NOT NULL,
  not_before_ms INTEGER NOT NULL,  -- earliest next attempt
  siblings      INTEGER NOT NULL,  -- the event's delivery_count; 0 for a row added by a replay
  last_error    TEXT,
  dead_at_ms    INTEGER
);
-- load_pending pages through one destination's pending rows in id order; dead rows stay out.
CREATE INDEX deliveries_pending ON deliveries (destination, id) WHERE state = 0;
-- "Does this event still have rows" needs no index on event_seq: an event's own rows have the ids
-- events.first_delivery onwards. Only rows added by replays are elsewhere, and only they are in
-- this index (see store.h, EventRows).
CREATE INDEX deliveries_replayed ON deliveries (event_seq) WHERE siblings = 0;

-- Connector cursors, written in the transaction of the events they produced.
CREATE TABLE cursors (
  instance   TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      BLOB NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (instance, key)
) WITHOUT ROWID;

-- Replay requests from `simpang dlq replay` / `simpang replay`, carried out by the process that
-- holds FILE.lock (the running hub's writer, or the command itself when no hub runs).
CREATE TABLE requests (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  kind        TEXT NOT NULL,                   -- 'replay_dead' or 'replay_history'
  created_ms  INTEGER NOT NULL,
  delivery_id INTEGER,                         -- replay_dead filter
  destination TEXT,                            -- replay_dead filter; replay_history target
  route       TEXT,                            -- replay_dead filter
  event_type  TEXT,                            -- replay_dead filter
  since_ms    INTEGER,                         -- replay_history
  from_seq    INTEGER,                         -- replay_history
  state       TEXT NOT NULL DEFAULT 'queued',  -- 'queued', 'done' or 'failed'
  done_ms     INTEGER,
  done_by     TEXT,                            -- 'hub' or 'admin'
  count       INTEGER,
  error       TEXT
);
CREATE INDEX requests_queued ON requests (id) WHERE state = 'queued';
)sql";

uint32_t read_be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

bool read_varint(std::string_view& in, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 64 && !in.empty(); shift += 7) {
    const auto byte = static_cast<uint8_t>(in.front());
    in.remove_prefix(1);
    value |= uint64_t{byte & 0x7fu} << shift;
    if ((byte & 0x80u) == 0) {
      return true;
    }
  }
  return false;
}

// simpang_event_type(body): the CloudEvents type of a serialized event, for dead-letter filters.
void sql_event_type(sqlite3_context* context, int argc, sqlite3_value** argv) {
  const void* data = sqlite3_value_blob(argv[0]);
  const int size = sqlite3_value_bytes(argv[0]);
  simpang::v1::Event event;
  if (data == nullptr || !event.ParseFromArray(data, size)) {
    sqlite3_result_null(context);
    return;
  }
  sqlite3_result_text(context, event.type().data(), static_cast<int>(event.type().size()),
                      SQLITE_TRANSIENT);
}

// simpang_route_for(routing, destination): the route names.id that routed the event to
// `destination`, or NULL when it was not routed there.
void sql_route_for(sqlite3_context* context, int argc, sqlite3_value** argv) {
  const void* data = sqlite3_value_blob(argv[0]);
  std::string_view routing(static_cast<const char*>(data),
                           data == nullptr ? 0 : static_cast<size_t>(sqlite3_value_bytes(argv[0])));
  const auto destination = static_cast<uint64_t>(sqlite3_value_int64(argv[1]));
  uint64_t dest = 0;
  uint64_t route = 0;
  while (read_varint(routing, dest) && read_varint(routing, route)) {
    if (dest == destination) {
      sqlite3_result_int64(context, static_cast<int64_t>(route));
      return;
    }
  }
  sqlite3_result_null(context);
}

Status refuse_damaged(const Db& db, std::string_view what) {
  return Status::Error(damaged_message(db.path(), what));
}

// The first lines quick_check reports, joined; "ok" when the file is sound.
StatusOr<std::string> quick_check(Db& db) {
  Stmt check(db, "PRAGMA quick_check(5)");
  std::string report;
  SIMPANG_RETURN_IF_ERROR(check.for_each_row([&](const Stmt& row) {
    if (!report.empty()) {
      report += "; ";
    }
    report += row.column_text(0);
  }));
  return report;
}

Status create_schema(Db& db) {
  // auto_vacuum must be chosen before the first table exists. INCREMENTAL lets the writer hand
  // pages freed by a large prune back to the file system a slice at a time, without the full
  // rewrite a VACUUM needs (see docs/journal.md).
  SIMPANG_RETURN_IF_ERROR(db.exec("PRAGMA auto_vacuum = INCREMENTAL"));
  SIMPANG_RETURN_IF_ERROR(db.exec("PRAGMA journal_mode = WAL"));
  Transaction transaction(db);
  SIMPANG_RETURN_IF_ERROR(transaction.begin());
  SIMPANG_RETURN_IF_ERROR(db.exec(kSchemaSql));
  Stmt meta(db, "INSERT INTO meta(key, value) VALUES (?1, ?2)");
  SIMPANG_RETURN_IF_ERROR(meta.bind_text(1, "application").bind_text(2, kApplicationName).run());
  SIMPANG_RETURN_IF_ERROR(meta.bind_text(1, "schema_version").bind(2, kSchemaVersion).run());
  SIMPANG_RETURN_IF_ERROR(
      meta.bind_text(1, "created_ms").bind(2, to_ms(std::chrono::system_clock::now())).run());
  SIMPANG_RETURN_IF_ERROR(meta.bind_text(1, "next_event_seq").bind(2, int64_t{1}).run());
  SIMPANG_RETURN_IF_ERROR(meta.bind_text(1, "next_delivery_id").bind(2, int64_t{1}).run());
  SIMPANG_RETURN_IF_ERROR(meta.bind_text(1, "pending_events").bind(2, int64_t{0}).run());
  SIMPANG_RETURN_IF_ERROR(db.exec("PRAGMA application_id = " + std::to_string(kApplicationId) +
                                  "; PRAGMA user_version = " + std::to_string(kSchemaVersion)));
  return transaction.commit();
}

}  // namespace

std::string damaged_message(const std::filesystem::path& file, std::string_view what) {
  const std::string name = file.string();
  return "journal " + name + ": " + std::string(what) +
         ". The hub will not start on a damaged journal, because starting empty would silently "
         "lose the events it holds. To recover: stop the hub, move the file and its -wal and -shm "
         "files aside (" +
         name + " to " + name + ".damaged, " + name + "-wal to " + name +
         ".damaged-wal), salvage what is readable into a new journal with `sqlite3 " + name +
         ".damaged .recover | sqlite3 " + name +
         "` (docs/journal.md has a `.dump` recipe for shells without `.recover`), or start with an "
         "empty journal knowing undelivered events are lost.";
}

Status precheck_file(const std::filesystem::path& file) {
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (ec || status.type() == std::filesystem::file_type::not_found) {
    return Status::Ok();  // created by the first open
  }
  if (status.type() != std::filesystem::file_type::regular) {
    return Status::Error("journal " + file.string() + ": not a regular file");
  }
  const uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) {
    return Status::Error("journal " + file.string() + ": cannot read its size: " + ec.message());
  }
  if (size == 0) {
    return Status::Ok();  // SQLite's own new-database state (a crash right after creating it)
  }
  std::ifstream in(file, std::ios::binary);
  unsigned char header[100] = {};
  in.read(reinterpret_cast<char*>(header), sizeof header);
  const std::streamsize got = in.gcount();
  if (got < 16 || std::memcmp(header, "SQLite format 3", 16) != 0) {
    return Status::Error(damaged_message(
        file, "is not a SQLite database (its first bytes are not the SQLite file header)"));
  }
  if (got < static_cast<std::streamsize>(sizeof header)) {
    return Status::Error(damaged_message(
        file, "is truncated: it is " + std::to_string(size) + " bytes, shorter than the header"));
  }
  uint32_t page_size = (uint32_t{header[16]} << 8) | header[17];
  if (page_size == 1) {
    page_size = 65536;
  }
  if (page_size < 512 || (page_size & (page_size - 1)) != 0) {
    return Status::Error(damaged_message(
        file, "has a damaged header (page size " + std::to_string(page_size) + ")"));
  }
  // The header's page count is valid when the change counter matches version-valid-for (SQLite
  // keeps both in WAL mode too). A file shorter than that lost its tail. When a -wal file has
  // content, the database file may legitimately lag until the WAL is checkpointed: leave that to
  // quick_check.
  const uint32_t change_counter = read_be32(header + 24);
  const uint32_t pages = read_be32(header + 28);
  const uint32_t valid_for = read_be32(header + 92);
  auto wal = file;
  wal += "-wal";
  const uintmax_t wal_size = std::filesystem::file_size(wal, ec);
  const bool wal_has_frames = !ec && wal_size > 32;
  if (size % page_size != 0 && !wal_has_frames) {
    return Status::Error(damaged_message(file, "is truncated: it is " + std::to_string(size) +
                                                   " bytes, not a whole number of " +
                                                   std::to_string(page_size) + "-byte pages"));
  }
  if (pages != 0 && change_counter == valid_for && !wal_has_frames &&
      size < uintmax_t{pages} * page_size) {
    return Status::Error(damaged_message(
        file, "is truncated: it is " + std::to_string(size) + " bytes, but its header says " +
                  std::to_string(pages) + " pages of " + std::to_string(page_size) + " bytes (" +
                  std::to_string(uintmax_t{pages} * page_size) + " bytes)"));
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<Db>> open_connection(const std::filesystem::path& file, bool create) {
  auto db = Db::open(file, SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0));
  if (!db.ok()) {
    return db.status();
  }
  sqlite3* handle = (*db)->handle();
  // Another connection's transaction (the hub's writer, an admin command) is short: wait for it.
  sqlite3_busy_timeout(handle, 5000);
  constexpr int kFlags = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
  if (sqlite3_create_function_v2(handle, "simpang_event_type", 1, kFlags, nullptr, &sql_event_type,
                                 nullptr, nullptr, nullptr) != SQLITE_OK ||
      sqlite3_create_function_v2(handle, "simpang_route_for", 2, kFlags, nullptr, &sql_route_for,
                                 nullptr, nullptr, nullptr) != SQLITE_OK) {
    return (*db)->error("registering SQL functions");
  }
  return db;
}

Status prepare_schema(Db& db, bool create, bool verify) {
  const std::string name = db.path().string();
  // The first read of page 1: a file SQLite cannot parse fails here.
  auto application_id = db.query_int("PRAGMA application_id");
  if (!application_id.ok()) {
    return refuse_damaged(db, "cannot be read as a SQLite database (" +
                                  std::string(sqlite3_errmsg(db.handle())) + ")");
  }
  auto tables = db.query_int("SELECT count(*) FROM sqlite_schema");
  if (!tables.ok()) {
    return refuse_damaged(
        db, "its schema cannot be read (" + std::string(sqlite3_errmsg(db.handle())) + ")");
  }
  if (*application_id == 0 && *tables == 0) {
    if (!create) {
      return Status::Error("journal " + name + ": is empty, not a journal (no hub has run on it)");
    }
    return create_schema(db);
  }

  if (*application_id != kApplicationId) {
    // A file salvaged with `.recover` keeps the meta table but not the application id.
    bool salvaged = false;
    if (*application_id == 0) {
      Stmt meta(db, "SELECT value FROM meta WHERE key = 'application'");
      auto row = meta.step();
      salvaged = row.ok() && *row && meta.column_text(0) == kApplicationName;
    }
    if (!salvaged) {
      char hex[16];
      std::snprintf(hex, sizeof hex, "0x%08x", static_cast<uint32_t>(*application_id));
      return Status::Error(
          "journal " + name + ": is a SQLite database of another application (application_id " +
          hex +
          "), not a Simpang journal. The hub will not write into another program's "
          "database: check journal.file in the configuration, or move this file away.");
    }
    SIMPANG_RETURN_IF_ERROR(db.exec("PRAGMA application_id = " + std::to_string(kApplicationId)));
  }

  auto meta_version = db.query_int("SELECT value FROM meta WHERE key = 'schema_version'");
  if (!meta_version.ok()) {
    return refuse_damaged(db, "has no readable schema version in its meta table (" +
                                  meta_version.status().message() + ")");
  }
  auto user_version = db.query_int("PRAGMA user_version");
  if (!user_version.ok()) {
    return refuse_damaged(db, "its header cannot be read");
  }
  if (*user_version == 0 && *application_id == 0) {
    // Salvaged: the meta table is the authority.
    SIMPANG_RETURN_IF_ERROR(db.exec("PRAGMA user_version = " + std::to_string(*meta_version)));
    user_version = *meta_version;
  }
  if (*meta_version > kSchemaVersion || *user_version > kSchemaVersion) {
    return Status::Error("journal " + name + ": has schema version " +
                         std::to_string(std::max(*meta_version, *user_version)) +
                         ", written by a newer Simpang; this build reads version " +
                         std::to_string(kSchemaVersion) +
                         ". Run the Simpang version that wrote it (its events are still there), "
                         "or move the file aside to start empty knowing undelivered events are "
                         "lost.");
  }
  if (*meta_version != kSchemaVersion || *user_version != kSchemaVersion) {
    return refuse_damaged(db, "has an unknown schema version (header " +
                                  std::to_string(*user_version) + ", meta table " +
                                  std::to_string(*meta_version) + "; this build knows " +
                                  std::to_string(kSchemaVersion) + ")");
  }

  if (verify) {
    auto report = quick_check(db);
    if (!report.ok()) {
      return refuse_damaged(db, "failed its integrity check (PRAGMA quick_check could not run: " +
                                    std::string(sqlite3_errmsg(db.handle())) + ")");
    }
    if (*report != "ok") {
      return refuse_damaged(db, "failed its integrity check (PRAGMA quick_check: " + *report + ")");
    }
  }
  return Status::Ok();
}

Status configure_writer(Db& db, JournalSync sync) {
  auto mode = Stmt(db, "PRAGMA journal_mode = WAL");
  auto row = mode.step();
  if (!row.ok()) {
    return row.status();
  }
  if (!*row || mode.column_text(0) != "wal") {
    return Status::Error("journal " + db.path().string() +
                         ": cannot switch to WAL mode (the file system may not support the shared "
                         "memory WAL needs; put the journal on a local disk)");
  }
  mode.reset();
  sqlite3_busy_timeout(db.handle(), 60000);
  return db.exec(std::string("PRAGMA synchronous = ") +
                 (sync == JournalSync::kFull ? "FULL" : "NORMAL") +
                 ";"
                 // The writer's working set: the tails of the tables and indexes it appends to.
                 "PRAGMA cache_size = -32768;"
                 "PRAGMA temp_store = MEMORY;"
                 // After a checkpoint, truncate a WAL that a burst made large.
                 "PRAGMA journal_size_limit = 67108864;");
}

uint64_t dedup_key(std::string_view source, std::string_view id) {
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&hash](std::string_view bytes) {
    for (const char c : bytes) {
      hash ^= static_cast<uint8_t>(c);
      hash *= 1099511628211ull;
    }
  };
  mix(source);
  hash ^= 0xffu;  // a separator no UTF-8 text contains, so ("ab","c") != ("a","bc")
  hash *= 1099511628211ull;
  mix(id);
  return hash;
}

void append_routing(std::string& out, int64_t destination_id, int64_t route_id) {
  for (uint64_t value : {static_cast<uint64_t>(destination_id), static_cast<uint64_t>(route_id)}) {
    while (value >= 0x80) {
      out.push_back(static_cast<char>((value & 0x7f) | 0x80));
      value >>= 7;
    }
    out.push_back(static_cast<char>(value));
  }
}

int64_t to_ms(std::chrono::system_clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(time.time_since_epoch()).count();
}

std::chrono::system_clock::time_point from_ms(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace simpang::hub::journal_internal
