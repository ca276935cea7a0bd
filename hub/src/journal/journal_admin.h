// Operator access to a journal file, for the `simpang dlq` and `simpang replay` commands: inspect
// and drop dead letters, and ask for deliveries to be replayed.
//
// Replays are requests (rows in the journal's requests table), because only one process may
// write deliveries: while a hub runs on the file (it holds FILE.lock), its writer carries requests
// out within a second or so and the command waits for that; when no hub runs, the command carries
// them out itself with the same code.
//
//   auto admin = JournalAdmin::open("state/journal.db");
//   auto dead = (*admin)->list_dead({.destination = "ledger"}, 100);
//   auto replayed = (*admin)->replay_dead({.destination = "ledger"}, std::chrono::seconds(10));
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "simpang/sdk/status.h"

namespace simpang::hub {

struct DeadLetter {
  uint64_t delivery_id = 0;
  uint64_t event_seq = 0;
  std::string destination;
  std::string route;
  uint32_t attempts = 0;
  std::string last_error;
  std::chrono::system_clock::time_point dead_at{};
  // From the event itself.
  std::string event_id;
  std::string event_source;
  std::string event_type;
  std::string event_subject;
  std::string body;  // the serialized simpang.v1.Event
};

// Which dead letters an operation applies to; unset fields match everything.
struct DeadLetterFilter {
  std::optional<uint64_t> delivery_id;
  std::optional<std::string> destination;
  std::optional<std::string> route;
  std::optional<std::string> event_type;  // exact type
};

// What `simpang replay --to DEST` re-delivers: history from a time or from an event sequence.
struct ReplaySpec {
  std::string destination;
  std::optional<std::chrono::system_clock::time_point> since;
  std::optional<uint64_t> from_seq;
};

// Thread rule: one thread at a time. OWNERSHIP: owns one connection to the file; takes FILE.lock
// only while it carries out requests itself (no hub running), for the length of that transaction.
class JournalAdmin {
 public:
  // Opens an existing journal file (never creates one). Errors say which file and why.
  static StatusOr<std::unique_ptr<JournalAdmin>> open(const std::filesystem::path& file);
  virtual ~JournalAdmin() = default;

  // True when a hub holds the journal's lock file.
  virtual bool hub_running() = 0;

  virtual StatusOr<std::vector<DeadLetter>> list_dead(const DeadLetterFilter& filter,
                                                      size_t limit) = 0;
  virtual StatusOr<DeadLetter> show_dead(uint64_t delivery_id) = 0;
  // Deletes matching dead letters. Returns how many.
  virtual StatusOr<uint64_t> drop_dead(const DeadLetterFilter& filter) = 0;
  // Turns matching dead letters back into pending deliveries (attempts reset). Waits up to
  // `wait` for a running hub to carry the request out. Returns how many were replayed.
  virtual StatusOr<uint64_t> replay_dead(const DeadLetterFilter& filter,
                                         std::chrono::milliseconds wait) = 0;
  // Adds pending deliveries to `spec.destination` for journaled events from the given time or
  // sequence on (events still within retention). Returns how many.
  virtual StatusOr<uint64_t> replay_history(const ReplaySpec& spec,
                                            std::chrono::milliseconds wait) = 0;
};

}  // namespace simpang::hub
