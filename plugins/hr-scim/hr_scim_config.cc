// hr-scim's configuration; see hr_scim_config.h.
#include "hr_scim_config.h"

#include <limits>
#include <set>

#include "simpang/sdk/config_reader.h"

namespace simpang::plugins::hr_scim {
namespace {

using simpang::sdk::ConfigError;
using simpang::sdk::ConfigReader;

template <typename T>
T within(ConfigReader& config, std::string_view key, T fallback, T minimum, T maximum) {
  const T value = config.optional<T>(key, fallback);
  if (value < minimum || value > maximum) {
    throw config.error(key, "must be " + std::to_string(minimum) + " to " +
                                std::to_string(maximum) + ", got " + std::to_string(value));
  }
  return value;
}

}  // namespace

HrScimConfig read_config(const nlohmann::json& json) {
  ConfigReader config(json);
  HrScimConfig out;
  out.listen = config.optional<std::string>("listen", out.listen);
  out.port = static_cast<uint16_t>(within<uint32_t>(config, "port", 0, 0, 65535));
  out.source = config.optional<std::string>("source", out.source);
  out.base_url = config.optional<std::string>("base_url", out.base_url);
  out.max_body_bytes =
      within<uint64_t>(config, "max_body_bytes", out.max_body_bytes, 1024, 64 << 20);
  out.max_results = within<uint64_t>(config, "max_results", out.max_results, 1, 10000);
  out.max_filter_length =
      within<uint64_t>(config, "max_filter_length", out.max_filter_length, 16, 65536);
  out.max_filter_depth = within<uint64_t>(config, "max_filter_depth", out.max_filter_depth, 1, 64);
  out.max_operations = within<uint64_t>(config, "max_operations", out.max_operations, 1, 10000);
  out.max_connections = within<uint64_t>(config, "max_connections", out.max_connections, 1, 100000);
  out.max_in_flight = within<uint64_t>(config, "max_in_flight", out.max_in_flight, 1, 100000);
  out.publish_timeout =
      config.optional<std::chrono::milliseconds>("publish_timeout", out.publish_timeout);
  out.republish_interval =
      config.optional<std::chrono::milliseconds>("republish_interval", out.republish_interval);
  out.threads = within<int>(config, "threads", out.threads, 1, 64);
  const nlohmann::json clients = config.required<nlohmann::json>("clients");
  config.reject_unknown();
  if (out.listen.empty()) throw config.error("listen", "must not be empty (an IP address)");
  if (out.source.empty()) throw config.error("source", "must not be empty");
  if (out.publish_timeout < std::chrono::milliseconds(1)) {
    throw config.error("publish_timeout", "must be at least 1ms");
  }
  if (out.republish_interval < std::chrono::milliseconds(100)) {
    throw config.error("republish_interval", "must be at least 100ms");
  }
  if (!clients.is_array() || clients.empty()) {
    throw config.error("clients",
                       "must be a non-empty list of clients (name, token, organisation_id)");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < clients.size(); ++i) {
    const std::string path = config.path_of("clients") + "[" + std::to_string(i) + "]";
    if (!clients[i].is_object())
      throw ConfigError(path + ": must be a mapping with name, token, organisation_id");
    ConfigReader reader(clients[i], path);
    ScimClient client;
    client.name = reader.required<std::string>("name");
    client.token = reader.required<std::string>("token");
    client.organisation_id = reader.required<std::string>("organisation_id");
    reader.reject_unknown();
    if (client.name.empty() || client.name.find(':') != std::string::npos) {
      throw reader.error("name", "must be non-empty and without ':' (it is part of person ids)");
    }
    if (client.token.size() < 16) throw reader.error("token", "must be at least 16 characters");
    if (client.organisation_id.empty()) throw reader.error("organisation_id", "must not be empty");
    if (!names.insert(client.name).second)
      throw reader.error("name", "'" + client.name + "' names two clients");
    out.clients.push_back(std::move(client));
  }
  return out;
}

}  // namespace simpang::plugins::hr_scim
