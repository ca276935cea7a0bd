// lms-xapi's configuration: the instance's `config:` mapping read and validated at once (unknown
// keys refused, every error naming its key path, no secret ever shown).
//
//   LmsXapiConfig config = read_config(ctx.config());  // throws simpang::sdk::ConfigError
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace simpang::plugins::lms_xapi {

// One LRS client (a learning platform or activity provider), authenticated with HTTP Basic.
struct LrsClient {
  std::string name;      // also the statements' authority (an account on authority_home_page)
  std::string username;  // no ':'
  std::string password;  // write it as ${file:...} or ${env:...}: the hub resolves it
};

struct LmsXapiConfig {
  std::string listen = "127.0.0.1";
  uint16_t port = 0;                                         // 0: any free port (see the port file)
  std::string source = "/lms/xapi";                          // the published events' source
  std::string authority_home_page = "urn:simpang:lms-xapi";  // homePage of authority accounts
  std::vector<std::string> certification_activity_types;
  size_t max_body_bytes = 4 * 1024 * 1024;
  size_t max_batch_statements = 1000;
  size_t page_size = 100;  // most statements in one GET answer
  size_t max_connections = 256;
  size_t max_in_flight = 128;
  std::chrono::milliseconds publish_timeout{10000};
  // How often statements left pending (a publish that timed out) are published again.
  std::chrono::milliseconds republish_interval{5000};
  int threads = 1;
  std::vector<LrsClient> clients;
};

LmsXapiConfig read_config(const nlohmann::json& config);

}  // namespace simpang::plugins::lms_xapi
