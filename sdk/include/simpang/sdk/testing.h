// Test kit for plugin authors (library simpang::sdk_testing; it has no test-framework dependency,
// so it works with GoogleTest, Catch2 or plain asserts).
//
// PluginHarness<T> runs a plugin class in-process with a fake Context and a virtual clock: no hub,
// no sockets, no threads, no waiting.
//
//   simpang::sdk::testing::PluginHarness<MySink> h({{"path", "out.jsonl"}});   // ctor runs here
//   h.start();                                                               // on_start
//   EXPECT_EQ(h.deliver(event).kind(), simpang::sdk::Outcome::Kind::kAck);   // on_event
//   h.advance(std::chrono::seconds(5));          // fires every()/after() callbacks that fall due
//   EXPECT_EQ(h.emitted().size(), 1u);
//   h.stop();                                                                // on_stop
//
// HubFixture runs the plugin's .so in a real `simpang` hub process, wired to the bundled
// source-jsonl and sink-jsonl plugins, for an end-to-end test:
//
//   HubFixture hub({.plugin = PLUGIN_PATH, .kind = SIMPANG_KIND_TRANSFORM, .config = {...}});
//   hub.start();
//   hub.feed({event1, event2});
//   std::vector<simpang::v1::Event> out = hub.wait_for_output(2);
//   EXPECT_EQ(hub.stop(), 0);
//
// Thread rule: a harness or fixture is used from one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "simpang/sdk/plugin.h"
#include "simpang/v1/event.pb.h"

namespace simpang::sdk::testing {

// A directory under the system temp dir, created by the constructor and removed (with its
// contents) by the destructor.
class TempDir {
 public:
  // `prefix` starts the directory's name. Throws std::runtime_error if it cannot be created.
  explicit TempDir(std::string_view prefix = "simpang-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct LogLine {
  LogLevel level;
  std::string message;
};

// The Context a PluginHarness gives its plugin. Records what the plugin emits, logs and sets as
// cursors, and keeps its scheduled callbacks on a virtual clock that only advance() moves. It
// follows the SDK runtime's rules: emit() checks id, source and type and fills spec_version;
// scheduled callbacks do not run before start, after stop, or while back-pressured (they are
// postponed, then run once it lifts); an exception from one is logged, not propagated.
class FakeContext final : public Context {
 public:
  FakeContext(nlohmann::json config, std::string instance_name, std::filesystem::path state_dir);

  // Context.
  const std::string& instance_name() const override { return instance_name_; }
  const nlohmann::json& config() const override { return config_; }
  const std::filesystem::path& state_dir() const override { return state_dir_; }
  void log(LogLevel level, std::string_view message) override;
  Status emit(simpang::v1::Event event) override;
  std::optional<std::string> cursor(const std::string& key) const override;
  void set_cursor(const std::string& key, std::string value) override;
  void count(std::string_view name, double delta) override { counters_[std::string(name)] += delta; }
  void gauge(std::string_view name, double value) override { gauges_[std::string(name)] = value; }
  bool backpressured() const override { return backpressured_; }
  TimerId every(std::chrono::milliseconds interval, std::function<void()> callback) override;
  TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) override;
  void cancel(TimerId id) override;

  // Virtual time since the context was made.
  std::chrono::milliseconds now() const { return now_; }
  // Moves the clock forward by `duration`, running each scheduled callback that falls due, in
  // order of due time (then of scheduling), each at its own due time; a repeating one runs again
  // as often as it falls due. Callbacks scheduled by callbacks run too if they fall due in time.
  // Does not run callbacks unless `running` (set by the harness between start and stop).
  void advance(std::chrono::milliseconds duration);
  // How many callbacks are scheduled.
  size_t scheduled() const { return timers_.size(); }
  // Forgets every scheduled callback (what a crash does).
  void clear_timers() { timers_.clear(); }

  std::vector<simpang::v1::Event>& emitted() { return emitted_; }
  const std::map<std::string, std::string>& cursors() const { return cursors_; }
  std::map<std::string, std::string>& mutable_cursors() { return cursors_; }
  const std::map<std::string, double>& counters() const { return counters_; }
  const std::map<std::string, double>& gauges() const { return gauges_; }
  std::vector<LogLine>& logs() { return logs_; }
  void set_backpressured(bool on) { backpressured_ = on; }
  // The next `count` emit() calls fail, as when the runtime has lost the hub.
  void fail_next_emits(int count) { fail_emits_ = count; }
  void set_running(bool running) { running_ = running; }
  bool running() const { return running_; }

 private:
  struct Timer {
    std::chrono::milliseconds due;
    std::chrono::milliseconds interval;  // 0 for a one-shot
    std::function<void()> callback;
  };
  // Runs the earliest timer due at or before `limit`; false when there is none.
  bool run_one_due(std::chrono::milliseconds limit);

  nlohmann::json config_;
  std::string instance_name_;
  std::filesystem::path state_dir_;
  std::chrono::milliseconds now_{0};
  TimerId next_timer_ = 1;
  std::map<TimerId, Timer> timers_;
  std::vector<simpang::v1::Event> emitted_;
  std::map<std::string, std::string> cursors_;
  std::map<std::string, double> counters_;
  std::map<std::string, double> gauges_;
  std::vector<LogLine> logs_;
  bool backpressured_ = false;
  bool running_ = false;
  int fail_emits_ = 0;
};

struct HarnessOptions {
  std::string instance_name = "test";
  // The instance's state directory. Empty: a fresh temporary one, removed with the harness. A
  // given one must exist and is left alone (use it to test what survives a restart).
  std::filesystem::path state_dir;
  // Cursors as if the hub had stored them in an earlier run.
  std::map<std::string, std::string> cursors;
};

// Runs plugin class T (derived from Source, Sink or Transform, constructible from Context&) against
// a FakeContext. The constructor constructs T, so a constructor's ConfigError reaches the test as
// that exception: EXPECT_THROW(PluginHarness<T>(bad_config), simpang::sdk::ConfigError).
template <typename T>
class PluginHarness {
  static_assert(std::is_base_of_v<PluginBase, T>,
                "T must derive from simpang::sdk::Source, Sink or Transform");
  static_assert(std::is_constructible_v<T, Context&>, "T must be constructible from Context&");

 public:
  explicit PluginHarness(nlohmann::json config = nlohmann::json::object(),
                         HarnessOptions options = {})
      : temp_(options.state_dir.empty() ? std::make_unique<TempDir>("simpang-harness") : nullptr),
        context_(std::move(config), std::move(options.instance_name),
                 temp_ ? temp_->path() : options.state_dir) {
    context_.mutable_cursors() = std::move(options.cursors);
    plugin_ = std::make_unique<T>(context_);
  }
  // For a config written inline, `PluginHarness<T> h({{"rate", 5}})`: without this overload that
  // braced list could also build a PluginHarness to copy from, and the call would be ambiguous.
  explicit PluginHarness(nlohmann::json::initializer_list_t config, HarnessOptions options = {})
      : PluginHarness(nlohmann::json(config), std::move(options)) {}
  ~PluginHarness() {
    plugin_.reset();  // before the state directory goes: it may hold files open there
  }
  PluginHarness(const PluginHarness&) = delete;
  PluginHarness& operator=(const PluginHarness&) = delete;

  // Calls on_start. Scheduled callbacks run from now on (when advance() is called).
  // REQUIRES: not started since construction or restart().
  void start() {
    if (started_) {
      throw std::logic_error("PluginHarness::start: already started");
    }
    started_ = true;
    context_.set_running(true);
    plugin_->on_start(context_);
  }

  // Calls on_event and returns its outcome; an exception escaping it becomes retry_later, as in
  // the runtime. Sinks and transforms only. REQUIRES: started and not stopped.
  Outcome deliver(const simpang::v1::Event& event) {
    static_assert(std::is_base_of_v<Consumer, T>, "deliver() is for sinks and transforms");
    if (!context_.running()) {
      throw std::logic_error("PluginHarness::deliver: call start() first (and not after stop())");
    }
    try {
      return plugin_->on_event(context_, event);
    } catch (const std::exception& e) {
      return Outcome::retry_later(std::string("on_event threw: ") + e.what());
    }
  }

  // Moves the virtual clock and runs the scheduled callbacks that fall due (see FakeContext).
  void advance(std::chrono::milliseconds duration) { context_.advance(duration); }

  // Calls on_stop; scheduled callbacks no longer run. REQUIRES: started.
  void stop() {
    if (!context_.running()) {
      throw std::logic_error("PluginHarness::stop: not running");
    }
    context_.set_running(false);
    plugin_->on_stop(context_);
  }

  // Simulates a crash and a restart: destroys the plugin without on_stop, forgets its scheduled
  // callbacks, and constructs a new T on the same state directory and cursors (as the hub stored
  // them). Captured events and logs are kept. Call start() next.
  void restart() {
    context_.set_running(false);
    context_.clear_timers();
    plugin_.reset();
    started_ = false;
    plugin_ = std::make_unique<T>(context_);
  }

  // Events emitted so far, in order.
  const std::vector<simpang::v1::Event>& emitted() { return context_.emitted(); }
  // Events emitted so far; forgets them, so the next call returns only newer ones.
  std::vector<simpang::v1::Event> take_emitted() {
    return std::exchange(context_.emitted(), std::vector<simpang::v1::Event>{});
  }
  // Cursors as the hub would store them.
  const std::map<std::string, std::string>& cursors() const { return context_.cursors(); }
  // The plugin's metrics as Context::count / Context::gauge left them.
  const std::map<std::string, double>& counters() const { return context_.counters(); }
  const std::map<std::string, double>& gauges() const { return context_.gauges(); }
  // Every log line so far, in order.
  const std::vector<LogLine>& logs() { return context_.logs(); }
  // True when some log line contains `text`.
  bool logged(std::string_view text) {
    for (const LogLine& line : context_.logs()) {
      if (line.message.find(text) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  void set_backpressured(bool on) { context_.set_backpressured(on); }
  void fail_next_emits(int count) { context_.fail_next_emits(count); }

  T& plugin() { return *plugin_; }
  FakeContext& context() { return context_; }
  const std::filesystem::path& state_dir() const { return context_.state_dir(); }

 private:
  std::unique_ptr<TempDir> temp_;  // declared first: destroyed last
  FakeContext context_;
  std::unique_ptr<T> plugin_;
  bool started_ = false;
};

// ---- HubFixture
// -----------------------------------------------------------------------------------

// The `simpang` executable a HubFixture starts: $SIMPANG_HUB if set, else SIMPANG_HUB_EXECUTABLE
// (a compile definition that simpang::sdk_testing carries when found with find_package(Simpang)),
// else empty. Inline, so it reads the definition of the test being compiled, not of the SDK build.
inline std::filesystem::path default_hub_executable() {
  if (const char* env = std::getenv("SIMPANG_HUB"); env != nullptr && *env != '\0') {
    return env;
  }
#ifdef SIMPANG_HUB_EXECUTABLE
  return SIMPANG_HUB_EXECUTABLE;
#else
  return {};
#endif
}

struct HubFixtureOptions {
  // The plugin under test: a path to its .so. REQUIRED.
  std::filesystem::path plugin;
  // Its kind, which decides the wiring: a source feeds `capture` (sink-jsonl); a sink is fed by
  // `feed` (source-jsonl); a transform sits between the two.
  simpang_plugin_kind kind = SIMPANG_KIND_TRANSFORM;
  // Its `config:` mapping.
  nlohmann::json config = nlohmann::json::object();
  std::string instance_name = "under-test";
  std::filesystem::path hub_executable = default_hub_executable();
  std::string log_level = "info";
  // How long start(), wait_for_output() and stop() wait at most.
  std::chrono::milliseconds timeout{20000};
};

// A real hub process running the plugin under test. The destructor stops the hub (SIGTERM, then
// SIGKILL if it does not exit in time) and removes the temporary directory holding its config,
// state, input and output.
class HubFixture {
 public:
  // Writes the configuration (hub.yaml in a temporary directory). Throws std::runtime_error when
  // no hub executable is known or the plugin file does not exist.
  explicit HubFixture(HubFixtureOptions options);
  ~HubFixture();
  HubFixture(const HubFixture&) = delete;
  HubFixture& operator=(const HubFixture&) = delete;

  // Checks the configuration (`simpang check`) and starts the hub; returns once the plugin
  // instances are running (the hub's log says so). Throws std::runtime_error with the hub's
  // output when the check fails, or the hub exits or does not come up in time.
  void start();

  // Appends the events, as CloudEvents JSON lines, to the file `feed` (source-jsonl, polling it)
  // reads. Sinks and transforms only; may be called before or after start().
  void feed(const std::vector<simpang::v1::Event>& events);
  // Appends raw lines (for testing what the plugin does with bad input upstream of it).
  void feed_lines(const std::vector<std::string>& lines);

  // Waits until `capture` (sink-jsonl) has written at least `count` events and returns all it has
  // written. Sources and transforms only. Throws std::runtime_error (with the tail of the hub's
  // log) on timeout or if the hub exits.
  std::vector<simpang::v1::Event> wait_for_output(size_t count);
  // Everything `capture` has written so far.
  std::vector<simpang::v1::Event> output() const;

  // Polls `condition` until it holds or the timeout passes (throwing, as wait_for_output does).
  void wait_until(const std::function<bool()>& condition, std::string_view what);

  // Sends SIGTERM and waits for the hub to finish (it drains what was published first). Returns
  // its exit status (0: clean), or 128 + signal if it was killed. Idempotent.
  int stop();
  bool running();

  // The hub's combined stdout and stderr so far.
  std::string log() const;
  // Files of the run.
  const std::filesystem::path& dir() const { return dir_->path(); }
  std::filesystem::path config_path() const { return dir() / "hub.yaml"; }
  std::filesystem::path input_path() const { return dir() / "input.jsonl"; }
  std::filesystem::path output_path() const { return dir() / "output.jsonl"; }
  // The plugin under test's state directory (where its relative paths land).
  std::filesystem::path instance_dir() const;

 private:
  [[noreturn]] void fail(std::string_view what) const;

  HubFixtureOptions options_;
  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

}  // namespace simpang::sdk::testing
