// One destination of the broker: the deliveries it owes one consuming instance, and the policy
// they follow. It keeps, per destination:
//   - the ready queue and what is in flight (sent within the consumer's credit, not yet settled);
//   - per-subject order for routes with `ordering: subject`: one delivery per subject at a time,
//     in publish order, retries included;
//   - retries with exponential backoff and jitter, and the dead-letter decision (max_attempts,
//     deadline, fatal nack, a consumer lost too often);
//   - paging: at most `memory_limit` deliveries in memory; the rest wait in the journal and are
//     read back in chunks as it catches up (the broker runs the read; the destination says when
//     and what, and takes the rows).
//
// It owns no socket, timer or thread. Sending is a callback given to dispatch(); times are passed
// in; settlements to record are appended to the vector the environment names. So every decision
// here can be tested with plain values.
//
//   DestinationEnv env{&policies, &updates, &jitter, logger, 1000, &scratch};
//   Destination sink(0, "sink", env);
//   sink.attach("sink");
//   sink.add_credit(8);
//   sink.enqueue(std::move(pending));
//   sink.dispatch(512, [&](const std::deque<Pending>& ready, uint32_t n) {
//     return encode_and_send(ready, n);  // ready[0..n), each with attempt attempts + 1
//   });
//   sink.settle(id, Destination::Outcome::kAck, "", Now::from_clocks());
#pragma once

#include <spdlog/logger.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/event_record.h"
#include "core/route_policies.h"
#include "journal/journal.h"
#include "simpang/base/status.h"

namespace simpang::hub {

// The two clocks a destination reads: steady for its own timers, system for what the journal
// stores (accepted_at, not_before) and for retry deadlines, which must hold across a restart.
struct Now {
  std::chrono::steady_clock::time_point steady{};
  std::chrono::system_clock::time_point system{};
  static Now from_clocks() {
    return {std::chrono::steady_clock::now(), std::chrono::system_clock::now()};
  }
};

// One delivery owed to a destination.
struct Pending {
  uint64_t id = 0;                           // journal delivery id, also the wire delivery id
  std::shared_ptr<const EventRecord> event;  // shared by the event's destinations
  uint32_t route = 0;
  uint32_t attempts = 0;  // deliveries tried so far
  std::chrono::system_clock::time_point accepted_at{};
};

// Random factors in [kJitterLow, kJitterHigh] for retry delays, so failures do not retry in
// lockstep. Seeded: a test gives a fixed seed and gets the same delays every run.
class RetryJitter {
 public:
  static constexpr double kJitterLow = 0.8;
  static constexpr double kJitterHigh = 1.2;
  explicit RetryJitter(uint32_t seed) : engine_(seed) {}
  double next() { return std::uniform_real_distribution<double>(kJitterLow, kJitterHigh)(engine_); }

 private:
  std::minstd_rand engine_;
};

// The wait before the next attempt of a delivery that has failed `attempts` (>= 1) times:
// initial_backoff doubled per earlier failure, capped at max_backoff, then scaled by `jitter`.
// Thread rule: none.
std::chrono::milliseconds retry_delay(const RetryPolicy& policy, uint32_t attempts, double jitter);

// Why a delivery that failed with `error` goes to the dead-letter queue now, or empty when it is
// to be retried: a fatal failure, max_attempts reached, or the route's deadline passed since the
// event was accepted. Thread rule: none.
std::string dead_letter_reason(const RetryPolicy& policy, uint32_t attempts,
                               std::chrono::system_clock::time_point accepted_at,
                               std::chrono::system_clock::time_point now, std::string_view error,
                               bool fatal);

// What a destination consults and where it reports. OWNERSHIP: every pointer is borrowed and
// outlives the destinations that use it; all of them are used on the destinations' thread.
struct DestinationEnv {
  const RoutePolicies* routes = nullptr;
  std::vector<DeliveryUpdate>* updates = nullptr;  // settlements to record in the journal
  RetryJitter* jitter = nullptr;
  spdlog::logger* logger = nullptr;
  uint32_t memory_limit = 100000;         // deliveries held in memory at most
  simpang::v1::Event* scratch = nullptr;  // reused to parse rows paged from the journal
};

// A read of pending deliveries the destination asked for (see start_load).
struct LoadRequest {
  uint32_t destination = 0;
  uint64_t after = 0;         // ids above this
  size_t limit = 0;           // at most this many rows
  uint64_t spilled_upto = 0;  // what had been left in the journal alone when the read started
  uint64_t generation = 0;    // replays since; a replay during the read means read again
};

// How full a destination is and what it has done. "Now" values and counters since start.
struct DestinationDepth {
  uint64_t queued = 0;     // now: ready, waiting behind a subject, or waiting to retry
  uint64_t in_flight = 0;  // now: delivered, not settled
  bool on_disk = false;    // now: deliveries wait in the journal that are not in memory
  uint64_t delivered = 0;  // acked by the consumer
  uint64_t retried = 0;    // scheduled again (nack-retryable, consumer lost)
  uint64_t dead = 0;       // moved to the dead-letter queue
};

// Thread rule: every method runs on one thread (the broker's loop); none blocks.
class Destination {
 public:
  using Clock = std::chrono::steady_clock;
  enum class Outcome { kAck, kRetry, kFatal };

  // `index` is the destination's index in the route table and the journal.
  Destination(uint32_t index, std::string name, const DestinationEnv& env);
  Destination(const Destination&) = delete;
  Destination& operator=(const Destination&) = delete;

  uint32_t index() const { return index_; }
  const std::string& name() const { return name_; }

  // ---- The consumer
  // `identity` (a routing id) now consumes here, starting with no credit.
  void attach(const std::string& identity);
  // The consumer is gone (it said `why`, e.g. "went silent"): what it had in flight goes back to
  // the front of the queue, oldest first, each counting as an attempt; one that has used up its
  // route's attempts is dead-lettered instead ("consumer <why> during delivery"). Returns how
  // many were in flight.
  size_t detach(std::string_view why, const Now& now);
  const std::string& consumer() const { return consumer_; }
  bool connected() const { return !consumer_.empty(); }
  void add_credit(uint32_t credit) { credit_ += credit; }
  uint32_t credit() const { return credit_; }

  // ---- Deliveries
  // Takes a delivery the journal has made durable. Returns false when it was left in the journal
  // alone (the destination is behind, or holds memory_limit already): the caller should then
  // start_load(), which pages it in once there is room.
  bool enqueue(Pending pending);
  // Sends ready deliveries within the credit, at most `max_batch` per call of send_batch. Each
  // call gets the ready queue and a count n: it must send ready[0..n) as one Deliver frame, each
  // delivery with attempt `attempts + 1`, and return true; those n then count as in flight. It
  // returns false when it could not (e.g. no memory), and they stay ready. REQUIRES: send_batch
  // does not call back into this destination.
  template <typename SendBatch>
  void dispatch(uint32_t max_batch, SendBatch&& send_batch);
  // The consumer settled `delivery_id`: acked, or failed with `reason` (retryable or not).
  // Unknown ids (settled already, or from an earlier session and since requeued) are ignored.
  void settle(uint64_t delivery_id, Outcome outcome, std::string_view reason, const Now& now);

  // ---- Retries
  // When the earliest retry is due, if any waits.
  std::optional<Clock::time_point> next_retry_due() const;
  // Makes every retry due at `now` ready (or waiting behind its subject).
  void promote_due_retries(Clock::time_point now);

  // ---- Paging
  // If the journal may hold deliveries not in memory and there is room for at least half of
  // memory_limit, returns the read to run and marks a read in progress; otherwise nothing.
  std::optional<LoadRequest> start_load();
  // Takes the result of the read `request` (rows in id order); each row is parsed once here.
  // The caller then arms the retry timer and dispatches.
  void on_loaded(const LoadRequest& request, StatusOr<std::vector<StoredDelivery>> rows,
                 const Now& now);
  // A replay added deliveries to the journal: read it again from where this run has loaded.
  void rescan();

  // ---- State
  DestinationDepth depth() const;
  size_t in_memory() const {
    return queue_.size() + in_flight_.size() + retry_.size() + waiting_count_;
  }
  // Whether the journal may hold deliveries not in memory.
  bool behind() const { return rescan_ || spilled_upto_ > loaded_upto_; }

 private:
  const RouteConfig& route(uint32_t index) const { return (*env_.routes)[index]; }
  void make_ready(Pending pending, bool front);
  void release_subject(const Pending& pending);
  void fail(Pending pending, std::string_view error, bool fatal, const Now& now);

  // Subjects are looked up by the view an EventRecord gives, without making a string.
  struct SubjectHash {
    using is_transparent = void;
    size_t operator()(std::string_view subject) const {
      return std::hash<std::string_view>{}(subject);
    }
  };
  template <typename T>
  using BySubject = std::unordered_map<std::string, T, SubjectHash, std::equal_to<>>;

  uint32_t index_;
  std::string name_;
  const DestinationEnv& env_;
  std::string consumer_;  // routing id of its consumer; empty while none
  uint32_t credit_ = 0;
  std::deque<Pending> queue_;              // ready to send
  std::map<uint64_t, Pending> in_flight_;  // by id, so a requeue keeps the order
  std::multimap<Clock::time_point, Pending> retry_;
  // Ordered routes: the delivery holding each subject, and what waits behind it.
  BySubject<uint64_t> subject_holder_;
  BySubject<std::deque<Pending>> subject_waiting_;
  size_t waiting_count_ = 0;
  // Every delivery with id <= loaded_upto_ is in memory or settled; ids above it wait in the
  // journal alone.
  uint64_t loaded_upto_ = 0;
  uint64_t spilled_upto_ = 0;  // highest id left in the journal alone
  bool rescan_ = true;         // the journal may hold ids we have not seen
  uint64_t rescan_generation_ = 0;
  bool loading_ = false;
  uint64_t delivered_ = 0;
  uint64_t retried_ = 0;
  uint64_t dead_ = 0;
};

template <typename SendBatch>
void Destination::dispatch(uint32_t max_batch, SendBatch&& send_batch) {
  if (consumer_.empty()) {
    return;
  }
  while (credit_ > 0 && !queue_.empty()) {
    const uint32_t n =
        std::min<uint32_t>({credit_, max_batch, static_cast<uint32_t>(queue_.size())});
    if (!send_batch(static_cast<const std::deque<Pending>&>(queue_), n)) {
      break;  // the deliveries stay ready; the next settle or enqueue tries again
    }
    for (uint32_t i = 0; i < n; ++i) {
      Pending pending = std::move(queue_.front());
      queue_.pop_front();
      ++pending.attempts;
      const uint64_t id = pending.id;
      in_flight_.emplace(id, std::move(pending));
    }
    credit_ -= n;
  }
}

}  // namespace simpang::hub
