// load_config against small YAML files written to a fresh temporary directory. Each test's YAML is
// inline, flush left, so the line and column a diagnostic must carry can be read off the test.
#include "config/config.h"
#include "config_test_util.h"
#include "test_support.h"

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
#include <optional>
#include <string>
#include <string_view>

#include "simpang/plugin_abi.h"

namespace simpang::hub {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const std::filesystem::path kPluginDir = SIMPANG_TEST_PLUGIN_DIR;

using testing::dump;
using testing::HasDiagnostic;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.default_plugin_dirs = {kPluginDir};
  }
  std::filesystem::path write(const std::string& name, std::string_view text) {
    std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return path;
  }

  // Writes `yaml` (minus the newline that follows R"( in the tests) and loads it.
  ConfigResult load(std::string_view yaml) {
    if (yaml.starts_with('\n')) {
      yaml.remove_prefix(1);
    }
    file_ = write("simpang.yaml", yaml);
    return load_config(file_, options_);
  }

  simpang::testing::TempDir temp_{"simpang-config-test"};
  std::filesystem::path dir_ = temp_.path();
  std::filesystem::path file_;
  LoadOptions options_;
};

// --- what a valid file gives
// ----------------------------------------------------------------------

TEST_F(ConfigTest, MinimalConfigGetsDefaults) {
  ConfigResult r = load(R"(
plugins:
  - name: ledger
    plugin: abi-ok-sink
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.file, file_);
  EXPECT_EQ(c.hub.state_dir, dir_ / "state");
  EXPECT_EQ(c.hub.log_level, "info");
  EXPECT_EQ(c.hub.summary_interval, std::chrono::seconds(5));
  EXPECT_EQ(c.hub.heartbeat, std::chrono::seconds(1));
  EXPECT_EQ(c.hub.drain_timeout, std::chrono::seconds(10));
  EXPECT_EQ(c.hub.max_batch, 512u);
  EXPECT_EQ(c.hub.queue_limit, 100000u);
  EXPECT_TRUE(c.hub.plugin_dirs.empty());
  ASSERT_EQ(c.plugins.size(), 1u);
  const PluginInstanceConfig& p = c.plugins[0];
  EXPECT_EQ(p.name, "ledger");
  EXPECT_EQ(p.plugin, "abi-ok-sink");
  EXPECT_EQ(p.library, (kPluginDir / "abi-ok-sink.so").lexically_normal());
  EXPECT_EQ(p.plugin_name, "abi-ok-sink");
  EXPECT_EQ(p.plugin_kind, static_cast<uint32_t>(SIMPANG_KIND_SINK));
  EXPECT_EQ(p.isolation, Isolation::kThread);
  EXPECT_EQ(p.transport, PluginTransport::kInproc);
  EXPECT_EQ(p.config_json, "{}");
  EXPECT_EQ(p.stop_timeout, std::chrono::seconds(5));
  EXPECT_EQ(p.where.line, 2);
  EXPECT_EQ(p.where.column, 5);
  EXPECT_EQ(p.where.file, file_.string());
  EXPECT_TRUE(c.routes.empty());
}

// The `journal:` section is the journal's own options (JournalOptions), which the hub hands to the
// journal as they are; only `kind` is the configuration's.
TEST_F(ConfigTest, JournalDefaultsAreTheJournalsOwn) {
  ConfigResult r = load(R"(
hub:
  state_dir: st
plugins:
  - name: ledger
    plugin: abi-ok-sink
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  const JournalOptions& settings = r.config->journal;
  EXPECT_EQ(settings.backend, JournalBackend::kSqlite);
  const JournalOptions& options = settings;
  const JournalOptions defaults;
  EXPECT_EQ(options.file, dir_ / "st" / "journal.db");
  EXPECT_EQ(options.sync, defaults.sync);
  EXPECT_EQ(options.retention, defaults.retention);
  EXPECT_EQ(options.dedup_window, defaults.dedup_window);
  EXPECT_EQ(options.dedup_max_events, defaults.dedup_max_events);
  EXPECT_EQ(options.max_events, defaults.max_events);
  EXPECT_EQ(options.max_commit_events, defaults.max_commit_events);
  EXPECT_EQ(options.verify_on_open, defaults.verify_on_open);
  EXPECT_EQ(options.maintenance_interval, defaults.maintenance_interval);
  EXPECT_FALSE(options.clock);
}

TEST_F(ConfigTest, JournalSectionIsReadIntoTheJournalsOptions) {
  ConfigResult r = load(R"(
journal:
  kind: memory
  file: data/j.db
  sync: full
  retention: 2h
  dedup_window: 0s
  max_events: 1000
  verify_on_open: no
plugins:
  - name: ledger
    plugin: abi-ok-sink
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  const JournalOptions& settings = r.config->journal;
  EXPECT_EQ(settings.backend, JournalBackend::kMemory);
  const JournalOptions& options = settings;
  EXPECT_EQ(options.file, dir_ / "data" / "j.db");
  EXPECT_EQ(options.sync, JournalSync::kFull);
  EXPECT_EQ(options.retention, std::chrono::hours(2));
  EXPECT_EQ(options.dedup_window, std::chrono::milliseconds(0));
  EXPECT_EQ(options.max_events, 1000u);
  EXPECT_FALSE(options.verify_on_open);
}

TEST_F(ConfigTest, JournalValuesAreChecked) {
  ConfigResult r = load(R"(
journal:
  kind: file
  sync: always
  retention: 1m
  dedup_window: 2m
  max_events: 10
plugins:
  - name: ledger
    plugin: abi-ok-sink
)");
  ASSERT_EQ(r.diagnostics.size(), 4u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 2, 9, "journal.kind must be one of sqlite, memory; found 'file'"));
  EXPECT_TRUE(HasDiagnostic(r, 3, 9, "journal.sync must be one of normal, full; found 'always'"));
  EXPECT_TRUE(HasDiagnostic(r, 2, 3,
                            "journal.dedup_window (120000 ms) cannot exceed journal.retention "
                            "(60000 ms)"));
  EXPECT_TRUE(HasDiagnostic(r, 6, 15, "journal.max_events must be an integer from 1000 to"));
}

TEST_F(ConfigTest, FullConfigIsReadAsWritten) {
  ConfigResult r = load(R"(
hub:
  state_dir: ../state
  log_level: debug
  summary_interval: 0s
  heartbeat: 250ms
  drain_timeout: 2m
  max_batch: 64
  queue_limit: 1000
  plugin_dirs: [plugins, /opt/simpang/plugins]
plugins:
  - name: programme
    plugin: abi-ok-source
    isolation: thread
    transport: ipc
    stop_timeout: 1h
    config: {rate: 100, seed: 7, label: "007", ratio: 0.5, on: true, none: ~, list: [1, two], nested: {a: '1'}}
  - name: ledger
    plugin: abi-ok-sink
  - name: audit
    plugin: abi-ok-transform
routes:
  - name: completions
    from: [programme, "prog*"]
    match:
      type: talent.**
      subject_prefix: "person/"
      extensions: {tenant: acme, priority: 5}
    to: [ledger, audit]
  - name: everything
    from: programme
    to: audit
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.hub.state_dir, dir_.parent_path() / "state");
  EXPECT_EQ(c.hub.log_level, "debug");
  EXPECT_EQ(c.hub.summary_interval, std::chrono::milliseconds(0));
  EXPECT_EQ(c.hub.heartbeat, std::chrono::milliseconds(250));
  EXPECT_EQ(c.hub.drain_timeout, std::chrono::minutes(2));
  EXPECT_EQ(c.hub.max_batch, 64u);
  EXPECT_EQ(c.hub.queue_limit, 1000u);
  EXPECT_THAT(c.hub.plugin_dirs,
              ElementsAre(dir_ / "plugins", std::filesystem::path("/opt/simpang/plugins")));

  ASSERT_EQ(c.plugins.size(), 3u);
  const PluginInstanceConfig& programme = c.plugins[0];
  EXPECT_EQ(programme.transport, PluginTransport::kIpc);
  EXPECT_EQ(programme.stop_timeout, std::chrono::hours(1));
  EXPECT_EQ(programme.plugin_kind, static_cast<uint32_t>(SIMPANG_KIND_SOURCE));
  EXPECT_EQ(nlohmann::json::parse(programme.config_json),
            nlohmann::json::parse(R"({"rate": 100, "seed": 7, "label": "007", "ratio": 0.5,
                                      "on": true, "none": null, "list": [1, "two"],
                                      "nested": {"a": "1"}})"));
  EXPECT_EQ(c.plugins[2].plugin_kind, static_cast<uint32_t>(SIMPANG_KIND_TRANSFORM));

  ASSERT_EQ(c.routes.size(), 2u);
  const RouteConfig& completions = c.routes[0];
  EXPECT_EQ(completions.name, "completions");
  EXPECT_THAT(completions.from, ElementsAre("programme", "prog*"));
  EXPECT_THAT(completions.types, ElementsAre("talent.**"));
  EXPECT_EQ(completions.subject_prefix, "person/");
  EXPECT_EQ(completions.extensions,
            (std::map<std::string, std::string>{{"tenant", "acme"}, {"priority", "5"}}));
  EXPECT_THAT(completions.to, ElementsAre("ledger", "audit"));
  EXPECT_EQ(completions.where.line, 22);
  EXPECT_EQ(completions.where.column, 5);
  const RouteConfig& everything = c.routes[1];
  EXPECT_THAT(everything.from, ElementsAre("programme"));
  EXPECT_THAT(everything.types, ElementsAre("**"));
  EXPECT_FALSE(everything.subject_prefix.has_value());
  EXPECT_THAT(everything.to, ElementsAre("audit"));

  EXPECT_EQ(c.find_plugin("ledger"), &c.plugins[1]);
  EXPECT_EQ(c.find_plugin("nobody"), nullptr);
}

TEST_F(ConfigTest, RelativePluginPathResolvesAgainstConfigDirectory) {
  std::filesystem::create_directories(dir_ / "lib");
  std::filesystem::copy_file(kPluginDir / "abi-ok-sink.so", dir_ / "lib" / "my-sink.so");
  // Loaded from another working directory, the path must still resolve next to the file.
  ConfigResult r = load(R"(
plugins:
  - name: one
    plugin: lib/my-sink.so
  - name: two
    plugin: ./lib/../lib/my-sink.so
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->plugins[0].library, dir_ / "lib" / "my-sink.so");
  EXPECT_EQ(r.config->plugins[1].library, dir_ / "lib" / "my-sink.so");
  EXPECT_EQ(r.config->plugins[1].plugin_name, "abi-ok-sink");
}

TEST_F(ConfigTest, HubPluginDirsAreSearchedBeforeDefaults) {
  std::filesystem::create_directories(dir_ / "mine");
  // A transform under the sink's name: whichever is found first tells which directory won.
  std::filesystem::copy_file(kPluginDir / "abi-ok-transform.so", dir_ / "mine" / "abi-ok-sink.so");
  ConfigResult r = load(R"(
hub:
  plugin_dirs: mine
plugins:
  - name: x
    plugin: abi-ok-sink
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->plugins[0].library, dir_ / "mine" / "abi-ok-sink.so");
  EXPECT_EQ(r.config->plugins[0].plugin_kind, static_cast<uint32_t>(SIMPANG_KIND_TRANSFORM));
}

// --- 1. YAML syntax
// --------------------------------------------------------------------------------

TEST_F(ConfigTest, SyntaxErrorIsOneDiagnosticAtParserPosition) {
  ConfigResult r = load(R"(
plugins:
  - name: a
   plugin: b
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_THAT(r.diagnostics[0].message, StartsWith("YAML syntax error: "));
  EXPECT_TRUE(HasDiagnostic(r, 3, 4, "YAML syntax error: end of sequence not found"));
  EXPECT_EQ(r.diagnostics[0].to_string(),
            file_.string() + ":3:4: YAML syntax error: end of sequence not found");
}

// --- 2. unknown keys
// -------------------------------------------------------------------------------

TEST_F(ConfigTest, UnknownKeysNameTheSectionAndSuggest) {
  ConfigResult r = load(R"(
plugins:
  - name: ledger
    plugin: abi-ok-sink
    isolaton: thread
rout:
  - name: r
hub:
  colour: blue
  summary: 1s
)");
  ASSERT_EQ(r.diagnostics.size(), 4u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(
      r, 4, 5, "unknown key 'isolaton' in plugin entry 'ledger'; did you mean 'isolation'?"));
  EXPECT_TRUE(HasDiagnostic(
      r, 5, 1, "unknown key 'rout' in the top level of the configuration; did you mean 'routes'?"));
  EXPECT_TRUE(HasDiagnostic(r, 8, 3,
                            "unknown key 'colour' in the 'hub' section (expected one of: "
                            "state_dir, log_level, summary_interval"));
  // A prefix of a known key is close enough to suggest.
  EXPECT_TRUE(HasDiagnostic(r, 9, 3, "did you mean 'summary_interval'?"));
}

TEST_F(ConfigTest, UnknownKeysInRouteAndMatch) {
  ConfigResult r = load(R"(
plugins:
  - name: a
    plugin: abi-ok-source
  - name: b
    plugin: abi-ok-sink
routes:
  - name: r
    from: a
    too: b
    to: b
    match:
      typ: talent.**
)");
  ASSERT_EQ(r.diagnostics.size(), 2u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 9, 5, "unknown key 'too' in route 'r'; did you mean 'to'?"));
  EXPECT_TRUE(
      HasDiagnostic(r, 12, 7, "unknown key 'typ' in 'match' of route 'r'; did you mean 'type'?"));
}

// --- 3. wrong types
// --------------------------------------------------------------------------------

TEST_F(ConfigTest, WrongTypesSayExpectedAndFound) {
  ConfigResult r = load(R"(
hub:
  max_batch: lots
  plugin_dirs: {a: b}
  log_level: [info]
plugins: {}
)");
  ASSERT_EQ(r.diagnostics.size(), 4u) << dump(r);
  EXPECT_TRUE(
      HasDiagnostic(r, 2, 14, "hub.max_batch must be an integer from 1 to 65536; found 'lots'"));
  EXPECT_TRUE(HasDiagnostic(
      r, 3, 16, "hub.plugin_dirs must be a directory or a list of them; found a mapping"));
  EXPECT_TRUE(HasDiagnostic(r, 4, 14, "hub.log_level must be a string; found a list"));
  EXPECT_TRUE(HasDiagnostic(r, 5, 10, "'plugins' must be a list of plugin entries"));
  EXPECT_TRUE(HasDiagnostic(r, 5, 10, "found a mapping"));
}

TEST_F(ConfigTest, MappingWhereStringIsNeeded) {
  ConfigResult r = load(R"(
plugins:
  - name: ledger
    plugin: {path: x.so}
    config: [1, 2]
routes: yes
)");
  ASSERT_EQ(r.diagnostics.size(), 3u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 3, 13,
                            "'plugin' of plugin entry 'ledger' must be a string; found a mapping"));
  EXPECT_TRUE(
      HasDiagnostic(r, 4, 13, "'config' of plugin entry 'ledger' must be a mapping; found a list"));
  EXPECT_TRUE(HasDiagnostic(r, 5, 9, "'routes' must be a list of routes"));
  EXPECT_TRUE(HasDiagnostic(r, 5, 9, "found 'yes'"));
}

TEST_F(ConfigTest, EntriesThatAreNotMappings) {
  ConfigResult r = load(R"(
plugins:
  - name: a
    plugin: abi-ok-sink
  - just-a-name
  -
  # an empty entry, then a comment
routes:
  - [a]
)");
  ASSERT_EQ(r.diagnostics.size(), 3u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 4, 5,
                            "plugin entry #2 must be a mapping with at least 'name' and 'plugin'; "
                            "found 'just-a-name'"));
  // The empty entry is reported at its '-', not at the next token yaml-cpp marks it with.
  EXPECT_TRUE(HasDiagnostic(r, 5, 3, "plugin entry #3 must be a mapping"));
  EXPECT_TRUE(HasDiagnostic(r, 5, 3, "found nothing"));
  EXPECT_TRUE(HasDiagnostic(r, 8, 5, "route #1 must be a mapping"));
}

TEST_F(ConfigTest, MissingValueIsReportedAtItsKey) {
  ConfigResult r = load(R"(
hub:
  log_level:

  max_batch: 8
plugins:
  - name: a
    plugin: abi-ok-sink
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 2, 3, "hub.log_level needs a value"));
}

// --- 4. missing required keys
// ----------------------------------------------------------------------

TEST_F(ConfigTest, MissingRequiredKeysPointAtTheEntry) {
  ConfigResult r = load(R"(
plugins:
  - name: x
  - plugin: abi-ok-sink
routes:
  - name: r
    from: x
  - from: x
    to: x
)");
  ASSERT_EQ(r.diagnostics.size(), 4u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 2, 5, "plugin entry 'x' is missing required key 'plugin'"));
  EXPECT_TRUE(HasDiagnostic(r, 3, 5, "plugin entry #2 is missing required key 'name'"));
  EXPECT_TRUE(HasDiagnostic(r, 5, 5, "route 'r' is missing required key 'to'"));
  EXPECT_TRUE(HasDiagnostic(r, 7, 5, "route #2 is missing required key 'name'"));
}

TEST_F(ConfigTest, MissingPluginsSection) {
  ConfigResult r = load(R"(
hub:
  log_level: info
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 1, 1, "missing required key 'plugins'"));
}

TEST_F(ConfigTest, EmptyPluginsList) {
  ConfigResult r = load(R"(
plugins: []
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 1, 10, "'plugins' must list at least one plugin instance"));
}

// --- 5. duplicates
// ---------------------------------------------------------------------------------

TEST_F(ConfigTest, DuplicateNamesAndKeysPointAtTheSecond) {
  ConfigResult r = load(R"(
plugins:
  - name: ledger
    plugin: abi-ok-sink
  - name: ledger
    plugin: abi-ok-sink
routes:
  - name: r
    from: "*"
    to: ledger
  - name: r
    from: "*"
    to: ledger
    to: ledger
)");
  ASSERT_EQ(r.diagnostics.size(), 3u) << dump(r);
  EXPECT_TRUE(
      HasDiagnostic(r, 4, 11, "duplicate instance name 'ledger' (first defined at line 2)"));
  EXPECT_TRUE(HasDiagnostic(r, 10, 11, "duplicate route name 'r' (first defined at line 7)"));
  EXPECT_TRUE(HasDiagnostic(r, 13, 5, "duplicate key 'to' in route 'r' (first given at line 12)"));
}

TEST_F(ConfigTest, DuplicateKeysInHubAndTopLevel) {
  ConfigResult r = load(R"(
hub:
  max_batch: 8
  max_batch: 9
plugins:
  - name: a
    plugin: abi-ok-sink
hub: {}
)");
  ASSERT_EQ(r.diagnostics.size(), 2u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(
      r, 3, 3, "duplicate key 'max_batch' in the 'hub' section (first given at line 2)"));
  EXPECT_TRUE(HasDiagnostic(r, 7, 1, "duplicate key 'hub' in the top level of the configuration"));
}

// --- 6. references
// ---------------------------------------------------------------------------------

TEST_F(ConfigTest, RouteReferencesMustExistAndFitTheKind) {
  ConfigResult r = load(R"(
plugins:
  - name: programme
    plugin: abi-ok-source
  - name: ledger
    plugin: abi-ok-sink
routes:
  - name: r
    from: [progamme, "led*", "audit-*"]
    to: [ledgr, programme, "*", ledger, ledger]
  - name: r2
    from: ledger
    to: ledger
)");
  ASSERT_EQ(r.diagnostics.size(), 7u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 8, 12,
                            "route 'r' takes events from 'progamme', which is not a configured "
                            "instance; did you mean 'programme'?"));
  EXPECT_TRUE(HasDiagnostic(r, 8, 30,
                            "'from' pattern 'audit-*' of route 'r' matches no configured instance "
                            "(instances: programme, ledger)"));
  EXPECT_TRUE(
      HasDiagnostic(r, 9, 10,
                    "route 'r' sends events to 'ledgr', which is not a configured instance; "
                    "did you mean 'ledger'?"));
  EXPECT_TRUE(HasDiagnostic(r, 9, 17,
                            "route 'r' sends events to 'programme', but its plugin 'abi-ok-source' "
                            "is a source and cannot receive events"));
  EXPECT_TRUE(HasDiagnostic(r, 9, 28, "'to' takes instance names, not patterns"));
  EXPECT_TRUE(HasDiagnostic(r, 9, 41, "route 'r' lists 'ledger' in 'to' more than once"));
  EXPECT_TRUE(HasDiagnostic(r, 11, 11,
                            "route 'r2' takes events from 'ledger', but its plugin 'abi-ok-sink' "
                            "is a sink and publishes nothing"));
}

TEST_F(ConfigTest, WithoutInspectionLibrariesAreNotOpenedNorKindsChecked) {
  options_.inspect_plugins = false;
  ConfigResult r = load(R"(
plugins:
  - name: programme
    plugin: abi-major2
  - name: ledger
    plugin: abi-ok-source
routes:
  - name: r
    from: programme
    to: ledger
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->plugins[0].library, (kPluginDir / "abi-major2.so").lexically_normal());
  EXPECT_EQ(r.config->plugins[0].plugin_name, "");
  EXPECT_EQ(r.config->plugins[0].plugin_kind, 0u);
}

// --- 7. plugin files
// -------------------------------------------------------------------------------

TEST_F(ConfigTest, PluginNameNotFoundListsSearchedDirectories) {
  ConfigResult r = load(R"(
hub:
  plugin_dirs: [extra]
plugins:
  - name: x
    plugin: sim-nothing
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 5, 13,
                            "plugin 'sim-nothing' not found: looked for sim-nothing.so in " +
                                (dir_ / "extra").string() + " (no such directory), " +
                                kPluginDir.string()));
}

TEST_F(ConfigTest, PluginNameWithNoDirectoryToSearch) {
  options_.default_plugin_dirs.clear();
  ConfigResult r = load(R"(
plugins:
  - name: x
    plugin: abi-ok-sink
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 3, 13, "there is no plugin directory to search"));
}

TEST_F(ConfigTest, UnusablePluginFilesAreReportedWithTheReason) {
  // Longer than an ELF header, so dlopen reads it and finds the magic number wrong.
  write("fake.so", std::string(200, 'x'));
  std::filesystem::create_directories(dir_ / "adir.so");
  const std::string no_entry = (kPluginDir / "abi-no-entry.so").string();
  ConfigResult r = load(R"(
plugins:
  - name: a
    plugin: ./missing.so
  - name: b
    plugin: fake.so
  - name: c
    plugin: )" + no_entry +
                        R"(
  - name: d
    plugin: abi-major2
  - name: e
    plugin: abi-major2
  - name: f
    plugin: adir.so
  - name: g
    plugin: abi-minor-newer
)");
  ASSERT_EQ(r.diagnostics.size(), 7u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 3, 13,
                            "plugin library " + (dir_ / "missing.so").string() +
                                " does not exist (a relative path is resolved against the "
                                "configuration file's directory)"));
  EXPECT_TRUE(
      HasDiagnostic(r, 5, 13, (dir_ / "fake.so").string() + ": cannot load the plugin library: "));
  EXPECT_TRUE(HasDiagnostic(r, 5, 13, "invalid ELF header"));  // dlerror()'s words
  EXPECT_TRUE(HasDiagnostic(
      r, 7, 13, no_entry + ": not a Simpang plugin: it does not export simpang_plugin_entry"));
  const std::string major2 = (kPluginDir / "abi-major2.so").lexically_normal().string();
  const std::string incompatible =
      major2 + ": plugin ABI 2.0 is not compatible with this hub's ABI " +
      std::to_string(SIMPANG_ABI_MAJOR) + "." + std::to_string(SIMPANG_ABI_MINOR);
  EXPECT_TRUE(HasDiagnostic(r, 9, 13, incompatible));
  // The second instance of the same library gets its own diagnostic (from the cached result).
  EXPECT_TRUE(HasDiagnostic(r, 11, 13, incompatible));
  EXPECT_TRUE(HasDiagnostic(r, 13, 13, "is a directory, not a plugin library"));
  EXPECT_TRUE(HasDiagnostic(r, 15, 13, "plugin ABI 1.99 is not compatible"));
}

// The loader asks access(R_OK), which answers for the real user. Root may read a mode-000 file, so
// as root the load runs with the real uid of an unprivileged user (the effective uid stays root,
// so the configuration itself is still read, and it is put back afterwards): the same check, the
// same refusal, whoever runs the suite.
class RealUidAs {
 public:
  explicit RealUidAs(uid_t uid) { ok_ = setresuid(uid, static_cast<uid_t>(-1), 0) == 0; }
  ~RealUidAs() {
    if (ok_) {
      (void)setresuid(0, 0, 0);
    }
  }
  bool ok() const { return ok_; }

 private:
  bool ok_ = false;
};

TEST_F(ConfigTest, UnreadablePluginFile) {
  std::filesystem::copy_file(kPluginDir / "abi-ok-sink.so", dir_ / "locked.so");
  ASSERT_EQ(chmod((dir_ / "locked.so").c_str(), 0), 0);
  const std::string yaml = R"(
plugins:
  - name: a
    plugin: locked.so
)";
  ConfigResult r;
  {
    std::optional<RealUidAs> unprivileged;
    if (geteuid() == 0) {
      constexpr uid_t kNobody = 65534;
      // Only the file's own mode may refuse: its directory is searchable by anyone.
      std::filesystem::permissions(dir_, std::filesystem::perms::others_exec,
                                   std::filesystem::perm_options::add);
      unprivileged.emplace(kNobody);
      ASSERT_TRUE(unprivileged->ok()) << "setresuid: " << std::strerror(errno);
      ASSERT_NE(access((dir_ / "locked.so").c_str(), R_OK), 0) << "readable as uid " << kNobody;
    }
    r = load(yaml);
  }
  ASSERT_EQ(getuid(), geteuid());  // the real uid is back before anything else runs
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 3, 13, "is not readable: Permission denied"));
}

// --- 8. invalid values
// -----------------------------------------------------------------------------

TEST_F(ConfigTest, InvalidValuesAreAllReportedInOrder) {
  ConfigResult r = load(R"(
hub:
  log_level: warning
  heartbeat: 5 seconds
  drain_timeout: 48h
  max_batch: 0
  queue_limit: -5
  state_dir: ""
plugins:
  - name: Ledger One
    plugin: abi-ok-sink
    isolation: process
    transport: tcp
    stop_timeout: 0s
  - name: a-very-long-instance-name-that-goes-on-and-on-past-sixty-four-chars
    plugin: abi-ok-sink
    isolation: threads
)");
  ASSERT_EQ(r.diagnostics.size(), 11u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 2, 14,
                            "hub.log_level must be one of trace, debug, info, warn, error, "
                            "critical, off; found 'warning'; did you mean 'warn'?"));
  EXPECT_TRUE(HasDiagnostic(r, 3, 14, "hub.heartbeat must be a duration"));
  EXPECT_TRUE(HasDiagnostic(r, 3, 14, "found '5 seconds'"));
  EXPECT_TRUE(HasDiagnostic(r, 4, 18, "hub.drain_timeout must be from 0s to 24h; found '48h'"));
  EXPECT_TRUE(
      HasDiagnostic(r, 5, 14, "hub.max_batch must be an integer from 1 to 65536; found '0'"));
  EXPECT_TRUE(HasDiagnostic(r, 6, 16, "hub.queue_limit must be an integer from 1 to 4294967295"));
  EXPECT_TRUE(HasDiagnostic(r, 7, 14, "hub.state_dir must not be empty"));
  EXPECT_TRUE(HasDiagnostic(r, 9, 11, "instance name 'Ledger One' is invalid"));
  EXPECT_TRUE(HasDiagnostic(
      r, 12, 16,
      "'transport' of plugin entry 'Ledger One' must be 'inproc' or 'ipc'; found 'tcp'"));
  EXPECT_TRUE(HasDiagnostic(r, 13, 19,
                            "'stop_timeout' of plugin entry 'Ledger One' must be from 1ms to 24h"));
  EXPECT_TRUE(HasDiagnostic(r, 14, 11, "at most 64 characters"));
  EXPECT_TRUE(HasDiagnostic(r, 16, 16, "found 'threads'; did you mean 'thread'?"));

  // Sorted by position.
  for (size_t i = 1; i < r.diagnostics.size(); ++i) {
    const SourceLocation& a = r.diagnostics[i - 1].where;
    const SourceLocation& b = r.diagnostics[i].where;
    EXPECT_TRUE(a.line < b.line || (a.line == b.line && a.column <= b.column)) << dump(r);
  }
}

TEST_F(ConfigTest, InvalidRoutePatternsCarryTheRoutersMessage) {
  ConfigResult r = load(R"(
plugins:
  - name: a
    plugin: abi-ok-source
  - name: b
    plugin: abi-ok-sink
routes:
  - name: r
    from: [a, "a b"]
    match:
      type: [talent.**, talent..enrolled]
      extensions: {Tenant: acme, tier: [1]}
    to: b
)");
  ASSERT_EQ(r.diagnostics.size(), 4u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 8, 15, "'from' of route 'r' has an invalid pattern 'a b': "));
  EXPECT_TRUE(HasDiagnostic(
      r, 10, 25, "'match.type' of route 'r' has an invalid pattern 'talent..enrolled': "));
  EXPECT_TRUE(HasDiagnostic(r, 11, 20,
                            "extension attribute name 'Tenant' in 'match.extensions' of route 'r' "
                            "is invalid"));
  EXPECT_TRUE(HasDiagnostic(r, 11, 40,
                            "extension 'tier' in 'match.extensions' of route 'r' must be a string; "
                            "found a list"));
  // The router's own explanation follows the colon.
  for (const Diagnostic& d : r.diagnostics) {
    if (d.message.find("invalid pattern") != std::string::npos) {
      EXPECT_GT(d.message.size(), d.message.find("': ") + 3) << d.message;
    }
  }
}

TEST_F(ConfigTest, EmptyListsInRoutes) {
  ConfigResult r = load(R"(
plugins:
  - name: a
    plugin: abi-ok-source
routes:
  - name: r
    from: []
    match:
      type: []
    to:
)");
  ASSERT_EQ(r.diagnostics.size(), 3u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 6, 11, "'from' of route 'r' must not be an empty list"));
  EXPECT_TRUE(HasDiagnostic(r, 8, 13, "'match.type' of route 'r' must not be an empty list"));
  EXPECT_TRUE(HasDiagnostic(r, 9, 5, "'to' of route 'r' needs a value"));
}

TEST_F(ConfigTest, PluginConfigThatHasNoJsonForm) {
  ConfigResult r = load(R"(
plugins:
  - name: a
    plugin: abi-ok-sink
    config:
      id: 123456789012345678901234
      key: 1
      key: 2
      secret: !vault x
      count: !!int many
)");
  ASSERT_EQ(r.diagnostics.size(), 4u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 5, 11,
                            "in 'config' of plugin entry 'a': the integer 123456789012345678901234 "
                            "does not fit in 64 bits; quote it to pass it as a string"));
  EXPECT_TRUE(HasDiagnostic(r, 7, 7, "duplicate key 'key' (first given at line 6)"));
  EXPECT_TRUE(HasDiagnostic(r, 8, 15, "the YAML tag '!vault' is not supported here"));
  EXPECT_TRUE(HasDiagnostic(r, 9, 14, "the value 'many' is tagged !!int but is not an int"));
}

// --- 9. empty and odd documents
// --------------------------------------------------------------------

TEST_F(ConfigTest, EmptyDocument) {
  for (std::string_view text : {"", "\n", "# nothing but a comment\n", "---\n"}) {
    ConfigResult r = load(text);
    ASSERT_EQ(r.diagnostics.size(), 1u) << "for '" << text << "':\n" << dump(r);
    EXPECT_TRUE(HasDiagnostic(r, 1, 1, "configuration is empty")) << "for '" << text << "'";
    EXPECT_FALSE(r.config.has_value());
  }
}

TEST_F(ConfigTest, NonMappingDocument) {
  ConfigResult r = load(R"(
- plugins
- routes
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 1, 1, "configuration is empty"));
  EXPECT_TRUE(HasDiagnostic(r, 1, 1, "found a list"));
}

TEST_F(ConfigTest, SecondDocumentIsRejected) {
  ConfigResult r = load(R"(
plugins:
  - name: a
    plugin: abi-ok-sink
---
hub: {}
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 5, 1, "a configuration file holds one YAML document"));
}

TEST_F(ConfigTest, UnreadableConfigFile) {
  const std::filesystem::path missing = dir_ / "nope.yaml";
  ConfigResult r = load_config(missing, options_);
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_EQ(r.diagnostics[0].where.line, 0);
  EXPECT_EQ(r.diagnostics[0].to_string(),
            missing.string() + ": cannot read the configuration file: No such file or directory");

  ConfigResult dir = load_config(dir_, options_);
  ASSERT_EQ(dir.diagnostics.size(), 1u) << dump(dir);
  EXPECT_THAT(dir.diagnostics[0].message, HasSubstr("cannot read the configuration file"));
}

TEST_F(ConfigTest, SelfReferentialAliasDoesNotCrash) {
  ConfigResult r = load(R"(
plugins:
  - name: a
    plugin: abi-ok-sink
    config: {loop: &l [*l]}
)");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(dump(r), HasSubstr("nests more than 64 levels deep"));
}

// --- formatting
// ------------------------------------------------------------------------------------

TEST(DiagnosticTest, ToStringIsFileLineColumnMessage) {
  Diagnostic d{SourceLocation{"config/demo.yaml", 12, 7}, "something is wrong"};
  EXPECT_EQ(d.to_string(), "config/demo.yaml:12:7: something is wrong");
  Diagnostic whole_file{SourceLocation{"config/demo.yaml", 0, 0}, "cannot read"};
  EXPECT_EQ(whole_file.to_string(), "config/demo.yaml: cannot read");
}

// --- parse_duration
// --------------------------------------------------------------------------------

TEST(ParseDurationTest, AcceptsIntegerAndUnit) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("5s"), std::chrono::seconds(5));
  EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(parse_duration("1h"), std::chrono::hours(1));
  EXPECT_EQ(parse_duration("0s"), std::chrono::milliseconds(0));
  EXPECT_EQ(parse_duration("007s"), std::chrono::seconds(7));
}

TEST(ParseDurationTest, RejectsEverythingElse) {
  for (std::string_view bad :
       {"", "s", "5", "5 s", " 5s", "5s ", "-5s", "+5s", "5.5s", "5sec", "5S", "5ms5", "1h30m",
        "99999999999999999999h", "9223372036854776h"}) {
    EXPECT_FALSE(parse_duration(bad).has_value()) << "'" << bad << "'";
  }
}

}  // namespace
}  // namespace simpang::hub

namespace simpang::hub {
namespace {

TEST_F(ConfigTest, IsolationDefaultsToThreadForBundledPluginsAndProcessForOthers) {
  const std::string elsewhere = (kPluginDir / "abi-ok-sink.so").string();
  // The bundled directory is the test plugins' own here; the same file by path is "bundled" too,
  // so the outsider is a copy in the test's directory.
  std::filesystem::copy_file(elsewhere, dir_ / "outsider.so");
  ConfigResult r = load(R"(
plugins:
  - name: inside
    plugin: abi-ok-sink
  - name: outside
    plugin: ./outsider.so
  - name: forced
    plugin: ./outsider.so
    isolation: thread
)");
  ASSERT_TRUE(r.ok()) << dump(r);
  EXPECT_EQ(r.config->find_plugin("inside")->isolation, Isolation::kThread);
  EXPECT_EQ(r.config->find_plugin("outside")->isolation, Isolation::kProcess);
  EXPECT_EQ(r.config->find_plugin("outside")->transport, PluginTransport::kIpc);
  EXPECT_EQ(r.config->find_plugin("forced")->isolation, Isolation::kThread);
}

TEST_F(ConfigTest, AProcessCannotUseInproc) {
  ConfigResult r = load(R"(
plugins:
  - name: x
    plugin: abi-ok-sink
    isolation: process
    transport: inproc
)");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r);
  EXPECT_TRUE(HasDiagnostic(r, 5, 16, "cannot reach inproc://; use transport: ipc"));
}

}  // namespace
}  // namespace simpang::hub
