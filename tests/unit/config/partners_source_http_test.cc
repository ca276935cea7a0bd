// The clients the hub generates for `clients: partners`, read by source-http's own reader: the
// format the two agree on is checked by the code on both sides, not by a copy of it.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "config_test_util.h"
#include "source_http_config.h"
#include "test_support.h"

namespace simpang::hub {
namespace {

TEST(PartnersForSourceHttp, SourceHttpReadsTheGeneratedClients) {
  simpang::testing::TempDir dir("simpang-partners-http");
  setenv("SIMPANG_TEST_BETA_TOKEN", "beta-token-2c1d", 1);
  std::ofstream(dir.path() / "simpang.yaml") << R"(plugins:
  - name: web
    plugin: abi-ok-sink
    config:
      port: 0
      clients: partners
partners:
  - name: acme
    http:
      webhook_secrets: [whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw]
    publish: {types: ["talent.**"], source_prefix: /partners/acme/}
  - name: beta
    http:
      token: ${env:SIMPANG_TEST_BETA_TOKEN}
    publish: {types: [talent.person.*, talent.course.*], source_prefix: /partners/beta/}
    quotas: {events_per_second: 50, bytes_per_second: 64KiB}
)";
  LoadOptions options;
  options.default_plugin_dirs = {SIMPANG_TEST_PLUGIN_DIR};
  const ConfigResult r = load_config(dir.path() / "simpang.yaml", options);
  ASSERT_TRUE(r.ok()) << testing::dump(r);
  const auto read = plugins::source_http::read_config(
      nlohmann::json::parse(r.config->find_plugin("web")->config_json), dir.path());
  ASSERT_EQ(read.clients.size(), 2u);
  EXPECT_EQ(read.clients[0].name, "acme");
  EXPECT_TRUE(read.clients[0].tokens.empty());
  EXPECT_EQ(read.clients[0].webhook_secrets.size(), 1u);
  EXPECT_EQ(read.clients[0].source_prefix, "/partners/acme/");
  EXPECT_EQ(read.clients[1].name, "beta");
  EXPECT_EQ(read.clients[1].tokens, std::vector<std::string>{"beta-token-2c1d"});
  ASSERT_EQ(read.clients[1].types.size(), 2u);
  EXPECT_TRUE(read.clients[1].types[0].matches("talent.person.created"));
  EXPECT_FALSE(read.clients[1].types[1].matches("talent.person.created"));
  // The partner's rates hold at the HTTP door too; acme has none.
  EXPECT_EQ(read.clients[0].events_per_second, 0);
  EXPECT_EQ(read.clients[1].events_per_second, 50);
  EXPECT_EQ(read.clients[1].bytes_per_second, 65536);
  unsetenv("SIMPANG_TEST_BETA_TOKEN");
}

}  // namespace
}  // namespace simpang::hub
