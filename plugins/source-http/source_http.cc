// The source-http plugin; see source_http.h.
#include "source_http.h"

#include <algorithm>
#include <fstream>
#include <tuple>
#include <stdexcept>
#include <system_error>

#include "simpang/http/plugin_log.h"

namespace simpang::plugins::source_http {
namespace {

using simpang::http::Request;
using simpang::http::Responder;
using simpang::http::Response;
using simpang::sdk::Context;
using simpang::sdk::LogLevel;
using simpang::sdk::PublishResult;

Response to_response(const Problem& problem) {
  Response response;
  response.status = problem.status;
  response.content_type = kProblemContentType;
  response.headers = problem.headers;
  response.body = problem_json(problem);
  return response;
}

Problem unavailable(std::string type, std::string title, std::string detail) {
  Problem p = Problem::make(503, std::move(type), std::move(title), std::move(detail));
  p.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
  return p;
}

Response accepted(size_t events) {
  return Response::Json(202, "{\"accepted\":" + std::to_string(events) + "}");
}


}  // namespace

// One request's answer. The first respond() wins. When the work holding it is dropped without
// an answer (posted after the runtime finished, or dropped at stop) the destructor answers 503,
// so the client retries rather than reading the server's generic 500.
class SourceHttp::PendingAnswer {
 public:
  explicit PendingAnswer(Responder responder) : responder_(std::move(responder)) {}
  ~PendingAnswer() {
    responder_.respond(to_response(
        unavailable("stopping", "Stopping", "the endpoint is stopping; send the request again")));
  }
  PendingAnswer(const PendingAnswer&) = delete;
  PendingAnswer& operator=(const PendingAnswer&) = delete;

  void respond(Response response) { responder_.respond(std::move(response)); }

 private:
  Responder responder_;
};

SourceHttp::SourceHttp(Context& ctx)
    : config_(read_config(ctx.config(), ctx.state_dir())),
      authenticator_(config_.clients),
      port_file_(ctx.state_dir() / kPortFile) {
  std::error_code ignored;
  std::filesystem::remove(port_file_, ignored);
  // One second's worth of burst: a client may send a second's quota at once, then its rate.
  const auto bucket = [](double per_second) {
    return per_second > 0 ? std::make_unique<RateBucket>(per_second, std::max(1.0, per_second))
                          : nullptr;
  };
  for (const ClientConfig& client : config_.clients) {
    event_quotas_.push_back(bucket(client.events_per_second));
    byte_quotas_.push_back(bucket(client.bytes_per_second));
  }
}

std::optional<Problem> SourceHttp::over_quota(size_t client, size_t events, size_t bytes) {
  const auto now = RateBucket::Clock::now();
  // Bytes first: a request refused for its bytes then takes nothing from the events quota. (One
  // refused for its events has taken its bytes; the client is over a quota either way.)
  for (auto [bucket, amount, unit] :
       {std::tuple{byte_quotas_[client].get(), bytes, "bytes"},
        std::tuple{event_quotas_[client].get(), events, "events"}}) {
    if (bucket == nullptr) {
      continue;
    }
    if (const auto wait = bucket->take(static_cast<double>(amount), now)) {
      const int64_t seconds = std::max<int64_t>(1, (wait->count() + 999) / 1000);
      Problem p = Problem::make(
          429, "quota-exceeded", "Quota exceeded",
          "client '" + config_.clients[client].name + "' is over its quota of " +
              std::to_string(static_cast<int64_t>(bucket->rate())) + " " + unit +
              " per second; send again after " + std::to_string(seconds) + " s");
      p.headers.emplace_back("Retry-After", std::to_string(seconds));
      p.extra["client"] = config_.clients[client].name;
      return p;
    }
  }
  return std::nullopt;
}

SourceHttp::~SourceHttp() {
  if (stopper_.joinable()) {
    stopper_.join();
  } else if (server_) {
    server_->stop(std::chrono::milliseconds(0));
  }
}

uint16_t SourceHttp::port() const { return server_->port(); }

void SourceHttp::on_start(Context& ctx) {
  simpang::http::ServerOptions options;
  options.bind_address = config_.listen;
  options.port = config_.port;
  options.threads = config_.threads;
  options.max_body_bytes = config_.max_body_bytes;
  options.max_connections = config_.max_connections;
  options.max_in_flight = config_.max_in_flight;
  options.retry_after_seconds = kRetryAfterSeconds;
  options.tls_certificate_file = config_.tls_certificate.string();
  options.tls_private_key_file = config_.tls_private_key.string();
  options.log = simpang::http::log_to(ctx);
  server_ = std::make_unique<simpang::http::Server>(std::move(options));
  server_->route("POST", config_.path,
                 [this, &ctx](Request request, Responder responder) {
                   handle(ctx, std::move(request), std::move(responder));
                 });
  // Other methods get a problem document too, rather than the server's plain-text 405.
  for (const char* method : {"GET", "HEAD", "PUT", "PATCH", "DELETE"}) {
    server_->route(method, config_.path, [](Request request, Responder responder) {
      Problem p = Problem::make(405, "method-not-allowed", "Method not allowed",
                                request.method + " " + request.path +
                                    ": events are sent with POST");
      p.headers.emplace_back("Allow", "POST");
      responder.respond(to_response(p));
    });
  }
  if (Status status = server_->start(); !status.ok()) {
    throw std::runtime_error("source-http cannot listen: " + status.message());
  }
  write_port_file(ctx);
  const bool tls = !config_.tls_certificate.empty();
  ctx.log(LogLevel::kInfo, std::string("listening on ") + (tls ? "https://" : "http://") +
                               config_.listen + ":" + std::to_string(server_->port()) +
                               config_.path + " for " + std::to_string(config_.clients.size()) +
                               " clients, port=" + std::to_string(server_->port()));
}

void SourceHttp::write_port_file(Context& ctx) {
  // Written aside and renamed, so a reader never sees a half-written number.
  const std::filesystem::path partial = port_file_.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << server_->port() << "\n";
    if (!out) {
      ctx.log(LogLevel::kWarn, "cannot write " + partial.string());
      return;
    }
  }
  std::error_code error;
  std::filesystem::rename(partial, port_file_, error);
  if (error) {
    ctx.log(LogLevel::kWarn, "cannot write " + port_file_.string() + ": " + error.message());
  }
}

void SourceHttp::on_stop(Context& ctx) {
  if (!server_ || stopper_.joinable()) {
    return;
  }
  // Long enough for every publish in flight to be answered (or to time out) before the server
  // gives up on its requests.
  const auto grace = config_.publish_timeout + std::chrono::seconds(2);
  stopper_ = std::thread([server = server_.get(), grace] { server->stop(grace); });
  ctx.log(LogLevel::kInfo, "stopping: no new requests; answering those in flight");
}

void SourceHttp::refuse(Context& ctx, const Request& request, Responder& responder,
                        const Problem& problem, const std::string& client) {
  // Refusals of bad credentials and permissions are worth an operator's eye; malformed requests
  // are the sender's business and would flood the log.
  const bool security = problem.status == 401 || problem.status == 403;
  ctx.log(security ? LogLevel::kInfo : LogLevel::kDebug,
          "refused " + std::to_string(problem.status) + " remote=" + request.remote_address +
              (client.empty() ? "" : " client=" + client) + ": " + problem.detail);
  responder.respond(to_response(problem));
  ctx.post([&ctx, status = problem.status] {
    ctx.count("requests_refused");
    ctx.count("requests_refused_" + std::to_string(status));
  });
}

void SourceHttp::handle(Context& ctx, Request request, Responder responder) {
  const std::variant<size_t, Problem> who =
      authenticator_.authenticate(request.headers, request.body);
  if (const Problem* problem = std::get_if<Problem>(&who)) {
    refuse(ctx, request, responder, *problem, "");
    return;
  }
  const size_t client_index = std::get<size_t>(who);
  const ClientConfig& client = config_.clients[client_index];
  MappingResult mapped = map_request(request.headers, request.body,
                                     MappingLimits{.max_batch_events = config_.max_batch_events});
  if (const Problem* problem = std::get_if<Problem>(&mapped)) {
    refuse(ctx, request, responder, *problem, client.name);
    return;
  }
  MappedRequest& events = std::get<MappedRequest>(mapped);
  const bool batch = events.mode == ContentMode::kBatch;
  for (size_t i = 0; i < events.events.size(); ++i) {
    if (auto problem = authorize(client, events.events[i], batch ? std::optional(i) : std::nullopt)) {
      refuse(ctx, request, responder, *problem, client.name);
      return;
    }
  }
  if (auto problem = over_quota(client_index, events.events.size(), request.body.size())) {
    refuse(ctx, request, responder, *problem, client.name);
    return;
  }
  auto answer = std::make_shared<PendingAnswer>(std::move(responder));
  ctx.post([this, &ctx, answer, client_index, events = std::move(events.events)]() mutable {
    publish(ctx, answer, std::move(events), client_index);
  });
}

void SourceHttp::publish(Context& ctx, const std::shared_ptr<PendingAnswer>& answer,
                         std::vector<simpang::v1::Event> events, size_t client) {
  // While the hub's window is full (ctx.backpressured()), the events wait in the runtime for it
  // and the client for its answer: that is how the load paces itself. What bounds the wait is the
  // server's max_in_flight (beyond it: 503 with Retry-After, before the request is read) and
  // publish_timeout (then 503 too).
  const size_t count = events.size();
  const Status status = ctx.publish(
      std::move(events), config_.publish_timeout,
      [this, &ctx, answer, count, client](const PublishResult& result) {
        switch (result.kind()) {
          case PublishResult::Kind::kDurable:
            ctx.count("events_accepted", static_cast<double>(count));
            answer->respond(accepted(count));
            return;
          case PublishResult::Kind::kRejected: {
            // Not expected: every event met the hub's rules before it was published.
            Problem p = Problem::make(
                400, "rejected-by-hub", "Refused by the hub",
                "the hub refused " + std::to_string(result.rejections().size()) + " of " +
                    std::to_string(count) + " events (the others were accepted): event " +
                    std::to_string(result.rejections().front().index) + ": " +
                    result.rejections().front().reason);
            p.index = result.rejections().front().index;
            p.extra["client"] = config_.clients[client].name;
            ctx.log(LogLevel::kWarn, p.detail);
            answer->respond(to_response(p));
            return;
          }
          case PublishResult::Kind::kTimedOut:
            ctx.count("publish_timeouts");
            answer->respond(to_response(
                unavailable("publish-timed-out", "Not confirmed in time",
                            "the hub did not confirm the events within " +
                                std::to_string(config_.publish_timeout.count()) + " ms (" +
                                result.message() +
                                "); send the request again with the same event ids")));
            return;
        }
      });
  if (!status.ok()) {
    answer->respond(to_response(
        unavailable("not-published", "Not published", "the events could not be published: " +
                                                          status.message())));
  }
}

}  // namespace simpang::plugins::source_http
