// The hr-scim plugin: lifecycle, admission and the SCIM endpoints; see hr_scim.h.
#include "hr_scim.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <random>
#include <stdexcept>

#include "scim_events.h"
#include "scim_resources.h"
#include "simpang/base/uuid.h"
#include "simpang/http/plugin_log.h"

namespace simpang::plugins::hr_scim {
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

std::string etag(int64_t version) { return "W/\"" + std::to_string(version) + "\""; }

// Whether an If-Match / If-None-Match list names `tag` (weak comparison, RFC 9110 13.1).
// Each member of the comma-separated list is compared whole, its W/ prefix ignored: W/"1" must
// not match a list holding "11".
bool tag_listed(const std::string& header, const std::string& tag) {
  const auto opaque_of = [](std::string_view t) {
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (t.rfind("W/", 0) == 0) t.remove_prefix(2);
    return t;
  };
  const std::string_view wanted = opaque_of(tag);
  std::string_view rest = header;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string_view member = opaque_of(rest.substr(0, comma));
    if (member == "*" || member == wanted) return true;
    if (comma == std::string_view::npos) return false;
    rest.remove_prefix(comma + 1);
  }
}

}  // namespace

// One request on its way through the runtime thread; answers 503 if dropped unanswered.
struct HrScim::Call {
  Request request;
  Responder responder;
  size_t client = 0;
  json body;
  bool answered = false;
  Call(Request r, Responder s) : request(std::move(r)), responder(std::move(s)) {}
  ~Call() {
    if (!answered) responder.respond(scim_error(503, "", "the service is stopping; send again"));
  }
  void respond(Response r) {
    answered = true;
    responder.respond(std::move(r));
  }
};

HrScim::HrScim(Context& ctx)
    : config_(read_config(ctx.config())), port_file_(ctx.state_dir() / kPortFile) {
  std::vector<std::string> tokens;
  for (const ScimClient& c : config_.clients) tokens.push_back(c.token);
  auto auth = simpang::http::BearerAuth::create(tokens);
  if (!auth.ok()) throw simpang::sdk::ConfigError("config.clients: " + auth.status().message());
  auth_.emplace(std::move(*auth));
  auto store = ScimStore::open(ctx.state_dir() / kStoreFile);
  if (!store.ok()) throw std::runtime_error("hr-scim: " + store.status().message());
  store_ = std::move(*store);
  std::error_code ignored;
  std::filesystem::remove(port_file_, ignored);
}

HrScim::~HrScim() {
  if (stopper_.joinable()) {
    stopper_.join();
  } else if (server_) {
    server_->stop(std::chrono::milliseconds(0));
  }
}

void HrScim::on_start(Context& ctx) {
  republish(ctx, /*all=*/true);
  simpang::http::ServerOptions options;
  options.bind_address = config_.listen;
  options.port = config_.port;
  options.threads = config_.threads;
  options.max_body_bytes = config_.max_body_bytes;
  options.max_connections = config_.max_connections;
  options.max_in_flight = config_.max_in_flight;
  options.log = simpang::http::log_to(ctx);
  server_ = std::make_unique<simpang::http::Server>(std::move(options));
  for (const char* method : {"GET", "POST", "PUT", "PATCH", "DELETE"}) {
    server_->route_prefix(method, std::string(kPrefix) + "/", [this, &ctx](Request q, Responder r) {
      admit(ctx, std::move(q), std::move(r));
    });
  }
  if (Status status = server_->start(); !status.ok()) {
    throw std::runtime_error("hr-scim cannot listen: " + status.message());
  }
  {
    const std::filesystem::path partial = port_file_.string() + ".partial";
    std::ofstream(partial, std::ios::trunc) << server_->port() << "\n";
    std::error_code error;
    std::filesystem::rename(partial, port_file_, error);
  }
  ctx.log(LogLevel::kInfo, "SCIM service provider listening on http://" + config_.listen + ":" +
                               std::to_string(server_->port()) + kPrefix +
                               " port=" + std::to_string(server_->port()));
  ctx.every(config_.republish_interval, [this, &ctx] { republish(ctx, /*all=*/false); });
}

void HrScim::on_stop(Context& ctx) {
  if (!server_ || stopper_.joinable()) return;
  const auto grace = config_.publish_timeout + std::chrono::seconds(2);
  stopper_ = std::thread([server = server_.get(), grace] { server->stop(grace); });
  ctx.log(LogLevel::kInfo, "stopping: no new requests; answering those in flight");
}

void HrScim::admit(Context& ctx, Request request, Responder responder) {
  auto call = std::make_shared<Call>(std::move(request), std::move(responder));
  const Request& q = call->request;
  auto refuse = [&](Response r) {
    call->respond(std::move(r));
    ctx.post([&ctx, status = call->request.method] { ctx.count("requests_refused"); });
  };
  const std::string* authorization = q.header("Authorization");
  auto who = authorization == nullptr ? StatusOr<size_t>(Status::Error("no Authorization header"))
                                      : auth_->authenticate(*authorization);
  if (!who.ok()) {
    Response r =
        scim_error(401, "", "a client's bearer token is required: " + who.status().message());
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"scim\"");
    return refuse(std::move(r));
  }
  call->client = *who;
  if (q.method == "POST" || q.method == "PUT" || q.method == "PATCH") {
    const std::string* type = q.header("Content-Type");
    std::string content_type = type == nullptr ? "" : *type;
    std::transform(content_type.begin(), content_type.end(), content_type.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    if (content_type.rfind("application/scim+json", 0) != 0 &&
        content_type.rfind("application/json", 0) != 0) {
      return refuse(
          scim_error(415, "",
                     "Content-Type must be application/scim+json (or application/json), got '" +
                         content_type + "'"));
    }
    call->body = json::parse(q.body, nullptr, false);
    if (call->body.is_discarded()) {
      return refuse(scim_error(400, "invalidSyntax", "the body is not valid JSON"));
    }
  }
  ctx.post([this, &ctx, call] { serve(ctx, call); });
}

std::string HrScim::location(const Call& call, const std::string& type,
                             const std::string& id) const {
  std::string base = config_.base_url;
  if (base.empty()) {
    const std::string* host = call.request.header("Host");
    base = "http://" + (host == nullptr ? config_.listen : *host);
  }
  return base + kPrefix + "/" + type + "s" + (id.empty() ? "" : "/" + id);
}

void HrScim::serve(Context& ctx, std::shared_ptr<Call> call) {
  const Request& q = call->request;
  const std::string rest = q.path.substr(std::string(kPrefix).size());
  const std::string& method = q.method;
  auto params = decode_query(q.query);
  if (!params)
    return call->respond(
        scim_error(400, "invalidSyntax", "the query string is not valid percent-encoding"));
  if (rest == "/ServiceProviderConfig" || rest == "/Schemas" || rest == "/ResourceTypes") {
    if (method != "GET")
      return call->respond(scim_error(405, "", method + " " + rest + ": only GET"));
    const std::string base = location(*call, "", "");
    return call->respond(
        scim_json(200, discovery(rest.substr(1), base.substr(0, base.size() - 2), config_).dump()));
  }
  std::string type, id;
  for (const char* t : {"Users", "Groups"}) {
    const std::string prefix = std::string("/") + t;
    if (rest == prefix) {
      type = std::string(t, std::string(t).size() - 1);
    } else if (rest.rfind(prefix + "/", 0) == 0 && rest.size() > prefix.size() + 1) {
      type = std::string(t, std::string(t).size() - 1);
      id = rest.substr(prefix.size() + 1);
    }
  }
  if (type.empty()) {
    return call->respond(scim_error(
        404, "",
        rest +
            ": no such endpoint (Users, Groups, ServiceProviderConfig, Schemas, ResourceTypes)"));
  }
  if (id == ".search") {
    if (method != "POST") return call->respond(scim_error(405, "", ".search takes POST"));
    json search = json::object();
    for (auto it = call->body.begin(); call->body.is_object() && it != call->body.end(); ++it) {
      if (it.key() == "schemas") continue;
      search[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
      if (it.value().is_array()) {
        std::string joined;
        for (const json& a : it.value())
          joined += (joined.empty() ? "" : ",") + (a.is_string() ? a.get<std::string>() : a.dump());
        search[it.key()] = joined;
      }
    }
    return list(ctx, *call, type, search);
  }
  if (id.empty()) {
    if (method == "GET") return list(ctx, *call, type, *params);
    if (method == "POST") return write(ctx, call, type, "");
    return call->respond(scim_error(405, "", method + " on /" + type + "s: use GET or POST"));
  }
  if (method == "POST")
    return call->respond(scim_error(405, "", "POST on a resource: use PUT or PATCH"));
  if (method == "GET") {
    auto row = store_->get(config_.clients[call->client].name, type, id);
    if (!row.ok())
      return call->respond(scim_error(500, "", "the store failed: " + row.status().message()));
    if (!*row) return call->respond(scim_error(404, "", type + " " + id + " not found"));
    const std::string tag = etag((*row)->version);
    if (const std::string* none = q.header("If-None-Match");
        none != nullptr && tag_listed(*none, tag)) {
      Response r;
      r.status = 304;
      r.content_type.clear();
      r.headers.emplace_back("ETag", tag);
      return call->respond(std::move(r));
    }
    json resource = json::parse((*row)->json);
    resource["meta"]["location"] = location(*call, type, id);
    auto projected = project(resource, *params);
    if (!projected.ok())
      return call->respond(scim_error(400, "invalidPath", projected.status().message()));
    Response r = scim_json(200, projected->dump(-1, ' ', false, json::error_handler_t::replace));
    r.headers.emplace_back("ETag", tag);
    return call->respond(std::move(r));
  }
  return write(ctx, call, type, id);
}

void HrScim::list(Context& ctx, Call& call, const std::string& type, const json& params) {
  auto rows = store_->all(config_.clients[call.client].name, type);
  if (!rows.ok())
    return call.respond(scim_error(500, "", "the store failed: " + rows.status().message()));
  std::vector<json> resources;
  resources.reserve(rows->size());
  for (const ResourceRow& row : *rows) {
    json r = json::parse(row.json);
    r["meta"]["location"] = location(call, type, row.id);
    resources.push_back(std::move(r));
  }
  ListLimits limits{config_.max_results, {config_.max_filter_length, config_.max_filter_depth}};
  auto answer = list_response(std::move(resources), params, limits);
  if (!answer.ok()) {
    const std::string m = answer.status().message();
    const size_t colon = m.find(": ");
    ctx.count("requests_refused");
    return call.respond(scim_error(400, m.substr(0, colon), m.substr(colon + 2)));
  }
  call.respond(scim_json(200, answer->dump(-1, ' ', false, json::error_handler_t::replace)));
}

void HrScim::write(Context& ctx, std::shared_ptr<Call> call, const std::string& type,
                   const std::string& id) {
  const Request& q = call->request;
  const ScimClient& client = config_.clients[call->client];
  std::optional<ResourceRow> existing;
  if (!id.empty()) {
    auto row = store_->get(client.name, type, id);
    if (!row.ok())
      return call->respond(scim_error(500, "", "the store failed: " + row.status().message()));
    if (!*row) return call->respond(scim_error(404, "", type + " " + id + " not found"));
    existing = std::move(**row);
    if (const std::string* match = q.header("If-Match");
        match != nullptr && !tag_listed(*match, etag(existing->version))) {
      return call->respond(scim_error(
          412, "",
          "If-Match " + *match + " does not match the current version " + etag(existing->version)));
    }
  }
  const json before = existing ? json::parse(existing->json) : json();
  json after;
  if (q.method == "DELETE") {
    after = nullptr;
  } else if (q.method == "PATCH") {
    after = before;
    PatchLimits limits{{config_.max_filter_length, config_.max_filter_depth},
                       config_.max_operations};
    if (auto error = apply_patch(after, call->body, limits)) {
      ctx.count("requests_refused");
      return call->respond(scim_error(error->status, error->scim_type, error->detail));
    }
  } else {
    after = call->body;
  }
  ResourceRow row;
  row.client = client.name;
  row.type = type;
  row.id = id.empty() ? simpang::random_uuid() : id;
  row.version = existing ? existing->version + 1 : 1;
  if (!after.is_null()) {
    auto checked = normalise(type, std::move(after), before, row.id, etag(row.version), now_ms());
    if (!checked.ok()) {
      const std::string m = checked.status().message();
      const size_t colon = m.find(": ");
      ctx.count("requests_refused");
      return call->respond(scim_error(400, m.substr(0, colon), m.substr(colon + 2)));
    }
    after = std::move(*checked);
    row.name_key = name_key(type, after);
    auto same = store_->by_name(client.name, type, row.name_key);
    if (!same.ok())
      return call->respond(scim_error(500, "", "the store failed: " + same.status().message()));
    if (type == "User" && *same && (*same)->id != row.id) {
      ctx.count("requests_refused");
      return call->respond(scim_error(409, "uniqueness",
                                      "userName '" + after.value("userName", "") +
                                          "' is taken (compared case-insensitively) by " +
                                          (*same)->id));
    }
    if (q.method == "PATCH" && after == before) {
      // Nothing changed: no new version (RFC 7644 3.5.2 lets a no-op PATCH answer 204 or the
      // resource).
      after["meta"]["location"] = location(*call, type, row.id);
      Response r = scim_json(200, after.dump());
      r.headers.emplace_back("ETag", etag(existing->version));
      return call->respond(std::move(r));
    }
    row.json = after.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  std::vector<simpang::v1::Event> events;
  if (type == "User") {
    EventContext context{config_.source, client.name, client.organisation_id};
    events = user_change_events(context, before, after, row.version, now_ms());
  }
  int status = 200;
  std::string body;
  if (q.method == "POST") status = 201;
  if (q.method == "DELETE") {
    status = 204;
  } else {
    json shown = after;
    shown["meta"]["location"] = location(*call, type, row.id);
    body = shown.dump(-1, ' ', false, json::error_handler_t::replace);
  }
  finish(ctx, std::move(call), std::move(row), q.method == "DELETE", std::move(events), status,
         std::move(body));
}

void HrScim::finish(Context& ctx, std::shared_ptr<Call> call, ResourceRow row, bool remove,
                    std::vector<simpang::v1::Event> events, int status, std::string body) {
  auto seqs = store_->commit(row, remove, events, now_ms());
  if (!seqs.ok()) {
    ctx.log(LogLevel::kError, seqs.status().message());
    return call->respond(scim_error(500, "", "the store failed; nothing was changed; send again"));
  }
  Response answer;
  if (status == 204) {
    answer.status = 204;
    answer.content_type.clear();
  } else {
    answer = scim_json(status, std::move(body));
    answer.headers.emplace_back("ETag", etag(row.version));
    answer.headers.emplace_back("Location",
                                json::parse(answer.body)["meta"]["location"].get<std::string>());
  }
  ctx.count("changes_committed");
  if (events.empty()) return call->respond(std::move(answer));
  auto done = [this, &ctx, call, seqs = *seqs, answer](const PublishResult& result) mutable {
    if (result.kind() == PublishResult::Kind::kDurable) {
      if (Status s = store_->mark_sent(seqs); !s.ok()) ctx.log(LogLevel::kError, s.message());
      ctx.count("events_durable", static_cast<double>(seqs.size()));
      return call->respond(std::move(answer));
    }
    // The change is committed and its events stay in the outbox, published again until the hub
    // takes them; the client is told the answer is not yet final.
    ctx.count("publish_failures");
    Response r = scim_error(
        503, "",
        "the change is kept but the hub has not confirmed its events (" +
            (result.kind() == PublishResult::Kind::kRejected ? result.rejections().front().reason
                                                             : result.message()) +
            "); GET the resource before sending it again");
    r.headers.emplace_back("Retry-After", "1");
    call->respond(std::move(r));
  };
  const Status s = ctx.publish(std::move(events), config_.publish_timeout, done);
  if (!s.ok()) done(PublishResult::timed_out(s.message()));
}

void HrScim::republish(Context& ctx, bool all) {
  if (republishing_) return;
  auto rows = store_->outbox();
  if (!rows.ok()) {
    ctx.log(LogLevel::kError, rows.status().message());
    return;
  }
  const int64_t older_than = now_ms() - config_.publish_timeout.count();
  std::vector<simpang::v1::Event> events;
  std::vector<int64_t> seqs;
  for (OutboxRow& row : *rows) {
    if (!all && row.queued_ms >= older_than) continue;
    seqs.push_back(row.seq);
    events.push_back(std::move(row.event));
  }
  if (events.empty()) return;
  ctx.log(LogLevel::kInfo, "publishing " + std::to_string(events.size()) +
                               " events again from the outbox (not confirmed by the hub before)");
  republishing_ = true;
  auto done = [this, &ctx, seqs](const PublishResult& result) {
    republishing_ = false;
    if (result.kind() == PublishResult::Kind::kDurable) {
      if (Status s = store_->mark_sent(seqs); !s.ok()) ctx.log(LogLevel::kError, s.message());
    }
  };
  if (Status s = ctx.publish(std::move(events), config_.publish_timeout, done); !s.ok()) {
    republishing_ = false;
    ctx.log(LogLevel::kError, "cannot publish the outbox: " + s.message());
  }
}

}  // namespace simpang::plugins::hr_scim
