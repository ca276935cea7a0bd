// For a partner company's own program: publish events into a Simpang hub through its partner door
// (CurveZMQ over tcp; docs/connecting-from-outside.md), on the same runtime a plugin runs on. It
// batches within the hub's window, says hello again after a reconnect and publishes again what
// the hub had not acknowledged, and answers each group once: durable, rejected, or timed out.
//
//   simpang::sdk::PartnerOptions options;
//   options.endpoint = "tcp://hub.example.org:7400";
//   options.server_public_key = read("hub.pub");     // the hub's public key (Z85)
//   options.secret_key = read("acme.key");           // this partner's secret key (Z85)
//   auto publisher = simpang::sdk::PartnerPublisher::connect(std::move(options));
//   if (!publisher.ok()) ...                          // a key that is not a key, say
//   PublishResult r = (*publisher)->publish_and_wait({event}, std::chrono::seconds(10));
//
// Thread rule: publish(), publish_and_wait() and stop() from any thread but the publisher's own
// (its callbacks run there: never wait inside one).
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "simpang/base/status.h"
#include "simpang/sdk/plugin.h"
#include "simpang/v1/event.pb.h"

namespace simpang::sdk {

struct PartnerOptions {
  // The hub's partner door, e.g. "tcp://hub.example.org:7400". REQUIRED.
  std::string endpoint;
  // The hub's CURVE public key (the operator's `hub.pub`), 40 characters of Z85. REQUIRED.
  std::string server_public_key;
  // This partner's CURVE secret key (`simpang keys new NAME` writes NAME.key), Z85. REQUIRED.
  // Never logged. Surrounding whitespace (a key file's newline) is ignored.
  std::string secret_key;
  // This partner's public key (NAME.pub); derived from the secret key when empty.
  std::string public_key;
  // The partner's name in the hub's configuration. Optional: the hub knows the partner by its
  // key; a name given here that is not the key's partner makes the hub refuse the connection.
  std::string partner;
  // Said in the Hello for the hub's log ("acme-sync 1.4").
  std::string program = "simpang-partner";
  // How often to speak when otherwise idle; the hub's own heartbeat, from its Welcome, wins.
  std::chrono::milliseconds heartbeat{1000};
  // Where the runtime's messages go (connection trouble, refusals). Default: standard error.
  std::function<void(LogLevel level, std::string_view message)> log;
};

class PartnerPublisher {
 public:
  // Checks the options and starts connecting in the background (the handshake and the hello
  // happen on the publisher's thread, and again after every reconnect). Errors name the option.
  static StatusOr<std::unique_ptr<PartnerPublisher>> connect(PartnerOptions options);
  // stop(5 s) unless stopped.
  ~PartnerPublisher();
  PartnerPublisher(const PartnerPublisher&) = delete;
  PartnerPublisher& operator=(const PartnerPublisher&) = delete;

  // Publishes `events` as one group. `done` is called exactly once, on the publisher's thread:
  // durable (every event journaled by the hub), rejected (the hub refused some, with reasons:
  // a type or source the partner may not publish, a malformed event; the others are journaled),
  // or timed out (no answer for the whole group within `deadline` of this call, including the
  // time spent connecting: publishing the same events again causes no duplicates).
  // After stop(), `done` is called at once with timed_out.
  void publish(std::vector<simpang::v1::Event> events, std::chrono::milliseconds deadline,
               PublishCallback done);
  // publish() and wait for its answer.
  PublishResult publish_and_wait(std::vector<simpang::v1::Event> events,
                                 std::chrono::milliseconds deadline);

  // Flushes, waits up to `deadline` for the hub to acknowledge what was published, says goodbye
  // and disconnects. An error says what was left unacknowledged. Further calls do nothing.
  Status stop(std::chrono::milliseconds deadline);

 private:
  class Impl;
  explicit PartnerPublisher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace simpang::sdk
