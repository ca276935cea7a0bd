// FakeContext and TempDir of the plugin test kit; see simpang/sdk/testing.h.
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "simpang/sdk/testing.h"

#include "../event_checks.h"

namespace simpang::sdk::testing {

using std::chrono::milliseconds;

TempDir::TempDir(std::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary directory " + pattern + ": " +
                             std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;  // a leftover temp dir must not turn a passing test into a crash
  std::filesystem::remove_all(path_, ec);
}

FakeContext::FakeContext(nlohmann::json config, std::string instance_name,
                         std::filesystem::path state_dir)
    : config_(config.is_null() ? nlohmann::json::object() : std::move(config)),
      instance_name_(std::move(instance_name)),
      state_dir_(std::move(state_dir)) {}

void FakeContext::log(LogLevel level, std::string_view message) {
  logs_.push_back(LogLine{level, std::string(message)});
}

Status FakeContext::emit(simpang::v1::Event event) {
  // The same checks as the runtime's emit(), so a test catches what the hub would refuse.
  SIMPANG_RETURN_IF_ERROR(simpang::sdk::internal::check_emittable(event));
  if (fail_emits_ > 0) {
    --fail_emits_;
    return Status::Error("emit: not connected to the hub (simulated by the test)");
  }
  if (event.spec_version().empty()) {
    event.set_spec_version("1.0");
  }
  emitted_.push_back(std::move(event));
  return Status::Ok();
}

std::optional<std::string> FakeContext::cursor(const std::string& key) const {
  const auto it = cursors_.find(key);
  if (it == cursors_.end()) {
    return std::nullopt;
  }
  return it->second;
}

void FakeContext::set_cursor(const std::string& key, std::string value) {
  cursors_[key] = std::move(value);
}

TimerId FakeContext::every(milliseconds interval, std::function<void()> callback) {
  // As in the runtime: a repeating callback waits at least 1 ms between runs.
  const milliseconds period = std::max(interval, milliseconds(1));
  const TimerId id = next_timer_++;
  timers_.emplace(id, Timer{now_ + interval, period, std::move(callback)});
  return id;
}

TimerId FakeContext::after(milliseconds delay, std::function<void()> callback) {
  const TimerId id = next_timer_++;
  timers_.emplace(
      id, Timer{now_ + std::max(delay, milliseconds(0)), milliseconds(0), std::move(callback)});
  return id;
}

void FakeContext::cancel(TimerId id) { timers_.erase(id); }

bool FakeContext::run_one_due(milliseconds limit) {
  auto next = timers_.end();
  for (auto it = timers_.begin(); it != timers_.end(); ++it) {
    // Earliest due first; among equals the map order, which is scheduling order.
    if (it->second.due <= limit && (next == timers_.end() || it->second.due < next->second.due)) {
      next = it;
    }
  }
  if (next == timers_.end()) {
    return false;
  }
  // A postponed callback runs late, at the current time; the clock never goes back.
  now_ = std::max(now_, next->second.due);
  std::function<void()> callback = next->second.callback;
  if (next->second.interval.count() > 0) {
    next->second.due = std::max(next->second.due + next->second.interval, now_);
  } else {
    timers_.erase(next);
  }
  try {
    callback();
  } catch (const std::exception& e) {
    log(LogLevel::kError, std::string("scheduled callback threw: ") + e.what());
  }
  return true;
}

void FakeContext::advance(milliseconds duration) {
  const milliseconds target = now_ + std::max(duration, milliseconds(0));
  // Each callback may schedule, cancel or set back-pressure, so look again after every one. The
  // cap stops a callback that reschedules itself with after(0) from spinning forever.
  constexpr int kMaxRuns = 1000000;
  int runs = 0;
  while (running_ && !backpressured_ && run_one_due(target)) {
    if (++runs == kMaxRuns) {
      throw std::runtime_error(
          "FakeContext::advance: a million callbacks ran without the clock reaching its target; "
          "does a callback reschedule itself with no delay forever?");
    }
  }
  now_ = std::max(now_, target);
}

}  // namespace simpang::sdk::testing
