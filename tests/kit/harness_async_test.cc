// Tests of what PluginHarness and FakeContext offer plugins that do their own I/O: posted work run
// when the test says, publish() groups the test answers, pending deliveries it can watch settle.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "simpang/sdk/testing.h"

namespace {

using simpang::sdk::Context;
using simpang::sdk::Outcome;
using simpang::sdk::PendingDelivery;
using simpang::sdk::PublishResult;
using simpang::sdk::testing::PluginHarness;
using std::chrono::milliseconds;

simpang::v1::Event make_event(const std::string& id) {
  simpang::v1::Event event;
  event.set_id(id);
  event.set_source("/tests");
  event.set_type("test.happened");
  return event;
}

// Posts from on_start and from a thread of its own; publishes groups and records their results.
class Poster : public simpang::sdk::Source {
 public:
  explicit Poster(Context& ctx) : ctx_(ctx) {}
  ~Poster() override {
    if (thread_.joinable()) {
      thread_.join();
    }
  }
  void on_start(Context& ctx) override {
    ctx.post([this] { ran.push_back("first"); });
    ctx.post([this, &ctx] {
      ran.push_back("second");
      ctx.post([this] { ran.push_back("posted by posted work"); });
    });
  }
  void post_from_thread(int count) {
    thread_ = std::thread([this, count] {
      for (int i = 0; i < count; ++i) {
        ctx_.post([this, i] { ran.push_back("thread " + std::to_string(i)); });
      }
    });
  }
  simpang::Status publish(std::vector<std::string> ids, milliseconds deadline) {
    std::vector<simpang::v1::Event> events;
    for (const auto& id : ids) {
      events.push_back(make_event(id));
    }
    return ctx_.publish(std::move(events), deadline,
                        [this](const PublishResult& result) { results.push_back(result); });
  }
  std::vector<std::string> ran;
  std::vector<PublishResult> results;

 private:
  Context& ctx_;
  std::thread thread_;
};

TEST(HarnessAsyncTest, PostedWorkRunsInOrderOnlyWhenTheTestRunsIt) {
  PluginHarness<Poster> h;
  h.start();
  EXPECT_TRUE(h.plugin().ran.empty()) << "nothing runs inside post()";
  EXPECT_EQ(h.run_posted(), 3u);
  EXPECT_EQ(h.plugin().ran, (std::vector<std::string>{"first", "second", "posted by posted work"}));
  EXPECT_EQ(h.run_posted(), 0u);
}

TEST(HarnessAsyncTest, WorkPostedBeforeStartWaitsForIt) {
  PluginHarness<Poster> h;
  h.context().post([&h] { h.plugin().ran.push_back("early"); });
  EXPECT_EQ(h.run_posted(), 0u);
  h.start();
  h.advance(milliseconds(0));  // advance() runs posted work too
  ASSERT_FALSE(h.plugin().ran.empty());
  EXPECT_EQ(h.plugin().ran.front(), "early");
}

TEST(HarnessAsyncTest, WorkPostedByAThreadRunsOnTheTestsThread) {
  PluginHarness<Poster> h;
  h.start();
  h.run_posted();
  const auto test_thread = std::this_thread::get_id();
  std::atomic<bool> elsewhere{false};
  h.context().post([&] { elsewhere = std::this_thread::get_id() != test_thread; });
  h.plugin().post_from_thread(100);
  ASSERT_TRUE(
      h.run_posted_until([&] { return h.plugin().ran.size() == 103; }, milliseconds(10000)));
  EXPECT_FALSE(elsewhere);
  EXPECT_EQ(h.plugin().ran.back(), "thread 99") << "in the order posted";
}

TEST(HarnessAsyncTest, PostsAfterTheHarnessIsDoneAreDroppedNotRun) {
  auto runs = std::make_shared<int>(0);
  {
    PluginHarness<Poster> h;
    h.start();
    h.context().set_posts_open(false);
    h.context().post([runs] { ++*runs; });
    EXPECT_EQ(h.context().posted(), 0u);
    EXPECT_EQ(runs.use_count(), 1) << "a dropped post is destroyed at once";
    h.context().set_posts_open(true);
    h.context().post([runs] { ++*runs; });
  }
  EXPECT_EQ(*runs, 0) << "never run by the harness's end";
  EXPECT_EQ(runs.use_count(), 1);
}

TEST(HarnessAsyncTest, PublishWaitsForTheTestsAnswer) {
  PluginHarness<Poster> h;
  h.start();
  ASSERT_TRUE(h.plugin().publish({"a", "b", "c"}, milliseconds(1000)).ok());
  ASSERT_EQ(h.publishes().size(), 1u);
  EXPECT_EQ(h.publishes()[0].events.size(), 3u);
  EXPECT_EQ(h.publishes()[0].events[0].spec_version(), "1.0");
  EXPECT_EQ(h.emitted().size(), 3u) << "a group's events are emitted events too";
  EXPECT_TRUE(h.plugin().results.empty());

  h.answer_publish(0, PublishResult::rejected({{1, "type not allowed"}}));
  ASSERT_EQ(h.plugin().results.size(), 1u);
  EXPECT_EQ(h.plugin().results[0].kind(), PublishResult::Kind::kRejected);
  EXPECT_EQ(h.plugin().results[0].rejections()[0].index, 1u);
  EXPECT_EQ(h.plugin().results[0].rejections()[0].reason, "type not allowed");
  EXPECT_THROW(h.answer_publish(0, PublishResult::durable()), std::logic_error);
  EXPECT_THROW(h.answer_publish(1, PublishResult::durable()), std::logic_error);
}

TEST(HarnessAsyncTest, AGroupTimesOutAtItsDeadlineOnTheVirtualClock) {
  PluginHarness<Poster> h;
  h.start();
  ASSERT_TRUE(h.plugin().publish({"a"}, milliseconds(500)).ok());
  h.advance(milliseconds(499));
  EXPECT_TRUE(h.plugin().results.empty());
  h.advance(milliseconds(1));
  ASSERT_EQ(h.plugin().results.size(), 1u);
  EXPECT_EQ(h.plugin().results[0].kind(), PublishResult::Kind::kTimedOut);
  EXPECT_NE(h.plugin().results[0].message().find("500 ms"), std::string::npos);
  ASSERT_TRUE(h.publishes()[0].result.has_value());
  EXPECT_THROW(h.answer_publish(0, PublishResult::durable()), std::logic_error)
      << "a timed-out group has had its one answer";
}

TEST(HarnessAsyncTest, PublishChecksTheGroupFirstAndAnEmptyOneIsDurableLater) {
  PluginHarness<Poster> h;
  h.start();
  const auto status = h.plugin().publish({"a", ""}, milliseconds(100));
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.message(), "publish: event 1 of the group: missing required attribute 'id'");
  EXPECT_TRUE(h.emitted().empty()) << "all or nothing";
  EXPECT_FALSE(h.plugin().publish({"a"}, milliseconds(0)).ok());

  ASSERT_TRUE(h.plugin().publish({}, milliseconds(100)).ok());
  EXPECT_TRUE(h.plugin().results.empty()) << "never inside publish()";
  h.run_posted();
  ASSERT_EQ(h.plugin().results.size(), 1u);
  EXPECT_EQ(h.plugin().results[0].kind(), PublishResult::Kind::kDurable);
}

// Answers each delivery pending; settles them when the test calls complete().
class LaterSink : public simpang::sdk::Sink {
 public:
  explicit LaterSink(Context& ctx) { ctx.set_delivery_window(2); }
  Outcome on_event(Context& ctx, const simpang::v1::Event& event) override {
    if (event.id() == "forgetful") {
      return Outcome::pending();  // without defer(): a mistake
    }
    PendingDelivery delivery = ctx.defer();
    EXPECT_EQ(ctx.defer(), delivery) << "the same handle within one on_event";
    handles.push_back(delivery);
    return Outcome::pending();
  }
  std::vector<PendingDelivery> handles;
};

TEST(HarnessAsyncTest, PendingDeliveriesAreSettledLaterAndBoundedByTheWindow) {
  PluginHarness<LaterSink> h;
  h.start();
  EXPECT_EQ(h.deliver(make_event("a")).kind(), Outcome::Kind::kPending);
  EXPECT_EQ(h.deliver(make_event("b")).kind(), Outcome::Kind::kPending);
  EXPECT_EQ(h.pending_count(), 2u);
  EXPECT_THROW(h.deliver(make_event("c")), std::logic_error) << "beyond the window of 2";
  EXPECT_FALSE(h.deliveries()[0].settlement.has_value());

  // Settled from posted work, as a completion on another thread would.
  auto& ctx = h.context();
  const auto second = h.plugin().handles[1];
  ctx.post([&ctx, second] { EXPECT_TRUE(ctx.settle(second, Outcome::retry_later("503"))); });
  h.run_posted();
  ASSERT_TRUE(h.deliveries()[1].settlement.has_value());
  EXPECT_EQ(h.deliveries()[1].settlement->kind(), Outcome::Kind::kRetryLater);
  EXPECT_EQ(h.deliveries()[1].settlement->reason(), "503");
  EXPECT_EQ(h.pending_count(), 1u);
  EXPECT_FALSE(ctx.settle(second, Outcome::ack())) << "settled already";
  EXPECT_FALSE(ctx.settle(PendingDelivery(), Outcome::ack()));
  EXPECT_FALSE(ctx.defer()) << "outside on_event there is nothing to defer";

  const Outcome forgot = h.deliver(make_event("forgetful"));
  EXPECT_EQ(forgot.kind(), Outcome::Kind::kRetryLater);
  EXPECT_EQ(forgot.reason(), "on_event returned pending without calling Context::defer()");
}

TEST(HarnessAsyncTest, AReconnectMakesPendingHandlesStale) {
  PluginHarness<LaterSink> h;
  h.start();
  h.deliver(make_event("a"));
  h.reconnect();
  EXPECT_EQ(h.pending_count(), 0u);
  EXPECT_TRUE(h.deliveries()[0].stale);
  // The hub delivers it again, under a new handle; the late completion of the old one is ignored.
  h.deliver(make_event("a"));
  EXPECT_FALSE(h.context().settle(h.plugin().handles[0], Outcome::ack()));
  EXPECT_FALSE(h.deliveries()[1].settlement.has_value());
  EXPECT_TRUE(h.context().settle(h.plugin().handles[1], Outcome::ack()));
  EXPECT_EQ(h.deliveries()[1].settlement->kind(), Outcome::Kind::kAck);
  EXPECT_FALSE(h.deliveries()[0].settlement.has_value());
}

}  // namespace
