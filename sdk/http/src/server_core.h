// The shared state behind simpang::http::Server, its connections and the Responders it hands out.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "server_asio.h"
#include "simpang/http/server.h"

namespace simpang::http {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

class SessionBase;

using Strand = net::strand<net::io_context::executor_type>;
using Acceptor = net::basic_socket_acceptor<tcp, Strand>;
using StrandTimer = net::basic_waitable_timer<std::chrono::steady_clock,
                                              net::wait_traits<std::chrono::steady_clock>, Strand>;

struct Route {
  std::string method;
  Handler handler;
};

// OWNERSHIP: shared by the Server, each Session and each ResponderState, so a Responder that
// outlives the Server keeps the io_context (and so the sockets it queues work on) alive.
// Thread rule: options_ and routes are read-only after start(); the rest is atomic or under mu.
class ServerCore {
 public:
  explicit ServerCore(ServerOptions options) : options(std::move(options)) {}

  void log(LogLevel level, const std::string& message) const {
    if (options.log) options.log(level, message);
  }

  // What a request for `method` `path` reaches: the handler, or a 404/405 response.
  // Returns nullptr and fills `refusal` when there is no handler.
  const Handler* find(const std::string& method, const std::string& path, Response* refusal) const;

  // A request left the handler (answered or abandoned): counts it down and wakes stop().
  void request_done();

  const ServerOptions options;
  std::map<std::string, std::vector<Route>> exact;     // path -> routes
  std::map<std::string, std::vector<Route>> prefixes;  // prefix -> routes

  // The hint is the number of threads running it; 1 lets Asio skip its internal locking.
  net::io_context io{std::max(1, options.threads)};
  std::optional<net::executor_work_guard<net::io_context::executor_type>> guard;
  // Both on one strand, the acceptor's.
  std::optional<Acceptor> acceptor;
  std::optional<StrandTimer> accept_backoff;
  std::optional<net::ssl::context> tls;  // set when a certificate and key are configured
  std::vector<std::thread> threads;
  uint16_t port = 0;

  std::atomic<size_t> connections{0};
  std::atomic<size_t> rejecting{0};
  std::atomic<size_t> in_flight{0};
  std::atomic<int> overloaded_retry_after{-1};  // -1: not overloaded
  std::atomic<bool> draining{false};

  std::mutex mu;
  std::condition_variable idle_cv;  // in_flight reached 0
  bool stopped = false;             // under mu: completions are dropped, not posted
  std::map<SessionBase*, std::weak_ptr<SessionBase>> sessions;  // under mu
};

// What a Responder and stop() need of a connection, whatever its transport.
// Thread rule: each posts to the connection's strand; callable from any thread.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  // Posts the handler's answer to the strand. From any thread, at most once per request.
  virtual void complete(Response response) = 0;
  // Closes the connection now (on the strand).
  virtual void close_soon() = 0;
  // Closes the connection if it is waiting for a next request (on the strand).
  virtual void close_if_idle() = 0;
};

// One connection over `Stream` (a TCP socket, or a TLS stream over one): reads a request,
// dispatches it, writes the answer, repeats while kept alive.
// Thread rule: everything runs on the socket's strand; SessionBase's methods from any thread.
template <typename Stream>
class Session : public SessionBase {
 public:
  Session(std::shared_ptr<ServerCore> core, Stream stream, bool reject);
  ~Session() override;
  void start();
  void complete(Response response) override;
  void close_soon() override;
  void close_if_idle() override;

 private:
  enum class Phase { kIdle, kHeader, kBody, kHandler, kWrite, kClosed };
  static constexpr bool kTls = !std::is_same_v<Stream, tcp::socket>;
  tcp::socket& socket() { return beast::get_lowest_layer(stream_); }
  void begin();  // after the TLS handshake, if any
  void wait_idle();
  void read_header();
  void on_header(beast::error_code ec);
  void read_body();
  void dispatch();
  void send(Response response, bool close);
  void fail_read(beast::error_code ec, const char* what);
  void arm(std::chrono::milliseconds timeout);
  void close_now();

  std::shared_ptr<ServerCore> core_;
  Stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<beast::http::request_parser<beast::http::string_body>> parser_;
  std::shared_ptr<beast::http::response<beast::http::string_body>> response_;
  std::string remote_;
  Phase phase_ = Phase::kHeader;
  bool timed_out_ = false;
  uint64_t timer_generation_ = 0;
  bool keep_alive_ = true;
  bool reject_;
};

using PlainSession = Session<tcp::socket>;
using TlsSession = Session<beast::ssl_stream<tcp::socket>>;

namespace internal {
// Behind every copy of one Responder. Its destructor answers 500 if nobody responded.
class ResponderState {
 public:
  explicit ResponderState(std::shared_ptr<SessionBase> session) : session_(std::move(session)) {}
  ~ResponderState();
  bool respond(Response response);

 private:
  std::shared_ptr<SessionBase> session_;
  std::atomic<bool> done_{false};
};
}  // namespace internal

}  // namespace simpang::http
