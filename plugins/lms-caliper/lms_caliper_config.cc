// lms-caliper's configuration; see lms_caliper_config.h.
#include "lms_caliper_config.h"

#include <limits>
#include <set>

#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::lms_caliper {
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

LmsCaliperConfig read_config(const nlohmann::json& json) {
  ConfigReader config(json);
  LmsCaliperConfig out;
  out.listen = config.optional<std::string>("listen", out.listen);
  const uint32_t port = config.optional<uint32_t>("port", 0);
  out.path = config.optional<std::string>("path", out.path);
  out.source = config.optional<std::string>("source", out.source);
  out.max_body_bytes = at_least<uint64_t>(config, "max_body_bytes", out.max_body_bytes, 1);
  out.max_events = at_least<uint64_t>(config, "max_events", out.max_events, 1);
  out.max_connections = at_least<uint64_t>(config, "max_connections", out.max_connections, 1);
  out.max_in_flight = at_least<uint64_t>(config, "max_in_flight", out.max_in_flight, 1);
  out.publish_timeout =
      config.optional<std::chrono::milliseconds>("publish_timeout", out.publish_timeout);
  out.threads = at_least<int>(config, "threads", out.threads, 1);
  const nlohmann::json clients = config.required<nlohmann::json>("clients");
  config.reject_unknown();

  if (out.listen.empty()) throw config.error("listen", "must not be empty (an IP address)");
  if (port > std::numeric_limits<uint16_t>::max()) {
    throw config.error("port", "must be 0 (any free port) to 65535, got " + std::to_string(port));
  }
  out.port = static_cast<uint16_t>(port);
  if (out.path.empty() || out.path[0] != '/') {
    throw config.error("path", "must start with '/', got '" + out.path + "'");
  }
  if (out.source.empty()) throw config.error("source", "must not be empty");
  if (out.publish_timeout < std::chrono::milliseconds(1)) {
    throw config.error("publish_timeout", "must be at least 1ms");
  }
  if (out.threads > 64) {
    throw config.error("threads", "must be at most 64, got " + std::to_string(out.threads));
  }
  if (!clients.is_array() || clients.empty()) {
    throw config.error("clients", "must be a non-empty list of sensors (name, token)");
  }
  std::set<std::string> names, tokens;
  for (size_t i = 0; i < clients.size(); ++i) {
    const std::string path = config.path_of("clients") + "[" + std::to_string(i) + "]";
    if (!clients[i].is_object()) throw ConfigError(path + ": must be a mapping with name and token");
    ConfigReader reader(clients[i], path);
    SensorClient client;
    client.name = reader.required<std::string>("name");
    client.token = reader.required<std::string>("token");
    reader.reject_unknown();
    if (client.name.empty()) throw reader.error("name", "must not be empty");
    if (client.token.empty()) throw reader.error("token", "must not be empty");
    if (!names.insert(client.name).second) {
      throw reader.error("name", "'" + client.name + "' names two clients");
    }
    if (!tokens.insert(client.token).second) {
      throw reader.error("token", "is the token of another client");
    }
    out.clients.push_back(std::move(client));
  }
  return out;
}

}  // namespace simpang::plugins::lms_caliper
