// source-http's configuration: the instance's `config:` mapping read and validated at once (every
// key, unknown keys refused naming the known ones), and the clients it admits: who they are (a
// bearer token or Standard Webhooks secrets), and what each may publish (event types as router
// patterns, and the prefix its events' `source` must start with).
//
//   SourceHttpConfig config = read_config(ctx.config(), ctx.state_dir());  // throws ConfigError
//   ClientAuthenticator auth(config.clients);
//   std::variant<size_t, Problem> who = auth.authenticate(request.headers, request.body);
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cloudevents_http.h"
#include "problem.h"
#include "simpang/base/type_pattern.h"
#include "simpang/http/auth.h"
#include "simpang/v1/event.pb.h"

namespace simpang::plugins::source_http {

// One partner client. Secrets are held only to build the authenticator; nothing logs them.
struct ClientConfig {
  std::string name;
  std::vector<std::string> tokens;           // `token`: bearer tokens (several while rotating)
  std::vector<std::string> webhook_secrets;  // Standard Webhooks secrets (several while rotating)
  std::vector<TypePattern> types;            // event types it may publish
  std::string source_prefix;                 // every event's source starts with it
  double events_per_second = 0;              // quota; 0: none (over it: 429 with Retry-After)
  double bytes_per_second = 0;               // quota on request bodies; 0: none
};

struct SourceHttpConfig {
  std::string listen = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port
  std::string path = "/events";
  std::filesystem::path tls_certificate;  // both set, or neither; absolute (resolved)
  std::filesystem::path tls_private_key;
  size_t max_body_bytes = 1024 * 1024;
  size_t max_batch_events = 1000;
  size_t max_connections = 256;
  size_t max_in_flight = 64;
  std::chrono::milliseconds publish_timeout{10000};
  int threads = 1;
  std::vector<ClientConfig> clients;
};

// Reads and validates `config` (relative TLS paths against `state_dir`). Throws
// simpang::sdk::ConfigError naming the key path, e.g. "config.clients[1].types[0]: ...", and never
// showing a secret.
SourceHttpConfig read_config(const nlohmann::json& config, const std::filesystem::path& state_dir);

// Decides which client sent a request.
//   - A request with any webhook-* header is a Standard Webhooks request: it is verified against
//     the secrets of every client that has webhook_secrets, each of them every time (the work does
//     not depend on which client, if any, matches).
//   - Otherwise the Authorization header must carry a bearer token of some client. Every
//     configured token is compared (SHA-256 digests, constant time; simpang::http::BearerAuth).
// Refusals are 401 problems; a bearer refusal carries `WWW-Authenticate: Bearer` (RFC 6750 §3).
// Thread rule: immutable after construction; authenticate() from any number of threads.
class ClientAuthenticator {
 public:
  // REQUIRES: the clients were validated by read_config (tokens token68, secrets parseable).
  explicit ClientAuthenticator(const std::vector<ClientConfig>& clients);

  // The index of the client in the list given to the constructor, or a 401 problem.
  std::variant<size_t, Problem> authenticate(const HeaderFields& headers,
                                             std::string_view body) const;

 private:
  std::optional<simpang::http::BearerAuth> bearer_;  // every client's tokens, in one list
  std::vector<size_t> token_owner_;                  // bearer_ index -> client index
  struct WebhookClient {
    size_t client;
    simpang::http::WebhookVerifier verifier;
  };
  std::vector<WebhookClient> webhook_clients_;
};

// Whether `client` may publish `event`: its type must match one of the client's patterns, and
// its source start with the client's source_prefix. A 403 problem naming the client, the type or
// source and what is allowed, or nullopt. `index` is the event's place in a batch, if any.
std::optional<Problem> authorize(const ClientConfig& client, const simpang::v1::Event& event,
                                 std::optional<size_t> index);

}  // namespace simpang::plugins::source_http
