// Opens the ledger's store as its configuration says: SQLite (the default) under the instance's
// state directory, or PostgreSQL by connection string when this build has libpq.
#pragma once

#include <filesystem>
#include <memory>

#include "ledger_config.h"
#include "ledger_store.h"

namespace simpang::plugins::talent_ledger {

// REQUIRES: state_dir exists (SQLite, writable). read_only: never migrates or writes.
StatusOr<std::unique_ptr<LedgerStore>> open_store(const LedgerConfig& config,
                                                  const std::filesystem::path& state_dir,
                                                  bool read_only);

// Where the store is, for messages: the SQLite file, or the PostgreSQL server without secrets.
std::string describe_store(const LedgerConfig& config, const std::filesystem::path& state_dir);

// Whether this build can open a PostgreSQL ledger.
bool postgresql_available();

}  // namespace simpang::plugins::talent_ledger
