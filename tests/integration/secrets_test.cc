// Secret references in a real hub: the values of ${env:...} and ${file:...} reach the plugins (each
// test-sink writes where its `path` says), and nowhere else: not the hub's log, not the files of
// the state directory, save the 0600 configuration file a process-isolated instance reads. A
// SIGHUP re-resolves them: a changed secret restarts its instance, a vanished one refuses the
// reload at the reference. `simpang check` and `simpang run` refuse an unset variable at its line
// and column.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "test_support.h"

namespace simpang::testing {
namespace {

using std::chrono::seconds;

// Distinctive strings, so that finding one anywhere means the secret leaked there.
constexpr const char* kEnvSecret = "Zq8sEnvSecret";
constexpr const char* kFileSecret = "Kx7fFileSecret";
constexpr const char* kLedgerVariable = "SIMPANG_IT_LEDGER_PATH";

class Secrets : public ::testing::Test {
 protected:
  void TearDown() override { unsetenv(kLedgerVariable); }

  // Line 13 holds the env reference and line 17 the file reference, both at column 13.
  std::string config() const {
    return "hub:\n"
           "  state_dir: " +
           (dir_ / "state").string() +
           "\n"
           "  summary_interval: 0s\n"
           "  heartbeat: 500ms\n"
           "plugins:\n"
           "  - name: source\n"
           "    plugin: test-source\n"
           "    config: {count: 1000000, per_tick: 20, manifest: " +
           (dir_ / "manifest.jsonl").string() +
           "}\n"
           "  - name: ledger\n"
           "    plugin: test-sink\n"
           "    isolation: process\n"
           "    config:\n"
           "      path: ${env:SIMPANG_IT_LEDGER_PATH}\n"
           "  - name: audit\n"
           "    plugin: test-sink\n"
           "    config:\n"
           "      path: ${file:audit-path.txt}\n"
           "routes:\n"
           "  - name: to-both\n"
           "    from: [source]\n"
           "    to: [ledger, audit]\n";
  }

  std::filesystem::path audit_path(int generation) const {
    return dir_ /
           (std::string("audit-") + kFileSecret + "-" + std::to_string(generation) + ".jsonl");
  }

  size_t starts(const std::string& instance) const {
    return count_lines(dir_ / "state" / "instances" / instance / "starts");
  }

  static size_t occurrences(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
      ++n;
    }
    return n;
  }

  TempDir dir_{"secrets"};
};

TEST_F(Secrets, ValuesReachThePluginsOnlyAndAChangedSecretRestartsItsInstance) {
  const auto ledger_path = dir_ / (std::string("ledger-") + kEnvSecret + ".jsonl");
  ASSERT_EQ(setenv(kLedgerVariable, ledger_path.c_str(), 1), 0);
  write_file(dir_ / "audit-path.txt", audit_path(1).string() + "\n");
  const auto file = dir_ / "hub.yaml";
  write_file(file, config());

  Process hub({simpang_binary().string(), "run", file.string()}, dir_ / "hub.log");
  auto log = [&] { return read_file(dir_ / "hub.log"); };
  ASSERT_TRUE(
      wait_for([&] { return count_lines(ledger_path) >= 100 && count_lines(audit_path(1)) >= 100; },
               seconds(60)))
      << log();

  // The process-isolated instance reads its configuration, secrets resolved, from a file only the
  // hub's user may read.
  const auto host_config = dir_ / "state" / "instances" / "ledger" / "config.json";
  struct stat st {};
  ASSERT_EQ(::stat(host_config.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_NE(read_file(host_config).find(kEnvSecret), std::string::npos);

  // A changed secret is a changed configuration: the instance restarts with the new value, and the
  // instance whose secret did not change does not.
  write_file(dir_ / "audit-path.txt", audit_path(2).string() + "\n");
  hub.signal(SIGHUP);
  ASSERT_TRUE(wait_for([&] { return count_lines(audit_path(2)) >= 100; }, seconds(60))) << log();
  EXPECT_EQ(occurrences(log(), "reloaded " + file.string() + ": 1 instances stopped, 1 started"),
            1u)
      << log();
  EXPECT_EQ(starts("audit"), 2u) << log();
  EXPECT_EQ(starts("ledger"), 1u) << log();
  EXPECT_EQ(starts("source"), 1u) << log();

  // A secret that can no longer be read refuses the reload at its reference; nothing restarts.
  std::filesystem::remove(dir_ / "audit-path.txt");
  hub.signal(SIGHUP);
  ASSERT_TRUE(
      wait_for([&] { return log().find("reload refused") != std::string::npos; }, seconds(30)))
      << log();
  EXPECT_NE(log().find(file.string() +
                       ":17:13: in 'config' of plugin entry 'audit': "
                       "'${file:audit-path.txt}': the file " +
                       (dir_ / "audit-path.txt").string() + " does not exist"),
            std::string::npos)
      << log();
  const size_t delivered = count_lines(audit_path(2));
  ASSERT_TRUE(wait_for([&] { return count_lines(audit_path(2)) > delivered + 100; }, seconds(60)))
      << "the hub stopped delivering after a refused reload\n"
      << log();
  EXPECT_EQ(starts("audit"), 2u) << log();

  hub.stop(seconds(30));

  // Neither secret is in the hub's log, nor in any file of the state directory but the one the
  // process-isolated plugin reads (the journal included).
  const std::string hub_log = log();
  EXPECT_EQ(hub_log.find(kEnvSecret), std::string::npos) << hub_log;
  EXPECT_EQ(hub_log.find(kFileSecret), std::string::npos) << hub_log;
  size_t files_checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir_ / "state")) {
    if (!entry.is_regular_file() || entry.path() == host_config) {
      continue;
    }
    ++files_checked;
    const std::string content = read_file(entry.path());
    EXPECT_EQ(content.find(kEnvSecret), std::string::npos) << entry.path();
    EXPECT_EQ(content.find(kFileSecret), std::string::npos) << entry.path();
  }
  EXPECT_GT(files_checked, 0u);
}

TEST_F(Secrets, CheckAndRunRefuseAnUnsetVariableAtItsReference) {
  unsetenv(kLedgerVariable);
  write_file(dir_ / "audit-path.txt", audit_path(1).string() + "\n");
  const auto file = dir_ / "hub.yaml";
  write_file(file, config());
  const std::string expected = file.string() +
                               ":13:13: in 'config' of plugin entry 'ledger': "
                               "'${env:SIMPANG_IT_LEDGER_PATH}': the environment variable "
                               "SIMPANG_IT_LEDGER_PATH is not set";

  CommandResult check =
      run_command({simpang_binary().string(), "check", file.string()}, seconds(30));
  EXPECT_EQ(check.status, 1) << check.output;
  EXPECT_NE(check.output.find(expected), std::string::npos) << check.output;

  CommandResult run = run_command({simpang_binary().string(), "run", file.string()}, seconds(30));
  EXPECT_NE(run.status, 0) << run.output;
  EXPECT_NE(run.output.find(expected), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(audit_path(1))) << "an instance started: " << run.output;
}

}  // namespace
}  // namespace simpang::testing
