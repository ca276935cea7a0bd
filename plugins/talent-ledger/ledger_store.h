// The ledger's storage interface: what the apply logic, the identity matcher and the progress
// report need from a database, and nothing more. SQLite implements it (sqlite_store.h); a
// PostgreSQL backend would implement the same calls, and the same contract tests run against both.
//
// Rows are generic (a table, key columns, value columns, a version) so a backend writes one
// upsert statement for every entity: the row is written only when its version is at least the
// stored one, which is how an older update delivered late never overwrites a newer one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "simpang/sdk/status.h"

namespace simpang::plugins::talent_ledger {

using simpang::Status;
using simpang::StatusOr;

// A column value. monostate is SQL NULL.
using Value = std::variant<std::monostate, int64_t, double, std::string>;
using Columns = std::vector<std::pair<std::string, Value>>;

// One entity row to upsert. `version` orders updates of the same key (the event time in
// microseconds); ties go to the later arrival.
struct Row {
  std::string table;
  Columns key;
  Columns fields;
  int64_t version = 0;
};

// A link between two person records of the same person, found by an identity rule.
struct Link {
  std::string person_id;  // the record the event was about
  std::string other_id;   // the record it matched
  std::string rule;
  std::string evidence;  // what matched (a normalised email, a hash prefix), never a raw id
  std::string event_id;
  int64_t at_micros = 0;
};

// A match the rules could not decide: recorded for a person to review, never linked.
struct Review {
  std::string person_id;
  std::string rule;
  std::string evidence;
  std::vector<std::string> candidates;
  std::string reason;
  std::string event_id;
  int64_t at_micros = 0;
};

// Per learner: what the progress report counts. Times are microseconds since the epoch.
struct LearnerFact {
  std::string person_id;
  std::string segment;  // "student", ..., or "unspecified"
  std::optional<int64_t> registered_at;
  std::optional<int64_t> first_enrolled_at;
  std::optional<int64_t> first_completed_at;  // first passed completion
  std::optional<int64_t> first_certified_at;  // first certification credential
  std::optional<std::string> linked_to;       // another record of the same person, if linked
  std::optional<int64_t> deactivated_at;      // left the HR system or marked inactive there
};

struct PartnerFact {
  std::string organisation_id;
  std::string name;
  std::string kind;
  std::string registry_status;  // "active", "applied", ...
  uint64_t training_target = 0;
  uint64_t learners_employed = 0;  // distinct people with an active employment there
  std::string certification;       // the registry's certification level; empty if none
  std::optional<int64_t> certification_expires_at;
  std::optional<int64_t> deregistered_at;  // no longer listed by the registry
};

struct CourseFunnel {
  std::string course_id;
  std::string title;
  uint64_t enrolled = 0;
  uint64_t completed = 0;
  uint64_t passed = 0;
  uint64_t certified = 0;
};

// Thread rule: one thread at a time (the plugin's runtime thread, or the CLI).
class LedgerStore {
 public:
  virtual ~LedgerStore() = default;

  // One transaction at a time. REQUIRES: begin() before any write; commit() or rollback() after.
  virtual Status begin() = 0;
  virtual Status commit() = 0;
  virtual Status rollback() = 0;

  // Whether an event with this (source, id) was applied; mark_applied records that it was.
  virtual StatusOr<bool> applied(const std::string& source, const std::string& id) = 0;
  virtual Status mark_applied(const std::string& source, const std::string& id,
                              const std::string& type, int64_t time_micros) = 0;

  // Writes `row` unless the stored row with the same key has a newer version. Returns whether it
  // was written.
  virtual StatusOr<bool> upsert(const Row& row) = 0;

  // Identity keys (rule, normalised value) of a person: replaced as a whole, and looked up.
  virtual Status replace_person_keys(
      const std::string& person_id,
      const std::vector<std::pair<std::string, std::string>>& keys) = 0;
  virtual StatusOr<std::vector<std::string>> persons_with_key(const std::string& rule,
                                                              const std::string& value) = 0;
  virtual Status record_link(const Link& link) = 0;
  virtual Status record_review(const Review& review) = 0;
  virtual StatusOr<std::vector<Link>> links() = 0;
  virtual StatusOr<std::vector<Review>> reviews() = 0;
  // The links recorded while applying the event with this id (to announce them again when the
  // event is redelivered).
  virtual StatusOr<std::vector<Link>> links_for_event(const std::string& event_id) = 0;

  // For the progress report.
  virtual StatusOr<std::vector<LearnerFact>> learner_facts() = 0;
  virtual StatusOr<std::vector<PartnerFact>> partner_facts() = 0;
  virtual StatusOr<std::vector<CourseFunnel>> course_funnels() = 0;
  // Rows in `table` (for tests and the report's totals).
  virtual StatusOr<uint64_t> count(const std::string& table) = 0;
};

}  // namespace simpang::plugins::talent_ledger
