// The destination room on its own: credit and batching, subject ordering (retries and redelivery
// included), retry backoff with jitter, the dead-letter policy, redelivery when a consumer is lost,
// and paging from the journal. No socket, no timer: times are passed in, sends are recorded.
#include "core/destination.h"

#include <gtest/gtest.h>

#include <set>

#include "core_test_util.h"

namespace simpang::hub {
namespace {

using std::chrono::milliseconds;
using test::Env;
using test::FakeNow;
using test::make_record;
using test::make_route;
using test::Sent;

constexpr uint32_t kPlain = 0;     // unordered, 3 attempts, 100 ms doubling to 1 s, no deadline
constexpr uint32_t kOrdered = 1;   // the same, ordered by subject
constexpr uint32_t kDeadline = 2;  // unordered, 100 attempts, dead after 1 s

std::vector<RouteConfig> routes() {
  return {make_route("plain", Ordering::kNone, 3, milliseconds(100), milliseconds(1000),
                     milliseconds(0)),
          make_route("ordered", Ordering::kSubject, 3, milliseconds(100), milliseconds(1000),
                     milliseconds(0)),
          make_route("deadline", Ordering::kNone, 100, milliseconds(100), milliseconds(1000),
                     milliseconds(1000))};
}

class DestinationTest : public ::testing::Test {
 protected:
  explicit DestinationTest(uint32_t memory_limit = 1000)
      : env_(routes(), memory_limit), sink_(0, "sink", env_.env) {}

  // A destination that has read the journal once and found it empty, as after start-up.
  void caught_up() {
    auto request = sink_.start_load();
    ASSERT_TRUE(request.has_value());
    sink_.on_loaded(*request, std::vector<StoredDelivery>{}, clock_.now);
    ASSERT_FALSE(sink_.behind());
  }
  Pending pending(uint64_t id, uint32_t route, const std::string& subject = "") {
    Pending p;
    p.id = id;
    p.event = make_record("e" + std::to_string(id), subject);
    p.route = route;
    p.accepted_at = clock_.now.system;
    return p;
  }
  void dispatch() { sink_.dispatch(512, sent_.sender()); }
  const DeliveryUpdate& last_update() const { return env_.updates.back(); }

  Env env_;
  Destination sink_;
  FakeNow clock_;
  Sent sent_;
};

TEST_F(DestinationTest, SendsWithinCreditInBatchesOfAtMostMaxBatch) {
  caught_up();
  sink_.attach("sink");
  for (uint64_t id = 1; id <= 5; ++id) {
    ASSERT_TRUE(sink_.enqueue(pending(id, kPlain)));
  }
  sink_.add_credit(3);
  sink_.dispatch(2, sent_.sender());
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 2, 3}));
  EXPECT_EQ(sent_.batch_sizes, (std::vector<uint32_t>{2, 1}));
  EXPECT_EQ(sent_.deliveries[0].second, 1u) << "first attempt";
  EXPECT_EQ(sink_.credit(), 0u);
  EXPECT_EQ(sink_.depth().in_flight, 3u);
  EXPECT_EQ(sink_.depth().queued, 2u);

  sink_.add_credit(10);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(sink_.credit(), 8u);
}

TEST_F(DestinationTest, SendsNothingWithoutAConsumerOrWhenTheFrameCannotBeMade) {
  caught_up();
  ASSERT_TRUE(sink_.enqueue(pending(1, kPlain)));
  sink_.add_credit(5);
  dispatch();
  EXPECT_TRUE(sent_.deliveries.empty());

  sink_.attach("sink");
  sink_.add_credit(5);
  sent_.fail = true;
  dispatch();
  EXPECT_EQ(sink_.depth().queued, 1u) << "a failed send leaves the delivery ready";
  EXPECT_EQ(sink_.depth().in_flight, 0u);
  sent_.fail = false;
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1}));
}

TEST_F(DestinationTest, AnAckIsRecordedOnceAndUnknownIdsAreIgnored) {
  caught_up();
  sink_.attach("sink");
  ASSERT_TRUE(sink_.enqueue(pending(7, kPlain)));
  sink_.add_credit(1);
  dispatch();
  sink_.settle(7, Destination::Outcome::kAck, "", clock_.now);
  sink_.settle(7, Destination::Outcome::kAck, "", clock_.now);
  sink_.settle(99, Destination::Outcome::kAck, "", clock_.now);
  ASSERT_EQ(env_.updates.size(), 1u);
  EXPECT_EQ(last_update().delivery_id, 7u);
  EXPECT_EQ(last_update().kind, DeliveryUpdate::Kind::kAcked);
  EXPECT_EQ(last_update().attempts, 1u);
  EXPECT_EQ(sink_.depth().delivered, 1u);
  EXPECT_EQ(sink_.in_memory(), 0u);
}

TEST_F(DestinationTest, OneDeliveryPerSubjectAtATimeInPublishOrder) {
  caught_up();
  sink_.attach("sink");
  ASSERT_TRUE(sink_.enqueue(pending(1, kOrdered, "alice")));
  ASSERT_TRUE(sink_.enqueue(pending(2, kOrdered, "alice")));
  ASSERT_TRUE(sink_.enqueue(pending(3, kOrdered, "bob")));
  ASSERT_TRUE(sink_.enqueue(pending(4, kOrdered, "alice")));
  sink_.add_credit(10);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 3})) << "2 and 4 wait behind 1";
  EXPECT_EQ(sink_.depth().queued, 2u);

  sink_.settle(1, Destination::Outcome::kAck, "", clock_.now);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 3, 2}));

  // A retry keeps holding its subject: 4 waits through 2's backoff.
  sink_.settle(2, Destination::Outcome::kRetry, "busy", clock_.now);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 3, 2}));
  clock_.advance(milliseconds(200));
  sink_.promote_due_retries(clock_.now.steady);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 3, 2, 2}));
  EXPECT_EQ(sent_.deliveries.back().second, 2u) << "second attempt";
  sink_.settle(2, Destination::Outcome::kAck, "", clock_.now);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 3, 2, 2, 4}));
}

TEST_F(DestinationTest, UnorderedRoutesLetLaterDeliveriesOvertake) {
  caught_up();
  sink_.attach("sink");
  ASSERT_TRUE(sink_.enqueue(pending(1, kPlain, "alice")));
  ASSERT_TRUE(sink_.enqueue(pending(2, kPlain, "alice")));
  sink_.add_credit(10);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 2}));
}

TEST(RetryDelayTest, DoublesFromInitialBackoffUpToMaxBackoff) {
  RetryPolicy policy;
  policy.initial_backoff = milliseconds(100);
  policy.max_backoff = milliseconds(1000);
  EXPECT_EQ(retry_delay(policy, 1, 1.0), milliseconds(100));
  EXPECT_EQ(retry_delay(policy, 2, 1.0), milliseconds(200));
  EXPECT_EQ(retry_delay(policy, 4, 1.0), milliseconds(800));
  EXPECT_EQ(retry_delay(policy, 5, 1.0), milliseconds(1000));
  EXPECT_EQ(retry_delay(policy, 1000000, 1.0), milliseconds(1000)) << "no overflow";
  EXPECT_EQ(retry_delay(policy, 1, RetryJitter::kJitterLow), milliseconds(80));
  EXPECT_EQ(retry_delay(policy, 5, RetryJitter::kJitterHigh), milliseconds(1200));
}

TEST(RetryJitterTest, StaysWithinItsBoundsAndVaries) {
  RetryJitter jitter(7);
  std::set<double> seen;
  for (int i = 0; i < 1000; ++i) {
    const double factor = jitter.next();
    ASSERT_GE(factor, RetryJitter::kJitterLow);
    ASSERT_LE(factor, RetryJitter::kJitterHigh);
    seen.insert(factor);
  }
  EXPECT_GT(seen.size(), 900u) << "retries must not fall into lockstep";
  RetryJitter again(7);
  EXPECT_EQ(again.next(), RetryJitter(7).next()) << "a seed gives the same sequence";
}

TEST_F(DestinationTest, ARetryWaitsItsJitteredBackoffThenGoesOutAgain) {
  caught_up();
  sink_.attach("sink");
  ASSERT_TRUE(sink_.enqueue(pending(1, kPlain)));
  sink_.add_credit(10);
  dispatch();
  const Now failed_at = clock_.now;
  sink_.settle(1, Destination::Outcome::kRetry, "", clock_.now);

  ASSERT_EQ(env_.updates.size(), 1u);
  EXPECT_EQ(last_update().kind, DeliveryUpdate::Kind::kRetry);
  EXPECT_EQ(last_update().error, "retry requested");
  const auto wait = last_update().not_before - failed_at.system;
  EXPECT_GE(wait, milliseconds(80));
  EXPECT_LE(wait, milliseconds(120));
  ASSERT_TRUE(sink_.next_retry_due().has_value());
  EXPECT_EQ(*sink_.next_retry_due() - failed_at.steady, wait) << "both clocks agree on the wait";
  EXPECT_EQ(sink_.depth().retried, 1u);

  clock_.advance(milliseconds(79));
  sink_.promote_due_retries(clock_.now.steady);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1})) << "not before its backoff";
  clock_.advance(milliseconds(41));
  sink_.promote_due_retries(clock_.now.steady);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 1}));
  EXPECT_FALSE(sink_.next_retry_due().has_value());
}

TEST_F(DestinationTest, DeadLetteredAfterMaxAttempts) {
  caught_up();
  sink_.attach("sink");
  ASSERT_TRUE(sink_.enqueue(pending(1, kPlain)));
  sink_.add_credit(10);
  for (int attempt = 1; attempt <= 3; ++attempt) {
    dispatch();
    ASSERT_EQ(sent_.deliveries.size(), static_cast<size_t>(attempt));
    sink_.settle(1, Destination::Outcome::kRetry, "boom", clock_.now);
    clock_.advance(milliseconds(10000));
    sink_.promote_due_retries(clock_.now.steady);
  }
  ASSERT_EQ(env_.updates.size(), 3u);
  EXPECT_EQ(env_.updates[0].kind, DeliveryUpdate::Kind::kRetry);
  EXPECT_EQ(env_.updates[1].kind, DeliveryUpdate::Kind::kRetry);
  EXPECT_EQ(last_update().kind, DeliveryUpdate::Kind::kDead);
  EXPECT_EQ(last_update().attempts, 3u);
  EXPECT_EQ(last_update().error, "gave up after 3 attempts; last error: boom");
  EXPECT_EQ(sink_.depth().dead, 1u);
  EXPECT_EQ(sink_.in_memory(), 0u);
}

TEST_F(DestinationTest, DeadLetteredOnceTheRouteDeadlineHasPassed) {
  caught_up();
  sink_.attach("sink");
  ASSERT_TRUE(sink_.enqueue(pending(1, kDeadline)));
  sink_.add_credit(10);
  dispatch();
  sink_.settle(1, Destination::Outcome::kRetry, "slow", clock_.now);
  EXPECT_EQ(last_update().kind, DeliveryUpdate::Kind::kRetry) << "within the deadline";
  clock_.advance(milliseconds(1000));
  sink_.promote_due_retries(clock_.now.steady);
  dispatch();
  sink_.settle(1, Destination::Outcome::kRetry, "slow", clock_.now);
  EXPECT_EQ(last_update().kind, DeliveryUpdate::Kind::kDead);
  EXPECT_EQ(last_update().error, "retry deadline of 1000 ms passed; last error: slow");
}

TEST_F(DestinationTest, AFatalNackIsDeadAtOnceAndReleasesItsSubject) {
  caught_up();
  sink_.attach("sink");
  ASSERT_TRUE(sink_.enqueue(pending(1, kOrdered, "alice")));
  ASSERT_TRUE(sink_.enqueue(pending(2, kOrdered, "alice")));
  sink_.add_credit(10);
  dispatch();
  sink_.settle(1, Destination::Outcome::kFatal, "", clock_.now);
  EXPECT_EQ(last_update().kind, DeliveryUpdate::Kind::kDead);
  EXPECT_EQ(last_update().error, "rejected (no reason given)");
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 2}));
}

TEST(DeadLetterReasonTest, SaysWhyOrNothing) {
  RetryPolicy policy;
  policy.max_attempts = 5;
  policy.deadline = milliseconds(0);
  const auto t0 = std::chrono::system_clock::time_point(std::chrono::hours(1));
  EXPECT_EQ(dead_letter_reason(policy, 4, t0, t0 + std::chrono::hours(100), "x", false), "")
      << "no deadline: only the attempts count";
  EXPECT_EQ(dead_letter_reason(policy, 5, t0, t0, "x", false),
            "gave up after 5 attempts; last error: x");
  EXPECT_EQ(dead_letter_reason(policy, 1, t0, t0, "bad schema", true), "bad schema");
}

TEST_F(DestinationTest, ALostConsumersDeliveriesGoOutAgainOldestFirst) {
  caught_up();
  sink_.attach("sink");
  for (uint64_t id = 1; id <= 3; ++id) {
    ASSERT_TRUE(sink_.enqueue(pending(id, kPlain)));
  }
  ASSERT_TRUE(sink_.enqueue(pending(4, kPlain)));
  sink_.add_credit(3);
  dispatch();
  EXPECT_EQ(sink_.detach("went silent", clock_.now), 3u);
  EXPECT_FALSE(sink_.connected());
  EXPECT_EQ(sink_.credit(), 0u);
  EXPECT_EQ(sink_.depth().retried, 3u);
  EXPECT_TRUE(env_.updates.empty()) << "a requeue is no settlement";

  sent_.clear();
  sink_.attach("sink");
  sink_.add_credit(10);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_EQ(sent_.deliveries[0].second, 2u) << "the lost delivery counted as an attempt";
  EXPECT_EQ(sent_.deliveries[3].second, 1u);
}

TEST_F(DestinationTest, AnEventThatKillsItsConsumerEveryTimeIsDeadLettered) {
  caught_up();
  ASSERT_TRUE(sink_.enqueue(pending(1, kPlain)));
  for (int attempt = 1; attempt <= 3; ++attempt) {
    sink_.attach("sink");
    sink_.add_credit(1);
    dispatch();
    sink_.detach("became unreachable", clock_.now);
  }
  ASSERT_EQ(env_.updates.size(), 1u);
  EXPECT_EQ(last_update().kind, DeliveryUpdate::Kind::kDead);
  EXPECT_EQ(last_update().error, "consumer became unreachable during delivery");
}

class PagingTest : public DestinationTest {
 protected:
  PagingTest() : DestinationTest(/*memory_limit=*/4) {}
  StoredDelivery row(uint64_t id, uint32_t route, const std::string& subject,
                     milliseconds backoff_left = milliseconds(0)) {
    StoredDelivery stored;
    stored.id = id;
    stored.route = route;
    stored.attempts = backoff_left.count() > 0 ? 1 : 0;
    stored.not_before = clock_.now.system + backoff_left;
    stored.accepted_at = clock_.now.system;
    stored.body = std::make_shared<const std::string>(
        test::serialized(test::make_event("e" + std::to_string(id), "t.created", subject)));
    return stored;
  }
};

TEST_F(PagingTest, HoldsAtMostTheLimitAndPagesTheRestInOnceHalfIsFree) {
  EXPECT_TRUE(sink_.behind()) << "a new destination first reads what the journal owes";
  EXPECT_FALSE(sink_.enqueue(pending(1, kPlain))) << "behind: it waits in the journal";
  auto first = sink_.start_load();
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->after, 0u);
  EXPECT_EQ(first->limit, 4u);
  EXPECT_FALSE(sink_.start_load().has_value()) << "one read at a time";
  std::vector<StoredDelivery> rows;
  rows.push_back(row(1, kPlain, ""));
  sink_.on_loaded(*first, std::move(rows), clock_.now);
  EXPECT_FALSE(sink_.behind());
  EXPECT_EQ(sink_.in_memory(), 1u);

  for (uint64_t id = 2; id <= 4; ++id) {
    EXPECT_TRUE(sink_.enqueue(pending(id, kPlain)));
  }
  EXPECT_FALSE(sink_.enqueue(pending(5, kPlain))) << "at the memory limit";
  EXPECT_FALSE(sink_.enqueue(pending(6, kPlain)));
  EXPECT_TRUE(sink_.behind());
  EXPECT_TRUE(sink_.depth().on_disk);
  EXPECT_FALSE(sink_.start_load().has_value()) << "no room yet";

  sink_.attach("sink");
  sink_.add_credit(2);
  dispatch();
  sink_.settle(1, Destination::Outcome::kAck, "", clock_.now);
  EXPECT_FALSE(sink_.start_load().has_value()) << "one free: less than half the limit";
  sink_.settle(2, Destination::Outcome::kAck, "", clock_.now);
  auto second = sink_.start_load();
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->after, 4u) << "from the last id in memory";
  EXPECT_EQ(second->limit, 2u);
  EXPECT_EQ(second->spilled_upto, 6u);
  rows.clear();
  rows.push_back(row(4, kPlain, ""));  // already in memory: skipped
  rows.push_back(row(5, kPlain, ""));
  sink_.on_loaded(*second, std::move(rows), clock_.now);
  EXPECT_TRUE(sink_.behind()) << "a full page: there may be more";
  EXPECT_EQ(sink_.in_memory(), 3u);

  sink_.add_credit(10);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
}

TEST_F(PagingTest, AReplayDuringARead_ReadsAgain) {
  auto request = sink_.start_load();
  ASSERT_TRUE(request.has_value());
  sink_.rescan();
  sink_.on_loaded(*request, std::vector<StoredDelivery>{}, clock_.now);
  EXPECT_TRUE(sink_.behind()) << "the read began before the replay";
  auto again = sink_.start_load();
  ASSERT_TRUE(again.has_value());
  sink_.on_loaded(*again, std::vector<StoredDelivery>{}, clock_.now);
  EXPECT_FALSE(sink_.behind());
}

TEST_F(PagingTest, RowsFromAnEarlierRunKeepTheirBackoffAndSubjectOrder) {
  auto request = sink_.start_load();
  ASSERT_TRUE(request.has_value());
  std::vector<StoredDelivery> rows;
  rows.push_back(row(10, kOrdered, "alice", milliseconds(500)));  // backing off
  rows.push_back(row(11, kOrdered, "alice"));                     // ready, but behind 10
  rows.push_back(row(12, kOrdered, "bob"));
  sink_.on_loaded(*request, std::move(rows), clock_.now);
  sink_.attach("sink");
  sink_.add_credit(10);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{12}));
  ASSERT_TRUE(sink_.next_retry_due().has_value());
  EXPECT_EQ(*sink_.next_retry_due() - clock_.now.steady, milliseconds(500));

  clock_.advance(milliseconds(500));
  sink_.promote_due_retries(clock_.now.steady);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{12, 10}));
  EXPECT_EQ(sent_.deliveries.back().second, 2u) << "attempts carried over from the journal";
  sink_.settle(10, Destination::Outcome::kFatal, "no", clock_.now);
  dispatch();
  EXPECT_EQ(sent_.ids(), (std::vector<uint64_t>{12, 10, 11}));
}

TEST_F(PagingTest, AFailedReadIsTriedAgain) {
  auto request = sink_.start_load();
  ASSERT_TRUE(request.has_value());
  sink_.on_loaded(*request, Status::Error("disk I/O error"), clock_.now);
  EXPECT_TRUE(sink_.behind());
  EXPECT_TRUE(sink_.start_load().has_value());
}

}  // namespace
}  // namespace simpang::hub
