// The broker's partner door: a second ROUTER socket, CURVE server on a tcp:// endpoint, in the
// broker's ZeroMQ context, with the ZAP handler started before it binds. Partners speak the same
// wire protocol as plugins, but who they are comes from their CURVE key (the ZAP User-Id ZeroMQ
// attaches to each message), never from the Hello or the routing id; and they may only publish,
// within their rights (PartnerDoor::refusal) and quotas (delayed acks, their own window).
//
// A door connection's key in the peer table is PartnerDoor::door_identity(routing id); every send
// to such a key goes out on the door socket (Broker::send_message).
#include <sys/socket.h>
#include <zmq.h>

#include <algorithm>
#include <cstring>

#include "core/broker.h"
#include "simpang/base/safe_text.h"
#include "simpang/version.h"

namespace simpang::hub {
namespace wire = simpang::v1::wire;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kZapDomain = "simpang-partners";
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
constexpr int kZapEnforceDomain = ZMQ_ZAP_ENFORCE_DOMAIN;
#else
constexpr int kZapEnforceDomain = 93;  // zmq.h's draft ZMQ_ZAP_ENFORCE_DOMAIN
#endif
// A revoked connection is told why before it is closed; this long is given for that frame to be
// written out before its TCP connection is shut down.
constexpr auto kCloseGrace = std::chrono::milliseconds(200);
// Revoked connections remembered (refused if they speak again); beyond it the oldest are
// forgotten, which is safe because their TCP connections were shut down.
constexpr size_t kRevokedRemembered = 4096;

std::string zmq_error(const std::string& what) { return what + ": " + zmq_strerror(zmq_errno()); }

}  // namespace

Status Broker::open_door(const PartnerDoorConfig& config,
                         const std::vector<PartnerConfig>& partners) {
  if (config.listen.empty()) {
    return Status::Ok();
  }
  door_ = std::make_unique<PartnerDoor>(logger_);
  (void)door_->set_partners(partners);
  door_max_connections_ = config.max_connections;
  door_timer_ = std::make_unique<boost::asio::steady_timer>(io_);
  // ZAP first: a CURVE socket bound with no handler in its context would admit any client key.
  zap_ = std::make_unique<ZapHandler>(zmq_context_, logger_);
  if (Status keys = zap_->set_partner_keys(door_->keys()); !keys.ok()) {
    logger_->error("partner door: {}", keys.message());
  }
  SIMPANG_RETURN_IF_ERROR(zap_->start());

  door_socket_ = zmq_socket(zmq_context_, ZMQ_ROUTER);
  if (door_socket_ == nullptr) {
    return Status::Error(zmq_error("cannot create the partner door's ROUTER socket"));
  }
  const int on = 1;
  const int off = 0;
  const int zero = 0;
  const int64_t max_message = options_.max_frame_bytes;
  const int receive_queue = static_cast<int>(std::max<uint32_t>(16, 2 * options_.max_unacked));
  zmq_setsockopt(door_socket_, ZMQ_CURVE_SERVER, &on, sizeof(on));
  zmq_setsockopt(door_socket_, ZMQ_CURVE_SECRETKEY, config.secret_key.c_str(), 40);
  zmq_setsockopt(door_socket_, ZMQ_ZAP_DOMAIN, kZapDomain, std::strlen(kZapDomain));
  // Without a ZAP handler answering, refuse every connection rather than admit it unchecked. A
  // draft option (a libzmq built without drafts ignores it); the ZAP handler is started before
  // the bind and stopped after the close either way.
  zmq_setsockopt(door_socket_, kZapEnforceDomain, &on, sizeof(on));
  zmq_setsockopt(door_socket_, ZMQ_ROUTER_MANDATORY, &on, sizeof(on));
  zmq_setsockopt(door_socket_, ZMQ_ROUTER_HANDOVER, &off, sizeof(off));
  zmq_setsockopt(door_socket_, ZMQ_MAXMSGSIZE, &max_message, sizeof(max_message));
  zmq_setsockopt(door_socket_, ZMQ_SNDHWM, &zero, sizeof(zero));
  zmq_setsockopt(door_socket_, ZMQ_RCVHWM, &receive_queue, sizeof(receive_queue));
  zmq_setsockopt(door_socket_, ZMQ_LINGER, &zero, sizeof(zero));
  // ZMTP heartbeats: a connection whose other end is gone (no answer to pings) is closed by
  // ZeroMQ, freeing its slot, even when no frame of ours is due to notice it.
  const int heartbeat_ms = static_cast<int>(options_.heartbeat.count());
  const int heartbeat_timeout_ms = heartbeat_ms * PeerTable::kLivenessIntervals;
  zmq_setsockopt(door_socket_, ZMQ_HEARTBEAT_IVL, &heartbeat_ms, sizeof(heartbeat_ms));
  zmq_setsockopt(door_socket_, ZMQ_HEARTBEAT_TIMEOUT, &heartbeat_timeout_ms,
                 sizeof(heartbeat_timeout_ms));
  // Connections are counted as ZeroMQ accepts them, before any handshake: one over
  // max_connections is closed at once, so unauthenticated connections cannot fill the door.
  const std::string monitor_endpoint =
      "inproc://simpang-partner-door-monitor-" + std::to_string(reinterpret_cast<uintptr_t>(this));
  if (zmq_socket_monitor(door_socket_, monitor_endpoint.c_str(),
                         ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) != 0) {
    return Status::Error(zmq_error("partner door: cannot monitor its connections"));
  }
  door_monitor_ = zmq_socket(zmq_context_, ZMQ_PAIR);
  zmq_setsockopt(door_monitor_, ZMQ_LINGER, &zero, sizeof(zero));
  if (door_monitor_ == nullptr || zmq_connect(door_monitor_, monitor_endpoint.c_str()) != 0) {
    return Status::Error(zmq_error("partner door: cannot read its connection monitor"));
  }
  door_monitor_watcher_ =
      std::make_unique<ZmqWatcher>(io_, door_monitor_, [this] { on_door_monitor(); });
  door_monitor_watcher_->start();
  if (zmq_bind(door_socket_, config.listen.c_str()) != 0) {
    return Status::Error(zmq_error("partner door: cannot bind " + config.listen));
  }
  char endpoint[256] = {};
  size_t endpoint_size = sizeof(endpoint);
  zmq_getsockopt(door_socket_, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size);
  door_endpoint_ = endpoint;
  logger_->info("partner door listening on {} (CURVE; server key {}; {} partners with keys)",
                door_endpoint_, config.public_key, door_->keys().size());
  door_watcher_ = std::make_unique<ZmqWatcher>(io_, door_socket_, [this] { on_door_ready(); });
  door_watcher_->start();
  return Status::Ok();
}

void Broker::close_door() {
  if (door_timer_) {
    door_timer_->cancel();
  }
  if (door_watcher_) {
    door_watcher_->stop();
    door_watcher_.reset();
  }
  if (door_monitor_watcher_) {
    door_monitor_watcher_->stop();
    door_monitor_watcher_.reset();
  }
  if (door_socket_ != nullptr && door_monitor_ != nullptr) {
    zmq_socket_monitor(door_socket_, nullptr, 0);
  }
  if (door_monitor_ != nullptr) {
    zmq_close(door_monitor_);
    door_monitor_ = nullptr;
  }
  if (door_socket_ != nullptr) {
    zmq_close(door_socket_);
    door_socket_ = nullptr;
  }
  if (zap_) {
    zap_->stop();
  }
}

void Broker::on_door_ready() {
  zmq_msg_t identity;
  zmq_msg_t body;
  zmq_msg_init(&identity);
  zmq_msg_init(&body);
  int handled = 0;
  while (door_watcher_ && door_watcher_->readable_now()) {
    if (++handled > 256) {
      door_watcher_->poke();
      break;
    }
    if (zmq_msg_recv(&identity, door_socket_, ZMQ_DONTWAIT) < 0) {
      break;
    }
    if (!zmq_msg_more(&identity)) {
      continue;
    }
    if (zmq_msg_recv(&body, door_socket_, ZMQ_DONTWAIT) < 0) {
      break;
    }
    const std::string id = PartnerDoor::door_identity(std::string_view(
        static_cast<const char*>(zmq_msg_data(&identity)), zmq_msg_size(&identity)));
    // Who sent it is whom its CURVE key belongs to, as the ZAP handler told ZeroMQ.
    const char* user_id = zmq_msg_gets(&body, "User-Id");
    door_partner_ = user_id != nullptr ? user_id : "";
    door_fd_ = zmq_msg_get(&body, ZMQ_SRCFD);
    if (zmq_msg_more(&body)) {
      size_t size = zmq_msg_size(&body);
      while (zmq_msg_more(&body) && zmq_msg_recv(&body, door_socket_, ZMQ_DONTWAIT) >= 0) {
        size += zmq_msg_size(&body);
      }
      handle_bad_frame(id, size, "a multipart message (the protocol uses one frame)");
      continue;
    }
    if (revoked_.count(id) != 0) {
      refuse_door(id,
                  "this connection's partner was revoked by a configuration reload; "
                  "connect again with a key the hub's configuration admits");
      continue;
    }
    if (door_partner_.empty() || door_->find(door_partner_) == nullptr) {
      refuse_door(id, "this connection is not authenticated as a configured partner");
      continue;
    }
    handle_message(id, zmq_msg_data(&body), zmq_msg_size(&body));
  }
  zmq_msg_close(&identity);
  zmq_msg_close(&body);
  door_partner_.clear();
  door_fd_ = -1;
  flush_updates();
}

void Broker::forget_door_connection(const std::string& identity, PeerLoss loss) {
  auto it = door_connections_.find(identity);
  if (it == door_connections_.end()) {
    return;
  }
  // A partner gone silent, or speaking garbage, holds a connection slot until it is closed.
  if (loss == PeerLoss::kSilent || loss == PeerLoss::kBadFrame) {
    shut_down_later(it->second.fd);
  }
  door_connections_.erase(it);  // its delayed acks too: it publishes those batches again
}

void Broker::on_door_monitor() {
  zmq_msg_t event;
  zmq_msg_t address;
  zmq_msg_init(&event);
  zmq_msg_init(&address);
  while (door_monitor_watcher_ && door_monitor_watcher_->readable_now()) {
    // Two frames: the event (uint16) and its value (uint32, here the connection's fd), then the
    // endpoint.
    if (zmq_msg_recv(&event, door_monitor_, ZMQ_DONTWAIT) < 0) {
      break;
    }
    if (!zmq_msg_more(&event) || zmq_msg_recv(&address, door_monitor_, ZMQ_DONTWAIT) < 0 ||
        zmq_msg_size(&event) < 6) {
      continue;
    }
    uint16_t kind = 0;
    uint32_t value = 0;
    std::memcpy(&kind, zmq_msg_data(&event), sizeof(kind));
    std::memcpy(&value, static_cast<const char*>(zmq_msg_data(&event)) + 2, sizeof(value));
    const int fd = static_cast<int>(value);
    if (kind == ZMQ_EVENT_DISCONNECTED) {
      door_fds_.erase(fd);
    } else if (kind == ZMQ_EVENT_ACCEPTED) {
      if (door_fds_.size() < door_max_connections_) {
        door_fds_.insert(fd);
        continue;
      }
      // Before any handshake there is nobody to tell: the connection is closed and counted.
      ++door_->counters().connections_refused;
      uint64_t held_back = 0;
      if (door_->connection_log().allow(Clock::now(), held_back)) {
        logger_->warn(
            "partner door: a new connection was closed: the door has its most "
            "connections (partner_door.max_connections {}){}",
            door_max_connections_, LogLimiter::suffix(held_back));
      }
      ::shutdown(fd, SHUT_RDWR);
    }
  }
  zmq_msg_close(&event);
  zmq_msg_close(&address);
}

void Broker::refuse_door(const std::string& identity, const std::string& reason, bool close) {
  ++door_->counters().connections_refused;
  uint64_t held_back = 0;
  if (door_->connection_log().allow(Clock::now(), held_back)) {
    logger_->warn("partner door: refused partner={} peer={}: {}{}",
                  door_partner_.empty() ? std::string("-") : safe_text(door_partner_),
                  safe_text(PartnerDoor::routing_id_of(identity)), reason,
                  LogLimiter::suffix(held_back));
  }
  wire::Frame frame;
  frame.mutable_refused()->set_reason(reason);
  frame.mutable_refused()->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  send(identity, frame);
  if (peers_.contains(identity)) {
    forget_peer(identity, PeerLoss::kRevoked);
  }
  if (close) {
    shut_down_later(door_fd_);
  }
}

void Broker::shut_down_later(int fd) {
  if (fd < 0) {
    return;
  }
  // ZeroMQ offers no way to close one connection of a ROUTER; shutting its socket down makes
  // ZeroMQ see the connection end and clean up (the fd stays ZeroMQ's to close). Done after a
  // grace period, so the Refused just queued is written first; and only if the fd is still that
  // connection (same remote address and port), not one that reused the number meanwhile.
  sockaddr_storage peer{};
  socklen_t peer_size = sizeof(peer);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) {
    return;  // already gone
  }
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, kCloseGrace);
  timer->async_wait([timer, fd, peer, peer_size](const boost::system::error_code& ec) {
    sockaddr_storage now{};
    socklen_t now_size = sizeof(now);
    if (!ec && ::getpeername(fd, reinterpret_cast<sockaddr*>(&now), &now_size) == 0 &&
        now_size == peer_size && std::memcmp(&now, &peer, peer_size) == 0) {
      ::shutdown(fd, SHUT_RDWR);
    }
  });
}

void Broker::handle_partner_hello(const std::string& identity, const wire::Hello& hello) {
  const std::string partner = door_partner_;
  std::string refusal;
  if (hello.protocol_version() != SIMPANG_WIRE_PROTOCOL_VERSION) {
    refusal = hello_refusal(HelloCheck{.instance = partner,
                                       .protocol = hello.protocol_version(),
                                       .hub_protocol = SIMPANG_WIRE_PROTOCOL_VERSION});
  } else if (!hello.instance().empty() && hello.instance() != partner) {
    refusal = "this connection is authenticated as partner '" + partner +
              "' (by its CURVE key); its Hello names '" + safe_text(hello.instance()) +
              "': leave Hello.instance empty or give the partner's name";
  } else if (hello.consumes()) {
    refusal = "partner '" + partner +
              "' asked for deliveries (Hello.consumes); the partner door only takes publishes";
  }
  if (!refusal.empty()) {
    // A wrong Hello may be corrected on the same connection.
    refuse_door(identity, refusal, /*close=*/false);
    return;
  }
  if (peers_.contains(identity)) {
    forget_peer(identity, PeerLoss::kHelloAgain);
  }
  PeerTable::Peer peer;
  peer.instance = partner;
  peer.produces = true;
  DoorConnection& connection = door_connections_[identity];
  connection.partner = partner;
  connection.fd = door_fd_;
  logger_->info("partner={} connected through the door (peer {})", partner,
                safe_text(PartnerDoor::routing_id_of(identity)));
  const uint64_t session = peers_.add(identity, std::move(peer), Clock::now());
  boost::asio::post(reader_, [this, identity, session, partner] {
    auto cursors = journal_.load_cursors(partner);
    boost::asio::post(io_, [this, identity, session, cursors = std::move(cursors)]() mutable {
      welcome(identity, session, std::move(cursors));
    });
  });
}

bool Broker::admit_partner_publish(const std::string& identity, const wire::Publish& publish) {
  auto connection = door_connections_.find(identity);
  if (connection == door_connections_.end()) {
    return false;  // not welcomed: handle_message refused it already
  }
  const std::string& partner = connection->second.partner;
  if (std::string reason = door_->backlog_refusal(partner, publish.batch()); !reason.empty()) {
    // Refused, not held: what the partner has pending stays within its share of the journal.
    ++door_->counters().backlog_refused;
    ++batches_refused_;
    uint64_t held_back = 0;
    if (batch_log_.allow(Clock::now(), held_back)) {
      logger_->warn("partner={} batch={} refused: {}{}", partner, publish.batch(), reason,
                    LogLimiter::suffix(held_back));
    }
    wire::Frame reply;
    reply.mutable_publish_reject()->set_batch(publish.batch());
    reply.mutable_publish_reject()->set_retry_later(reason);
    send(identity, reply);
    return false;
  }
  uint64_t bytes = 0;
  for (const std::string& event : publish.events()) {
    bytes += event.size();
  }
  connection->second.ack_at.push_back(
      door_->charge(partner, static_cast<uint32_t>(publish.events_size()), bytes, Clock::now()));
  return true;
}

const std::string* Broker::backlog_partner(const std::string& identity) const {
  if (!door_ || !PartnerDoor::is_door_identity(identity)) {
    return nullptr;
  }
  auto connection = door_connections_.find(identity);
  return connection != door_connections_.end() && door_->counts_backlog(connection->second.partner)
             ? &connection->second.partner
             : nullptr;
}

void Broker::track_backlog(const std::string& partner, uint64_t delivery_id) {
  if (door_backlog_.emplace(delivery_id, partner).second) {
    door_->add_backlog(partner);
  }
}

void Broker::release_backlog(const std::vector<DeliveryUpdate>& updates) {
  for (const DeliveryUpdate& update : updates) {
    if (update.kind == DeliveryUpdate::Kind::kRetry) {
      continue;  // still pending
    }
    if (auto it = door_backlog_.find(update.delivery_id); it != door_backlog_.end()) {
      door_->release_backlog(it->second);
      door_backlog_.erase(it);
    }
  }
}

void Broker::door_reply(const std::string& identity, std::string bytes) {
  auto it = door_connections_.find(identity);
  if (it == door_connections_.end()) {
    return;  // gone: the partner publishes the batch again after its next hello
  }
  DoorConnection& connection = it->second;
  Clock::time_point due = Clock::now();
  if (!connection.ack_at.empty()) {
    due = connection.ack_at.front();
    connection.ack_at.pop_front();
  }
  if (connection.delayed.empty() && due <= Clock::now()) {
    answered(identity);
    send_bytes(identity, bytes);
    return;
  }
  // Over its quota: the ack waits, and with the partner's window full, so does the partner.
  connection.delayed.emplace_back(
      std::max(due, connection.delayed.empty() ? due : connection.delayed.back().first),
      std::move(bytes));
  arm_door_timer();
}

void Broker::arm_door_timer() {
  Clock::time_point earliest = Clock::time_point::max();
  for (const auto& [identity, connection] : door_connections_) {
    if (!connection.delayed.empty()) {
      earliest = std::min(earliest, connection.delayed.front().first);
    }
  }
  if (earliest == Clock::time_point::max() ||
      (door_timer_due_ != Clock::time_point{} && door_timer_due_ <= earliest)) {
    return;
  }
  door_timer_due_ = earliest;
  door_timer_->expires_at(earliest);
  door_timer_->async_wait([this](const boost::system::error_code& ec) {
    if (ec) {
      return;
    }
    door_timer_due_ = {};
    const Clock::time_point now = Clock::now();
    std::vector<std::pair<std::string, std::string>> due;
    for (auto& [identity, connection] : door_connections_) {
      while (!connection.delayed.empty() && connection.delayed.front().first <= now) {
        due.emplace_back(identity, std::move(connection.delayed.front().second));
        connection.delayed.pop_front();
      }
    }
    for (auto& [identity, bytes] : due) {
      answered(identity);
      send_bytes(identity, bytes);
    }
    arm_door_timer();
  });
}

void Broker::reload_partners(const std::vector<PartnerConfig>& partners) {
  if (!door_) {
    if (std::any_of(partners.begin(), partners.end(),
                    [](const PartnerConfig& p) { return !p.curve_public_key.empty(); })) {
      logger_->info(
          "reload: partners' CURVE keys are unused while the partner door is closed "
          "(partner_door.listen applies on restart)");
    }
    return;
  }
  const std::vector<std::string> revoked = door_->set_partners(partners);
  if (Status keys = zap_->set_partner_keys(door_->keys()); !keys.ok()) {
    logger_->error("partner door: {}", keys.message());
  }
  std::vector<std::pair<std::string, DoorConnection>> closing;
  for (const auto& [identity, connection] : door_connections_) {
    if (std::find(revoked.begin(), revoked.end(), connection.partner) != revoked.end()) {
      closing.emplace_back(identity, connection);
    }
  }
  for (const auto& [identity, connection] : closing) {
    ++door_->counters().disconnected;
    logger_->warn(
        "partner={} revoked by the reload (removed, or its key changed): closing its "
        "connection peer={}",
        connection.partner, safe_text(PartnerDoor::routing_id_of(identity)));
    if (revoked_.size() >= kRevokedRemembered) {
      revoked_.erase(revoked_.begin());
    }
    revoked_.insert(identity);
    door_partner_ = connection.partner;
    door_fd_ = connection.fd;
    refuse_door(identity, "partner '" + connection.partner +
                              "' was removed from the hub's configuration or its key changed: "
                              "this connection is closed");
  }
  door_partner_.clear();
  door_fd_ = -1;
  logger_->info("partner door: {} partners, {} with keys; {} connections closed", partners.size(),
                door_->keys().size(), closing.size());
}

void Broker::reply_to_publisher(const std::string& identity, const wire::Frame& frame) {
  if (PartnerDoor::is_door_identity(identity)) {
    door_reply(identity, frame.SerializeAsString());
    return;
  }
  answered(identity);
  send(identity, frame);
}

uint32_t Broker::max_unacked_of(const PeerTable::Peer& peer, const std::string& identity) const {
  if (door_ && PartnerDoor::is_door_identity(identity)) {
    return door_->max_unacked(peer.instance, options_.max_unacked);
  }
  return options_.max_unacked;
}

void Broker::refuse_reserved_identity(const std::string& identity, zmq_msg_t& body) {
  // A local connection taking the door's prefix would be answered through the door, as a
  // partner. It is refused on the local socket, directly (send_message would take the door).
  ++refused_;
  uint64_t held_back = 0;
  if (refused_log_.allow(Clock::now(), held_back)) {
    logger_->error("refused peer={}: its routing id starts with the partner door's prefix{}",
                   safe_text(identity), LogLimiter::suffix(held_back));
  }
  wire::Frame refused;
  refused.mutable_refused()->set_reason(
      "routing ids starting with byte 0xFF are reserved; use another routing id");
  refused.mutable_refused()->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  const std::string bytes = refused.SerializeAsString();
  if (zmq_send(socket_, identity.data(), identity.size(), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
    zmq_send(socket_, bytes.data(), bytes.size(), ZMQ_DONTWAIT);
  }
  while (zmq_msg_more(&body) && zmq_msg_recv(&body, socket_, ZMQ_DONTWAIT) >= 0) {
  }
}

}  // namespace simpang::hub
