// The hub's doors, tried from outside: a raw ZeroMQ DEALER speaking (and misspeaking) the wire
// protocol to a real broker on a real ipc:// socket, with a journal whose appends the test can
// hold. Every refusal must reach the peer as a frame it can parse, be counted, and be logged at a
// limited rate; nothing refused may be acknowledged, journaled or delivered.
#include "core/broker.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>
#include <zmq.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "journal/open_journal.h"
#include "simpang/base/safe_text.h"
#include "simpang/v1/event.pb.h"
#include "simpang/version.h"
#include "test_support.h"

namespace simpang::testing {
namespace {

namespace wire = simpang::v1::wire;
using namespace simpang::hub;
using std::chrono::milliseconds;
using std::chrono::seconds;

// Appends are held while the gate is closed, so a test decides when the journal has made a
// batch durable. Everything else goes straight to the memory journal.
class GatedJournal final : public Journal {
 public:
  explicit GatedJournal(std::unique_ptr<Journal> inner) : inner_(std::move(inner)) {}
  void start(ReplayDone on_replay) override { inner_->start(std::move(on_replay)); }
  void stop() override {
    open_gate();
    inner_->stop();
  }
  void append(AppendBatch batch, AppendDone done) override {
    std::lock_guard lock(mutex_);
    if (closed_) {
      held_.emplace_back(std::move(batch), std::move(done));
      return;
    }
    inner_->append(std::move(batch), std::move(done));
  }
  void update(std::vector<DeliveryUpdate> updates) override { inner_->update(std::move(updates)); }
  bool full() const override { return inner_->full(); }
  Status add_names(const std::vector<std::string>& destinations,
                   const std::vector<std::string>& routes) override {
    return inner_->add_names(destinations, routes);
  }
  StatusOr<std::vector<StoredDelivery>> load_pending(uint32_t destination, uint64_t after,
                                                     size_t limit) override {
    return inner_->load_pending(destination, after, limit);
  }
  StatusOr<std::map<std::string, std::string>> load_cursors(const std::string& publisher) override {
    return inner_->load_cursors(publisher);
  }
  JournalStats stats() const override { return inner_->stats(); }

  void close_gate() {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  void open_gate() {
    std::vector<std::pair<AppendBatch, AppendDone>> held;
    {
      std::lock_guard lock(mutex_);
      closed_ = false;
      held.swap(held_);
    }
    for (auto& [batch, done] : held) {
      inner_->append(std::move(batch), std::move(done));
    }
  }

 private:
  std::unique_ptr<Journal> inner_;
  std::mutex mutex_;
  bool closed_ = false;
  std::vector<std::pair<AppendBatch, AppendDone>> held_;
};

// The hub's log lines, kept for the test to count.
class CapturedLog final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  size_t count(const std::string& needle) {
    std::lock_guard lock(mutex_);
    size_t n = 0;
    for (const auto& line : lines_) {
      n += line.find(needle) != std::string::npos ? 1 : 0;
    }
    return n;
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    lines_.emplace_back(msg.payload.data(), msg.payload.size());
  }
  void flush_() override {}

 private:
  std::vector<std::string> lines_;
};

// A peer as anyone on the machine could write it: a DEALER with the routing id it likes.
class RawPeer {
 public:
  // send_queue > 0: queue at most that many outgoing messages here, so a flooding client holds
  // little itself. Set before connecting: libzmq sizes a pipe's flow control when it is made, and
  // a limit lowered on a connected socket can leave the writer waiting for a wake-up that the
  // reader only sends after half the old limit.
  RawPeer(void* context, const std::string& endpoint, std::string_view routing_id = {},
          int send_queue = 0) {
    socket_ = zmq_socket(context, ZMQ_DEALER);
    int zero = 0;
    zmq_setsockopt(socket_, ZMQ_LINGER, &zero, sizeof(zero));
    if (send_queue > 0) {
      zmq_setsockopt(socket_, ZMQ_SNDHWM, &send_queue, sizeof(send_queue));
    }
    if (!routing_id.empty()) {
      zmq_setsockopt(socket_, ZMQ_ROUTING_ID, routing_id.data(), routing_id.size());
    }
    EXPECT_EQ(zmq_connect(socket_, endpoint.c_str()), 0);
  }
  ~RawPeer() { zmq_close(socket_); }

  void send_bytes(const std::string& bytes) {
    ASSERT_GE(zmq_send(socket_, bytes.data(), bytes.size(), 0), 0);
  }
  void send(const wire::Frame& frame) { send_bytes(frame.SerializeAsString()); }

  // The next frame other than a heartbeat, parsed as a strict client would; nothing within the
  // safety timeout, or bytes that do not parse, fail the test.
  wire::Frame receive(milliseconds timeout = seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      zmq_pollitem_t item{socket_, 0, ZMQ_POLLIN, 0};
      if (zmq_poll(&item, 1, 100) <= 0) {
        continue;
      }
      zmq_msg_t msg;
      zmq_msg_init(&msg);
      if (zmq_msg_recv(&msg, socket_, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        continue;
      }
      wire::Frame frame;
      const bool parsed = frame.ParseFromArray(zmq_msg_data(&msg), static_cast<int>(zmq_msg_size(&msg)));
      zmq_msg_close(&msg);
      EXPECT_TRUE(parsed) << "the hub sent a message a strict client cannot parse";
      if (parsed && !frame.has_heartbeat()) {
        return frame;
      }
    }
    ADD_FAILURE() << "no frame from the hub within the safety timeout";
    return {};
  }

  // Says hello as `instance` with `token`, and returns the hub's answer.
  wire::Frame hello(const std::string& instance, const std::string& token, bool consumes = false,
                    uint32_t protocol = SIMPANG_WIRE_PROTOCOL_VERSION) {
    wire::Frame frame;
    auto* h = frame.mutable_hello();
    h->set_instance(instance);
    h->set_protocol_version(protocol);
    h->set_token(token);
    h->set_consumes(consumes);
    h->set_produces(!consumes);
    h->set_heartbeat_ms(200);
    send(frame);
    return receive();
  }

 private:
  void* socket_ = nullptr;
};

simpang::v1::Event event(const std::string& id) {
  simpang::v1::Event e;
  e.set_id(id);
  e.set_source("/doors");
  e.set_type("test.happened");
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

std::vector<simpang::v1::Event> events(int n, const std::string& prefix) {
  std::vector<simpang::v1::Event> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(event(prefix + std::to_string(i)));
  }
  return out;
}

class DoorsTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kMaxBatch = 16;
  static constexpr uint32_t kMaxUnacked = 2;
  static constexpr uint32_t kMaxEventBytes = 64 * 1024;
  static constexpr uint32_t kMaxFrameBytes = 256 * 1024;

  void SetUp() override {
    RouteConfig all;
    all.name = "all";
    all.from = {"raw"};
    all.to = {"sink"};
    routes_ = {all};
    auto table = RouteTable::compile(routes_);
    ASSERT_TRUE(table.ok()) << table.status().message();
    JournalOptions journal_options;
    journal_options.backend = JournalBackend::kMemory;
    auto inner = open_journal(journal_options, (*table)->destinations(), {"all"});
    ASSERT_TRUE(inner.ok()) << inner.status().message();
    journal_ = std::make_unique<GatedJournal>(std::move(*inner));
    log_ = std::make_shared<CapturedLog>();
    auto logger = std::make_shared<spdlog::logger>("doors", log_);
    logger->set_level(spdlog::level::debug);
    BrokerOptions options;
    options.heartbeat = milliseconds(200);
    options.summary_interval = milliseconds(0);
    options.max_batch = kMaxBatch;
    options.max_unacked = kMaxUnacked;
    options.max_frame_bytes = max_frame_bytes_;
    options.limits.max_event_bytes = max_event_bytes_;
    context_ = zmq_ctx_new();
    broker_ = std::make_unique<Broker>(io_, context_, *journal_, std::move(*table), routes_,
                                       std::vector<InstanceInfo>{{"raw", false}, {"raw2", false}, {"raw3", false}, {"sink", true}},
                                       options, logger);
    journal_->start([](ReplayNotice) {});
    endpoint_ = "ipc://" + (dir_.path() / "hub.sock").string();
    ASSERT_TRUE(broker_->start({endpoint_}).ok());
    for (const char* instance : {"raw", "raw2", "raw3", "sink"}) {
      broker_->set_instance_token(instance, std::string(instance) + "-token");
    }
    loop_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    on_loop([&] {
      broker_->stop();
      return 0;
    });
    journal_->stop();
    work_.reset();
    io_.stop();
    loop_.join();
    broker_.reset();
    peers_.clear();
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
  RawPeer& peer(std::string_view routing_id = {}, int send_queue = 0) {
    peers_.push_back(std::make_unique<RawPeer>(context_, endpoint_, routing_id, send_queue));
    return *peers_.back();
  }
  // One connection per instance: a second hello as a live instance is refused.
  RawPeer& welcomed_source(const std::string& instance = "raw", int send_queue = 0) {
    RawPeer& source = peer({}, send_queue);
    EXPECT_TRUE(source.hello(instance, instance + "-token").has_welcome());
    return source;
  }

  uint32_t max_frame_bytes_ = kMaxFrameBytes;
  uint32_t max_event_bytes_ = kMaxEventBytes;
  TempDir dir_;
  std::vector<RouteConfig> routes_;
  boost::asio::io_context io_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(io_)};
  std::unique_ptr<GatedJournal> journal_;
  std::shared_ptr<CapturedLog> log_;
  void* context_ = nullptr;
  std::unique_ptr<Broker> broker_;
  std::string endpoint_;
  std::thread loop_;
  std::vector<std::unique_ptr<RawPeer>> peers_;
};

TEST_F(DoorsTest, TheWelcomeAnnouncesTheLimits) {
  RawPeer& source = peer();
  const wire::Frame welcome = source.hello("raw", "raw-token");
  ASSERT_TRUE(welcome.has_welcome());
  EXPECT_EQ(welcome.welcome().protocol_version(), SIMPANG_WIRE_PROTOCOL_VERSION);
  EXPECT_EQ(welcome.welcome().max_batch(), kMaxBatch);
  EXPECT_EQ(welcome.welcome().max_unacked(), kMaxUnacked);
  EXPECT_EQ(welcome.welcome().max_event_bytes(), kMaxEventBytes);
  EXPECT_EQ(welcome.welcome().max_frame_bytes(), kMaxFrameBytes);
  EXPECT_EQ(welcome.welcome().max_attributes(), EventLimits{}.max_attributes);
  EXPECT_EQ(welcome.welcome().max_attribute_bytes(), EventLimits{}.max_attribute_bytes);
}

TEST_F(DoorsTest, ABatchOverMaxBatchIsRejectedWholeNamingTheLimit) {
  RawPeer& source = welcomed_source();
  source.send(publish(1, events(kMaxBatch + 1, "over-")));
  const wire::Frame reply = source.receive();
  ASSERT_TRUE(reply.has_publish_reject());
  EXPECT_EQ(reply.publish_reject().batch(), 1u);
  EXPECT_EQ(reply.publish_reject().accepted(), 0u);
  EXPECT_TRUE(reply.publish_reject().retry_later().empty());
  ASSERT_EQ(reply.publish_reject().rejected_size(), static_cast<int>(kMaxBatch + 1));
  EXPECT_EQ(reply.publish_reject().rejected(0).reason(),
            "batch of 17 events is over max_batch (16)");
  // A batch within the limit still goes through.
  source.send(publish(2, events(kMaxBatch, "within-")));
  const wire::Frame ack = source.receive();
  ASSERT_TRUE(ack.has_publish_ack());
  EXPECT_EQ(ack.publish_ack().accepted(), kMaxBatch);
  const BrokerStats s = stats();
  EXPECT_EQ(s.batches_refused, 1u);
  EXPECT_EQ(s.published, kMaxBatch);
  EXPECT_EQ(s.rejected, kMaxBatch + 1);
  EXPECT_EQ(log_->count("over max_batch"), 1u);
}

TEST_F(DoorsTest, PublishesBeyondMaxUnackedAreRefusedNotBuffered) {
  RawPeer& source = welcomed_source();
  journal_->close_gate();  // nothing is made durable: every accepted batch stays unacknowledged
  constexpr int kFlood = 200;
  for (int b = 1; b <= kFlood; ++b) {
    source.send(publish(b, {event("flood-" + std::to_string(b))}));
  }
  // Every batch beyond the window is answered at once, asked to come again later.
  for (int b = kMaxUnacked + 1; b <= kFlood; ++b) {
    const wire::Frame reply = source.receive();
    ASSERT_TRUE(reply.has_publish_reject()) << "batch " << b;
    EXPECT_EQ(reply.publish_reject().batch(), static_cast<uint64_t>(b));
    EXPECT_EQ(reply.publish_reject().retry_later(),
              "batch " + std::to_string(b) +
                  " arrived with 2 batches unacknowledged, the most max_unacked (2) allows");
  }
  EXPECT_EQ(stats().batches_refused, static_cast<uint64_t>(kFlood - kMaxUnacked));
  journal_->open_gate();
  for (int b = 1; b <= static_cast<int>(kMaxUnacked); ++b) {
    const wire::Frame reply = source.receive();
    ASSERT_TRUE(reply.has_publish_ack());
    EXPECT_EQ(reply.publish_ack().batch(), static_cast<uint64_t>(b));
  }
  EXPECT_EQ(stats().published, kMaxUnacked);
  // Rate-limited: a few lines, not one per refused batch.
  EXPECT_LE(log_->count("over max_unacked") + log_->count("max_unacked (2) allows"), 5u);
}

TEST_F(DoorsTest, AnEventOverMaxEventBytesIsRejectedAndAnOversizedFrameNeverArrives) {
  RawPeer& source = welcomed_source();
  simpang::v1::Event big = event("big");
  big.set_binary_data(std::string(kMaxEventBytes + 1, 'x'));
  source.send(publish(1, {big, event("small")}));
  const wire::Frame reply = source.receive();
  ASSERT_TRUE(reply.has_publish_reject());
  EXPECT_EQ(reply.publish_reject().accepted(), 1u);
  ASSERT_EQ(reply.publish_reject().rejected_size(), 1);
  EXPECT_EQ(reply.publish_reject().rejected(0).reason(),
            "event big: " + std::to_string(big.ByteSizeLong()) +
                " bytes is over max_event_bytes (65536)");

  // A frame over max_frame_bytes: ZeroMQ drops the connection while decoding it, so it is never
  // journaled, never answered, and the hub serves the next peer as before.
  RawPeer& flooder = welcomed_source("raw2");
  simpang::v1::Event huge = event("huge");
  huge.set_binary_data(std::string(kMaxFrameBytes + 1, 'x'));
  flooder.send(publish(1, {huge}));
  RawPeer& next = welcomed_source("raw3");
  next.send(publish(1, {event("after")}));
  EXPECT_TRUE(next.receive().has_publish_ack());
  EXPECT_EQ(stats().published, 2u);  // "small" and "after"
}

TEST_F(DoorsTest, BadFramesAreAnsweredCountedAndLoggedAtALimitedRate) {
  RawPeer& source = welcomed_source();
  std::string truncated = publish(1, events(3, "t-")).SerializeAsString();
  truncated.resize(truncated.size() / 2);
  const std::vector<std::string> bad = {std::string("\xff\xff\xff\xff", 4), std::string(),
                                        truncated};
  for (const auto& bytes : bad) {
    source.send_bytes(bytes);
    const wire::Frame reply = source.receive();
    ASSERT_TRUE(reply.has_refused());
    EXPECT_TRUE(is_valid_utf8(reply.refused().reason()));
    EXPECT_EQ(reply.refused().protocol_version(), SIMPANG_WIRE_PROTOCOL_VERSION);
  }
  constexpr int kFlood = 1000;
  for (int i = 0; i < kFlood; ++i) {
    source.send_bytes("\x08garbage");
  }
  for (int i = 0; i < kFlood; ++i) {
    ASSERT_TRUE(source.receive().has_refused()) << "garbage " << i;
  }
  const BrokerStats s = stats();
  EXPECT_EQ(s.bad_frames, static_cast<uint64_t>(bad.size() + kFlood));
  EXPECT_EQ(s.published, 0u);
  // A handful of lines, then a count of what was held back.
  EXPECT_LE(log_->count("bad frame"), 5u);
  on_loop([&] {
    broker_->log_summary();
    return 0;
  });
  EXPECT_EQ(log_->count("suppressed " + std::to_string(bad.size() + kFlood - 5) +
                        " log lines about bad frames"),
            1u);
}

TEST_F(DoorsTest, ARoutingIdThatIsNotUtf8GetsARefusalAStrictClientCanRead) {
  RawPeer& stranger = peer(std::string("\xff\xfe\x01\x80", 4));
  stranger.send(publish(1, {event("e")}));
  const wire::Frame refused = stranger.receive();  // fails the test if it does not parse
  ASSERT_TRUE(refused.has_refused());
  EXPECT_TRUE(is_valid_utf8(refused.refused().reason()));
  const wire::Frame hello = stranger.hello("no-such\x01", "x");
  ASSERT_TRUE(hello.has_refused());
  EXPECT_EQ(hello.refused().reason(), "instance 'no-such\\x01' is not in the hub's configuration");
  EXPECT_EQ(log_->count("\xff"), 0u);  // the log shows the id escaped, never raw
  EXPECT_GE(log_->count("refused peer=\\xff\\xfe\\x01\\x80"), 1u);
}

TEST_F(DoorsTest, EventsTheReaderWouldRefuseAreRefusedAtTheDoor) {
  RawPeer& source = welcomed_source();
  simpang::v1::Event bad_name = event("bad-name");
  (*bad_name.mutable_extensions())["Bad-Name"].set_ce_string("x");
  simpang::v1::Event bad_type = event("bad-type");
  bad_type.set_type("not a type!");
  simpang::v1::Event bad_utf8 = event("bad-utf8");
  std::string bytes_with_bad_utf8 = bad_utf8.SerializeAsString();
  bytes_with_bad_utf8.replace(bytes_with_bad_utf8.find("bad-utf8"), 3, "\xff\xfe\xfd");
  wire::Frame frame = publish(1, {bad_name, bad_type, event("good")});
  frame.mutable_publish()->add_events(bytes_with_bad_utf8);
  source.send(frame);
  const wire::Frame reply = source.receive();
  ASSERT_TRUE(reply.has_publish_reject());
  EXPECT_EQ(reply.publish_reject().accepted(), 1u);
  ASSERT_EQ(reply.publish_reject().rejected_size(), 3);
  EXPECT_EQ(reply.publish_reject().rejected(0).reason(),
            "event bad-name: extension attribute name 'Bad-Name' is not CloudEvents naming "
            "(lower-case a-z and 0-9 only)");
  EXPECT_EQ(reply.publish_reject().rejected(1).reason(),
            "event bad-type: type \"not a type!\" is not dot-separated segments of letters, "
            "digits, '-' and '_'");
  EXPECT_EQ(reply.publish_reject().rejected(2).reason(), "not a valid simpang.v1.Event");
  const BrokerStats s = stats();
  EXPECT_EQ(s.published, 1u);
  EXPECT_EQ(s.rejected, 3u);
}

TEST_F(DoorsTest, AHelloAsALiveInstanceIsRefusedAndTheRealOneIsUnaffected) {
  RawPeer& sink = peer();
  ASSERT_TRUE(sink.hello("sink", "sink-token", true).has_welcome());
  wire::Frame credit;
  credit.mutable_credit()->set_credit(10);
  sink.send(credit);

  RawPeer& impostor = peer("sink");  // the instance's name as routing id, for what it is worth
  const wire::Frame no_token = impostor.hello("sink", "guess", true);
  ASSERT_TRUE(no_token.has_refused());
  EXPECT_EQ(no_token.refused().reason(),
            "hello for instance 'sink' does not carry the token the hub issued to its current run");
  const wire::Frame stolen = impostor.hello("sink", "sink-token", true);
  ASSERT_TRUE(stolen.has_refused());
  EXPECT_EQ(stolen.refused().reason(), "instance 'sink' is already connected on another connection");
  EXPECT_TRUE(on_loop([&] { return broker_->is_connected("sink"); }));

  // The real sink still gets what is published.
  RawPeer& source = welcomed_source();
  source.send(publish(1, {event("for-the-sink")}));
  EXPECT_TRUE(source.receive().has_publish_ack());
  const wire::Frame deliver = sink.receive();
  ASSERT_TRUE(deliver.has_deliver());
  ASSERT_EQ(deliver.deliver().deliveries_size(), 1);
  simpang::v1::Event delivered;
  ASSERT_TRUE(delivered.ParseFromString(deliver.deliver().deliveries(0).event()));
  EXPECT_EQ(delivered.id(), "for-the-sink");
  EXPECT_GE(stats().refused, 2u);

  // A restart issues a new token: the new run is welcome, the old session is over.
  on_loop([&] {
    broker_->set_instance_token("sink", "sink-token-2");
    return 0;
  });
  EXPECT_TRUE(impostor.hello("sink", "sink-token-2", true).has_welcome());
  sink.send(credit);
  const wire::Frame old_run = sink.receive();
  ASSERT_TRUE(old_run.has_refused());
  EXPECT_EQ(old_run.refused().reason(),
            "this connection has not been welcomed: say hello first (credit refused)");
}

TEST_F(DoorsTest, APublishBeforeHelloIsRefusedNeverAcknowledged) {
  RawPeer& stranger = peer("raw");  // a configured instance's name, and no hello
  stranger.send(publish(1, {event("sneaked")}));
  const wire::Frame reply = stranger.receive();
  ASSERT_TRUE(reply.has_refused());
  EXPECT_EQ(reply.refused().reason(),
            "this connection has not been welcomed: say hello first (publish refused)");
  const BrokerStats s = stats();
  EXPECT_EQ(s.published, 0u);
  EXPECT_EQ(s.refused, 1u);
}

TEST_F(DoorsTest, AnOlderPeerIsToldBothVersions) {
  RawPeer& old = peer();
  const wire::Frame reply = old.hello("raw", "raw-token", false, 1);
  ASSERT_TRUE(reply.has_refused());
  EXPECT_EQ(reply.refused().reason(),
            "wire protocol 1 is not supported; this hub speaks wire protocol " +
                std::to_string(SIMPANG_WIRE_PROTOCOL_VERSION) +
                " (rebuild the peer against a matching SDK)");
  EXPECT_EQ(reply.refused().protocol_version(), SIMPANG_WIRE_PROTOCOL_VERSION);
}

// The memory bound. It moves 12 GB through the socket in a few seconds.
// Four connections send max-size frames as fast as the hub takes them, three of them welcomed
// with their journal held (so each may keep max_unacked batches), one never welcomed. The peak
// resident size of this process (hub and clients) must stay within what the configuration allows.
class FloodTest : public DoorsTest {
 protected:
  // The hub's defaults: 1 MiB events, 16 MiB frames.
  FloodTest() {
    max_event_bytes_ = EventLimits{}.max_event_bytes;
    max_frame_bytes_ = 16 * 1024 * 1024;
  }
};

uint64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) {
      return std::stoull(line.substr(6)) * 1024;
    }
  }
  return 0;
}

TEST_F(FloodTest, PeakMemoryUnderAFloodOfMaxSizeFramesStaysBounded) {
  const uint64_t before = peak_rss_bytes();
  journal_->close_gate();
  std::vector<RawPeer*> floods = {&welcomed_source("raw", 1), &welcomed_source("raw2", 1),
                                  &welcomed_source("raw3", 1), &peer({}, 1)};
  // Each frame as large as the frame limit allows, one event under max_event_bytes each.
  wire::Frame frame;
  frame.mutable_publish()->set_batch(1);
  while (frame.ByteSizeLong() + 2 * max_event_bytes_ < max_frame_bytes_) {
    simpang::v1::Event e = event("e" + std::to_string(frame.publish().events_size()));
    e.set_binary_data(std::string(max_event_bytes_ - 200, 'x'));
    frame.mutable_publish()->add_events(e.SerializeAsString());
  }
  const std::string bytes = frame.SerializeAsString();
  constexpr int kFrames = 200;
  std::vector<std::thread> senders;
  for (RawPeer* flood : floods) {
    senders.emplace_back([flood, &bytes] {
      for (int i = 0; i < kFrames; ++i) {
        flood->send_bytes(bytes);
      }
    });
  }
  for (auto& sender : senders) {
    sender.join();
  }
  // Until every connection's frames were read and answered (refused or held).
  ASSERT_TRUE(wait_for(
      [&] {
        const BrokerStats s = stats();
        return s.batches_refused + s.refused + 3 * kMaxUnacked >= 4u * kFrames;
      },
      seconds(120)));
  const uint64_t peak = peak_rss_bytes();
  const uint64_t per_connection = (16 + kMaxUnacked) * uint64_t{max_frame_bytes_};
  std::printf("frame %zu bytes, %d frames x 4 connections: peak RSS %.1f MiB (before %.1f MiB)\n",
              bytes.size(), kFrames, peak / 1048576.0, before / 1048576.0);
  EXPECT_LT(peak - before, 4 * per_connection + 64u * 1024 * 1024);
}

}  // namespace
}  // namespace simpang::testing
