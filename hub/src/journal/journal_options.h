// How a journal is opened: the options every part that opens one shares. The configuration loader
// fills them from the `journal:` section (config/config.h holds this very type), the hub passes
// them on unchanged, and tests and benchmarks set them directly.
//
//   JournalOptions options;
//   options.file = state_dir / "journal.db";
//   options.sync = JournalSync::kFull;
//   auto journal = open_journal(options, destinations, routes);  // journal/open_journal.h
//
// Thread rule: plain values; copied freely. `clock`, when set, is called from the journal's own
// threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>

namespace simpang::hub {

// Which implementation of Journal open_journal() opens (journal/open_journal.h).
enum class JournalBackend {
  kSqlite,  // durable: one SQLite file in WAL mode (journal/sqlite/); the default
  kMemory,  // not durable: for benchmarks and experiments; a crash loses what is queued
};

enum class JournalSync {
  kNormal,  // WAL + synchronous=NORMAL: survives a crash of the hub process (kill -9); the last
            // transactions before a power loss or kernel panic may be lost
  kFull,    // WAL + synchronous=FULL: every commit is fsync'ed; survives power loss too
};

// Settings a backend does not use are ignored by it (the memory backend has no file).
struct JournalOptions {
  JournalBackend backend = JournalBackend::kSqlite;
  std::filesystem::path file;
  JournalSync sync = JournalSync::kNormal;
  // Events whose deliveries are all acknowledged are kept this long (for `simpang replay` and for
  // de-duplication of retried publishes), then pruned.
  std::chrono::milliseconds retention{std::chrono::hours(24)};
  // De-duplication window on (source, id): a publish of an event already journaled within this
  // window is acknowledged but not routed again. At most `retention`.
  std::chrono::milliseconds dedup_window{std::chrono::minutes(10)};
  // The window is kept in memory, 40 bytes per event: at most this many recent events are
  // remembered. Above that rate (here ~1,700 events/s for 10 minutes) the window is shorter.
  uint32_t dedup_max_events = 1'000'000;
  // Bound on the journal: when more events than this are kept, acked ones are pruned early; when
  // pending ones alone exceed it, Journal::full() turns true and the broker holds publishers' acks.
  uint64_t max_events = 5'000'000;
  // Most events in one group commit.
  uint32_t max_commit_events = 4096;
  // Run PRAGMA quick_check when opening an existing file (recommended; O(file size)).
  bool verify_on_open = true;
  // How often the writer prunes (retention, max_events) and reclaims file space, busy or idle; it
  // also prunes after every few thousand appended events. 0: at every commit and idle wake-up
  // (tests).
  std::chrono::milliseconds maintenance_interval{std::chrono::seconds(2)};
  // The clock for received times, the de-duplication window and retention. Empty: the system
  // clock. Tests substitute one they can move.
  std::function<std::chrono::system_clock::time_point()> clock;
};

}  // namespace simpang::hub
