// The operator's side of a journal: inspect and drop dead letters, and ask for deliveries to be
// replayed. Used by `simpang dlq` and `simpang replay` (through open_journal_admin(), in
// open_journal.h) and, in the hub's own process, through Journal::open_admin().
//
// What every backend's admin must do (tests/unit/journal/journal_contract_test.cc):
//  - list_dead / show_dead / drop_dead see every dead letter the journal holds, with the event.
//  - A replay is carried out by the journal that owns the deliveries (the running hub's, when one
//    runs), so the broker learns of it through on_replay (Journal::start); the admin waits up to
//    `wait` for that and returns the count, or says the request is still waiting.
//  - A replayed delivery is pending again under a new id larger than every id before, attempts 0.
//  - An operation a backend cannot offer returns an error saying so and why, never a silent 0.
//
//   auto admin = open_journal_admin(options);
//   DeadLetterFilter ledger;
//   ledger.destination = "ledger";
//   auto dead = (*admin)->list_dead(ledger, 100);
//   auto replayed = (*admin)->replay_dead(ledger, std::chrono::seconds(10));
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "simpang/base/status.h"

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

// Journaled history as read_history() gives it: one kept event, who published it and when.
struct JournaledEvent {
  uint64_t seq = 0;
  std::chrono::system_clock::time_point received{};
  std::string publisher;  // the publishing instance's name
  std::string body;       // the serialized simpang.v1.Event
};

// Which history read_history() reads: events the hub accepted in [since, until), oldest first.
struct HistoryRange {
  std::optional<std::chrono::system_clock::time_point> since;
  std::optional<std::chrono::system_clock::time_point> until;
  size_t limit = SIZE_MAX;
};

// Thread rule: one thread at a time. OWNERSHIP: the caller owns it; see the function that made it
// for what it borrows.
class JournalAdmin {
 public:
  virtual ~JournalAdmin() = default;

  // True when a hub runs on this journal (and so carries replays out itself).
  virtual bool hub_running() = 0;

  // Matching dead letters, oldest first, at most `limit`.
  virtual StatusOr<std::vector<DeadLetter>> list_dead(const DeadLetterFilter& filter,
                                                      size_t limit) = 0;
  // One dead letter; an error saying what the id is instead (pending, or gone) when it is not one.
  virtual StatusOr<DeadLetter> show_dead(uint64_t delivery_id) = 0;
  // Deletes matching dead letters for good. Returns how many.
  virtual StatusOr<uint64_t> drop_dead(const DeadLetterFilter& filter) = 0;
  // Turns matching dead letters back into pending deliveries (attempts reset, new ids). Waits up
  // to `wait` for the journal's owner to carry the request out. Returns how many were replayed.
  virtual StatusOr<uint64_t> replay_dead(const DeadLetterFilter& filter,
                                         std::chrono::milliseconds wait) = 0;
  // Adds pending deliveries to `spec.destination` for kept events from the given time or sequence
  // on that were routed there and have none pending there. Returns how many.
  virtual StatusOr<uint64_t> replay_history(const ReplaySpec& spec,
                                            std::chrono::milliseconds wait) = 0;
  // Calls `on_event` for each kept event in `range`, oldest first, and stops early when it returns
  // false. Reads only: safe while a hub runs on the journal. Returns how many it read.
  virtual StatusOr<uint64_t> read_history(
      const HistoryRange& range, const std::function<bool(const JournaledEvent&)>& on_event) = 0;
};

}  // namespace simpang::hub
