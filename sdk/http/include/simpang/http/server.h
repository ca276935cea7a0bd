// An HTTP/1.1 server for connectors that receive requests (webhooks, REST intake), on Boost.Beast.
// It runs on its own io_context and thread(s), never on a plugin's runtime thread; handlers are
// asynchronous: a handler gets the request and a Responder it may complete later, from any thread.
//
//   simpang::http::Server server({.port = 8080, .log = my_log});
//   server.route("POST", "/events", [&ctx](Request req, Responder res) {  // on a server thread
//     ctx.post([&ctx, req = std::move(req), res]() mutable {              // to the runtime thread
//       Status s = ctx.publish(to_events(req), std::chrono::seconds(5),
//                              [res](const PublishResult& r) mutable {    // runtime thread
//         res.respond(r.kind() == PublishResult::Kind::kDurable ? Response::Text(202, "accepted\n")
//                                                              : Response::Text(503, "retry\n"));
//       });
//       if (!s.ok()) res.respond(Response::Text(400, s.message()));
//     });
//   });
//   if (Status s = server.start(); !s.ok()) return s;
//   ...
//   server.stop(std::chrono::seconds(5));
//
// Limits a hostile client cannot get past (see ServerOptions): header size (431), body size (413,
// from Content-Length before reading, or as a chunked body grows), header/body read deadlines (408,
// then close), idle keep-alive deadline (close), connections (503 + Retry-After, then close),
// requests in flight (503 + Retry-After). Each connection holds at most one request at a time, so
// memory is bounded by max_connections * (max_header_bytes + max_body_bytes).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simpang/base/status.h"

namespace simpang::http {

// One request, fully read (headers and body). A value type.
struct Request {
  std::string method;  // as sent, e.g. "POST"
  std::string target;  // as sent, e.g. "/events?x=1"
  std::string path;    // target up to '?'
  std::string query;   // after '?', without it; empty if none
  // Header fields in the order received; names as sent (compare case-insensitively).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string remote_address;  // peer IP address, e.g. "127.0.0.1"

  // The first value of the header `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
};

// One response. A value type. Content-Length and Connection are set by the server.
struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;  // extra fields
  std::string body;

  static Response Text(int status, std::string body);
  static Response Json(int status, std::string body);
};

namespace internal {
class ResponderState;
}

// Completes one request. Copyable: copies share one request, and the first respond() wins (later
// calls return false). If every copy is destroyed without respond(), the client gets 500.
// Thread rule: any thread. It may outlive the Server; responding after stop() does nothing.
class Responder {
 public:
  // Made by the server only.
  explicit Responder(std::shared_ptr<internal::ResponderState> state) : state_(std::move(state)) {}
  // Sends `response` (on the server's threads; this call does not block on the network).
  // Returns false if this request was already answered.
  bool respond(Response response);

 private:
  std::shared_ptr<internal::ResponderState> state_;
};

// Called on a server thread for each routed request. It must not block: hand the work elsewhere
// (e.g. Context::post) and complete the Responder from there. An exception escaping it is logged
// and the client gets 500 (unless a copy of the Responder kept elsewhere answers).
using Handler = std::function<void(Request request, Responder responder)>;

enum class LogLevel { kDebug, kInfo, kWarn, kError };
// Thread rule: called from server threads and from start(); must be thread-safe.
using LogFn = std::function<void(LogLevel level, const std::string& message)>;

struct ServerOptions {
  std::string bind_address = "127.0.0.1";  // non-loopback without TLS logs a warning
  uint16_t port = 0;                       // 0: any free port, see Server::port()
  int threads = 1;                         // server threads running the io_context

  size_t max_header_bytes = 16 * 1024;              // request line + header fields; over it: 431
  size_t max_body_bytes = 1024 * 1024;              // over it: 413
  std::chrono::milliseconds header_timeout{10000};  // whole header must arrive within it: 408
  std::chrono::milliseconds body_timeout{30000};    // whole body must arrive within it: 408
  std::chrono::milliseconds idle_timeout{60000};    // keep-alive wait for the next request: close
  std::chrono::milliseconds write_timeout{30000};   // a response must be taken within it: close
  size_t max_connections = 256;  // over it: the new connection gets 503 + Retry-After and closed
  size_t max_in_flight = 64;     // requests handed to handlers and not answered; over it: 503
  int retry_after_seconds = 1;   // Retry-After for the two limits above

  // TLS (HTTPS) when both are set: PEM files, the certificate file may hold the chain. TLS 1.2
  // and later. The handshake counts against header_timeout.
  std::string tls_certificate_file;
  std::string tls_private_key_file;

  LogFn log;  // may be empty (nothing is logged)
};

// OWNERSHIP: owns its io_context, threads, listening socket and connections.
// Thread rule: route()/route_prefix() before start(); start()/stop()/destructor from one owning
// thread; port(), set_overloaded(), clear_overloaded() and stats from any thread.
class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // stop(0) if still running
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes `method` requests to exactly `path`. REQUIRES: not started.
  void route(std::string method, std::string path, Handler handler);
  // Routes `method` requests whose path starts with `prefix` (longest prefix wins; exact routes
  // win over prefixes). REQUIRES: not started.
  void route_prefix(std::string method, std::string prefix, Handler handler);

  // Binds, listens and starts the threads. Errors name the address and port.
  // REQUIRES: called once.
  Status start();
  // The bound port (the real one when options.port was 0). REQUIRES: start() succeeded.
  uint16_t port() const;

  // Back-pressure: until clear_overloaded(), every new request gets 503 with
  // Retry-After: retry_after_seconds instead of reaching a handler.
  void set_overloaded(int retry_after_seconds);
  void clear_overloaded();

  // Stops accepting, answers new requests on open connections with 503 and closes them, waits
  // up to `deadline` for requests in flight to be answered and written, then closes everything
  // and joins the threads. Idempotent.
  void stop(std::chrono::milliseconds deadline);

  size_t connections() const;  // open connections now
  size_t in_flight() const;    // requests with a handler now

 private:
  std::shared_ptr<class ServerCore> core_;
};

}  // namespace simpang::http
