// The configuration's `partner_door:` and `partners:` sections: the tcp endpoint outside programs
// connect to with CurveZMQ, and each partner company described once (its CURVE public key, its
// HTTP credentials, what it may publish, its quotas), so that the tcp door and source-http grant a
// partner the same rights.
//
//   partner_door: {listen: tcp://0.0.0.0:7400, secret_key: ${file:keys/hub.key}}
//   partners:
//     - name: acme
//       curve_public_key: ${file:keys/acme.pub}
//       http: {token: ${env:ACME_TOKEN}}
//       publish: {types: ["talent.**"], source_prefix: "/partners/acme/"}
//       quotas: {events_per_second: 200, bytes_per_second: 1MiB, max_unacked: 8}
//
// Every secret is kept twice: resolved (what the hub uses; never logged or shown) and as written
// (`${file:keys/acme.pub}`, the form to show people), like PluginInstanceConfig::config_json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "router/route_definition.h"  // SourceLocation

namespace simpang::hub {

// What a partner's traffic may cost. Zero means "no limit of its own" for every field.
struct PartnerQuotas {
  // Token buckets holding one second's worth: beyond them the partner's acks are delayed (never
  // refused), so it slows while the others do not.
  uint64_t events_per_second = 0;
  uint64_t bytes_per_second = 0;
  uint32_t max_unacked = 0;  // Publish batches unacknowledged; 0: the hub's max_unacked
  uint64_t max_backlog = 0;  // its events waiting for delivery before new ones are refused
};

struct PartnerConfig {
  std::string name;  // the identity its CURVE key or HTTP credential maps to; routes' `from`
  // Z85, resolved and trimmed; empty when the partner only uses HTTP.
  std::string curve_public_key;
  std::string curve_public_key_shown;  // as written
  bool has_http = false;
  std::vector<std::string> http_tokens;  // resolved: secrets
  std::vector<std::string> http_tokens_shown;
  std::vector<std::string> webhook_secrets;  // resolved: secrets
  std::vector<std::string> webhook_secrets_shown;
  std::vector<std::string> types;  // the router's type patterns it may publish
  std::string source_prefix;       // every event's `source` must start with it
  PartnerQuotas quotas;
  SourceLocation where;
};

struct PartnerDoorConfig {
  std::string listen;            // a tcp:// endpoint; empty: no door
  std::string secret_key;        // the hub's CURVE secret key (Z85), resolved: a secret
  std::string secret_key_shown;  // as written
  std::string public_key;  // derived from secret_key: what partners configure as the server key
  uint32_t max_connections = 256;
  SourceLocation where;
};

// The section as JSON for people (`simpang check --show`, logs): references as written, never a
// resolved secret. Thread rule: none.
std::string partners_json_shown(const PartnerDoorConfig& door,
                                const std::vector<PartnerConfig>& partners);

}  // namespace simpang::hub
