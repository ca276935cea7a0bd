// The talent ledger's configuration: where its database is, how hard it syncs, the programme's
// targets and the identity rules. Parsed from an instance's `config:` mapping (the plugin) or from
// the instance's config JSON in the hub configuration (`simpang ledger progress`), so both read
// the same keys the same way.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace simpang::plugins::talent_ledger {

// The programme's targets (config `targets:`). Zero means "no target" for that line.
struct Targets {
  uint64_t learners = 0;                       // learners overall
  std::map<std::string, uint64_t> by_segment;  // "student", "educator", "government", "industry"
  uint64_t partners = 0;                       // partners onboarded (registry status active)
  std::optional<int64_t> end_date_micros;      // the programme's end, UTC
  // Which stage a learner must reach to count against the learner targets: registered,
  // enrolled (the default), completed or certified.
  std::string counts = "enrolled";
};

// One identity rule: which identifier links two person records.
struct IdentityRule {
  enum class Kind {
    kEmail,       // the person's email, normalised (trimmed, case-folded, NFC-ish)
    kExternalId,  // an ExternalId whose system matches `system` (exact, or a prefix before '*')
  };
  std::string name;  // recorded with every link, e.g. "email", "employee_number"
  Kind kind = Kind::kEmail;
  std::string system;   // kExternalId only
  bool hashed = false;  // kExternalId: the value must be a hash (>= 32 hex digits), never raw
};

struct LedgerConfig {
  enum class Backend { kSqlite, kPostgresql };
  Backend backend = Backend::kSqlite;
  std::filesystem::path database = "ledger.db";  // SQLite: relative to the instance's state dir
  std::string dsn;         // PostgreSQL: a libpq connection string (secrets through ${env:...})
  bool sync_full = false;  // `sync: full`: fsync every commit
  Targets targets;
  std::vector<IdentityRule> rules;  // default: one rule, normalised email
};

// Reads `config` (an instance's `config:` mapping as JSON). Throws simpang::sdk::ConfigError
// naming the key on a bad or unknown key.
LedgerConfig parse_ledger_config(const nlohmann::json& config);

// Parses "YYYY-MM-DD" or an RFC 3339 time to microseconds since the epoch (UTC).
std::optional<int64_t> parse_date_micros(const std::string& text);

}  // namespace simpang::plugins::talent_ledger
