// sink-webhook's configuration: the defaults, and a table of bad configurations, each refused
// with a message naming the key and the rule (and never quoting a secret or a header's value).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "simpang/sdk/plugin.h"
#include "webhook_config.h"

namespace simpang::plugins::sink_webhook {
namespace {

using nlohmann::json;

constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

TEST(SinkWebhookConfig, DefaultsAreTheDocumentedOnes) {
  const WebhookConfig c = read_config(json{{"url", "https://hooks.example.com/in"}});
  EXPECT_EQ(c.url, "https://hooks.example.com/in");
  EXPECT_EQ(c.mode, ContentMode::kStructured);
  EXPECT_TRUE(c.secrets.empty());
  EXPECT_TRUE(c.headers.empty());
  EXPECT_EQ(c.timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.connect_timeout, std::chrono::seconds(3));
  EXPECT_EQ(c.max_in_flight, 16u);
  EXPECT_EQ(c.max_retry_after, std::chrono::minutes(5));
  EXPECT_TRUE(c.verify_tls);
  EXPECT_FALSE(c.allow_insecure);
  EXPECT_EQ(c.max_response_bytes, 1024u * 1024u);
}

TEST(SinkWebhookConfig, ReadsEveryKey) {
  const WebhookConfig c = read_config(json{{"url", "http://127.0.0.1:8080/in?k=1"},
                                           {"mode", "binary"},
                                           {"secrets", {kSecret, "whsec_c2Vjb25kLXNlY3JldA=="}},
                                           {"headers", {{"Authorization", "Bearer t0k"}}},
                                           {"timeout", "2s"},
                                           {"connect_timeout", "250ms"},
                                           {"max_in_flight", 4},
                                           {"max_retry_after", "30s"},
                                           {"verify_tls", false},
                                           {"max_response_bytes", 4096}});
  EXPECT_EQ(c.mode, ContentMode::kBinary);
  EXPECT_EQ(c.secrets.size(), 2u);
  ASSERT_EQ(c.headers.size(), 1u);
  EXPECT_EQ(c.headers[0].first, "Authorization");
  EXPECT_EQ(c.timeout, std::chrono::seconds(2));
  EXPECT_EQ(c.connect_timeout, std::chrono::milliseconds(250));
  EXPECT_EQ(c.max_in_flight, 4u);
  EXPECT_EQ(c.max_retry_after, std::chrono::seconds(30));
  EXPECT_FALSE(c.verify_tls);
  EXPECT_EQ(c.max_response_bytes, 4096u);
  EXPECT_EQ(c.shown_url, "http://127.0.0.1:8080/in");
}

TEST(SinkWebhookConfig, PlainHttpIsForLoopbackUnlessAllowed) {
  for (const char* url : {"http://localhost/x", "http://127.0.0.1:9/x", "http://127.8.9.1/",
                          "http://[::1]:8080/x", "http://api.localhost/x"}) {
    EXPECT_NO_THROW(read_config(json{{"url", url}})) << url;
  }
  EXPECT_NO_THROW(
      read_config(json{{"url", "http://hooks.example.com/x"}, {"allow_insecure", true}}));
  try {
    read_config(json{{"url", "http://user:pw@hooks.example.com/x?token=abc"}});
    FAIL() << "plain http to a remote host was accepted";
  } catch (const sdk::ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("config.url"), std::string::npos) << what;
    EXPECT_NE(what.find("allow_insecure"), std::string::npos) << what;
    // The URL is shown without its credentials.
    EXPECT_EQ(what.find("pw"), std::string::npos) << what;
    EXPECT_EQ(what.find("token=abc"), std::string::npos) << what;
  }
}

struct BadConfig {
  const char* name;
  json config;
  std::vector<std::string> expected;  // every one must be in the message
};

void PrintTo(const BadConfig& bad, std::ostream* os) {
  *os << bad.name << ": " << bad.config.dump();
}

class SinkWebhookBadConfig : public ::testing::TestWithParam<BadConfig> {};

TEST_P(SinkWebhookBadConfig, IsRefusedNamingTheKey) {
  const BadConfig& bad = GetParam();
  try {
    read_config(bad.config);
    FAIL() << bad.name << ": accepted";
  } catch (const sdk::ConfigError& e) {
    const std::string what = e.what();
    for (const std::string& part : bad.expected) {
      EXPECT_NE(what.find(part), std::string::npos) << bad.name << ": " << what;
    }
    EXPECT_EQ(what.find("MfKQ9r8GKYqr"), std::string::npos) << "a secret in: " << what;
    EXPECT_EQ(what.find("s3cr3t-value"), std::string::npos) << "a header value in: " << what;
  }
}

const json kUrl = "https://hooks.example.com/in";

INSTANTIATE_TEST_SUITE_P(
    Table, SinkWebhookBadConfig,
    ::testing::Values(
        BadConfig{"no_url", json::object(), {"config.url", "required"}},
        BadConfig{"url_not_string", json{{"url", 42}}, {"config.url", "string"}},
        BadConfig{"url_relative", json{{"url", "/in"}}, {"config.url", "absolute URL"}},
        BadConfig{"url_ftp", json{{"url", "ftp://h/x"}}, {"config.url", "'ftp' is not http"}},
        BadConfig{"url_no_host", json{{"url", "https:///x"}}, {"config.url", "no host"}},
        BadConfig{"url_bad_port", json{{"url", "https://h:99999/x"}}, {"config.url", "port"}},
        BadConfig{"url_space", json{{"url", "https://h/a b"}}, {"config.url", "space"}},
        BadConfig{"url_fragment", json{{"url", "https://h/a#f"}}, {"config.url", "fragment"}},
        BadConfig{"mode",
                  json{{"url", kUrl}, {"mode", "batch"}},
                  {"config.mode", "structured or binary", "batch"}},
        BadConfig{"secret_malformed",
                  json{{"url", kUrl}, {"secret", "whsec_MfKQ9r8GKYqr!!"}},
                  {"config.secret", "malformed webhook secret"}},
        BadConfig{"secret_not_string",
                  json{{"url", kUrl}, {"secret", 5}},
                  {"config.secret", "must be a string"}},
        BadConfig{"secrets_entry",
                  json{{"url", kUrl}, {"secrets", {kSecret, "not base64 %%"}}},
                  {"config.secrets[1]", "malformed webhook secret"}},
        BadConfig{"secrets_empty",
                  json{{"url", kUrl}, {"secrets", json::array()}},
                  {"config.secrets", "at least one"}},
        BadConfig{"secret_and_secrets",
                  json{{"url", kUrl}, {"secret", kSecret}, {"secrets", {kSecret}}},
                  {"config.secrets", "not both"}},
        BadConfig{"header_content_type",
                  json{{"url", kUrl}, {"headers", {{"Content-Type", "text/plain"}}}},
                  {"config.headers.Content-Type", "clashes"}},
        BadConfig{"header_webhook",
                  json{{"url", kUrl}, {"headers", {{"Webhook-Id", "x"}}}},
                  {"config.headers.Webhook-Id", "Standard Webhooks"}},
        BadConfig{"header_ce",
                  json{{"url", kUrl}, {"headers", {{"ce-tenant", "x"}}}},
                  {"config.headers.ce-tenant", "ce-*"}},
        BadConfig{"header_host",
                  json{{"url", kUrl}, {"headers", {{"Host", "x"}}}},
                  {"config.headers.Host", "HTTP client"}},
        BadConfig{"header_name",
                  json{{"url", kUrl}, {"headers", {{"X Bad", "x"}}}},
                  {"config.headers.X Bad", "not an HTTP header name"}},
        BadConfig{"header_value_type",
                  json{{"url", kUrl}, {"headers", {{"X-A", 1}}}},
                  {"config.headers.X-A", "must be a string"}},
        BadConfig{"header_value_newline",
                  json{{"url", kUrl}, {"headers", {{"X-Token", "s3cr3t-value\r\nX-Evil: 1"}}}},
                  {"config.headers.X-Token", "line break"}},
        BadConfig{
            "headers_not_map", json{{"url", kUrl}, {"headers", {"a", "b"}}}, {"config.headers"}},
        BadConfig{
            "timeout", json{{"url", kUrl}, {"timeout", "0s"}}, {"config.timeout", "at least 1ms"}},
        BadConfig{"timeout_garbage", json{{"url", kUrl}, {"timeout", "soon"}}, {"config.timeout"}},
        BadConfig{"connect_timeout",
                  json{{"url", kUrl}, {"connect_timeout", "0ms"}},
                  {"config.connect_timeout", "at least 1ms"}},
        BadConfig{"max_in_flight_zero",
                  json{{"url", kUrl}, {"max_in_flight", 0}},
                  {"config.max_in_flight", "1 to 1024", "got 0"}},
        BadConfig{"max_in_flight_huge",
                  json{{"url", kUrl}, {"max_in_flight", 5000}},
                  {"config.max_in_flight", "1 to 1024"}},
        BadConfig{"max_retry_after",
                  json{{"url", kUrl}, {"max_retry_after", "500ms"}},
                  {"config.max_retry_after", "at least 1s"}},
        BadConfig{"ca_file_missing",
                  json{{"url", kUrl}, {"ca_file", "/nonexistent/ca.pem"}},
                  {"config.ca_file", "/nonexistent/ca.pem", "not a file"}},
        BadConfig{
            "verify_tls_type", json{{"url", kUrl}, {"verify_tls", "no"}}, {"config.verify_tls"}},
        BadConfig{"max_response_bytes",
                  json{{"url", kUrl}, {"max_response_bytes", 10}},
                  {"config.max_response_bytes", "256"}},
        BadConfig{
            "unknown_key", json{{"url", kUrl}, {"secert", kSecret}}, {"config.secert", "unknown"}}),
    [](const ::testing::TestParamInfo<BadConfig>& info) { return std::string(info.param.name); });

TEST(SinkWebhookUrl, RedactsUserinfoQueryAndFragment) {
  EXPECT_EQ(redact_url("https://u:p@h.example:8443/a/b?token=x#f"), "https://h.example:8443/a/b");
  EXPECT_EQ(redact_url("https://h/a"), "https://h/a");
  EXPECT_EQ(redact_url("https://h?q=1"), "https://h");
  EXPECT_EQ(redact_url("http://[::1]:80/p"), "http://[::1]:80/p");
}

TEST(SinkWebhookUrl, LoopbackHosts) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.255.0.3"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("LOCALHOST"));
  EXPECT_FALSE(is_loopback_host("128.0.0.1"));
  EXPECT_FALSE(is_loopback_host("localhost.example.com"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host("::2"));
}

}  // namespace
}  // namespace simpang::plugins::sink_webhook
