// Test kit for plugin authors (library simpang::sdk_testing; it has no test-framework dependency,
// so it works with GoogleTest, Catch2 or plain asserts).
//
// PluginHarness<T> runs a plugin class in-process with a fake Context and a virtual clock: no hub,
// no sockets, no runtime thread, no waiting. The test's thread plays the runtime thread.
//
//   simpang::sdk::testing::PluginHarness<MySink> h({{"path", "out.jsonl"}});   // ctor runs here
//   h.start();                                                               // on_start
//   EXPECT_EQ(h.deliver(event).kind(), simpang::sdk::Outcome::Kind::kAck);   // on_event
//   h.advance(std::chrono::seconds(5));          // fires every()/after() callbacks that fall due
//   EXPECT_EQ(h.emitted().size(), 1u);
//   h.stop();                                                                // on_stop
//
// A plugin that does its own I/O is tested the same way: posted work runs when the test says
// (h.run_posted(), h.advance(), or h.run_posted_until(cond) for work posted by real threads);
// publish() groups wait in h.publishes() until h.answer_publish(i, PublishResult::durable()) or
// their deadline passes on the virtual clock; a delivery answered Outcome::pending() shows in
// h.deliveries() and h.pending_count(), and its settlement appears there once the plugin settles.
//
//   EXPECT_EQ(h.deliver(event).kind(), Outcome::Kind::kPending);
//   h.run_posted();                                  // the plugin's completion settles it
//   EXPECT_EQ(h.deliveries()[0].settlement->kind(), Outcome::Kind::kAck);
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
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
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

namespace simpang::sdk::internal {
template <typename Time>
class TimerQueue;  // the runtime's timer queue (an internal header of the SDK)
}  // namespace simpang::sdk::internal

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

// A group the plugin passed to Context::publish, as the fake context recorded it.
struct PublishedGroup {
  std::vector<simpang::v1::Event> events;  // as published (spec_version filled)
  std::chrono::milliseconds timeout;       // as passed to publish()
  std::chrono::milliseconds deadline;      // virtual time at which it times out
  // The result the plugin was given (by answer_publish(), or the deadline); nullopt while the
  // group waits for an answer.
  std::optional<PublishResult> result;
};

// A delivery a PluginHarness made, and how it was settled.
struct DeliveryRecord {
  simpang::v1::Event event;
  // What on_event returned (an exception counts as retry_later, as in the runtime).
  Outcome returned = Outcome::ack();
  // The handle a pending delivery was given (empty unless `returned` is pending).
  PendingDelivery handle;
  // How it was settled: `returned` when that was final; for a pending one, what settle() said,
  // nullopt while it is still pending (or if it went stale on reconnect()).
  std::optional<Outcome> settlement;
  bool stale = false;  // pending when reconnect() made its handle stale
};

// The Context a PluginHarness gives its plugin. Records what the plugin emits, publishes, logs and
// sets as cursors, and how it settles deliveries; keeps its scheduled callbacks and the deadlines
// of its publish() groups on a virtual clock that only advance() moves; and queues posted work
// until the test runs it (run_posted(), advance()), so a test decides when everything happens.
// It follows the SDK runtime's rules: emit() and publish() check id, source and type and fill
// spec_version; scheduled callbacks do not run before start, after stop, or while back-pressured
// (they are postponed, then run once it lifts); an exception from a callback or posted work is
// logged, not propagated; a stale or settled handle settles nothing.
//
// Where it differs: events emitted or published count as taken over by the hub at once (so a
// Transform's settlement is recorded at once); a publish() group waits for the test to answer it
// (answer_publish()) or for its deadline on the virtual clock.
//
// Thread rule: post() and log() from any thread; everything else from the test's thread, which
// plays the runtime thread.
class FakeContext final : public Context {
 public:
  FakeContext(nlohmann::json config, std::string instance_name, std::filesystem::path state_dir);
  ~FakeContext() override;
  FakeContext(const FakeContext&) = delete;
  FakeContext& operator=(const FakeContext&) = delete;

  // Context.
  const std::string& instance_name() const override { return instance_name_; }
  const nlohmann::json& config() const override { return config_; }
  const std::filesystem::path& state_dir() const override { return state_dir_; }
  void log(LogLevel level, std::string_view message) override;
  void post(std::function<void()> work) override;
  Status emit(simpang::v1::Event event) override;
  Status publish(std::vector<simpang::v1::Event> events, std::chrono::milliseconds deadline,
                 PublishCallback done) override;
  PendingDelivery defer() override;
  bool settle(const PendingDelivery& delivery, Outcome outcome) override;
  void set_delivery_window(uint32_t deliveries) override;
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
  // Runs the posted work, then moves the clock forward by `duration`, running each scheduled
  // callback and publish deadline that falls due, in order of due time (then of scheduling), each
  // at its own due time; a repeating one runs again as often as it falls due. Callbacks scheduled
  // by callbacks run too if they fall due in time. Scheduled callbacks run only while `running`
  // (set by the harness between start and stop); deadlines whenever the plugin is started, as in
  // the runtime. Posted work that callbacks post runs after each of them.
  void advance(std::chrono::milliseconds duration);
  // How many callbacks are scheduled.
  size_t scheduled() const;
  // Forgets every scheduled callback (what a crash does).
  void clear_timers();

  // Runs the work posted so far, in order, and what that work posts in turn, until the queue is
  // empty; returns how many ran. Runs nothing unless started (see set_started), as the runtime
  // runs posted work only from on_start on.
  size_t run_posted();
  // For work posted by the plugin's own threads: runs posted work as it arrives until `done()`
  // holds or `timeout` (real time) passes; returns done(). Never sleeps longer than needed: it
  // waits on the queue.
  bool run_posted_until(const std::function<bool()>& done, std::chrono::milliseconds timeout);
  // How much posted work waits to run.
  size_t posted() const;
  // Drops every queued post and every later one (destroyed without running), as the runtime does
  // once it has finished; `open` again accepts posts (after a restart).
  void set_posts_open(bool open);

  // Every group published, in order.
  const std::vector<PublishedGroup>& publishes() const { return publishes_; }
  // How many groups wait for an answer.
  size_t unanswered_publishes() const;
  // Answers group `index` (of publishes()) with `result` (make it with PublishResult::durable(),
  // ::rejected({{2, "why"}}) or ::timed_out("...")), calling the plugin's callback now.
  // REQUIRES: the group waits for an answer; else std::logic_error.
  void answer_publish(size_t index, const PublishResult& result);
  // Drops every unanswered group without calling its callback (what a crash does).
  void drop_publishes();

  // Delivers `event` to `consumer` as the runtime does (defer() works inside), records it in
  // deliveries() and returns what on_event returned. Throws std::logic_error if the delivery
  // window is full of pending deliveries: the hub would not deliver beyond the credit.
  Outcome deliver(Consumer& consumer, const simpang::v1::Event& event);
  // Every delivery so far, in order, with its settlement.
  const std::vector<DeliveryRecord>& deliveries() const { return deliveries_; }
  // How many deliveries are pending (returned pending and not settled).
  size_t pending_count() const { return pending_.size(); }
  // What a reconnect does to pending deliveries: every handle goes stale (the hub delivers those
  // events again; deliver them again yourself to model it).
  void reconnect();
  uint32_t delivery_window() const { return delivery_window_; }

  std::vector<simpang::v1::Event>& emitted() { return emitted_; }
  const std::map<std::string, std::string>& cursors() const { return cursors_; }
  std::map<std::string, std::string>& mutable_cursors() { return cursors_; }
  const std::map<std::string, double>& counters() const { return counters_; }
  const std::map<std::string, double>& gauges() const { return gauges_; }
  std::vector<LogLine> logs() const;
  void set_backpressured(bool on) { backpressured_ = on; }
  // The next `count` emit() (or publish()) calls fail, as when the runtime has lost the hub.
  void fail_next_emits(int count) { fail_emits_ = count; }
  void set_running(bool running) { running_ = running; }
  bool running() const { return running_; }
  // Whether on_start has been called (posted work and deadlines run only then).
  void set_started(bool started) { started_ = started; }

 private:
  using Timers = ::simpang::sdk::internal::TimerQueue<std::chrono::milliseconds>;
  // Runs the earliest callback or deadline due at or before `limit`; false when there is none.
  bool run_one_due(std::chrono::milliseconds limit);
  void time_out(size_t index);

  nlohmann::json config_;
  std::string instance_name_;
  std::filesystem::path state_dir_;
  std::chrono::milliseconds now_{0};
  std::unique_ptr<Timers> timers_;     // every() / after()
  std::unique_ptr<Timers> deadlines_;  // of publish() groups
  std::vector<simpang::v1::Event> emitted_;
  std::vector<PublishedGroup> publishes_;
  std::map<size_t, PublishCallback> waiting_;  // publishes_ index -> callback
  std::map<size_t, TimerId> waiting_deadline_;
  std::vector<DeliveryRecord> deliveries_;
  std::map<uint64_t, size_t> pending_;  // handle token -> deliveries_ index
  uint64_t next_token_ = 1;
  std::optional<size_t> delivering_;  // deliveries_ index inside deliver()
  uint64_t deferred_token_ = 0;
  uint32_t delivery_window_ = 1024;
  std::map<std::string, std::string> cursors_;
  std::map<std::string, double> counters_;
  std::map<std::string, double> gauges_;
  bool backpressured_ = false;
  bool running_ = false;
  bool started_ = false;
  int fail_emits_ = 0;

  // Shared with the plugin's threads (post, log).
  mutable std::mutex mutex_;
  std::condition_variable posted_cv_;
  std::deque<std::function<void()>> posted_queue_;  // GUARDED_BY(mutex_)
  bool posts_open_ = true;                          // GUARDED_BY(mutex_)
  std::vector<LogLine> logs_;                       // GUARDED_BY(mutex_)
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
    // What the plugin's destructor posts (while it joins its threads) is dropped, never run.
    context_.set_posts_open(false);
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
    context_.set_started(true);
    plugin_->on_start(context_);
  }

  // Calls on_event and returns its outcome; an exception escaping it becomes retry_later, as in
  // the runtime. A pending outcome (with Context::defer()) stays in pending() until the plugin
  // settles it; deliveries() records every delivery and its settlement. Sinks and transforms only.
  // REQUIRES: started and not stopped; fewer pending deliveries than the delivery window.
  Outcome deliver(const simpang::v1::Event& event) {
    static_assert(std::is_base_of_v<Consumer, T>, "deliver() is for sinks and transforms");
    if (!context_.running()) {
      throw std::logic_error("PluginHarness::deliver: call start() first (and not after stop())");
    }
    return context_.deliver(*plugin_, event);
  }

  // Moves the virtual clock and runs posted work and the scheduled callbacks and publish
  // deadlines that fall due (see FakeContext::advance).
  void advance(std::chrono::milliseconds duration) { context_.advance(duration); }

  // Runs the work posted with Context::post so far (and what it posts); returns how many ran.
  size_t run_posted() { return context_.run_posted(); }
  // Runs posted work as the plugin's own threads post it, until `done()` or `timeout` passes
  // (real time); returns done().
  bool run_posted_until(const std::function<bool()>& done,
                        std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return context_.run_posted_until(done, timeout);
  }

  // Calls on_stop; scheduled callbacks no longer run. Posted work, publish answers and pending
  // settlements still do, as in the runtime until its stop deadline. REQUIRES: started.
  void stop() {
    if (!context_.running()) {
      throw std::logic_error("PluginHarness::stop: not running");
    }
    context_.set_running(false);
    plugin_->on_stop(context_);
  }

  // Simulates a crash and a restart: destroys the plugin without on_stop, forgets its scheduled
  // callbacks, posted work and unanswered publish() groups (no callback is called), makes every
  // pending handle stale, and constructs a new T on the same state directory and cursors (as the
  // hub stored them). Captured events, deliveries and logs are kept. Call start() next.
  void restart() {
    context_.set_running(false);
    context_.set_started(false);
    context_.clear_timers();
    context_.drop_publishes();
    context_.reconnect();
    context_.set_posts_open(false);
    plugin_.reset();
    context_.set_posts_open(true);
    started_ = false;
    plugin_ = std::make_unique<T>(context_);
  }

  // Groups published with Context::publish, in order; answer one with answer_publish().
  const std::vector<PublishedGroup>& publishes() const { return context_.publishes(); }
  void answer_publish(size_t index, const PublishResult& result) {
    context_.answer_publish(index, result);
  }
  // Every delivery and how it was settled; pending ones have no settlement yet.
  const std::vector<DeliveryRecord>& deliveries() const { return context_.deliveries(); }
  size_t pending_count() const { return context_.pending_count(); }
  // Makes every pending handle stale, as a reconnect to the hub does.
  void reconnect() { context_.reconnect(); }

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
  // Every log line so far, in order (a copy: the plugin's threads may log meanwhile).
  std::vector<LogLine> logs() const { return context_.logs(); }
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
  // instances are running (the hub says so on a pipe, `simpang run --ready-fd`). Throws std::runtime_error with the hub's
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
