// The lms-caliper plugin; see lms_caliper.h.
#include "lms_caliper.h"

#include <algorithm>
#include <fstream>
#include <system_error>

#include "simpang/http/plugin_log.h"

namespace simpang::plugins::lms_caliper {
namespace {

using nlohmann::json;
using simpang::http::Request;
using simpang::http::Responder;
using simpang::http::Response;
using simpang::sdk::Context;
using simpang::sdk::LogLevel;
using simpang::sdk::PublishResult;

Response error(int status, const EnvelopeError& e) {
  json body{{"error", e.message()}, {"pointer", e.pointer}, {"rule", e.rule}};
  if (e.index) body["index"] = *e.index;
  return Response::Json(status, body.dump());
}

Response error(int status, const std::string& message) {
  return Response::Json(status, json{{"error", message}}.dump());
}

Response unavailable(const std::string& message) {
  Response r = error(503, message);
  r.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
  return r;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

}  // namespace

LmsCaliper::LmsCaliper(Context& ctx)
    : config_(read_config(ctx.config())),
      mapping_{config_.source},
      port_file_(ctx.state_dir() / kPortFile) {
  std::vector<std::string> tokens;
  for (const SensorClient& client : config_.clients) tokens.push_back(client.token);
  auto auth = simpang::http::BearerAuth::create(tokens);
  if (!auth.ok()) throw simpang::sdk::ConfigError("config.clients: " + auth.status().message());
  auth_.emplace(std::move(*auth));
  std::error_code ignored;
  std::filesystem::remove(port_file_, ignored);
}

LmsCaliper::~LmsCaliper() {
  if (stopper_.joinable()) {
    stopper_.join();
  } else if (server_) {
    server_->stop(std::chrono::milliseconds(0));
  }
}

uint16_t LmsCaliper::port() const { return server_->port(); }

void LmsCaliper::on_start(Context& ctx) {
  simpang::http::ServerOptions options;
  options.bind_address = config_.listen;
  options.port = config_.port;
  options.threads = config_.threads;
  options.max_body_bytes = config_.max_body_bytes;
  options.max_connections = config_.max_connections;
  options.max_in_flight = config_.max_in_flight;
  options.retry_after_seconds = kRetryAfterSeconds;
  options.log = simpang::http::log_to(ctx);
  server_ = std::make_unique<simpang::http::Server>(std::move(options));
  server_->route("POST", config_.path, [this, &ctx](Request request, Responder responder) {
    handle_post(ctx, std::move(request), std::move(responder));
  });
  for (const char* method : {"GET", "PUT", "DELETE", "PATCH"}) {
    server_->route(method, config_.path, [](Request request, Responder responder) {
      Response r = error(405, request.method + " " + request.path +
                                  ": a Caliper endpoint takes envelopes by POST only");
      r.headers.emplace_back("Allow", "POST");
      responder.respond(std::move(r));
    });
  }
  if (Status status = server_->start(); !status.ok()) {
    throw std::runtime_error("lms-caliper cannot listen: " + status.message());
  }
  write_port_file(ctx);
  ctx.log(LogLevel::kInfo, "Caliper endpoint listening on http://" + config_.listen + ":" +
                               std::to_string(server_->port()) + config_.path + " for " +
                               std::to_string(config_.clients.size()) + " sensors");
  ctx.every(std::chrono::milliseconds(200), [this, &ctx] {
    if (overloaded_ && !ctx.backpressured()) {
      overloaded_ = false;
      server_->clear_overloaded();
      ctx.log(LogLevel::kInfo, "hub back-pressure lifted: accepting envelopes again");
    }
  });
}

void LmsCaliper::write_port_file(Context& ctx) {
  const std::filesystem::path partial = port_file_.string() + ".partial";
  {
    std::ofstream out(partial, std::ios::trunc);
    out << server_->port() << "\n";
    if (!out) {
      ctx.log(LogLevel::kWarn, "cannot write " + partial.string());
      return;
    }
  }
  std::error_code e;
  std::filesystem::rename(partial, port_file_, e);
  if (e) ctx.log(LogLevel::kWarn, "cannot write " + port_file_.string() + ": " + e.message());
}

void LmsCaliper::on_stop(Context& ctx) {
  if (!server_ || stopper_.joinable()) return;
  const auto grace = config_.publish_timeout + std::chrono::seconds(2);
  stopper_ = std::thread([server = server_.get(), grace] { server->stop(grace); });
  ctx.log(LogLevel::kInfo, "stopping: no new envelopes; answering those in flight");
}

void LmsCaliper::refuse(Context& ctx, const Request& request, Responder& responder,
                        Response response) {
  ctx.log(response.status == 401 ? LogLevel::kInfo : LogLevel::kDebug,
          "refused " + std::to_string(response.status) + " " + request.method + " " + request.path +
              " remote=" + request.remote_address + ": " + response.body);
  const int status = response.status;
  responder.respond(std::move(response));
  ctx.post([&ctx, status] {
    ctx.count("envelopes_refused");
    ctx.count("envelopes_refused_" + std::to_string(status));
  });
}

void LmsCaliper::handle_post(Context& ctx, Request request, Responder responder) {
  const std::string* authorization = request.header("Authorization");
  auto who = authorization == nullptr ? StatusOr<size_t>(Status::Error("no Authorization header"))
                                      : auth_->authenticate(*authorization);
  if (!who.ok()) {
    Response r = error(401, "a sensor's Bearer token is required: " + who.status().message());
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"caliper\"");
    return refuse(ctx, request, responder, std::move(r));
  }
  const std::string* type = request.header("Content-Type");
  const std::string content_type = type == nullptr ? "" : lower(*type);
  if (content_type.rfind("application/json", 0) != 0) {
    return refuse(ctx, request, responder,
                  error(415, "Content-Type: must be application/json, got '" + content_type + "'"));
  }
  const json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    return refuse(ctx, request, responder, error(400, "the body is not valid JSON"));
  }
  auto checked = check_envelope(body, Limits{config_.max_events});
  if (auto* bad = std::get_if<EnvelopeError>(&checked)) {
    return refuse(ctx, request, responder, error(bad->status, *bad));
  }
  Envelope& envelope = std::get<Envelope>(checked);
  std::vector<simpang::v1::Event> events;
  const bool canvas = envelope.format == Format::kCanvas;
  for (const json& item : envelope.items) {
    for (auto& e : canvas ? canvas_events(item, mapping_) : caliper_events(item, mapping_)) {
      events.push_back(std::move(e));
    }
  }
  auto shared = std::make_shared<Responder>(std::move(responder));
  const size_t items = envelope.items.size();
  ctx.post([this, &ctx, events = std::move(events), items, canvas, shared]() mutable {
    publish(ctx, std::move(events), items, canvas, shared);
  });
}

void LmsCaliper::publish(Context& ctx, std::vector<simpang::v1::Event> events, size_t items,
                         bool canvas, std::shared_ptr<Responder> responder) {
  if (ctx.backpressured()) {
    if (!overloaded_) {
      overloaded_ = true;
      server_->set_overloaded(kRetryAfterSeconds);
      ctx.log(LogLevel::kWarn, "hub back-pressure: answering 503 until it lifts");
    }
    ctx.count("envelopes_refused_503");
    responder->respond(unavailable("the hub is applying back-pressure; send again"));
    return;
  }
  const size_t count = events.size();
  auto done = [&ctx, responder, items, count, canvas](const PublishResult& result) {
    switch (result.kind()) {
      case PublishResult::Kind::kDurable:
        ctx.count("envelopes_accepted");
        ctx.count(canvas ? "canvas_events_accepted" : "caliper_items_accepted",
                  static_cast<double>(items));
        ctx.count("events_published", static_cast<double>(count));
        responder->respond(Response::Json(
            200, json{{"accepted", items}, {"events", count}}.dump()));
        break;
      case PublishResult::Kind::kRejected:
        ctx.log(LogLevel::kError,
                "the hub refused an envelope's event: " + result.rejections().front().reason);
        responder->respond(error(
            500, "the hub refused an event of this envelope (nothing of it was kept): " +
                     result.rejections().front().reason));
        break;
      case PublishResult::Kind::kTimedOut:
        ctx.count("publish_timeouts");
        responder->respond(unavailable("the hub did not confirm the envelope in time (" +
                                       result.message() + "); send it again"));
        break;
    }
  };
  const Status status = ctx.publish(std::move(events), config_.publish_timeout, done);
  if (!status.ok()) {
    ctx.log(LogLevel::kError, "cannot publish an envelope: " + status.message());
    done(PublishResult::timed_out(status.message()));
  }
}

}  // namespace simpang::plugins::lms_caliper
