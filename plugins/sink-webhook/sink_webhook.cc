// The sink-webhook plugin; see sink_webhook.h.
#include "sink_webhook.h"

#include <utility>

#include "simpang/base/safe_text.h"
#include "webhook_request.h"
#include "simpang/http/plugin_log.h"

namespace simpang::plugins::sink_webhook {
namespace {

using simpang::sdk::Context;
using simpang::sdk::LogLevel;
using simpang::sdk::Outcome;
using simpang::sdk::PendingDelivery;
using std::chrono::steady_clock;

constexpr auto kWarnInterval = std::chrono::seconds(10);


int64_t unix_seconds_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

WebhookSink::WebhookSink(Context& ctx) : config_(read_config(ctx.config())) {
  ctx.set_delivery_window(config_.max_in_flight);
}

WebhookSink::~WebhookSink() {
  if (client_) {
    client_->stop();
  }
}

void WebhookSink::on_start(Context& ctx) {
  simpang::http::ClientOptions options;
  options.connect_timeout = config_.connect_timeout;
  options.total_timeout = config_.timeout;
  options.max_response_bytes = config_.max_response_bytes;
  // The delivery window bounds what is unsettled, so the client never holds more than this.
  options.max_in_flight = config_.max_in_flight;
  options.max_queued = config_.max_in_flight;
  options.max_connections_per_host = config_.max_in_flight;
  options.max_redirects = 0;  // a 3xx is an answer to judge, not a place to go
  options.verify_tls = config_.verify_tls;
  options.ca_file = config_.ca_file;
  options.log = simpang::http::log_to(ctx);
  options.completion_executor = [&ctx](std::function<void()> work) { ctx.post(std::move(work)); };
  client_ = std::make_unique<simpang::http::Client>(std::move(options));

  ctx.log(LogLevel::kInfo, "delivering to " + config_.shown_url +
                               " mode=" + content_mode_name(config_.mode) +
                               " signed=" + (config_.secrets.empty() ? "no" : "yes") +
                               " secrets=" + std::to_string(config_.secrets.size()) +
                               " max_in_flight=" + std::to_string(config_.max_in_flight) +
                               " timeout_ms=" + std::to_string(config_.timeout.count()));
  if (config_.secrets.empty()) {
    ctx.log(LogLevel::kWarn, "no secret configured: requests to " + config_.shown_url +
                                 " are unsigned, so the receiver cannot tell they come from "
                                 "this hub (set config.secret to a whsec_ secret)");
  }
  update_gauges(ctx);
}

Outcome WebhookSink::on_event(Context& ctx, const simpang::v1::Event& event) {
  if (!is_header_value(event.id())) {
    return refuse(ctx, "event id '" + simpang::safe_text(event.id()) +
                           "' holds a control character and cannot be sent as webhook-id");
  }
  // Encoded once, here, so an event that can never be sent is rejected at once; only the
  // signature is made again for each attempt.
  StatusOr<EncodedEvent> encoded = encode_event(event, config_.mode);
  if (!encoded.ok()) {
    return refuse(ctx, encoded.status().message());
  }
  const PendingDelivery delivery = ctx.defer();
  if (paused_until_) {
    waiting_.push_back({delivery, event.id(), std::move(*encoded)});
    update_gauges(ctx);
  } else {
    send(ctx, delivery, event.id(), std::move(*encoded));
  }
  return Outcome::pending();
}

Outcome WebhookSink::refuse(Context& ctx, const std::string& reason) {
  ctx.count("rejected");
  warn_limited(ctx, reject_log_, "event cannot be sent, rejected: " + reason);
  return Outcome::reject(reason);
}

void WebhookSink::send(Context& ctx, PendingDelivery delivery, const std::string& event_id,
                       EncodedEvent encoded) {
  simpang::http::ClientRequest request;
  request.method = "POST";
  request.url = config_.url;
  request.headers = std::move(encoded.headers);
  // A fresh timestamp for every attempt (receivers refuse old ones as replays); the id stays the
  // event's, so a receiver recognises a retry.
  add_signature_headers(request.headers, event_id, unix_seconds_now(), encoded.body,
                        config_.secrets);
  request.headers.insert(request.headers.end(), config_.headers.begin(), config_.headers.end());
  request.body = std::move(encoded.body);
  ++in_flight_;
  ctx.count("sent");
  update_gauges(ctx);
  client_->send(std::move(request),
                [this, &ctx, delivery, event_id](simpang::http::ClientResult result) {
                  complete(ctx, delivery, event_id, std::move(result));
                });
}

void WebhookSink::complete(Context& ctx, PendingDelivery delivery, const std::string& event_id,
                           simpang::http::ClientResult result) {
  --in_flight_;
  update_gauges(ctx);
  if (stopping_ && !result.ok() &&
      result.error().kind == simpang::http::ClientErrorKind::kCancelled) {
    return;  // abandoned: the hub delivers it again after the restart
  }
  Verdict verdict =
      judge(result, config_.shown_url, config_.max_retry_after, std::chrono::system_clock::now());
  const std::string shown_id = simpang::safe_text(event_id);
  switch (verdict.outcome.kind()) {
    case Outcome::Kind::kAck:
      ctx.count("acked");
      break;
    case Outcome::Kind::kRetryLater:
      ctx.count("retried");
      warn_limited(ctx, retry_log_,
                   "delivery failed, the hub will retry: event=" + shown_id +
                       " reason=" + verdict.outcome.reason());
      break;
    default:
      ctx.count("rejected");
      warn_limited(ctx, reject_log_,
                   "delivery rejected by the receiver, dead-lettered: event=" + shown_id +
                       " reason=" + verdict.outcome.reason());
      break;
  }
  ctx.settle(delivery, std::move(verdict.outcome));
  if (verdict.pause && !stopping_) {
    pause(ctx, *verdict.pause, verdict.status, event_id);
  }
}

void WebhookSink::pause(Context& ctx, std::chrono::seconds wait, int status,
                        const std::string& event_id) {
  const steady_clock::time_point until = steady_clock::now() + wait;
  if (paused_until_ && until <= *paused_until_) {
    return;  // already paused at least that long
  }
  const bool fresh = !paused_until_;
  paused_until_ = until;
  arm_resume(ctx, wait);
  if (fresh) {
    ctx.count("paused");
    ctx.log(LogLevel::kWarn,
            "pausing deliveries: url=" + config_.shown_url + " status=" + std::to_string(status) +
                " retry_after_s=" + std::to_string(wait.count()) + " event=" +
                simpang::safe_text(event_id) + " in_flight=" + std::to_string(in_flight_) +
                " waiting=" + std::to_string(waiting_.size()));
  }
}

void WebhookSink::arm_resume(Context& ctx, steady_clock::duration wait) {
  if (resume_timer_ != 0) {
    ctx.cancel(resume_timer_);
  }
  // Rounded up, so the timer never fires before the pause ends.
  const auto delay = std::chrono::ceil<std::chrono::milliseconds>(wait);
  resume_timer_ = ctx.after(std::max(delay, std::chrono::milliseconds(1)), [this, &ctx] {
    resume_timer_ = 0;
    resume(ctx);
  });
}

void WebhookSink::resume(Context& ctx) {
  if (!paused_until_ || stopping_) {
    return;
  }
  const steady_clock::time_point now = steady_clock::now();
  if (now < *paused_until_) {
    arm_resume(ctx, *paused_until_ - now);  // the timer ran early (a clock that is not ours)
    return;
  }
  paused_until_.reset();
  ctx.log(LogLevel::kInfo, "resuming deliveries: url=" + config_.shown_url +
                               " waiting=" + std::to_string(waiting_.size()));
  std::deque<Waiting> ready = std::exchange(waiting_, {});
  for (Waiting& w : ready) {
    send(ctx, w.delivery, w.event_id, std::move(w.encoded));
  }
  update_gauges(ctx);
}

void WebhookSink::on_stop(Context& ctx) {
  stopping_ = true;
  if (resume_timer_ != 0) {
    ctx.cancel(resume_timer_);
    resume_timer_ = 0;
  }
  if (in_flight_ > 0 || !waiting_.empty()) {
    ctx.log(LogLevel::kInfo, "stopping: in_flight=" + std::to_string(in_flight_) +
                                 " waiting=" + std::to_string(waiting_.size()) +
                                 " left unsettled; the hub delivers them again");
  }
  waiting_.clear();
  if (client_) {
    client_->stop();
  }
  update_gauges(ctx);
}

void WebhookSink::warn_limited(Context& ctx, LogLimit& limit, const std::string& message) {
  const steady_clock::time_point now = steady_clock::now();
  if (now < limit.next) {
    ++limit.held_back;
    return;
  }
  std::string line = message;
  if (limit.held_back > 0) {
    line += " (" + std::to_string(limit.held_back) + " more like it since the last warning)";
  }
  limit.next = now + kWarnInterval;
  limit.held_back = 0;
  ctx.log(LogLevel::kWarn, line);
}

void WebhookSink::update_gauges(Context& ctx) {
  ctx.gauge("in_flight", static_cast<double>(in_flight_));
  ctx.gauge("waiting", static_cast<double>(waiting_.size()));
}

}  // namespace simpang::plugins::sink_webhook
