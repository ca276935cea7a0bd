#include "core/broker.h"

#include <zmq.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "core/wire_codec.h"
#include "simpang/base/event_rules.h"
#include "simpang/version.h"

namespace simpang::hub {
namespace wire = simpang::v1::wire;
using Clock = std::chrono::steady_clock;
using SystemClock = std::chrono::system_clock;
using std::chrono::milliseconds;

namespace {

// A peer silent for this many heartbeat intervals is presumed dead; what it had is redelivered.
constexpr int kPeerLivenessIntervals = 3;
// Messages handled per readiness pass before yielding to timers and other handlers.
constexpr int kMessagesPerPass = 256;
// The arena incoming frames are parsed on: a first block that holds a full Publish's messages
// (the events' strings, about 50 bytes each beside their data), so a reset frees nothing.
constexpr size_t kArenaInitialBlock = 64 * 1024;
constexpr size_t kArenaMaxBlock = 1024 * 1024;

std::string zmq_error(const std::string& what) {
  return what + ": " + zmq_strerror(zmq_errno());
}

// The subject of a serialized event, for ordered routes loaded back from the journal.
std::string subject_of(const std::string& body) {
  simpang::v1::Event event;
  return parse_event_attributes(body.data(), body.size(), event) ? event.subject() : std::string();
}

}  // namespace

Broker::Broker(boost::asio::io_context& io, void* zmq_context, Journal& journal,
               std::unique_ptr<RouteTable> table, std::vector<RouteConfig> routes,
               std::vector<InstanceInfo> instances, BrokerOptions options,
               std::shared_ptr<spdlog::logger> logger)
    : io_(io),
      zmq_context_(zmq_context),
      journal_(journal),
      table_(std::move(table)),
      routes_(std::move(routes)),
      options_(options),
      logger_(std::move(logger)),
      heartbeat_timer_(io),
      summary_timer_(io) {
  for (auto& instance : instances) {
    instances_.emplace(instance.name, instance);
  }
  for (const auto& name : table_->destinations()) {
    destination_index_.emplace(name, static_cast<int>(destinations_.size()));
    Destination destination;
    destination.index = static_cast<uint32_t>(destinations_.size());
    destination.name = name;
    destination.retry_timer = std::make_unique<boost::asio::steady_timer>(io_);
    destinations_.push_back(std::move(destination));
  }
  stats_.per_route.assign(table_->route_count(), 0);
  stats_.per_destination.assign(destinations_.size(), 0);
  touched_.assign(destinations_.size(), false);
  arena_block_ = std::make_unique<char[]>(kArenaInitialBlock);
  google::protobuf::ArenaOptions arena_options;
  arena_options.initial_block = arena_block_.get();
  arena_options.initial_block_size = kArenaInitialBlock;
  arena_options.max_block_size = kArenaMaxBlock;
  arena_ = std::make_unique<google::protobuf::Arena>(arena_options);
}

Broker::~Broker() {
  reader_.join();
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
  // Whatever the journal still owes from an earlier run is paged in now.
  for (uint32_t d = 0; d < destinations_.size(); ++d) {
    maybe_load(d);
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
  for (auto& destination : destinations_) {
    destination.retry_timer->cancel();
  }
  if (watcher_) {
    watcher_->stop();
  }
  flush_updates();
  wire::Frame bye;
  bye.mutable_bye()->set_reason("hub stopping");
  std::vector<std::string> identities;
  for (const auto& [identity, peer] : peers_) {
    identities.push_back(identity);
  }
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
  // Settlements of this pass go to the journal together.
  flush_updates();
}

void Broker::handle_message(const std::string& identity, const void* data, size_t size) {
  // Nothing of the previous message's frame is referenced any more (handle_publish moves the
  // event bytes it keeps out of it): free it all in one go.
  arena_->Reset();
  auto& frame = *google::protobuf::Arena::CreateMessage<wire::Frame>(arena_.get());
  if (!frame.ParseFromArray(data, static_cast<int>(size))) {
    logger_->warn("peer={} sent a frame that is not a simpang.v1.wire.Frame ({} bytes)", identity,
                  size);
    return;
  }
  if (frame.has_hello()) {
    handle_hello(identity, frame.hello());
    return;
  }
  auto it = peers_.find(identity);
  if (it == peers_.end() || !it->second.welcomed) {
    // Typically a plugin whose hub restarted: it says hello again when told.
    wire::Frame refused;
    refused.mutable_refused()->set_reason("unknown peer '" + identity + "': say hello first");
    send(identity, refused);
    return;
  }
  Peer& peer = it->second;
  peer.last_heard = Clock::now();
  switch (frame.body_case()) {
    case wire::Frame::kPublish:
      handle_publish(peer, identity, *frame.mutable_publish());
      break;
    case wire::Frame::kSettle:
      handle_settle(peer, frame.settle());
      break;
    case wire::Frame::kCredit:
      handle_credit(peer, frame.credit().credit());
      break;
    case wire::Frame::kHeartbeat:
      break;
    case wire::Frame::kMetrics:
      plugin_metrics_[peer.instance].CopyFrom(frame.metrics());
      break;
    case wire::Frame::kBye:
      logger_->info("instance={} said goodbye: {}", peer.instance, frame.bye().reason());
      forget_peer(identity, "said goodbye");
      break;
    default:
      logger_->warn("instance={} sent an unexpected frame (case {})", peer.instance,
                    static_cast<int>(frame.body_case()));
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
  peer.last_sent = peer.last_heard;
  if (hello.consumes()) {
    auto d = destination_index_.find(peer.instance);
    if (d != destination_index_.end()) {
      peer.destination = d->second;
    }
  }
  peers_.emplace(identity, peer);
  logger_->info("instance={} connected (plugin {}{}{})", peer.instance, hello.plugin(),
                hello.produces() ? ", publishes" : "", hello.consumes() ? ", consumes" : "");
  // The welcome carries the instance's stored cursors: read them off the loop.
  const uint64_t session = ++sessions_[identity];
  boost::asio::post(reader_, [this, identity, session, instance = peer.instance] {
    auto cursors = journal_.load_cursors(instance);
    boost::asio::post(io_, [this, identity, session, cursors = std::move(cursors)]() mutable {
      welcome(identity, session, std::move(cursors));
    });
  });
}

void Broker::welcome(const std::string& identity, uint64_t session,
                     StatusOr<std::map<std::string, std::string>> cursors) {
  auto it = peers_.find(identity);
  if (it == peers_.end() || sessions_[identity] != session) {
    return;  // gone, or said hello again meanwhile; that hello gets its own welcome
  }
  Peer& peer = it->second;
  wire::Frame frame;
  auto* w = frame.mutable_welcome();
  w->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  w->set_heartbeat_ms(static_cast<uint32_t>(options_.heartbeat.count()));
  w->set_max_batch(options_.max_batch);
  w->set_max_unacked(options_.max_unacked);
  if (cursors.ok()) {
    w->mutable_cursors()->insert(cursors->begin(), cursors->end());
  } else {
    logger_->error("instance={}: cannot read its cursors from the journal: {}", peer.instance,
                   cursors.status().message());
  }
  peer.welcomed = true;
  if (peer.destination >= 0) {
    destinations_[peer.destination].peer = identity;
    destinations_[peer.destination].credit = 0;
  }
  send(identity, frame);
  if (on_connected_) {
    on_connected_(peer.instance);
  }
}

void Broker::forget_peer(const std::string& identity, const char* why) {
  auto it = peers_.find(identity);
  if (it == peers_.end()) {
    return;
  }
  if (it->second.destination >= 0) {
    Destination& destination = destinations_[it->second.destination];
    if (destination.peer == identity) {
      if (!destination.in_flight.empty()) {
        logger_->info("instance={} {}: {} unsettled deliveries go out again", it->second.instance,
                      why, destination.in_flight.size());
      }
      // Back to the front, oldest first, so order per destination survives the redelivery; each
      // counts as an attempt, so an event that kills its consumer every time is dead-lettered.
      auto in_flight = std::move(destination.in_flight);
      destination.in_flight.clear();
      for (auto pending = in_flight.rbegin(); pending != in_flight.rend(); ++pending) {
        const auto& policy = route_config(pending->second.route).retry;
        if (pending->second.attempts >= policy.max_attempts) {
          fail(destination, std::move(pending->second),
               std::string("consumer ") + why + " during delivery", /*fatal=*/true);
        } else {
          ++stats_.retried;
          make_ready(destination, std::move(pending->second), /*front=*/true);
        }
      }
      destination.peer.clear();
      destination.credit = 0;
    }
  }
  // Acks held for this peer are moot: it resends those batches after it says hello again.
  std::erase_if(held_acks_, [&](const auto& held) { return held.first == identity; });
  const std::string instance = it->second.instance;
  peers_.erase(it);
  if (on_lost_ && std::string_view(why) != "said goodbye" &&
      std::string_view(why) != "said hello again") {
    on_lost_(instance, std::string("it ") + why);
  }
}

// ---- Publishing ---------------------------------------------------------------------------------

void Broker::handle_publish(Peer& peer, const std::string& identity, wire::Publish& publish) {
  if (!peer.produces) {
    logger_->warn("instance={} published but said it does not; accepting anyway", peer.instance);
  }
  AppendBatch batch;
  batch.publisher = peer.instance;
  batch.cursors.insert(publish.cursors().begin(), publish.cursors().end());
  auto routed = std::make_shared<RoutedBatch>();
  std::shared_ptr<wire::PublishReject> rejections;
  auto* events = publish.mutable_events();
  batch.events.reserve(events->size());
  routed->events.reserve(events->size());
  for (int i = 0; i < events->size(); ++i) {
    std::string& bytes = *events->Mutable(i);
    std::string reason;
    // Only the attributes: the data is neither needed nor copied here.
    if (!parse_event_attributes(bytes.data(), bytes.size(), event_)) {
      reason = "not a valid simpang.v1.Event";
    } else {
      // The rules the SDK applies on emit, in the same words; empty when the event meets them.
      reason = check_event_attributes(event_.id(), event_.source(), event_.type(),
                                      event_.spec_version())
                   .message();
    }
    if (!reason.empty()) {
      if (!rejections) {
        rejections = std::make_shared<wire::PublishReject>();
      }
      auto* rejection = rejections->add_rejected();
      rejection->set_index(static_cast<uint32_t>(i));
      rejection->set_reason(reason);
      ++stats_.rejected;
      logger_->warn("instance={} batch={} event {} rejected: {}", peer.instance, publish.batch(), i,
                    reason);
      continue;
    }
    targets_.clear();
    table_->match(peer.instance, event_, targets_);
    Routed info;
    // One copy of the bytes, shared by the journal and every destination; moved out of the frame.
    info.body = std::make_shared<const std::string>(std::move(bytes));
    info.first_target = static_cast<uint32_t>(routed->targets.size());
    info.target_count = static_cast<uint32_t>(targets_.size());
    routed->targets.insert(routed->targets.end(), targets_.begin(), targets_.end());
    if (targets_.empty()) {
      info.unrouted_type = event_.type();  // for the count and the log, without parsing again
    }
    for (const auto& target : targets_) {
      if (routes_[target.route].ordering == Ordering::kSubject) {
        info.subject = event_.subject();
        break;
      }
    }
    NewEvent event;
    event.source = event_.source();
    event.id = event_.id();
    event.body = info.body;
    event.deliveries.reserve(targets_.size());
    for (const auto& target : targets_) {
      event.deliveries.push_back({target.destination, target.route});
    }
    batch.events.push_back(std::move(event));
    routed->events.push_back(std::move(info));
  }
  ++appends_in_progress_;
  journal_.append(std::move(batch), [this, identity, id = publish.batch(), routed, rejections](
                                        StatusOr<std::vector<AppendedEvent>> result) mutable {
    // On the journal's writer thread: hand the completion to the loop.
    boost::asio::post(io_, [this, identity, id, routed, rejections,
                            result = std::move(result)]() mutable {
      on_appended(identity, id, std::move(routed), std::move(rejections), std::move(result));
    });
  });
}

void Broker::on_appended(const std::string& identity, uint64_t batch,
                         std::shared_ptr<RoutedBatch> routed,
                         std::shared_ptr<wire::PublishReject> rejections,
                         StatusOr<std::vector<AppendedEvent>> result) {
  --appends_in_progress_;
  wire::Frame reply;
  if (!result.ok()) {
    logger_->error("peer={} batch={}: journal write failed, the publisher will retry: {}",
                   identity, batch, result.status().message());
    auto* reject = reply.mutable_publish_reject();
    reject->set_batch(batch);
    reject->set_retry_later("the hub could not make the batch durable: " +
                            result.status().message());
    send(identity, reply);
    return;
  }
  uint32_t accepted = 0;
  const auto now = SystemClock::now();
  for (size_t i = 0; i < result->size(); ++i) {
    const AppendedEvent& appended = (*result)[i];
    Routed& info = routed->events[i];
    ++accepted;
    if (appended.duplicate) {
      ++stats_.duplicates;
      continue;
    }
    ++stats_.published;
    if (info.target_count == 0) {
      ++stats_.unrouted;
      auto [seen, first] = unrouted_types_.try_emplace(info.unrouted_type, 0);
      if (first && unrouted_types_.size() <= 1024) {
        logger_->warn("peer={} event type={} matches no route (counted as unrouted)", identity,
                      info.unrouted_type);
      }
      ++seen->second;
      continue;
    }
    for (size_t t = 0; t < info.target_count; ++t) {
      const RouteTarget& target = routed->targets[info.first_target + t];
      ++stats_.per_route[target.route];
      Pending pending;
      pending.id = appended.delivery_ids[t];
      pending.event = info.body;
      pending.route = target.route;
      pending.accepted_at = now;
      if (routes_[target.route].ordering == Ordering::kSubject) {
        pending.subject = info.subject;
      }
      enqueue(destinations_[target.destination], std::move(pending));
      touched_[target.destination] = true;
    }
  }
  if (rejections) {
    rejections->set_batch(batch);
    rejections->set_accepted(accepted);
    *reply.mutable_publish_reject() = std::move(*rejections);
  } else {
    auto* ack = reply.mutable_publish_ack();
    ack->set_batch(batch);
    ack->set_accepted(accepted);
  }
  for (size_t d = 0; d < destinations_.size(); ++d) {
    if (touched_[d]) {
      touched_[d] = false;
      dispatch(destinations_[d]);
    }
  }
  if (journal_.full() || !held_acks_.empty()) {
    // Back-pressure: the publisher's window closes until the journal has room again.
    std::string bytes;
    reply.SerializeToString(&bytes);
    held_acks_.emplace_back(identity, std::move(bytes));
    return;
  }
  send(identity, reply);
}

void Broker::release_held_acks() {
  while (!held_acks_.empty() && !journal_.full()) {
    auto [identity, bytes] = std::move(held_acks_.front());
    held_acks_.pop_front();
    send_bytes(identity, bytes);
  }
}

// ---- Queues -------------------------------------------------------------------------------------

void Broker::enqueue(Destination& destination, Pending pending) {
  if (destination.behind() || destination.in_memory() >= options_.memory_limit) {
    // It stays in the journal alone and is paged in when the destination catches up.
    destination.spilled_upto = std::max(destination.spilled_upto, pending.id);
    maybe_load(destination.index);
    return;
  }
  destination.loaded_upto = pending.id;
  make_ready(destination, std::move(pending), /*front=*/false);
}

void Broker::make_ready(Destination& destination, Pending pending, bool front) {
  if (route_config(pending.route).ordering == Ordering::kSubject) {
    auto holder = destination.subject_holder.find(pending.subject);
    if (holder != destination.subject_holder.end() && holder->second != pending.id) {
      // An earlier delivery of this subject is in flight or waiting to retry: wait behind it.
      destination.subject_waiting[pending.subject].push_back(std::move(pending));
      ++destination.waiting_count;
      return;
    }
    destination.subject_holder[pending.subject] = pending.id;
  }
  if (front) {
    destination.queue.push_front(std::move(pending));
  } else {
    destination.queue.push_back(std::move(pending));
  }
}

void Broker::release_subject(Destination& destination, const Pending& pending) {
  if (route_config(pending.route).ordering != Ordering::kSubject) {
    return;
  }
  auto holder = destination.subject_holder.find(pending.subject);
  if (holder == destination.subject_holder.end() || holder->second != pending.id) {
    return;
  }
  destination.subject_holder.erase(holder);
  auto waiting = destination.subject_waiting.find(pending.subject);
  if (waiting == destination.subject_waiting.end()) {
    return;
  }
  // The next of this subject, in publish order, goes to the front: it has waited longest.
  Pending next = std::move(waiting->second.front());
  waiting->second.pop_front();
  --destination.waiting_count;
  if (waiting->second.empty()) {
    destination.subject_waiting.erase(waiting);
  }
  destination.subject_holder[next.subject] = next.id;
  destination.queue.push_front(std::move(next));
}

void Broker::dispatch(Destination& destination) {
  if (destination.peer.empty()) {
    return;
  }
  while (destination.credit > 0 && !destination.queue.empty()) {
    const uint32_t n = std::min<uint32_t>(
        {destination.credit, options_.max_batch, static_cast<uint32_t>(destination.queue.size())});
    // The Deliver frame is encoded by hand straight into the message ZeroMQ sends: each event's
    // bytes are copied once, and no Delivery objects are built.
    size_t body = 0;
    for (uint32_t i = 0; i < n; ++i) {
      const Pending& pending = destination.queue[i];
      body += delivery_encoded_size(pending.id, pending.event->size(), pending.attempts + 1,
                                    route_config(pending.route).name.size());
    }
    zmq_msg_t message;
    if (zmq_msg_init_size(&message, deliver_header_size(body) + body) != 0) {
      logger_->error("instance={}: cannot allocate a Deliver frame of {} bytes: {}",
                     destination.name, body, zmq_strerror(zmq_errno()));
      break;  // the deliveries stay queued; the next settle or enqueue tries again
    }
    auto* out = write_deliver_header(static_cast<uint8_t*>(zmq_msg_data(&message)), body);
    for (uint32_t i = 0; i < n; ++i) {
      Pending pending = std::move(destination.queue.front());
      destination.queue.pop_front();
      ++pending.attempts;
      out = write_delivery(out, pending.id, *pending.event, pending.attempts,
                           route_config(pending.route).name);
      destination.in_flight.emplace(pending.id, std::move(pending));
    }
    destination.credit -= n;
    send_message(destination.peer, message);
  }
  maybe_load(destination.index);
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
      continue;  // settled already, or delivered by an earlier session and since requeued
    }
    Pending pending = std::move(it->second);
    destination.in_flight.erase(it);
    switch (settlement.outcome()) {
      case wire::Settlement::ACK:
        ++stats_.delivered;
        ++stats_.per_destination[peer.destination];
        updates_.push_back({pending.id, DeliveryUpdate::Kind::kAcked, pending.attempts, {}, {}});
        release_subject(destination, pending);
        break;
      case wire::Settlement::NACK_RETRYABLE:
        fail(destination, std::move(pending),
             settlement.reason().empty() ? "retry requested" : settlement.reason(), false);
        break;
      case wire::Settlement::NACK_FATAL:
      default:
        fail(destination, std::move(pending),
             settlement.reason().empty() ? "rejected (no reason given)" : settlement.reason(),
             true);
        break;
    }
  }
  // The credit the consumer returns with these settlements, as if a Credit frame followed them.
  destination.credit += settle.credit();
  dispatch(destination);
  release_held_acks();
}

void Broker::fail(Destination& destination, Pending pending, const std::string& error,
                  bool fatal) {
  const RetryPolicy& policy = route_config(pending.route).retry;
  const auto now = SystemClock::now();
  std::string why;
  if (fatal) {
    why = error;
  } else if (pending.attempts >= policy.max_attempts) {
    why = "gave up after " + std::to_string(pending.attempts) + " attempts; last error: " + error;
  } else if (policy.deadline.count() > 0 && now - pending.accepted_at >= policy.deadline) {
    why = "retry deadline of " + std::to_string(policy.deadline.count()) +
          " ms passed; last error: " + error;
  }
  if (!why.empty()) {
    simpang::v1::Event event;
    event.ParseFromString(*pending.event);
    ++stats_.dead;
    logger_->error("dead-lettered event id={} type={} for instance={} route={}: {}", event.id(),
                   event.type(), destination.name, route_config(pending.route).name, why);
    updates_.push_back({pending.id, DeliveryUpdate::Kind::kDead, pending.attempts, {}, why});
    release_subject(destination, pending);
    return;
  }
  // Exponential backoff with +-20% jitter, so many failures do not retry in lockstep.
  const int exponent = static_cast<int>(std::min<uint32_t>(pending.attempts - 1, 20));
  const auto backoff = std::min<milliseconds>(policy.max_backoff,
                                              policy.initial_backoff * (int64_t{1} << exponent));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  const auto delay = milliseconds(static_cast<int64_t>(backoff.count() * jitter(jitter_)));
  ++stats_.retried;
  logger_->debug("instance={} retry of delivery {} in {} ms (attempt {}): {}", destination.name,
                 pending.id, delay.count(), pending.attempts, error);
  updates_.push_back(
      {pending.id, DeliveryUpdate::Kind::kRetry, pending.attempts, now + delay, error});
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
      Pending pending = std::move(destination.retry.begin()->second);
      destination.retry.erase(destination.retry.begin());
      make_ready(destination, std::move(pending), /*front=*/false);
    }
    arm_retry_timer(destination);
    dispatch(destination);
  });
}

// ---- Paging from the journal --------------------------------------------------------------------

void Broker::maybe_load(uint32_t index) {
  Destination& destination = destinations_[index];
  const size_t room = options_.memory_limit > destination.in_memory()
                          ? options_.memory_limit - destination.in_memory()
                          : 0;
  // Load in chunks once there is room for at least half the limit, so paging is not per event.
  if (!destination.behind() || destination.loading || room < options_.memory_limit / 2) {
    return;
  }
  destination.loading = true;
  const size_t limit = room;
  const uint64_t after = destination.loaded_upto;
  const uint64_t spilled_upto = destination.spilled_upto;
  const uint64_t generation = destination.rescan_generation;
  boost::asio::post(reader_, [this, index, after, limit, spilled_upto, generation] {
    auto rows = journal_.load_pending(index, after, limit);
    boost::asio::post(io_, [this, index, spilled_upto, generation, limit,
                            rows = std::move(rows)]() mutable {
      on_loaded(index, spilled_upto, generation, limit, std::move(rows));
    });
  });
}

void Broker::on_loaded(uint32_t index, uint64_t spilled_upto, uint64_t generation, size_t limit,
                       StatusOr<std::vector<StoredDelivery>> rows) {
  Destination& destination = destinations_[index];
  destination.loading = false;
  if (!rows.ok()) {
    logger_->error("instance={}: cannot read pending deliveries from the journal: {}",
                   destination.name, rows.status().message());
    return;  // the next enqueue or settle tries again
  }
  const auto system_now = SystemClock::now();
  const auto now = Clock::now();
  for (auto& row : *rows) {
    if (row.id <= destination.loaded_upto) {
      continue;
    }
    destination.loaded_upto = row.id;
    Pending pending;
    pending.id = row.id;
    pending.event = std::move(row.body);
    pending.route = row.route;
    pending.attempts = row.attempts;
    pending.accepted_at = row.accepted_at;
    const bool ordered = route_config(pending.route).ordering == Ordering::kSubject;
    if (ordered) {
      pending.subject = subject_of(*pending.event);
    }
    if (row.not_before <= system_now) {
      make_ready(destination, std::move(pending), /*front=*/false);
    } else if (!ordered || destination.subject_holder.try_emplace(pending.subject, pending.id).second) {
      // Still backing off (from an earlier run); an ordered one holds its subject meanwhile.
      destination.retry.emplace(now + (row.not_before - system_now), std::move(pending));
    } else {
      // An earlier delivery holds the subject: wait behind it (its backoff is then moot).
      destination.subject_waiting[pending.subject].push_back(std::move(pending));
      ++destination.waiting_count;
    }
  }
  if (rows->size() < limit) {
    // Everything up to what was spilled when the read started has been seen.
    destination.loaded_upto = std::max(destination.loaded_upto, spilled_upto);
    if (generation == destination.rescan_generation) {
      destination.rescan = false;
    }
  }
  arm_retry_timer(destination);
  dispatch(destination);  // also pages again if still behind
}

const RouteConfig& Broker::route_config(uint32_t route) const {
  // A delivery queued by a route this configuration no longer has (the journal reports it as
  // kUnknownRoute) is still owed: it goes out under the default policy, unordered.
  static const RouteConfig* const kRemovedRoute = [] {
    auto* config = new RouteConfig;
    config->name = "(removed route)";
    return config;
  }();
  return route < routes_.size() ? routes_[route] : *kRemovedRoute;
}

void Broker::set_peer_observer(std::function<void(const std::string&)> connected,
                               std::function<void(const std::string&, const std::string&)> lost) {
  on_connected_ = std::move(connected);
  on_lost_ = std::move(lost);
}

void Broker::on_replay(const ReplayNotice& notice) {
  for (uint32_t index : notice.destinations) {
    if (index < destinations_.size()) {
      destinations_[index].rescan = true;
      ++destinations_[index].rescan_generation;
      maybe_load(index);
    }
  }
  logger_->info("replay requested: {} deliveries to {} destinations", notice.deliveries,
                notice.destinations.size());
}

void Broker::flush_updates() {
  if (!updates_.empty()) {
    journal_.update(std::move(updates_));
    updates_.clear();
  }
}

// ---- Sending ------------------------------------------------------------------------------------

void Broker::send(const std::string& identity, const wire::Frame& frame) {
  // Serialized straight into the message ZeroMQ sends, not into a string it would copy.
  const size_t size = frame.ByteSizeLong();
  zmq_msg_t message;
  if (zmq_msg_init_size(&message, size) != 0) {
    logger_->error("send to peer={} failed: {}", identity, zmq_strerror(zmq_errno()));
    return;
  }
  frame.SerializeWithCachedSizesToArray(static_cast<uint8_t*>(zmq_msg_data(&message)));
  send_message(identity, message);
}

void Broker::send_bytes(const std::string& identity, const std::string& bytes) {
  zmq_msg_t message;
  if (zmq_msg_init_size(&message, bytes.size()) != 0) {
    logger_->error("send to peer={} failed: {}", identity, zmq_strerror(zmq_errno()));
    return;
  }
  std::memcpy(zmq_msg_data(&message), bytes.data(), bytes.size());
  send_message(identity, message);
}

void Broker::send_message(const std::string& identity, zmq_msg_t& message) {
  if (zmq_send(socket_, identity.data(), identity.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
      zmq_msg_send(&message, socket_, ZMQ_DONTWAIT) < 0) {
    const int error = zmq_errno();
    zmq_msg_close(&message);  // not sent: still ours
    if (error == EHOSTUNREACH) {
      // The peer disconnected; what it had in flight goes back to its queue.
      logger_->debug("peer={} is unreachable", identity);
      if (peers_.count(identity) != 0) {
        boost::asio::post(io_, [this, identity] { forget_peer(identity, "became unreachable"); });
      }
      return;
    }
    logger_->error("send to peer={} failed: {}", identity, zmq_strerror(error));
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
    } else if (peer.welcomed && now - peer.last_sent >= options_.heartbeat) {
      send_bytes(identity, heartbeat_bytes);
    }
  }
  for (const auto& identity : silent) {
    logger_->warn("instance={} silent for {} heartbeats; presumed gone", peers_[identity].instance,
                  kPeerLivenessIntervals);
    forget_peer(identity, "went silent");
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

// ---- Status -------------------------------------------------------------------------------------

BrokerStats Broker::stats() const {
  BrokerStats stats = stats_;
  stats.queued = 0;
  stats.in_flight = 0;
  stats.on_disk = 0;
  for (const auto& destination : destinations_) {
    stats.queued += destination.queue.size() + destination.retry.size() + destination.waiting_count;
    stats.in_flight += destination.in_flight.size();
    stats.on_disk += destination.behind() ? 1 : 0;
  }
  return stats;
}

uint64_t Broker::outstanding() const {
  uint64_t owed = appends_in_progress_;
  for (const auto& destination : destinations_) {
    if (!destination.peer.empty()) {
      owed += destination.in_memory() + (destination.behind() ? 1 : 0);
    }
  }
  return owed;
}

void Broker::log_summary() {
  const BrokerStats s = stats();
  std::ostringstream line;
  line << "in=" << s.published << " out=" << s.delivered << " queued=" << s.queued
       << " in_flight=" << s.in_flight << " unrouted=" << s.unrouted << " rejected=" << s.rejected
       << " duplicates=" << s.duplicates << " retried=" << s.retried << " dead=" << s.dead;
  for (size_t r = 0; r < s.per_route.size(); ++r) {
    line << " route." << table_->route_name(static_cast<uint32_t>(r)) << "=" << s.per_route[r];
  }
  logger_->info("{}", line.str());
  for (const auto& [instance, metrics] : plugin_metrics_) {
    std::ostringstream values;
    // Sorted by name, so the line is stable from one summary to the next.
    for (const auto* map : {&metrics.counters(), &metrics.gauges()}) {
      std::map<std::string, double> sorted(map->begin(), map->end());
      for (const auto& [name, value] : sorted) {
        values << " " << name << "=" << value;
      }
    }
    logger_->info("metrics instance={}{}", instance, values.str());
  }
}

}  // namespace simpang::hub
