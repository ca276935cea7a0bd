// Tests of `simpang plugin new` (hub/src/cli/plugin_new.cc): name checks, refusing to overwrite,
// what a project contains, and the command line. That a generated project builds and passes its
// own tests is checked by kit_test.sh against an installed SDK.
#include "cli/plugin_new.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "simpang/sdk/testing.h"

namespace {

using simpang::hub::check_plugin_name;
using simpang::hub::plugin_project_files;
using simpang::hub::write_plugin_project;
using simpang::sdk::testing::TempDir;

TEST(PluginNewTest, AcceptsLowerCaseDigitsAndDashes) {
  EXPECT_TRUE(check_plugin_name("lms-moodle").ok());
  EXPECT_TRUE(check_plugin_name("hr2-csv").ok());
  EXPECT_TRUE(check_plugin_name("x").ok());
}

TEST(PluginNewTest, RefusesOtherNamesSayingWhy) {
  EXPECT_EQ(check_plugin_name("").message(), "the plugin name is empty");
  EXPECT_EQ(
      check_plugin_name("Lms").message(),
      "the plugin name 'Lms' may contain only lower-case letters, digits and '-' (found 'L')");
  EXPECT_EQ(check_plugin_name("lms_moodle").message(),
            "the plugin name 'lms_moodle' may contain only lower-case letters, digits and '-' "
            "(found '_')");
  EXPECT_EQ(check_plugin_name("2lms").message(), "the plugin name '2lms' must start with a letter");
  EXPECT_FALSE(check_plugin_name("lms-").ok());
  EXPECT_FALSE(check_plugin_name("lms--x").ok());
  EXPECT_FALSE(check_plugin_name("../evil").ok());
  EXPECT_FALSE(check_plugin_name(std::string(65, 'a')).ok());
}

TEST(PluginNewTest, AProjectHasItsFilesWithEveryPlaceholderFilled) {
  for (const char* kind : {"source", "sink", "transform"}) {
    const auto files = plugin_project_files("hr-csv2", kind);
    for (const char* name : {"CMakeLists.txt", "README.md", "plugin.cc", "hr_csv2.h", "hr_csv2.cc",
                             "hr_csv2_test.cc"}) {
      ASSERT_EQ(files.count(name), 1u) << kind << ": " << name;
    }
    for (const auto& [name, text] : files) {
      EXPECT_EQ(text.find('@'), std::string::npos)
          << kind << ": " << name << " keeps a placeholder";
    }
    EXPECT_NE(files.at("hr_csv2.h").find("class HrCsv2 : public simpang::sdk::"),
              std::string::npos);
    EXPECT_NE(files.at("plugin.cc").find("SIMPANG_PLUGIN(hr_csv2::HrCsv2, \"hr-csv2\""),
              std::string::npos);
    EXPECT_NE(files.at("CMakeLists.txt").find("simpang::sdk_testing"), std::string::npos);
    EXPECT_NE(files.at("hr_csv2.cc").find("ConfigReader"), std::string::npos);
    EXPECT_NE(files.at("hr_csv2_test.cc").find("PluginHarness<hr_csv2::HrCsv2>"),
              std::string::npos);
  }
}

TEST(PluginNewTest, WritesAProjectAndRefusesToOverwriteOne) {
  TempDir temp;
  const auto dir = temp.path() / "nested" / "my-sink";
  ASSERT_TRUE(write_plugin_project(dir, "my-sink", "sink").ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(dir / "my_sink.cc"));
  std::ofstream(dir / "my_sink.cc") << "// edited by its author\n";

  const auto again = write_plugin_project(dir, "my-sink", "sink");
  EXPECT_FALSE(again.ok());
  EXPECT_NE(again.message().find("already exists; refusing to overwrite it"), std::string::npos);
  std::ifstream in(dir / "my_sink.cc");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "// edited by its author\n");

  std::filesystem::create_directory(temp.path() / "empty");
  EXPECT_FALSE(write_plugin_project(temp.path() / "empty", "my-sink", "sink").ok());
  EXPECT_FALSE(write_plugin_project(temp.path() / "bad", "Bad", "sink").ok());
  EXPECT_FALSE(std::filesystem::exists(temp.path() / "bad"));
  EXPECT_FALSE(write_plugin_project(temp.path() / "k", "k", "filter").ok());
}

int run(std::vector<std::string> args) {
  CLI::App app;
  auto command = simpang::hub::add_plugin_commands(app);
  args.insert(args.begin(), "simpang");
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  app.parse(static_cast<int>(argv.size()), argv.data());
  return command();
}

TEST(PluginNewTest, TheCommandLineWritesIntoDirAndReportsRefusals) {
  TempDir temp;
  const std::string dir = (temp.path() / "p").string();
  EXPECT_EQ(run({"plugin", "new", "lms-poller", "--kind", "source", "--dir", dir}), 0);
  EXPECT_TRUE(std::filesystem::is_regular_file(temp.path() / "p" / "lms_poller.cc"));
  EXPECT_EQ(run({"plugin", "new", "lms-poller", "--kind", "source", "--dir", dir}), 1);
  EXPECT_THROW(run({"plugin", "new", "x", "--kind", "filter", "--dir", dir}), CLI::ValidationError);
}

TEST(PluginNewTest, NotParsedMeansMinusOne) {
  CLI::App app;
  auto command = simpang::hub::add_plugin_commands(app);
  auto* other = app.add_subcommand("version");
  (void)other;
  std::vector<std::string> args = {"simpang", "version"};
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  app.parse(static_cast<int>(argv.size()), argv.data());
  EXPECT_EQ(command(), -1);
}

}  // namespace
