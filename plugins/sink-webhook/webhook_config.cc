// sink-webhook's configuration; see webhook_config.h.
#include "webhook_config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <optional>
#include <system_error>

#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::sink_webhook {
namespace {

using simpang::sdk::ConfigError;
using simpang::sdk::ConfigReader;

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// RFC 9110 §5.6.2 tchar.
bool is_token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

// A field value may hold visible characters, spaces and tabs (and obs-text), never CR, LF, NUL or
// another control character: those would end the field or the header.
bool is_field_value(std::string_view value) {
  return std::none_of(value.begin(), value.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7F;
  });
}

// Where in `url` the authority ends: at the first '/', '?' or '#' after "scheme://".
size_t authority_end(std::string_view url, size_t begin) {
  const size_t end = url.find_first_of("/?#", begin);
  return end == std::string_view::npos ? url.size() : end;
}

template <typename T>
T at_least(ConfigReader& config, std::string_view key, T fallback, T minimum, T maximum) {
  const T value = config.optional<T>(key, fallback);
  if (value < minimum || value > maximum) {
    throw config.error(key, "must be " + std::to_string(minimum) + " to " +
                                std::to_string(maximum) + ", got " + std::to_string(value));
  }
  return value;
}

std::chrono::milliseconds positive_duration(ConfigReader& config, std::string_view key,
                                            std::chrono::milliseconds fallback) {
  const auto value = config.optional<std::chrono::milliseconds>(key, fallback);
  if (value < std::chrono::milliseconds(1)) {
    throw config.error(key, "must be at least 1ms (written like 500ms, 10s or 5m)");
  }
  return value;
}

// Header names the sink sets itself, or that the HTTP client owns.
std::optional<std::string> clash(std::string_view name) {
  const std::string lower = ascii_lower(name);
  if (lower == "content-type") {
    return "clashes with the header the sink sets itself (the CloudEvents media type, or the "
           "event's datacontenttype in binary mode)";
  }
  if (starts_with(lower, "webhook-")) {
    return "clashes with the Standard Webhooks headers the sink sets itself (webhook-id, "
           "webhook-timestamp, webhook-signature)";
  }
  if (starts_with(lower, "ce-")) {
    return "clashes with the CloudEvents attribute headers of binary mode (ce-*)";
  }
  if (lower == "content-length" || lower == "host" || lower == "transfer-encoding" ||
      lower == "connection") {
    return "is set by the HTTP client and cannot be configured";
  }
  return std::nullopt;
}

HeaderFields read_headers(ConfigReader& config) {
  HeaderFields out;
  if (!config.has("headers")) {
    return out;
  }
  ConfigReader headers = config.nested("headers");
  for (const auto& [name, value] : headers.json().items()) {
    const std::string path = headers.path_of(name);
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
      throw ConfigError(path + ": not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)");
    }
    if (auto why = clash(name)) {
      throw ConfigError(path + ": " + *why);
    }
    if (!value.is_string()) {
      throw ConfigError(path + ": must be a string (the header's value)");
    }
    // The value is never quoted: it may hold a credential (an Authorization header).
    if (!is_field_value(value.get_ref<const std::string&>())) {
      throw ConfigError(path + ": the value holds a line break or another control character");
    }
    for (const auto& [seen, ignored] : out) {
      if (ascii_lower(seen) == ascii_lower(name)) {
        throw ConfigError(path + ": the same header as " + headers.path_of(seen) +
                          " (names are case-insensitive)");
      }
    }
    out.emplace_back(name, value.get<std::string>());
  }
  return out;
}

std::vector<simpang::http::WebhookSecret> read_secrets(ConfigReader& config) {
  const bool one = config.has("secret");
  const bool many = config.has("secrets");
  if (one && many) {
    throw config.error("secrets",
                       "give either secret or secrets (a list, while rotating), not "
                       "both");
  }
  std::vector<std::string> texts;
  std::string path;
  if (one) {
    const std::optional<nlohmann::json> value = config.get<nlohmann::json>("secret");
    if (!value || !value->is_string()) {
      throw config.error("secret",
                         "must be a string: a Standard Webhooks secret whsec_<base64>, "
                         "usually \"${file:...}\" or \"${env:...}\"");
    }
    texts.push_back(value->get<std::string>());
  } else if (many) {
    texts = config.required<std::vector<std::string>>("secrets");
    if (texts.empty()) {
      throw config.error("secrets",
                         "must list at least one secret (or leave the key out to "
                         "send unsigned requests)");
    }
  }
  std::vector<simpang::http::WebhookSecret> secrets;
  for (size_t i = 0; i < texts.size(); ++i) {
    // WebhookSecret's messages never contain the secret.
    StatusOr<simpang::http::WebhookSecret> secret = simpang::http::WebhookSecret::parse(texts[i]);
    if (!secret.ok()) {
      const std::string where = one ? config.path_of("secret")
                                    : config.path_of("secrets") + "[" + std::to_string(i) + "]";
      throw ConfigError(where + ": " + secret.status().message());
    }
    secrets.push_back(std::move(*secret));
  }
  return secrets;
}

}  // namespace

const char* content_mode_name(ContentMode mode) {
  return mode == ContentMode::kBinary ? "binary" : "structured";
}

StatusOr<UrlParts> parse_url(std::string_view url) {
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {
      return Status::Error("holds a space or a control character (percent-encode it)");
    }
  }
  const size_t colon = url.find("://");
  if (colon == std::string_view::npos || colon == 0) {
    return Status::Error("is not an absolute URL (expected https://host[:port]/path)");
  }
  UrlParts parts;
  parts.scheme = ascii_lower(url.substr(0, colon));
  if (parts.scheme != "http" && parts.scheme != "https") {
    return Status::Error("scheme '" + parts.scheme + "' is not http or https");
  }
  const size_t begin = colon + 3;
  std::string_view authority = url.substr(begin, authority_end(url, begin) - begin);
  const size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    parts.has_userinfo = true;
    authority.remove_prefix(at + 1);
  }
  std::string_view port;
  if (starts_with(authority, "[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return Status::Error("the IPv6 address in brackets is not closed with ']'");
    }
    parts.host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return Status::Error("unexpected text after the IPv6 address");
      }
      port = rest.substr(1);
    }
  } else {
    const size_t port_colon = authority.rfind(':');
    parts.host = std::string(authority.substr(0, port_colon));
    if (port_colon != std::string_view::npos) {
      port = authority.substr(port_colon + 1);
    }
  }
  if (parts.host.empty()) {
    return Status::Error("has no host");
  }
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      port.size() > 5 || (!port.empty() && std::stoi(std::string(port)) > 65535)) {
    return Status::Error("port '" + std::string(port) + "' is not a number from 0 to 65535");
  }
  parts.port = std::string(port);
  return parts;
}

bool is_loopback_host(std::string_view host) {
  const std::string lower = ascii_lower(host);
  if (lower == "localhost" || ends_with(lower, ".localhost")) {
    return true;  // RFC 6761 §6.3: resolves to loopback only
  }
  in_addr v4{};
  if (::inet_pton(AF_INET, lower.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6{};
  if (::inet_pton(AF_INET6, lower.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) {
      return true;
    }
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::string redact_url(std::string_view url) {
  const size_t colon = url.find("://");
  std::string out;
  size_t rest = 0;
  if (colon != std::string_view::npos) {
    const size_t begin = colon + 3;
    const size_t end = authority_end(url, begin);
    std::string_view authority = url.substr(begin, end - begin);
    const size_t at = authority.rfind('@');
    if (at != std::string_view::npos) {
      authority.remove_prefix(at + 1);
    }
    out = std::string(url.substr(0, begin)) + std::string(authority);
    rest = end;
  }
  const std::string_view tail = url.substr(rest);
  out += tail.substr(0, tail.find_first_of("?#"));
  return out;
}

WebhookConfig read_config(const nlohmann::json& json) {
  ConfigReader config(json);
  WebhookConfig out;
  const std::optional<nlohmann::json> url = config.get<nlohmann::json>("url");
  if (!url) {
    throw config.error("url", "required (the https:// URL events are sent to)");
  }
  if (!url->is_string()) {
    throw config.error("url", "must be a string (the https:// URL events are sent to)");
  }
  out.url = url->get<std::string>();
  const std::string mode = config.optional("mode", "structured");
  out.secrets = read_secrets(config);
  out.headers = read_headers(config);
  out.timeout = positive_duration(config, "timeout", out.timeout);
  out.connect_timeout = positive_duration(config, "connect_timeout", out.connect_timeout);
  out.max_in_flight = at_least<uint32_t>(config, "max_in_flight", out.max_in_flight, 1, 1024);
  out.max_retry_after =
      config.optional<std::chrono::milliseconds>("max_retry_after", out.max_retry_after);
  out.ca_file = config.optional<std::string>("ca_file", "");
  out.verify_tls = config.optional<bool>("verify_tls", out.verify_tls);
  out.allow_insecure = config.optional<bool>("allow_insecure", out.allow_insecure);
  out.max_response_bytes = at_least<uint64_t>(config, "max_response_bytes", out.max_response_bytes,
                                              256, uint64_t{1} << 32);
  config.reject_unknown();

  // The URL may carry a credential (userinfo, a token in the query): messages show its redacted
  // form only.
  out.shown_url = redact_url(out.url);
  StatusOr<UrlParts> parts = parse_url(out.url);
  if (!parts.ok()) {
    throw config.error("url", "'" + out.shown_url + "' " + parts.status().message());
  }
  if (out.url.find('#') != std::string::npos) {
    throw config.error("url", "must not have a fragment ('#...'): it is never sent");
  }
  if (parts->scheme == "http" && !out.allow_insecure && !is_loopback_host(parts->host)) {
    throw config.error("url", "'" + out.shown_url +
                                  "' is plain http to a host other than this machine: events "
                                  "and signatures would cross the network unencrypted. Use "
                                  "https, or set allow_insecure: true");
  }
  if (mode == "structured") {
    out.mode = ContentMode::kStructured;
  } else if (mode == "binary") {
    out.mode = ContentMode::kBinary;
  } else {
    throw config.error("mode", "must be structured or binary, got '" + mode + "'");
  }
  if (out.max_retry_after < std::chrono::seconds(1)) {
    throw config.error("max_retry_after", "must be at least 1s (written like 30s or 5m)");
  }
  if (!out.ca_file.empty()) {
    std::error_code error;
    if (!std::filesystem::is_regular_file(out.ca_file, error)) {
      throw config.error("ca_file", "'" + out.ca_file + "' is not a file (a PEM trust store)");
    }
    if (parts->scheme != "https") {
      throw config.error("ca_file", "is for https URLs; the url is plain http");
    }
  }
  return out;
}

}  // namespace simpang::plugins::sink_webhook
