// The ledger on PostgreSQL (libpq): the same schema, upserts and progress queries as SQLite
// (ledger_sql.h), for a ledger several readers share or that outgrows one file. Migrations are
// applied on open in one transaction, under an advisory lock so two openers migrate in turn.
//
//   auto store = PgLedgerStore::open("host=127.0.0.1 port=5432 dbname=ledger user=simpang", {});
#pragma once

#include <memory>
#include <string>

#include "ledger_sql.h"
#include "ledger_store.h"

struct pg_conn;

namespace simpang::plugins::talent_ledger {

struct PgOptions {
  bool read_only = false;  // for `simpang ledger progress`: no migrations, no writes
};

class PgLedgerStore : public LedgerStore {
 public:
  // Connects with the libpq connection string `dsn` and migrates. Errors name the server (never
  // the password) and the problem.
  static StatusOr<std::unique_ptr<PgLedgerStore>> open(const std::string& dsn, PgOptions options);
  ~PgLedgerStore() override;
  PgLedgerStore(const PgLedgerStore&) = delete;
  PgLedgerStore& operator=(const PgLedgerStore&) = delete;

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
  class Result;
  PgLedgerStore(pg_conn* conn, std::string where);
  Status migrate();
  // Runs `sql` with text parameters; the result's rows, or the server's error naming `what`.
  StatusOr<Result> run(const std::string& sql, const std::vector<Value>& params,
                       const std::string& what);

  pg_conn* conn_;
  std::string where_;  // "PostgreSQL at host:port/db", for messages
};

}  // namespace simpang::plugins::talent_ledger
