// The C++ SDK for writing a Simpang plugin: derive from Source, Sink or Transform, export the class
// with SIMPANG_PLUGIN, and the SDK does the rest (the C ABI, the ZeroMQ socket, batching, credits,
// heartbeats, reconnects). A plugin author never touches ZeroMQ.
//
//   class Echo : public simpang::sdk::Sink {
//    public:
//     explicit Echo(simpang::sdk::Context& ctx) {}           // read ctx.config() here; throw
//                                                            // simpang::sdk::ConfigError if bad
//     simpang::sdk::Outcome on_event(simpang::sdk::Context& ctx,
//                                    const simpang::v1::Event& e) override {
//       ctx.log(simpang::sdk::LogLevel::kInfo, "got " + e.id());
//       return simpang::sdk::Outcome::ack();
//     }
//   };
//   SIMPANG_PLUGIN(Echo, "echo", "1.0.0", "logs every event it receives")
//
// Threading model: the constructor runs on the host's thread when the instance is created (so a
// bad config fails before anything starts); every later callback (on_start, on_event, scheduled
// callbacks, on_stop) runs on the instance's one runtime thread, one at a time, so a plugin needs
// no locks of its own. Context methods are to be called from those callbacks only, except where a
// method says otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "simpang/plugin_abi.h"
#include "simpang/sdk/status.h"
#include "simpang/v1/event.pb.h"

namespace simpang::sdk {

enum class LogLevel {
  kTrace = SIMPANG_LOG_TRACE,
  kDebug = SIMPANG_LOG_DEBUG,
  kInfo = SIMPANG_LOG_INFO,
  kWarn = SIMPANG_LOG_WARN,
  kError = SIMPANG_LOG_ERROR,
  kCritical = SIMPANG_LOG_CRITICAL,
};

// Thrown by a plugin's constructor when its configuration is unusable. The message should say
// which key is wrong and why; the hub shows it with the instance name.
class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// How a consumer settles one delivered event.
class Outcome {
 public:
  enum class Kind { kAck, kRetryLater, kReject };

  // Handled: the hub will not deliver it again.
  static Outcome ack() { return Outcome(Kind::kAck, {}); }
  // Failed for now (a timeout, a 503): the hub delivers it again after a backoff.
  static Outcome retry_later(std::string reason) { return Outcome(Kind::kRetryLater, std::move(reason)); }
  // Can never succeed (invalid for this destination): the hub dead-letters it with the reason.
  static Outcome reject(std::string reason) { return Outcome(Kind::kReject, std::move(reason)); }

  Kind kind() const { return kind_; }
  const std::string& reason() const { return reason_; }

 private:
  Outcome(Kind kind, std::string reason) : kind_(kind), reason_(std::move(reason)) {}
  Kind kind_;
  std::string reason_;
};

using TimerId = uint64_t;

// What the SDK runtime offers a plugin instance. Owned by the runtime; valid for the whole life of
// the plugin object.
class Context {
 public:
  virtual ~Context() = default;

  // The instance's name in the hub configuration.
  virtual const std::string& instance_name() const = 0;
  // The instance's `config:` mapping, parsed. An empty object when the config had none.
  virtual const nlohmann::json& config() const = 0;
  // A directory of this instance's own, kept across restarts.
  virtual const std::filesystem::path& state_dir() const = 0;

  // Logs through the hub's logger, tagged with the instance name. Thread rule: any thread.
  virtual void log(LogLevel level, std::string_view message) = 0;

  // Publishes an event (sources and transforms only). Fills spec_version ("1.0") when empty and
  // fails when id, source or type is missing. The event is batched and sent by the runtime; the
  // hub acknowledges it once it has taken it over. Within one instance, events are published in
  // the order emitted.
  virtual Status emit(simpang::v1::Event event) = 0;

  // Connector cursors: where a poller got to, by key. set_cursor() attaches the value to the next
  // batch of events this instance publishes, and the hub stores it in the same transaction as those
  // events, so after any crash the cursor matches the events that were kept. cursor() returns the
  // latest value set, or after a restart the one the hub stored; nullopt if there is none.
  virtual std::optional<std::string> cursor(const std::string& key) const = 0;
  virtual void set_cursor(const std::string& key, std::string value) = 0;

  // Metrics of this instance, by name: a counter only grows (`count` adds to it), a gauge holds
  // the last value set. The runtime sends their current values to the hub a few times a second
  // when they changed, and the hub reports them with its own (its summary line, later its
  // metrics endpoint). Names: lower-case letters, digits and '_'.
  virtual void count(std::string_view name, double delta = 1) = 0;
  virtual void gauge(std::string_view name, double value) = 0;

  // True while the hub is applying back-pressure (too much published and not yet acknowledged).
  // Scheduled callbacks are postponed while it is true; a source that emits from elsewhere should
  // hold off too.
  virtual bool backpressured() const = 0;

  // Calls `callback` every `interval`, first after one interval. Returns an id for cancel().
  virtual TimerId every(std::chrono::milliseconds interval, std::function<void()> callback) = 0;
  // Calls `callback` once after `delay`.
  virtual TimerId after(std::chrono::milliseconds delay, std::function<void()> callback) = 0;
  // Cancels a scheduled callback; unknown or finished ids are ignored.
  virtual void cancel(TimerId id) = 0;
};

// Base of every plugin class. Override what you need; the defaults do nothing.
class PluginBase {
 public:
  virtual ~PluginBase() = default;
  // Called once the instance is connected to the hub, before any delivery.
  virtual void on_start(Context& ctx) {}
  // Called when the hub stops the instance; emit the last events here. After it returns the
  // runtime flushes what was emitted and says goodbye.
  virtual void on_stop(Context& ctx) {}
};

// A plugin that publishes events (a poller, a webhook receiver, a simulator).
class Source : public PluginBase {
 public:
  static constexpr simpang_plugin_kind kKind = SIMPANG_KIND_SOURCE;
};

// Common base of plugins that are delivered events.
class Consumer : public PluginBase {
 public:
  // Handles one delivered event and says how it went. An exception escaping it counts as
  // retry_later with the exception's message.
  virtual Outcome on_event(Context& ctx, const simpang::v1::Event& event) = 0;
};

// A plugin that consumes events and writes them somewhere (a ledger, a webhook, a file).
class Sink : public Consumer {
 public:
  static constexpr simpang_plugin_kind kKind = SIMPANG_KIND_SINK;
};

// A plugin that consumes events and publishes new ones (ctx.emit inside on_event). The runtime
// acknowledges a delivered event only after the hub has taken over what on_event emitted, so a
// crash in between redelivers the input rather than losing the output.
class Transform : public Consumer {
 public:
  static constexpr simpang_plugin_kind kKind = SIMPANG_KIND_TRANSFORM;
};

namespace internal {

using PluginFactory = std::unique_ptr<PluginBase> (*)(Context& ctx);

// The ABI thunks, implemented by the SDK runtime (libsimpang_sdk). They catch every exception.
simpang_instance* create_instance(const simpang_host_api* host, simpang_plugin_kind kind,
                                  const char* plugin_name, PluginFactory factory,
                                  const char** error) noexcept;
int start_instance(simpang_instance* instance) noexcept;
int stop_instance(simpang_instance* instance, uint32_t deadline_ms) noexcept;
void destroy_instance(simpang_instance* instance) noexcept;
const char* instance_last_error(simpang_instance* instance) noexcept;

template <typename T>
std::unique_ptr<PluginBase> make_plugin(Context& ctx) {
  return std::make_unique<T>(ctx);
}

template <typename T>
constexpr simpang_plugin_api make_api(const char* name, const char* version,
                                      const char* description,
                                      simpang_instance* (*create)(const simpang_host_api*,
                                                                  const char**)) {
  return simpang_plugin_api{
      sizeof(simpang_plugin_api),
      SIMPANG_ABI_MAJOR,
      SIMPANG_ABI_MINOR,
      static_cast<uint32_t>(T::kKind),
      name,
      version,
      description,
      create,
      &start_instance,
      &stop_instance,
      &destroy_instance,
      &instance_last_error,
  };
}

}  // namespace internal
}  // namespace simpang::sdk

// Exports CLASS as this shared library's plugin. Use once per plugin library, at namespace scope.
// CLASS must derive from simpang::sdk::Source, Sink or Transform and be constructible from
// simpang::sdk::Context&; NAME, VERSION and DESCRIPTION are string literals.
#define SIMPANG_PLUGIN(CLASS, NAME, VERSION, DESCRIPTION)                                         \
  static_assert(std::is_base_of_v<::simpang::sdk::PluginBase, CLASS>,                            \
                #CLASS " must derive from simpang::sdk::Source, Sink or Transform");              \
  static_assert(std::is_constructible_v<CLASS, ::simpang::sdk::Context&>,                        \
                #CLASS " must have a constructor taking simpang::sdk::Context&");                \
  static simpang_instance* simpang_plugin_create_(const simpang_host_api* host,                  \
                                                  const char** error) {                          \
    return ::simpang::sdk::internal::create_instance(host, CLASS::kKind, NAME,                   \
                                                     &::simpang::sdk::internal::make_plugin<CLASS>, \
                                                     error);                                     \
  }                                                                                              \
  extern "C" __attribute__((visibility("default"))) const simpang_plugin_api*                    \
  simpang_plugin_entry(void) {                                                                   \
    static const simpang_plugin_api api = ::simpang::sdk::internal::make_api<CLASS>(             \
        NAME, VERSION, DESCRIPTION, &simpang_plugin_create_);                                   \
    return &api;                                                                                 \
  }
