// The Moodle connector's paced calls; see moodle_calls.h.
#include "moodle_calls.h"

#include <algorithm>

namespace simpang::plugins::lms_moodle {
namespace {

using simpang::http::ClientErrorKind;
using simpang::http::ClientResult;

Failure from_client_error(const simpang::http::ClientError& error) {
  switch (error.kind) {
    case ClientErrorKind::kInvalidRequest:
      return Failure{FailureKind::kInstance, "invalid-request", error.message};
    case ClientErrorKind::kTls:
      return Failure{FailureKind::kInstance, "tls", error.message};
    case ClientErrorKind::kTooLarge:
      // Not retried as it is: the caller asks for less (a smaller page).
      return Failure{FailureKind::kItem, "too-large", error.message};
    default:
      return Failure{FailureKind::kTransient, std::string(simpang::http::to_string(error.kind)),
                     error.message};
  }
}

}  // namespace

CallQueue::CallQueue(simpang::sdk::Context& ctx, simpang::http::Client& client, CallOptions options)
    : ctx_(ctx), client_(client), options_(std::move(options)) {}

void CallQueue::enqueue(std::string function, nlohmann::json params, Done done, bool front) {
  if (shut_down_) {
    return;
  }
  Call call{std::move(function), std::move(params), std::move(done), 1};
  if (front) {
    queue_.push_front(std::move(call));
  } else {
    queue_.push_back(std::move(call));
  }
  pump();
}

void CallQueue::clear() {
  queue_.clear();
  ++generation_;
  in_flight_ = 0;  // their replies are dropped by generation; the client still bounds them
  retrying_ = 0;
}

void CallQueue::shut_down() {
  clear();
  shut_down_ = true;
}

void CallQueue::pump() {
  while (!shut_down_ && !queue_.empty() && in_flight_ < options_.max_concurrency) {
    // Back-pressure from the hub: what we would fetch could not be published now anyway.
    if (ctx_.backpressured()) {
      break;
    }
    const auto now = std::chrono::steady_clock::now();
    const double burst = std::max(1.0, options_.requests_per_second);
    tokens_ = std::min(burst, tokens_ + std::chrono::duration<double>(now - refilled_).count() *
                                            options_.requests_per_second);
    refilled_ = now;
    if (tokens_ < 1.0) {
      break;
    }
    tokens_ -= 1.0;
    Call call = std::move(queue_.front());
    queue_.pop_front();
    send(std::move(call));
  }
  if (!shut_down_ && !queue_.empty() && in_flight_ < options_.max_concurrency && !pump_scheduled_) {
    // Waiting for a token (or for back-pressure to lift): try again when one is due.
    const double missing = std::max(0.0, 1.0 - tokens_);
    const auto wait = std::chrono::milliseconds(std::max<int64_t>(
        10, static_cast<int64_t>(1000.0 * missing / options_.requests_per_second) + 1));
    pump_scheduled_ = true;
    (void)ctx_.after(wait, [this] {
      pump_scheduled_ = false;
      pump();
    });
  }
}

void CallQueue::send(Call call) {
  ++in_flight_;
  ++sent_;
  ctx_.count("moodle_requests");
  simpang::http::ClientRequest request;
  request.method = "POST";
  request.url = options_.endpoint;
  request.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                     {"Accept", "application/json"}};
  request.body = call_body(options_.token, call.function, call.params);
  request.timeout = options_.timeout;
  const uint64_t generation = generation_;
  auto shared = std::make_shared<Call>(std::move(call));
  client_.send(std::move(request), [this, generation, shared](ClientResult result) {
    if (generation != generation_ || shut_down_) {
      return;  // cleared meanwhile: nobody waits for it
    }
    --in_flight_;
    if (!result.ok()) {
      finish(std::move(*shared), from_client_error(result.error()));
    } else {
      finish(std::move(*shared), classify_reply(result->status, result->body));
    }
  });
}

std::chrono::milliseconds CallQueue::backoff(int attempt) {
  // Exponential from retry_backoff, capped, with up to half of it as jitter so that instances
  // that failed together do not retry together.
  double wait = static_cast<double>(options_.retry_backoff.count());
  for (int i = 1; i < attempt && wait < options_.max_retry_backoff.count(); ++i) {
    wait *= 2;
  }
  wait = std::min(wait, static_cast<double>(options_.max_retry_backoff.count()));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  return std::chrono::milliseconds(static_cast<int64_t>(wait * jitter(jitter_)));
}

void CallQueue::finish(Call call, Reply reply) {
  if (!reply.ok() && reply.failure().kind == FailureKind::kTransient &&
      call.attempt < options_.max_attempts) {
    ctx_.count("moodle_request_retries");
    const auto wait = backoff(call.attempt);
    ctx_.log(simpang::sdk::LogLevel::kDebug,
             std::string(call.function) + ": " + reply.failure().message + "; retry " +
                 std::to_string(call.attempt) + " in " + std::to_string(wait.count()) + " ms");
    ++call.attempt;
    ++retrying_;
    const uint64_t generation = generation_;
    auto shared = std::make_shared<Call>(std::move(call));
    (void)ctx_.after(wait, [this, generation, shared] {
      if (generation != generation_ || shut_down_) {
        return;
      }
      --retrying_;
      queue_.push_front(std::move(*shared));
      pump();
    });
    pump();
    return;
  }
  if (!reply.ok()) {
    ctx_.count("moodle_request_failures");
  }
  const uint64_t generation = generation_;
  call.done(reply);
  if (generation == generation_) {
    pump();
    check_idle();
  }
}

void CallQueue::check_idle() {
  if (idle() && on_idle_) {
    on_idle_();
  }
}

}  // namespace simpang::plugins::lms_moodle
