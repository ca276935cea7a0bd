#include "sqlite_store.h"

#include <sqlite3.h>

#include <set>

namespace simpang::plugins::talent_ledger {
namespace {

// The migrations, in order: migration i takes the schema from version i to i + 1. Only ever
// append; a released migration is never edited. Portable SQL (SQLite and PostgreSQL): BIGINT
// times in microseconds, TEXT ids, upserts by primary key.
const char* const kMigrations[] = {
    // 1: the entities, the applied events, identity.
    R"sql(
CREATE TABLE applied_events (
  source TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, time_micros BIGINT NOT NULL,
  PRIMARY KEY (source, id));
CREATE TABLE organisations (
  organisation_id TEXT PRIMARY KEY, name TEXT, kind TEXT, registry_status TEXT, sector TEXT,
  training_target BIGINT, version BIGINT NOT NULL);
CREATE TABLE courses (
  course_id TEXT PRIMARY KEY, title TEXT, provider_id TEXT, level TEXT, certification BIGINT,
  pass_score DOUBLE PRECISION, hours BIGINT, version BIGINT NOT NULL);
CREATE TABLE persons (
  person_id TEXT PRIMARY KEY, display_name TEXT, email TEXT, segment TEXT, region TEXT,
  registered_at BIGINT, version BIGINT NOT NULL);
CREATE TABLE employments (
  person_id TEXT NOT NULL, organisation_id TEXT NOT NULL, job_title TEXT, active BIGINT,
  start_date BIGINT, end_date BIGINT, version BIGINT NOT NULL,
  PRIMARY KEY (person_id, organisation_id));
CREATE TABLE enrollments (
  enrollment_id TEXT PRIMARY KEY, person_id TEXT, course_id TEXT, enrolled_at BIGINT,
  version BIGINT NOT NULL);
CREATE INDEX enrollments_person ON enrollments (person_id);
CREATE TABLE completions (
  enrollment_id TEXT PRIMARY KEY, person_id TEXT, course_id TEXT, score DOUBLE PRECISION,
  passed BIGINT, certification BIGINT, completed_at BIGINT, version BIGINT NOT NULL);
CREATE INDEX completions_person ON completions (person_id);
CREATE TABLE credentials (
  credential_id TEXT PRIMARY KEY, person_id TEXT, kind TEXT, name TEXT, level TEXT,
  issuer_id TEXT, course_id TEXT, issued_at BIGINT, expires_at BIGINT, version BIGINT NOT NULL);
CREATE INDEX credentials_person ON credentials (person_id);
CREATE TABLE person_keys (
  person_id TEXT NOT NULL, rule TEXT NOT NULL, value TEXT NOT NULL,
  PRIMARY KEY (person_id, rule, value));
CREATE INDEX person_keys_value ON person_keys (rule, value);
CREATE TABLE identity_links (
  person_id TEXT NOT NULL, other_id TEXT NOT NULL, rule TEXT NOT NULL, evidence TEXT,
  event_id TEXT, at_micros BIGINT, PRIMARY KEY (person_id, other_id, rule));
CREATE TABLE identity_reviews (
  person_id TEXT NOT NULL, rule TEXT NOT NULL, evidence TEXT, candidates TEXT, reason TEXT,
  event_id TEXT, at_micros BIGINT, PRIMARY KEY (person_id, rule));
)sql",
};

constexpr int kKnown = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));

// Table and column names come from the apply code, never from events; checked anyway, because
// they are pasted into SQL.
bool is_identifier(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

void bind(sqlite3_stmt* st, int index, const Value& v) {
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

int schema_version_known() { return kKnown; }

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
    if (*version != kKnown) {
      return Status::Error(
          "ledger database " + path.string() + " has schema version " + std::to_string(*version) +
          ", this simpang reads version " + std::to_string(kKnown) +
          (*version > kKnown ? ": upgrade simpang" : ": start the ledger once to migrate it"));
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
  if (*version > kKnown) {
    return done(Status::Error(
        "ledger database " + path_.string() + " has schema version " + std::to_string(*version) +
        ", newer than this talent-ledger knows (" + std::to_string(kKnown) +
        "): run a newer talent-ledger, or point `database:` at another file"));
  }
  for (int v = *version; v < kKnown; ++v) {
    Status s = exec(kMigrations[v]);
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
  bind(st, 1, source);
  bind(st, 2, id);
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
  bind(st, 1, source);
  bind(st, 2, id);
  bind(st, 3, type);
  bind(st, 4, time_micros);
  if (sqlite3_step(st) != SQLITE_DONE) return error("writing applied_events");
  return Status::Ok();
}

StatusOr<bool> SqliteLedgerStore::upsert(const Row& row) {
  if (!is_identifier(row.table) || row.key.empty()) {
    return Status::Error("ledger: bad row for table '" + row.table + "'");
  }
  std::string cols, params, keys, sets;
  int n = 0;
  auto add = [&](const Columns& columns, bool is_key) {
    for (const auto& [name, value] : columns) {
      if (!cols.empty()) {
        cols += ", ";
        params += ", ";
      }
      cols += name;
      params += "?" + std::to_string(++n);
      if (is_key) {
        keys += (keys.empty() ? "" : ", ") + name;
      } else {
        sets += name + " = excluded." + name + ", ";
      }
    }
  };
  add(row.key, true);
  add(row.fields, false);
  for (const auto& c : row.key) {
    if (!is_identifier(c.first)) return Status::Error("ledger: bad column " + c.first);
  }
  for (const auto& c : row.fields) {
    if (!is_identifier(c.first)) return Status::Error("ledger: bad column " + c.first);
  }
  const std::string sql = "INSERT INTO " + row.table + " (" + cols + ", version) VALUES (" +
                          params + ", ?" + std::to_string(n + 1) + ") ON CONFLICT (" + keys +
                          ") DO UPDATE SET " + sets + "version = excluded.version WHERE " +
                          "excluded.version >= " + row.table + ".version";
  sqlite3_stmt* st = prepare(sql);
  if (!st) return error("preparing the upsert into " + row.table);
  int i = 0;
  for (const auto& c : row.key) bind(st, ++i, c.second);
  for (const auto& c : row.fields) bind(st, ++i, c.second);
  bind(st, ++i, row.version);
  if (sqlite3_step(st) != SQLITE_DONE) return error("writing " + row.table);
  return sqlite3_changes(db_) > 0;
}

Status SqliteLedgerStore::replace_person_keys(
    const std::string& person_id, const std::vector<std::pair<std::string, std::string>>& keys) {
  sqlite3_stmt* st = prepare("DELETE FROM person_keys WHERE person_id = ?1");
  if (!st) return error("preparing person_keys delete");
  bind(st, 1, person_id);
  if (sqlite3_step(st) != SQLITE_DONE) return error("deleting person_keys");
  for (const auto& [rule, value] : keys) {
    st = prepare(
        "INSERT INTO person_keys (person_id, rule, value) VALUES (?1, ?2, ?3) "
        "ON CONFLICT DO NOTHING");
    if (!st) return error("preparing person_keys insert");
    bind(st, 1, person_id);
    bind(st, 2, rule);
    bind(st, 3, value);
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
  bind(st, 1, rule);
  bind(st, 2, value);
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
  bind(st, 1, l.person_id);
  bind(st, 2, l.other_id);
  bind(st, 3, l.rule);
  bind(st, 4, l.evidence);
  bind(st, 5, l.event_id);
  bind(st, 6, l.at_micros);
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
  bind(st, 1, r.person_id);
  bind(st, 2, r.rule);
  bind(st, 3, r.evidence);
  bind(st, 4, join(r.candidates));
  bind(st, 5, r.reason);
  bind(st, 6, r.event_id);
  bind(st, 7, r.at_micros);
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
  sqlite3_stmt* st = prepare(R"sql(
SELECT p.person_id, COALESCE(p.segment, 'unspecified'), p.registered_at,
  (SELECT MIN(e.enrolled_at) FROM enrollments e WHERE e.person_id = p.person_id),
  (SELECT MIN(c.completed_at) FROM completions c WHERE c.person_id = p.person_id AND c.passed = 1),
  (SELECT MIN(r.issued_at) FROM credentials r
     WHERE r.person_id = p.person_id AND r.kind = 'certification'),
  (SELECT MIN(l.other_id) FROM identity_links l WHERE l.person_id = p.person_id)
FROM persons p ORDER BY p.person_id)sql");
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
    out.push_back(std::move(f));
  }
  if (rc != SQLITE_DONE) return error("reading learners");
  return out;
}

StatusOr<std::vector<PartnerFact>> SqliteLedgerStore::partner_facts() {
  sqlite3_stmt* st = prepare(R"sql(
SELECT o.organisation_id, COALESCE(o.name, ''), COALESCE(o.kind, ''),
  COALESCE(o.registry_status, ''), COALESCE(o.training_target, 0),
  (SELECT COUNT(DISTINCT m.person_id) FROM employments m
     WHERE m.organisation_id = o.organisation_id AND m.active = 1)
FROM organisations o ORDER BY o.organisation_id)sql");
  if (!st) return error("preparing the partner query");
  std::vector<PartnerFact> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(PartnerFact{text(st, 0), text(st, 1), text(st, 2), text(st, 3),
                              static_cast<uint64_t>(sqlite3_column_int64(st, 4)),
                              static_cast<uint64_t>(sqlite3_column_int64(st, 5))});
  }
  if (rc != SQLITE_DONE) return error("reading partners");
  return out;
}

StatusOr<std::vector<CourseFunnel>> SqliteLedgerStore::course_funnels() {
  // Every course any row names, published or not yet (its title is then empty).
  sqlite3_stmt* st = prepare(R"sql(
WITH ids AS (SELECT course_id FROM courses UNION SELECT course_id FROM enrollments
             UNION SELECT course_id FROM completions)
SELECT ids.course_id, COALESCE((SELECT title FROM courses c WHERE c.course_id = ids.course_id), ''),
  (SELECT COUNT(*) FROM enrollments e WHERE e.course_id = ids.course_id),
  (SELECT COUNT(*) FROM completions c WHERE c.course_id = ids.course_id),
  (SELECT COUNT(*) FROM completions c WHERE c.course_id = ids.course_id AND c.passed = 1),
  (SELECT COUNT(*) FROM credentials r WHERE r.course_id = ids.course_id
     AND r.kind = 'certification')
FROM ids WHERE ids.course_id IS NOT NULL ORDER BY ids.course_id)sql");
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
