// The ledger's SQL, shared by every backend: the schema's migrations, the upsert every entity
// row goes through, and the progress queries. Portable between SQLite and PostgreSQL (BIGINT
// microseconds, TEXT ids, INSERT ... ON CONFLICT); only the parameter placeholders differ, so the
// builders take them as a function.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ledger_store.h"

namespace simpang::plugins::talent_ledger {

// Migration i takes the schema from version i to i + 1. Only ever append.
const std::vector<std::string>& ledger_migrations();

// The schema version this code writes. A database with a newer one is refused.
int schema_version_known();

// Whether `s` may be pasted into SQL as a table or column name (a-z, 0-9, '_').
bool is_identifier(const std::string& s);

// INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE excluded.version >= stored version, with
// parameters 1..n for the key columns, then the fields, then the version. `placeholder(n)` spells
// parameter n ("?1" for SQLite, "$1" for PostgreSQL).
StatusOr<std::string> upsert_sql(const Row& row,
                                 const std::function<std::string(int)>& placeholder);

// The progress queries. Columns, in order:
//   learners: person_id, segment, registered_at, first_enrolled_at, first_completed_at,
//             first_certified_at, linked_to
//   partners: organisation_id, name, kind, registry_status, training_target, learners_employed
//   courses:  course_id, title, enrolled, completed, passed, certified
extern const char* const kLearnerFactsSql;
extern const char* const kPartnerFactsSql;
extern const char* const kCourseFunnelsSql;

}  // namespace simpang::plugins::talent_ledger
