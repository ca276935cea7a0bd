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
// callbacks, posted work, publish completions, on_stop) runs on the instance's one runtime thread,
// one at a time, so a plugin needs no locks of its own.
//
// Thread rules of Context, in one place:
//  - log() and post() may be called from any thread, as long as the plugin object exists.
//  - Every other method (emit, publish, settle, cursors, metrics, timers, ...) only on the runtime
//    thread: from the plugin's callbacks. A plugin that does its own I/O on threads of its own
//    (an HTTP server, a client library's completion thread) hands results to the runtime thread
//    with post(), and publishes or settles from the posted work. That is the one thread-safe way
//    to publish; emit() itself is not thread-safe.
//  - A thread the plugin starts must be joined before the plugin object is destroyed (in on_stop
//    or the destructor): the Context goes with the plugin object.
//
// Doing your own I/O: publish() tells you when the hub has journaled a group of events (answer
// your client only then); a consumer returns Outcome::pending() with a PendingDelivery from
// defer() and settles it with settle() when its own request completes. See each declaration.
// In outline (`server`, `client` and `respond` stand for your own I/O library):
//
//   // An ingress: a request arrives on the server's thread.
//   server.on_request([&ctx](Request request) {
//     ctx.post([&ctx, request = std::move(request)]() mutable {         // to the runtime thread
//       // 2xx for kDurable, 4xx for kRejected, 503 for kTimedOut: answered on the runtime thread
//       // (hand the response back to the server's thread as your server requires).
//       Status s = ctx.publish(to_events(request), std::chrono::seconds(5),
//                              [request](const PublishResult& r) { respond(request, r); });
//       if (!s.ok()) respond_bad_request(request, s.message());
//     });
//   });
//
//   // A webhook sink: settles each delivery when its HTTP call completes.
//   Outcome on_event(Context& ctx, const Event& event) override {
//     PendingDelivery d = ctx.defer();
//     client.send(to_request(event), [&ctx, d](int status) {           // on the client's thread
//       ctx.post([&ctx, d, status] {
//         ctx.settle(d, status < 300 ? Outcome::ack() : Outcome::retry_later("HTTP error"));
//       });
//     });
//     return Outcome::pending();
//   }
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
#include <vector>

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
  enum class Kind { kAck, kRetryLater, kReject, kPending };

  // Handled: the hub will not deliver it again.
  static Outcome ack() { return Outcome(Kind::kAck, {}); }
  // Failed for now (a timeout, a 503): the hub delivers it again after a backoff.
  static Outcome retry_later(std::string reason) { return Outcome(Kind::kRetryLater, std::move(reason)); }
  // Can never succeed (invalid for this destination): the hub dead-letters it with the reason.
  static Outcome reject(std::string reason) { return Outcome(Kind::kReject, std::move(reason)); }
  // Not settled yet: the consumer took a PendingDelivery with Context::defer() during this
  // on_event and settles it later with Context::settle(). Returning pending without having called
  // defer() in this on_event is a mistake, settled as retry_later.
  static Outcome pending() { return Outcome(Kind::kPending, {}); }

  Kind kind() const { return kind_; }
  const std::string& reason() const { return reason_; }

 private:
  Outcome(Kind kind, std::string reason) : kind_(kind), reason_(std::move(reason)) {}
  Kind kind_;
  std::string reason_;
};

using TimerId = uint64_t;

// A delivery a consumer settles later (see Context::defer). A small value: copy it into your
// request's completion. It names one delivery of one connection to the hub; once that connection
// is gone (the hub restarted or lost us, and delivers the event again under a new handle) the old
// handle is stale and settling it does nothing, so a late completion never settles another
// delivery. Default-constructed: names nothing.
class PendingDelivery {
 public:
  PendingDelivery() = default;
  explicit PendingDelivery(uint64_t token) : token_(token) {}
  // The runtime's number for it: unique within the instance, never reused, 0 for none.
  uint64_t token() const { return token_; }
  explicit operator bool() const { return token_ != 0; }
  friend bool operator==(const PendingDelivery&, const PendingDelivery&) = default;

 private:
  uint64_t token_ = 0;
};

// An event of a group passed to Context::publish that the hub refused, and why.
struct EventRejection {
  size_t index = 0;    // position of the event in the group (0-based)
  std::string reason;  // the hub's reason, e.g. a missing attribute or a permission
};

// What became of a group passed to Context::publish. Exactly one result per group.
class PublishResult {
 public:
  enum class Kind {
    // The hub journaled every event of the group (made durable, with a durable journal; an event
    // it already had under the same source and id counts as journaled). Answer success now.
    kDurable,
    // The hub refused some events of the group, listed in rejections() with its reasons; it
    // journaled every other event of the group, which will be delivered. Refusals are final:
    // publishing the same events again gets the same answer.
    kRejected,
    // The hub did not answer for the whole group before the deadline (it is unreachable or slow).
    // The outcome is unknown: some or all of the events may be journaled, and the runtime keeps
    // the rest and publishes them when the hub is back. A caller that publishes the same events
    // again (same source and id) causes no duplicates: the hub de-duplicates them.
    kTimedOut,
  };

  static PublishResult durable() { return PublishResult(Kind::kDurable, {}, {}); }
  static PublishResult rejected(std::vector<EventRejection> rejections) {
    return PublishResult(Kind::kRejected, std::move(rejections), {});
  }
  static PublishResult timed_out(std::string message) {
    return PublishResult(Kind::kTimedOut, {}, std::move(message));
  }

  Kind kind() const { return kind_; }
  // kRejected: the refused events, in group order. Empty otherwise.
  const std::vector<EventRejection>& rejections() const { return rejections_; }
  // kTimedOut: what the runtime knew (e.g. "no answer from the hub within 5000 ms"). Empty
  // otherwise.
  const std::string& message() const { return message_; }

 private:
  PublishResult(Kind kind, std::vector<EventRejection> rejections, std::string message)
      : kind_(kind), rejections_(std::move(rejections)), message_(std::move(message)) {}
  Kind kind_;
  std::vector<EventRejection> rejections_;
  std::string message_;
};

// Called once with the result of a Context::publish, on the runtime thread.
using PublishCallback = std::function<void(const PublishResult& result)>;

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
  // Thread rule: the runtime thread only (see the thread rules above; from elsewhere, post()).
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

  // ---- For plugins that do their own I/O. Appended here, after the older methods, with
  // defaults, so plugins built against older headers keep their vtable layout (see
  // docs/writing-a-plugin.md, "Compatibility rules"). The SDK runtime and the test kit's
  // FakeContext implement all of them.

  // Runs `work` on the runtime thread, soon, after what is already posted (first in, first out);
  // the runtime's loop wakes for it at once. For handing results of the plugin's own I/O threads
  // to the runtime thread, where they may emit, publish and settle.
  //
  // When it runs: from on_start on, while the instance runs and while it stops (after on_stop,
  // until the runtime has finished: so a completion that arrives during the stop deadline can
  // still settle or publish). Work posted before on_start waits for it. Work that has not run when
  // the runtime finishes, or that is posted after, is dropped: destroyed without being called
  // (never run on a stopped plugin). Posted work runs whether or not the hub is connected, and
  // also under back-pressure (unlike scheduled callbacks). An exception escaping it is logged.
  // OWNERSHIP: the runtime owns `work` until it ran or was dropped.
  // Thread rule: any thread, the runtime thread included (it then runs later, never inside this
  // call), for as long as the plugin object exists.
  virtual void post(std::function<void()> work) { /* not offered: dropped */ }

  // Publishes `events` as a group, in order, in the same stream as emit() (sources and
  // transforms), and calls `done` once, later, on the runtime thread, with what became of the
  // whole group: kDurable once the hub has journaled all of it; kRejected once the hub has
  // answered for all of it and refused some (listed per event, by index in the group; the others
  // are journaled); kTimedOut if the hub has not answered for all of it within `deadline` (counted
  // from this call). A group may hold any number of events: the runtime splits it into as many
  // Publish batches as the hub's batch size needs, and answers when the last has been answered.
  // A retry-later from the hub (journal back-pressure) is not an answer: the runtime publishes
  // the batch again, and the deadline keeps running.
  //
  // Returns an error, and never calls `done`, when the group cannot be published at all: from a
  // sink, or when an event lacks id, source or type (then nothing of the group is published). An
  // empty group completes as kDurable. `done` is never called inside publish() itself; if the
  // runtime stops before the answer (the stop deadline passed), it is called with kTimedOut before
  // the runtime finishes. Cursors set before this call are stored with the group's first batch.
  // Events of a group are filled in as emit() fills them (spec_version).
  // REQUIRES: deadline > 0. Thread rule: the runtime thread only.
  virtual Status publish(std::vector<simpang::v1::Event> events, std::chrono::milliseconds deadline,
                         PublishCallback done) {
    return Status::Error("publish: not offered by this context");
  }

  // Asynchronous settlement, for a consumer that answers a delivery only when its own I/O
  // completes (a webhook's HTTP response). During on_event, defer() returns a handle for the
  // delivery being handled; on_event then returns Outcome::pending(), and the consumer calls
  // settle(handle, outcome) later, on the runtime thread (from another thread: post() it).
  //
  // Many deliveries may be pending at once: as many as the delivery window (see
  // set_delivery_window), because the runtime returns the hub's credit for a delivery only when
  // it is settled. Order: on a route with subject ordering the hub sends the next event of a
  // subject only after the previous one is settled, so pending ones never overtake each other.
  //
  // A Transform's pending delivery: what the transform published before settle() (its outputs)
  // is made durable before the settlement reaches the hub, as for a synchronous on_event; so
  // publish the outputs first, then settle.
  //
  // At stop: pending deliveries may still be settled until the stop deadline; those still pending
  // then are abandoned, unsettled (the hub delivers them again; the stop reports them). On a
  // reconnect (the hub restarted, or lost and re-welcomed us) every pending handle goes stale:
  // the hub delivers those events again, under new handles.
  //
  // defer() REQUIRES: called inside on_event (else it returns an empty handle). Calling it twice
  // in one on_event returns the same handle. If on_event then returns anything but pending, the
  // returned outcome settles the delivery and the handle is stale.
  // Thread rule: the runtime thread only.
  virtual PendingDelivery defer() { return PendingDelivery(); }
  // Settles a pending delivery with `outcome` (ack, retry_later or reject; pending is a mistake
  // and returns false). Returns true if it settled one; false if the handle is stale, empty,
  // or already settled, in which case nothing happens. Thread rule: the runtime thread only.
  virtual bool settle(const PendingDelivery& delivery, Outcome outcome) { return false; }
  // How many deliveries this instance can hold unsettled: the credit it grants the hub. Default
  // 1024. A consumer whose pending deliveries each hold a resource (a connection) lowers it.
  // REQUIRES: 0 < deliveries; called from the plugin's constructor (it takes effect when the
  // runtime first greets the hub). Thread rule: the constructor's thread.
  virtual void set_delivery_window(uint32_t deliveries) {}
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
