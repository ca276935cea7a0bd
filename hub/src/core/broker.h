// The broker: the hub's ROUTER socket and everything that happens on it. It speaks the wire
// protocol with every peer, routes each published event through the RouteTable into per-destination
// queues, and delivers those queues within each consumer's credit, redelivering what a consumer
// lost (it left, went silent, or asked for a retry).
//
// Without a journal (this version) "accepted" means routed into memory: an event is acked to its
// publisher once it is queued for every destination. Queues are bounded: when a destination's queue
// is full, publishers' acks are held back, so their windows close and they slow down.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/logger.h>

#include "common/asio.h"
#include "config/config.h"
#include "core/zmq_watcher.h"
#include "router/route_table.h"
#include "simpang/sdk/status.h"
#include "simpang/v1/wire.pb.h"

namespace simpang::hub {

struct BrokerOptions {
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds summary_interval{5000};  // 0: no periodic summary
  uint32_t max_batch = 512;       // most deliveries per Deliver frame; most events per Publish
  uint32_t max_unacked = 8;       // Publish batches a peer may have unacknowledged
  uint32_t queue_limit = 100000;  // queued events per destination before acks are held back
};

// A configured instance, as the broker needs to know it.
struct InstanceInfo {
  std::string name;
  bool consumes = false;  // a sink or transform: may be a destination
};

// Counters, read on the loop thread. Monotonic since start.
struct BrokerStats {
  uint64_t published = 0;  // events accepted from publishers
  uint64_t rejected = 0;   // events refused (malformed, missing required attributes)
  uint64_t unrouted = 0;   // accepted events no route matched
  uint64_t delivered = 0;  // deliveries acked by consumers
  uint64_t retried = 0;    // deliveries redelivered (nack-retryable, consumer lost)
  uint64_t dead = 0;       // deliveries nacked as fatal
  uint64_t queued = 0;     // now: waiting for a consumer or for a retry
  uint64_t in_flight = 0;  // now: delivered and not yet settled
  std::vector<uint64_t> per_route;        // events each route matched, by route index
  std::vector<uint64_t> per_destination;  // deliveries acked, by destination index
};

class Broker {
 public:
  // OWNERSHIP: borrows `io` and `zmq_context`, which outlive the broker. Thread rule: every
  // method is called on the io_context's thread, and the broker is destroyed after that
  // io_context has stopped running.
  Broker(boost::asio::io_context& io, void* zmq_context, std::unique_ptr<RouteTable> routes,
         std::vector<InstanceInfo> instances, BrokerOptions options,
         std::shared_ptr<spdlog::logger> logger);
  ~Broker();

  // Binds the ROUTER socket to every endpoint and starts serving.
  Status start(const std::vector<std::string>& endpoints);
  // Says goodbye to every peer and closes the socket. Undelivered events are reported in the log.
  void stop();

  BrokerStats stats() const;
  // Events accepted but not yet acked by every destination (queued, in flight or awaiting retry).
  uint64_t outstanding() const;
  // Logs one summary line now.
  void log_summary();

 private:
  struct Pending {
    std::shared_ptr<const std::string> event;  // serialized Event, shared by all its destinations
    uint32_t route = 0;
    uint32_t attempt = 1;
  };
  struct Destination {
    std::string name;
    std::string peer;  // routing id of the connected consumer, empty while none
    uint32_t credit = 0;
    std::deque<Pending> queue;
    std::map<uint64_t, Pending> in_flight;  // by delivery id, so requeueing keeps the order
    std::multimap<std::chrono::steady_clock::time_point, Pending> retry;
    std::unique_ptr<boost::asio::steady_timer> retry_timer;
    std::chrono::steady_clock::time_point retry_timer_due{};
  };
  struct Peer {
    std::string instance;
    bool produces = false;
    int destination = -1;  // index into destinations_ when the peer consumes
    std::chrono::steady_clock::time_point last_heard;
    std::chrono::steady_clock::time_point last_sent;
  };

  void on_ready();
  void handle_message(const std::string& identity, const void* data, size_t size);
  void handle_hello(const std::string& identity, const simpang::v1::wire::Hello& hello);
  void handle_publish(Peer& peer, const std::string& identity,
                      simpang::v1::wire::Publish& publish);
  void handle_settle(Peer& peer, const simpang::v1::wire::Settle& settle);
  void handle_credit(Peer& peer, uint32_t credit);
  void forget_peer(const std::string& identity, const char* why);
  void requeue_in_flight(Destination& destination);
  void dispatch(Destination& destination);
  void schedule_retry(Destination& destination, Pending pending);
  void arm_retry_timer(Destination& destination);
  void release_held_acks();
  bool any_destination_full() const;
  void send(const std::string& identity, const simpang::v1::wire::Frame& frame);
  void send_bytes(const std::string& identity, const std::string& bytes);
  void on_heartbeat_timer();
  void on_summary_timer();

  boost::asio::io_context& io_;
  void* zmq_context_;
  std::unique_ptr<RouteTable> routes_;
  BrokerOptions options_;
  std::shared_ptr<spdlog::logger> logger_;

  void* socket_ = nullptr;
  std::unique_ptr<ZmqWatcher> watcher_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer summary_timer_;

  std::unordered_map<std::string, InstanceInfo> instances_;    // configured, by name
  std::unordered_map<std::string, Peer> peers_;                // connected, by routing id
  std::vector<Destination> destinations_;                      // RouteTable::destinations() order
  std::unordered_map<std::string, int> destination_index_;     // by instance name
  std::deque<std::pair<std::string, std::string>> held_acks_;  // (peer, frame) while queues full

  BrokerStats stats_;
  uint64_t next_delivery_id_ = 1;
  std::minstd_rand jitter_{std::random_device{}()};
  std::unordered_map<std::string, uint64_t> unrouted_types_;  // to log each new type once

  // Reused per message, to avoid allocating on the hot path.
  simpang::v1::wire::Frame in_frame_;
  simpang::v1::Event event_;
  std::vector<RouteTarget> targets_;
  std::vector<bool> touched_;  // destinations that got events from the current publish
};

}  // namespace simpang::hub
