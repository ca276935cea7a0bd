// The `partner_door:` and `partners:` sections through load_config: what the hub gets, what may
// be shown, the source-http clients generated from the partners, and each problem at its line and
// column. The YAML is inline and flush left, so positions can be read off the test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "config/config.h"
#include "config/partners_section.h"
#include "config_test_util.h"
#include "security/curve_keys.h"
#include "test_support.h"

namespace simpang::hub {
namespace {

using testing::dump;
using testing::HasDiagnostic;
using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kPluginDir = SIMPANG_TEST_PLUGIN_DIR;

class PartnersConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.default_plugin_dirs = {kPluginDir};
    setenv("SIMPANG_TEST_ACME_TOKEN", "acme-token-7f3e", 1);
    hub_ = *generate_curve_key_pair();
    acme_ = *generate_curve_key_pair();
    beta_ = *generate_curve_key_pair();
    write("keys/hub.key", hub_.secret_key + "\n");
    write("keys/acme.pub", acme_.public_key + "\n");
    write("keys/beta.pub", beta_.public_key + "\n");
  }
  void TearDown() override { unsetenv("SIMPANG_TEST_ACME_TOKEN"); }

  void write(const std::string& name, const std::string& text) {
    std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }
  // `plugins:` with one sink instance `a` (line 1-3), then `rest`, from line 4 on.
  ConfigResult load(const std::string& rest) {
    write("simpang.yaml", "plugins:\n  - name: a\n    plugin: abi-ok-sink\n" + rest);
    return load_config(dir_ / "simpang.yaml", options_);
  }

  LoadOptions options_;
  simpang::testing::TempDir temp_{"simpang-partners-test"};
  std::filesystem::path dir_ = temp_.path();
  CurveKeyPair hub_, acme_, beta_;
};

TEST_F(PartnersConfigTest, TheSectionsAsDocumented) {
  const ConfigResult r = load(
      "partner_door:\n"
      "  listen: tcp://0.0.0.0:7400\n"
      "  secret_key: ${file:keys/hub.key}\n"
      "  max_connections: 32\n"
      "partners:\n"
      "  - name: acme\n"
      "    curve_public_key: ${file:keys/acme.pub}\n"
      "    http: {token: \"${env:SIMPANG_TEST_ACME_TOKEN}\"}\n"
      "    publish: {types: [\"talent.**\"], source_prefix: /partners/acme/}\n"
      "    quotas: {events_per_second: 200, bytes_per_second: 1MiB, max_unacked: 4,\n"
      "             max_backlog: 100000}\n"
      "routes:\n"
      "  - name: from-acme\n"
      "    from: acme\n"
      "    to: a\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.partner_door.listen, "tcp://0.0.0.0:7400");
  EXPECT_EQ(c.partner_door.secret_key, hub_.secret_key);
  EXPECT_EQ(c.partner_door.public_key, hub_.public_key);  // derived from the secret key
  EXPECT_EQ(c.partner_door.max_connections, 32u);
  ASSERT_EQ(c.partners.size(), 1u);
  const PartnerConfig& acme = c.partners[0];
  EXPECT_EQ(acme.name, "acme");
  EXPECT_EQ(acme.curve_public_key, acme_.public_key);
  EXPECT_EQ(acme.http_tokens, std::vector<std::string>{"acme-token-7f3e"});
  EXPECT_EQ(acme.types, std::vector<std::string>{"talent.**"});
  EXPECT_EQ(acme.source_prefix, "/partners/acme/");
  EXPECT_EQ(acme.quotas.events_per_second, 200u);
  EXPECT_EQ(acme.quotas.bytes_per_second, 1048576u);
  EXPECT_EQ(acme.quotas.max_unacked, 4u);
  EXPECT_EQ(acme.quotas.max_backlog, 100000u);
  ASSERT_EQ(c.routes.size(), 1u);
  EXPECT_EQ(c.routes[0].from, std::vector<std::string>{"acme"});

  // Shown, the secrets are the references as written.
  const std::string shown = partners_json_shown(c.partner_door, c.partners);
  EXPECT_THAT(shown, HasSubstr("${file:keys/hub.key}"));
  EXPECT_THAT(shown, HasSubstr("${env:SIMPANG_TEST_ACME_TOKEN}"));
  EXPECT_THAT(shown, Not(HasSubstr(hub_.secret_key)));
  EXPECT_THAT(shown, Not(HasSubstr("acme-token-7f3e")));
}

TEST_F(PartnersConfigTest, SourceHttpTakesItsClientsFromThePartners) {
  const ConfigResult r = load(
      "  - name: web\n"
      "    plugin: abi-ok-sink\n"
      "    config:\n"
      "      listen: 127.0.0.1:0\n"
      "      clients: partners\n"
      "partners:\n"
      "  - name: acme\n"
      "    http:\n"
      "      token: ${env:SIMPANG_TEST_ACME_TOKEN}\n"
      "      webhook_secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw]\n"
      "    publish: {types: [\"talent.**\"], source_prefix: /partners/acme/}\n"
      "  - name: beta\n"
      "    curve_public_key: ${file:keys/beta.pub}\n"
      "    publish: {types: [talent.person.*], source_prefix: /partners/beta/}\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  const PluginInstanceConfig* web = r.config->find_plugin("web");
  ASSERT_NE(web, nullptr);
  const nlohmann::json config = nlohmann::json::parse(web->config_json);
  const nlohmann::json expected = nlohmann::json::parse(R"([{
      "name": "acme", "token": ["acme-token-7f3e"],
      "webhook_secrets": ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
      "types": ["talent.**"], "source_prefix": "/partners/acme/"}])");
  EXPECT_EQ(config["clients"], expected);  // beta has no http section: not a client
  EXPECT_EQ(config["listen"], "127.0.0.1:0");
  const nlohmann::json shown = nlohmann::json::parse(web->config_json_shown);
  EXPECT_EQ(shown["clients"][0]["token"][0], "${env:SIMPANG_TEST_ACME_TOKEN}");
}

TEST_F(PartnersConfigTest, ClientsFromPartnersNeedAPartnerWithHttp) {
  const ConfigResult r = load(
      "  - name: web\n"
      "    plugin: abi-ok-sink\n"
      "    config: {clients: partners}\n"
      "partners:\n"
      "  - name: beta\n"
      "    curve_public_key: ${file:keys/beta.pub}\n"
      "    publish: {types: [talent.person.*], source_prefix: /partners/beta/}\n");
  EXPECT_TRUE(HasDiagnostic(r, 4, 5, "no partner has an 'http' section"));
}

TEST_F(PartnersConfigTest, EveryProblemAtItsPosition) {
  const ConfigResult r = load(
      "partners:\n"                                                       // 4
      "  - name: acme\n"                                                  // 5
      "    curve_public_key: ${file:keys/acme.pub}\n"                     // 6
      "    publish: {types: [\"talent.**\"], source_prefix: /p/acme/}\n"  // 7
      "  - name: acme\n"                                                  // 8
      "    curve_public_key: ${file:keys/acme.pub}\n"                     // 9
      "    publish: {types: [\"talent..x\"], source_prefix: /p/acme/}\n"  // 10
      "  - name: a\n"                                                     // 11
      "    curve_public_key: not-a-key\n"                                 // 12
      "    publish: {types: [x], source_prefix: /p/a/}\n"                 // 13
      "    quota: {events_per_second: 5}\n"                               // 14
      "  - name: gamma\n"                                                 // 15
      "    publish: {types: [x], source_prefix: /p/g/}\n"                 // 16
      "    quotas: {bytes_per_second: lots}\n"                            // 17
      "routes:\n"                                                         // 18
      "  - name: to-partner\n"                                            // 19
      "    from: acme\n"                                                  // 20
      "    to: acme\n");                                                  // 21
  EXPECT_TRUE(HasDiagnostic(r, 8, 11, "duplicate partner name 'acme' (first defined at line 5)"));
  EXPECT_TRUE(HasDiagnostic(r, 9, 23, "is the same key as partner 'acme''s"));
  EXPECT_TRUE(HasDiagnostic(r, 10, 23, "has an invalid pattern 'talent..x'"));
  EXPECT_TRUE(HasDiagnostic(r, 11, 11, "partner name 'a' is also the name of a plugin instance"));
  EXPECT_TRUE(HasDiagnostic(r, 12, 23, "a CURVE key is 40"));
  EXPECT_TRUE(HasDiagnostic(r, 14, 5, "unknown key 'quota' in partner 'a'"));
  EXPECT_TRUE(HasDiagnostic(r, 14, 5, "quotas"));  // the suggestion
  EXPECT_TRUE(HasDiagnostic(r, 15, 5, "partner 'gamma' has no credentials"));
  EXPECT_TRUE(HasDiagnostic(r, 17, 32, "must be a size in bytes"));
  EXPECT_TRUE(HasDiagnostic(r, 21, 9, "which is a partner"));
}

TEST_F(PartnersConfigTest, TheDoorNeedsATcpEndpointAndTheHubsSecretKey) {
  const ConfigResult r = load(
      "partner_door:\n"
      "  listen: ipc:///tmp/x\n"
      "partners: []\n");
  EXPECT_TRUE(HasDiagnostic(r, 5, 11, "partner_door.listen must be a tcp:// endpoint"));
  EXPECT_TRUE(HasDiagnostic(r, 4, 1, "partner_door has 'listen' but no 'secret_key'"));
  const ConfigResult unset = load(
      "partner_door:\n"
      "  listen: tcp://127.0.0.1:7400\n"
      "  secret_key: ${env:SIMPANG_TEST_UNSET_KEY}\n");
  EXPECT_TRUE(HasDiagnostic(unset, 6, 15, "SIMPANG_TEST_UNSET_KEY is not set"));
}

TEST(ByteSizeTest, UnitsAndMistakes) {
  using config_internal::parse_byte_size;
  EXPECT_EQ(parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(parse_byte_size("512KiB"), 512u * 1024);
  EXPECT_EQ(parse_byte_size("1MiB"), 1048576u);
  EXPECT_EQ(parse_byte_size("2GiB"), 2ull << 30);
  EXPECT_EQ(parse_byte_size("1MB"), 1000000u);
  EXPECT_EQ(parse_byte_size("0"), std::nullopt);
  EXPECT_EQ(parse_byte_size("1 MiB"), std::nullopt);
  EXPECT_EQ(parse_byte_size("MiB"), std::nullopt);
  EXPECT_EQ(parse_byte_size("1TiB"), std::nullopt);
  EXPECT_EQ(parse_byte_size("99999999999999999999"), std::nullopt);
}

}  // namespace
}  // namespace simpang::hub
