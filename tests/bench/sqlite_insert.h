// The baseline simpang-bench's durability suite compares the hub's SQLite journal against: bare
// SQLite inserting the same rows the journal writes for each accepted event (an events row and one
// deliveries row, in tables shaped like hub/src/journal/sqlite/schema.cc's), in transactions of 1,000,
// WAL mode, synchronous NORMAL or FULL, one thread, prepared statements, nothing else: no routing,
// no acks, no deletes, no de-duplication, no checkpoint thread.
//
//   SqliteInsertResult r = run_sqlite_insert({.file = dir / "bare.db", .count = 200000,
//                                             .full_sync = true, .body = serialized_event});
//   std::cout << r.events_per_second << " inserts/s\n";
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace simpang::bench {

struct SqliteInsertOptions {
  std::filesystem::path file;  // created; REQUIRES: does not exist yet
  uint64_t count = 200000;     // events (each one events row and one deliveries row)
  bool full_sync = false;      // synchronous FULL instead of NORMAL
  std::string source;          // the events' CloudEvents source
  std::string id_prefix;       // ids are id_prefix + sequence number
  std::string body;            // the serialized event stored in every events row
  int per_transaction = 1000;
};

struct SqliteInsertResult {
  uint64_t events = 0;
  double seconds = 0;  // first BEGIN to last COMMIT (schema creation excluded)
  double events_per_second = 0;
};

// Inserts options.count events and returns the rate. Throws std::runtime_error with SQLite's
// message when any statement fails. Thread rule: any thread; it uses its own connection.
SqliteInsertResult run_sqlite_insert(const SqliteInsertOptions& options);

}  // namespace simpang::bench
