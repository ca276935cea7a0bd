// The broker: the hub's ROUTER socket and everything that happens on it. It speaks the wire
// protocol with every peer, routes each published event through the RouteTable, has the journal
// make it durable, acknowledges the publisher once it is, and delivers to each destination within
// that consumer's credit: retrying with backoff, dead-lettering what cannot be delivered, keeping
// per-subject order where a route asks for it, and redelivering what a lost consumer had.
//
// Memory is bounded per destination: a destination holds at most `memory_limit` deliveries in
// memory; the rest stay in the journal and are paged in as it catches up, so a slow or stuck
// destination never slows the others. Publishers are slowed (their acks held back) only when the
// journal itself is full.
//
// The broker owns the socket, the timers and the journal reader thread, and wires together the
// rooms that decide: PeerTable (who is connected, liveness), PublishIntake (validation, routing,
// the journal append, held acks), Destination (queues, ordering, retries, dead letters, paging)
// and plan_reload (what a reload changes). Each of those can be tested without a socket.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <google/protobuf/arena.h>
#include <spdlog/logger.h>
#include <zmq.h>

#include "common/asio.h"
#include "common/log_limiter.h"
#include "config/partners_config.h"
#include "core/destination.h"
#include "core/partner_door.h"
#include "core/peer_table.h"
#include "core/publish_intake.h"
#include "core/route_policies.h"
#include "core/zmq_watcher.h"
#include "journal/journal.h"
#include "router/route_table.h"
#include "security/zap_handler.h"
#include "simpang/base/event_rules.h"
#include "simpang/base/status.h"
#include "simpang/v1/wire.pb.h"

namespace simpang::hub {

struct BrokerOptions {
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds summary_interval{5000};  // 0: no periodic summary
  uint32_t max_batch = 512;         // most deliveries per Deliver frame; most events per Publish
  // Publish batches a peer may have unacknowledged; a Publish beyond them is refused with
  // PublishReject.retry_later (never buffered), which the SDK never provokes.
  uint32_t max_unacked = 8;
  uint32_t memory_limit = 100000;   // deliveries per destination held in memory; more wait on disk
  // One message on the socket (ZMQ_MAXMSGSIZE): a larger one makes ZeroMQ close its connection
  // before the message is ever held whole. Also bounds each peer's receive queue (see start()).
  uint32_t max_frame_bytes = 16 * 1024 * 1024;
  EventLimits limits;               // what each event is checked against
};

// A configured instance, as the broker needs to know it.
struct InstanceInfo {
  std::string name;
  bool consumes = false;  // a sink or transform: may be a destination
};

// Counters, read on the loop thread. Monotonic since start unless marked "now".
struct BrokerStats {
  uint64_t published = 0;   // events accepted from publishers and made durable
  uint64_t duplicates = 0;  // events published again within the de-duplication window
  uint64_t rejected = 0;    // events refused (malformed, missing required attributes)
  uint64_t unrouted = 0;    // accepted events no route matched
  uint64_t delivered = 0;   // deliveries acked by consumers
  uint64_t retried = 0;     // deliveries scheduled again (nack-retryable, consumer lost)
  uint64_t dead = 0;        // deliveries moved to the dead-letter queue
  uint64_t queued = 0;      // now: in memory, waiting for a consumer or a retry
  uint64_t in_flight = 0;   // now: delivered and not yet settled
  uint64_t on_disk = 0;     // now: destinations with deliveries waiting in the journal only
  // The doors: every refusal is answered to the peer, logged (rate-limited) and counted here.
  uint64_t bad_frames = 0;       // messages that are not a wire Frame (garbage, empty, truncated)
  uint64_t refused = 0;          // hellos refused, and frames from peers not welcomed
  uint64_t batches_refused = 0;  // Publish frames refused whole: over max_batch or max_unacked
  PartnerDoorCounters door;      // the partner door's (all zero while it is closed)
  std::vector<uint64_t> per_route;        // deliveries each route produced, by route index
  std::vector<uint64_t> per_destination;  // deliveries acked, by destination index
};

// One destination as the broker reports it (see DestinationDepth).
struct DestinationStatus {
  std::string name;
  bool connected = false;  // its consumer is connected and welcomed
  DestinationDepth depth;
};

// One route as the broker reports it.
struct RouteStatus {
  std::string name;
  bool active = false;   // in this run's configuration (a removed route stays, inactive)
  uint64_t deliveries = 0;  // deliveries it produced: one per event per destination it gave
};

class Broker {
 public:
  // OWNERSHIP: borrows `io`, `zmq_context` and `journal`, which outlive the broker. Thread rule:
  // every method is called on the io_context's thread, and the broker is destroyed after that
  // io_context has stopped running. `routes` are this run's route configs, index-aligned with the
  // compiled table.
  Broker(boost::asio::io_context& io, void* zmq_context, Journal& journal,
         std::unique_ptr<RouteTable> table, std::vector<RouteConfig> routes,
         std::vector<InstanceInfo> instances, BrokerOptions options,
         std::shared_ptr<spdlog::logger> logger);
  ~Broker();

  // Binds the ROUTER socket to every endpoint, loads what the journal owes, and starts serving.
  Status start(const std::vector<std::string>& endpoints);
  // Opens the partner door (broker_door.cc): the ZAP handler with the partners' keys, then a
  // CURVE-server ROUTER bound to door.listen. Nothing when door.listen is empty. REQUIRES: start()
  // succeeded; called before the loop runs, or on it.
  Status open_door(const PartnerDoorConfig& door, const std::vector<PartnerConfig>& partners);
  // The door's endpoint as bound (the port chosen when listen asked for port 0); empty if closed.
  const std::string& door_endpoint() const { return door_endpoint_; }
  // A reload's partners: the ZAP handler gets the new keys; live connections of a partner removed
  // or whose key changed are told (Refused), closed, and refused if they speak again.
  void reload_partners(const std::vector<PartnerConfig>& partners);
  // Says goodbye to every peer and closes the socket.
  void stop();
  // The journal carried out a replay for these destinations: load what it added.
  void on_replay(const ReplayNotice& notice);
  // Applies a reloaded configuration's routes and instances atomically (between two messages).
  // Destinations and routes keep their indices; new ones are appended and named to the journal.
  // A route that is gone matches nothing more; what was already queued for it is still delivered.
  Status reload(const std::vector<RouteConfig>& routes, std::vector<InstanceInfo> instances);
  // Tells `connected` when an instance has been welcomed and `lost` when one disconnects without
  // saying goodbye or goes silent (with why), so a supervisor can restart it.
  void set_peer_observer(std::function<void(const std::string&)> connected,
                         std::function<void(const std::string&, const std::string&)> lost);

  BrokerStats stats() const;
  // Whether `instance` is connected and welcomed now.
  bool is_connected(const std::string& instance) const {
    const std::string* identity = peers_.identity_of(instance);
    const PeerTable::Peer* peer = identity != nullptr ? peers_.find(*identity) : nullptr;
    return peer != nullptr && peer->welcomed;
  }
  // The token the hub issued to the current run of `instance` (a thread it created, a process it
  // spawned): only a Hello carrying it is welcomed as that instance. A new token for a new run
  // makes the old run's session stale: its next hello is refused, and the new run's hello
  // replaces it. An empty token withdraws it (the instance is not running).
  void set_instance_token(const std::string& instance, std::string token);
  // Every destination, by index (the route table's order).
  std::vector<DestinationStatus> destinations() const;
  // Every route, by index.
  std::vector<RouteStatus> routes() const;
  // The latest metrics each instance sent (Context::count / gauge), by instance name.
  const std::map<std::string, simpang::v1::wire::Metrics>& plugin_metrics() const {
    return plugin_metrics_;
  }
  // Deliveries owed to connected consumers and not yet settled, plus publishes not yet durable:
  // what a graceful shutdown waits for. Deliveries to consumers that are not connected wait in the
  // journal and do not count.
  uint64_t outstanding() const;
  void log_summary();

 private:
  // A destination with the timer that wakes it for retries.
  struct Slot {
    Slot(uint32_t index, std::string name, const DestinationEnv& env, boost::asio::io_context& io)
        : destination(index, std::move(name), env), retry_timer(io) {}
    Destination destination;
    boost::asio::steady_timer retry_timer;
    std::chrono::steady_clock::time_point retry_timer_due{};  // what it is armed for; {}: not
  };

  void add_destination(const std::string& name);
  void on_ready();
  void handle_message(const std::string& identity, const void* data, size_t size);
  // A message that is not a wire Frame: refused, counted, logged at a limited rate.
  void handle_bad_frame(const std::string& identity, size_t size, const char* what);
  // Answers `identity` with Refused{reason}, counts it and logs it (rate-limited by `limiter`).
  void refuse(const std::string& identity, const std::string& reason, LogLimiter& limiter);
  // Whether a Publish may go to the intake; otherwise it was answered with a PublishReject.
  bool admit_publish(PeerTable::Peer& peer, const std::string& identity,
                     const simpang::v1::wire::Publish& publish);
  // The peer's reply to a Publish goes out: one batch fewer unacknowledged.
  void answered(const std::string& identity);
  void handle_hello(const std::string& identity, const simpang::v1::wire::Hello& hello);
  void welcome(const std::string& identity, uint64_t session,
               StatusOr<std::map<std::string, std::string>> cursors);
  void handle_publish(PeerTable::Peer& peer, const std::string& identity,
                      simpang::v1::wire::Publish& publish);
  void on_appended(std::shared_ptr<RoutedPublish> routed, PublishIntake::AppendResult result);
  void handle_settle(PeerTable::Peer& peer, const simpang::v1::wire::Settle& settle);
  void handle_credit(PeerTable::Peer& peer, uint32_t credit);
  // The peer left the table, for `loss`: what its destination had in flight goes out again, its
  // held acks are dropped, and a supervisor hears of an unexpected loss.
  void forget_peer(const std::string& identity, PeerLoss loss);

  // ---- The partner door (broker_door.cc)
  using Clock = std::chrono::steady_clock;
  struct DoorConnection {
    std::string partner;  // the ZAP User-Id its CURVE key mapped to
    int fd = -1;          // its TCP connection (ZMQ_SRCFD), to close it when it is revoked
    std::deque<Clock::time_point> ack_at;  // per unanswered batch: when its ack may go (quotas)
    std::deque<std::pair<Clock::time_point, std::string>> delayed;  // acks waiting for their time
  };
  void close_door();
  void on_door_ready();
  // A door connection left the peer table for `loss`: its delayed acks go; a silent or garbling
  // one has its TCP connection closed.
  void forget_door_connection(const std::string& identity, PeerLoss loss);
  // Connections accepted and closed on the door socket (its monitor): the max_connections limit.
  void on_door_monitor();
  void handle_partner_hello(const std::string& identity, const simpang::v1::wire::Hello& hello);
  // Answers `identity` with Refused{reason}, counts and logs it, forgets its session and, when
  // `close`, shuts its TCP connection (door_fd_) down after a grace period.
  void refuse_door(const std::string& identity, const std::string& reason, bool close = true);
  void shut_down_later(int fd);
  // Whether a partner's Publish may go on (otherwise it was answered: over its max_backlog); if
  // so charges its quotas, recording when its ack may go.
  bool admit_partner_publish(const std::string& identity,
                             const simpang::v1::wire::Publish& publish);
  // The partner whose deliveries are counted for the publish answered to `identity`, or null.
  const std::string* backlog_partner(const std::string& identity) const;
  void track_backlog(const std::string& partner, uint64_t delivery_id);
  // Deliveries acked or dead-lettered in `updates` no longer count in their partners' backlogs.
  void release_backlog(const std::vector<DeliveryUpdate>& updates);
  // The reply to a partner's Publish: sent now, or when its quota allows (in order).
  void door_reply(const std::string& identity, std::string bytes);
  void arm_door_timer();
  // The reply to a publisher's Publish, through the door's quotas for a partner.
  void reply_to_publisher(const std::string& identity, const simpang::v1::wire::Frame& frame);
  uint32_t max_unacked_of(const PeerTable::Peer& peer, const std::string& identity) const;
  // A message on the local socket from a routing id in the door's namespace: refused there.
  void refuse_reserved_identity(const std::string& identity, zmq_msg_t& body);

  // Sends what the destination's credit allows, then pages from the journal if it is behind.
  void dispatch(Slot& slot);
  void arm_retry_timer(Slot& slot);
  void maybe_load(Slot& slot);
  void flush_updates();
  void release_held_acks();
  void send(const std::string& identity, const simpang::v1::wire::Frame& frame);
  void send_bytes(const std::string& identity, const std::string& bytes);
  // Sends `message` (a whole Frame) to the peer, handing its buffer to ZeroMQ without a copy.
  // OWNERSHIP: takes `message`; it is closed or sent either way.
  void send_message(const std::string& identity, zmq_msg_t& message);
  void on_heartbeat_timer();
  void on_summary_timer();

  boost::asio::io_context& io_;
  void* zmq_context_;
  Journal& journal_;
  std::unique_ptr<RouteTable> table_;
  RoutePolicies policies_;
  BrokerOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  // Journal reads (paging, cursors) run here, off the loop, one at a time.
  boost::asio::thread_pool reader_{1};

  void* socket_ = nullptr;
  std::unique_ptr<ZmqWatcher> watcher_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer summary_timer_;

  std::unordered_map<std::string, InstanceInfo> instances_;    // configured, by name
  std::unordered_map<std::string, std::string> tokens_;        // the current run's, by instance
  // Counters of the doors (BrokerStats), and the rate limits of their log lines.
  uint64_t bad_frames_ = 0;
  uint64_t refused_ = 0;
  uint64_t batches_refused_ = 0;
  LogLimiter bad_frame_log_;
  LogLimiter refused_log_;
  LogLimiter batch_log_;
  PeerTable peers_;
  PeerTable::Sweep sweep_;                                      // reused by the heartbeat timer
  // What every destination consults; declared before slots_, which refer to it.
  std::vector<DeliveryUpdate> updates_;                        // settlements to record
  RetryJitter jitter_;
  simpang::v1::Event load_scratch_;                            // parses rows paged in
  DestinationEnv env_;
  // RouteTable::destinations() order. A deque: a reload appends, and timers hold references.
  std::deque<Slot> slots_;
  std::unordered_map<std::string, int> destination_index_;     // by instance name
  PublishIntake intake_;

  // The latest metrics each instance sent (Context::count / gauge), by instance name.
  std::map<std::string, simpang::v1::wire::Metrics> plugin_metrics_;
  std::function<void(const std::string&)> on_connected_;
  std::function<void(const std::string&, const std::string&)> on_lost_;

  // Incoming frames are parsed on this arena, reset per message, so a Publish's messages and
  // strings cost no malloc/free each. Its first block is ours and kept across resets.
  std::unique_ptr<char[]> arena_block_;
  std::unique_ptr<google::protobuf::Arena> arena_;
  std::vector<bool> touched_;  // destinations that got deliveries from the current completion

  // The partner door; all null / empty while it is closed.
  std::unique_ptr<PartnerDoor> door_;
  std::unique_ptr<ZapHandler> zap_;
  void* door_socket_ = nullptr;
  std::unique_ptr<ZmqWatcher> door_watcher_;
  void* door_monitor_ = nullptr;  // PAIR reading the door socket's connection events
  std::unique_ptr<ZmqWatcher> door_monitor_watcher_;
  std::set<int> door_fds_;  // accepted connections now (their fds), within max_connections
  std::unique_ptr<boost::asio::steady_timer> door_timer_;  // releases delayed acks
  Clock::time_point door_timer_due_{};
  std::string door_endpoint_;
  uint32_t door_max_connections_ = 0;  // TCP connections open at once, counted as accepted
  std::unordered_map<std::string, DoorConnection> door_connections_;  // welcomed, by door identity
  std::set<std::string> revoked_;  // door identities closed by a reload
  // Deliveries counted in a partner's backlog (quotas.max_backlog), by delivery id: at most the
  // sum of the partners' max_backlog, plus the batches in flight.
  std::unordered_map<uint64_t, std::string> door_backlog_;
  // The message being handled came through the door: its partner (User-Id) and connection fd.
  std::string door_partner_;
  int door_fd_ = -1;
};

}  // namespace simpang::hub
