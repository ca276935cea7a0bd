// PluginLibrary::open and check_abi_compatible against the tiny plugins of tests/plugins/abi, each
// of which breaks (or keeps) one rule of the ABI.
#include "plugin/plugin_library.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace simpang::hub {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::filesystem::path test_plugin(const std::string& name) {
  return std::filesystem::path(SIMPANG_TEST_PLUGIN_DIR) / (name + ".so");
}

// The error message of a failed open; fails the test if the open succeeded.
std::string open_error(const std::filesystem::path& path) {
  StatusOr<std::shared_ptr<PluginLibrary>> lib = PluginLibrary::open(path);
  EXPECT_FALSE(lib.ok()) << path << " was accepted";
  return lib.ok() ? std::string() : lib.status().message();
}

TEST(PluginLibraryTest, AcceptsValidSink) {
  const std::filesystem::path path = test_plugin("abi-ok-sink");
  StatusOr<std::shared_ptr<PluginLibrary>> lib = PluginLibrary::open(path);
  ASSERT_TRUE(lib.ok()) << lib.status().message();
  const simpang_plugin_api& api = (*lib)->api();
  EXPECT_STREQ(api.name, "abi-ok-sink");
  EXPECT_STREQ(api.version, "0.0.1");
  EXPECT_EQ(api.kind, static_cast<uint32_t>(SIMPANG_KIND_SINK));
  EXPECT_EQ(api.abi_major, SIMPANG_ABI_MAJOR);
  // Built against ABI 1.0: a plugin of an older minor loads in a newer hub.
  EXPECT_EQ(api.abi_minor, 0u);
  EXPECT_LE(api.abi_minor, static_cast<uint32_t>(SIMPANG_ABI_MINOR));
  EXPECT_EQ((*lib)->path(), path);

  // The test plugins refuse to run, with a reason, rather than pretend.
  const char* error = nullptr;
  EXPECT_EQ(api.create(nullptr, &error), nullptr);
  ASSERT_NE(error, nullptr);
  EXPECT_THAT(error, HasSubstr("cannot run"));
}

TEST(PluginLibraryTest, AcceptsValidSourceAndTransform) {
  StatusOr<std::shared_ptr<PluginLibrary>> source =
      PluginLibrary::open(test_plugin("abi-ok-source"));
  ASSERT_TRUE(source.ok()) << source.status().message();
  EXPECT_EQ((*source)->api().kind, static_cast<uint32_t>(SIMPANG_KIND_SOURCE));
  EXPECT_STREQ((*source)->api().name, "abi-ok-source");

  StatusOr<std::shared_ptr<PluginLibrary>> transform =
      PluginLibrary::open(test_plugin("abi-ok-transform"));
  ASSERT_TRUE(transform.ok()) << transform.status().message();
  EXPECT_EQ((*transform)->api().kind, static_cast<uint32_t>(SIMPANG_KIND_TRANSFORM));
}

TEST(PluginLibraryTest, OpeningTwiceGivesTwoIndependentHandles) {
  auto first = PluginLibrary::open(test_plugin("abi-ok-sink"));
  auto second = PluginLibrary::open(test_plugin("abi-ok-sink"));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(second.ok());
  // dlopen reference-counts; closing one must leave the other's description readable.
  first->reset();
  EXPECT_STREQ((*second)->api().name, "abi-ok-sink");
}

TEST(PluginLibraryTest, RefusesOtherMajorNamingFileAndBothVersions) {
  const std::filesystem::path path = test_plugin("abi-major2");
  const std::string error = open_error(path);
  EXPECT_THAT(error, StartsWith(path.string() + ": "));
  EXPECT_THAT(error, HasSubstr("plugin ABI 2.0 is not compatible with this hub's ABI " +
                               std::to_string(SIMPANG_ABI_MAJOR) + "." +
                               std::to_string(SIMPANG_ABI_MINOR)));
  EXPECT_THAT(error, HasSubstr("major versions differ"));
}

TEST(PluginLibraryTest, RefusesNewerMinor) {
  const std::filesystem::path path = test_plugin("abi-minor-newer");
  const std::string error = open_error(path);
  EXPECT_THAT(error, StartsWith(path.string() + ": "));
  EXPECT_THAT(error, HasSubstr("plugin ABI 1.99 is not compatible with this hub's ABI 1." +
                               std::to_string(SIMPANG_ABI_MINOR)));
  EXPECT_THAT(error, HasSubstr("newer hub"));
}

TEST(PluginLibraryTest, RefusesLibraryWithoutEntrySymbol) {
  const std::filesystem::path path = test_plugin("abi-no-entry");
  EXPECT_EQ(open_error(path),
            path.string() + ": not a Simpang plugin: it does not export simpang_plugin_entry");
}

TEST(PluginLibraryTest, RefusesEntryReturningNull) {
  EXPECT_THAT(open_error(test_plugin("abi-null-entry")),
              HasSubstr("simpang_plugin_entry returned NULL"));
}

TEST(PluginLibraryTest, RefusesNullRequiredFunction) {
  EXPECT_THAT(open_error(test_plugin("abi-null-create")),
              HasSubstr("leaves required fields empty: create"));
}

TEST(PluginLibraryTest, RefusesUnknownKind) {
  EXPECT_THAT(open_error(test_plugin("abi-bad-kind")), HasSubstr("unknown kind 7"));
}

TEST(PluginLibraryTest, RefusesDescriptionShorterThanRequiredFields) {
  const std::string error = open_error(test_plugin("abi-short-struct"));
  EXPECT_THAT(error, HasSubstr("the plugin description is " +
                               std::to_string(offsetof(simpang_plugin_api, destroy)) + " bytes"));
  EXPECT_THAT(error, HasSubstr("requires at least " + std::to_string(sizeof(simpang_plugin_api))));
}

TEST(PluginLibraryTest, RefusesMissingFileWithDlerror) {
  const std::filesystem::path path = test_plugin("no-such-plugin");
  // dlerror()'s reason, without the path it repeats.
  EXPECT_EQ(open_error(path), path.string() +
                                  ": cannot load the plugin library: cannot open shared object "
                                  "file: No such file or directory");
}

TEST(PluginLibraryTest, RefusesFileThatIsNotASharedLibrary) {
  char dir_template[] = "/tmp/simpang-plugin-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir(dir_template);
  const std::filesystem::path fake = dir / "fake.so";
  std::ofstream(fake)
      << "this is not an ELF file, it is a text file long enough to have a header\n";
  const std::string error = open_error(fake);
  std::filesystem::remove_all(dir);
  EXPECT_THAT(error, StartsWith(fake.string() + ": cannot load the plugin library: "));
  EXPECT_THAT(error, HasSubstr("invalid ELF header"));
}

TEST(PluginLibraryTest, RelativePathIsAFileNotALibrarySearch) {
  // dlopen("libc.so.6") would find the system libc; a plugin path must name a file instead.
  char dir_template[] = "/tmp/simpang-plugin-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::filesystem::path previous = std::filesystem::current_path();
  std::filesystem::current_path(dir_template);
  const std::string error = open_error("libc.so.6");
  std::filesystem::current_path(previous);
  std::filesystem::remove_all(dir_template);
  EXPECT_THAT(error, StartsWith("libc.so.6: cannot load the plugin library"));
}

TEST(CheckAbiCompatibleTest, AcceptsSameMajorAndMinorUpToHost) {
  EXPECT_TRUE(check_abi_compatible(SIMPANG_ABI_MAJOR, SIMPANG_ABI_MINOR).ok());
  EXPECT_TRUE(check_abi_compatible(SIMPANG_ABI_MAJOR, 0).ok());
}

TEST(CheckAbiCompatibleTest, RefusesOtherMajorsAndNewerMinor) {
  Status older = check_abi_compatible(SIMPANG_ABI_MAJOR - 1, 0);
  EXPECT_FALSE(older.ok());
  EXPECT_THAT(older.message(), HasSubstr("plugin ABI 0.0 is not compatible with this hub's ABI"));

  Status newer = check_abi_compatible(SIMPANG_ABI_MAJOR + 1, 0);
  EXPECT_FALSE(newer.ok());
  EXPECT_THAT(newer.message(), HasSubstr("major versions differ"));

  Status minor = check_abi_compatible(SIMPANG_ABI_MAJOR, SIMPANG_ABI_MINOR + 1);
  EXPECT_FALSE(minor.ok());
  EXPECT_THAT(minor.message(), HasSubstr("plugin ABI 1." + std::to_string(SIMPANG_ABI_MINOR + 1)));
  // Without the file: callers add it.
  EXPECT_THAT(minor.message(), StartsWith("plugin ABI"));
}

}  // namespace
}  // namespace simpang::hub
