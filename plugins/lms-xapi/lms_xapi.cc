// The lms-xapi plugin: lifecycle, admission and the write path; the read path is in
// lms_xapi_read.cc. See lms_xapi.h.
#include "lms_xapi.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <stdexcept>
#include <system_error>

#include "simpang/base/uuid.h"
#include "simpang/http/plugin_log.h"
#include "xapi_answers.h"
#include "xapi_formats.h"
#include "xapi_statement.h"

namespace simpang::plugins::lms_xapi {
namespace {

using nlohmann::json;
using simpang::http::Request;
using simpang::http::Responder;
using simpang::http::Response;
using simpang::sdk::Context;
using simpang::sdk::LogLevel;
using simpang::sdk::PublishResult;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

Response unavailable(const std::string& message) {
  Response r = xapi_error(503, "", message);
  r.headers.emplace_back("Retry-After", std::to_string(kRetryAfterSeconds));
  return r;
}

}  // namespace

// One request's answer: the first respond() wins; dropped unanswered (the runtime stopped), it
// answers 503 so the client sends again.
class LmsXapi::PendingAnswer {
 public:
  explicit PendingAnswer(Responder responder) : responder_(std::move(responder)) {}
  ~PendingAnswer() {
    responder_.respond(unavailable("the LRS is stopping; send the request again"));
  }
  PendingAnswer(const PendingAnswer&) = delete;
  PendingAnswer& operator=(const PendingAnswer&) = delete;
  void respond(Response response) { responder_.respond(std::move(response)); }

 private:
  Responder responder_;
};

LmsXapi::LmsXapi(Context& ctx)
    : config_(read_config(ctx.config())),
      mapping_{config_.source, config_.certification_activity_types},
      port_file_(ctx.state_dir() / kPortFile) {
  std::vector<simpang::http::BasicCredentials> credentials;
  for (const LrsClient& client : config_.clients) {
    credentials.push_back({client.username, client.password});
  }
  auto auth = simpang::http::BasicAuth::create(credentials);
  if (!auth.ok()) {
    throw simpang::sdk::ConfigError("config.clients: " + auth.status().message());
  }
  auth_.emplace(std::move(*auth));
  auto store = StatementStore::open(ctx.state_dir() / kStoreFile);
  if (!store.ok()) {
    throw std::runtime_error("lms-xapi: " + store.status().message());
  }
  store_ = std::move(*store);
  auto newest = store_->newest_stored_ms();
  if (!newest.ok()) {
    throw std::runtime_error("lms-xapi: " + newest.status().message());
  }
  last_stored_ms_ = *newest;
  std::error_code ignored;
  std::filesystem::remove(port_file_, ignored);
}

LmsXapi::~LmsXapi() {
  if (stopper_.joinable()) {
    stopper_.join();
  } else if (server_) {
    server_->stop(std::chrono::milliseconds(0));
  }
}

uint16_t LmsXapi::port() const { return server_->port(); }

void LmsXapi::on_start(Context& ctx) {
  republish_pending(ctx, /*all=*/true);

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
  const std::string statements = std::string(kPrefix) + "/statements";
  server_->route("POST", statements, [this, &ctx](Request request, Responder responder) {
    handle_write(ctx, std::move(request), std::move(responder), /*put=*/false);
  });
  server_->route("PUT", statements, [this, &ctx](Request request, Responder responder) {
    handle_write(ctx, std::move(request), std::move(responder), /*put=*/true);
  });
  // HEAD answers as GET would, without the body (xAPI-Communication.md 1.1).
  for (const char* method : {"GET", "HEAD"}) {
    server_->route(method, statements, [this, &ctx](Request request, Responder responder) {
      handle_get(ctx, std::move(request), std::move(responder));
    });
  }
  for (const char* method : {"DELETE", "PATCH"}) {
    server_->route(method, statements, [](Request request, Responder responder) {
      Response r = xapi_error(405, "",
                              request.method + " " + request.path +
                                  ": statements are immutable; void one with a "
                                  "voiding statement");
      r.headers.emplace_back("Allow", "GET, PUT, POST");
      responder.respond(std::move(r));
    });
  }
  for (const char* method : {"GET", "HEAD"}) {
    server_->route(
        method, std::string(kPrefix) + "/about", [](Request request, Responder responder) {
          Response r = xapi_json(
              200, json{{"version", json::array({kXapiVersion})}, {"extensions", json::object()}}
                       .dump());
          if (request.method == "HEAD") r.body.clear();
          responder.respond(std::move(r));
        });
  }
  for (const char* method : {"GET", "PUT", "POST", "DELETE"}) {
    server_->route_prefix(
        method, std::string(kPrefix) + "/", [](Request request, Responder responder) {
          responder.respond(
              xapi_error(404, "",
                         request.path + ": not offered by this LRS (it has the Statement and About "
                                        "resources; the Document Resources are not implemented)"));
        });
  }
  if (Status status = server_->start(); !status.ok()) {
    throw std::runtime_error("lms-xapi cannot listen: " + status.message());
  }
  write_port_file(ctx);
  ctx.log(LogLevel::kInfo, "xAPI LRS listening on http://" + config_.listen + ":" +
                               std::to_string(server_->port()) + kPrefix + " for " +
                               std::to_string(config_.clients.size()) +
                               " clients, port=" + std::to_string(server_->port()));
  ctx.every(std::chrono::milliseconds(200), [this, &ctx] {
    if (overloaded_ && !ctx.backpressured()) {
      overloaded_ = false;
      server_->clear_overloaded();
      ctx.log(LogLevel::kInfo, "hub back-pressure lifted: accepting statements again");
    }
  });
  ctx.every(config_.republish_interval, [this, &ctx] { republish_pending(ctx, /*all=*/false); });
}

void LmsXapi::write_port_file(Context& ctx) {
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

void LmsXapi::on_stop(Context& ctx) {
  if (!server_ || stopper_.joinable()) {
    return;
  }
  const auto grace = config_.publish_timeout + std::chrono::seconds(2);
  stopper_ = std::thread([server = server_.get(), grace] { server->stop(grace); });
  ctx.log(LogLevel::kInfo, "stopping: no new requests; answering those in flight");
}

std::optional<Response> LmsXapi::admit(const Request& request, size_t& client,
                                       bool need_version) const {
  const std::string* authorization = request.header("Authorization");
  auto who = authorization == nullptr ? StatusOr<size_t>(Status::Error("no Authorization header"))
                                      : auth_->authenticate(*authorization);
  if (!who.ok()) {
    Response r = xapi_error(401, "Authorization",
                            "HTTP Basic credentials of an LRS client are "
                            "required: " +
                                who.status().message());
    r.headers.emplace_back("WWW-Authenticate", "Basic realm=\"xapi\", charset=\"UTF-8\"");
    return r;
  }
  client = *who;
  if (need_version) {
    const std::string* version = request.header(kVersionHeader);
    if (version == nullptr) {
      return xapi_error(
          400, kVersionHeader,
          std::string(kVersionHeader) + ": required on every request (this LRS speaks 1.0.3)");
    }
    if (!is_version(*version)) {
      return xapi_error(400, kVersionHeader,
                        std::string(kVersionHeader) +
                            ": must be 1.0.x (this LRS speaks 1.0.3), got '" + *version + "'");
    }
  }
  return std::nullopt;
}

void LmsXapi::refuse(Context& ctx, const Request& request, Responder& responder,
                     Response response) {
  ctx.log(response.status == 401 ? LogLevel::kInfo : LogLevel::kDebug,
          "refused " + std::to_string(response.status) + " " + request.method + " " + request.path +
              " remote=" + request.remote_address + ": " + response.body);
  const int status = response.status;
  responder.respond(std::move(response));
  ctx.post([&ctx, status] {
    ctx.count("requests_refused");
    ctx.count("requests_refused_" + std::to_string(status));
  });
}

void LmsXapi::handle_write(Context& ctx, Request request, Responder responder, bool put) {
  Write write;
  if (auto refusal = admit(request, write.client, true)) {
    return refuse(ctx, request, responder, std::move(*refusal));
  }
  write.put = put;
  std::string put_id;
  if (put) {
    const auto params = decode_query(request.query);
    if (!params || params->count("statementId") == 0) {
      return refuse(ctx, request, responder,
                    xapi_error(400, "statementId",
                               "PUT /statements requires the statementId "
                               "parameter"));
    }
    put_id = lower(params->at("statementId"));
    if (!is_uuid(put_id)) {
      return refuse(ctx, request, responder,
                    xapi_error(400, "statementId", "must be a UUID, got '" + put_id + "'"));
    }
  }
  const std::string* type = request.header("Content-Type");
  const std::string content_type = type == nullptr ? "" : lower(*type);
  if (content_type.rfind("multipart/mixed", 0) == 0) {
    return refuse(ctx, request, responder,
                  xapi_error(400, "Content-Type",
                             "multipart/mixed (statements with attachment "
                             "content or signatures) is not supported; send "
                             "application/json with attachment fileUrls"));
  }
  if (content_type.rfind("application/json", 0) != 0) {
    return refuse(
        ctx, request, responder,
        xapi_error(400, "Content-Type", "must be application/json, got '" + content_type + "'"));
  }
  json body = json::parse(request.body, nullptr, false);
  if (body.is_discarded()) {
    return refuse(ctx, request, responder, xapi_error(400, "(body)", "the body is not valid JSON"));
  }
  const bool batch = body.is_array();
  if (put && batch) {
    return refuse(ctx, request, responder,
                  xapi_error(400, "(body)", "PUT takes one statement (an object), not an array"));
  }
  if (!batch && !body.is_object()) {
    return refuse(ctx, request, responder,
                  xapi_error(400, "(body)", "must be a statement (an object) or an array of them"));
  }
  if (batch && body.size() > config_.max_batch_statements) {
    return refuse(
        ctx, request, responder,
        xapi_error(413, "(body)",
                   "a batch holds at most " + std::to_string(config_.max_batch_statements) +
                       " statements, this one " + std::to_string(body.size())));
  }
  std::vector<json> statements;
  if (batch) {
    statements.reserve(body.size());
    for (json& s : body) statements.push_back(std::move(s));
  } else {
    statements.push_back(std::move(body));
  }
  std::set<std::string> ids;
  for (size_t i = 0; i < statements.size(); ++i) {
    json& s = statements[i];
    const std::string at = batch ? "[" + std::to_string(i) + "]" : "";
    if (auto error = validate_statement(s, at)) {
      return refuse(ctx, request, responder, xapi_error(400, error->path, error->message()));
    }
    if (put) {
      if (s.contains("id") && lower(s["id"].get<std::string>()) != put_id) {
        return refuse(ctx, request, responder,
                      xapi_error(400, "id",
                                 "the statement's id differs from the statementId "
                                 "parameter"));
      }
      s["id"] = put_id;
    } else if (s.contains("id")) {
      s["id"] = lower(s["id"].get<std::string>());
    } else {
      s["id"] = simpang::random_uuid();
    }
    if (!ids.insert(s["id"].get<std::string>()).second) {
      return refuse(
          ctx, request, responder,
          xapi_error(400, at.empty() ? "id" : at + ".id",
                     "the batch holds two statements with id " + s["id"].get<std::string>()));
    }
  }
  write.statements = std::move(statements);
  auto answer = std::make_shared<PendingAnswer>(std::move(responder));
  bool first = false;
  {
    std::lock_guard lock(writes_mutex_);
    first = queued_writes_.empty();
    queued_writes_.emplace_back(std::move(answer), std::move(write));
  }
  if (first) {
    ctx.post([this, &ctx] { flush_writes(ctx); });
  }
}

int64_t LmsXapi::next_stored_ms() {
  last_stored_ms_ = std::max(now_ms(), last_stored_ms_);
  return last_stored_ms_;
}

json LmsXapi::authority(size_t client) const {
  return json{
      {"objectType", "Agent"},
      {"name", config_.clients[client].name},
      {"account",
       {{"homePage", config_.authority_home_page}, {"name", config_.clients[client].name}}}};
}

void LmsXapi::flush_writes(Context& ctx) {
  std::vector<std::pair<std::shared_ptr<PendingAnswer>, Write>> writes;
  {
    std::lock_guard lock(writes_mutex_);
    writes.swap(queued_writes_);
  }
  if (writes.empty()) {
    return;
  }
  if (ctx.backpressured()) {
    if (!overloaded_) {
      overloaded_ = true;
      server_->set_overloaded(kRetryAfterSeconds);
      ctx.log(LogLevel::kWarn, "hub back-pressure: answering 503 until it lifts");
    }
    ctx.count("requests_refused_503", static_cast<double>(writes.size()));
    for (auto& [answer, write] : writes) {
      answer->respond(unavailable("the hub is applying back-pressure; send again"));
    }
    return;
  }
  std::vector<StoredStatement> fresh;         // new rows of every accepted request
  std::vector<StoredStatement> to_publish;    // those and rows still pending from before
  std::map<std::string, std::string> staged;  // id -> received form, of this flush
  std::vector<std::pair<std::shared_ptr<PendingAnswer>, Response>> accepted;
  for (auto& [answer, write] : writes) {
    std::vector<StoredStatement> request_fresh;
    std::vector<StoredStatement> request_pending;
    json ids = json::array();
    std::optional<Response> refusal;
    const bool batch = write.statements.size() > 1;
    for (size_t i = 0; i < write.statements.size() && !refusal; ++i) {
      json& s = write.statements[i];
      const std::string id = s["id"].get<std::string>();
      ids.push_back(id);
      std::string received = comparable_form(s);
      std::optional<std::string> existing_received;
      bool existing_pending = false;
      if (const auto it = staged.find(id); it != staged.end()) {
        existing_received = it->second;  // an earlier request of this flush has it
      } else {
        auto existing = store_->find(id);
        if (!existing.ok()) {
          ctx.log(LogLevel::kError, existing.status().message());
          refusal = xapi_error(500, "", "the statement store failed; send again");
          break;
        }
        if (*existing) {
          existing_received = (*existing)->received;
          existing_pending = (*existing)->pending;
          if (existing_pending && same_statement(received, (*existing)->received)) {
            request_pending.push_back(std::move(**existing));
          }
        }
      }
      if (existing_received) {
        if (!same_statement(*existing_received, received)) {
          ctx.count("statements_conflicting");
          refusal = xapi_error(409, batch ? "[" + std::to_string(i) + "].id" : "id",
                               "statement " + id +
                                   " is already stored with different content; nothing of this "
                                   "request was stored");
        }
        continue;
      }
      const int64_t stored = next_stored_ms();
      s["stored"] = format_timestamp(stored);
      if (!s.contains("timestamp")) s["timestamp"] = s["stored"];
      s["authority"] = authority(write.client);
      if (!s.contains("version")) s["version"] = "1.0.0";
      StoredStatement row;
      row.id = id;
      row.stored_ms = stored;
      if (s["verb"]["id"] == kVerbVoided) row.voids = lower(s["object"].value("id", ""));
      row.json = s.dump(-1, ' ', false, json::error_handler_t::replace);
      row.received = std::move(received);
      request_fresh.push_back(std::move(row));
    }
    if (refusal) {
      answer->respond(std::move(*refusal));
      continue;
    }
    for (StoredStatement& row : request_fresh) {
      staged.emplace(row.id, row.received);
      fresh.push_back(row);
      to_publish.push_back(std::move(row));
    }
    for (StoredStatement& row : request_pending) {
      staged.emplace(row.id, row.received);
      to_publish.push_back(std::move(row));
    }
    accepted.emplace_back(answer, write.put ? xapi_empty(204) : xapi_json(200, ids.dump()));
  }
  if (accepted.empty()) {
    return;
  }
  if (Status s = store_->insert_pending(fresh); !s.ok()) {
    ctx.log(LogLevel::kError, s.message());
    for (auto& [answer, response] : accepted) {
      answer->respond(xapi_error(500, "",
                                 "the statement store failed; nothing was stored; send "
                                 "again"));
    }
    return;
  }
  if (to_publish.empty()) {
    const std::string through = consistent_through();
    for (auto& [answer, response] : accepted) {
      response.headers.emplace_back(kConsistentHeader, through);
      answer->respond(std::move(response));
    }
    return;
  }
  std::vector<std::string> row_ids;
  for (const StoredStatement& row : to_publish) row_ids.push_back(row.id);
  const size_t count = fresh.size();
  auto answers = std::make_shared<decltype(accepted)>(std::move(accepted));
  publish_rows(ctx, to_publish, [this, &ctx, answers, row_ids, count](const PublishResult& result) {
    std::optional<Response> failure;
    switch (result.kind()) {
      case PublishResult::Kind::kDurable:
        if (Status s = store_->mark_stored(row_ids); !s.ok()) {
          // The hub has them; the next republish marks them.
          ctx.log(LogLevel::kError, s.message());
          failure = unavailable(
              "the statement store failed after the hub took the statements; "
              "send again with the same ids");
        } else {
          ctx.count("statements_stored", static_cast<double>(count));
        }
        break;
      case PublishResult::Kind::kRejected:
        ctx.log(LogLevel::kError,
                "the hub refused a statement's event: " + result.rejections().front().reason);
        failure = xapi_error(
            500, "",
            "the hub refused an event of these statements: " + result.rejections().front().reason);
        break;
      case PublishResult::Kind::kTimedOut:
        ctx.count("publish_timeouts");
        failure = unavailable("the hub did not confirm the statements in time (" +
                              result.message() + "); send again with the same statement ids");
        break;
    }
    const std::string through = consistent_through();
    for (auto& [answer, response] : *answers) {
      Response r = failure ? *failure : std::move(response);
      r.headers.emplace_back(kConsistentHeader, through);
      answer->respond(std::move(r));
    }
  });
}

void LmsXapi::publish_rows(Context& ctx, const std::vector<StoredStatement>& rows,
                           std::function<void(const PublishResult&)> done) {
  std::vector<simpang::v1::Event> events;
  for (const StoredStatement& row : rows) {
    const json statement = json::parse(row.json, nullptr, false);
    for (simpang::v1::Event& e : statement_events(statement, mapping_)) {
      events.push_back(std::move(e));
    }
  }
  const Status status = ctx.publish(std::move(events), config_.publish_timeout, done);
  if (!status.ok()) {
    ctx.log(LogLevel::kError, "cannot publish statements: " + status.message());
    done(PublishResult::timed_out(status.message()));
  }
}

void LmsXapi::republish_pending(Context& ctx, bool all) {
  auto rows = store_->pending();
  if (!rows.ok()) {
    ctx.log(LogLevel::kError, rows.status().message());
    return;
  }
  // Without `all`, only rows whose own publish has had its time: younger ones are still in flight.
  const int64_t older_than = now_ms() - config_.publish_timeout.count();
  std::vector<StoredStatement> due;
  for (StoredStatement& row : *rows) {
    if (all || row.stored_ms < older_than) due.push_back(std::move(row));
  }
  if (due.empty()) {
    return;
  }
  ctx.log(LogLevel::kInfo, "publishing " + std::to_string(due.size()) +
                               " pending statements again (not confirmed by the hub before)");
  std::vector<std::string> ids;
  for (const StoredStatement& row : due) ids.push_back(row.id);
  publish_rows(ctx, due, [this, &ctx, ids](const PublishResult& result) {
    if (result.kind() == PublishResult::Kind::kDurable) {
      if (Status s = store_->mark_stored(ids); !s.ok()) ctx.log(LogLevel::kError, s.message());
    }
  });
}

}  // namespace simpang::plugins::lms_xapi
