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
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <google/protobuf/arena.h>
#include <spdlog/logger.h>
#include <zmq.h>

#include "common/asio.h"
#include "config/config.h"
#include "core/zmq_watcher.h"
#include "journal/journal.h"
#include "router/route_table.h"
#include "simpang/sdk/status.h"
#include "simpang/v1/wire.pb.h"

namespace simpang::hub {

struct BrokerOptions {
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds summary_interval{5000};  // 0: no periodic summary
  uint32_t max_batch = 512;         // most deliveries per Deliver frame; most events per Publish
  uint32_t max_unacked = 8;         // Publish batches a peer may have unacknowledged
  uint32_t memory_limit = 100000;   // deliveries per destination held in memory; more wait on disk
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
  std::vector<uint64_t> per_route;        // events each route matched, by route index
  std::vector<uint64_t> per_destination;  // deliveries acked, by destination index
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
  // Deliveries owed to connected consumers and not yet settled, plus publishes not yet durable:
  // what a graceful shutdown waits for. Deliveries to consumers that are not connected wait in the
  // journal and do not count.
  uint64_t outstanding() const;
  void log_summary();

 private:
  struct Pending {
    uint64_t id = 0;                              // journal delivery id, also the wire delivery id
    std::shared_ptr<const std::string> event;     // serialized Event, shared by its destinations
    uint32_t route = 0;
    uint32_t attempts = 0;                        // deliveries tried so far
    std::chrono::system_clock::time_point accepted_at{};
    std::string subject;                          // set for routes with `ordering: subject`
  };
  struct Destination {
    uint32_t index = 0;                           // in destinations_ and the journal
    std::string name;
    std::string peer;                             // routing id of its consumer; empty while none
    uint32_t credit = 0;
    std::deque<Pending> queue;                    // ready to send
    std::map<uint64_t, Pending> in_flight;        // by id, so a requeue keeps the order
    std::multimap<std::chrono::steady_clock::time_point, Pending> retry;
    std::unique_ptr<boost::asio::steady_timer> retry_timer;
    std::chrono::steady_clock::time_point retry_timer_due{};
    // Ordered routes: the delivery holding each subject, and what waits behind it.
    std::unordered_map<std::string, uint64_t> subject_holder;
    std::unordered_map<std::string, std::deque<Pending>> subject_waiting;
    size_t waiting_count = 0;
    // Paging from the journal. Every delivery with id <= loaded_upto is in memory or settled;
    // ids above it wait in the journal alone.
    uint64_t loaded_upto = 0;
    uint64_t spilled_upto = 0;                    // highest id left in the journal alone
    bool rescan = true;                           // the journal may hold ids we have not seen
    uint64_t rescan_generation = 0;
    bool loading = false;

    size_t in_memory() const {
      return queue.size() + in_flight.size() + retry.size() + waiting_count;
    }
    bool behind() const { return rescan || spilled_upto > loaded_upto; }
  };
  struct Peer {
    std::string instance;
    bool produces = false;
    bool welcomed = false;
    int destination = -1;  // index into destinations_ when the peer consumes
    std::chrono::steady_clock::time_point last_heard;
    std::chrono::steady_clock::time_point last_sent;
  };
  // Per accepted event of a publish, what the completion needs once the journal has it.
  struct Routed {
    std::shared_ptr<const std::string> body;
    std::string subject;        // set for routes with `ordering: subject`
    std::string unrouted_type;  // set when no route matched
    uint32_t first_target = 0;  // its targets: RoutedBatch::targets[first_target..+target_count)
    uint32_t target_count = 0;
  };
  struct RoutedBatch {
    std::vector<Routed> events;
    std::vector<RouteTarget> targets;  // every event's, in one allocation
  };

  // The configuration of route `route`; a default one for a route no longer configured.
  const RouteConfig& route_config(uint32_t route) const;
  void on_ready();
  void handle_message(const std::string& identity, const void* data, size_t size);
  void handle_hello(const std::string& identity, const simpang::v1::wire::Hello& hello);
  void welcome(const std::string& identity, uint64_t session,
               StatusOr<std::map<std::string, std::string>> cursors);
  void handle_publish(Peer& peer, const std::string& identity,
                      simpang::v1::wire::Publish& publish);
  void on_appended(const std::string& identity, uint64_t batch,
                   std::shared_ptr<RoutedBatch> routed,
                   std::shared_ptr<simpang::v1::wire::PublishReject> rejections,
                   StatusOr<std::vector<AppendedEvent>> result);
  void handle_settle(Peer& peer, const simpang::v1::wire::Settle& settle);
  void handle_credit(Peer& peer, uint32_t credit);
  void forget_peer(const std::string& identity, const char* why);

  void enqueue(Destination& destination, Pending pending);
  void make_ready(Destination& destination, Pending pending, bool front);
  void release_subject(Destination& destination, const Pending& pending);
  void dispatch(Destination& destination);
  // Retries or dead-letters a delivery that failed with `error`, per its route's policy.
  void fail(Destination& destination, Pending pending, const std::string& error, bool fatal);
  void arm_retry_timer(Destination& destination);
  void maybe_load(uint32_t index);
  void on_loaded(uint32_t index, uint64_t spilled_upto, uint64_t generation, size_t limit,
                 StatusOr<std::vector<StoredDelivery>> rows);
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
  std::vector<RouteConfig> routes_;
  BrokerOptions options_;
  std::shared_ptr<spdlog::logger> logger_;
  // Journal reads (paging, cursors) run here, off the loop, one at a time.
  boost::asio::thread_pool reader_{1};

  void* socket_ = nullptr;
  std::unique_ptr<ZmqWatcher> watcher_;
  boost::asio::steady_timer heartbeat_timer_;
  boost::asio::steady_timer summary_timer_;

  std::unordered_map<std::string, InstanceInfo> instances_;    // configured, by name
  std::unordered_map<std::string, Peer> peers_;                // connected, by routing id
  std::unordered_map<std::string, uint64_t> sessions_;         // hello count per routing id
  // RouteTable::destinations() order. A deque: a reload appends, and timers hold references.
  std::deque<Destination> destinations_;
  std::unordered_map<std::string, int> destination_index_;     // by instance name
  std::deque<std::pair<std::string, std::string>> held_acks_;  // (peer, frame) while journal full
  std::vector<DeliveryUpdate> updates_;                        // settlements to record
  uint64_t appends_in_progress_ = 0;

  BrokerStats stats_;
  std::minstd_rand jitter_{std::random_device{}()};
  std::unordered_map<std::string, uint64_t> unrouted_types_;   // to log each new type once
  // The latest metrics each instance sent (Context::count / gauge), by instance name.
  std::map<std::string, simpang::v1::wire::Metrics> plugin_metrics_;
  std::function<void(const std::string&)> on_connected_;
  std::function<void(const std::string&, const std::string&)> on_lost_;

  // Incoming frames are parsed on this arena, reset per message, so a Publish's messages and
  // strings cost no malloc/free each. Its first block is ours and kept across resets.
  std::unique_ptr<char[]> arena_block_;
  std::unique_ptr<google::protobuf::Arena> arena_;
  // Reused per message, to avoid allocating on the hot path.
  simpang::v1::Event event_;  // the attributes of the event being published (see wire_codec.h)
  std::vector<RouteTarget> targets_;
  std::vector<bool> touched_;  // destinations that got deliveries from the current completion
};

}  // namespace simpang::hub
