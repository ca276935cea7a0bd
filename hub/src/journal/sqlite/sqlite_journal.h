// The SQLite backend: the embedded, durable default. One file in WAL mode (options.file), beside
// it FILE.lock (file_lock.h), which makes one process its only writer. docs/journal.md describes
// the file, the measurements behind these choices, and how to recover a damaged one.
//
// One writer thread owns the write connection and group-commits: everything submitted while the
// previous transaction was committing goes into the next one, so the hub's event loop never waits
// on fsync. Completions are reported through callbacks run on the writer thread; the broker posts
// them back to its own loop. Because the writer is the only thread that writes, and reports
// commits in the order it made them, a completion never overtakes an earlier one. Reads
// (load_pending, load_cursors) use a connection of their own and see the last commit.
//
// Tables (schema.cc has the schema):
//   events       every accepted event: seq, publisher instance, CloudEvents source and id, the
//                serialized simpang.v1.Event, received time, where it was routed
//   deliveries   one row per (event, destination) not yet acknowledged: pending or dead
//                (the dead-letter queue), attempts, when it may next be tried, the last error
//   cursors      connector cursors, per instance and key, written with the events they produced
//   requests     replay requests from `simpang dlq replay` / `simpang replay`, which the running
//                hub's writer carries out (so it stays the only writer of deliveries)
//   names, meta  destination/route/instance names; schema version and counters
//
// De-duplication looks in memory (dedup_window.h), rebuilt from the events table on open.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "journal/journal.h"
#include "journal/journal_admin.h"
#include "journal/journal_options.h"
#include "simpang/base/status.h"

namespace simpang::hub {

// Opens (creating if absent) the journal file options.file, taking FILE.lock for as long as the
// journal lives. A damaged file (not a database, truncated, failed integrity check, another
// application's, unknown schema version) or one another process holds is refused with a message
// saying what is wrong, where, and how to recover. Thread rules of the result: as Journal; its
// callbacks run on its writer thread. OWNERSHIP: the caller owns the journal; destroying it
// releases the lock.
StatusOr<std::unique_ptr<Journal>> open_sqlite_journal(const JournalOptions& options,
                                                       std::vector<std::string> destinations,
                                                       std::vector<std::string> routes);

// Opens the operator's side of an existing journal file (never creates one), whether a hub runs
// on it or not. Dead letters are read and dropped directly (the hub keeps none in memory);
// replays become rows of the requests table that the lock holder carries out: a running hub's
// writer, or this admin itself (taking FILE.lock for that transaction) when no hub runs. Errors
// say which file and why. OWNERSHIP: the caller owns it; it owns one connection to the file.
StatusOr<std::unique_ptr<JournalAdmin>> open_sqlite_journal_admin(
    const std::filesystem::path& file);

}  // namespace simpang::hub
