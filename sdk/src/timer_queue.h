// The scheduled callbacks of Context::every / Context::after, kept in due order. One class for the
// runtime (on std::chrono::steady_clock) and for the test kit's FakeContext (on a virtual clock,
// std::chrono::milliseconds since the context was made), so both follow the same rules:
//
//  - the earliest due timer fires first; timers due at the same time fire in scheduling order;
//  - a repeating timer's next due time counts from its previous one, not from when it ran, so a
//    steady rate does not drift; but it is never scheduled into the past after a stall (a
//    postponed timer runs once late, not once per missed interval);
//  - cancel() of an unknown or finished id does nothing.
//
// The caller decides when timers may run (the runtime: connected, not stopping, not
// back-pressured) and runs the callback pop_due() hands back, so a callback may schedule or cancel
// freely, itself included.
//
// Thread rule: not thread-safe; the owner uses it from one thread.
#pragma once

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>

#include "simpang/sdk/plugin.h"

namespace simpang::sdk::internal {

// `Time` is a point on the owner's clock: a std::chrono::time_point, or a duration since some
// origin. It must be totally ordered and support `Time + std::chrono::milliseconds`.
template <typename Time>
class TimerQueue {
 public:
  // A timer that fell due, as pop_due() hands it out.
  struct Fired {
    TimerId id;
    Time due;
    std::function<void()> callback;  // a copy: the timer may be cancelled while this runs
  };

  // Schedules `callback` at `due`, then (if `interval` > 0) every `interval` after that. Ids start
  // at 1 and are never reused.
  TimerId add(Time due, std::chrono::milliseconds interval, std::function<void()> callback) {
    const TimerId id = next_id_++;
    const auto at = queue_.emplace(due, id);
    timers_.emplace(id, Timer{interval, std::move(callback), at});
    return id;
  }

  void cancel(TimerId id) {
    const auto it = timers_.find(id);
    if (it == timers_.end()) {
      return;
    }
    queue_.erase(it->second.at);
    timers_.erase(it);
  }

  // When the earliest timer falls due; nullopt when none is scheduled.
  std::optional<Time> next_due() const {
    if (queue_.empty()) {
      return std::nullopt;
    }
    return queue_.begin()->first;
  }

  // Removes the earliest timer due at or before `limit` and returns it; nullopt when none is. A
  // repeating timer is scheduled again at max(due + interval, max(now, due)) first.
  std::optional<Fired> pop_due(Time limit, Time now) {
    if (queue_.empty() || queue_.begin()->first > limit) {
      return std::nullopt;
    }
    const auto [due, id] = *queue_.begin();
    queue_.erase(queue_.begin());
    const auto it = timers_.find(id);
    Fired fired{id, due, it->second.callback};
    if (it->second.interval.count() > 0) {
      it->second.at = queue_.emplace(std::max(due + it->second.interval, std::max(now, due)), id);
    } else {
      timers_.erase(it);
    }
    return fired;
  }

  // How many timers are scheduled.
  size_t size() const { return timers_.size(); }
  bool empty() const { return timers_.empty(); }
  // Forgets every timer (ids are still not reused).
  void clear() {
    queue_.clear();
    timers_.clear();
  }

 private:
  using Queue = std::multimap<Time, TimerId>;  // equal keys keep insertion order
  struct Timer {
    std::chrono::milliseconds interval;  // 0 for a one-shot
    std::function<void()> callback;
    typename Queue::iterator at;  // its entry in queue_
  };

  TimerId next_id_ = 1;
  Queue queue_;
  std::unordered_map<TimerId, Timer> timers_;
};

}  // namespace simpang::sdk::internal
