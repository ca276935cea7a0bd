#include "pg_store.h"

#include <libpq-fe.h>

#include <cstdio>

namespace simpang::plugins::talent_ledger {

// Owns one PGresult.
class PgLedgerStore::Result {
 public:
  explicit Result(PGresult* r) : r_(r) {}
  Result(Result&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  Result& operator=(Result&&) = delete;
  ~Result() { PQclear(r_); }
  int rows() const { return PQntuples(r_); }
  bool null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string text(int row, int col) const { return PQgetvalue(r_, row, col); }
  int64_t integer(int row, int col) const {
    return null(row, col) ? 0 : std::stoll(PQgetvalue(r_, row, col));
  }
  std::optional<int64_t> opt_integer(int row, int col) const {
    if (null(row, col)) return std::nullopt;
    return integer(row, col);
  }
  uint64_t affected() const {
    const char* n = PQcmdTuples(r_);
    return (n && *n) ? std::stoull(n) : 0;
  }

 private:
  PGresult* r_;
};

namespace {

std::string as_text(const Value& v, bool& is_null) {
  is_null = false;
  if (std::holds_alternative<int64_t>(v)) return std::to_string(std::get<int64_t>(v));
  if (std::holds_alternative<double>(v)) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", std::get<double>(v));
    return buf;
  }
  if (std::holds_alternative<std::string>(v)) return std::get<std::string>(v);
  is_null = true;
  return {};
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t comma = s.find(',', start);
    out.push_back(s.substr(start, comma == std::string::npos ? comma : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string dollar(int n) { return "$" + std::to_string(n); }

// A lock id of the ledger's own, so two openers of one database migrate one after the other.
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7316823401)";

}  // namespace

PgLedgerStore::PgLedgerStore(pg_conn* conn, std::string where)
    : conn_(conn), where_(std::move(where)) {}

PgLedgerStore::~PgLedgerStore() { PQfinish(conn_); }

StatusOr<std::unique_ptr<PgLedgerStore>> PgLedgerStore::open(const std::string& dsn,
                                                             PgOptions options) {
  PGconn* conn = PQconnectdb(dsn.c_str());
  if (conn == nullptr) return Status::Error("PostgreSQL: out of memory connecting");
  const std::string where = std::string("PostgreSQL at ") + (PQhost(conn) ? PQhost(conn) : "?") +
                            ":" + (PQport(conn) ? PQport(conn) : "?") + "/" +
                            (PQdb(conn) ? PQdb(conn) : "?");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string m = PQerrorMessage(conn);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    PQfinish(conn);
    return Status::Error("ledger database " + where + ": cannot connect: " + m);
  }
  std::unique_ptr<PgLedgerStore> store(new PgLedgerStore(conn, where));
  if (auto r = store->run("SET client_min_messages = warning", {}, "setting up"); !r.ok()) {
    return r.status();
  }
  if (options.read_only) {
    if (auto r = store->run("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", {},
                            "setting read-only");
        !r.ok()) {
      return r.status();
    }
    auto version = store->schema_version();
    if (!version.ok()) return version.status();
    if (*version != schema_version_known()) {
      return Status::Error(
          "ledger database " + where + " has schema version " + std::to_string(*version) +
          ", this simpang reads version " + std::to_string(schema_version_known()) +
          (*version > schema_version_known() ? ": upgrade simpang"
                                             : ": start the ledger once to migrate it"));
    }
    return store;
  }
  SIMPANG_RETURN_IF_ERROR(store->migrate());
  return store;
}

StatusOr<PgLedgerStore::Result> PgLedgerStore::run(const std::string& sql,
                                                   const std::vector<Value>& params,
                                                   const std::string& what) {
  std::vector<std::string> texts(params.size());
  std::vector<const char*> values(params.size());
  for (size_t i = 0; i < params.size(); ++i) {
    bool is_null = false;
    texts[i] = as_text(params[i], is_null);
    values[i] = is_null ? nullptr : texts[i].c_str();
  }
  PGresult* r = params.empty() ? PQexec(conn_, sql.c_str())
                               : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()),
                                              nullptr, values.data(), nullptr, nullptr, 0);
  Result result(r);
  const ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    std::string m = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return Status::Error("ledger database " + where_ + ": " + what + ": " + m);
  }
  return result;
}

StatusOr<int> PgLedgerStore::schema_version() {
  auto exists =
      run("SELECT to_regclass('schema_migrations') IS NOT NULL", {}, "reading the schema");
  if (!exists.ok()) return exists.status();
  if (exists->text(0, 0) != "t") return 0;
  auto v = run("SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {},
               "reading the schema version");
  if (!v.ok()) return v.status();
  return static_cast<int>(v->integer(0, 0));
}

Status PgLedgerStore::migrate() {
  SIMPANG_RETURN_IF_ERROR(begin());
  auto step = [this](const std::string& sql, const std::string& what) -> Status {
    auto r = run(sql, {}, what);
    return r.ok() ? Status::Ok() : r.status();
  };
  auto fail = [this](Status s) {
    (void)rollback();
    return s;
  };
  if (Status s = step(kMigrationLock, "locking for migrations"); !s.ok()) return fail(s);
  if (Status s = step("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                      "KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                      "creating schema_migrations");
      !s.ok()) {
    return fail(s);
  }
  auto version = schema_version();
  if (!version.ok()) return fail(version.status());
  if (*version > schema_version_known()) {
    return fail(Status::Error(
        "ledger database " + where_ + " has schema version " + std::to_string(*version) +
        ", newer than this talent-ledger knows (" + std::to_string(schema_version_known()) +
        "): run a newer talent-ledger, or point `database:` at another database"));
  }
  for (int v = *version; v < schema_version_known(); ++v) {
    if (Status s =
            step(ledger_migrations()[v], "migrating to schema version " + std::to_string(v + 1));
        !s.ok()) {
      return fail(s);
    }
    if (Status s =
            step("INSERT INTO schema_migrations (version) VALUES (" + std::to_string(v + 1) + ")",
                 "recording the migration");
        !s.ok()) {
      return fail(s);
    }
  }
  return commit();
}

Status PgLedgerStore::begin() {
  // A lost connection (the server restarted) is tried again here, so the hub's retry of the event
  // that failed finds it back; until then every event is retry_later.
  if (PQstatus(conn_) == CONNECTION_BAD) {
    PQreset(conn_);
    if (PQstatus(conn_) != CONNECTION_OK) {
      return Status::Error("ledger database " + where_ + ": connection lost, reconnecting failed");
    }
  }
  auto r = run("BEGIN", {}, "beginning a transaction");
  return r.ok() ? Status::Ok() : r.status();
}

Status PgLedgerStore::commit() {
  auto r = run("COMMIT", {}, "committing");
  return r.ok() ? Status::Ok() : r.status();
}

Status PgLedgerStore::rollback() {
  if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return Status::Ok();
  auto r = run("ROLLBACK", {}, "rolling back");
  return r.ok() ? Status::Ok() : r.status();
}

StatusOr<bool> PgLedgerStore::applied(const std::string& source, const std::string& id) {
  auto r = run("SELECT 1 FROM applied_events WHERE source = $1 AND id = $2", {source, id},
               "reading applied_events");
  if (!r.ok()) return r.status();
  return r->rows() > 0;
}

Status PgLedgerStore::mark_applied(const std::string& source, const std::string& id,
                                   const std::string& type, int64_t time_micros) {
  auto r = run("INSERT INTO applied_events (source, id, type, time_micros) VALUES ($1, $2, $3, $4)",
               {source, id, type, time_micros}, "writing applied_events");
  return r.ok() ? Status::Ok() : r.status();
}

StatusOr<bool> PgLedgerStore::upsert(const Row& row) {
  auto sql = upsert_sql(row, dollar);
  if (!sql.ok()) return sql.status();
  std::vector<Value> params;
  for (const auto& c : row.key) params.push_back(c.second);
  for (const auto& c : row.fields) params.push_back(c.second);
  params.emplace_back(row.version);
  auto r = run(*sql, params, "writing " + row.table);
  if (!r.ok()) return r.status();
  return r->affected() > 0;
}

Status PgLedgerStore::replace_person_keys(
    const std::string& person_id, const std::vector<std::pair<std::string, std::string>>& keys) {
  auto r = run("DELETE FROM person_keys WHERE person_id = $1", {person_id}, "deleting person_keys");
  if (!r.ok()) return r.status();
  for (const auto& [rule, value] : keys) {
    auto w =
        run("INSERT INTO person_keys (person_id, rule, value) VALUES ($1, $2, $3) "
            "ON CONFLICT DO NOTHING",
            {person_id, rule, value}, "writing person_keys");
    if (!w.ok()) return w.status();
  }
  return Status::Ok();
}

StatusOr<std::vector<std::string>> PgLedgerStore::persons_with_key(const std::string& rule,
                                                                   const std::string& value) {
  auto r =
      run("SELECT DISTINCT person_id FROM person_keys WHERE rule = $1 AND value = $2 "
          "ORDER BY person_id",
          {rule, value}, "reading person_keys");
  if (!r.ok()) return r.status();
  std::vector<std::string> out;
  for (int i = 0; i < r->rows(); ++i) out.push_back(r->text(i, 0));
  return out;
}

Status PgLedgerStore::record_link(const Link& l) {
  auto r =
      run("INSERT INTO identity_links (person_id, other_id, rule, evidence, event_id, at_micros) "
          "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
          {l.person_id, l.other_id, l.rule, l.evidence, l.event_id, l.at_micros},
          "writing identity_links");
  return r.ok() ? Status::Ok() : r.status();
}

Status PgLedgerStore::record_review(const Review& v) {
  auto r =
      run("INSERT INTO identity_reviews (person_id, rule, evidence, candidates, reason, event_id, "
          "at_micros) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (person_id, rule) DO UPDATE "
          "SET evidence = excluded.evidence, candidates = excluded.candidates, "
          "reason = excluded.reason, event_id = excluded.event_id, at_micros = excluded.at_micros",
          {v.person_id, v.rule, v.evidence, join(v.candidates), v.reason, v.event_id, v.at_micros},
          "writing identity_reviews");
  return r.ok() ? Status::Ok() : r.status();
}

StatusOr<std::vector<Link>> PgLedgerStore::links() {
  auto r =
      run("SELECT person_id, other_id, rule, evidence, event_id, at_micros FROM identity_links "
          "ORDER BY person_id, other_id, rule",
          {}, "reading identity_links");
  if (!r.ok()) return r.status();
  std::vector<Link> out;
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back(Link{r->text(i, 0), r->text(i, 1), r->text(i, 2), r->text(i, 3), r->text(i, 4),
                       r->integer(i, 5)});
  }
  return out;
}

StatusOr<std::vector<Link>> PgLedgerStore::links_for_event(const std::string& event_id) {
  auto r =
      run("SELECT person_id, other_id, rule, evidence, event_id, at_micros FROM identity_links "
          "WHERE event_id = $1 ORDER BY person_id, other_id, rule",
          {event_id}, "reading identity_links");
  if (!r.ok()) return r.status();
  std::vector<Link> out;
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back(Link{r->text(i, 0), r->text(i, 1), r->text(i, 2), r->text(i, 3), r->text(i, 4),
                       r->integer(i, 5)});
  }
  return out;
}

StatusOr<std::vector<Review>> PgLedgerStore::reviews() {
  auto r =
      run("SELECT person_id, rule, evidence, candidates, reason, event_id, at_micros "
          "FROM identity_reviews ORDER BY person_id, rule",
          {}, "reading identity_reviews");
  if (!r.ok()) return r.status();
  std::vector<Review> out;
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back(Review{r->text(i, 0), r->text(i, 1), r->text(i, 2), split(r->text(i, 3)),
                         r->text(i, 4), r->text(i, 5), r->integer(i, 6)});
  }
  return out;
}

StatusOr<std::vector<LearnerFact>> PgLedgerStore::learner_facts() {
  auto r = run(kLearnerFactsSql, {}, "reading learners");
  if (!r.ok()) return r.status();
  std::vector<LearnerFact> out;
  for (int i = 0; i < r->rows(); ++i) {
    LearnerFact f;
    f.person_id = r->text(i, 0);
    f.segment = r->text(i, 1);
    f.registered_at = r->opt_integer(i, 2);
    f.first_enrolled_at = r->opt_integer(i, 3);
    f.first_completed_at = r->opt_integer(i, 4);
    f.first_certified_at = r->opt_integer(i, 5);
    if (!r->null(i, 6)) f.linked_to = r->text(i, 6);
    f.deactivated_at = r->opt_integer(i, 7);
    out.push_back(std::move(f));
  }
  return out;
}

StatusOr<std::vector<PartnerFact>> PgLedgerStore::partner_facts() {
  auto r = run(kPartnerFactsSql, {}, "reading partners");
  if (!r.ok()) return r.status();
  std::vector<PartnerFact> out;
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back(PartnerFact{r->text(i, 0), r->text(i, 1), r->text(i, 2), r->text(i, 3),
                              static_cast<uint64_t>(r->integer(i, 4)),
                              static_cast<uint64_t>(r->integer(i, 5)), r->text(i, 6),
                              r->opt_integer(i, 7), r->opt_integer(i, 8)});
  }
  return out;
}

StatusOr<std::vector<CourseFunnel>> PgLedgerStore::course_funnels() {
  auto r = run(kCourseFunnelsSql, {}, "reading courses");
  if (!r.ok()) return r.status();
  std::vector<CourseFunnel> out;
  for (int i = 0; i < r->rows(); ++i) {
    out.push_back(CourseFunnel{
        r->text(i, 0), r->text(i, 1), static_cast<uint64_t>(r->integer(i, 2)),
        static_cast<uint64_t>(r->integer(i, 3)), static_cast<uint64_t>(r->integer(i, 4)),
        static_cast<uint64_t>(r->integer(i, 5))});
  }
  return out;
}

StatusOr<uint64_t> PgLedgerStore::count(const std::string& table) {
  if (!is_identifier(table)) return Status::Error("ledger: bad table " + table);
  auto r = run("SELECT COUNT(*) FROM " + table, {}, "counting " + table);
  if (!r.ok()) return r.status();
  return static_cast<uint64_t>(r->integer(0, 0));
}

}  // namespace simpang::plugins::talent_ledger
