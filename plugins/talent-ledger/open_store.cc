#include "open_store.h"

#include "sqlite_store.h"
#ifdef SIMPANG_LEDGER_HAS_POSTGRESQL
#include "pg_store.h"
#endif

namespace simpang::plugins::talent_ledger {

bool postgresql_available() {
#ifdef SIMPANG_LEDGER_HAS_POSTGRESQL
  return true;
#else
  return false;
#endif
}

namespace {
std::filesystem::path sqlite_path(const LedgerConfig& config,
                                  const std::filesystem::path& state_dir) {
  return config.database.is_absolute() ? config.database : state_dir / config.database;
}
}  // namespace

std::string describe_store(const LedgerConfig& config, const std::filesystem::path& state_dir) {
  if (config.backend == LedgerConfig::Backend::kPostgresql) return "PostgreSQL (config.dsn)";
  return sqlite_path(config, state_dir).string();
}

StatusOr<std::unique_ptr<LedgerStore>> open_store(const LedgerConfig& config,
                                                  const std::filesystem::path& state_dir,
                                                  bool read_only) {
  if (config.backend == LedgerConfig::Backend::kPostgresql) {
#ifdef SIMPANG_LEDGER_HAS_POSTGRESQL
    auto pg = PgLedgerStore::open(config.dsn, PgOptions{read_only});
    if (!pg.ok()) return pg.status();
    return std::unique_ptr<LedgerStore>(std::move(*pg));
#else
    return Status::Error(
        "backend postgresql: this build has no libpq (install libpq-dev and rebuild)");
#endif
  }
  const auto path = sqlite_path(config, state_dir);
  if (read_only && !std::filesystem::exists(path)) {
    return Status::Error("ledger database " + path.string() +
                         " does not exist (has the hub run with the ledger?)");
  }
  if (!read_only) {
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
  }
  auto s = SqliteLedgerStore::open(path, SqliteOptions{config.sync_full, read_only});
  if (!s.ok()) return s.status();
  return std::unique_ptr<LedgerStore>(std::move(*s));
}

}  // namespace simpang::plugins::talent_ledger
