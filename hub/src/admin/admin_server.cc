#include "admin/admin_server.h"

#include <atomic>
#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <string>
#include <utility>

#include "admin/exposition.h"
#include "admin/hub_metrics.h"
#include "admin/journal_api.h"
#include "admin/openapi.h"
#include "admin/reload_api.h"
#include "admin/views.h"
#include "common/asio.h"
#include "simpang/http/auth.h"
#include "simpang/http/query.h"
#include "simpang/http/server.h"
#include "simpang/version.h"

namespace simpang::hub::admin {
namespace {

using http::Request;
using http::Responder;
using http::Response;

// Every method a client might send is routed to the dispatcher, so that an unknown path or a
// wrong method gets a problem+json answer rather than the server's plain-text one.
const char* const kMethods[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};

// What an endpoint is made from.
enum class Page {
  kHealth,
  kReady,
  kMetrics,
  kOpenApi,
  kInstances,
  kInstance,
  kRoutes,
  kDestinations
};
constexpr std::string_view kInstancePrefix = "/api/v1/instances/";

struct Endpoint {
  Page page;
  bool needs_snapshot;
  // /healthz and /readyz answer without a token (probes rarely carry one); /readyz then leaves
  // out the instances' names and errors.
  bool open;
};

const std::map<std::string, Endpoint>& endpoints() {
  static const std::map<std::string, Endpoint> table = {
      {"/healthz", {Page::kHealth, false, true}},
      {"/readyz", {Page::kReady, true, true}},
      {"/metrics", {Page::kMetrics, true, false}},
      {"/openapi.json", {Page::kOpenApi, false, false}},
      {"/api/v1/instances", {Page::kInstances, true, false}},
      {"/api/v1/routes", {Page::kRoutes, true, false}},
      {"/api/v1/destinations", {Page::kDestinations, true, false}},
  };
  return table;
}

Response problem(int status, const std::string& detail, const Request& request) {
  Response r;
  r.status = status;
  r.content_type = kProblemContentType;
  r.body = request.method == "HEAD" ? std::string() : problem_json(status, detail, request.path);
  return r;
}

std::optional<uint64_t> journal_bytes(const std::optional<std::filesystem::path>& file) {
  if (!file) {
    return std::nullopt;
  }
  uint64_t total = 0;
  for (const char* suffix : {"", "-wal"}) {
    std::error_code ec;
    auto size = std::filesystem::file_size(file->string() + suffix, ec);
    if (!ec) {
      total += size;
    }
  }
  return total;
}

}  // namespace

struct AdminServer::Core {
  RunningHub* hub = nullptr;
  AdminServerOptions options;
  std::optional<http::BearerAuth> auth;  // set when tokens are configured
  std::atomic<bool> running{false};
  // Pages are written here, off the hub's loop and off the server's thread.
  boost::asio::thread_pool writer{1};
  // Operations that block (journal reads, a replay waiting for the hub's writer, a reload): a
  // thread of their own, so a slow one never holds up /metrics.
  std::unique_ptr<JournalApi> journal_api;
  boost::asio::thread_pool journal_worker{1};

  // Who the caller is, or nullopt once it has been refused (401). `open` endpoints let an
  // unauthenticated caller through with `authenticated` false.
  std::optional<std::string> authenticate(const Request& request, Responder& responder, bool open,
                                          bool& authenticated) {
    authenticated = true;
    if (!auth) {
      return std::string("no token configured");
    }
    const std::string* header = request.header("Authorization");
    StatusOr<size_t> who = header != nullptr
                               ? auth->authenticate(*header)
                               : StatusOr<size_t>(Status::Error("no Authorization header"));
    if (who.ok()) {
      return "token #" + std::to_string(*who);
    }
    if (open) {
      authenticated = false;
      return std::string("unauthenticated");
    }
    Response r =
        problem(401, "this endpoint needs a bearer token: " + who.status().message(), request);
    r.headers.emplace_back("WWW-Authenticate", header == nullptr
                                                   ? std::string("Bearer realm=\"simpang-admin\"")
                                                   : std::string("Bearer realm=\"simpang-admin\", "
                                                                 "error=\"invalid_token\""));
    answer(request, responder, "refused: " + who.status().message(), std::move(r));
    return std::nullopt;
  }

  // Answers and logs the request with its caller, at debug.
  void answer(const Request& request, Responder& responder, const std::string& caller,
              Response response) {
    options.logger->debug("admin: {} {} from {} ({}) -> {}", request.method, request.path,
                          request.remote_address, caller, response.status);
    responder.respond(std::move(response));
  }

  Response render(Page page, const HubSnapshot& snapshot, bool authenticated,
                  const Request& request) {
    switch (page) {
      case Page::kInstance: {
        auto name =
            http::percent_decode(std::string_view(request.path).substr(kInstancePrefix.size()));
        auto body = name ? instance_json(snapshot, *name) : std::nullopt;
        if (!body) {
          return problem(404, "no instance named '" + name.value_or(request.path) + "'", request);
        }
        return Response::Json(200, std::move(*body));
      }
      case Page::kReady: {
        Readiness r = readiness(snapshot, running.load(), authenticated);
        return Response::Json(r.ready ? 200 : 503, std::move(r.body));
      }
      case Page::kMetrics: {
        Response r;
        r.content_type = kExpositionContentType;
        r.body = render_metrics(snapshot, {SIMPANG_VERSION, journal_bytes(options.journal_file)});
        return r;
      }
      case Page::kInstances:
        return Response::Json(200, instances_json(snapshot));
      case Page::kRoutes:
        return Response::Json(200, routes_json(snapshot));
      case Page::kDestinations:
        return Response::Json(200, destinations_json(snapshot));
      default:
        return Response::Text(500, "no page\n");
    }
  }

  void handle(const std::shared_ptr<Core>& self, Request request, Responder responder) {
    if (request.path == "/api/v1/reload") {
      bool authenticated = true;
      auto caller = authenticate(request, responder, /*open=*/false, authenticated);
      if (!caller) return;
      boost::asio::post(journal_worker,
                        [self, request = std::move(request), responder = std::move(responder),
                         caller = std::move(*caller)]() mutable {
                          const ReloadHooks hooks{self->options.reload, self->options.validate};
                          self->answer(request, responder, caller,
                                       reload_api(request, hooks, caller, *self->options.logger));
                        });
      return;
    }
    if (JournalApi::handles(request.path)) {
      bool authenticated = true;
      auto caller = authenticate(request, responder, /*open=*/false, authenticated);
      if (!caller) return;
      boost::asio::post(
          journal_worker, [self, request = std::move(request), responder = std::move(responder),
                           caller = std::move(*caller)]() mutable {
            self->answer(request, responder, caller, self->journal_api->handle(request, caller));
          });
      return;
    }
    auto found = endpoints().find(request.path);
    static const Endpoint kInstanceEndpoint{Page::kInstance, true, false};
    const bool one_instance =
        request.path.size() > kInstancePrefix.size() && request.path.rfind(kInstancePrefix, 0) == 0;
    if (found == endpoints().end() && !one_instance) {
      answer(
          request, responder, "-",
          problem(404, "no admin endpoint at " + request.path + " (see /openapi.json)", request));
      return;
    }
    const Endpoint endpoint = one_instance ? kInstanceEndpoint : found->second;
    if (request.method != "GET") {
      Response r = problem(
          405,
          "method " + request.method + " is not allowed on " + request.path + "; it allows GET",
          request);
      r.headers.emplace_back("Allow", "GET");
      answer(request, responder, "-", std::move(r));
      return;
    }
    bool authenticated = true;
    auto who = authenticate(request, responder, endpoint.open, authenticated);
    if (!who) return;
    std::string caller = std::move(*who);
    if (endpoint.page == Page::kHealth) {
      answer(request, responder, caller, Response::Text(200, "ok\n"));
      return;
    }
    if (endpoint.page == Page::kOpenApi) {
      answer(request, responder, caller, Response::Json(200, std::string(kOpenApiJson)));
      return;
    }
    // The snapshot on the loop (a copy of counters, between two messages), the page here.
    boost::asio::post(hub->io(), [self, page = endpoint.page, authenticated,
                                  request = std::move(request), responder = std::move(responder),
                                  caller = std::move(caller)]() mutable {
      HubSnapshot snapshot = self->hub->snapshot_on_loop();
      boost::asio::post(self->writer, [self, page, authenticated, request = std::move(request),
                                       responder = std::move(responder), caller = std::move(caller),
                                       snapshot = std::move(snapshot)]() mutable {
        self->answer(request, responder, caller,
                     self->render(page, snapshot, authenticated, request));
      });
    });
  }
};

StatusOr<std::unique_ptr<AdminServer>> AdminServer::start(RunningHub& hub,
                                                          AdminServerOptions options) {
  auto core = std::make_shared<Core>();
  core->hub = &hub;
  core->options = std::move(options);
  core->journal_api = std::make_unique<JournalApi>(
      [hub = &hub] { return hub->open_journal_admin(); }, core->options.logger);
  const AdminConfig& config = core->options.config;
  if (!config.tokens.empty()) {
    auto auth = http::BearerAuth::create(config.tokens);
    if (!auth.ok()) {
      return Status::Error("admin.token: " + auth.status().message());
    }
    core->auth.emplace(std::move(*auth));
  }
  std::unique_ptr<AdminServer> admin(new AdminServer(hub, core));
  auto logger = core->options.logger;
  http::ServerOptions server_options;
  server_options.bind_address = config.listen;
  server_options.port = config.port;
  server_options.max_body_bytes = 64 * 1024;  // the largest body it reads is a small JSON filter
  server_options.max_connections = 64;
  server_options.tls_certificate_file = config.tls_certificate.string();
  server_options.tls_private_key_file = config.tls_private_key.string();
  server_options.log = [logger](http::LogLevel level, const std::string& message) {
    switch (level) {
      case http::LogLevel::kDebug:
        logger->debug("admin: {}", message);
        break;
      case http::LogLevel::kInfo:
        logger->info("admin: {}", message);
        break;
      case http::LogLevel::kWarn:
        logger->warn("admin: {}", message);
        break;
      case http::LogLevel::kError:
        logger->error("admin: {}", message);
        break;
    }
  };
  admin->server_ = std::make_unique<http::Server>(std::move(server_options));
  for (const char* method : kMethods) {
    admin->server_->route_prefix(method, "/", [core](Request request, Responder responder) {
      core->handle(core, std::move(request), std::move(responder));
    });
  }
  if (Status s = admin->server_->start(); !s.ok()) {
    return Status::Error("admin API: " + s.message());
  }
  // Where it listens, for operators and tests when the port was chosen by the system; written
  // whole (rename) so a reader never sees half a number.
  std::error_code ec;
  std::filesystem::create_directories(core->options.state_dir, ec);
  admin->port_file_ = core->options.state_dir / "admin.port";
  const auto temporary = core->options.state_dir / "admin.port.tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << admin->server_->port() << "\n";
    if (!out.flush()) {
      return Status::Error("admin API: cannot write " + temporary.string());
    }
  }
  std::filesystem::rename(temporary, admin->port_file_, ec);
  if (ec) {
    return Status::Error("admin API: cannot write " + admin->port_file_.string() + ": " +
                         ec.message());
  }
  logger->info("admin API on {}://{}:{}{}", config.tls_certificate.empty() ? "http" : "https",
               config.listen, admin->server_->port(), core->auth ? " (bearer token required)" : "");
  return admin;
}

AdminServer::AdminServer(RunningHub& hub, std::shared_ptr<Core> core)
    : hub_(hub), core_(std::move(core)) {}

AdminServer::~AdminServer() {
  if (server_) {
    server_->stop(std::chrono::seconds(2));
  }
  // Work already posted to the loop runs before this marker; after it, nothing refers to the hub.
  auto drained = std::make_shared<std::promise<void>>();
  auto done = drained->get_future();
  boost::asio::post(hub_.io(), [drained] { drained->set_value(); });
  if (done.wait_for(std::chrono::seconds(5)) != std::future_status::ready) {
    core_->options.logger->warn("admin: the hub's loop did not answer within 5 s while stopping");
  }
  core_->writer.join();
  core_->journal_worker.join();
  if (!port_file_.empty()) {
    std::error_code ec;
    std::filesystem::remove(port_file_, ec);
  }
}

void AdminServer::set_running() { core_->running.store(true); }

uint16_t AdminServer::port() const { return server_->port(); }

}  // namespace simpang::hub::admin
