// Publish intake on its own, over the memory journal (which completes on the calling thread, so
// every step is deterministic): validation and rejections, routing, de-duplication, the unrouted
// count, and back-pressure, where replies wait while the journal is full and leave in order.
#include "core/publish_intake.h"

#include <gtest/gtest.h>

#include "core_test_util.h"
#include "journal/memory/memory_journal.h"

namespace simpang::hub {
namespace {

namespace wire = simpang::v1::wire;
using test::make_event;
using test::serialized;

RouteConfig route(const std::string& name, std::vector<std::string> types,
                  std::vector<std::string> to) {
  RouteConfig r;
  r.name = name;
  r.from = {"src"};
  r.types = std::move(types);
  r.to = std::move(to);
  return r;
}

struct Delivered {
  uint32_t destination;
  Pending pending;
};

class PublishIntakeTest : public ::testing::Test {
 protected:
  explicit PublishIntakeTest(uint64_t max_events = 1000) {
    auto table = RouteTable::compile({route("people", {"person.*"}, {"ledger", "audit"}),
                                      route("courses", {"course.*"}, {"ledger"})});
    EXPECT_TRUE(table.ok());
    table_ = std::move(*table);
    JournalOptions options;
    options.max_events = max_events;
    std::vector<std::string> routes;
    for (uint32_t r = 0; r < table_->route_count(); ++r) {
      routes.push_back(table_->route_name(r));
    }
    journal_ = open_memory_journal(options, table_->destinations(), std::move(routes));
    intake_ = std::make_unique<PublishIntake>(*journal_, nullptr, table_->route_count());
  }

  // Publishes `events` as batch `batch` and completes it; returns the reply.
  wire::Frame publish(uint64_t batch, const std::vector<std::string>& events) {
    wire::Publish message;
    message.set_batch(batch);
    for (const auto& bytes : events) {
      message.add_events(bytes);
    }
    std::shared_ptr<RoutedPublish> routed;
    PublishIntake::AppendResult result = Status::Error("not completed");
    intake_->submit("src", "src", message, *table_,
                    [&](std::shared_ptr<RoutedPublish> r, PublishIntake::AppendResult a) {
                      routed = std::move(r);
                      result = std::move(a);
                    });
    EXPECT_TRUE(routed) << "the memory journal completes at once";
    EXPECT_EQ(intake_->appends_in_progress(), 1u);
    wire::Frame reply;
    EXPECT_TRUE(intake_->complete(*routed, std::move(result), std::chrono::system_clock::now(),
                                  reply, [&](uint32_t destination, Pending pending) {
                                    delivered_.push_back({destination, std::move(pending)});
                                  }));
    EXPECT_EQ(intake_->appends_in_progress(), 0u);
    return reply;
  }
  std::string person(const std::string& id, const std::string& subject = "") {
    return serialized(make_event(id, "person.created", subject));
  }

  std::unique_ptr<RouteTable> table_;
  std::unique_ptr<Journal> journal_;
  std::unique_ptr<PublishIntake> intake_;
  std::vector<Delivered> delivered_;
};

TEST_F(PublishIntakeTest, RoutesEachAcceptedEventToEveryMatchingDestination) {
  wire::Frame reply = publish(7, {person("p1", "alice"), serialized(make_event("c1", "course.x"))});
  ASSERT_TRUE(reply.has_publish_ack());
  EXPECT_EQ(reply.publish_ack().batch(), 7u);
  EXPECT_EQ(reply.publish_ack().accepted(), 2u);
  ASSERT_EQ(delivered_.size(), 3u);
  EXPECT_EQ(table_->destinations()[delivered_[0].destination], "ledger");
  EXPECT_EQ(table_->destinations()[delivered_[1].destination], "audit");
  EXPECT_EQ(table_->destinations()[delivered_[2].destination], "ledger");
  // One record per event, shared by its destinations, with what the delivery path needs.
  EXPECT_EQ(delivered_[0].pending.event, delivered_[1].pending.event);
  EXPECT_EQ(delivered_[0].pending.event->id(), "p1");
  EXPECT_EQ(delivered_[0].pending.event->subject(), "alice");
  EXPECT_EQ(delivered_[0].pending.event->type(), "person.created");
  EXPECT_NE(delivered_[0].pending.id, delivered_[1].pending.id);
  EXPECT_EQ(intake_->counters().published, 2u);
  EXPECT_EQ(intake_->counters().per_route, (std::vector<uint64_t>{2, 1})) << "per delivery";
}

TEST_F(PublishIntakeTest, RejectsInvalidEventsByIndexAndAcceptsTheRest) {
  simpang::v1::Event no_source = make_event("p2", "person.created");
  no_source.clear_source();
  wire::Frame reply = publish(3, {"not an event at all \xff", person("p1"), serialized(no_source)});
  ASSERT_TRUE(reply.has_publish_reject());
  const auto& reject = reply.publish_reject();
  EXPECT_EQ(reject.batch(), 3u);
  EXPECT_EQ(reject.accepted(), 1u);
  ASSERT_EQ(reject.rejected_size(), 2);
  EXPECT_EQ(reject.rejected(0).index(), 0u);
  EXPECT_EQ(reject.rejected(0).reason(), "not a valid simpang.v1.Event");
  EXPECT_EQ(reject.rejected(1).index(), 2u);
  EXPECT_EQ(reject.rejected(1).reason(), "event p2: missing required attribute 'source'");
  EXPECT_EQ(intake_->counters().rejected, 2u);
  EXPECT_EQ(delivered_.size(), 2u);
}

TEST_F(PublishIntakeTest, ADuplicateIsAcknowledgedButNotRoutedAgain) {
  publish(1, {person("p1")});
  delivered_.clear();
  wire::Frame reply = publish(2, {person("p1")});
  ASSERT_TRUE(reply.has_publish_ack());
  EXPECT_EQ(reply.publish_ack().accepted(), 1u);
  EXPECT_TRUE(delivered_.empty());
  EXPECT_EQ(intake_->counters().duplicates, 1u);
  EXPECT_EQ(intake_->counters().published, 1u);
}

TEST_F(PublishIntakeTest, AnEventNoRouteMatchesIsCountedAsUnrouted) {
  wire::Frame reply = publish(1, {serialized(make_event("x1", "other.thing")),
                                  serialized(make_event("x2", "other.thing"))});
  ASSERT_TRUE(reply.has_publish_ack());
  EXPECT_EQ(reply.publish_ack().accepted(), 2u);
  EXPECT_TRUE(delivered_.empty());
  EXPECT_EQ(intake_->counters().unrouted, 2u);
  EXPECT_EQ(intake_->counters().published, 2u);
}

TEST_F(PublishIntakeTest, UnroutedTypesAreRememberedUpToABoundAndThenOnlyCounted) {
  // A publisher that invents a new type per event must not grow the hub's memory without bound.
  constexpr int kTypes = 3000;
  for (int batch = 0; batch < kTypes / 100; ++batch) {
    std::vector<std::string> events;
    for (int i = 0; i < 100; ++i) {
      const int n = batch * 100 + i;
      events.push_back(serialized(
          make_event("u" + std::to_string(n), "invented.type" + std::to_string(n))));
    }
    ASSERT_TRUE(publish(static_cast<uint64_t>(batch + 1), events).has_publish_ack());
  }
  EXPECT_EQ(intake_->counters().unrouted, static_cast<uint64_t>(kTypes));
  EXPECT_GT(intake_->unrouted_types_remembered(), 0u);
  EXPECT_LE(intake_->unrouted_types_remembered(), 1024u);
}

TEST_F(PublishIntakeTest, AFailedAppendAsksThePublisherToRetryLater) {
  RoutedPublish routed;
  routed.batch = 9;
  wire::Publish message;
  message.add_events(person("p1"));
  AppendBatch batch = intake_->admit("src", message, *table_, routed);
  ASSERT_EQ(batch.events.size(), 1u);
  EXPECT_EQ(batch.events[0].id, "p1");
  EXPECT_EQ(batch.events[0].body.get(), &routed.events[0].event->body())
      << "the journal shares the record's bytes";
  wire::Frame reply;
  EXPECT_FALSE(
      intake_->complete(routed, Status::Error("disk full"), std::chrono::system_clock::now(), reply,
                        [&](uint32_t, Pending) { ADD_FAILURE() << "nothing to enqueue"; }));
  ASSERT_TRUE(reply.has_publish_reject());
  EXPECT_EQ(reply.publish_reject().batch(), 9u);
  EXPECT_EQ(reply.publish_reject().retry_later(),
            "the hub could not make the batch durable: disk full");
}

class BackPressureTest : public PublishIntakeTest {
 protected:
  // The memory journal counts pending deliveries: a course event has one (to the ledger), so
  // the second unsettled one makes it full.
  BackPressureTest() : PublishIntakeTest(/*max_events=*/1) {}
  std::string course(const std::string& id) { return serialized(make_event(id, "course.updated")); }
  std::vector<std::pair<std::string, wire::Frame>> sent_;
  void answer(const std::string& identity, const wire::Frame& reply) {
    intake_->answer(identity, reply, [&](const std::string& id, const wire::Frame& frame) {
      sent_.emplace_back(id, frame);
    });
  }
  void release() {
    intake_->release_held([&](const std::string& id, const std::string& bytes) {
      wire::Frame frame;
      ASSERT_TRUE(frame.ParseFromString(bytes));
      sent_.emplace_back(id, frame);
    });
  }
  // Settles every delivery so far, which frees the memory journal.
  void settle_all() {
    std::vector<DeliveryUpdate> updates;
    for (const auto& d : delivered_) {
      updates.push_back({d.pending.id, DeliveryUpdate::Kind::kAcked, 1, {}, {}});
    }
    journal_->update(std::move(updates));
  }
};

TEST_F(BackPressureTest, RepliesWaitWhileTheJournalIsFullAndLeaveInOrder) {
  answer("a", publish(1, {course("c1")}));
  ASSERT_EQ(sent_.size(), 1u) << "room in the journal: answered at once";
  EXPECT_FALSE(journal_->full());

  answer("a", publish(2, {course("c2")}));
  ASSERT_TRUE(journal_->full());
  EXPECT_EQ(sent_.size(), 1u) << "the journal is full: the ack is held";
  answer("b", publish(3, {course("c3")}));
  EXPECT_EQ(intake_->held(), 2u);

  release();
  EXPECT_EQ(sent_.size(), 1u) << "still full";

  settle_all();
  ASSERT_FALSE(journal_->full());
  release();
  ASSERT_EQ(sent_.size(), 3u);
  EXPECT_EQ(sent_[1].first, "a");
  EXPECT_EQ(sent_[1].second.publish_ack().batch(), 2u);
  EXPECT_EQ(sent_[2].first, "b");
  EXPECT_EQ(sent_[2].second.publish_ack().batch(), 3u);
  EXPECT_EQ(intake_->held(), 0u);
}

TEST_F(BackPressureTest, HeldRepliesOfAPeerThatLeftAreDropped) {
  answer("a", publish(1, {course("c1")}));
  answer("a", publish(2, {course("c2")}));
  answer("b", publish(3, {course("c3")}));
  ASSERT_EQ(intake_->held(), 2u);
  intake_->drop_held("a");
  settle_all();
  release();
  ASSERT_EQ(sent_.size(), 2u);
  EXPECT_EQ(sent_[1].first, "b");
}

TEST_F(BackPressureTest, ALaterReplyWaitsBehindHeldOnesEvenWithRoom) {
  answer("a", publish(1, {course("c1")}));
  answer("a", publish(2, {course("c2")}));
  settle_all();
  ASSERT_FALSE(journal_->full());
  answer("a", publish(3, {course("c3")}));
  // There is room now, but the held reply goes first: replies keep their order.
  ASSERT_EQ(sent_.size(), 1u);
  EXPECT_EQ(intake_->held(), 2u);
}

}  // namespace
}  // namespace simpang::hub
