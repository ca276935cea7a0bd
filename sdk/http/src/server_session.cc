// One HTTP connection of simpang::http::Server: the read / dispatch / write loop and its limits.
#include <chrono>

#include "server_core.h"

namespace simpang::http {

namespace bhttp = beast::http;

template <typename Stream>
Session<Stream>::Session(std::shared_ptr<ServerCore> core, Stream stream, bool reject)
    : core_(std::move(core)),
      stream_(std::move(stream)),
      timer_(stream_.get_executor()),
      // The buffer may hold the header plus one read's worth; the body goes to the parser.
      buffer_(core_->options.max_header_bytes + 8192),
      reject_(reject) {
  (reject_ ? core_->rejecting : core_->connections).fetch_add(1);
  beast::error_code ec;
  auto peer = socket().remote_endpoint(ec);
  if (!ec) remote_ = peer.address().to_string();
}

template <typename Stream>
Session<Stream>::~Session() {
  (reject_ ? core_->rejecting : core_->connections).fetch_sub(1);
  std::lock_guard lock(core_->mu);
  core_->sessions.erase(static_cast<SessionBase*>(this));
}

template <typename Stream>
void Session<Stream>::start() {
  {
    std::lock_guard lock(core_->mu);
    core_->sessions[static_cast<SessionBase*>(this)] = weak_from_this();
  }
  net::dispatch(stream_.get_executor(), [this, self = shared_from_this()] {
    if constexpr (kTls) {
      // The handshake counts as part of the header: header_timeout bounds it. A refused
      // connection is handshaken too, so that its 503 can be read.
      arm(core_->options.header_timeout);
      stream_.async_handshake(net::ssl::stream_base::server,
                              [this, self = shared_from_this()](beast::error_code ec) {
                                if (ec) return this->close_now();
                                begin();
                              });
    } else {
      begin();
    }
  });
}

template <typename Stream>
void Session<Stream>::begin() {
  if (!reject_) return read_header();
  Response r = Response::Text(503, "too many connections: the limit max_connections is " +
                                       std::to_string(core_->options.max_connections) + "\n");
  r.headers.emplace_back("Retry-After", std::to_string(core_->options.retry_after_seconds));
  send(std::move(r), true);
}

template <typename Stream>
void Session<Stream>::arm(std::chrono::milliseconds timeout) {
  timed_out_ = false;
  timer_.expires_after(timeout);
  // A deadline that expired just as its phase completed may already be queued; the generation
  // keeps it from cutting the next phase short.
  const uint64_t generation = ++timer_generation_;
  timer_.async_wait([this, self = shared_from_this(), generation](beast::error_code ec) {
    if (ec || generation != timer_generation_) return;  // cancelled or re-armed
    timed_out_ = true;
    beast::error_code ignored;
    socket().cancel(ignored);
  });
}

template <typename Stream>
void Session<Stream>::wait_idle() {
  phase_ = Phase::kIdle;
  if (core_->draining.load()) return this->close_now();
  if (buffer_.size() > 0) return read_header();  // the next request is already here
  if constexpr (kTls) {
    // The TLS layer may hold the next request already read off the socket, so readiness of the
    // socket says nothing: the idle wait is the header read itself, under idle_timeout.
    read_header();
    arm(core_->options.idle_timeout);
    return;
  }
  arm(core_->options.idle_timeout);
  socket().async_wait(tcp::socket::wait_read,
                      [this, self = shared_from_this()](beast::error_code ec) {
                        if (ec || timed_out_)
                          return this->close_now();  // idle too long: close without a word
                        read_header();
                      });
}

template <typename Stream>
void Session<Stream>::read_header() {
  phase_ = Phase::kHeader;
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(core_->options.max_header_bytes));
  parser_->body_limit(core_->options.max_body_bytes);
  arm(core_->options.header_timeout);
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [this, self = shared_from_this()](beast::error_code ec, size_t) { on_header(ec); });
}

template <typename Stream>
void Session<Stream>::fail_read(beast::error_code ec, const char* what) {
  const ServerOptions& o = core_->options;
  if (timed_out_) {
    std::string limit = phase_ == Phase::kBody ? "body_timeout" : "header_timeout";
    auto ms = phase_ == Phase::kBody ? o.body_timeout : o.header_timeout;
    return send(Response::Text(408, "request " + std::string(what) + " not received within the " +
                                        limit + " of " + std::to_string(ms.count()) + " ms\n"),
                true);
  }
  if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow) {
    return send(Response::Text(431, "request header larger than the limit max_header_bytes of " +
                                        std::to_string(o.max_header_bytes) + " bytes\n"),
                true);
  }
  if (ec == bhttp::error::body_limit) {
    return send(Response::Text(413, "request body larger than the limit max_body_bytes of " +
                                        std::to_string(o.max_body_bytes) + " bytes\n"),
                true);
  }
  if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
      ec == net::error::connection_reset || ec == net::error::operation_aborted) {
    return this->close_now();
  }
  send(Response::Text(400, "malformed request " + std::string(what) + ": " + ec.message() + "\n"),
       true);
}

template <typename Stream>
void Session<Stream>::on_header(beast::error_code ec) {
  if (ec) return fail_read(ec, "header");
  auto length = parser_->content_length();
  if (length && *length > core_->options.max_body_bytes) {
    // Refused before reading a byte of it; the connection closes, so the body is never read.
    return fail_read(bhttp::error::body_limit, "body");
  }
  auto& req = parser_->get();
  auto expect = req.find(bhttp::field::expect);
  if (expect != req.end() && beast::iequals(expect->value(), "100-continue")) {
    static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    arm(core_->options.write_timeout);
    return net::async_write(stream_, net::buffer(kContinue),
                            [this, self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return this->close_now();
                              read_body();
                            });
  }
  read_body();
}

template <typename Stream>
void Session<Stream>::read_body() {
  phase_ = Phase::kBody;
  if (parser_->is_done()) return dispatch();
  arm(core_->options.body_timeout);
  bhttp::async_read(stream_, buffer_, *parser_,
                    [this, self = shared_from_this()](beast::error_code ec, size_t) {
                      if (ec) return fail_read(ec, "body");
                      dispatch();
                    });
}

template <typename Stream>
void Session<Stream>::dispatch() {
  ++timer_generation_;
  timer_.cancel();
  auto& msg = parser_->get();
  keep_alive_ = msg.keep_alive();
  Request request;
  request.method = std::string(msg.method_string());
  request.target = std::string(msg.target());
  size_t q = request.target.find('?');
  request.path = request.target.substr(0, q);
  if (q != std::string::npos) request.query = request.target.substr(q + 1);
  for (const auto& f : msg) request.headers.emplace_back(f.name_string(), f.value());
  request.body = std::move(msg.body());
  request.remote_address = remote_;
  parser_.reset();

  const ServerOptions& o = core_->options;
  auto busy = [&](std::string why, int retry_after) {
    Response r = Response::Text(503, std::move(why));
    r.headers.emplace_back("Retry-After", std::to_string(retry_after));
    send(std::move(r), false);
  };
  if (core_->draining.load()) {
    Response r = Response::Text(503, "server is stopping\n");
    return send(std::move(r), true);
  }
  Response refusal;
  const Handler* handler = core_->find(request.method, request.path, &refusal);
  if (handler == nullptr) return send(std::move(refusal), false);
  if (int after = core_->overloaded_retry_after.load(); after >= 0) {
    return busy("overloaded: the receiver asked senders to back off\n", after);
  }
  if (core_->in_flight.fetch_add(1) >= o.max_in_flight) {
    core_->in_flight.fetch_sub(1);
    return busy("too many requests in flight: the limit max_in_flight is " +
                    std::to_string(o.max_in_flight) + "\n",
                o.retry_after_seconds);
  }
  phase_ = Phase::kHandler;
  Responder responder(std::make_shared<internal::ResponderState>(shared_from_this()));
  // An exception escaping here would end a server thread (and the process): the handler's
  // Responder, dropped unanswered as the exception unwinds, answers 500; the error is logged.
  std::string where = request.method + " " + request.path;
  try {
    (*handler)(std::move(request), std::move(responder));
  } catch (const std::exception& e) {
    core_->log(LogLevel::kError, "http: handler for " + where + " threw: " + e.what());
  } catch (...) {
    core_->log(LogLevel::kError, "http: handler for " + where + " threw a non-standard exception");
  }
}

template <typename Stream>
void Session<Stream>::complete(Response response) {
  // Posted under mu so that stop(), which sets stopped before joining the threads, never leaves
  // this work queued on an io_context nobody runs (its Session would then never be freed).
  std::lock_guard lock(core_->mu);
  if (core_->stopped) return;  // past stop()'s deadline: close_soon() has counted the request
  net::post(stream_.get_executor(),
            [this, self = shared_from_this(), r = std::move(response)]() mutable {
              if (phase_ != Phase::kHandler) return;  // closed by stop(), which counted it
              send(std::move(r), false);
            });
}

template <typename Stream>
void Session<Stream>::send(Response r, bool close) {
  bool was_handled = phase_ == Phase::kHandler;
  phase_ = Phase::kWrite;
  if (close || core_->draining.load()) keep_alive_ = false;
  auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
  res->version(11);
  res->result(static_cast<unsigned>(r.status));
  res->set(bhttp::field::content_type, r.content_type);
  for (auto& [k, v] : r.headers) res->insert(k, v);
  res->body() = std::move(r.body);
  res->keep_alive(keep_alive_);
  res->prepare_payload();
  response_ = res;
  arm(core_->options.write_timeout);
  bhttp::async_write(stream_, *res,
                     [this, self = shared_from_this(), was_handled](beast::error_code ec, size_t) {
                       if (was_handled) core_->request_done();
                       response_.reset();
                       if (ec || !keep_alive_) return this->close_now();
                       wait_idle();
                     });
}

template <typename Stream>
void Session<Stream>::close_now() {
  phase_ = Phase::kClosed;
  ++timer_generation_;
  timer_.cancel();
  beast::error_code ignored;
  socket().shutdown(tcp::socket::shutdown_send, ignored);
  socket().close(ignored);
}

template <typename Stream>
void Session<Stream>::close_soon() {
  net::post(stream_.get_executor(), [this, self = shared_from_this()] {
    if (phase_ == Phase::kHandler) core_->request_done();
    this->close_now();
  });
}

template <typename Stream>
void Session<Stream>::close_if_idle() {
  net::post(stream_.get_executor(), [this, self = shared_from_this()] {
    if (phase_ == Phase::kIdle) this->close_now();
  });
}

template class Session<tcp::socket>;
template class Session<beast::ssl_stream<tcp::socket>>;

}  // namespace simpang::http
