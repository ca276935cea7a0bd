// hr-scim's configuration: the instance's `config:` mapping read and validated at once (unknown
// keys refused, every error naming its key path, no secret ever shown).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace simpang::plugins::hr_scim {

// One HR system or identity provider: one employer (tenant), one bearer token.
struct ScimClient {
  std::string name;             // in person ids and ExternalId systems ("scim:<name>")
  std::string token;            // write it as ${file:...} or ${env:...}: the hub resolves it
  std::string organisation_id;  // the employer's Organisation.organisation_id
};

struct HrScimConfig {
  std::string listen = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see the port file)
  std::string source = "/hr/scim";
  std::string base_url;  // meta.location's base; empty: http://<Host header>
  size_t max_body_bytes = 1024 * 1024;
  size_t max_results = 200;  // most resources in one list answer (filter.maxResults)
  size_t max_filter_length = 4096;
  size_t max_filter_depth = 16;
  size_t max_operations = 100;  // PATCH operations in one request
  size_t max_connections = 256;
  size_t max_in_flight = 128;
  std::chrono::milliseconds publish_timeout{10000};
  std::chrono::milliseconds republish_interval{5000};
  int threads = 1;
  std::vector<ScimClient> clients;
};

HrScimConfig read_config(const nlohmann::json& config);  // throws simpang::sdk::ConfigError

}  // namespace simpang::plugins::hr_scim
