// source-http's configuration and client authentication; see source_http_config.h.
#include "source_http_config.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::source_http {
namespace {

using simpang::sdk::ConfigError;
using simpang::sdk::ConfigReader;

template <typename T>
T at_least(ConfigReader& config, std::string_view key, T fallback, T minimum) {
  const T value = config.optional<T>(key, fallback);
  if (value < minimum) {
    throw config.error(key, "must be at least " + std::to_string(minimum) + ", got " +
                                std::to_string(value));
  }
  return value;
}

std::filesystem::path resolved(std::filesystem::path path, const std::filesystem::path& base) {
  return path.is_relative() ? base / path : path;
}

ClientConfig read_client(const nlohmann::json& entry, const std::string& path) {
  if (!entry.is_object()) {
    throw ConfigError(path + ": must be a mapping with name, token or webhook_secrets, types and "
                             "source_prefix");
  }
  ConfigReader reader(entry, path);
  ClientConfig client;
  client.name = reader.required<std::string>("name");
  if (client.name.empty()) {
    throw reader.error("name", "must not be empty");
  }
  client.tokens = reader.optional<std::vector<std::string>>("token", {});
  client.webhook_secrets = reader.optional<std::vector<std::string>>("webhook_secrets", {});
  const auto types = reader.required<std::vector<std::string>>("types");
  client.source_prefix = reader.required<std::string>("source_prefix");
  client.events_per_second = reader.optional<double>("events_per_second", 0);
  client.bytes_per_second = reader.optional<double>("bytes_per_second", 0);
  reader.reject_unknown();

  if (client.tokens.empty() && client.webhook_secrets.empty()) {
    throw ConfigError(path + ": client '" + client.name +
                      "' has no credentials: give it a token or webhook_secrets");
  }
  for (size_t i = 0; i < client.tokens.size(); ++i) {
    // BearerAuth's messages never contain the token.
    auto check = simpang::http::BearerAuth::create({client.tokens[i]});
    if (!check.ok()) {
      throw ConfigError(reader.path_of("token") + "[" + std::to_string(i) +
                        "]: " + check.status().message());
    }
  }
  if (!client.webhook_secrets.empty()) {
    auto check = simpang::http::WebhookVerifier::create(client.webhook_secrets);
    if (!check.ok()) {
      throw ConfigError(reader.path_of("webhook_secrets") + ": " + check.status().message());
    }
  }
  if (types.empty()) {
    throw reader.error("types", "must list at least one type pattern (e.g. talent.**)");
  }
  for (size_t i = 0; i < types.size(); ++i) {
    StatusOr<TypePattern> pattern = TypePattern::compile(types[i]);
    if (!pattern.ok()) {
      throw ConfigError(reader.path_of("types") + "[" + std::to_string(i) +
                        "]: " + pattern.status().message());
    }
    client.types.push_back(std::move(*pattern));
  }
  for (const char* quota : {"events_per_second", "bytes_per_second"}) {
    const double value = std::string_view(quota) == "events_per_second" ? client.events_per_second
                                                                        : client.bytes_per_second;
    if (!(value >= 0) || !std::isfinite(value)) {
      throw reader.error(quota, "must be a number >= 0 (0: no quota), got " + std::to_string(value));
    }
  }
  if (client.source_prefix.empty()) {
    throw reader.error("source_prefix",
                       "must not be empty: it is the start every source of this client has "
                       "(e.g. /partners/acme/)");
  }
  return client;
}

Problem unauthorized(std::string type, std::string title, std::string detail, bool bearer,
                     bool invalid_token) {
  Problem p = Problem::make(401, std::move(type), std::move(title), std::move(detail));
  if (bearer) {
    // RFC 6750 §3: no error code when no credentials were sent; invalid_token when they were bad.
    p.headers.emplace_back("WWW-Authenticate", invalid_token
                                                   ? "Bearer realm=\"simpang\", error=\"invalid_token\""
                                                   : "Bearer realm=\"simpang\"");
  }
  return p;
}

std::optional<std::string_view> header_view(const HeaderFields& headers, std::string_view name) {
  const std::string* value = find_header(headers, name);
  if (value == nullptr) {
    return std::nullopt;
  }
  return std::string_view(*value);
}

}  // namespace

SourceHttpConfig read_config(const nlohmann::json& json, const std::filesystem::path& state_dir) {
  ConfigReader config(json);
  SourceHttpConfig out;
  out.listen = config.optional<std::string>("listen", out.listen);
  const uint32_t port = config.optional<uint32_t>("port", 0);
  out.path = config.optional<std::string>("path", out.path);
  const bool has_tls = config.has("tls");
  ConfigReader tls = config.nested("tls");
  out.max_body_bytes = at_least<uint64_t>(config, "max_body_bytes", out.max_body_bytes, 1);
  out.max_batch_events = at_least<uint64_t>(config, "max_batch_events", out.max_batch_events, 1);
  out.max_connections = at_least<uint64_t>(config, "max_connections", out.max_connections, 1);
  out.max_in_flight = at_least<uint64_t>(config, "max_in_flight", out.max_in_flight, 1);
  out.publish_timeout =
      config.optional<std::chrono::milliseconds>("publish_timeout", out.publish_timeout);
  out.threads = at_least<int>(config, "threads", out.threads, 1);
  const nlohmann::json clients = config.required<nlohmann::json>("clients");
  config.reject_unknown();

  if (out.listen.empty()) {
    throw config.error("listen", "must not be empty (an IP address, e.g. 127.0.0.1 or 0.0.0.0)");
  }
  if (port > std::numeric_limits<uint16_t>::max()) {
    throw config.error("port", "must be 0 (any free port) to 65535, got " + std::to_string(port));
  }
  out.port = static_cast<uint16_t>(port);
  if (out.path.empty() || out.path.front() != '/' ||
      out.path.find_first_of("?# ") != std::string::npos) {
    throw config.error("path", "must be an absolute path starting with '/' and without '?', '#' "
                               "or spaces, got '" + out.path + "'");
  }
  if (has_tls) {
    out.tls_certificate = resolved(tls.required<std::filesystem::path>("certificate"), state_dir);
    out.tls_private_key = resolved(tls.required<std::filesystem::path>("private_key"), state_dir);
    tls.reject_unknown();
  }
  if (out.publish_timeout < std::chrono::milliseconds(1)) {
    throw config.error("publish_timeout", "must be at least 1ms");
  }
  if (out.threads > 64) {
    throw config.error("threads", "must be at most 64, got " + std::to_string(out.threads));
  }

  if (!clients.is_array() || clients.empty()) {
    throw config.error("clients", "must be a non-empty list of clients (name, token or "
                                  "webhook_secrets, types, source_prefix)");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < clients.size(); ++i) {
    const std::string path = config.path_of("clients") + "[" + std::to_string(i) + "]";
    ClientConfig client = read_client(clients[i], path);
    if (!names.insert(client.name).second) {
      throw ConfigError(path + ".name: '" + client.name + "' names two clients");
    }
    for (const ClientConfig& other : out.clients) {
      for (const std::string& token : client.tokens) {
        if (std::find(other.tokens.begin(), other.tokens.end(), token) != other.tokens.end()) {
          throw ConfigError(path + ".token: the same token as client '" + other.name +
                            "'; a token must identify one client");
        }
      }
    }
    out.clients.push_back(std::move(client));
  }
  return out;
}

ClientAuthenticator::ClientAuthenticator(const std::vector<ClientConfig>& clients) {
  std::vector<std::string> tokens;
  for (size_t c = 0; c < clients.size(); ++c) {
    for (const std::string& token : clients[c].tokens) {
      tokens.push_back(token);
      token_owner_.push_back(c);
    }
    if (!clients[c].webhook_secrets.empty()) {
      auto verifier = simpang::http::WebhookVerifier::create(clients[c].webhook_secrets);
      if (verifier.ok()) {  // read_config checked it
        webhook_clients_.push_back({c, std::move(*verifier)});
      }
    }
  }
  if (!tokens.empty()) {
    auto bearer = simpang::http::BearerAuth::create(tokens);
    if (bearer.ok()) {  // read_config checked every token
      bearer_.emplace(std::move(*bearer));
    }
  }
}

std::variant<size_t, Problem> ClientAuthenticator::authenticate(const HeaderFields& headers,
                                                                std::string_view body) const {
  const simpang::http::WebhookHeaders webhook{
      .id = header_view(headers, simpang::http::kWebhookIdHeader),
      .timestamp = header_view(headers, simpang::http::kWebhookTimestampHeader),
      .signature = header_view(headers, simpang::http::kWebhookSignatureHeader)};
  if (webhook.id || webhook.timestamp || webhook.signature) {
    if (webhook_clients_.empty()) {
      return unauthorized("invalid-signature", "Signature refused",
                          "the request carries Standard Webhooks headers, but no client here has "
                          "webhook_secrets",
                          false, false);
    }
    // Every client's verifier runs, whichever matches, so the time taken does not tell which.
    std::optional<size_t> matched;
    std::string why;
    for (const WebhookClient& candidate : webhook_clients_) {
      const Status status = candidate.verifier.verify(webhook, body);
      if (status.ok()) {
        matched = matched.value_or(candidate.client);
      } else if (why.empty()) {
        why = status.message();
      }
    }
    if (matched) {
      return *matched;
    }
    return unauthorized("invalid-signature", "Signature refused",
                        "Standard Webhooks: " + why, false, false);
  }
  const std::string* authorization = find_header(headers, "authorization");
  if (authorization == nullptr) {
    return unauthorized("missing-credentials", "Credentials required",
                        "no Authorization header: send 'Authorization: Bearer <token>', or sign "
                        "the request with Standard Webhooks (webhook-id, webhook-timestamp, "
                        "webhook-signature)",
                        true, false);
  }
  if (!bearer_) {
    return unauthorized("invalid-credentials", "Credentials refused",
                        "no client here has a bearer token; sign the request with Standard "
                        "Webhooks instead",
                        true, true);
  }
  StatusOr<size_t> token = bearer_->authenticate(*authorization);
  if (!token.ok()) {
    return unauthorized("invalid-credentials", "Credentials refused",
                        "Authorization: " + token.status().message(), true, true);
  }
  return token_owner_[*token];
}

std::optional<Problem> authorize(const ClientConfig& client, const simpang::v1::Event& event,
                                 std::optional<size_t> index) {
  const bool type_allowed = std::any_of(client.types.begin(), client.types.end(),
                                        [&](const TypePattern& p) { return p.matches(event.type()); });
  if (!type_allowed) {
    std::string allowed;
    nlohmann::json list = nlohmann::json::array();
    for (const TypePattern& p : client.types) {
      allowed += (allowed.empty() ? "" : ", ") + p.text();
      list.push_back(p.text());
    }
    Problem p = Problem::make(403, "type-not-allowed", "Event type not allowed",
                              "client '" + client.name + "' may not publish type '" +
                                  event.type() + "' (allowed: " + allowed + ")");
    p.attribute = "type";
    p.index = index;
    p.extra["client"] = client.name;
    p.extra["allowed"] = std::move(list);
    return p;
  }
  if (event.source().compare(0, client.source_prefix.size(), client.source_prefix) != 0) {
    Problem p = Problem::make(403, "source-not-allowed", "Event source not allowed",
                              "client '" + client.name + "' may not publish source '" +
                                  event.source() + "' (its sources start with '" +
                                  client.source_prefix + "')");
    p.attribute = "source";
    p.index = index;
    p.extra["client"] = client.name;
    p.extra["source_prefix"] = client.source_prefix;
    return p;
  }
  return std::nullopt;
}

}  // namespace simpang::plugins::source_http
