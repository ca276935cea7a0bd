// The source-http plugin: partners POST CloudEvents (binary, structured or batched mode of the
// CloudEvents HTTP protocol binding 1.0) and hear 202 only once the hub has journaled the events.
//
// A request goes through, on a server thread: authentication (bearer token or Standard
// Webhooks signature), the CloudEvents mapping (cloudevents_http.h), the client's permissions
// (types and source prefix) for every event; then, on the runtime thread, one publish of the
// whole request with completion. A request is all or nothing: nothing of it is published unless
// every event passed. Every refusal is an RFC 9457 problem (problem.h). See README.md for the
// configuration and every status answered.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "rate_bucket.h"
#include "source_http_config.h"
#include "simpang/http/server.h"
#include "simpang/sdk/plugin.h"

namespace simpang::plugins::source_http {

// The file in the instance's state directory that holds the bound port (decimal, one line),
// written once the server listens, so scripts and tests find a port chosen with `port: 0`.
inline constexpr char kPortFile[] = "port";

// Retry-After of a 503: requests in flight at max_in_flight (the hub is slow to confirm), a
// publish that timed out, a stop.
inline constexpr int kRetryAfterSeconds = 1;

class SourceHttp : public simpang::sdk::Source {
 public:
  // Reads and validates the configuration (see read_config); throws simpang::sdk::ConfigError.
  // Removes a port file left by an earlier run, so that the file, once there, names this run's
  // port.
  explicit SourceHttp(simpang::sdk::Context& ctx);
  // Stops the server if on_stop did not, and joins the thread on_stop started.
  ~SourceHttp() override;
  SourceHttp(const SourceHttp&) = delete;
  SourceHttp& operator=(const SourceHttp&) = delete;

  // Starts the server, writes the port file and logs where it listens. Throws
  // std::runtime_error naming the address when it cannot listen or load the TLS files.
  void on_start(simpang::sdk::Context& ctx) override;
  // Stops accepting and starts stopping the server on a thread of its own: requests in flight
  // are answered by the runtime thread (their publish completions), which is this thread, so it
  // must not wait for them here. Those still unanswered when the runtime finishes get 503.
  void on_stop(simpang::sdk::Context& ctx) override;

  // The bound port. REQUIRES: on_start succeeded.
  uint16_t port() const;
  const SourceHttpConfig& config() const { return config_; }

 private:
  class PendingAnswer;

  // On a server thread: authenticates, maps and authorizes the request, then posts it.
  void handle(simpang::sdk::Context& ctx, simpang::http::Request request,
              simpang::http::Responder responder);
  // On the runtime thread: publishes the request's events and answers when the hub has.
  void publish(simpang::sdk::Context& ctx, const std::shared_ptr<PendingAnswer>& answer,
               std::vector<simpang::v1::Event> events, size_t client);
  // Answers a refusal and counts it (any thread).
  void refuse(simpang::sdk::Context& ctx, const simpang::http::Request& request,
              simpang::http::Responder& responder, const Problem& problem,
              const std::string& client);
  void write_port_file(simpang::sdk::Context& ctx);
  // A 429 problem when the client is over its events/s or bytes/s quota, else nullopt (and the
  // request is counted against both). Any thread.
  std::optional<Problem> over_quota(size_t client, size_t events, size_t bytes);

  const SourceHttpConfig config_;
  const ClientAuthenticator authenticator_;
  const std::filesystem::path port_file_;
  // Per client (the index in config_.clients); null where the client has no such quota.
  std::vector<std::unique_ptr<RateBucket>> event_quotas_;
  std::vector<std::unique_ptr<RateBucket>> byte_quotas_;
  std::unique_ptr<simpang::http::Server> server_;
  std::thread stopper_;  // runs server_->stop() after on_stop
};

}  // namespace simpang::plugins::source_http
