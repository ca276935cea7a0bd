// The ledger on SQLite: one file, WAL mode, prepared statements cached per SQL text, and the
// schema's versioned migrations applied on open in one transaction.
//
//   auto store = SqliteLedgerStore::open(path, {.sync_full = false});
//   if (!store.ok()) return store.status();   // e.g. a schema newer than this code knows
//
// Durability: every commit is durable against a crash of the process (WAL, synchronous=NORMAL);
// sync_full (synchronous=FULL) also against a power loss, at one fsync per commit.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "ledger_sql.h"
#include "ledger_store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace simpang::plugins::talent_ledger {

struct SqliteOptions {
  bool sync_full = false;
  bool read_only = false;  // for `simpang ledger progress`: no migrations, no writes
};

class SqliteLedgerStore : public LedgerStore {
 public:
  // Opens (creating it unless read_only) and migrates the database at `path`. Errors name the
  // file and the problem.
  static StatusOr<std::unique_ptr<SqliteLedgerStore>> open(const std::filesystem::path& path,
                                                           SqliteOptions options);
  ~SqliteLedgerStore() override;
  SqliteLedgerStore(const SqliteLedgerStore&) = delete;
  SqliteLedgerStore& operator=(const SqliteLedgerStore&) = delete;

  // The schema version in the file.
  StatusOr<int> schema_version();

  Status begin() override;
  Status commit() override;
  Status rollback() override;
  StatusOr<bool> applied(const std::string& source, const std::string& id) override;
  Status mark_applied(const std::string& source, const std::string& id, const std::string& type,
                      int64_t time_micros) override;
  StatusOr<bool> upsert(const Row& row) override;
  Status replace_person_keys(const std::string& person_id,
                             const std::vector<std::pair<std::string, std::string>>& keys) override;
  StatusOr<std::vector<std::string>> persons_with_key(const std::string& rule,
                                                      const std::string& value) override;
  Status record_link(const Link& link) override;
  Status record_review(const Review& review) override;
  StatusOr<std::vector<Link>> links() override;
  StatusOr<std::vector<Review>> reviews() override;
  StatusOr<std::vector<Link>> links_for_event(const std::string& event_id) override;
  StatusOr<std::vector<LearnerFact>> learner_facts() override;
  StatusOr<std::vector<PartnerFact>> partner_facts() override;
  StatusOr<std::vector<CourseFunnel>> course_funnels() override;
  StatusOr<uint64_t> count(const std::string& table) override;

 private:
  SqliteLedgerStore(sqlite3* db, std::filesystem::path path);
  Status migrate();
  Status exec(const std::string& sql);
  // A cached prepared statement, reset and with bindings cleared. Null on error (see error()).
  sqlite3_stmt* prepare(const std::string& sql);
  Status error(const std::string& what) const;

  sqlite3* db_;
  std::filesystem::path path_;
  std::map<std::string, sqlite3_stmt*> statements_;
};

}  // namespace simpang::plugins::talent_ledger
