// A Context for unit tests of plugin classes: no runtime, no hub. It records what the plugin
// emits and logs, and lets the test fire the plugin's timers by hand.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "simpang/sdk/plugin.h"

namespace simpang::testing {

class FakeContext : public simpang::sdk::Context {
 public:
  struct Timer {
    std::chrono::milliseconds interval;
    bool repeating;
    std::function<void()> callback;
  };

  explicit FakeContext(nlohmann::json config = nlohmann::json::object(),
                       std::string instance = "test",
                       std::filesystem::path state_dir = std::filesystem::temp_directory_path())
      : config_(std::move(config)),
        instance_(std::move(instance)),
        state_dir_(std::move(state_dir)) {}

  const std::string& instance_name() const override { return instance_; }
  const nlohmann::json& config() const override { return config_; }
  const std::filesystem::path& state_dir() const override { return state_dir_; }
  void log(simpang::sdk::LogLevel level, std::string_view message) override {
    logs.emplace_back(message);
  }
  Status emit(simpang::v1::Event event) override {
    if (fail_emits > 0) {
      --fail_emits;
      return Status::Error("hub gone");
    }
    emitted.push_back(std::move(event));
    return Status::Ok();
  }
  std::optional<std::string> cursor(const std::string& key) const override {
    const auto it = cursors.find(key);
    return it == cursors.end() ? std::nullopt : std::optional<std::string>(it->second);
  }
  void set_cursor(const std::string& key, std::string value) override {
    cursors[key] = std::move(value);
  }
  void count(std::string_view name, double delta) override { counters[std::string(name)] += delta; }
  void gauge(std::string_view name, double value) override { gauges[std::string(name)] = value; }
  bool backpressured() const override { return backpressure; }
  simpang::sdk::TimerId every(std::chrono::milliseconds interval,
                              std::function<void()> callback) override {
    timers[++next_timer_] = Timer{interval, true, std::move(callback)};
    return next_timer_;
  }
  simpang::sdk::TimerId after(std::chrono::milliseconds delay,
                              std::function<void()> callback) override {
    timers[++next_timer_] = Timer{delay, false, std::move(callback)};
    return next_timer_;
  }
  void cancel(simpang::sdk::TimerId id) override { timers.erase(id); }

  // Fires every live timer once (a one-shot is then gone), as if one interval had passed.
  void fire_timers() {
    std::vector<simpang::sdk::TimerId> ids;
    for (const auto& [id, timer] : timers) {
      ids.push_back(id);
    }
    for (simpang::sdk::TimerId id : ids) {
      const auto it = timers.find(id);
      if (it == timers.end()) {
        continue;  // cancelled by an earlier callback
      }
      std::function<void()> callback = it->second.callback;
      if (!it->second.repeating) {
        timers.erase(it);
      }
      callback();
    }
  }

  std::vector<simpang::v1::Event> emitted;
  std::vector<std::string> logs;
  std::map<simpang::sdk::TimerId, Timer> timers;
  std::map<std::string, std::string> cursors;
  std::map<std::string, double> counters;
  std::map<std::string, double> gauges;
  bool backpressure = false;
  int fail_emits = 0;  // how many of the next emit() calls fail

 private:
  nlohmann::json config_;
  std::string instance_;
  std::filesystem::path state_dir_;
  simpang::sdk::TimerId next_timer_ = 0;
};

}  // namespace simpang::testing
