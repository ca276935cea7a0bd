#include "core/broker.h"

#include <zmq.h>

#include <algorithm>
#include <sstream>

#include "simpang/version.h"

namespace simpang::hub {
namespace wire = simpang::v1::wire;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// A peer silent for this many heartbeat intervals is presumed dead; what it had is redelivered.
constexpr int kPeerLivenessIntervals = 3;
// Messages handled per readiness pass before yielding to timers and other handlers.
constexpr int kMessagesPerPass = 256;
constexpr milliseconds kRetryBaseDelay{100};
constexpr milliseconds kRetryMaxDelay{30000};

std::string zmq_error(const std::string& what) {
  return what + ": " + zmq_strerror(zmq_errno());
}

// Checks what every event must carry (CloudEvents 1.0 required attributes). Empty when valid.
std::string invalid_event_reason(const simpang::v1::Event& event) {
  if (event.id().empty()) {
    return "missing required attribute 'id'";
  }
  if (event.source().empty()) {
    return "event " + event.id() + ": missing required attribute 'source'";
  }
  if (event.type().empty()) {
    return "event " + event.id() + ": missing required attribute 'type'";
  }
  if (event.spec_version() != "1.0") {
    return "event " + event.id() + ": specversion must be \"1.0\", got \"" +
           event.spec_version() + "\"";
  }
  return {};
}

}  // namespace

Broker::Broker(boost::asio::io_context& io, void* zmq_context, std::unique_ptr<RouteTable> routes,
               std::vector<InstanceInfo> instances, BrokerOptions options,
               std::shared_ptr<spdlog::logger> logger)
    : io_(io),
      zmq_context_(zmq_context),
      routes_(std::move(routes)),
      options_(options),
      logger_(std::move(logger)),
      heartbeat_timer_(io),
      summary_timer_(io) {
  for (auto& instance : instances) {
    instances_.emplace(instance.name, instance);
  }
  for (const auto& name : routes_->destinations()) {
    destination_index_.emplace(name, static_cast<int>(destinations_.size()));
    Destination destination;
    destination.name = name;
    destination.retry_timer = std::make_unique<boost::asio::steady_timer>(io_);
    destinations_.push_back(std::move(destination));
  }
  stats_.per_route.assign(routes_->route_count(), 0);
  stats_.per_destination.assign(destinations_.size(), 0);
  touched_.assign(destinations_.size(), false);
}

Broker::~Broker() {
  watcher_.reset();
  if (socket_ != nullptr) {
    zmq_close(socket_);
  }
}

Status Broker::start(const std::vector<std::string>& endpoints) {
  socket_ = zmq_socket(zmq_context_, ZMQ_ROUTER);
  if (socket_ == nullptr) {
    return Status::Error(zmq_error("cannot create the hub's ROUTER socket"));
  }
  int on = 1;
  int zero = 0;
  // Report sends to peers that are gone instead of dropping them silently.
  zmq_setsockopt(socket_, ZMQ_ROUTER_MANDATORY, &on, sizeof(on));
  // A restarted plugin reconnects with the same routing id (its instance name) and takes over.
  zmq_setsockopt(socket_, ZMQ_ROUTER_HANDOVER, &on, sizeof(on));
  // Unlimited queues: credits and publish windows bound what is in flight, and a full queue would
  // make sends fail, which the loop cannot wait on.
  zmq_setsockopt(socket_, ZMQ_SNDHWM, &zero, sizeof(zero));
  zmq_setsockopt(socket_, ZMQ_RCVHWM, &zero, sizeof(zero));
  zmq_setsockopt(socket_, ZMQ_LINGER, &zero, sizeof(zero));
  for (const auto& endpoint : endpoints) {
    if (zmq_bind(socket_, endpoint.c_str()) != 0) {
      return Status::Error(zmq_error("cannot bind " + endpoint));
    }
    logger_->info("listening on {}", endpoint);
  }
  watcher_ = std::make_unique<ZmqWatcher>(io_, socket_, [this] { on_ready(); });
  watcher_->start();
  on_heartbeat_timer();
  if (options_.summary_interval.count() > 0) {
    summary_timer_.expires_after(options_.summary_interval);
    summary_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) {
        on_summary_timer();
      }
    });
  }
  return Status::Ok();
}

void Broker::stop() {
  heartbeat_timer_.cancel();
  summary_timer_.cancel();
  for (auto& destination : destinations_) {
    destination.retry_timer->cancel();
  }
  if (watcher_) {
    watcher_->stop();
  }
  wire::Frame bye;
  bye.mutable_bye()->set_reason("hub stopping");
  std::vector<std::string> identities;
  for (const auto& [identity, peer] : peers_) {
    identities.push_back(identity);
  }
  for (const auto& identity : identities) {
    send(identity, bye);
  }
  const uint64_t left = outstanding();
  if (left > 0) {
    logger_->error("stopping with {} events not delivered to every destination", left);
  }
}

// ---- Receiving ----------------------------------------------------------------------------------

void Broker::on_ready() {
  zmq_msg_t identity;
  zmq_msg_t body;
  zmq_msg_init(&identity);
  zmq_msg_init(&body);
  int handled = 0;
  while (watcher_->readable_now()) {
    if (++handled > kMessagesPerPass) {
      watcher_->poke();  // yield, and come back for the rest
      break;
    }
    if (zmq_msg_recv(&identity, socket_, ZMQ_DONTWAIT) < 0) {
      break;
    }
    // A ROUTER message is [identity, body]; anything longer is not ours, read and drop its rest.
    bool more = zmq_msg_more(&identity);
    if (!more) {
      continue;
    }
    if (zmq_msg_recv(&body, socket_, ZMQ_DONTWAIT) < 0) {
      break;
    }
    std::string id(static_cast<const char*>(zmq_msg_data(&identity)), zmq_msg_size(&identity));
    if (zmq_msg_more(&body)) {
      logger_->warn("peer={} sent a multipart message; the protocol uses one frame, dropping", id);
      while (zmq_msg_more(&body) && zmq_msg_recv(&body, socket_, ZMQ_DONTWAIT) >= 0) {
      }
      continue;
    }
    handle_message(id, zmq_msg_data(&body), zmq_msg_size(&body));
  }
  zmq_msg_close(&identity);
  zmq_msg_close(&body);
}

void Broker::handle_message(const std::string& identity, const void* data, size_t size) {
  if (!in_frame_.ParseFromArray(data, static_cast<int>(size))) {
    logger_->warn("peer={} sent a frame that is not a simpang.v1.wire.Frame ({} bytes)", identity,
                  size);
    return;
  }
  if (in_frame_.has_hello()) {
    handle_hello(identity, in_frame_.hello());
    return;
  }
  auto it = peers_.find(identity);
  if (it == peers_.end()) {
    // Typically a plugin whose hub restarted: it will say hello again when told.
    wire::Frame refused;
    refused.mutable_refused()->set_reason("unknown peer '" + identity + "': say hello first");
    send(identity, refused);
    return;
  }
  Peer& peer = it->second;
  peer.last_heard = Clock::now();
  switch (in_frame_.body_case()) {
    case wire::Frame::kPublish:
      handle_publish(peer, identity, *in_frame_.mutable_publish());
      break;
    case wire::Frame::kSettle:
      handle_settle(peer, in_frame_.settle());
      break;
    case wire::Frame::kCredit:
      handle_credit(peer, in_frame_.credit().credit());
      break;
    case wire::Frame::kHeartbeat:
      break;
    case wire::Frame::kBye:
      logger_->info("instance={} said goodbye: {}", peer.instance, in_frame_.bye().reason());
      forget_peer(identity, "said goodbye");
      break;
    default:
      logger_->warn("instance={} sent an unexpected frame (case {})", peer.instance,
                    static_cast<int>(in_frame_.body_case()));
      break;
  }
}

void Broker::handle_hello(const std::string& identity, const wire::Hello& hello) {
  auto refuse = [&](const std::string& reason) {
    logger_->error("refused peer={}: {}", identity, reason);
    wire::Frame frame;
    frame.mutable_refused()->set_reason(reason);
    send(identity, frame);
  };
  if (hello.instance() != identity) {
    return refuse("hello names instance '" + hello.instance() + "' but the connection is '" +
                  identity + "'");
  }
  auto known = instances_.find(hello.instance());
  if (known == instances_.end()) {
    return refuse("instance '" + hello.instance() + "' is not in the hub's configuration");
  }
  if (hello.protocol_version() != SIMPANG_WIRE_PROTOCOL_VERSION) {
    return refuse("wire protocol " + std::to_string(hello.protocol_version()) +
                  " is not supported; this hub speaks " +
                  std::to_string(SIMPANG_WIRE_PROTOCOL_VERSION));
  }
  if (peers_.count(identity) != 0) {
    // A reconnect or restart: what the old session had in flight is delivered again.
    forget_peer(identity, "said hello again");
  }
  Peer peer;
  peer.instance = hello.instance();
  peer.produces = hello.produces();
  peer.last_heard = Clock::now();
  if (hello.consumes()) {
    auto d = destination_index_.find(peer.instance);
    if (d != destination_index_.end()) {
      peer.destination = d->second;
      destinations_[d->second].peer = identity;
      destinations_[d->second].credit = 0;
    }
  }
  peers_.emplace(identity, peer);
  logger_->info("instance={} connected (plugin {}{}{})", peer.instance, hello.plugin(),
                hello.produces() ? ", publishes" : "", hello.consumes() ? ", consumes" : "");
  wire::Frame welcome;
  auto* w = welcome.mutable_welcome();
  w->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  w->set_heartbeat_ms(static_cast<uint32_t>(options_.heartbeat.count()));
  w->set_max_batch(options_.max_batch);
  w->set_max_unacked(options_.max_unacked);
  send(identity, welcome);
}

void Broker::forget_peer(const std::string& identity, const char* why) {
  auto it = peers_.find(identity);
  if (it == peers_.end()) {
    return;
  }
  if (it->second.destination >= 0) {
    Destination& destination = destinations_[it->second.destination];
    if (!destination.in_flight.empty()) {
      logger_->info("instance={} {}: redelivering {} unsettled events", it->second.instance, why,
                    destination.in_flight.size());
    }
    requeue_in_flight(destination);
    destination.peer.clear();
    destination.credit = 0;
  }
  // Acks held for this peer are moot: it resends those batches after it says hello again.
  std::erase_if(held_acks_, [&](const auto& held) { return held.first == identity; });
  peers_.erase(it);
}

void Broker::requeue_in_flight(Destination& destination) {
  // Back to the front, oldest first, so order per destination survives the redelivery.
  for (auto it = destination.in_flight.rbegin(); it != destination.in_flight.rend(); ++it) {
    ++it->second.attempt;
    destination.queue.push_front(std::move(it->second));
    ++stats_.retried;
  }
  destination.in_flight.clear();
}

// ---- Publishing ---------------------------------------------------------------------------------

void Broker::handle_publish(Peer& peer, const std::string& identity, wire::Publish& publish) {
  if (!peer.produces) {
    logger_->warn("instance={} published but said it does not; accepting anyway", peer.instance);
  }
  wire::Frame reply;
  wire::PublishReject* reject = nullptr;
  uint32_t accepted = 0;
  auto* events = publish.mutable_events();
  for (int i = 0; i < events->size(); ++i) {
    std::string& bytes = *events->Mutable(i);
    std::string reason;
    if (!event_.ParseFromString(bytes)) {
      reason = "not a valid simpang.v1.Event";
    } else {
      reason = invalid_event_reason(event_);
    }
    if (!reason.empty()) {
      if (reject == nullptr) {
        reject = reply.mutable_publish_reject();
      }
      auto* rejection = reject->add_rejected();
      rejection->set_index(static_cast<uint32_t>(i));
      rejection->set_reason(reason);
      ++stats_.rejected;
      logger_->warn("instance={} batch={} event {} rejected: {}", peer.instance, publish.batch(), i,
                    reason);
      continue;
    }
    ++accepted;
    ++stats_.published;
    targets_.clear();
    routes_->match(peer.instance, event_, targets_);
    if (targets_.empty()) {
      ++stats_.unrouted;
      auto [seen, first] = unrouted_types_.try_emplace(event_.type(), 0);
      if (first && unrouted_types_.size() <= 1024) {
        logger_->warn("instance={} event type={} matches no route (counted as unrouted)",
                      peer.instance, event_.type());
      }
      ++seen->second;
      continue;
    }
    // One copy of the bytes, shared by every destination; moved out of the frame, not copied.
    auto shared = std::make_shared<const std::string>(std::move(bytes));
    for (const auto& target : targets_) {
      destinations_[target.destination].queue.push_back(Pending{shared, target.route, 1});
      touched_[target.destination] = true;
      ++stats_.per_route[target.route];
    }
  }
  if (reject != nullptr) {
    reject->set_batch(publish.batch());
    reject->set_accepted(accepted);
  } else {
    auto* ack = reply.mutable_publish_ack();
    ack->set_batch(publish.batch());
    ack->set_accepted(accepted);
  }
  for (size_t d = 0; d < destinations_.size(); ++d) {
    if (touched_[d]) {
      touched_[d] = false;
      dispatch(destinations_[d]);
    }
  }
  if (any_destination_full() || !held_acks_.empty()) {
    // Back-pressure: the publisher's window closes until the queues drain.
    std::string bytes;
    reply.SerializeToString(&bytes);
    held_acks_.emplace_back(identity, std::move(bytes));
    return;
  }
  send(identity, reply);
}

bool Broker::any_destination_full() const {
  for (const auto& destination : destinations_) {
    if (destination.queue.size() + destination.retry.size() >= options_.queue_limit) {
      return true;
    }
  }
  return false;
}

void Broker::release_held_acks() {
  while (!held_acks_.empty() && !any_destination_full()) {
    auto [identity, bytes] = std::move(held_acks_.front());
    held_acks_.pop_front();
    send_bytes(identity, bytes);
  }
}

// ---- Delivering ---------------------------------------------------------------------------------

void Broker::dispatch(Destination& destination) {
  if (destination.peer.empty()) {
    return;
  }
  while (destination.credit > 0 && !destination.queue.empty()) {
    const uint32_t n = std::min<uint32_t>(
        {destination.credit, options_.max_batch, static_cast<uint32_t>(destination.queue.size())});
    wire::Frame frame;
    auto* deliveries = frame.mutable_deliver()->mutable_deliveries();
    deliveries->Reserve(static_cast<int>(n));
    for (uint32_t i = 0; i < n; ++i) {
      Pending pending = std::move(destination.queue.front());
      destination.queue.pop_front();
      auto* delivery = deliveries->Add();
      const uint64_t id = next_delivery_id_++;
      delivery->set_delivery_id(id);
      delivery->set_event(*pending.event);
      delivery->set_attempt(pending.attempt);
      delivery->set_route(routes_->route_name(pending.route));
      destination.in_flight.emplace_hint(destination.in_flight.end(), id, std::move(pending));
    }
    destination.credit -= n;
    send(destination.peer, frame);
  }
}

void Broker::handle_credit(Peer& peer, uint32_t credit) {
  if (peer.destination < 0) {
    return;  // a consumer no route delivers to
  }
  Destination& destination = destinations_[peer.destination];
  destination.credit += credit;
  dispatch(destination);
}

void Broker::handle_settle(Peer& peer, const wire::Settle& settle) {
  if (peer.destination < 0) {
    return;
  }
  Destination& destination = destinations_[peer.destination];
  for (const auto& settlement : settle.settlements()) {
    auto it = destination.in_flight.find(settlement.delivery_id());
    if (it == destination.in_flight.end()) {
      continue;  // settled already, or delivered by an earlier session and since redelivered
    }
    Pending pending = std::move(it->second);
    destination.in_flight.erase(it);
    switch (settlement.outcome()) {
      case wire::Settlement::ACK:
        ++stats_.delivered;
        ++stats_.per_destination[peer.destination];
        break;
      case wire::Settlement::NACK_RETRYABLE:
        logger_->debug("instance={} asked to retry (attempt {}): {}", destination.name,
                       pending.attempt, settlement.reason());
        schedule_retry(destination, std::move(pending));
        break;
      case wire::Settlement::NACK_FATAL:
      default: {
        // Until the journal's dead-letter queue exists, a fatal nack is logged with the event id
        // and counted; it is never dropped without a trace.
        simpang::v1::Event event;
        event.ParseFromString(*pending.event);
        ++stats_.dead;
        logger_->error("instance={} route={} rejected event id={} type={}: {}", destination.name,
                       routes_->route_name(pending.route), event.id(), event.type(),
                       settlement.reason().empty() ? "(no reason given)" : settlement.reason());
        break;
      }
    }
  }
  release_held_acks();
}

void Broker::schedule_retry(Destination& destination, Pending pending) {
  ++stats_.retried;
  // Exponential backoff with +-20% jitter, so many failed deliveries do not retry in lockstep.
  const int exponent = std::min<uint32_t>(pending.attempt - 1, 16);
  const milliseconds backoff = std::min<milliseconds>(kRetryMaxDelay, kRetryBaseDelay * (1LL << exponent));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const auto delay = milliseconds(static_cast<long long>(backoff.count() * jitter(jitter_)));
  ++pending.attempt;
  destination.retry.emplace(Clock::now() + delay, std::move(pending));
  arm_retry_timer(destination);
}

void Broker::arm_retry_timer(Destination& destination) {
  if (destination.retry.empty()) {
    return;
  }
  const auto due = destination.retry.begin()->first;
  if (destination.retry_timer_due != Clock::time_point{} && destination.retry_timer_due <= due) {
    return;  // already armed for an earlier or equal time
  }
  destination.retry_timer_due = due;
  destination.retry_timer->expires_at(due);
  destination.retry_timer->async_wait([this, &destination](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    destination.retry_timer_due = {};
    const auto now = Clock::now();
    while (!destination.retry.empty() && destination.retry.begin()->first <= now) {
      destination.queue.push_back(std::move(destination.retry.begin()->second));
      destination.retry.erase(destination.retry.begin());
    }
    arm_retry_timer(destination);
    dispatch(destination);
    watcher_->poke();
  });
}

// ---- Sending ------------------------------------------------------------------------------------

void Broker::send(const std::string& identity, const wire::Frame& frame) {
  std::string bytes;
  frame.SerializeToString(&bytes);
  send_bytes(identity, bytes);
}

void Broker::send_bytes(const std::string& identity, const std::string& bytes) {
  if (zmq_send(socket_, identity.data(), identity.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
      zmq_send(socket_, bytes.data(), bytes.size(), ZMQ_DONTWAIT) < 0) {
    if (zmq_errno() == EHOSTUNREACH) {
      // The peer disconnected; what it had in flight goes back to its queue.
      logger_->debug("peer={} is unreachable", identity);
      if (peers_.count(identity) != 0) {
        boost::asio::post(io_, [this, identity] { forget_peer(identity, "became unreachable"); });
      }
      return;
    }
    logger_->error("send to peer={} failed: {}", identity, zmq_strerror(zmq_errno()));
    return;
  }
  auto it = peers_.find(identity);
  if (it != peers_.end()) {
    it->second.last_sent = Clock::now();
  }
  // A send can leave messages readable without a new edge on ZMQ_FD.
  if (watcher_) {
    watcher_->poke();
  }
}

// ---- Timers -------------------------------------------------------------------------------------

void Broker::on_heartbeat_timer() {
  const auto now = Clock::now();
  std::vector<std::string> silent;
  wire::Frame heartbeat;
  heartbeat.mutable_heartbeat();
  std::string heartbeat_bytes;
  heartbeat.SerializeToString(&heartbeat_bytes);
  for (auto& [identity, peer] : peers_) {
    if (now - peer.last_heard > options_.heartbeat * kPeerLivenessIntervals) {
      silent.push_back(identity);
    } else if (now - peer.last_sent >= options_.heartbeat) {
      send_bytes(identity, heartbeat_bytes);
    }
  }
  for (const auto& identity : silent) {
    logger_->warn("instance={} silent for {} heartbeats; presumed gone", peers_[identity].instance,
                  kPeerLivenessIntervals);
    forget_peer(identity, "went silent");
  }
  heartbeat_timer_.expires_after(options_.heartbeat);
  heartbeat_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      on_heartbeat_timer();
    }
  });
}

void Broker::on_summary_timer() {
  log_summary();
  summary_timer_.expires_after(options_.summary_interval);
  summary_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) {
      on_summary_timer();
    }
  });
}

// ---- Status -------------------------------------------------------------------------------------

BrokerStats Broker::stats() const {
  BrokerStats stats = stats_;
  stats.queued = 0;
  stats.in_flight = 0;
  for (const auto& destination : destinations_) {
    stats.queued += destination.queue.size() + destination.retry.size();
    stats.in_flight += destination.in_flight.size();
  }
  return stats;
}

uint64_t Broker::outstanding() const {
  const BrokerStats s = stats();
  return s.queued + s.in_flight;
}

void Broker::log_summary() {
  const BrokerStats s = stats();
  std::ostringstream line;
  line << "in=" << s.published << " out=" << s.delivered << " queued=" << s.queued
       << " in_flight=" << s.in_flight << " unrouted=" << s.unrouted << " rejected=" << s.rejected
       << " retried=" << s.retried << " dead=" << s.dead;
  for (size_t r = 0; r < s.per_route.size(); ++r) {
    line << " route." << routes_->route_name(static_cast<uint32_t>(r)) << "=" << s.per_route[r];
  }
  logger_->info("{}", line.str());
}

}  // namespace simpang::hub
