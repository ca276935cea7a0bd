// The Moodle connector's calls to server.php, paced: at most `requests_per_second` on average
// (a token bucket with a one-second burst), at most `max_concurrency` on the network, and
// transient failures (network errors, timeouts, 5xx, maintenance) retried with exponential backoff
// and jitter up to `max_attempts` before the caller hears of them. Everything else (a result, an
// instance or per-item failure) goes to the caller at once.
//
//   CallQueue calls(ctx, client, {.endpoint = url + kRestPath, .token = token, ...});
//   calls.enqueue(kSiteInfo, {}, [](const Reply& r) { ... });   // on the runtime thread
//   calls.on_idle([] { /* nothing queued, in flight or waiting for a retry */ });
//
// Thread rule: the runtime thread only (the HTTP client's completions are posted there).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "moodle_protocol.h"
#include "simpang/http/client.h"
#include "simpang/sdk/plugin.h"

namespace simpang::plugins::lms_moodle {

struct CallOptions {
  std::string endpoint;  // the full URL of server.php
  std::string token;
  double requests_per_second = 10;
  size_t max_concurrency = 4;
  int max_attempts = 5;
  std::chrono::milliseconds retry_backoff{1000};
  std::chrono::milliseconds max_retry_backoff{300000};
  std::chrono::milliseconds timeout{30000};
};

class CallQueue {
 public:
  using Done = std::function<void(const Reply& reply)>;

  // OWNERSHIP: borrows `ctx` and `client`, which must outlive the queue.
  CallQueue(simpang::sdk::Context& ctx, simpang::http::Client& client, CallOptions options);
  CallQueue(const CallQueue&) = delete;
  CallQueue& operator=(const CallQueue&) = delete;

  // Queues a call; `done` runs once with its reply (after any retries), unless clear() comes
  // first. `front` puts it before what is queued (the next page of a list before new work).
  void enqueue(std::string function, nlohmann::json params, Done done, bool front = false);
  // Forgets everything queued and waiting for a retry; replies to calls in flight are dropped.
  void clear();
  // Stops for good: clear(), and nothing is sent any more.
  void shut_down();
  // Runs `callback` each time the queue becomes idle after work.
  void on_idle(std::function<void()> callback) { on_idle_ = std::move(callback); }

  bool idle() const { return queue_.empty() && in_flight_ == 0 && retrying_ == 0; }
  size_t queued() const { return queue_.size(); }
  // Requests sent since the last reset_sent().
  uint64_t sent() const { return sent_; }
  void reset_sent() { sent_ = 0; }

 private:
  struct Call {
    std::string function;
    nlohmann::json params;
    Done done;
    int attempt = 1;
  };
  void pump();
  void send(Call call);
  void finish(Call call, Reply reply);
  std::chrono::milliseconds backoff(int attempt);
  void check_idle();

  simpang::sdk::Context& ctx_;
  simpang::http::Client& client_;
  const CallOptions options_;
  std::deque<Call> queue_;
  size_t in_flight_ = 0;
  size_t retrying_ = 0;      // calls waiting for their retry's timer
  uint64_t generation_ = 0;  // bumped by clear(): older replies and retries are dropped
  uint64_t sent_ = 0;
  bool shut_down_ = false;
  // Token bucket: `tokens_` calls may go now; refilled at requests_per_second up to the burst.
  double tokens_ = 1;
  std::chrono::steady_clock::time_point refilled_ = std::chrono::steady_clock::now();
  bool pump_scheduled_ = false;
  std::function<void()> on_idle_;
  std::minstd_rand jitter_{std::random_device{}()};
};

}  // namespace simpang::plugins::lms_moodle
