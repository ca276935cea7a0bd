// A webhook receiver for sink-webhook's tests: the SDK's HTTP server on 127.0.0.1 and a free
// port, verifying every request's Standard Webhooks signature with the SDK's verifier, recording
// each arrival (when, what, whether the signature verified) and how many requests it held at once,
// and answering as the test scripts it: at once with a response, or held until released.
//
//   WebhookReceiver receiver({secret});
//   receiver.script([](const Arrival& a, size_t n) { return Reply::respond(n == 0 ? 503 : 200); });
//   ... url = receiver.url("/hook") ...
//   ASSERT_TRUE(receiver.wait_for_count(2));
//
// Thread rule: every member from any thread (internally locked).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simpang/http/auth.h"
#include "simpang/http/server.h"

namespace simpang::plugins::sink_webhook::testing {

struct Arrival {
  std::chrono::steady_clock::time_point at;
  simpang::http::Request request;
  Status signature;  // the verifier's verdict
  int answered = 0;  // the status answered; 0 while held (or never answered)

  const std::string& header(std::string_view name) const {
    static const std::string kNone;
    const std::string* value = request.header(name);
    return value != nullptr ? *value : kNone;
  }
};

// What the receiver does with one request.
struct Reply {
  bool hold = false;
  simpang::http::Response response;

  static Reply respond(int status, std::string body = "",
                       std::vector<std::pair<std::string, std::string>> headers = {}) {
    Reply r;
    r.response = simpang::http::Response::Text(status, std::move(body));
    r.response.headers = std::move(headers);
    return r;
  }
  static Reply held() {
    Reply r;
    r.hold = true;
    return r;
  }
};

// Decides the reply to the `index`th request (0-based, in arrival order).
using Script = std::function<Reply(const Arrival& arrival, size_t index)>;

class WebhookReceiver {
 public:
  // With `tls_certificate` and `tls_private_key` (PEM files) it speaks https.
  explicit WebhookReceiver(std::vector<std::string> secrets, std::string tls_certificate = "",
                           std::string tls_private_key = "")
      : verifier_(make_verifier(secrets)),
        scheme_(tls_certificate.empty() ? "http" : "https"),
        server_(simpang::http::ServerOptions{.bind_address = "127.0.0.1",
                                             .port = 0,
                                             .tls_certificate_file = std::move(tls_certificate),
                                             .tls_private_key_file = std::move(tls_private_key)}) {
    server_.route_prefix(
        "POST", "/", [this](simpang::http::Request request, simpang::http::Responder responder) {
          handle(std::move(request), std::move(responder));
        });
    const Status started = server_.start();
    if (!started.ok()) {
      throw std::runtime_error("test receiver: " + started.message());
    }
  }
  ~WebhookReceiver() {
    release_all(503);
    server_.stop(std::chrono::milliseconds(0));
  }

  void script(Script script) {
    std::lock_guard lock(mu_);
    script_ = std::move(script);
  }
  uint16_t port() const { return server_.port(); }
  std::string url(const std::string& path_and_query) const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port()) + path_and_query;
  }

  size_t count() const {
    std::lock_guard lock(mu_);
    return arrivals_.size();
  }
  std::vector<Arrival> arrivals() const {
    std::lock_guard lock(mu_);
    return arrivals_;
  }
  size_t held() const {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  // The most requests that were in the receiver at once (arrived and not yet answered).
  size_t max_concurrent() const {
    std::lock_guard lock(mu_);
    return max_concurrent_;
  }
  bool wait_for_count(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return arrivals_.size() >= n; });
  }
  bool wait_for_held(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return held_.size() >= n; });
  }
  // Answers every held request with `status`.
  void release_all(int status) {
    std::vector<std::pair<size_t, simpang::http::Responder>> held;
    {
      std::lock_guard lock(mu_);
      held = std::exchange(held_, {});
      for (auto& [index, responder] : held) {
        arrivals_[index].answered = status;
      }
      concurrent_ -= held.size();
    }
    for (auto& [index, responder] : held) {
      responder.respond(simpang::http::Response::Text(status, ""));
    }
  }

 private:
  static simpang::http::WebhookVerifier make_verifier(const std::vector<std::string>& secrets) {
    auto verifier = simpang::http::WebhookVerifier::create(secrets);
    if (!verifier.ok()) {
      throw std::runtime_error("test receiver: " + verifier.status().message());
    }
    return std::move(*verifier);
  }

  static std::optional<std::string_view> view(const simpang::http::Request& r,
                                              std::string_view name) {
    const std::string* value = r.header(name);
    return value != nullptr ? std::optional<std::string_view>(*value) : std::nullopt;
  }

  void handle(simpang::http::Request request, simpang::http::Responder responder) {
    Arrival arrival;
    arrival.at = std::chrono::steady_clock::now();
    arrival.signature =
        verifier_.verify({.id = view(request, simpang::http::kWebhookIdHeader),
                          .timestamp = view(request, simpang::http::kWebhookTimestampHeader),
                          .signature = view(request, simpang::http::kWebhookSignatureHeader)},
                         request.body);
    arrival.request = std::move(request);
    Reply reply;
    size_t index = 0;
    {
      std::lock_guard lock(mu_);
      index = arrivals_.size();
      reply = script_ ? script_(arrival, index) : Reply::respond(200);
      arrival.answered = reply.hold ? 0 : reply.response.status;
      arrivals_.push_back(std::move(arrival));
      max_concurrent_ = std::max(max_concurrent_, ++concurrent_);
      if (reply.hold) {
        held_.emplace_back(index, std::move(responder));
      } else {
        --concurrent_;
      }
    }
    cv_.notify_all();
    if (!reply.hold) {
      responder.respond(std::move(reply.response));
    }
  }

  const simpang::http::WebhookVerifier verifier_;
  const std::string scheme_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Script script_;                                                  // guarded by mu_
  std::vector<Arrival> arrivals_;                                  // guarded by mu_
  std::vector<std::pair<size_t, simpang::http::Responder>> held_;  // guarded by mu_
  size_t concurrent_ = 0;                                          // guarded by mu_
  size_t max_concurrent_ = 0;                                      // guarded by mu_
  simpang::http::Server server_;  // last: stopped (in the destructor) before the rest goes
};

}  // namespace simpang::plugins::sink_webhook::testing
