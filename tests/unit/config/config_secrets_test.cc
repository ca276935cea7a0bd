// Secret references in a plugin's `config:` through load_config: what the plugin receives, what
// may be shown, and each problem at the reference it is about. The YAML is inline and flush left,
// so each diagnostic's line and column can be read off the test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "config/config.h"
#include "config_test_util.h"
#include "test_support.h"

namespace simpang::hub {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const std::filesystem::path kPluginDir = SIMPANG_TEST_PLUGIN_DIR;

using testing::dump;
using testing::HasDiagnostic;

class ConfigSecretsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.default_plugin_dirs = {kPluginDir};
    setenv("SIMPANG_TEST_TOKEN", "tok-3f9a1c", 1);
    setenv("SIMPANG_TEST_EMPTY", "", 1);
    unsetenv("SIMPANG_TEST_UNSET");
  }
  void TearDown() override {
    unsetenv("SIMPANG_TEST_TOKEN");
    unsetenv("SIMPANG_TEST_EMPTY");
  }

  std::filesystem::path write(const std::string& name, std::string_view text) {
    std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // An instance of abi-ok-sink whose `config:` is `config` (indented by the caller under line 4).
  ConfigResult load(std::string_view config) {
    std::string yaml = "plugins:\n  - name: a\n    plugin: abi-ok-sink\n    config:\n";
    yaml += config;
    return load_config(write("simpang.yaml", yaml), options_);
  }

  nlohmann::json plugin_config(const ConfigResult& r) {
    return nlohmann::json::parse(r.config->plugins.at(0).config_json);
  }
  nlohmann::json shown_config(const ConfigResult& r) {
    return nlohmann::json::parse(r.config->plugins.at(0).config_json_shown);
  }

  simpang::testing::TempDir temp_{"simpang-secrets-test"};
  std::filesystem::path dir_ = temp_.path();
  LoadOptions options_;
};

TEST_F(ConfigSecretsTest, EnvReferencesAreResolvedWholeEmbeddedAndAtAnyDepth) {
  ConfigResult r = load(R"(      token: ${env:SIMPANG_TEST_TOKEN}
      header: "Bearer ${env:SIMPANG_TEST_TOKEN}"
      both: ${env:SIMPANG_TEST_TOKEN}/${env:SIMPANG_TEST_TOKEN}
      empty: ${env:SIMPANG_TEST_EMPTY}
      nested:
        list: [plain, "${env:SIMPANG_TEST_TOKEN}", 3]
        map:
          deeper: {key: "x${env:SIMPANG_TEST_TOKEN}x"}
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(plugin_config(r), nlohmann::json::parse(R"({
    "token": "tok-3f9a1c",
    "header": "Bearer tok-3f9a1c",
    "both": "tok-3f9a1c/tok-3f9a1c",
    "empty": "",
    "nested": {"list": ["plain", "tok-3f9a1c", 3], "map": {"deeper": {"key": "xtok-3f9a1cx"}}}
  })"));
  // What may be shown keeps every reference as written and no value.
  const std::string shown = r.config->plugins[0].config_json_shown;
  EXPECT_THAT(shown, Not(HasSubstr("tok-3f9a1c")));
  EXPECT_EQ(shown_config(r)["header"], "Bearer ${env:SIMPANG_TEST_TOKEN}");
  EXPECT_EQ(shown_config(r)["nested"]["list"][1], "${env:SIMPANG_TEST_TOKEN}");
}

TEST_F(ConfigSecretsTest, DollarDollarBraceIsALiteralAndOtherDollarsAreThemselves) {
  ConfigResult r = load(R"(      literal: "$${env:SIMPANG_TEST_TOKEN}"
      price: $5 and $$ and $
      mixed: "$${x} ${env:SIMPANG_TEST_TOKEN}"
      number: 12
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(plugin_config(r)["literal"], "${env:SIMPANG_TEST_TOKEN}");
  EXPECT_EQ(plugin_config(r)["price"], "$5 and $$ and $");
  EXPECT_EQ(plugin_config(r)["mixed"], "${x} tok-3f9a1c");
  EXPECT_EQ(plugin_config(r)["number"], 12);
}

TEST_F(ConfigSecretsTest, KeysAreNotResolved) {
  ConfigResult r = load("      ${env:SIMPANG_TEST_TOKEN}: value\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(plugin_config(r), nlohmann::json::parse(R"({"${env:SIMPANG_TEST_TOKEN}": "value"})"));
}

TEST_F(ConfigSecretsTest, UnsetVariablesAreReportedAtEachReference) {
  ConfigResult r = load(R"(      token: ${env:SIMPANG_TEST_UNSET}
      header: "Bearer ${env:SIMPANG_TEST_UNSET}"
      twice: ${env:SIMPANG_TEST_UNSET}-${env:SIMPANG_TEST_UNSET}
      list:
        - ok
        - 'x ${env:SIMPANG_TEST_UNSET}'
      flow: {path: "${env:SIMPANG_TEST_UNSET}"}
)");
  ASSERT_EQ(r.diagnostics.size(), 6u) << dump(r);
  const std::string why =
      "in 'config' of plugin entry 'a': '${env:SIMPANG_TEST_UNSET}': the environment variable "
      "SIMPANG_TEST_UNSET is not set";
  EXPECT_TRUE(HasDiagnostic(r, 5, 14, why));
  EXPECT_TRUE(HasDiagnostic(r, 6, 23, why));
  EXPECT_TRUE(HasDiagnostic(r, 7, 14, why));
  EXPECT_TRUE(HasDiagnostic(r, 7, 40, why));
  EXPECT_TRUE(HasDiagnostic(r, 10, 14, why));
  EXPECT_TRUE(HasDiagnostic(r, 11, 21, why));
  EXPECT_EQ(r.diagnostics[0].to_string(), (dir_ / "simpang.yaml").string() + ":5:14: " + why);
}

TEST_F(ConfigSecretsTest, MalformedReferencesAreProblemsNotText) {
  ConfigResult r = load(R"(      kind: ${vault:db/password}
      name: ${env:1BAD}
      nofile: ${file:}
      open: "abc ${env:SIMPANG_TEST_TOKEN"
)");
  ASSERT_EQ(r.diagnostics.size(), 4u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 5, 13,
                            "'${vault:db/password}': unknown reference; use ${env:NAME} or "
                            "${file:PATH} (write '$${' for a literal '${')"));
  EXPECT_TRUE(HasDiagnostic(r, 6, 13, "'1BAD' is not an environment variable name"));
  EXPECT_TRUE(HasDiagnostic(r, 7, 15, "no file is named after 'file:'"));
  EXPECT_TRUE(
      HasDiagnostic(r, 8, 18, "the reference '${env:SIMPANG_TEST_TOKEN' has no closing '}'"));
}

TEST_F(ConfigSecretsTest, FileReferencesReadTheFileWithOneTrailingNewlineRemoved) {
  write("secrets/db", "pa55-7e1d\n");
  write("twice", "line\n\n");
  write("crlf", "win\r\n");
  write("bare", "no newline");
  const std::filesystem::path absolute = write("abs/key.pem", "-----KEY-----\nabc\n");
  ConfigResult r = load(
      "      relative: ${file:secrets/db}\n"
      "      dotted: ${file:./secrets/db}\n"
      "      twice: ${file:twice}\n"
      "      crlf: ${file:crlf}\n"
      "      bare: \"[${file:bare}]\"\n"
      "      absolute: ${file:" +
      absolute.string() + "}\n");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(plugin_config(r)["relative"], "pa55-7e1d");
  EXPECT_EQ(plugin_config(r)["dotted"], "pa55-7e1d");
  EXPECT_EQ(plugin_config(r)["twice"], "line\n");
  EXPECT_EQ(plugin_config(r)["crlf"], "win");
  EXPECT_EQ(plugin_config(r)["bare"], "[no newline]");
  EXPECT_EQ(plugin_config(r)["absolute"], "-----KEY-----\nabc");
  EXPECT_THAT(r.config->plugins[0].config_json_shown, Not(HasSubstr("pa55")));
  EXPECT_EQ(shown_config(r)["relative"], "${file:secrets/db}");
}

TEST_F(ConfigSecretsTest, RelativeFilesAreFoundBesideTheConfigurationNotTheWorkingDirectory) {
  write("conf/token", "beside-the-config");
  std::string yaml =
      "plugins:\n  - name: a\n    plugin: abi-ok-sink\n    config:\n"
      "      token: ${file:token}\n";
  const std::filesystem::path file = write("conf/simpang.yaml", yaml);
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir_);  // "token" here would be dir_/token, which does not exist
  ConfigResult r = load_config(file.lexically_relative(dir_), options_);
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(plugin_config(r)["token"], "beside-the-config");
}

TEST_F(ConfigSecretsTest, MissingDirectoryFifoAndTooLargeFilesAreReportedNamingThePath) {
  std::filesystem::create_directories(dir_ / "adir");
  write("big", std::string(64 * 1024 + 1, 'x'));
  write("limit", std::string(64 * 1024, 'y'));
  // A FIFO would block a reader that waited for a writer: it is refused without waiting.
  ASSERT_EQ(mkfifo((dir_ / "pipe").c_str(), 0600), 0) << std::strerror(errno);
  ConfigResult r = load(R"(      missing: ${file:nope/secret.txt}
      dir: "${file:adir}"
      big: ${file:big}
      limit: ${file:limit}
      fifo: ${file:pipe}
)");
  ASSERT_EQ(r.diagnostics.size(), 4u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 5, 16,
                            "'${file:nope/secret.txt}': the file " +
                                (dir_ / "nope/secret.txt").string() + " does not exist"));
  EXPECT_TRUE(HasDiagnostic(r, 6, 13, (dir_ / "adir").string() + " is a directory, not a file"));
  EXPECT_TRUE(HasDiagnostic(r, 7, 12,
                            "the file " + (dir_ / "big").string() +
                                " is larger than 64 KiB, the most a secret file may hold"));
  EXPECT_TRUE(HasDiagnostic(r, 9, 13, (dir_ / "pipe").string() + " is not a regular file"));
}

TEST_F(ConfigSecretsTest, ProblemsInConfigLeaveNoResolvedJsonBehind) {
  ConfigResult r = load("      a: ${env:SIMPANG_TEST_TOKEN}\n      b: ${env:SIMPANG_TEST_UNSET}\n");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_THAT(r.diagnostics[0].message, Not(HasSubstr("tok-3f9a1c")));
}

}  // namespace
}  // namespace simpang::hub
