// lms-caliper's configuration: the instance's `config:` mapping read and validated at once
// (unknown keys refused, every error naming its key path, no token ever shown).
//
//   LmsCaliperConfig config = read_config(ctx.config());  // throws simpang::sdk::ConfigError
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace simpang::plugins::lms_caliper {

// One sensor (a learning platform, a Canvas account), authenticated with a Bearer token.
struct SensorClient {
  std::string name;
  std::string token;  // write it as ${file:...} or ${env:...}: the hub resolves it
};

struct LmsCaliperConfig {
  std::string listen = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see the port file)
  std::string path = "/caliper";
  std::string source = "/lms/caliper";
  size_t max_body_bytes = 4 * 1024 * 1024;
  size_t max_events = 1000;  // most items in one envelope's data[]
  size_t max_connections = 256;
  size_t max_in_flight = 128;
  std::chrono::milliseconds publish_timeout{10000};
  int threads = 1;
  std::vector<SensorClient> clients;
};

LmsCaliperConfig read_config(const nlohmann::json& config);

}  // namespace simpang::plugins::lms_caliper
