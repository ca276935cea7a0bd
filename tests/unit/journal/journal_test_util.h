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

}  // namespace simpang::hub::testing
