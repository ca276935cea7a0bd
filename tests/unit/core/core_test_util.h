// Small builders the broker rooms' tests share: events, records, route policies, a destination
// environment with a seeded jitter, and a fake clock moved by hand.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/destination.h"
#include "core/event_record.h"
#include "core/route_policies.h"
#include "simpang/v1/event.pb.h"

namespace simpang::hub::test {

inline simpang::v1::Event make_event(const std::string& id, const std::string& type = "t.created",
                                     const std::string& subject = "") {
  simpang::v1::Event event;
  event.set_id(id);
  event.set_source("/test");
  event.set_spec_version("1.0");
  event.set_type(type);
  event.set_subject(subject);
  event.set_text_data("{\"n\": 1}");
  return event;
}

inline std::string serialized(const simpang::v1::Event& event) {
  std::string bytes;
  event.SerializeToString(&bytes);
  return bytes;
}

// A record as the intake makes one: parsed once, spans kept.
inline std::shared_ptr<const EventRecord> make_record(const std::string& id,
                                                      const std::string& subject = "") {
  std::string bytes = serialized(make_event(id, "t.created", subject));
  simpang::v1::Event parsed;
  AttributeSpans spans;
  if (!parse_event_attributes(bytes.data(), bytes.size(), parsed, &spans)) {
    return nullptr;
  }
  return std::make_shared<const EventRecord>(std::move(bytes), parsed, spans);
}

inline RouteConfig make_route(const std::string& name, Ordering ordering, uint32_t max_attempts,
                              std::chrono::milliseconds initial_backoff,
                              std::chrono::milliseconds max_backoff,
                              std::chrono::milliseconds deadline) {
  RouteConfig route;
  route.name = name;
  route.ordering = ordering;
  route.retry.max_attempts = max_attempts;
  route.retry.initial_backoff = initial_backoff;
  route.retry.max_backoff = max_backoff;
  route.retry.deadline = deadline;
  return route;
}

// A clock the test moves: both of a destination's clocks advance together.
struct FakeNow {
  Now now{std::chrono::steady_clock::time_point(std::chrono::hours(1)),
          std::chrono::system_clock::time_point(std::chrono::hours(24 * 365 * 50))};
  void advance(std::chrono::milliseconds by) {
    now.steady += by;
    now.system += by;
  }
};

// What a destination consults, owned by the test.
struct Env {
  explicit Env(std::vector<RouteConfig> routes, uint32_t memory_limit = 1000)
      : policies(std::move(routes)), jitter(20261202) {
    env.routes = &policies;
    env.updates = &updates;
    env.jitter = &jitter;
    env.logger = nullptr;
    env.memory_limit = memory_limit;
    env.scratch = &scratch;
  }
  RoutePolicies policies;
  std::vector<DeliveryUpdate> updates;
  RetryJitter jitter;
  simpang::v1::Event scratch;
  DestinationEnv env;
};

// A sender that records what dispatch() sends: (delivery id, attempt) per delivery.
struct Sent {
  std::vector<std::pair<uint64_t, uint32_t>> deliveries;
  std::vector<uint32_t> batch_sizes;
  bool fail = false;  // answer as if the frame could not be allocated
  auto sender() {
    return [this](const std::deque<Pending>& ready, uint32_t n) {
      if (fail) {
        return false;
      }
      batch_sizes.push_back(n);
      for (uint32_t i = 0; i < n; ++i) {
        deliveries.emplace_back(ready[i].id, ready[i].attempts + 1);
      }
      return true;
    };
  }
  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> out;
    for (const auto& [id, attempt] : deliveries) {
      out.push_back(id);
    }
    return out;
  }
  void clear() {
    deliveries.clear();
    batch_sizes.clear();
  }
};

}  // namespace simpang::hub::test
