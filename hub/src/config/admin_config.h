// The configuration's `admin:` section: where the admin HTTP API listens, the bearer tokens it
// requires, and its TLS files. Without the section there is no admin API.
//
//   admin:
//     listen: 127.0.0.1        # the default; any other address requires a token
//     port: 9180               # 0: any free port, written to <state_dir>/admin.port
//     token: ${file:admin.token}           # or a list, to rotate without downtime
//     tls: {certificate: admin.crt, private_key: admin.key}
//
// Tokens are kept resolved (what the server compares; never logged or shown) and as written.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "router/route_definition.h"  // SourceLocation

namespace simpang::hub {

struct AdminConfig {
  bool enabled = false;  // the section is present
  std::string listen = "127.0.0.1";
  uint16_t port = 0;
  std::vector<std::string> tokens;        // resolved: secrets; empty: no authentication
  std::vector<std::string> tokens_shown;  // as written
  std::filesystem::path tls_certificate;  // both set, or neither (absolute)
  std::filesystem::path tls_private_key;
  SourceLocation where;
};

// Whether `address` is a loopback address ("127.0.0.0/8", "::1", "localhost"): the only
// addresses the admin API may listen on without a token. Thread rule: none.
bool is_loopback_address(const std::string& address);

}  // namespace simpang::hub
