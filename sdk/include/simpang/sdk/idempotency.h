// An idempotent-consumer helper. The hub delivers every event at least once: after a crash, a
// timeout or a reconnect, a consumer can be handed an event it has already handled, with the same
// (source, id). A sink whose side effect must not happen twice (a POST, an e-mail, a ledger row
// without a unique key) remembers what it has done and skips the repeats:
//
//   // in the constructor:
//   guard_ = std::make_unique<simpang::sdk::IdempotencyGuard>(ctx.state_dir() / "seen", 100000);
//   // in on_event:
//   if (guard_->seen(event)) {
//     return simpang::sdk::Outcome::ack();           // done before: settle it again, do nothing
//   }
//   if (!post(event)) {
//     return simpang::sdk::Outcome::retry_later("..."); // not marked: the retry will try again
//   }
//   if (Status s = guard_->mark(event); !s.ok()) {
//     ctx.log(simpang::sdk::LogLevel::kWarn, s.message());  // the side effect happened anyway
//   }
//   return simpang::sdk::Outcome::ack();
//
// What it remembers: the `capacity` most recently marked distinct (source, id) pairs, in memory
// (bounded) and in an append-only file, so it survives restarts. When the file holds more than
// 2 x capacity records it is rewritten with the remembered ones only (to a temporary file, synced,
// then renamed over the old one, so a crash during compaction leaves the old file or the new one).
//
// Durability (the fsync policy): by default a mark is written to the file with write(2) but not
// synced, which survives a crash of the plugin or of the hub (the kernel has the data); only a
// machine crash or power loss can lose the last marks, and then those events are handled again,
// exactly as they would be without the guard. With Sync::kEveryMark each mark is fdatasync'ed
// before mark() returns: survives power loss, costs a disk flush per event.
//
// What it cannot do: make a side effect exactly-once. A crash after the side effect and before
// mark() still repeats it; keep that window short (mark right after the side effect succeeds), or
// give the destination the event id to de-duplicate on (an idempotency key header, a unique key).
//
// A record line is the JSON array ["source","id"], so any characters in either are safe. A torn
// last line (a crash in the middle of a write) is dropped when the file is opened.
//
// Thread rule: not thread-safe; use it from the instance's callbacks (which run one at a time).
// The file belongs to one guard: two guards (or two instances) must not share a path.
#pragma once

#include <cstddef>
#include <deque>
#include <filesystem>
#include <string>
#include <string_view>
#include <unordered_set>

#include "simpang/sdk/status.h"
#include "simpang/v1/event.pb.h"

namespace simpang::sdk {

class IdempotencyGuard {
 public:
  enum class Sync {
    kNone,       // write(2) only: survives process crashes (the default)
    kEveryMark,  // fdatasync after every mark: survives power loss
  };

  // Opens (creating if needed) the file at `path` and loads what it remembers. `path`'s directory
  // must exist. Throws std::runtime_error with the path and the OS error when the file cannot be
  // opened or read; construct it in the plugin constructor so the instance fails to start.
  // REQUIRES: capacity >= 1
  IdempotencyGuard(std::filesystem::path path, size_t capacity, Sync sync = Sync::kNone);
  ~IdempotencyGuard();
  IdempotencyGuard(const IdempotencyGuard&) = delete;
  IdempotencyGuard& operator=(const IdempotencyGuard&) = delete;

  // True when (event.source(), event.id()) is among the remembered marks.
  bool seen(const simpang::v1::Event& event) const;
  bool seen(std::string_view source, std::string_view id) const;

  // Remembers (source, id); forgets the oldest mark when more than `capacity` are remembered.
  // Marking a pair that is already remembered does nothing. Fails (with the OS error) when the
  // record cannot be written; it is then remembered in memory only, until a restart.
  Status mark(const simpang::v1::Event& event);
  Status mark(std::string_view source, std::string_view id);

  // How many marks are remembered (at most capacity).
  size_t size() const { return order_.size(); }
  // How many records the file holds now (between size() and 2 x capacity, after a compaction).
  size_t file_records() const { return file_records_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  static std::string key_of(std::string_view source, std::string_view id);
  void remember(std::string key);
  Status append(std::string_view source, std::string_view id);
  Status compact();
  void open_for_append();

  std::filesystem::path path_;
  size_t capacity_;
  Sync sync_;
  int fd_ = -1;
  std::unordered_set<std::string> keys_;
  std::deque<const std::string*> order_;  // oldest first; points into keys_ (nodes are stable)
  size_t file_records_ = 0;
};

}  // namespace simpang::sdk
