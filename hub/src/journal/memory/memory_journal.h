// The memory backend: a Journal that keeps everything in memory, so nothing survives the process.
// For benchmarks that measure the hub without storage, and for experiments; `journal: {kind:
// memory}` selects it (through open_journal()). It keeps the rest of the contract in journal.h:
// ids, de-duplication, completion order, paging, retries, dead letters and their replay, cursors,
// full(). What it does not do: durability (1. and the reopen halves of 2., 3. and 4.), retention
// (an event is forgotten as soon as no delivery of it is pending or dead, so there is no history
// to replay), and an operator side reachable from another process (`simpang dlq` refuses it;
// Journal::open_admin() works in the hub's own process).
//
// Completions run on the calling thread, before append() returns: there is nothing to wait for.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "journal/journal.h"

namespace simpang::hub {

// Opens a memory journal for the named destinations and routes (indices as for open_journal()).
// Uses options.dedup_window, retention (bounding the window), max_events and clock; ignores the
// file and storage settings. OWNERSHIP: the caller owns the result.
std::unique_ptr<Journal> open_memory_journal(const JournalOptions& options,
                                             std::vector<std::string> destinations,
                                             std::vector<std::string> routes);

}  // namespace simpang::hub
