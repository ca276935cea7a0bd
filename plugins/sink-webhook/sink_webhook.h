// The sink-webhook plugin: delivers each event as one CloudEvents HTTP request (structured or
// binary mode) to a configured URL, signed per Standard Webhooks, and settles the delivery when
// the answer comes: 2xx ack; 408, 429, 5xx and no answer retry later; any other status reject
// (dead-lettered by the hub with the status and the start of the body).
//
// Requests go out through simpang::http::Client (libcurl's multi interface, on the client's own
// thread); its completions are posted to the runtime thread, where every member of this class
// lives, so the class needs no lock. At most max_in_flight deliveries are unsettled at once: the
// delivery window the hub is granted. A Retry-After on a 429 or 503 pauses sending: deliveries
// that arrive meanwhile stay pending here and go out when the pause ends. See README.md.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <string>

#include "simpang/http/client.h"
#include "simpang/sdk/plugin.h"
#include "webhook_config.h"
#include "webhook_request.h"

namespace simpang::plugins::sink_webhook {

class WebhookSink : public simpang::sdk::Sink {
 public:
  // Reads and validates the configuration (see read_config; throws simpang::sdk::ConfigError)
  // and sets the delivery window to max_in_flight.
  explicit WebhookSink(simpang::sdk::Context& ctx);
  // Stops the client if on_stop did not (its thread is joined here).
  ~WebhookSink() override;
  WebhookSink(const WebhookSink&) = delete;
  WebhookSink& operator=(const WebhookSink&) = delete;

  // Starts the HTTP client; logs where events go, and warns when requests are unsigned.
  void on_start(simpang::sdk::Context& ctx) override;
  // Defers the delivery and sends it (or, while paused by a Retry-After, keeps it for later).
  // An event that cannot be put in a request (see encode_binary) is rejected at once.
  simpang::sdk::Outcome on_event(simpang::sdk::Context& ctx,
                                 const simpang::v1::Event& event) override;
  // Stops the client: requests in flight are cancelled and, with those waiting out a pause, left
  // unsettled (the hub delivers them again).
  void on_stop(simpang::sdk::Context& ctx) override;

  const WebhookConfig& config() const { return config_; }
  bool paused() const { return paused_until_.has_value(); }

 private:
  struct Waiting {
    simpang::sdk::PendingDelivery delivery;
    std::string event_id;
    EncodedEvent encoded;
  };
  // At most one warning per interval per kind; counts what it held back.
  struct LogLimit {
    std::chrono::steady_clock::time_point next{};
    size_t held_back = 0;
  };

  // Rejects an event that cannot become a request: counted, logged (rate-limited).
  simpang::sdk::Outcome refuse(simpang::sdk::Context& ctx, const std::string& reason);
  void send(simpang::sdk::Context& ctx, simpang::sdk::PendingDelivery delivery,
            const std::string& event_id, EncodedEvent encoded);
  void complete(simpang::sdk::Context& ctx, simpang::sdk::PendingDelivery delivery,
                const std::string& event_id, simpang::http::ClientResult result);
  void pause(simpang::sdk::Context& ctx, std::chrono::seconds wait, int status,
             const std::string& event_id);
  void resume(simpang::sdk::Context& ctx);
  void arm_resume(simpang::sdk::Context& ctx, std::chrono::steady_clock::duration wait);
  void warn_limited(simpang::sdk::Context& ctx, LogLimit& limit, const std::string& message);
  void update_gauges(simpang::sdk::Context& ctx);

  const WebhookConfig config_;
  std::unique_ptr<simpang::http::Client> client_;
  std::deque<Waiting> waiting_;  // deferred while paused, in arrival order
  std::optional<std::chrono::steady_clock::time_point> paused_until_;
  simpang::sdk::TimerId resume_timer_ = 0;  // 0: none
  size_t in_flight_ = 0;                    // sent, completion not yet handled
  bool stopping_ = false;
  LogLimit retry_log_;
  LogLimit reject_log_;
};

}  // namespace simpang::plugins::sink_webhook
