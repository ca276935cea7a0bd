// Publish intake: what happens to a publisher's batch between its arrival and its acknowledgement.
// Each event is parsed once (its attributes only), validated, routed through the RouteTable and
// kept as an EventRecord; the batch goes to the journal, and once the journal has made it durable
// complete() turns it into pending deliveries and the publisher's reply. While the journal is full
// the replies are held back (in arrival order), which closes the publishers' windows: the only
// back-pressure a publisher feels.
//
// It owns no socket: the caller posts the journal's completion to its loop, hands deliveries to
// destinations and sends (or holds) replies. So it can be tested with a memory journal alone.
//
//   intake.submit(identity, instance, publish, table, [&](std::shared_ptr<RoutedPublish> routed,
//                                                       StatusOr<std::vector<AppendedEvent>> r) {
//     post to the loop: on_appended(routed, r);   // runs on the journal's writer thread
//   });
//   // on the loop:
//   wire::Frame reply;
//   if (intake.complete(*routed, std::move(r), now, reply, enqueue)) {
//     intake.answer(routed->identity, reply, send);  // or held while the journal is full
//   }
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/log_limiter.h"
#include "core/destination.h"
#include "core/event_record.h"
#include "journal/journal.h"
#include "router/route_table.h"
#include "simpang/base/event_rules.h"
#include "simpang/v1/wire.pb.h"

namespace simpang::hub {

// One accepted event of a publish and where it goes: routed->targets[first_target..+target_count).
struct RoutedEvent {
  std::shared_ptr<const EventRecord> event;
  uint32_t first_target = 0;
  uint32_t target_count = 0;
};

// A publish on its way through the journal. OWNERSHIP: shared by the journal's completion and the
// loop; touched by one of them at a time.
struct RoutedPublish {
  std::string identity;              // the routing id the reply goes to
  uint64_t batch = 0;                // the publisher's batch number
  std::vector<RoutedEvent> events;   // the accepted ones, in batch order
  std::vector<RouteTarget> targets;  // every event's, in one allocation
  std::unique_ptr<simpang::v1::wire::PublishReject> rejections;  // null while none was rejected
};

// A further rule a publisher's events must meet beyond check_event (a partner's rights: the types
// and sources it may publish). Consulted for each event that passed the shared checks; it counts
// and logs its own refusals (the intake does not log them again). Thread rule: the loop thread.
class EventGate {
 public:
  virtual ~EventGate() = default;
  // Why `publisher` may not publish `event` (valid UTF-8), or empty when it may.
  virtual std::string refusal(std::string_view publisher, const simpang::v1::Event& event) = 0;
};

// Counters, monotonic since start.
struct IntakeCounters {
  uint64_t published = 0;           // events accepted and made durable
  uint64_t duplicates = 0;          // events published again within the de-duplication window
  uint64_t rejected = 0;            // events refused (malformed, missing required attributes)
  uint64_t unrouted = 0;            // accepted events no route matched
  std::vector<uint64_t> per_route;  // deliveries each route produced (event x destination)
};

// Thread rule: every method runs on the loop thread, except what submit()'s `done` does, which
// runs on the journal's writer thread.
class PublishIntake {
 public:
  using SystemClock = std::chrono::system_clock;
  using AppendResult = StatusOr<std::vector<AppendedEvent>>;

  // OWNERSHIP: borrows `journal`, which outlives the intake.
  PublishIntake(Journal& journal, std::shared_ptr<spdlog::logger> logger, size_t route_count);

  // Validates and routes the events of `publish` from instance `publisher` into `routed`, moving
  // the accepted events' bytes out of `publish`, and returns the batch for the journal (with the
  // publisher's cursors). Rejected events get a reason in routed.rejections.
  // `gate`, when given, is asked about every event that meets the shared rules.
  AppendBatch admit(const std::string& publisher, simpang::v1::wire::Publish& publish,
                    const RouteTable& table, RoutedPublish& routed, EventGate* gate = nullptr);
  // admit(), then hands the batch to the journal. `done(routed, result)` runs on the journal's
  // writer thread once the batch is durable or failed: it must post to the loop, and nothing
  // else. `identity` is where the reply will go.
  template <typename Done>
  void submit(std::string identity, const std::string& publisher,
              simpang::v1::wire::Publish& publish, const RouteTable& table, Done done,
              EventGate* gate = nullptr);
  // A completed append, back on the loop: counts it, calls enqueue(destination index, Pending)
  // for every delivery of every event that is not a duplicate (accepted at `now`), and fills
  // `reply` (the ack, or the reject naming the refused events). Returns false when the journal
  // failed: `reply` then asks the publisher to retry later, and must be sent at once.
  template <typename Enqueue>
  bool complete(RoutedPublish& routed, AppendResult result, SystemClock::time_point now,
                simpang::v1::wire::Frame& reply, Enqueue&& enqueue);

  // ---- Back-pressure
  // Sends `reply` to `identity` through send(identity, frame), or holds it while the journal is
  // full (or earlier replies are held: replies keep their order).
  template <typename Send>
  void answer(const std::string& identity, const simpang::v1::wire::Frame& reply, Send&& send);
  // Sends held replies, oldest first, through send_bytes(identity, bytes) while the journal has
  // room.
  template <typename SendBytes>
  void release_held(SendBytes&& send_bytes);
  // The peer is gone: its held replies are moot (it publishes those batches again after its
  // next hello).
  void drop_held(const std::string& identity);
  size_t held() const { return held_.size(); }

  // Publishes handed to the journal and not completed yet.
  uint64_t appends_in_progress() const { return appends_in_progress_; }
  const IntakeCounters& counters() const { return counters_; }
  // How many distinct unrouted event types are remembered (each logged once); bounded.
  size_t unrouted_types_remembered() const { return unrouted_types_.size(); }
  // A reload added routes: their counters start at zero.
  void set_route_count(size_t routes) { counters_.per_route.resize(routes, 0); }
  // Events refused before they reached the intake (a whole batch over max_batch).
  void count_rejected(uint64_t events) { counters_.rejected += events; }
  // The limits every event is checked against (simpang/base/event_rules.h); the defaults until set.
  void set_limits(const EventLimits& limits) { limits_ = limits; }

 private:
  void count_unrouted(const RoutedPublish& routed, const RoutedEvent& event);
  bool failed(RoutedPublish& routed, const Status& status, simpang::v1::wire::Frame& reply);
  void hold(const std::string& identity, const simpang::v1::wire::Frame& reply);

  // Types no route matched, to log each new one once; looked up by view, without a string.
  struct TypeHash {
    using is_transparent = void;
    size_t operator()(std::string_view type) const { return std::hash<std::string_view>{}(type); }
  };

  Journal& journal_;
  std::shared_ptr<spdlog::logger> logger_;
  EventLimits limits_;
  LogLimiter rejection_log_;  // a publisher sending bad events costs the log a few lines
  IntakeCounters counters_;
  uint64_t appends_in_progress_ = 0;
  std::deque<std::pair<std::string, std::string>> held_;  // (peer, frame) while journal full
  std::unordered_map<std::string, uint64_t, TypeHash, std::equal_to<>> unrouted_types_;
  // Reused per event, so the hot path allocates no message.
  simpang::v1::Event event_;  // the attributes of the event being admitted (see wire_codec.h)
  std::vector<RouteTarget> targets_;
};

template <typename Done>
void PublishIntake::submit(std::string identity, const std::string& publisher,
                           simpang::v1::wire::Publish& publish, const RouteTable& table, Done done,
                           EventGate* gate) {
  auto routed = std::make_shared<RoutedPublish>();
  routed->identity = std::move(identity);
  routed->batch = publish.batch();
  AppendBatch batch = admit(publisher, publish, table, *routed, gate);
  ++appends_in_progress_;
  journal_.append(std::move(batch),
                  [routed = std::move(routed), done = std::move(done)](
                      AppendResult result) mutable { done(std::move(routed), std::move(result)); });
}

template <typename Enqueue>
bool PublishIntake::complete(RoutedPublish& routed, AppendResult result,
                             SystemClock::time_point now, simpang::v1::wire::Frame& reply,
                             Enqueue&& enqueue) {
  --appends_in_progress_;
  if (!result.ok()) {
    return failed(routed, result.status(), reply);
  }
  uint32_t accepted = 0;
  for (size_t i = 0; i < result->size(); ++i) {
    const AppendedEvent& appended = (*result)[i];
    const RoutedEvent& event = routed.events[i];
    ++accepted;
    if (appended.duplicate) {
      ++counters_.duplicates;
      continue;
    }
    ++counters_.published;
    if (event.target_count == 0) {
      count_unrouted(routed, event);
      continue;
    }
    for (uint32_t t = 0; t < event.target_count; ++t) {
      const RouteTarget& target = routed.targets[event.first_target + t];
      ++counters_.per_route[target.route];
      Pending pending;
      pending.id = appended.delivery_ids[t];
      pending.event = event.event;
      pending.route = target.route;
      pending.accepted_at = now;
      enqueue(target.destination, std::move(pending));
    }
  }
  if (routed.rejections) {
    routed.rejections->set_batch(routed.batch);
    routed.rejections->set_accepted(accepted);
    *reply.mutable_publish_reject() = std::move(*routed.rejections);
  } else {
    auto* ack = reply.mutable_publish_ack();
    ack->set_batch(routed.batch);
    ack->set_accepted(accepted);
  }
  return true;
}

template <typename Send>
void PublishIntake::answer(const std::string& identity, const simpang::v1::wire::Frame& reply,
                           Send&& send) {
  if (journal_.full() || !held_.empty()) {
    // Back-pressure: the publisher's window closes until the journal has room again.
    hold(identity, reply);
    return;
  }
  send(identity, reply);
}

template <typename SendBytes>
void PublishIntake::release_held(SendBytes&& send_bytes) {
  while (!held_.empty() && !journal_.full()) {
    auto [identity, bytes] = std::move(held_.front());
    held_.pop_front();
    send_bytes(identity, bytes);
  }
}

}  // namespace simpang::hub
