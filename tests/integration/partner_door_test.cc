// The partner door, tried as partners' programs would: ZeroMQ DEALERs with CURVE over real tcp on
// 127.0.0.1 (port 0, read back), key pairs made with the hub's own curve_keys code, against a
// real broker with its ZAP handler. Identity comes from the key; rights, quotas and revocation
// hold; every refusal is a frame a strict client can read.
#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <zmq.h>

#include <atomic>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

#include "core/broker.h"
#include "journal/open_journal.h"
#include "security/curve_keys.h"
#include "simpang/v1/event.pb.h"
#include "simpang/version.h"
#include "test_support.h"

namespace simpang::testing {
namespace {

namespace wire = simpang::v1::wire;
using namespace simpang::hub;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

class CapturedLog final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  size_t count(const std::string& needle) {
    std::lock_guard lock(mutex_);
    return std::count_if(lines_.begin(), lines_.end(), [&](const std::string& line) {
      return line.find(needle) != std::string::npos;
    });
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

CurveKeyPair new_keys() {
  StatusOr<CurveKeyPair> pair = generate_curve_key_pair();
  EXPECT_TRUE(pair.ok()) << pair.status().message();
  return *pair;
}

// A partner's program: a DEALER, CURVE client of `server_key`, with a monitor of its handshakes.
class CurvePeer {
 public:
  CurvePeer(void* context, const std::string& endpoint, const std::string& server_key,
            const CurveKeyPair& keys) {
    socket_ = zmq_socket(context, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(socket_, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(socket_, ZMQ_CURVE_SERVERKEY, server_key.c_str(), 40);
    zmq_setsockopt(socket_, ZMQ_CURVE_PUBLICKEY, keys.public_key.c_str(), 40);
    zmq_setsockopt(socket_, ZMQ_CURVE_SECRETKEY, keys.secret_key.c_str(), 40);
    static std::atomic<int> counter{0};
    const std::string monitor_endpoint = "inproc://partner-monitor-" + std::to_string(++counter);
    EXPECT_EQ(zmq_socket_monitor(socket_, monitor_endpoint.c_str(),
                                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED),
              0);
    monitor_ = zmq_socket(context, ZMQ_PAIR);
    zmq_setsockopt(monitor_, ZMQ_LINGER, &zero, sizeof(zero));
    EXPECT_EQ(zmq_connect(monitor_, monitor_endpoint.c_str()), 0);
    EXPECT_EQ(zmq_connect(socket_, endpoint.c_str()), 0);
  }
  ~CurvePeer() {
    zmq_socket_monitor(socket_, nullptr, 0);
    zmq_close(monitor_);
    zmq_close(socket_);
  }

  // The next handshake event (ZMQ_EVENT_*), or 0 when none came in time.
  int next_handshake_event(milliseconds timeout = seconds(10)) {
    zmq_pollitem_t item{monitor_, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, static_cast<long>(timeout.count())) <= 0) {
      return 0;
    }
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    zmq_msg_recv(&msg, monitor_, 0);
    uint16_t event = 0;
    std::memcpy(&event, zmq_msg_data(&msg), sizeof(event));
    while (zmq_msg_more(&msg)) {
      zmq_msg_recv(&msg, monitor_, 0);
    }
    zmq_msg_close(&msg);
    return event;
  }
  // Waits for one of `events`, skipping others.
  bool saw(int events, milliseconds timeout = seconds(10)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      const int event =
          next_handshake_event(std::chrono::duration_cast<milliseconds>(deadline - Clock::now()));
      if ((event & events) != 0) {
        return true;
      }
    }
    return false;
  }

  void send(const wire::Frame& frame) {
    const std::string bytes = frame.SerializeAsString();
    ASSERT_GE(zmq_send(socket_, bytes.data(), bytes.size(), 0), 0);
  }
  // The next frame other than a heartbeat, or an empty Frame when none came in time.
  wire::Frame receive(milliseconds timeout = seconds(10)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      zmq_pollitem_t item{socket_, 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 50) <= 0) {
        continue;
      }
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      if (zmq_msg_recv(&msg, socket_, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        continue;
      }
      wire::Frame frame;
      const bool parsed =
          frame.ParseFromArray(zmq_msg_data(&msg), static_cast<int>(zmq_msg_size(&msg)));
      zmq_msg_close(&msg);
      EXPECT_TRUE(parsed) << "the hub sent a message a strict client cannot parse";
      if (parsed && !frame.has_heartbeat()) {
        return frame;
      }
    }
    return {};
  }
  wire::Frame hello(const std::string& instance = {}) {
    wire::Frame frame;
    frame.mutable_hello()->set_instance(instance);
    frame.mutable_hello()->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
    frame.mutable_hello()->set_produces(true);
    frame.mutable_hello()->set_heartbeat_ms(1000);
    send(frame);
    return receive();
  }

 private:
  void* socket_ = nullptr;
  void* monitor_ = nullptr;
};

simpang::v1::Event event(const std::string& id, const std::string& type = "talent.person.updated",
                         const std::string& source = "/partners/acme/hr") {
  simpang::v1::Event e;
  e.set_id(id);
  e.set_source(source);
  e.set_type(type);
  e.set_spec_version("1.0");
  return e;
}

wire::Frame publish(uint64_t batch, const std::vector<simpang::v1::Event>& events) {
  wire::Frame frame;
  frame.mutable_publish()->set_batch(batch);
  for (const auto& e : events) {
    frame.mutable_publish()->add_events(e.SerializeAsString());
  }
  return frame;
}

PartnerConfig partner(const std::string& name, const CurveKeyPair& keys) {
  PartnerConfig p;
  p.name = name;
  p.curve_public_key = keys.public_key;
  p.types = {"talent.**"};
  p.source_prefix = "/partners/" + name + "/";
  return p;
}

class PartnerDoorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    hub_keys_ = new_keys();
    acme_keys_ = new_keys();
    beta_keys_ = new_keys();
    partners_ = {partner("acme", acme_keys_), partner("beta", beta_keys_)};
  }

  // Starts the broker with `partners_`: routes from each partner to the sink.
  void start() {
    RouteConfig from_acme;
    from_acme.name = "from-acme";
    from_acme.from = {"acme"};
    from_acme.to = {"sink"};
    RouteConfig from_beta;
    from_beta.name = "from-beta";
    from_beta.from = {"beta"};
    from_beta.to = {"sink"};
    routes_ = {from_acme, from_beta};
    auto table = RouteTable::compile(routes_);
    ASSERT_TRUE(table.ok()) << table.status().message();
    JournalOptions journal_options;
    journal_options.backend = JournalBackend::kMemory;
    auto journal =
        open_journal(journal_options, (*table)->destinations(), {"from-acme", "from-beta"});
    ASSERT_TRUE(journal.ok()) << journal.status().message();
    journal_ = std::move(*journal);
    log_ = std::make_shared<CapturedLog>();
    auto logger = std::make_shared<spdlog::logger>("door", log_);
    logger->set_level(spdlog::level::debug);
    BrokerOptions options;
    options.heartbeat = milliseconds(500);
    options.summary_interval = milliseconds(0);
    options.max_batch = 64;
    options.max_unacked = 8;
    context_ = zmq_ctx_new();
    broker_ = std::make_unique<Broker>(io_, context_, *journal_, std::move(*table), routes_,
                                       std::vector<InstanceInfo>{{"sink", true}}, options, logger);
    journal_->start([](ReplayNotice) {});
    local_endpoint_ = "ipc://" + (dir_.path() / "hub.sock").string();
    ASSERT_TRUE(broker_->start({local_endpoint_}).ok());
    PartnerDoorConfig door;
    door.listen = "tcp://127.0.0.1:0";
    door.secret_key = hub_keys_.secret_key;
    door.public_key = hub_keys_.public_key;
    door.max_connections = max_connections_;
    Status opened = broker_->open_door(door, partners_);
    ASSERT_TRUE(opened.ok()) << opened.message();
    endpoint_ = broker_->door_endpoint();
    ASSERT_TRUE(endpoint_.starts_with("tcp://127.0.0.1:")) << endpoint_;
    ASSERT_NE(endpoint_, "tcp://127.0.0.1:0");
    broker_->set_instance_token("sink", "sink-token");
    loop_ = std::thread([this] { io_.run(); });
    started_ = true;
  }

  void TearDown() override {
    if (!started_) {
      return;
    }
    on_loop([&] {
      broker_->stop();
      return 0;
    });
    journal_->stop();
    work_.reset();
    io_.stop();
    loop_.join();
    peers_.clear();
    broker_.reset();
    zmq_ctx_term(context_);
  }

  template <typename Fn>
  auto on_loop(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }
  BrokerStats stats() {
    return on_loop([&] { return broker_->stats(); });
  }
  CurvePeer& connect(const CurveKeyPair& keys, const std::string* server_key = nullptr) {
    peers_.push_back(std::make_unique<CurvePeer>(
        context_, endpoint_, server_key ? *server_key : hub_keys_.public_key, keys));
    return *peers_.back();
  }
  CurvePeer& welcomed(const CurveKeyPair& keys) {
    CurvePeer& peer = connect(keys);
    const wire::Frame welcome = peer.hello();
    EXPECT_TRUE(welcome.has_welcome()) << welcome.DebugString();
    return peer;
  }

  CurveKeyPair hub_keys_, acme_keys_, beta_keys_;
  std::vector<PartnerConfig> partners_;
  uint32_t max_connections_ = 16;
  TempDir dir_;
  std::vector<RouteConfig> routes_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::unique_ptr<Journal> journal_;
  std::shared_ptr<CapturedLog> log_;
  void* context_ = nullptr;
  std::unique_ptr<Broker> broker_;
  std::string local_endpoint_;
  std::string endpoint_;
  std::thread loop_;
  bool started_ = false;
  std::vector<std::unique_ptr<CurvePeer>> peers_;
};

// A local consumer of the sink instance, on the hub's ipc socket.
class LocalSink {
 public:
  LocalSink(void* context, const std::string& endpoint) {
    socket_ = zmq_socket(context, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(socket_, ZMQ_LINGER, &zero, sizeof(zero));
    EXPECT_EQ(zmq_connect(socket_, endpoint.c_str()), 0);
  }
  ~LocalSink() { zmq_close(socket_); }
  void send(const wire::Frame& frame) {
    const std::string bytes = frame.SerializeAsString();
    zmq_send(socket_, bytes.data(), bytes.size(), 0);
  }
  wire::Frame receive() {
    for (int i = 0; i < 200; ++i) {
      zmq_pollitem_t item{socket_, 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 50) <= 0) {
        continue;
      }
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      zmq_msg_recv(&msg, socket_, 0);
      wire::Frame frame;
      frame.ParseFromArray(zmq_msg_data(&msg), static_cast<int>(zmq_msg_size(&msg)));
      zmq_msg_close(&msg);
      if (!frame.has_heartbeat()) {
        return frame;
      }
    }
    return {};
  }

 private:
  void* socket_ = nullptr;
};

TEST_F(PartnerDoorTest, AKnownKeyPublishesAndItsEventsAreRoutedFromThePartner) {
  start();
  LocalSink sink(context_, local_endpoint_);
  wire::Frame hello;
  hello.mutable_hello()->set_instance("sink");
  hello.mutable_hello()->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  hello.mutable_hello()->set_token("sink-token");
  hello.mutable_hello()->set_consumes(true);
  sink.send(hello);
  ASSERT_TRUE(sink.receive().has_welcome());
  wire::Frame credit;
  credit.mutable_credit()->set_credit(10);
  sink.send(credit);

  CurvePeer& acme = connect(acme_keys_);
  EXPECT_TRUE(acme.saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
  // The Hello names another partner: identity is the key's, so it is refused, not believed.
  const wire::Frame impostor = acme.hello("beta");
  ASSERT_TRUE(impostor.has_refused());
  EXPECT_EQ(impostor.refused().reason(),
            "this connection is authenticated as partner 'acme' (by its CURVE key); its Hello "
            "names 'beta': leave Hello.instance empty or give the partner's name");
  const wire::Frame welcome = acme.hello();
  ASSERT_TRUE(welcome.has_welcome()) << welcome.DebugString();
  EXPECT_EQ(welcome.welcome().max_unacked(), 8u);

  acme.send(publish(1, {event("acme-1"), event("acme-2")}));
  const wire::Frame ack = acme.receive();
  ASSERT_TRUE(ack.has_publish_ack()) << ack.DebugString();
  EXPECT_EQ(ack.publish_ack().accepted(), 2u);

  const wire::Frame deliver = sink.receive();
  ASSERT_TRUE(deliver.has_deliver());
  ASSERT_EQ(deliver.deliver().deliveries_size(), 2);
  EXPECT_EQ(deliver.deliver().deliveries(0).route(), "from-acme");  // routed as from acme
  simpang::v1::Event delivered;
  ASSERT_TRUE(delivered.ParseFromString(deliver.deliver().deliveries(0).event()));
  EXPECT_EQ(delivered.id(), "acme-1");
  const BrokerStats s = stats();
  EXPECT_EQ(s.published, 2u);
  EXPECT_EQ(s.per_route[0], 2u);
  EXPECT_EQ(s.per_route[1], 0u);
}

TEST_F(PartnerDoorTest, APublishBeforeHelloIsRefusedNotAcknowledged) {
  start();
  CurvePeer& acme = connect(acme_keys_);
  acme.send(publish(1, {event("too-early")}));
  const wire::Frame reply = acme.receive();
  ASSERT_TRUE(reply.has_refused()) << reply.DebugString();
  EXPECT_EQ(reply.refused().reason(),
            "this connection has not been welcomed: say hello first (publish refused)");
  EXPECT_EQ(stats().published, 0u);
  EXPECT_TRUE(acme.hello().has_welcome());
}

TEST_F(PartnerDoorTest, AWrongServerKeyFailsTheHandshake) {
  start();
  const CurveKeyPair other = new_keys();
  CurvePeer& peer = connect(acme_keys_, &other.public_key);
  wire::Frame hello;
  hello.mutable_hello()->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  peer.send(hello);
  // The first handshake event is a failure (or the hub hanging up), never a success.
  const int first = peer.next_handshake_event();
  EXPECT_NE(first, 0) << "no handshake event within the safety timeout";
  EXPECT_NE(first, ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
  EXPECT_TRUE(peer.receive(milliseconds(300)).body_case() == wire::Frame::BODY_NOT_SET);
  EXPECT_EQ(stats().published, 0u);
}

TEST_F(PartnerDoorTest, AnUnknownClientKeyIsRefusedAndLoggedByFingerprint) {
  start();
  const CurveKeyPair stranger = new_keys();
  CurvePeer& peer = connect(stranger);
  EXPECT_TRUE(peer.saw(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
  EXPECT_GE(log_->count(curve_key_fingerprint(stranger.public_key)), 1u);
  EXPECT_EQ(log_->count(stranger.public_key), 0u) << "a key's bytes are never logged";
}

TEST_F(PartnerDoorTest, ATypeOrSourceNotAllowedIsRejectedWithAReason) {
  start();
  CurvePeer& acme = welcomed(acme_keys_);
  acme.send(publish(1, {event("ok"), event("wrong-type", "payroll.salary.changed"),
                        event("wrong-source", "talent.person.updated", "/partners/beta/hr")}));
  const wire::Frame reply = acme.receive();
  ASSERT_TRUE(reply.has_publish_reject()) << reply.DebugString();
  const auto& reject = reply.publish_reject();
  EXPECT_EQ(reject.accepted(), 1u);
  ASSERT_EQ(reject.rejected_size(), 2);
  EXPECT_EQ(reject.rejected(0).index(), 1u);
  EXPECT_EQ(reject.rejected(0).reason(),
            "event wrong-type: partner 'acme' may not publish type 'payroll.salary.changed' "
            "(allowed: talent.**)");
  EXPECT_EQ(reject.rejected(1).index(), 2u);
  EXPECT_EQ(reject.rejected(1).reason(),
            "event wrong-source: partner 'acme' may not claim source '/partners/beta/hr' (its "
            "sources start with '/partners/acme/')");
  const BrokerStats s = stats();
  EXPECT_EQ(s.published, 1u);
  EXPECT_EQ(s.door.events_refused, 2u);
  EXPECT_EQ(log_->count("partner=acme type=payroll.salary.changed source=/partners/acme/hr"), 1u);
  EXPECT_EQ(log_->count("partner=acme type=talent.person.updated source=/partners/beta/hr"), 1u);
}

TEST_F(PartnerDoorTest, RevokedByAReloadIsDisconnectedAndRefused) {
  start();
  CurvePeer& acme = welcomed(acme_keys_);
  CurvePeer& beta = welcomed(beta_keys_);
  acme.send(publish(1, {event("before")}));
  ASSERT_TRUE(acme.receive().has_publish_ack());

  std::vector<PartnerConfig> without_acme = {partners_[1]};
  on_loop([&] {
    broker_->reload_partners(without_acme);
    return 0;
  });
  const wire::Frame told = acme.receive();
  ASSERT_TRUE(told.has_refused()) << told.DebugString();
  EXPECT_EQ(told.refused().reason(),
            "partner 'acme' was removed from the hub's configuration or its key changed: this "
            "connection is closed");
  // Its connection is closed; ZeroMQ connects again by itself, and the revoked key is refused.
  EXPECT_TRUE(acme.saw(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
  acme.send(publish(2, {event("after")}));
  EXPECT_EQ(acme.receive(milliseconds(300)).body_case(), wire::Frame::BODY_NOT_SET);

  // The other partner is untouched.
  beta.send(publish(1, {event("beta-after", "talent.person.updated", "/partners/beta/x")}));
  ASSERT_TRUE(beta.receive().has_publish_ack());
  const BrokerStats s = stats();
  EXPECT_EQ(s.published, 2u);
  EXPECT_EQ(s.door.disconnected, 1u);
}

TEST_F(PartnerDoorTest, MaxUnackedIsThePartnersOwn) {
  // One event per second and batches of five: every ack waits, so the window fills.
  partners_[0].quotas.events_per_second = 1;
  partners_[0].quotas.max_unacked = 2;
  start();
  CurvePeer& acme = connect(acme_keys_);
  const wire::Frame welcome = acme.hello();
  ASSERT_TRUE(welcome.has_welcome());
  EXPECT_EQ(welcome.welcome().max_unacked(), 2u);
  auto five = [](const std::string& prefix) {
    std::vector<simpang::v1::Event> out;
    for (int i = 0; i < 5; ++i) {
      out.push_back(event(prefix + std::to_string(i)));
    }
    return out;
  };
  acme.send(publish(1, five("a")));
  acme.send(publish(2, five("b")));
  acme.send(publish(3, five("c")));
  const wire::Frame third = acme.receive(seconds(2));
  ASSERT_TRUE(third.has_publish_reject()) << third.DebugString();
  EXPECT_EQ(third.publish_reject().batch(), 3u);
  EXPECT_EQ(third.publish_reject().retry_later(),
            "batch 3 arrived with 2 batches unacknowledged, the most max_unacked (2) allows");
  EXPECT_EQ(stats().batches_refused, 1u);
}

TEST_F(PartnerDoorTest, OverItsBacklogAPartnerIsToldToRetryLaterUntilItsEventsAreDelivered) {
  partners_[0].quotas.max_backlog = 3;
  start();
  CurvePeer& acme = welcomed(acme_keys_);
  // No consumer yet: what acme publishes stays pending.
  acme.send(publish(1, {event("a1"), event("a2"), event("a3")}));
  ASSERT_TRUE(acme.receive().has_publish_ack());
  acme.send(publish(2, {event("a4")}));
  const wire::Frame full = acme.receive();
  ASSERT_TRUE(full.has_publish_reject()) << full.DebugString();
  EXPECT_EQ(full.publish_reject().retry_later(),
            "batch 2: partner 'acme' has 3 deliveries of its events pending, the most "
            "quotas.max_backlog (3) allows; publish it again once they are delivered");
  EXPECT_EQ(full.publish_reject().accepted(), 0u);
  // The other partner is not held back by acme's backlog.
  CurvePeer& beta = welcomed(beta_keys_);
  beta.send(publish(1, {event("b1", "talent.person.updated", "/partners/beta/x")}));
  ASSERT_TRUE(beta.receive().has_publish_ack());

  // The sink takes acme's three and settles them: acme may publish again.
  LocalSink sink(context_, local_endpoint_);
  wire::Frame hello;
  hello.mutable_hello()->set_instance("sink");
  hello.mutable_hello()->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  hello.mutable_hello()->set_token("sink-token");
  hello.mutable_hello()->set_consumes(true);
  sink.send(hello);
  ASSERT_TRUE(sink.receive().has_welcome());
  wire::Frame credit;
  credit.mutable_credit()->set_credit(10);
  sink.send(credit);
  int settled = 0;
  while (settled < 4) {
    const wire::Frame deliver = sink.receive();
    ASSERT_TRUE(deliver.has_deliver()) << deliver.DebugString();
    wire::Frame settle;
    for (const auto& delivery : deliver.deliver().deliveries()) {
      auto* s = settle.mutable_settle()->add_settlements();
      s->set_delivery_id(delivery.delivery_id());
      s->set_outcome(wire::Settlement::ACK);
      ++settled;
    }
    sink.send(settle);
  }
  ASSERT_TRUE(wait_for([&] { return stats().delivered == 4; }, seconds(10)));
  acme.send(publish(2, {event("a4")}));
  const wire::Frame ack = acme.receive();
  ASSERT_TRUE(ack.has_publish_ack()) << ack.DebugString();
  EXPECT_EQ(stats().door.backlog_refused, 1u);
}

TEST_F(PartnerDoorTest, APartnerOverItsQuotaIsSlowedAndTheOtherIsNot) {
  constexpr uint64_t kQuota = 200;  // events per second
  partners_[0].quotas.events_per_second = kQuota;
  start();
  CurvePeer& acme = welcomed(acme_keys_);
  CurvePeer& beta = welcomed(beta_keys_);
  constexpr auto kRun = seconds(2);
  // Each publishes batches of 10 as fast as its acks allow, keeping 4 in flight like the SDK.
  auto run = [&](CurvePeer& peer, const std::string& source) {
    const auto end = Clock::now() + kRun;
    uint64_t batch = 0;
    uint64_t acked = 0;
    int in_flight = 0;
    while (Clock::now() < end) {
      while (in_flight < 4) {
        std::vector<simpang::v1::Event> events;
        for (int i = 0; i < 10; ++i) {
          events.push_back(event(source + std::to_string(batch) + "-" + std::to_string(i),
                                 "talent.person.updated", source));
        }
        peer.send(publish(++batch, events));
        ++in_flight;
      }
      const wire::Frame reply = peer.receive(
          std::chrono::duration_cast<milliseconds>(end - Clock::now()) + milliseconds(1));
      if (reply.has_publish_ack()) {
        acked += reply.publish_ack().accepted();
        --in_flight;
      }
    }
    return acked;
  };
  auto acme_acked = std::async(std::launch::async, [&] { return run(acme, "/partners/acme/"); });
  auto beta_acked = std::async(std::launch::async, [&] { return run(beta, "/partners/beta/"); });
  const uint64_t acme_events = acme_acked.get();
  const uint64_t beta_events = beta_acked.get();
  const double run_seconds = std::chrono::duration<double>(kRun).count();
  std::printf("in %.1f s: acme (quota %lu/s) %lu events acked, beta (no quota) %lu\n", run_seconds,
              static_cast<unsigned long>(kQuota), static_cast<unsigned long>(acme_events),
              static_cast<unsigned long>(beta_events));
  // The quota's rate over the run plus one second's burst, within a generous margin.
  const double acme_allowed = kQuota * (run_seconds + 1.0);
  EXPECT_LE(acme_events, acme_allowed * 1.2) << "acme=" << acme_events;
  EXPECT_GE(acme_events, kQuota * run_seconds * 0.6) << "acme=" << acme_events;
  EXPECT_GE(beta_events, 3 * acme_allowed) << "beta=" << beta_events << " acme=" << acme_events;
  EXPECT_GT(stats().door.acks_delayed, 0u);
}

TEST_F(PartnerDoorTest, OverMaxConnectionsANewConnectionIsClosedAndCounted) {
  max_connections_ = 1;
  start();
  auto first = std::make_unique<CurvePeer>(context_, endpoint_, hub_keys_.public_key, acme_keys_);
  ASSERT_TRUE(first->hello().has_welcome());
  // Closed as it is accepted, before any handshake: even a known key does not get in.
  CurvePeer& second = connect(beta_keys_);
  EXPECT_TRUE(second.saw(ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL));
  EXPECT_TRUE(wait_for([&] { return stats().door.connections_refused >= 1; }, seconds(10)));
  EXPECT_GE(log_->count("the door has its most connections (partner_door.max_connections 1)"), 1u);
  // Once the first leaves, ZeroMQ's next attempt for the second gets in.
  first.reset();
  EXPECT_TRUE(second.saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
  EXPECT_TRUE(second.hello().has_welcome());
}

TEST_F(PartnerDoorTest, ConnectionsThatFailTheHandshakeGiveTheirSlotBack) {
  max_connections_ = 1;
  start();
  {
    // An unknown key, refused again on each of ZeroMQ's reconnection attempts.
    const CurveKeyPair stranger = new_keys();
    CurvePeer intruder(context_, endpoint_, hub_keys_.public_key, stranger);
    EXPECT_TRUE(intruder.saw(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH));
  }
  // Its refused connections hold no slot: a known key still gets in.
  CurvePeer& acme = connect(acme_keys_);
  EXPECT_TRUE(acme.saw(ZMQ_EVENT_HANDSHAKE_SUCCEEDED));
  EXPECT_TRUE(acme.hello().has_welcome());
  EXPECT_EQ(stats().door.connections_refused, 0u);
}

TEST_F(PartnerDoorTest, ALocalPeerCannotTakeTheDoorsNamespace) {
  start();
  void* local = zmq_socket(context_, ZMQ_DEALER);
  int zero = 0;
  zmq_setsockopt(local, ZMQ_LINGER, &zero, sizeof(zero));
  const std::string forged =
      "\xff"
      "door:x";
  zmq_setsockopt(local, ZMQ_ROUTING_ID, forged.data(), forged.size());
  ASSERT_EQ(zmq_connect(local, local_endpoint_.c_str()), 0);
  wire::Frame hello;
  hello.mutable_hello()->set_protocol_version(SIMPANG_WIRE_PROTOCOL_VERSION);
  const std::string bytes = hello.SerializeAsString();
  zmq_send(local, bytes.data(), bytes.size(), 0);
  zmq_pollitem_t item{local, 0, ZMQ_POLLIN, 0};
  ASSERT_EQ(zmq_poll(&item, 1, 10000), 1);
  char buffer[512];
  const int n = zmq_recv(local, buffer, sizeof(buffer), 0);
  wire::Frame reply;
  ASSERT_TRUE(reply.ParseFromArray(buffer, n));
  ASSERT_TRUE(reply.has_refused());
  EXPECT_EQ(reply.refused().reason(),
            "routing ids starting with byte 0xFF are reserved; use another routing id");
  zmq_close(local);
}

}  // namespace
}  // namespace simpang::testing
