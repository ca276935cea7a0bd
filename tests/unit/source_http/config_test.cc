// source-http's configuration (every key validated, unknown keys refused, secrets never shown),
// client authentication (bearer, Standard Webhooks) and the per-client permissions.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "simpang/http/auth.h"
#include "simpang/sdk/plugin.h"
#include "source_http_config.h"

namespace simpang::plugins::source_http {
namespace {

using nlohmann::json;

constexpr char kToken[] = "acme-token-0123456789";
constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

json acme() {
  return {{"name", "acme"},
          {"token", kToken},
          {"types", {"talent.person.*", "talent.course.**"}},
          {"source_prefix", "/partners/acme/"}};
}

json signer() {
  return {{"name", "globex"},
          {"webhook_secrets", {kSecret}},
          {"types", "talent.**"},
          {"source_prefix", "/partners/globex/"}};
}

json minimal() { return {{"clients", {acme()}}}; }

// The ConfigError message read_config throws, or "" when it accepts.
std::string refusal(const json& config) {
  try {
    (void)read_config(config, "/state");
  } catch (const simpang::sdk::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SourceHttpConfig, DefaultsAndEveryKey) {
  const SourceHttpConfig d = read_config(minimal(), "/state");
  EXPECT_EQ(d.listen, "127.0.0.1");
  EXPECT_EQ(d.port, 0);
  EXPECT_EQ(d.path, "/events");
  EXPECT_TRUE(d.tls_certificate.empty());
  EXPECT_EQ(d.max_body_bytes, 1024u * 1024u);
  EXPECT_EQ(d.max_batch_events, 1000u);
  EXPECT_EQ(d.threads, 1);
  ASSERT_EQ(d.clients.size(), 1u);
  EXPECT_EQ(d.clients[0].name, "acme");
  EXPECT_EQ(d.clients[0].tokens, std::vector<std::string>{kToken});
  EXPECT_EQ(d.clients[0].types.size(), 2u);

  json full = minimal();
  full.update({{"listen", "0.0.0.0"},
               {"port", 8443},
               {"path", "/partners/events"},
               {"tls", {{"certificate", "tls/cert.pem"}, {"private_key", "/etc/key.pem"}}},
               {"max_body_bytes", 4096},
               {"max_batch_events", 50},
               {"max_connections", 10},
               {"max_in_flight", 5},
               {"publish_timeout", "3s"},
               {"threads", 2}});
  const SourceHttpConfig c = read_config(full, "/state");
  EXPECT_EQ(c.listen, "0.0.0.0");
  EXPECT_EQ(c.port, 8443);
  EXPECT_EQ(c.path, "/partners/events");
  EXPECT_EQ(c.tls_certificate, "/state/tls/cert.pem");  // relative: in the state directory
  EXPECT_EQ(c.tls_private_key, "/etc/key.pem");
  EXPECT_EQ(c.max_body_bytes, 4096u);
  EXPECT_EQ(c.max_batch_events, 50u);
  EXPECT_EQ(c.max_connections, 10u);
  EXPECT_EQ(c.max_in_flight, 5u);
  EXPECT_EQ(c.publish_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c.threads, 2);
}

TEST(SourceHttpConfig, RefusesEveryBadValueNamingTheKey) {
  const auto with = [](json patch) {
    json c = minimal();
    c.update(patch);
    return c;
  };
  struct Case {
    json config;
    std::string phrase;
  };
  const std::vector<Case> cases = {
      {with({{"prot", 80}}), "config.prot: unknown key"},
      {with({{"port", 70000}}), "config.port: must be 0"},
      {with({{"port", "80"}}), "config.port"},
      {with({{"path", "events"}}), "config.path: must be an absolute path"},
      {with({{"path", "/e?x"}}), "config.path"},
      {with({{"listen", ""}}), "config.listen"},
      {with({{"tls", {{"certificate", "c.pem"}}}}), "config.tls.private_key: required"},
      {with({{"tls", {{"certificate", "c"}, {"private_key", "k"}, {"ca", "x"}}}}),
       "config.tls.ca: unknown key"},
      {with({{"max_body_bytes", 0}}), "config.max_body_bytes: must be at least 1"},
      {with({{"max_batch_events", 0}}), "config.max_batch_events"},
      {with({{"max_connections", 0}}), "config.max_connections"},
      {with({{"max_in_flight", 0}}), "config.max_in_flight"},
      {with({{"publish_timeout", "soon"}}), "config.publish_timeout"},
      {with({{"threads", 0}}), "config.threads"},
      {with({{"threads", 1000}}), "config.threads: must be at most 64"},
      {json::object(), "config.clients: required"},
      {{{"clients", json::array()}}, "config.clients: must be a non-empty list"},
      {{{"clients", {"acme"}}}, "config.clients[0]: must be a mapping"},
  };
  for (const Case& c : cases) {
    const std::string message = refusal(c.config);
    EXPECT_NE(message.find(c.phrase), std::string::npos)
        << "config " << c.config.dump() << " gave: " << message;
  }
  // The unknown key's message lists the known ones.
  const std::string unknown = refusal(with({{"prot", 80}}));
  for (const char* key : {"listen", "port", "path", "tls", "max_body_bytes", "max_batch_events",
                          "max_connections", "max_in_flight", "publish_timeout", "threads",
                          "clients"}) {
    EXPECT_NE(unknown.find(key), std::string::npos) << key << " in: " << unknown;
  }
}

TEST(SourceHttpConfig, ClientQuotasAreReadAndDefaultToNone) {
  json limited = acme();
  limited.update({{"events_per_second", 50}, {"bytes_per_second", 65536}});
  const SourceHttpConfig config = read_config({{"clients", {limited, signer()}}}, "/state");
  EXPECT_EQ(config.clients[0].events_per_second, 50);
  EXPECT_EQ(config.clients[0].bytes_per_second, 65536);
  EXPECT_EQ(config.clients[1].events_per_second, 0);
  EXPECT_EQ(config.clients[1].bytes_per_second, 0);
}

TEST(SourceHttpConfig, RefusesBadClientsWithoutShowingSecrets) {
  const auto clients = [](std::vector<json> list) { return json{{"clients", list}}; };
  const auto changed = [](json client, json patch) {
    client.update(patch);
    return client;
  };
  json no_credentials = acme();
  no_credentials.erase("token");
  json no_types = acme();
  no_types.erase("types");
  json no_prefix = acme();
  no_prefix.erase("source_prefix");
  struct Case {
    json config;
    std::string phrase;
  };
  const std::vector<Case> cases = {
      {clients({no_credentials}), "config.clients[0]: client 'acme' has no credentials"},
      {clients({no_types}), "config.clients[0].types: required"},
      {clients({no_prefix}), "config.clients[0].source_prefix: required"},
      {clients({changed(acme(), {{"source_prefix", ""}})}), "source_prefix: must not be empty"},
      {clients({changed(acme(), {{"types", json::array()}})}), "types: must list at least one"},
      {clients({changed(acme(), {{"types", {"talent.*", "a..b"}}})}), "types[1]"},
      {clients({changed(acme(), {{"name", ""}})}), "config.clients[0].name: must not be empty"},
      {clients({acme(), changed(signer(), {{"name", "acme"}})}), "'acme' names two clients"},
      {clients({acme(), changed(signer(), {{"token", kToken}})}),
       "config.clients[1].token: the same token as client 'acme'"},
      {clients({changed(acme(), {{"token", "has space"}})}), "config.clients[0].token[0]"},
      {clients({changed(signer(), {{"webhook_secrets", {"whsec_!!!notbase64"}}})}),
       "config.clients[0].webhook_secrets"},
      {clients({changed(acme(), {{"tokn", "x"}})}), "config.clients[0].tokn: unknown key"},
      {clients({changed(acme(), {{"events_per_second", -1}})}),
       "config.clients[0].events_per_second: must be a number >= 0"},
      {clients({changed(acme(), {{"bytes_per_second", "lots"}})}),
       "config.clients[0].bytes_per_second"},
  };
  for (const Case& c : cases) {
    const std::string message = refusal(c.config);
    EXPECT_NE(message.find(c.phrase), std::string::npos)
        << "config " << c.config.dump() << " gave: " << message;
    EXPECT_EQ(message.find(kToken), std::string::npos) << message;
    EXPECT_EQ(message.find("notbase64"), std::string::npos) << message;
    EXPECT_EQ(message.find("has space"), std::string::npos) << message;
  }
}

// ---- Authentication

HeaderFields bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

HeaderFields signed_headers(const std::string& body, int64_t timestamp,
                            const char* secret = kSecret) {
  const auto key = simpang::http::WebhookSecret::parse(secret);
  return {{"webhook-id", "msg-1"},
          {"webhook-timestamp", std::to_string(timestamp)},
          {"webhook-signature", key->sign("msg-1", timestamp, body)}};
}

int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The refusal, copied out of the (temporary) result.
std::optional<Problem> refused(const std::variant<size_t, Problem>& who) {
  if (const Problem* p = std::get_if<Problem>(&who)) {
    return *p;
  }
  return std::nullopt;
}

TEST(ClientAuthenticator, BearerTokensIdentifyTheirClient) {
  json other = acme();
  other.update({{"name", "initech"}, {"token", {"old-token", "new-token"}}});
  const SourceHttpConfig config = read_config({{"clients", {acme(), signer(), other}}}, "/s");
  const ClientAuthenticator auth(config.clients);
  EXPECT_EQ(std::get<size_t>(auth.authenticate(bearer(kToken), "")), 0u);
  EXPECT_EQ(std::get<size_t>(auth.authenticate(bearer("old-token"), "")), 2u);
  EXPECT_EQ(std::get<size_t>(auth.authenticate(bearer("new-token"), "")), 2u);

  const std::optional<Problem> missing = refused(auth.authenticate({}, ""));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->type, "missing-credentials");
  ASSERT_EQ(missing->headers.size(), 1u);
  EXPECT_EQ(missing->headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(missing->headers[0].second, "Bearer realm=\"simpang\"");

  const std::optional<Problem> wrong = refused(auth.authenticate(bearer("acme-token-0123456788"), ""));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->type, "invalid-credentials");
  EXPECT_NE(wrong->headers.at(0).second.find("invalid_token"), std::string::npos);
  EXPECT_EQ(wrong->detail.find("acme-token"), std::string::npos) << wrong->detail;

  const std::optional<Problem> basic = refused(auth.authenticate({{"Authorization", "Basic YTpi"}}, ""));
  ASSERT_TRUE(basic.has_value());
  EXPECT_EQ(basic->status, 401);
}

TEST(ClientAuthenticator, StandardWebhooksSignaturesIdentifyTheirClient) {
  const char* rotated = "whsec_c2Vjb25kLXNlY3JldC1rZXk=";
  json second = signer();
  second.update({{"name", "hooli"}, {"webhook_secrets", {rotated}},
                 {"source_prefix", "/partners/hooli/"}});
  const SourceHttpConfig config = read_config({{"clients", {acme(), signer(), second}}}, "/s");
  const ClientAuthenticator auth(config.clients);
  const std::string body = R"({"specversion":"1.0"})";
  EXPECT_EQ(std::get<size_t>(auth.authenticate(signed_headers(body, now_seconds()), body)), 1u);
  EXPECT_EQ(
      std::get<size_t>(auth.authenticate(signed_headers(body, now_seconds(), rotated), body)), 2u);

  const std::optional<Problem> tampered = refused(auth.authenticate(signed_headers(body, now_seconds()), body + " "));
  ASSERT_TRUE(tampered.has_value());
  EXPECT_EQ(tampered->status, 401);
  EXPECT_NE(tampered->detail.find("does not match"), std::string::npos) << tampered->detail;
  EXPECT_TRUE(tampered->headers.empty());  // not a bearer challenge

  const std::optional<Problem> stale = refused(auth.authenticate(signed_headers(body, now_seconds() - 600), body));
  ASSERT_TRUE(stale.has_value());
  EXPECT_NE(stale->detail.find("too old"), std::string::npos) << stale->detail;

  HeaderFields partial = {{"webhook-id", "msg-1"}};
  const std::optional<Problem> incomplete = refused(auth.authenticate(partial, body));
  ASSERT_TRUE(incomplete.has_value());
  EXPECT_NE(incomplete->detail.find("missing header webhook-timestamp"), std::string::npos);

  // Webhook headers decide, even next to a valid bearer token.
  HeaderFields both = signed_headers(body, now_seconds() - 600);
  both.emplace_back("Authorization", std::string("Bearer ") + kToken);
  EXPECT_TRUE(refused(auth.authenticate(both, body)).has_value());
}

TEST(ClientAuthenticator, WebhookHeadersWithoutWebhookClientsAreRefused) {
  const SourceHttpConfig config = read_config(minimal(), "/s");
  const ClientAuthenticator auth(config.clients);
  const std::optional<Problem> p = refused(auth.authenticate(signed_headers("{}", now_seconds()), "{}"));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->status, 401);
  EXPECT_NE(p->detail.find("no client here has webhook_secrets"), std::string::npos);
}

// ---- Permissions

TEST(Authorize, TypesAndSourcePrefixPerClient) {
  const SourceHttpConfig config = read_config(minimal(), "/s");
  const ClientConfig& client = config.clients[0];
  simpang::v1::Event e;
  e.set_id("1");
  e.set_source("/partners/acme/hr");
  e.set_type("talent.person.created");
  EXPECT_FALSE(authorize(client, e, std::nullopt).has_value());
  e.set_type("talent.course.a.b");
  EXPECT_FALSE(authorize(client, e, std::nullopt).has_value());

  e.set_type("talent.person.created.late");
  const auto type = authorize(client, e, 4);
  ASSERT_TRUE(type.has_value());
  EXPECT_EQ(type->status, 403);
  EXPECT_EQ(type->attribute, "type");
  EXPECT_EQ(type->index, 4u);
  EXPECT_EQ(type->extra.at("client"), "acme");
  EXPECT_NE(type->detail.find("client 'acme' may not publish type 'talent.person.created.late'"),
            std::string::npos)
      << type->detail;
  EXPECT_NE(type->detail.find("talent.person.*, talent.course.**"), std::string::npos);

  e.set_type("talent.person.created");
  e.set_source("/partners/globex/hr");
  const auto source = authorize(client, e, std::nullopt);
  ASSERT_TRUE(source.has_value());
  EXPECT_EQ(source->status, 403);
  EXPECT_EQ(source->attribute, "source");
  EXPECT_NE(source->detail.find("'/partners/globex/hr'"), std::string::npos);
  EXPECT_NE(source->detail.find("'/partners/acme/'"), std::string::npos);
}

}  // namespace
}  // namespace simpang::plugins::source_http
