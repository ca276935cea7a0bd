// An HTTP client for connectors that call out (pollers, webhook sinks), on libcurl's multi
// interface. Requests run on one thread of the client's own, so a plugin's runtime thread never
// waits on the network; with ClientOptions::completion_executor the answers come back on the
// plugin's runtime thread. Retrying is not the client's business: a failed or refused request is
// reported once, and the plugin decides (for a sink: settle retry_later, honouring Retry-After).
//
//   simpang::http::Client client({.total_timeout = std::chrono::seconds(10),
//                                 .completion_executor = [&ctx](auto f) { ctx.post(std::move(f));
//                                 }});
//   client.send({.method = "POST", .url = url, .headers = {{"Content-Type", "application/json"}},
//                .body = json},
//               [](simpang::http::ClientResult r) {  // on the runtime thread, exactly once
//     if (!r.ok()) return log(r.error().message);    // no response: names the URL and the cause
//     if (r->status == 429 || r->status == 503) retry_in(r->retry_after());
//   });
//
// Also here: parse_retry_after() and parse_http_date() (RFC 9110 §10.2.3, §5.6.7), and
// EntityTagStore, which turns repeated GETs of a URL into conditional ones (RFC 9110 §13.1).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "simpang/http/server.h"  // LogLevel, LogFn

namespace simpang::http {

struct ClientOptions {
  // From the start of a request until its connection is ready: TCP connect and TLS handshake.
  std::chrono::milliseconds connect_timeout{10000};
  // The whole request, queueing inside the client excluded; a request may set its own.
  std::chrono::milliseconds total_timeout{30000};
  // The response body (as received; no content decoding is asked for). Checked from
  // Content-Length before the body is read, and as the body arrives.
  size_t max_response_bytes = 8 * 1024 * 1024;
  size_t max_header_bytes = 64 * 1024;  // all header fields of one response together
  // Requests on the network at once; more wait in order, up to max_queued, beyond which send()
  // refuses at once (ClientErrorKind::kQueueFull).
  size_t max_in_flight = 32;
  size_t max_queued = 1024;
  size_t max_connections_per_host = 8;
  // Redirects followed (http and https only). 0: a 3xx is the response, as a sink must see it.
  int max_redirects = 0;
  // Certificate and host name checked against the trust store. Turning it off logs a warning.
  bool verify_tls = true;
  std::string ca_file;     // PEM trust store; empty: the system's
  std::string user_agent;  // empty: default_user_agent()
  LogFn log;               // may be empty
  // Runs each completion: given a function, it must run it once, on the thread of its choice.
  // Empty: completions run on the client's thread. Thread rule: called from the client's thread,
  // and from send()'s caller when send() refuses a request, so it must be thread-safe
  // (Context::post is).
  std::function<void(std::function<void()>)> completion_executor;
};

struct ClientRequest {
  std::string method = "GET";  // a token (case-sensitive); HEAD takes no body
  std::string url;             // http:// or https:// only
  // Sent as given, in order. Host, Content-Length and (unless set here) User-Agent come from the
  // client; no Content-Type is sent unless set here.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<std::chrono::milliseconds> timeout;  // total; empty: ClientOptions::total_timeout
};

// Any HTTP answer, whatever its status: a 404 or a 503 is a response, not an error.
struct ClientResponse {
  int status = 0;
  // The final response's header fields in the order received, names as sent (compare
  // case-insensitively; HTTP/2 sends them in lower case).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first value of the header `name` (case-insensitive), or nullptr.
  const std::string* header(std::string_view name) const;
  // The Retry-After field as a wait from `now` (see parse_retry_after); nullopt when absent or
  // malformed.
  std::optional<std::chrono::seconds> retry_after(
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;
};

// Why there is no response.
enum class ClientErrorKind {
  kInvalidRequest,  // bad URL, a scheme other than http/https, a bad method or header
  kQueueFull,       // max_in_flight + max_queued requests already accepted
  kConnect,         // name resolution or the TCP connection failed
  kConnectTimeout,  // connect_timeout passed before the connection was ready
  kTimeout,         // the request's total timeout passed
  kTls,             // handshake or certificate verification failed (the reason is in the message)
  kTooLarge,        // body over max_response_bytes or header over max_header_bytes
  kProtocol,        // the connection broke, or the answer is not HTTP
  kCancelled,       // the client was stopped
};
std::string_view to_string(ClientErrorKind kind);

struct ClientError {
  ClientErrorKind kind = ClientErrorKind::kProtocol;
  // "<METHOD> <url without userinfo, query and fragment>: <cause> (<libcurl's detail>)".
  std::string message;
};

// A response or the error that stands in for it. A value type.
class [[nodiscard]] ClientResult {
 public:
  ClientResult(ClientResponse response) : value_(std::move(response)) {}  // NOLINT: implicit
  ClientResult(ClientError error) : value_(std::move(error)) {}           // NOLINT: implicit

  bool ok() const { return std::holds_alternative<ClientResponse>(value_); }
  // REQUIRES: ok()
  const ClientResponse& response() const& { return std::get<ClientResponse>(value_); }
  ClientResponse& response() & { return std::get<ClientResponse>(value_); }
  const ClientResponse& operator*() const& { return response(); }
  ClientResponse& operator*() & { return response(); }
  const ClientResponse* operator->() const { return &response(); }
  ClientResponse* operator->() { return &response(); }
  // REQUIRES: !ok()
  const ClientError& error() const { return std::get<ClientError>(value_); }

 private:
  std::variant<ClientResponse, ClientError> value_;
};

using ClientCallback = std::function<void(ClientResult result)>;

// "simpang/<version of this SDK>".
std::string default_user_agent();

namespace internal {
class ClientCore;
}

// OWNERSHIP: owns its thread, its libcurl multi handle (with the connection cache every request
// shares, kept alive between requests) and every request accepted and not yet completed.
// Thread rule: every member from any thread, the destructor and stop() also from a completion.
// A completion must not block: without an executor it runs on the thread that drives every
// request of this client.
class Client {
 public:
  // Throws std::runtime_error when libcurl cannot be initialised (start-up only).
  explicit Client(ClientOptions options);
  // stop(). From a completion on the client's own thread it does not wait: the thread finishes
  // the cancellations and exits on its own.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends `request`; never blocks on the network. `done` runs exactly once (provided the
  // completion executor runs what it is given): with the response, or with the error that stands
  // in for it. Where: through the completion executor if set, else on the client's thread; but
  // after stop(), without an executor, inside this call. A request that is refused at once
  // (kInvalidRequest, kQueueFull, kCancelled after stop) never reaches the network.
  void send(ClientRequest request, ClientCallback done);

  // Completes every request in flight and queued as kCancelled, refuses later ones, and joins the
  // client's thread (except when called from it). Idempotent.
  void stop();

  size_t in_flight() const;  // requests on the network now
  size_t queued() const;     // requests accepted and waiting for a slot

 private:
  std::shared_ptr<internal::ClientCore> core_;
};

// --- Retry-After and HTTP dates ------------------------------------------------------------------

// An HTTP-date (RFC 9110 §5.6.7): IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") and the obsolete
// forms a recipient must accept, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT", its two-digit year
// read as the latest past year with those digits when it would be over 50 years after `now`) and
// asctime ("Sun Nov  6 08:49:37 1994"). Case-sensitive, as the grammar is; surrounding spaces are
// ignored. The weekday must be a weekday name, but is not checked against the date.
std::optional<std::chrono::system_clock::time_point> parse_http_date(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Retry-After (RFC 9110 §10.2.3): delta-seconds or an HTTP-date, as the wait from `now`, rounded
// up to whole seconds. A date in the past gives 0; a delay is capped at 2^31 seconds; anything
// else (a sign, a fraction, garbage) gives nullopt.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now);

// --- Conditional GETs ----------------------------------------------------------------------------

// An entity-tag (RFC 9110 §8.8.3): W/"xyzzy" (weak) or "xyzzy" (strong).
struct EntityTag {
  bool weak = false;
  std::string opaque;  // between the double quotes

  // nullopt unless `value` (surrounding spaces ignored) is one well-formed entity-tag.
  static std::optional<EntityTag> parse(std::string_view value);
  std::string to_string() const;  // as on the wire
  // Strong comparison: both strong, same opaque-tag. Weak comparison: same opaque-tag.
  static bool strong_match(const EntityTag& a, const EntityTag& b);
  static bool weak_match(const EntityTag& a, const EntityTag& b);
};

// Remembers the validators (ETag, Last-Modified) of each URL's last 200 and makes the next GET or
// HEAD of the URL conditional (If-None-Match, If-Modified-Since), so an unchanged resource costs a
// 304 without a body. Keyed by the exact URL; at most `max_urls`, the one least recently answered
// 200 or 304 forgotten first. It keeps no bodies: on kNotModified the caller keeps what it had.
// Thread rule: any thread (internally locked).
class EntityTagStore {
 public:
  explicit EntityTagStore(size_t max_urls = 1024) : max_urls_(max_urls) {}

  // Adds If-None-Match / If-Modified-Since for `request.url` when known and the request is a GET
  // or HEAD that does not already carry them.
  void add_conditions(ClientRequest& request) const;

  enum class Outcome {
    kModified,     // 200: its validators are remembered (or forgotten when it has none)
    kNotModified,  // 304: nothing changed; validators it carries replace the remembered ones
    kOther,        // any other status: nothing remembered changes
  };
  // Records `response`, the answer to a request for `url`.
  Outcome record(std::string_view url, const ClientResponse& response);

  void forget(std::string_view url);
  size_t size() const;

 private:
  struct Validators {
    std::optional<EntityTag> etag;
    std::string last_modified;  // a well-formed HTTP-date as the server sent it, or empty
    uint64_t recorded = 0;      // order of recording, for eviction
  };
  const size_t max_urls_;
  mutable std::mutex mu_;
  std::map<std::string, Validators, std::less<>> by_url_;  // guarded by mu_
  uint64_t next_record_ = 0;                               // guarded by mu_
};

}  // namespace simpang::http
