// Backend choice; see open_journal.h.
#include "journal/open_journal.h"

#include "journal/memory/memory_journal.h"
#include "journal/sqlite/sqlite_journal.h"

namespace simpang::hub {

StatusOr<std::unique_ptr<Journal>> open_journal(const JournalOptions& options,
                                                std::vector<std::string> destinations,
                                                std::vector<std::string> routes) {
  switch (options.backend) {
    case JournalBackend::kSqlite:
      return open_sqlite_journal(options, std::move(destinations), std::move(routes));
    case JournalBackend::kMemory:
      return open_memory_journal(options, std::move(destinations), std::move(routes));
  }
  return Status::Error("journal: unknown backend " +
                       std::to_string(static_cast<int>(options.backend)));
}

StatusOr<std::unique_ptr<JournalAdmin>> open_journal_admin(const JournalOptions& options) {
  switch (options.backend) {
    case JournalBackend::kSqlite:
      return open_sqlite_journal_admin(options.file);
    case JournalBackend::kMemory:
      return Status::Error(
          "journal: this hub's journal is kept in memory (journal.kind: memory), inside the hub "
          "process only: there are no dead letters or history a command could reach. Dead "
          "letters and replays need a durable journal (journal.kind: sqlite).");
  }
  return Status::Error("journal: unknown backend " +
                       std::to_string(static_cast<int>(options.backend)));
}

}  // namespace simpang::hub
