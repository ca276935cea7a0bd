// sink-webhook's configuration: the instance's `config:` mapping read and validated at once (every
// key, unknown keys refused naming the known ones, each bad value refused naming its key path and
// never quoting a secret or a configured header's value), and the target URL's parts the plugin
// needs (whether it is loopback, and a form of it safe to log).
//
//   WebhookConfig config = read_config(ctx.config());   // throws simpang::sdk::ConfigError
//   ctx.log(kInfo, "delivering to " + config.shown_url);  // no userinfo, query or fragment
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simpang/base/status.h"
#include "simpang/http/auth.h"

namespace simpang::plugins::sink_webhook {

using HeaderFields = std::vector<std::pair<std::string, std::string>>;

// How an event travels in the request (CloudEvents HTTP protocol binding 1.0, §3).
enum class ContentMode {
  kStructured,  // the body is the CloudEvents JSON document (application/cloudevents+json)
  kBinary,      // attributes in ce-* headers, the body is the data
};
const char* content_mode_name(ContentMode mode);  // "structured", "binary"

struct WebhookConfig {
  std::string url;        // as configured (may hold userinfo or a query: never log it)
  std::string shown_url;  // scheme://host[:port]/path: what logs and reasons show
  ContentMode mode = ContentMode::kStructured;
  // The signing secrets (`secret`, or `secrets` while rotating); empty: requests are unsigned.
  std::vector<simpang::http::WebhookSecret> secrets;
  HeaderFields headers;  // `headers`: extra fields sent with every request, in key order
  std::chrono::milliseconds timeout{10000};
  std::chrono::milliseconds connect_timeout{3000};
  uint32_t max_in_flight = 16;
  std::chrono::milliseconds max_retry_after{std::chrono::minutes(5)};
  std::string ca_file;
  bool verify_tls = true;
  bool allow_insecure = false;
  size_t max_response_bytes = 1024 * 1024;
};

// Reads and validates `config`. Throws simpang::sdk::ConfigError naming the key path, e.g.
// "config.headers.Content-Type: clashes with the header the sink sets itself ...".
WebhookConfig read_config(const nlohmann::json& config);

// The parts of an http(s) URL this plugin looks at.
struct UrlParts {
  std::string scheme;  // lower case: "http" or "https"
  std::string host;    // as written, without brackets for an IPv6 literal
  std::string port;    // digits, or empty
  bool has_userinfo = false;
};
// Splits `url` (scheme "://" [userinfo "@"] host [":" port] [path] ["?" query] ["#" fragment]).
// Fails naming what is wrong: no scheme, a scheme other than http/https, an empty host, a
// non-numeric port, spaces or control characters.
StatusOr<UrlParts> parse_url(std::string_view url);

// Whether `host` names this machine only: "localhost" (and "*.localhost"), 127.0.0.0/8, ::1.
bool is_loopback_host(std::string_view host);

// `url` without userinfo, query and fragment: safe to put in a log line or a reason.
std::string redact_url(std::string_view url);

}  // namespace simpang::plugins::sink_webhook
