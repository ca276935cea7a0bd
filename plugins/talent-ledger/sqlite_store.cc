#include "sqlite_store.h"

#include <sqlite3.h>

#include "ledger_sql.h"

namespace simpang::plugins::talent_ledger {
namespace {

// Not named bind: with a std::string argument, ADL would find std::bind instead.
void bind_value(sqlite3_stmt* st, int index, const Value& v) {
  if (std::holds_alternative<int64_t>(v)) {
    sqlite3_bind_int64(st, index, std::get<int64_t>(v));
  } else if (std::holds_alternative<double>(v)) {
    sqlite3_bind_double(st, index, std::get<double>(v));
  } else if (std::holds_alternative<std::string>(v)) {
    const auto& s = std::get<std::string>(v);
    sqlite3_bind_text(st, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
  } else {
    sqlite3_bind_null(st, index);
  }
}

std::string text(sqlite3_stmt* st, int col) {
  const unsigned char* p = sqlite3_column_text(st, col);
  return p ? std::string(reinterpret_cast<const char*>(p), sqlite3_column_bytes(st, col))
           : std::string();
}

std::optional<int64_t> opt_int(sqlite3_stmt* st, int col) {
  if (sqlite3_column_type(st, col) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(st, col);
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += ",";
    out += s;
  }
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size() && !s.empty()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(s.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace

SqliteLedgerStore::SqliteLedgerStore(sqlite3* db, std::filesystem::path path)
    : db_(db), path_(std::move(path)) {}

SqliteLedgerStore::~SqliteLedgerStore() {
  for (auto& [sql, st] : statements_) {
    sqlite3_finalize(st);
  }
  sqlite3_close_v2(db_);
}

Status SqliteLedgerStore::error(const std::string& what) const {
  return Status::Error("ledger database " + path_.string() + ": " + what + ": " +
                       sqlite3_errmsg(db_));
}

Status SqliteLedgerStore::exec(const std::string& sql) {
  char* message = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    std::string m = message ? message : "unknown error";
    sqlite3_free(message);
    return Status::Error("ledger database " + path_.string() + ": " + m);
  }
  return Status::Ok();
}

sqlite3_stmt* SqliteLedgerStore::prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) {
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return it->second;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    return nullptr;
  }
  statements_.emplace(sql, st);
  return st;
}

StatusOr<std::unique_ptr<SqliteLedgerStore>> SqliteLedgerStore::open(
    const std::filesystem::path& path, SqliteOptions options) {
  sqlite3* db = nullptr;
  const int flags =
      options.read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    std::string m = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Status::Error("ledger database " + path.string() + ": cannot open: " + m);
  }
  std::unique_ptr<SqliteLedgerStore> store(new SqliteLedgerStore(db, path));
  sqlite3_busy_timeout(db, 5000);
  if (!options.read_only) {
    SIMPANG_RETURN_IF_ERROR(store->exec("PRAGMA journal_mode=WAL"));
    SIMPANG_RETURN_IF_ERROR(
        store->exec(options.sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL"));
    SIMPANG_RETURN_IF_ERROR(store->migrate());
  } else {
    auto version = store->schema_version();
    if (!version.ok()) return version.status();
    if (*version != schema_version_known()) {
      return Status::Error(
          "ledger database " + path.string() + " has schema version " + std::to_string(*version) +
          ", this simpang reads version " + std::to_string(schema_version_known()) +
          (*version > schema_version_known() ? ": upgrade simpang"
                                             : ": start the ledger once to migrate it"));
    }
  }
  return store;
}

StatusOr<int> SqliteLedgerStore::schema_version() {
  sqlite3_stmt* st =
      prepare("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='schema_migrations'");
  if (!st || sqlite3_step(st) != SQLITE_ROW) return error("reading the schema");
  const int tables = sqlite3_column_int(st, 0);
  sqlite3_reset(st);
  if (tables == 0) return 0;
  st = prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  if (!st || sqlite3_step(st) != SQLITE_ROW) return error("reading the schema version");
  const int version = sqlite3_column_int(st, 0);
  sqlite3_reset(st);
  return version;
}

Status SqliteLedgerStore::migrate() {
  // IMMEDIATE: two instances opening one file at once migrate one after the other.
  SIMPANG_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  auto done = [this](Status s) {
    if (!s.ok()) (void)exec("ROLLBACK");
    return s;
  };
  Status created = exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
      "applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)");
  if (!created.ok()) return done(created);
  auto version = schema_version();
  if (!version.ok()) return done(version.status());
  if (*version > schema_version_known()) {
    return done(Status::Error(
        "ledger database " + path_.string() + " has schema version " + std::to_string(*version) +
        ", newer than this talent-ledger knows (" + std::to_string(schema_version_known()) +
        "): run a newer talent-ledger, or point `database:` at another file"));
  }
  for (int v = *version; v < schema_version_known(); ++v) {
    Status s = exec(ledger_migrations()[v]);
    if (!s.ok()) {
      return done(Status::Error("migrating to schema version " + std::to_string(v + 1) + ": " +
                                s.message()));
    }
    s = exec("INSERT INTO schema_migrations (version) VALUES (" + std::to_string(v + 1) + ")");
    if (!s.ok()) return done(s);
  }
  return exec("COMMIT");
}

Status SqliteLedgerStore::begin() { return exec("BEGIN IMMEDIATE"); }
Status SqliteLedgerStore::commit() { return exec("COMMIT"); }
Status SqliteLedgerStore::rollback() {
  if (sqlite3_get_autocommit(db_)) return Status::Ok();  // nothing open (e.g. BEGIN failed)
  return exec("ROLLBACK");
}

StatusOr<bool> SqliteLedgerStore::applied(const std::string& source, const std::string& id) {
  sqlite3_stmt* st = prepare("SELECT 1 FROM applied_events WHERE source = ?1 AND id = ?2");
  if (!st) return error("preparing applied_events lookup");
  bind_value(st, 1, source);
  bind_value(st, 2, id);
  const int rc = sqlite3_step(st);
  sqlite3_reset(st);  // ends the read at once: no statement left in progress
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return error("reading applied_events");
}

Status SqliteLedgerStore::mark_applied(const std::string& source, const std::string& id,
                                       const std::string& type, int64_t time_micros) {
  sqlite3_stmt* st =
      prepare("INSERT INTO applied_events (source, id, type, time_micros) VALUES (?1, ?2, ?3, ?4)");
  if (!st) return error("preparing applied_events insert");
  bind_value(st, 1, source);
  bind_value(st, 2, id);
  bind_value(st, 3, type);
  bind_value(st, 4, time_micros);
  if (sqlite3_step(st) != SQLITE_DONE) return error("writing applied_events");
  return Status::Ok();
}

StatusOr<bool> SqliteLedgerStore::upsert(const Row& row) {
  auto sql = upsert_sql(row, [](int n) { return "?" + std::to_string(n); });
  if (!sql.ok()) return sql.status();
  sqlite3_stmt* st = prepare(*sql);
  if (!st) return error("preparing the upsert into " + row.table);
  int i = 0;
  for (const auto& c : row.key) bind_value(st, ++i, c.second);
  for (const auto& c : row.fields) bind_value(st, ++i, c.second);
  bind_value(st, ++i, row.version);
  if (sqlite3_step(st) != SQLITE_DONE) return error("writing " + row.table);
  return sqlite3_changes(db_) > 0;
}

Status SqliteLedgerStore::replace_person_keys(
    const std::string& person_id, const std::vector<std::pair<std::string, std::string>>& keys) {
  sqlite3_stmt* st = prepare("DELETE FROM person_keys WHERE person_id = ?1");
  if (!st) return error("preparing person_keys delete");
  bind_value(st, 1, person_id);
  if (sqlite3_step(st) != SQLITE_DONE) return error("deleting person_keys");
  for (const auto& [rule, value] : keys) {
    st = prepare(
        "INSERT INTO person_keys (person_id, rule, value) VALUES (?1, ?2, ?3) "
        "ON CONFLICT DO NOTHING");
    if (!st) return error("preparing person_keys insert");
    bind_value(st, 1, person_id);
    bind_value(st, 2, rule);
    bind_value(st, 3, value);
    if (sqlite3_step(st) != SQLITE_DONE) return error("writing person_keys");
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> SqliteLedgerStore::persons_with_key(const std::string& rule,
                                                                       const std::string& value) {
  sqlite3_stmt* st = prepare(
      "SELECT DISTINCT person_id FROM person_keys WHERE rule = ?1 AND value = ?2 "
      "ORDER BY person_id");
  if (!st) return error("preparing person_keys lookup");
  bind_value(st, 1, rule);
  bind_value(st, 2, value);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.push_back(text(st, 0));
  if (rc != SQLITE_DONE) return error("reading person_keys");
  return out;
}

Status SqliteLedgerStore::record_link(const Link& l) {
  sqlite3_stmt* st = prepare(
      "INSERT INTO identity_links (person_id, other_id, rule, evidence, event_id, at_micros) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING");
  if (!st) return error("preparing identity_links insert");
  bind_value(st, 1, l.person_id);
  bind_value(st, 2, l.other_id);
  bind_value(st, 3, l.rule);
  bind_value(st, 4, l.evidence);
  bind_value(st, 5, l.event_id);
  bind_value(st, 6, l.at_micros);
  if (sqlite3_step(st) != SQLITE_DONE) return error("writing identity_links");
  return Status::Ok();
}

Status SqliteLedgerStore::record_review(const Review& r) {
  sqlite3_stmt* st = prepare(
      "INSERT INTO identity_reviews (person_id, rule, evidence, candidates, reason, event_id, "
      "at_micros) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (person_id, rule) DO UPDATE SET "
      "evidence = excluded.evidence, candidates = excluded.candidates, reason = excluded.reason, "
      "event_id = excluded.event_id, at_micros = excluded.at_micros");
  if (!st) return error("preparing identity_reviews insert");
  bind_value(st, 1, r.person_id);
  bind_value(st, 2, r.rule);
  bind_value(st, 3, r.evidence);
  bind_value(st, 4, join(r.candidates));
  bind_value(st, 5, r.reason);
  bind_value(st, 6, r.event_id);
  bind_value(st, 7, r.at_micros);
  if (sqlite3_step(st) != SQLITE_DONE) return error("writing identity_reviews");
  return Status::Ok();
}

StatusOr<std::vector<Link>> SqliteLedgerStore::links() {
  sqlite3_stmt* st = prepare(
      "SELECT person_id, other_id, rule, evidence, event_id, at_micros FROM identity_links "
      "ORDER BY person_id, other_id, rule");
  if (!st) return error("preparing identity_links read");
  std::vector<Link> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(Link{text(st, 0), text(st, 1), text(st, 2), text(st, 3), text(st, 4),
                       sqlite3_column_int64(st, 5)});
  }
  if (rc != SQLITE_DONE) return error("reading identity_links");
  return out;
}

StatusOr<std::vector<Link>> SqliteLedgerStore::links_for_event(const std::string& event_id) {
  sqlite3_stmt* st = prepare(
      "SELECT person_id, other_id, rule, evidence, event_id, at_micros FROM identity_links "
      "WHERE event_id = ?1 ORDER BY person_id, other_id, rule");
  if (!st) return error("preparing identity_links read");
  bind_value(st, 1, event_id);
  std::vector<Link> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(Link{text(st, 0), text(st, 1), text(st, 2), text(st, 3), text(st, 4),
                       sqlite3_column_int64(st, 5)});
  }
  if (rc != SQLITE_DONE) return error("reading identity_links");
  return out;
}

StatusOr<std::vector<Review>> SqliteLedgerStore::reviews() {
  sqlite3_stmt* st = prepare(
      "SELECT person_id, rule, evidence, candidates, reason, event_id, at_micros "
      "FROM identity_reviews ORDER BY person_id, rule");
  if (!st) return error("preparing identity_reviews read");
  std::vector<Review> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(Review{text(st, 0), text(st, 1), text(st, 2), split(text(st, 3)), text(st, 4),
                         text(st, 5), sqlite3_column_int64(st, 6)});
  }
  if (rc != SQLITE_DONE) return error("reading identity_reviews");
  return out;
}

StatusOr<std::vector<LearnerFact>> SqliteLedgerStore::learner_facts() {
  sqlite3_stmt* st = prepare(kLearnerFactsSql);
  if (!st) return error("preparing the learner query");
  std::vector<LearnerFact> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    LearnerFact f;
    f.person_id = text(st, 0);
    f.segment = text(st, 1);
    f.registered_at = opt_int(st, 2);
    f.first_enrolled_at = opt_int(st, 3);
    f.first_completed_at = opt_int(st, 4);
    f.first_certified_at = opt_int(st, 5);
    if (sqlite3_column_type(st, 6) != SQLITE_NULL) f.linked_to = text(st, 6);
    f.deactivated_at = opt_int(st, 7);
    out.push_back(std::move(f));
  }
  if (rc != SQLITE_DONE) return error("reading learners");
  return out;
}

StatusOr<std::vector<PartnerFact>> SqliteLedgerStore::partner_facts() {
  sqlite3_stmt* st = prepare(kPartnerFactsSql);
  if (!st) return error("preparing the partner query");
  std::vector<PartnerFact> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(PartnerFact{text(st, 0), text(st, 1), text(st, 2), text(st, 3),
                              static_cast<uint64_t>(sqlite3_column_int64(st, 4)),
                              static_cast<uint64_t>(sqlite3_column_int64(st, 5)), text(st, 6),
                              opt_int(st, 7), opt_int(st, 8)});
  }
  if (rc != SQLITE_DONE) return error("reading partners");
  return out;
}

StatusOr<std::vector<CourseFunnel>> SqliteLedgerStore::course_funnels() {
  sqlite3_stmt* st = prepare(kCourseFunnelsSql);
  if (!st) return error("preparing the course query");
  std::vector<CourseFunnel> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(CourseFunnel{text(st, 0), text(st, 1),
                               static_cast<uint64_t>(sqlite3_column_int64(st, 2)),
                               static_cast<uint64_t>(sqlite3_column_int64(st, 3)),
                               static_cast<uint64_t>(sqlite3_column_int64(st, 4)),
                               static_cast<uint64_t>(sqlite3_column_int64(st, 5))});
  }
  if (rc != SQLITE_DONE) return error("reading courses");
  return out;
}

StatusOr<uint64_t> SqliteLedgerStore::count(const std::string& table) {
  if (!is_identifier(table)) return Status::Error("ledger: bad table " + table);
  sqlite3_stmt* st = prepare("SELECT COUNT(*) FROM " + table);
  if (!st || sqlite3_step(st) != SQLITE_ROW) return error("counting " + table);
  const auto n = static_cast<uint64_t>(sqlite3_column_int64(st, 0));
  sqlite3_reset(st);
  return n;
}

}  // namespace simpang::plugins::talent_ledger
