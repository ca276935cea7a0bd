#include "core/broker.h"

#include <zmq.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <sstream>

#include "core/wire_codec.h"
#include "simpang/base/safe_text.h"
#include "simpang/version.h"

namespace simpang::hub {
namespace wire = simpang::v1::wire;
using Clock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;

namespace {

// Messages handled per readiness pass before yielding to timers and other handlers.
constexpr int kMessagesPerPass = 256;
// The arena incoming frames are parsed on: a first block that holds a full Publish's messages
// (the events' strings, about 50 bytes each beside their data), so a reset frees nothing.
constexpr size_t kArenaInitialBlock = 64 * 1024;
constexpr size_t kArenaMaxBlock = 1024 * 1024;

std::string zmq_error(const std::string& what) { return what + ": " + zmq_strerror(zmq_errno()); }

}  // namespace

Broker::Broker(boost::asio::io_context& io, void* zmq_context, Journal& journal,
               std::unique_ptr<RouteTable> table, std::vector<RouteConfig> routes,
               std::vector<InstanceInfo> instances, BrokerOptions options,
               std::shared_ptr<spdlog::logger> logger)
    : io_(io),
      zmq_context_(zmq_context),
      journal_(journal),
      table_(std::move(table)),
      policies_(std::move(routes)),
      options_(options),
      logger_(std::move(logger)),
      heartbeat_timer_(io),
      summary_timer_(io),
      jitter_(std::random_device{}()),
      env_{&policies_, &updates_, &jitter_, logger_.get(), options_.memory_limit, &load_scratch_},
      intake_(journal, logger_, table_->route_count()) {
  for (auto& instance : instances) {
    instances_.emplace(instance.name, instance);
  }
  intake_.set_limits(options_.limits);
  for (const auto& name : table_->destinations()) {
    add_destination(name);
  }
  arena_block_ = std::make_unique<char[]>(kArenaInitialBlock);
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = arena_block_.get();
  arena_options.initial_block_size = kArenaInitialBlock;
  arena_options.max_block_size = kArenaMaxBlock;
  arena_ = std::make_unique<google::protobuf::Arena>(arena_options);
}

Broker::~Broker() {
  close_door();
  reader_.join();
  watcher_.reset();
  if (socket_ != nullptr) {
    zmq_close(socket_);
  }
}

void Broker::add_destination(const std::string& name) {
  const auto index = static_cast<uint32_t>(slots_.size());
  destination_index_.emplace(name, static_cast<int>(index));
  slots_.emplace_back(index, name, env_, io_);
  touched_.push_back(false);
}

Status Broker::start(const std::vector<std::string>& endpoints) {
  socket_ = zmq_socket(zmq_context_, ZMQ_ROUTER);
  if (socket_ == nullptr) {
    return Status::Error(zmq_error("cannot create the hub's ROUTER socket"));
  }
  int on = 1;
  int off = 0;
  int zero = 0;
  // Report sends to peers that are gone instead of dropping them silently.
  zmq_setsockopt(socket_, ZMQ_ROUTER_MANDATORY, &on, sizeof(on));
  // A routing id is a connection's handle and nothing more: identity comes from the token in the
  // Hello. Without handover, a second connection presenting a routing id already in use cannot
  // take it over; libzmq ignores that connection instead (its messages never reach us as the
  // first one's). SDK peers pick a random routing id per socket, so they never collide.
  zmq_setsockopt(socket_, ZMQ_ROUTER_HANDOVER, &off, sizeof(off));
  // A message over the frame limit makes ZeroMQ drop its connection while decoding it: it is never
  // held whole, and nothing can be answered on that connection any more.
  const int64_t max_message = options_.max_frame_bytes;
  zmq_setsockopt(socket_, ZMQ_MAXMSGSIZE, &max_message, sizeof(max_message));
  // Unlimited send queue: credits and publish windows bound what is in flight, and a full queue
  // would make sends fail, which the loop cannot wait on. The receive queue per connection is
  // bounded (a peer beyond it waits in its own socket), so what one peer makes the hub hold is at
  // most (this + max_unacked) frames of max_frame_bytes.
  const int receive_queue = static_cast<int>(std::max<uint32_t>(16, 2 * options_.max_unacked));
  zmq_setsockopt(socket_, ZMQ_SNDHWM, &zero, sizeof(zero));
  zmq_setsockopt(socket_, ZMQ_RCVHWM, &receive_queue, sizeof(receive_queue));
  zmq_setsockopt(socket_, ZMQ_LINGER, &zero, sizeof(zero));
  for (const auto& endpoint : endpoints) {
    if (zmq_bind(socket_, endpoint.c_str()) != 0) {
      return Status::Error(zmq_error("cannot bind " + endpoint));
    }
    logger_->info("listening on {}", endpoint);
  }
  watcher_ = std::make_unique<ZmqWatcher>(io_, socket_, [this] { on_ready(); });
  watcher_->start();
  // Whatever the journal still owes from an earlier run is paged in now.
  for (auto& slot : slots_) {
    maybe_load(slot);
  }
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
  for (auto& slot : slots_) {
    slot.retry_timer.cancel();
  }
  if (watcher_) {
    watcher_->stop();
  }
  if (door_watcher_) {
    door_watcher_->stop();
  }
  if (door_timer_) {
    door_timer_->cancel();
  }
  flush_updates();
  wire::Frame bye;
  bye.mutable_bye()->set_reason("hub stopping");
  std::vector<std::string> identities;
  peers_.for_each(
      [&](const std::string& identity, const PeerTable::Peer&) { identities.push_back(identity); });
  for (const auto& identity : identities) {
    send(identity, bye);
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
    if (!zmq_msg_more(&identity)) {
      continue;  // not a ROUTER message we can answer
    }
    if (zmq_msg_recv(&body, socket_, ZMQ_DONTWAIT) < 0) {
      break;
    }
    std::string id(static_cast<const char*>(zmq_msg_data(&identity)), zmq_msg_size(&identity));
    if (PartnerDoor::is_door_identity(id)) {
      refuse_reserved_identity(id, body);  // the door's namespace: never a local connection's
      continue;
    }
    if (zmq_msg_more(&body)) {
      size_t size = zmq_msg_size(&body);
      while (zmq_msg_more(&body) && zmq_msg_recv(&body, socket_, ZMQ_DONTWAIT) >= 0) {
        size += zmq_msg_size(&body);
      }
      handle_bad_frame(id, size, "a multipart message (the protocol uses one frame)");
      continue;
    }
    handle_message(id, zmq_msg_data(&body), zmq_msg_size(&body));
  }
  zmq_msg_close(&identity);
  zmq_msg_close(&body);
  // Settlements of this pass go to the journal together.
  flush_updates();
}

void Broker::handle_message(const std::string& identity, const void* data, size_t size) {
  // Nothing of the previous message's frame is referenced any more (the intake moves the event
  // bytes it keeps out of it): free it all in one go.
  arena_->Reset();
  auto& frame = *google::protobuf::Arena::CreateMessage<wire::Frame>(arena_.get());
  if (const char* what = parse_frame(data, size, frame)) {
    handle_bad_frame(identity, size, what);
    return;
  }
  if (frame.has_hello()) {
    if (PartnerDoor::is_door_identity(identity)) {
      handle_partner_hello(identity, frame.hello());
    } else {
      handle_hello(identity, frame.hello());
    }
    return;
  }
  PeerTable::Peer* peer = peers_.find(identity);
  if (peer == nullptr || !peer->welcomed) {
    // Typically a plugin whose hub restarted: it says hello again when told. Never acknowledged:
    // a Publish before a welcome is refused like anything else but a Hello.
    refuse(identity,
           std::string("this connection has not been welcomed: say hello first (") +
               wire::Frame::descriptor()->FindFieldByNumber(frame.body_case())->name() +
               " refused)",
           refused_log_);
    return;
  }
  PeerTable::heard(*peer, Clock::now());
  switch (frame.body_case()) {
    case wire::Frame::kPublish:
      handle_publish(*peer, identity, *frame.mutable_publish());
      break;
    case wire::Frame::kSettle:
      handle_settle(*peer, frame.settle());
      break;
    case wire::Frame::kCredit:
      handle_credit(*peer, frame.credit().credit());
      break;
    case wire::Frame::kHeartbeat:
      break;
    case wire::Frame::kMetrics:
      plugin_metrics_[peer->instance].CopyFrom(frame.metrics());
      break;
    case wire::Frame::kBye:
      logger_->info("instance={} said goodbye: {}", peer->instance, frame.bye().reason());
      forget_peer(identity, PeerLoss::kGoodbye);
      break;
    default: {
      // A frame only the hub sends (Welcome, Deliver, ...): the peer is confused, not malicious.
      uint64_t held_back = 0;
      if (bad_frame_log_.allow(Clock::now(), held_back)) {
        logger_->warn("instance={} sent a frame only the hub sends (field {}); ignored{}",
                      peer->instance, static_cast<int>(frame.body_case()),
                      LogLimiter::suffix(held_back));
      }
      break;
    }
  }
}

void Broker::handle_bad_frame(const std::string& identity, size_t size, const char* what) {
  ++bad_frames_;
  uint64_t held_back = 0;
  const PeerTable::Peer* peer = peers_.find(identity);
  if (bad_frame_log_.allow(Clock::now(), held_back)) {
    logger_->warn("bad frame peer={} instance={} bytes={}: {}; refused{}", safe_text(identity),
                  peer != nullptr ? peer->instance : std::string("-"), size, what,
                  LogLimiter::suffix(held_back));
  }
  wire::Frame refused;
  refused.mutable_refused()->set_reason("a message of " + std::to_string(size) +
                                        " bytes is " + what + "; say hello again");
  refused.mutable_refused()->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  send(identity, refused);
  // Its session is over: whatever it meant by the frame, the hub cannot tell what it has seen.
  forget_peer(identity, PeerLoss::kBadFrame);
}

void Broker::refuse(const std::string& identity, const std::string& reason, LogLimiter& limiter) {
  ++refused_;
  uint64_t held_back = 0;
  if (limiter.allow(Clock::now(), held_back)) {
    logger_->error("refused peer={}: {}{}", safe_text(identity), reason,
                   LogLimiter::suffix(held_back));
  }
  wire::Frame frame;
  // The routing id stays out of the reason: the peer knows its own, and libzmq's generated ones
  // (for peers that set none) are a counter better not shown.
  frame.mutable_refused()->set_reason(reason);
  frame.mutable_refused()->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  send(identity, frame);
}

void Broker::set_instance_token(const std::string& instance, std::string token) {
  if (token.empty()) {
    tokens_.erase(instance);
  } else {
    tokens_[instance] = std::move(token);
  }
}

void Broker::handle_hello(const std::string& identity, const wire::Hello& hello) {
  const auto token = tokens_.find(hello.instance());
  const bool token_issued = token != tokens_.end();
  std::string refusal = hello_refusal(HelloCheck{
      .instance = hello.instance(),
      .protocol = hello.protocol_version(),
      .hub_protocol = SIMPANG_WIRE_PROTOCOL_VERSION,
      .configured = instances_.count(hello.instance()) != 0,
      .token_issued = token_issued,
      .token_matches = token_issued && same_token(hello.token(), token->second),
  });
  const std::string* holder = refusal.empty() ? peers_.identity_of(hello.instance()) : nullptr;
  if (holder != nullptr && *holder != identity) {
    const PeerTable::Peer* live = peers_.find(*holder);
    if (same_token(live->token, token->second)) {
      // The current run is connected on another connection: this one does not displace it.
      refusal = "instance '" + safe_text(hello.instance()) +
                "' is already connected on another connection";
    } else {
      // The old run (killed and restarted) had not been noticed gone: the new run takes over.
      logger_->info("instance={} restarted: its new run replaces the old session",
                    hello.instance());
      forget_peer(std::string(*holder), PeerLoss::kReplaced);
    }
  }
  if (!refusal.empty()) {
    if (PeerTable::Peer* same = peers_.find(identity)) {
      // A stale run saying hello again on its own connection: its session ends here.
      if (same->instance == hello.instance()) {
        forget_peer(identity, PeerLoss::kReplaced);
      }
    }
    refuse(identity, refusal, refused_log_);
    return;
  }
  if (peers_.contains(identity)) {
    // A reconnect or restart: what the old session had in flight is delivered again.
    forget_peer(identity, PeerLoss::kHelloAgain);
  }
  PeerTable::Peer peer;
  peer.instance = hello.instance();
  peer.produces = hello.produces();
  peer.token = hello.token();
  if (hello.consumes()) {
    auto d = destination_index_.find(peer.instance);
    if (d != destination_index_.end()) {
      peer.destination = d->second;
    }
  }
  logger_->info("instance={} connected (plugin {}{}{})", peer.instance, hello.plugin(),
                hello.produces() ? ", publishes" : "", hello.consumes() ? ", consumes" : "");
  std::string instance = peer.instance;
  const uint64_t session = peers_.add(identity, std::move(peer), Clock::now());
  // The welcome carries the instance's stored cursors: read them off the loop.
  boost::asio::post(reader_, [this, identity, session, instance = std::move(instance)] {
    auto cursors = journal_.load_cursors(instance);
    boost::asio::post(io_, [this, identity, session, cursors = std::move(cursors)]() mutable {
      welcome(identity, session, std::move(cursors));
    });
  });
}

void Broker::welcome(const std::string& identity, uint64_t session,
                     StatusOr<std::map<std::string, std::string>> cursors) {
  if (!peers_.is_session(identity, session)) {
    return;  // gone, or said hello again meanwhile; that hello gets its own welcome
  }
  PeerTable::Peer& peer = *peers_.find(identity);
  wire::Frame frame;
  auto* w = frame.mutable_welcome();
  w->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  w->set_heartbeat_ms(static_cast<uint32_t>(options_.heartbeat.count()));
  w->set_max_batch(options_.max_batch);
  w->set_max_unacked(max_unacked_of(peer, identity));
  w->set_max_event_bytes(options_.limits.max_event_bytes);
  w->set_max_frame_bytes(options_.max_frame_bytes);
  w->set_max_attributes(options_.limits.max_attributes);
  w->set_max_attribute_bytes(options_.limits.max_attribute_bytes);
  w->set_max_json_depth(options_.limits.max_json_depth);
  if (cursors.ok()) {
    w->mutable_cursors()->insert(cursors->begin(), cursors->end());
  } else {
    logger_->error("instance={}: cannot read its cursors from the journal: {}", peer.instance,
                   cursors.status().message());
  }
  peer.welcomed = true;
  if (peer.destination >= 0) {
    slots_[peer.destination].destination.attach(identity);
  }
  const std::string instance = peer.instance;
  send(identity, frame);
  if (on_connected_) {
    on_connected_(instance);
  }
}

void Broker::forget_peer(const std::string& identity, PeerLoss loss) {
  const PeerTable::Peer* peer = peers_.find(identity);
  if (peer == nullptr) {
    return;
  }
  if (peer->destination >= 0) {
    Slot& slot = slots_[peer->destination];
    Destination& destination = slot.destination;
    if (destination.consumer() == identity) {
      if (const uint64_t in_flight = destination.depth().in_flight; in_flight > 0) {
        logger_->info("instance={} {}: {} unsettled deliveries go out again", peer->instance,
                      describe(loss), in_flight);
      }
      destination.detach(describe(loss), Now::from_clocks());
    }
  }
  // Acks held for this peer are moot: it resends those batches after it says hello again.
  intake_.drop_held(identity);
  std::optional<PeerTable::Peer> gone = peers_.remove(identity);
  if (PartnerDoor::is_door_identity(identity)) {
    forget_door_connection(identity, loss);  // no supervisor looks after a partner
    return;
  }
  if (on_lost_ && is_unexpected(loss)) {
    on_lost_(gone->instance, std::string("it ") + describe(loss));
  }
}

// ---- Publishing ---------------------------------------------------------------------------------

void Broker::handle_publish(PeerTable::Peer& peer, const std::string& identity,
                            wire::Publish& publish) {
  if (!peer.produces) {
    logger_->warn("instance={} published but said it does not; accepting anyway", peer.instance);
  }
  if (!admit_publish(peer, identity, publish)) {
    return;
  }
  EventGate* gate = nullptr;
  if (PartnerDoor::is_door_identity(identity)) {
    if (!admit_partner_publish(identity, publish)) {
      return;
    }
    gate = door_.get();  // the partner's rights: which types and sources it may publish
  }
  ++peer.unacked;
  intake_.submit(
      identity, peer.instance, publish, *table_,
      [this](std::shared_ptr<RoutedPublish> routed, PublishIntake::AppendResult result) mutable {
        // On the journal's writer thread: hand the completion to the loop.
        boost::asio::post(io_,
                          [this, routed = std::move(routed), result = std::move(result)]() mutable {
                            on_appended(std::move(routed), std::move(result));
                          });
      },
      gate);
}

bool Broker::admit_publish(PeerTable::Peer& peer, const std::string& identity,
                           const wire::Publish& publish) {
  wire::Frame reply;
  auto* reject = reply.mutable_publish_reject();
  reject->set_batch(publish.batch());
  std::string reason;
  if (Status size = check_batch_size(publish.events_size(), options_.max_batch); !size.ok()) {
    // Refused for good, every event: publishing the same batch again would be refused again.
    reason = size.message();
    intake_.count_rejected(static_cast<uint64_t>(publish.events_size()));
    for (int i = 0; i < publish.events_size(); ++i) {
      auto* rejection = reject->add_rejected();
      rejection->set_index(static_cast<uint32_t>(i));
      rejection->set_reason(reason);
    }
  } else if (const uint32_t window = max_unacked_of(peer, identity); peer.unacked >= window) {
    // Refused rather than buffered, so a peer ignoring its window cannot make the hub hold more
    // than max_unacked of its batches. It may publish the batch again once one is answered.
    reason = "batch " + std::to_string(publish.batch()) + " arrived with " +
             std::to_string(peer.unacked) + " batches unacknowledged, the most max_unacked (" +
             std::to_string(window) + ") allows";
    reject->set_retry_later(reason);
  } else {
    return true;
  }
  ++batches_refused_;
  uint64_t held_back = 0;
  if (batch_log_.allow(Clock::now(), held_back)) {
    logger_->warn("instance={} batch={} refused: {}{}", peer.instance, publish.batch(), reason,
                  LogLimiter::suffix(held_back));
  }
  send(identity, reply);
  return false;
}

void Broker::answered(const std::string& identity) {
  if (PeerTable::Peer* peer = peers_.find(identity); peer != nullptr && peer->unacked > 0) {
    --peer->unacked;
  }
}

void Broker::on_appended(std::shared_ptr<RoutedPublish> routed,
                         PublishIntake::AppendResult result) {
  wire::Frame reply;
  // A partner with a max_backlog: each delivery of its events is counted until it is done.
  const std::string* backlog_of = backlog_partner(routed->identity);
  const bool durable =
      intake_.complete(*routed, std::move(result), SystemClock::now(), reply,
                       [this, backlog_of](uint32_t destination, Pending pending) {
                         if (backlog_of != nullptr) {
                           track_backlog(*backlog_of, pending.id);
                         }
                         Slot& slot = slots_[destination];
                         if (!slot.destination.enqueue(std::move(pending))) {
                           maybe_load(slot);  // left in the journal: page it in once there is room
                         }
                         touched_[destination] = true;
                       });
  if (!durable) {
    reply_to_publisher(routed->identity, reply);
    return;
  }
  for (size_t d = 0; d < slots_.size(); ++d) {
    if (touched_[d]) {
      touched_[d] = false;
      dispatch(slots_[d]);
    }
  }
  intake_.answer(routed->identity, reply,
                 [this](const std::string& identity, const wire::Frame& frame) {
                   reply_to_publisher(identity, frame);
                 });
}

void Broker::release_held_acks() {
  intake_.release_held([this](const std::string& identity, const std::string& bytes) {
    if (PartnerDoor::is_door_identity(identity)) {
      door_reply(identity, bytes);
      return;
    }
    answered(identity);
    send_bytes(identity, bytes);
  });
}

// ---- Sending ------------------------------------------------------------------------------------

void Broker::send(const std::string& identity, const wire::Frame& frame) {
  // Serialized straight into the message ZeroMQ sends, not into a string it would copy.
  const size_t size = frame.ByteSizeLong();
  zmq_msg_t message;
  if (zmq_msg_init_size(&message, size) != 0) {
    logger_->error("send to peer={} failed: {}", safe_text(identity), zmq_strerror(zmq_errno()));
    return;
  }
  frame.SerializeWithCachedSizesToArray(static_cast<uint8_t*>(zmq_msg_data(&message)));
  send_message(identity, message);
}

void Broker::send_bytes(const std::string& identity, const std::string& bytes) {
  zmq_msg_t message;
  if (zmq_msg_init_size(&message, bytes.size()) != 0) {
    logger_->error("send to peer={} failed: {}", safe_text(identity), zmq_strerror(zmq_errno()));
    return;
  }
  std::memcpy(zmq_msg_data(&message), bytes.data(), bytes.size());
  send_message(identity, message);
}

void Broker::send_message(const std::string& identity, zmq_msg_t& message) {
  // A door connection's key is the door's prefix and its routing id on the door socket.
  const bool door = PartnerDoor::is_door_identity(identity);
  void* socket = door ? door_socket_ : socket_;
  const std::string_view routing_id = door ? PartnerDoor::routing_id_of(identity) : identity;
  if (socket == nullptr ||
      zmq_send(socket, routing_id.data(), routing_id.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
      zmq_msg_send(&message, socket, ZMQ_DONTWAIT) < 0) {
    const int error = zmq_errno();
    zmq_msg_close(&message);  // not sent: still ours
    if (error == EHOSTUNREACH) {
      // The peer disconnected; what it had in flight goes back to its queue.
      logger_->debug("peer={} is unreachable", safe_text(identity));
      if (peers_.contains(identity)) {
        boost::asio::post(io_, [this, identity] { forget_peer(identity, PeerLoss::kUnreachable); });
      }
      return;
    }
    logger_->error("send to peer={} failed: {}", safe_text(identity), zmq_strerror(error));
    return;
  }
  peers_.sent(identity, Clock::now());
  // A send can leave messages readable without a new edge on ZMQ_FD.
  if (ZmqWatcher* watcher = door ? door_watcher_.get() : watcher_.get()) {
    watcher->poke();
  }
}

// ---- Timers -------------------------------------------------------------------------------------

void Broker::on_heartbeat_timer() {
  peers_.sweep(Clock::now(), options_.heartbeat, sweep_);
  if (!sweep_.heartbeat.empty()) {
    wire::Frame heartbeat;
    heartbeat.mutable_heartbeat();
    std::string heartbeat_bytes;
    heartbeat.SerializeToString(&heartbeat_bytes);
    for (const auto& identity : sweep_.heartbeat) {
      send_bytes(identity, heartbeat_bytes);
    }
  }
  for (const auto& identity : sweep_.silent) {
    if (const PeerTable::Peer* peer = peers_.find(identity)) {
      logger_->warn("instance={} silent for {} heartbeats; presumed gone", peer->instance,
                    PeerTable::kLivenessIntervals);
    }
    forget_peer(identity, PeerLoss::kSilent);
  }
  flush_updates();
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

}  // namespace simpang::hub
