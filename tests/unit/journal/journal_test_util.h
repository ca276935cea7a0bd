// Helpers for the journal tests: a clock the test moves, events with real serialized bodies, and a
// synchronous append (waiting on the callback with a deadline, never a sleep).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "journal/journal.h"
#include "journal/journal_admin.h"
#include "simpang/v1/event.pb.h"
#include "test_support.h"

namespace simpang::hub::testing {

using namespace std::chrono_literals;

inline constexpr auto kDeadline = std::chrono::seconds(20);

// A system_clock substitute the test moves by hand. Starts at a fixed, realistic time.
class FakeClock {
 public:
  std::chrono::system_clock::time_point now() const {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms_.load()));
  }
  void advance(std::chrono::milliseconds by) { ms_ += by.count(); }
  std::function<std::chrono::system_clock::time_point()> function() {
    return [this] { return now(); };
  }

 private:
  std::atomic<int64_t> ms_{1'760'000'000'000};
};

// A serialized simpang.v1.Event, padded to about `size` bytes like a real payload.
inline std::shared_ptr<const std::string> event_body(const std::string& source,
                                                     const std::string& id,
                                                     const std::string& type = "talent.test.v1",
                                                     const std::string& subject = "person-1",
                                                     size_t size = 256) {
  simpang::v1::Event event;
  event.set_id(id);
  event.set_source(source);
  event.set_spec_version("1.0");
  event.set_type(type);
  event.set_subject(subject);
  event.set_data_content_type("application/json");
  std::string text = R"({"note":")";
  while (text.size() + 2 + event.ByteSizeLong() < size) {
    text.push_back('x');
  }
  event.set_text_data(text + "\"}");
  return std::make_shared<const std::string>(event.SerializeAsString());
}

inline NewEvent new_event(const std::string& source, const std::string& id,
                          std::vector<NewDelivery> deliveries,
                          const std::string& type = "talent.test.v1") {
  return NewEvent{source, id, event_body(source, id, type), std::move(deliveries)};
}

// Appends and waits for the writer's answer.
inline StatusOr<std::vector<AppendedEvent>> append_sync(Journal& journal, AppendBatch batch) {
  auto promise = std::make_shared<std::promise<StatusOr<std::vector<AppendedEvent>>>>();
  auto future = promise->get_future();
  journal.append(std::move(batch), [promise](StatusOr<std::vector<AppendedEvent>> result) {
    promise->set_value(std::move(result));
  });
  if (future.wait_for(kDeadline) != std::future_status::ready) {
    return Status::Error("append did not complete within the deadline");
  }
  return future.get();
}

inline AppendBatch batch_of(std::string publisher, std::vector<NewEvent> events,
                            std::map<std::string, std::string> cursors = {}) {
  return AppendBatch{std::move(publisher), std::move(events), std::move(cursors)};
}

// Waits until `condition` holds, failing the test (with `what`) at the deadline.
inline void expect_eventually(const std::function<bool()>& condition, const std::string& what) {
  EXPECT_TRUE(simpang::testing::wait_for(condition, kDeadline)) << "timed out waiting for " << what;
}

// All pending deliveries of a destination.
inline std::vector<StoredDelivery> all_pending(Journal& journal, uint32_t destination) {
  auto rows = journal.load_pending(destination, 0, 1'000'000);
  EXPECT_TRUE(rows.ok()) << rows.status().message();
  return rows.ok() ? std::move(*rows) : std::vector<StoredDelivery>();
}

// Six events: e0..e5. Types alternate talent.completion.v1 / talent.enrollment.v1. Each goes to
// the ledger (route "all"); e0..e2 also to the webhook (route "completions"). Then the ledger
// deliveries of e0, e1, e2 die, the webhook ones of e0, e1 die, everything else is acked.
struct DeadLetterFixture {
  std::vector<AppendedEvent> events;
  std::vector<uint64_t> ledger_dead, webhook_dead;
  uint64_t highest_id = 0;
};
inline DeadLetterFixture populate_dead_letters(Journal& journal) {
  DeadLetterFixture fixture;
  std::vector<NewEvent> events;
  for (int i = 0; i < 6; ++i) {
    std::vector<NewDelivery> to = {{0, 0}};
    if (i < 3) {
      to.push_back({1, 1});
    }
    events.push_back(new_event("moodle://lms", "e" + std::to_string(i), to,
                               i % 2 == 0 ? "talent.completion.v1" : "talent.enrollment.v1"));
  }
  auto appended = append_sync(journal, batch_of("lms", std::move(events)));
  EXPECT_TRUE(appended.ok());
  if (!appended.ok()) {
    return fixture;
  }
  fixture.events = *appended;
  std::vector<DeliveryUpdate> updates;
  for (int i = 0; i < 6; ++i) {
    const auto& ids = fixture.events[i].delivery_ids;
    for (size_t d = 0; d < ids.size(); ++d) {
      fixture.highest_id = std::max(fixture.highest_id, ids[d]);
      const bool dies = d == 0 ? i < 3 : i < 2;
      updates.push_back({ids[d],
                         dies ? DeliveryUpdate::Kind::kDead : DeliveryUpdate::Kind::kAcked,
                         4,
                         {},
                         dies ? "fatal: event " + std::to_string(i) : ""});
      if (dies) {
        (d == 0 ? fixture.ledger_dead : fixture.webhook_dead).push_back(ids[d]);
      }
    }
  }
  const uint64_t before = journal.stats().updates;
  const size_t count = updates.size();
  journal.update(std::move(updates));
  expect_eventually([&] { return journal.stats().updates == before + count; }, "settlements");
  return fixture;
}

// Filters and specs spelled out field by field (designated initializers that skip fields trip
// g++ 12's -Wmissing-field-initializers).
inline DeadLetterFilter where(std::optional<std::string> destination,
                              std::optional<std::string> route = std::nullopt,
                              std::optional<std::string> event_type = std::nullopt) {
  DeadLetterFilter filter;
  filter.destination = std::move(destination);
  filter.route = std::move(route);
  filter.event_type = std::move(event_type);
  return filter;
}

inline DeadLetterFilter with_id(uint64_t delivery_id) {
  DeadLetterFilter filter;
  filter.delivery_id = delivery_id;
  return filter;
}

inline ReplaySpec from_seq(std::string destination, uint64_t seq) {
  ReplaySpec spec;
  spec.destination = std::move(destination);
  spec.from_seq = seq;
  return spec;
}

inline ReplaySpec since(std::string destination, std::chrono::system_clock::time_point time) {
  ReplaySpec spec;
  spec.destination = std::move(destination);
  spec.since = time;
  return spec;
}

inline std::vector<uint64_t> ids_of(const std::vector<DeadLetter>& letters) {
  std::vector<uint64_t> ids;
  for (const auto& letter : letters) {
    ids.push_back(letter.delivery_id);
  }
  return ids;
}

// The dead letters populate_dead_letters() made, as any backend's admin must list and show them:
// filters by destination, route and type, the limit, and one letter shown whole. `admin` comes
// from the journal `fixture` was made in, running or reopened.
inline void expect_fixture_listed_and_shown(JournalAdmin& admin, const DeadLetterFixture& fixture) {
  auto all = admin.list_dead({}, 100);
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(all->size(), 5u);
  auto ledger = admin.list_dead(where("ledger"), 100);
  ASSERT_TRUE(ledger.ok());
  EXPECT_EQ(ids_of(*ledger), fixture.ledger_dead);
  auto by_route = admin.list_dead(where(std::nullopt, "completions"), 100);
  ASSERT_TRUE(by_route.ok());
  EXPECT_EQ(ids_of(*by_route), fixture.webhook_dead);
  auto by_type = admin.list_dead(where(std::nullopt, std::nullopt, "talent.completion.v1"), 100);
  ASSERT_TRUE(by_type.ok());
  EXPECT_EQ(by_type->size(), 3u);  // e0 (ledger, webhook) and e2 (ledger)
  for (const auto& letter : *by_type) {
    EXPECT_EQ(letter.event_type, "talent.completion.v1");
  }
  auto limited = admin.list_dead({}, 2);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 2u);
  auto nothing = admin.list_dead(where("ledger", std::nullopt, "no.such.type"), 100);
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->empty());

  auto shown = admin.show_dead(fixture.ledger_dead[1]);
  ASSERT_TRUE(shown.ok()) << shown.status().message();
  EXPECT_EQ(shown->event_id, "e1");
  EXPECT_EQ(shown->event_source, "moodle://lms");
  EXPECT_EQ(shown->event_type, "talent.enrollment.v1");
  EXPECT_EQ(shown->event_subject, "person-1");
  EXPECT_EQ(shown->destination, "ledger");
  EXPECT_EQ(shown->route, "all");
  EXPECT_EQ(shown->attempts, 4u);
  EXPECT_EQ(shown->last_error, "fatal: event 1");
  EXPECT_EQ(shown->event_seq, fixture.events[1].seq);
  EXPECT_EQ(shown->body, *event_body("moodle://lms", "e1", "talent.enrollment.v1"));
  auto acked = admin.show_dead(fixture.events[4].delivery_ids[0]);
  ASSERT_FALSE(acked.ok());
  EXPECT_NE(acked.status().message().find("not a dead letter"), std::string::npos);
}

// Drops from the fixture's dead letters by filter and by id, and checks what is left.
inline void expect_fixture_dropped(JournalAdmin& admin, const DeadLetterFixture& fixture) {
  auto dropped = admin.drop_dead(where("webhook", std::nullopt, "talent.completion.v1"));
  ASSERT_TRUE(dropped.ok()) << dropped.status().message();
  EXPECT_EQ(*dropped, 1u);  // e0's webhook delivery
  auto left = admin.list_dead(where("webhook"), 100);
  ASSERT_TRUE(left.ok());
  EXPECT_EQ(ids_of(*left), std::vector<uint64_t>{fixture.webhook_dead[1]});
  auto by_id = admin.drop_dead(with_id(fixture.ledger_dead[0]));
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(*by_id, 1u);
  EXPECT_EQ(admin.list_dead({}, 100)->size(), 3u);
}

}  // namespace simpang::hub::testing
