#include "ledger_sql.h"

namespace simpang::plugins::talent_ledger {
namespace {

// The migrations, in order: migration i takes the schema from version i to i + 1. Only ever
// append; a released migration is never edited. Portable SQL (SQLite and PostgreSQL): BIGINT
// times in microseconds, TEXT ids, upserts by primary key.
const std::vector<std::string> kMigrations = {
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
    // 2: HR and registry connectors: deactivated people, departments and managers, partners'
    // certification and deregistration.
    R"sql(
ALTER TABLE persons ADD COLUMN deactivated_at BIGINT;
ALTER TABLE employments ADD COLUMN department TEXT;
ALTER TABLE employments ADD COLUMN manager_person_id TEXT;
ALTER TABLE organisations ADD COLUMN certification TEXT;
ALTER TABLE organisations ADD COLUMN certification_expires_at BIGINT;
ALTER TABLE organisations ADD COLUMN deregistered_at BIGINT;
)sql",
};

}  // namespace

const std::vector<std::string>& ledger_migrations() { return kMigrations; }

int schema_version_known() { return static_cast<int>(kMigrations.size()); }

bool is_identifier(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

StatusOr<std::string> upsert_sql(const Row& row,
                                 const std::function<std::string(int)>& placeholder) {
  // Table and column names come from the apply code, never from events; checked anyway.
  if (!is_identifier(row.table) || row.key.empty()) {
    return Status::Error("ledger: bad row for table '" + row.table + "'");
  }
  std::string cols, params, keys, sets;
  int n = 0;
  for (const Columns* columns : {&row.key, &row.fields}) {
    for (const auto& [name, value] : *columns) {
      if (!is_identifier(name)) return Status::Error("ledger: bad column '" + name + "'");
      cols += name + ", ";
      params += placeholder(++n) + ", ";
      if (columns == &row.key) {
        keys += (keys.empty() ? "" : ", ") + name;
      } else {
        sets += name + " = excluded." + name + ", ";
      }
    }
  }
  return "INSERT INTO " + row.table + " (" + cols + "version) VALUES (" + params +
         placeholder(n + 1) + ") ON CONFLICT (" + keys + ") DO UPDATE SET " + sets +
         "version = excluded.version WHERE excluded.version >= " + row.table + ".version";
}

const char* const kLearnerFactsSql = R"sql(
SELECT p.person_id, COALESCE(p.segment, 'unspecified'), p.registered_at,
  (SELECT MIN(e.enrolled_at) FROM enrollments e WHERE e.person_id = p.person_id),
  (SELECT MIN(c.completed_at) FROM completions c WHERE c.person_id = p.person_id AND c.passed = 1),
  (SELECT MIN(r.issued_at) FROM credentials r
     WHERE r.person_id = p.person_id AND r.kind = 'certification'),
  (SELECT MIN(l.other_id) FROM identity_links l WHERE l.person_id = p.person_id),
  p.deactivated_at
FROM persons p ORDER BY p.person_id)sql";

const char* const kPartnerFactsSql = R"sql(
SELECT o.organisation_id, COALESCE(o.name, ''), COALESCE(o.kind, ''),
  COALESCE(o.registry_status, ''), COALESCE(o.training_target, 0),
  (SELECT COUNT(DISTINCT m.person_id) FROM employments m
     WHERE m.organisation_id = o.organisation_id AND m.active = 1),
  COALESCE(o.certification, ''), o.certification_expires_at, o.deregistered_at
FROM organisations o ORDER BY o.organisation_id)sql";

// Every course any row names, published or not yet (its title is then empty).
const char* const kCourseFunnelsSql = R"sql(
WITH ids AS (SELECT course_id FROM courses UNION SELECT course_id FROM enrollments
             UNION SELECT course_id FROM completions)
SELECT ids.course_id, COALESCE((SELECT title FROM courses c WHERE c.course_id = ids.course_id), ''),
  (SELECT COUNT(*) FROM enrollments e WHERE e.course_id = ids.course_id),
  (SELECT COUNT(*) FROM completions c WHERE c.course_id = ids.course_id),
  (SELECT COUNT(*) FROM completions c WHERE c.course_id = ids.course_id AND c.passed = 1),
  (SELECT COUNT(*) FROM credentials r WHERE r.course_id = ids.course_id
     AND r.kind = 'certification')
FROM ids WHERE ids.course_id IS NOT NULL ORDER BY ids.course_id)sql";

}  // namespace simpang::plugins::talent_ledger
