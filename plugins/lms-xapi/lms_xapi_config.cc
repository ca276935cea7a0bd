// lms-xapi's configuration; see lms_xapi_config.h.
#include "lms_xapi_config.h"

#include <limits>
#include <set>

#include "simpang/sdk/config_reader.h"
#include "xapi_formats.h"

namespace simpang::plugins::lms_xapi {
namespace {

using simpang::sdk::ConfigError;
using simpang::sdk::ConfigReader;

template <typename T>
T at_least(ConfigReader& config, std::string_view key, T fallback, T minimum) {
  const T value = config.optional<T>(key, fallback);
  if (value < minimum) {
    throw config.error(
        key, "must be at least " + std::to_string(minimum) + ", got " + std::to_string(value));
  }
  return value;
}

}  // namespace

LmsXapiConfig read_config(const nlohmann::json& json) {
  ConfigReader config(json);
  LmsXapiConfig out;
  out.listen = config.optional<std::string>("listen", out.listen);
  const uint32_t port = config.optional<uint32_t>("port", 0);
  out.source = config.optional<std::string>("source", out.source);
  out.authority_home_page =
      config.optional<std::string>("authority_home_page", out.authority_home_page);
  out.certification_activity_types =
      config.optional<std::vector<std::string>>("certification_activity_types", {});
  out.max_body_bytes = at_least<uint64_t>(config, "max_body_bytes", out.max_body_bytes, 1);
  out.max_batch_statements =
      at_least<uint64_t>(config, "max_batch_statements", out.max_batch_statements, 1);
  out.page_size = at_least<uint64_t>(config, "page_size", out.page_size, 1);
  out.max_connections = at_least<uint64_t>(config, "max_connections", out.max_connections, 1);
  out.max_in_flight = at_least<uint64_t>(config, "max_in_flight", out.max_in_flight, 1);
  out.publish_timeout =
      config.optional<std::chrono::milliseconds>("publish_timeout", out.publish_timeout);
  out.republish_interval =
      config.optional<std::chrono::milliseconds>("republish_interval", out.republish_interval);
  out.threads = at_least<int>(config, "threads", out.threads, 1);
  const nlohmann::json clients = config.required<nlohmann::json>("clients");
  config.reject_unknown();

  if (out.listen.empty()) {
    throw config.error("listen", "must not be empty (an IP address, e.g. 127.0.0.1)");
  }
  if (port > std::numeric_limits<uint16_t>::max()) {
    throw config.error("port", "must be 0 (any free port) to 65535, got " + std::to_string(port));
  }
  out.port = static_cast<uint16_t>(port);
  if (out.source.empty()) {
    throw config.error("source", "must not be empty: it is the published events' source");
  }
  if (!is_iri(out.authority_home_page)) {
    throw config.error("authority_home_page",
                       "must be an absolute IRI, got '" + out.authority_home_page + "'");
  }
  for (size_t i = 0; i < out.certification_activity_types.size(); ++i) {
    if (!is_iri(out.certification_activity_types[i])) {
      throw ConfigError(config.path_of("certification_activity_types") + "[" + std::to_string(i) +
                        "]: must be an absolute IRI");
    }
  }
  if (out.publish_timeout < std::chrono::milliseconds(1)) {
    throw config.error("publish_timeout", "must be at least 1ms");
  }
  if (out.republish_interval < std::chrono::milliseconds(100)) {
    throw config.error("republish_interval", "must be at least 100ms");
  }
  if (out.threads > 64) {
    throw config.error("threads", "must be at most 64, got " + std::to_string(out.threads));
  }
  if (!clients.is_array() || clients.empty()) {
    throw config.error("clients", "must be a non-empty list of clients (name, username, password)");
  }
  std::set<std::string> names, users;
  for (size_t i = 0; i < clients.size(); ++i) {
    const std::string path = config.path_of("clients") + "[" + std::to_string(i) + "]";
    if (!clients[i].is_object()) {
      throw ConfigError(path + ": must be a mapping with name, username and password");
    }
    ConfigReader reader(clients[i], path);
    LrsClient client;
    client.name = reader.required<std::string>("name");
    client.username = reader.required<std::string>("username");
    client.password = reader.required<std::string>("password");
    reader.reject_unknown();
    if (client.name.empty()) throw reader.error("name", "must not be empty");
    if (client.username.empty() || client.username.find(':') != std::string::npos) {
      throw reader.error("username", "must be non-empty and without ':' (HTTP Basic)");
    }
    if (client.password.empty()) throw reader.error("password", "must not be empty");
    if (!names.insert(client.name).second) {
      throw reader.error("name", "'" + client.name + "' names two clients");
    }
    if (!users.insert(client.username).second) {
      throw reader.error("username", "'" + client.username + "' is the username of two clients");
    }
    out.clients.push_back(std::move(client));
  }
  return out;
}

}  // namespace simpang::plugins::lms_xapi
