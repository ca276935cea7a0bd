// The partner door's rules: who the configured partners are, what each may publish (the router's
// type patterns and a source prefix), and what its traffic may cost (token buckets for events/s
// and bytes/s, a window of unacknowledged batches). The broker owns the door's CURVE socket
// (broker_door.cc) and asks this room; it holds no socket and no clock, so it is tested alone.
//
//   PartnerDoor door(logger);
//   std::vector<std::string> revoked = door.set_partners(config.partners);  // again on reload
//   const PartnerDoor::Partner* acme = door.find("acme");
//   std::string why = door.refusal("acme", event);          // EventGate: empty when allowed
//   Clock::time_point ack_at = door.charge("acme", 10, 4096, now);  // when its ack may go
//
// Identity: a connection on the door is the partner its CURVE key maps to (the ZAP User-Id).
// In the broker's peer table a door connection's key is door_identity(routing id): a prefix no
// connection on the local socket may use (the broker refuses it there), so the two sockets'
// routing ids never meet. Thread rule: the loop thread only.
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/log_limiter.h"
#include "config/partners_config.h"
#include "core/publish_intake.h"
#include "simpang/base/type_pattern.h"

namespace simpang::hub {

// Counters of the door, monotonic since start.
struct PartnerDoorCounters {
  uint64_t events_refused = 0;       // events a partner may not publish (type or source)
  uint64_t connections_refused = 0;  // hellos refused: over max_connections, revoked, mismatched
  uint64_t acks_delayed = 0;         // acks held back by a partner's events/s or bytes/s quota
  uint64_t disconnected = 0;         // live connections closed because their partner was revoked
  uint64_t backlog_refused = 0;      // batches told to retry later: over quotas.max_backlog
};

class PartnerDoor final : public EventGate {
 public:
  using Clock = std::chrono::steady_clock;

  struct Partner {
    std::string name;
    std::string curve_public_key;  // Z85; empty when the partner has none
    std::vector<TypePattern> types;
    std::string source_prefix;
    PartnerQuotas quotas;
    // The token buckets, as GCRA "theoretical arrival times": each batch pushes them on by its
    // cost at the quota's rate; an ack may go once both are within one second of now.
    Clock::time_point events_due{};
    Clock::time_point bytes_due{};
    // Deliveries of its events not yet done (acked or dead-lettered), counted in this run while
    // quotas.max_backlog is set.
    uint64_t backlog = 0;
  };

  explicit PartnerDoor(std::shared_ptr<spdlog::logger> logger);

  // The door's key of a connection with `routing_id`, and back. Thread rule: none.
  static std::string door_identity(std::string_view routing_id);
  static bool is_door_identity(std::string_view identity);
  static std::string_view routing_id_of(std::string_view door_identity);

  // Replaces the partners (the configuration's, possibly reloaded) and returns the names of those
  // whose live connections must be closed: removed, or their CURVE key changed. A partner whose
  // rights or quotas changed keeps its connections and its buckets; the new rules apply to its
  // next batch. Patterns were validated by the configuration; one that does not compile is logged
  // and skipped (it grants nothing).
  std::vector<std::string> set_partners(const std::vector<PartnerConfig>& partners);
  const Partner* find(std::string_view name) const;
  // Z85 public key -> partner name, for the ZAP handler.
  std::map<std::string, std::string> keys() const;

  // EventGate: why `publisher` may not publish `event` (its type is not among its patterns, or
  // its source lies outside its prefix), counted and logged (rate-limited) with partner= type=
  // source=; empty when it may. A publisher that is not a partner is refused.
  std::string refusal(std::string_view publisher, const simpang::v1::Event& event) override;

  // A batch of `events` events and `bytes` bytes from `partner` arrived at `now`: charges its
  // buckets and returns when its ack may go (`now` when within quota). Counts a delay.
  Clock::time_point charge(std::string_view partner, uint32_t events, uint64_t bytes,
                           Clock::time_point now);

  // quotas.max_backlog: whether `partner` has one (its deliveries are then counted); why batch
  // `batch` must wait (PublishReject.retry_later), or empty; and a delivery of its events made
  // or done.
  bool counts_backlog(std::string_view partner) const;
  std::string backlog_refusal(std::string_view partner, uint64_t batch) const;
  void add_backlog(std::string_view partner);
  void release_backlog(std::string_view partner);

  // The partner's window of unacknowledged batches: its quota, or `hub_default`.
  uint32_t max_unacked(std::string_view partner, uint32_t hub_default) const;

  PartnerDoorCounters& counters() { return counters_; }
  const PartnerDoorCounters& counters() const { return counters_; }
  LogLimiter& connection_log() { return connection_log_; }

 private:
  std::shared_ptr<spdlog::logger> logger_;
  std::map<std::string, Partner, std::less<>> partners_;
  PartnerDoorCounters counters_;
  LogLimiter refusal_log_;
  LogLimiter connection_log_;
};

}  // namespace simpang::hub
