// Server, routing, and the value types of simpang/http/server.h; the connection is
// server_session.cc.
#include <algorithm>
#include <cctype>
#include <chrono>

#include "server_core.h"

namespace simpang::http {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string allow_header(const std::vector<Route>& routes) {
  std::string allow;
  for (const Route& r : routes) {
    if (allow.find(r.method) != std::string::npos) continue;
    if (!allow.empty()) allow += ", ";
    allow += r.method;
  }
  return allow;
}

}  // namespace

const std::string* Request::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

Response Response::Text(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::Json(int status, std::string body) {
  Response r = Text(status, std::move(body));
  r.content_type = "application/json";
  return r;
}

bool Responder::respond(Response response) { return state_->respond(std::move(response)); }

namespace internal {

bool ResponderState::respond(Response response) {
  if (done_.exchange(true)) return false;
  session_->complete(std::move(response));
  return true;
}

ResponderState::~ResponderState() {
  if (!done_.exchange(true)) {
    session_->complete(Response::Text(500, "the handler dropped the request without answering\n"));
  }
}

}  // namespace internal

const Handler* ServerCore::find(const std::string& method, const std::string& path,
                                Response* refusal) const {
  const std::vector<Route>* routes = nullptr;
  if (auto it = exact.find(path); it != exact.end()) {
    routes = &it->second;
  } else {
    size_t best = 0;
    for (const auto& [prefix, candidates] : prefixes) {
      if (path.compare(0, prefix.size(), prefix) == 0 && prefix.size() >= best) {
        best = prefix.size();
        routes = &candidates;
      }
    }
  }
  if (routes == nullptr) {
    *refusal = Response::Text(404, "no route for path " + path + "\n");
    return nullptr;
  }
  for (const Route& r : *routes) {
    if (r.method == method) return &r.handler;
  }
  *refusal = Response::Text(405, "method " + method + " not allowed on " + path + "\n");
  refusal->headers.emplace_back("Allow", allow_header(*routes));
  return nullptr;
}

void ServerCore::request_done() {
  if (in_flight.fetch_sub(1) == 1) {
    std::lock_guard lock(mu);
    idle_cv.notify_all();
  }
}

namespace {

void accept_next(const std::shared_ptr<ServerCore>& core) {
  core->acceptor->async_accept(
      net::make_strand(core->io), [core](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !core->acceptor->is_open()) return;
        if (ec) {
          // Out of descriptors and the like: log, and try again shortly rather than spin.
          core->log(LogLevel::kWarn, "http: accept on port " + std::to_string(core->port) +
                                         " failed: " + ec.message() + "; retrying in 100 ms");
          core->accept_backoff->expires_after(std::chrono::milliseconds(100));
          core->accept_backoff->async_wait([core](beast::error_code ec) {
            if (!ec && core->acceptor->is_open()) accept_next(core);
          });
          return;
        }
        bool under = core->connections.load() < core->options.max_connections;
        // Over the limit: answer 503 rather than leave the client hanging, but bound the
        // connections doing so too; beyond that the socket is closed as it leaves this scope.
        if (under || core->rejecting.load() < core->options.max_connections) {
          if (core->tls) {
            std::make_shared<TlsSession>(
                core, beast::ssl_stream<tcp::socket>(std::move(socket), *core->tls), !under)
                ->start();
          } else {
            std::make_shared<PlainSession>(core, std::move(socket), !under)->start();
          }
        }
        accept_next(core);
      });
}

}  // namespace

Server::Server(ServerOptions options) : core_(std::make_shared<ServerCore>(std::move(options))) {}

Server::~Server() { stop(std::chrono::milliseconds(0)); }

void Server::route(std::string method, std::string path, Handler handler) {
  core_->exact[std::move(path)].push_back(Route{std::move(method), std::move(handler)});
}

void Server::route_prefix(std::string method, std::string prefix, Handler handler) {
  core_->prefixes[std::move(prefix)].push_back(Route{std::move(method), std::move(handler)});
}

Status Server::start() {
  const ServerOptions& o = core_->options;
  std::string where = o.bind_address + ":" + std::to_string(o.port);
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(o.bind_address, ec);
  if (ec) return Status::Error("http: bind address '" + o.bind_address + "' is not an IP address");
  if (o.tls_certificate_file.empty() != o.tls_private_key_file.empty()) {
    return Status::Error("http: TLS needs both tls_certificate_file and tls_private_key_file");
  }
  if (!o.tls_certificate_file.empty()) {
    net::ssl::context tls(net::ssl::context::tls_server);
    tls.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                    net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                    net::ssl::context::no_tlsv1_1);
    tls.use_certificate_chain_file(o.tls_certificate_file, ec);
    if (ec) {
      return Status::Error("http: cannot load TLS certificate " + o.tls_certificate_file + ": " +
                           ec.message());
    }
    tls.use_private_key_file(o.tls_private_key_file, net::ssl::context::pem, ec);
    if (ec) {
      return Status::Error("http: cannot load TLS private key " + o.tls_private_key_file + ": " +
                           ec.message());
    }
    core_->tls.emplace(std::move(tls));
  } else if (!address.is_loopback()) {
    core_->log(LogLevel::kWarn, "http: listening on non-loopback " + where +
                                    " without TLS; requests and credentials travel in clear text");
  }
  // On a strand of its own: its handler and stop()'s close never run at once on two threads.
  auto strand = net::make_strand(core_->io);
  Acceptor acceptor(strand);
  tcp::endpoint endpoint(address, o.port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Error("http: cannot listen on " + where + ": " + ec.message());
  core_->port = acceptor.local_endpoint().port();
  core_->acceptor.emplace(std::move(acceptor));
  core_->accept_backoff.emplace(strand);
  core_->guard.emplace(core_->io.get_executor());
  accept_next(core_);
  for (int i = 0; i < std::max(1, o.threads); ++i) {
    core_->threads.emplace_back([core = core_.get()] { core->io.run(); });
  }
  core_->log(LogLevel::kInfo, std::string("http: listening on ") +
                                  (core_->tls ? "https://" : "http://") + o.bind_address + ":" +
                                  std::to_string(core_->port));
  return Status::Ok();
}

uint16_t Server::port() const { return core_->port; }

void Server::set_overloaded(int retry_after_seconds) {
  core_->overloaded_retry_after.store(std::max(0, retry_after_seconds));
}

void Server::clear_overloaded() { core_->overloaded_retry_after.store(-1); }

size_t Server::connections() const { return core_->connections.load(); }
size_t Server::in_flight() const { return core_->in_flight.load(); }

void Server::stop(std::chrono::milliseconds deadline) {
  if (core_->threads.empty()) return;
  core_->draining.store(true);
  net::post(core_->acceptor->get_executor(), [core = core_] {
    beast::error_code ignored;
    core->acceptor->close(ignored);
    core->accept_backoff->cancel();
  });
  auto for_each_session = [this](auto fn) {
    std::vector<std::shared_ptr<SessionBase>> live;
    {
      std::lock_guard lock(core_->mu);
      for (auto& [raw, weak] : core_->sessions) {
        if (auto s = weak.lock()) live.push_back(std::move(s));
      }
    }
    for (auto& s : live) fn(*s);
  };
  for_each_session([](SessionBase& s) { s.close_if_idle(); });
  {
    std::unique_lock lock(core_->mu);
    core_->idle_cv.wait_for(lock, deadline, [this] { return core_->in_flight.load() == 0; });
    core_->stopped = true;
  }
  // Answers still being written get what is left of the deadline's spirit: they are closed now.
  for_each_session([](SessionBase& s) { s.close_soon(); });
  core_->guard.reset();
  for (std::thread& t : core_->threads) t.join();
  core_->threads.clear();
}

}  // namespace simpang::http
