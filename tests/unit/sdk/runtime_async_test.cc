// The SDK runtime's post(), publish-with-completion and pending settlement against a scripted hub:
// a real Runtime (created through the ABI thunks, on its own thread, with its real DEALER socket)
// talking to a ROUTER socket this test drives frame by frame. So the test decides when the hub
// acknowledges, rejects, asks for a retry or goes away, and can check what the runtime does in
// between: a completion comes only after the hub's last answer, a retry-later is resent, a
// deadline fires without a hub, credit bounds pending deliveries, a stale handle settles nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "simpang/sdk/plugin.h"
#include "simpang/v1/wire.pb.h"

namespace {

namespace wire = simpang::v1::wire;
using simpang::sdk::Context;
using simpang::sdk::Outcome;
using simpang::sdk::PendingDelivery;
using simpang::sdk::PublishResult;
using std::chrono::milliseconds;

constexpr milliseconds kWait(10000);  // the most any step waits for the runtime

simpang::v1::Event make_event(const std::string& id) {
  simpang::v1::Event event;
  event.set_id(id);
  event.set_source("/tests");
  event.set_type("test.happened");
  return event;
}

// What the plugins under test share with the test's thread.
struct Shared {
  std::mutex mutex;
  std::condition_variable changed;
  Context* ctx = nullptr;                // set in on_start
  std::vector<PublishResult> results;    // publish completions, in order
  std::vector<PendingDelivery> handles;  // pending deliveries, in order
  std::vector<bool> settled;             // what each settle() returned
  int barriers = 0;

  template <typename Pred>
  bool wait(Pred pred) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, kWait, pred);
  }
  void update(const std::function<void()>& change) {
    {
      std::lock_guard lock(mutex);
      change();
    }
    changed.notify_all();
  }
};
Shared* shared = nullptr;

class Publisher : public simpang::sdk::Source {
 public:
  explicit Publisher(Context& ctx) {}
  void on_start(Context& ctx) override {
    shared->update([&] { shared->ctx = &ctx; });
  }
};

class LaterSink : public simpang::sdk::Sink {
 public:
  explicit LaterSink(Context& ctx) { ctx.set_delivery_window(3); }
  void on_start(Context& ctx) override {
    shared->update([&] { shared->ctx = &ctx; });
  }
  Outcome on_event(Context& ctx, const simpang::v1::Event& event) override {
    const PendingDelivery handle = ctx.defer();
    shared->update([&] { shared->handles.push_back(handle); });
    return Outcome::pending();
  }
};

// Defers each delivery; the test publishes its output and settles it later.
class LaterTransform : public simpang::sdk::Transform {
 public:
  explicit LaterTransform(Context& ctx) {}
  void on_start(Context& ctx) override {
    shared->update([&] { shared->ctx = &ctx; });
  }
  Outcome on_event(Context& ctx, const simpang::v1::Event& event) override {
    const PendingDelivery handle = ctx.defer();
    shared->update([&] { shared->handles.push_back(handle); });
    return Outcome::pending();
  }
};

// The hub's side: a ROUTER socket the runtime's DEALER connects to.
class ScriptedHub {
 public:
  explicit ScriptedHub(zmq::context_t& context, std::string endpoint)
      : socket_(context, zmq::socket_type::router), endpoint_(std::move(endpoint)) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(endpoint_);
  }

  // The next frame from the peer, within `timeout`; nullopt if none came.
  std::optional<wire::Frame> receive(milliseconds timeout = kWait) {
    zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq::poll(&item, 1, timeout) <= 0) {
      return std::nullopt;
    }
    zmq::message_t identity;
    zmq::message_t body;
    (void)socket_.recv(identity);
    (void)socket_.recv(body);
    peer_ = identity.to_string();
    wire::Frame frame;
    EXPECT_TRUE(frame.ParseFromArray(body.data(), static_cast<int>(body.size())));
    return frame;
  }
  // The next frame that is not a heartbeat or metrics.
  std::optional<wire::Frame> receive_significant(milliseconds timeout = kWait) {
    while (auto frame = receive(timeout)) {
      if (frame->body_case() != wire::Frame::kHeartbeat &&
          frame->body_case() != wire::Frame::kMetrics) {
        return frame;
      }
    }
    return std::nullopt;
  }
  void send(const wire::Frame& frame) {
    socket_.send(zmq::buffer(peer_), zmq::send_flags::sndmore);
    socket_.send(zmq::buffer(frame.SerializeAsString()));
  }
  // Waits for the Hello and welcomes the peer.
  void welcome(uint32_t max_batch, uint32_t max_unacked = 8) {
    auto hello = receive_significant();
    ASSERT_TRUE(hello && hello->has_hello());
    wire::Frame frame;
    auto* welcome = frame.mutable_welcome();
    welcome->set_protocol_version(hello->hello().protocol_version());
    welcome->set_heartbeat_ms(1000);
    welcome->set_max_batch(max_batch);
    welcome->set_max_unacked(max_unacked);
    send(frame);
  }
  void ack(uint64_t batch) {
    wire::Frame frame;
    frame.mutable_publish_ack()->set_batch(batch);
    send(frame);
  }

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
  std::string peer_;
};

// One plugin instance of class T, created and run through the SDK's ABI thunks as a host would.
template <typename T>
class Instance {
 public:
  Instance(zmq::context_t& context, const std::string& endpoint)
      : endpoint_(endpoint), state_dir_(::testing::TempDir()) {
    host_.struct_size = sizeof(host_);
    host_.abi_major = SIMPANG_ABI_MAJOR;
    host_.abi_minor = SIMPANG_ABI_MINOR;
    host_.zmq_context = context.handle();
    host_.hub_endpoint = endpoint_.c_str();
    host_.instance_name = "under-test";
    host_.config_json = "{}";
    host_.state_dir = state_dir_.c_str();
    host_.heartbeat_ms = 1000;
    const char* error = nullptr;
    instance_ = simpang::sdk::internal::create_instance(
        &host_, T::kKind, "under-test", &simpang::sdk::internal::make_plugin<T>, &error);
    EXPECT_NE(instance_, nullptr) << (error ? error : "");
    EXPECT_EQ(simpang::sdk::internal::start_instance(instance_), 0);
  }
  ~Instance() {
    stop(milliseconds(0));
    simpang::sdk::internal::destroy_instance(instance_);
  }
  int stop(milliseconds deadline) {
    if (stopped_) {
      return SIMPANG_STOP_CLEAN;
    }
    stopped_ = true;
    return simpang::sdk::internal::stop_instance(instance_,
                                                 static_cast<uint32_t>(deadline.count()));
  }
  std::string last_error() {
    const char* error = simpang::sdk::internal::instance_last_error(instance_);
    return error ? error : "";
  }

 private:
  std::string endpoint_;
  std::string state_dir_;
  simpang_host_api host_{};
  simpang_instance* instance_ = nullptr;
  bool stopped_ = false;
};

class RuntimeAsyncTest : public ::testing::Test {
 protected:
  void SetUp() override { shared = &shared_; }
  void TearDown() override { shared = nullptr; }

  // Runs `work` on the runtime thread (through post(), as a plugin's own thread would).
  void on_runtime(std::function<void(Context&)> work) {
    ASSERT_TRUE(shared_.wait([] { return shared->ctx != nullptr; })) << "the plugin never started";
    shared_.ctx->post([work = std::move(work)] { work(*shared->ctx); });
  }
  // Returns once the runtime has handled every frame the hub sent before this call: work posted
  // now runs at the start of the loop's next pass, and posts again, which runs only after that
  // pass has drained the socket.
  void barrier() {
    const int want = ++barrier_count_;
    on_runtime([want](Context& ctx) {
      ctx.post([want] { shared->update([&] { shared->barriers = want; }); });
    });
    ASSERT_TRUE(shared_.wait([&] { return shared_.barriers >= want; }));
  }
  void publish(std::vector<std::string> ids, milliseconds deadline) {
    on_runtime([ids = std::move(ids), deadline](Context& ctx) {
      std::vector<simpang::v1::Event> events;
      for (const auto& id : ids) {
        events.push_back(make_event(id));
      }
      const auto status = ctx.publish(std::move(events), deadline, [](const PublishResult& r) {
        shared->update([&] { shared->results.push_back(r); });
      });
      EXPECT_TRUE(status.ok()) << status.message();
    });
  }
  size_t results() {
    std::lock_guard lock(shared_.mutex);
    return shared_.results.size();
  }

  Shared shared_;
  int barrier_count_ = 0;
  zmq::context_t context_;
  const std::string endpoint_ =
      "inproc://runtime-async-test-" +
      std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
};

std::vector<std::string> ten_ids() {
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back("e" + std::to_string(i));
  }
  return ids;
}

TEST_F(RuntimeAsyncTest, AGroupIsAnsweredOnlyOnceTheHubAnsweredEveryBatchOfIt) {
  ScriptedHub hub(context_, endpoint_);
  Instance<Publisher> instance(context_, endpoint_);
  hub.welcome(/*max_batch=*/4);
  publish(ten_ids(), milliseconds(60000));
  std::vector<wire::Publish> batches;
  while (batches.size() < 3) {
    auto frame = hub.receive_significant();
    ASSERT_TRUE(frame.has_value()) << "expected three Publish batches";
    ASSERT_TRUE(frame->has_publish()) << frame->DebugString();
    batches.push_back(frame->publish());
  }
  EXPECT_EQ(batches[0].events_size(), 4);
  EXPECT_EQ(batches[1].events_size(), 4);
  EXPECT_EQ(batches[2].events_size(), 2);

  hub.ack(batches[0].batch());
  hub.ack(batches[1].batch());
  barrier();
  EXPECT_EQ(results(), 0u) << "answered before the hub answered for the last batch";

  // The hub refuses the group's event 9 (the second of the last batch) and takes the rest.
  wire::Frame reject;
  reject.mutable_publish_reject()->set_batch(batches[2].batch());
  auto* rejection = reject.mutable_publish_reject()->add_rejected();
  rejection->set_index(1);
  rejection->set_reason("type not allowed for this publisher");
  hub.send(reject);
  ASSERT_TRUE(shared_.wait([] { return !shared->results.empty(); }));
  std::lock_guard lock(shared_.mutex);
  ASSERT_EQ(shared_.results.size(), 1u);
  const PublishResult& result = shared_.results[0];
  ASSERT_EQ(result.kind(), PublishResult::Kind::kRejected);
  ASSERT_EQ(result.rejections().size(), 1u);
  EXPECT_EQ(result.rejections()[0].index, 9u) << "the index in the group, not in the batch";
  EXPECT_EQ(result.rejections()[0].reason, "type not allowed for this publisher");
}

TEST_F(RuntimeAsyncTest, ARetryLaterIsNotAnAnswerTheBatchGoesAgain) {
  ScriptedHub hub(context_, endpoint_);
  Instance<Publisher> instance(context_, endpoint_);
  hub.welcome(/*max_batch=*/16);
  publish({"a", "b"}, milliseconds(60000));
  auto first = hub.receive_significant();
  ASSERT_TRUE(first && first->has_publish());
  wire::Frame later;
  later.mutable_publish_reject()->set_batch(first->publish().batch());
  later.mutable_publish_reject()->set_retry_later("journal full");
  hub.send(later);
  auto again = hub.receive_significant();
  ASSERT_TRUE(again && again->has_publish()) << "the runtime publishes the batch again";
  EXPECT_EQ(again->publish().batch(), first->publish().batch());
  EXPECT_EQ(again->publish().events_size(), 2);
  EXPECT_EQ(results(), 0u);
  hub.ack(again->publish().batch());
  ASSERT_TRUE(shared_.wait([] { return !shared->results.empty(); }));
  EXPECT_EQ(shared_.results[0].kind(), PublishResult::Kind::kDurable);
}

TEST_F(RuntimeAsyncTest, WithNoHubTheDeadlineAnswers) {
  // A plugin publishes only once started (welcomed), so the hub is there first, then gone. Over
  // ipc:// (as a plugin host process talks to the hub) the runtime keeps queueing for the hub's
  // return; inproc:// would have no hub to queue for once its socket is closed.
  const std::string endpoint = "ipc://" + ::testing::TempDir() + "runtime-async-no-hub.sock";
  auto hub = std::make_unique<ScriptedHub>(context_, endpoint);
  Instance<Publisher> instance(context_, endpoint);
  hub->welcome(/*max_batch=*/16);
  barrier();
  hub.reset();  // the hub goes away
  const auto published = std::chrono::steady_clock::now();
  publish({"a"}, milliseconds(300));
  ASSERT_TRUE(shared_.wait([] { return !shared->results.empty(); }));
  const auto waited = std::chrono::steady_clock::now() - published;
  EXPECT_GE(waited, milliseconds(300));
  std::lock_guard lock(shared_.mutex);
  EXPECT_EQ(shared_.results[0].kind(), PublishResult::Kind::kTimedOut);
  EXPECT_NE(shared_.results[0].message().find("300 ms"), std::string::npos)
      << shared_.results[0].message();
}

TEST_F(RuntimeAsyncTest, AnUnansweredGroupIsAnsweredWhenTheInstanceStops) {
  ScriptedHub hub(context_, endpoint_);
  Instance<Publisher> instance(context_, endpoint_);
  hub.welcome(/*max_batch=*/16);
  publish({"a"}, milliseconds(60000));
  auto frame = hub.receive_significant();
  ASSERT_TRUE(frame && frame->has_publish());
  EXPECT_EQ(instance.stop(milliseconds(200)), SIMPANG_STOP_INCOMPLETE);
  std::lock_guard lock(shared_.mutex);
  ASSERT_EQ(shared_.results.size(), 1u) << "answered before the runtime finished";
  EXPECT_EQ(shared_.results[0].kind(), PublishResult::Kind::kTimedOut);
}

TEST_F(RuntimeAsyncTest, PendingDeliveriesHoldTheirCreditAndStaleHandlesSettleNothing) {
  ScriptedHub hub(context_, endpoint_);
  Instance<LaterSink> instance(context_, endpoint_);
  hub.welcome(/*max_batch=*/16);
  auto credit = hub.receive_significant();
  ASSERT_TRUE(credit && credit->has_credit());
  EXPECT_EQ(credit->credit().credit(), 3u) << "the window the sink asked for";

  wire::Frame deliver;
  for (uint64_t id = 1; id <= 3; ++id) {
    auto* delivery = deliver.mutable_deliver()->add_deliveries();
    delivery->set_delivery_id(id);
    delivery->set_event(make_event("d" + std::to_string(id)).SerializeAsString());
    delivery->set_attempt(1);
  }
  hub.send(deliver);
  ASSERT_TRUE(shared_.wait([] { return shared->handles.size() == 3; }));
  barrier();
  EXPECT_FALSE(hub.receive_significant(milliseconds(0)).has_value())
      << "nothing settled, so no Settle and no credit back";

  // The second completes: one settlement, one credit back.
  on_runtime([](Context& ctx) {
    const bool ok = ctx.settle(shared->handles[1], Outcome::ack());
    shared->update([&] { shared->settled.push_back(ok); });
  });
  auto settle = hub.receive_significant();
  ASSERT_TRUE(settle && settle->has_settle()) << (settle ? settle->DebugString() : "nothing");
  ASSERT_EQ(settle->settle().settlements_size(), 1);
  EXPECT_EQ(settle->settle().settlements(0).delivery_id(), 2u);
  EXPECT_EQ(settle->settle().settlements(0).outcome(), wire::Settlement::ACK);
  EXPECT_EQ(settle->settle().credit(), 1u);

  // The hub restarts: it says goodbye, the runtime says hello again, and the hub delivers the two
  // unsettled events again. Their old handles must settle nothing.
  wire::Frame bye;
  bye.mutable_bye()->set_reason("restarting");
  hub.send(bye);
  hub.welcome(/*max_batch=*/16);
  auto regranted = hub.receive_significant();
  ASSERT_TRUE(regranted && regranted->has_credit());
  EXPECT_EQ(regranted->credit().credit(), 3u);
  on_runtime([](Context& ctx) {
    const bool first = ctx.settle(shared->handles[0], Outcome::ack());
    const bool third = ctx.settle(shared->handles[2], Outcome::reject("late"));
    shared->update([&] {
      shared->settled.push_back(first);
      shared->settled.push_back(third);
    });
  });
  ASSERT_TRUE(shared_.wait([] { return shared->settled.size() == 3; }));
  EXPECT_EQ(shared_.settled, (std::vector<bool>{true, false, false}));
  barrier();
  EXPECT_FALSE(hub.receive_significant(milliseconds(0)).has_value())
      << "a stale handle sent a settlement";
}

TEST_F(RuntimeAsyncTest, AtStopPendingDeliveriesMaySettleUntilTheDeadline) {
  ScriptedHub hub(context_, endpoint_);
  Instance<LaterSink> instance(context_, endpoint_);
  hub.welcome(/*max_batch=*/16);
  wire::Frame deliver;
  auto* delivery = deliver.mutable_deliver()->add_deliveries();
  delivery->set_delivery_id(7);
  delivery->set_event(make_event("d7").SerializeAsString());
  hub.send(deliver);
  ASSERT_TRUE(shared_.wait([] { return shared->handles.size() == 1; }));
  // A completion thread settles it while the runtime stops.
  std::thread completion(
      [] { shared->ctx->post([] { shared->ctx->settle(shared->handles[0], Outcome::ack()); }); });
  EXPECT_EQ(instance.stop(milliseconds(5000)), SIMPANG_STOP_CLEAN) << instance.last_error();
  completion.join();
  bool settled = false;
  while (auto frame = hub.receive(milliseconds(0))) {
    if (frame->has_settle()) {
      settled = frame->settle().settlements_size() == 1 &&
                frame->settle().settlements(0).delivery_id() == 7;
    }
  }
  EXPECT_TRUE(settled) << "the settlement went out before the goodbye";
}

TEST_F(RuntimeAsyncTest, AtTheDeadlineStillPendingDeliveriesAreAbandonedAndReported) {
  ScriptedHub hub(context_, endpoint_);
  Instance<LaterSink> instance(context_, endpoint_);
  hub.welcome(/*max_batch=*/16);
  wire::Frame deliver;
  auto* delivery = deliver.mutable_deliver()->add_deliveries();
  delivery->set_delivery_id(7);
  delivery->set_event(make_event("d7").SerializeAsString());
  hub.send(deliver);
  ASSERT_TRUE(shared_.wait([] { return shared->handles.size() == 1; }));
  EXPECT_EQ(instance.stop(milliseconds(200)), SIMPANG_STOP_INCOMPLETE);
  EXPECT_EQ(instance.last_error(),
            "stopped with 1 deliveries still pending (the hub delivers them again)");
}

TEST_F(RuntimeAsyncTest, ATransformsLaterSettlementWaitsForItsOutputToBeDurable) {
  ScriptedHub hub(context_, endpoint_);
  Instance<LaterTransform> instance(context_, endpoint_);
  hub.welcome(/*max_batch=*/16);
  auto credit = hub.receive_significant();
  ASSERT_TRUE(credit && credit->has_credit());
  wire::Frame deliver;
  auto* delivery = deliver.mutable_deliver()->add_deliveries();
  delivery->set_delivery_id(5);
  delivery->set_event(make_event("in").SerializeAsString());
  hub.send(deliver);
  ASSERT_TRUE(shared_.wait([] { return shared->handles.size() == 1; }));
  on_runtime([](Context& ctx) {
    EXPECT_TRUE(ctx.emit(make_event("out")).ok());
    EXPECT_TRUE(ctx.settle(shared->handles[0], Outcome::ack()));
  });
  auto published = hub.receive_significant();
  ASSERT_TRUE(published && published->has_publish());
  barrier();
  EXPECT_FALSE(hub.receive_significant(milliseconds(0)).has_value())
      << "the input was settled before its output was acknowledged";
  hub.ack(published->publish().batch());
  auto settle = hub.receive_significant();
  ASSERT_TRUE(settle && settle->has_settle());
  ASSERT_EQ(settle->settle().settlements_size(), 1);
  EXPECT_EQ(settle->settle().settlements(0).delivery_id(), 5u);
}

TEST_F(RuntimeAsyncTest, WorkPostedAfterTheRuntimeFinishedIsDroppedNotRun) {
  ScriptedHub hub(context_, endpoint_);
  Instance<Publisher> instance(context_, endpoint_);
  hub.welcome(/*max_batch=*/16);
  barrier();
  EXPECT_EQ(instance.stop(milliseconds(1000)), SIMPANG_STOP_CLEAN) << instance.last_error();
  // The plugin object still exists (until destroy), so its threads may still post: dropped.
  auto token = std::make_shared<int>(0);
  std::atomic<bool> ran{false};
  shared_.ctx->post([token, &ran] { ran = true; });
  EXPECT_EQ(token.use_count(), 1) << "destroyed at once, without running";
  EXPECT_FALSE(ran);
}

}  // namespace
