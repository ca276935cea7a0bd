// The `simpang` command's failure paths, run as an operator would: a configuration file that is
// missing or not YAML, `dlq` and `replay` on a journal that is missing or damaged, names the
// journal does not know, and bad flags. Each must exit non-zero (1 for a failure, 2 for a usage
// error of our own options) with a message that names what was wrong, and must leave the journal
// as it found it.
#include <sys/stat.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.h"

namespace simpang::testing {
namespace {

using std::chrono::seconds;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_file(config(), "hub:\n  state_dir: " + state().string() +
                             "\nplugins:\n  - name: sink\n    plugin: sink-jsonl\n"
                             "    config: {path: " +
                             (dir_ / "out.jsonl").string() + "}\n");
  }

  std::filesystem::path config() const { return dir_ / "hub.yaml"; }
  std::filesystem::path state() const { return dir_ / "state"; }
  std::filesystem::path journal() const { return state() / "journal.db"; }

  // `simpang ARGS...`.
  CommandResult simpang(std::vector<std::string> args) const {
    args.insert(args.begin(), simpang_binary().string());
    return run_command(args, seconds(60));
  }

  // Runs a hub on the configuration for a moment, which leaves its journal behind.
  void make_journal() const {
    const auto run = simpang({"run", config().string(), "--duration", "200ms"});
    ASSERT_EQ(run.status, 0) << run.output;
    ASSERT_TRUE(std::filesystem::exists(journal()));
  }

  TempDir dir_;
};

// Expects `result` to have failed with `status`, saying each of `words`.
void expect_failure(const CommandResult& result, int status,
                    const std::vector<std::string>& words) {
  EXPECT_EQ(result.status, status) << result.output;
  for (const auto& word : words) {
    EXPECT_NE(result.output.find(word), std::string::npos)
        << "expected the message to say '" << word << "':\n"
        << result.output;
  }
}

TEST_F(Cli, CheckAndRunNameAMissingConfigurationFile) {
  const std::string missing = (dir_ / "missing.yaml").string();
  expect_failure(simpang({"check", missing}), 1, {missing, "cannot read"});
  expect_failure(simpang({"run", missing}), 1, {missing, "cannot read"});
  EXPECT_FALSE(std::filesystem::exists(state()));
}

TEST_F(Cli, CheckPlacesAYamlSyntaxError) {
  const auto bad = dir_ / "bad.yaml";
  write_file(bad, "plugins: [\n  - a\n");
  expect_failure(simpang({"check", bad.string()}), 1, {bad.string() + ":2:3:", "YAML"});
  // The same operator commands read the file too, and say so the same way.
  expect_failure(simpang({"dlq", "list", bad.string()}), 1, {bad.string() + ":2:3:"});
  // A good file passes: the failures above are the file's, not the command's.
  const auto checked = simpang({"check", config().string()});
  EXPECT_EQ(checked.status, 0) << checked.output;
}

TEST_F(Cli, DlqAndReplayNameAMissingJournalAndDoNotCreateOne) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"dlq", "list", config().string()},
           {"dlq", "replay", config().string(), "--all"},
           {"dlq", "drop", config().string(), "--all"},
           {"replay", config().string(), "--to", "sink", "--from-seq", "1"}}) {
    SCOPED_TRACE(args[0] + " " + args[1]);
    expect_failure(simpang(args), 1, {journal().string(), "no such file"});
  }
  EXPECT_FALSE(std::filesystem::exists(journal()));
}

TEST_F(Cli, DlqAndReplayRefuseADamagedJournalAndLeaveItAlone) {
  make_journal();
  // Truncated to half: the header survives, the pages do not.
  std::filesystem::resize_file(journal(), std::filesystem::file_size(journal()) / 2);
  const auto truncated_size = std::filesystem::file_size(journal());
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"dlq", "list", config().string()},
           {"dlq", "replay", config().string(), "--all"},
           {"replay", config().string(), "--to", "sink", "--from-seq", "1"}}) {
    SCOPED_TRACE(args[0] + " " + args[1]);
    expect_failure(simpang(args), 1, {journal().string(), "truncated"});
  }
  EXPECT_EQ(std::filesystem::file_size(journal()), truncated_size);

  // Not a database at all.
  write_file(journal(), "not a database\n");
  expect_failure(simpang({"dlq", "list", config().string()}), 1,
                 {journal().string(), "not a SQLite database"});
  EXPECT_EQ(read_file(journal()), "not a database\n");
}

TEST_F(Cli, NamesWhatTheJournalDoesNotKnow) {
  make_journal();
  expect_failure(simpang({"replay", config().string(), "--to", "nosuch", "--from-seq", "1"}), 1,
                 {"'nosuch'"});
  expect_failure(simpang({"dlq", "show", config().string(), "42"}), 1, {"42", "not a dead letter"});
}

TEST_F(Cli, BadFlagsAreRefusedNamingTheFlag) {
  make_journal();
  const std::string file = config().string();
  // Our own checks: exit 2, with the value that was wrong and what would do.
  expect_failure(simpang({"run", file, "--duration", "soon"}), 2, {"--duration", "'soon'"});
  expect_failure(simpang({"replay", file, "--to", "sink"}), 2, {"--since", "--from-seq"});
  expect_failure(simpang({"replay", file, "--to", "sink", "--since", "yesterday"}), 2,
                 {"--since", "'yesterday'"});
  expect_failure(simpang({"replay", file, "--to", "sink", "--from-seq", "1", "--wait", "forever"}),
                 2, {"--wait", "'forever'"});
  expect_failure(simpang({"dlq", "replay", file}), 2, {"--id", "--all"});
  expect_failure(simpang({"dlq", "replay", file, "--all", "--wait", "forever"}), 2,
                 {"--wait", "'forever'"});
  // The parser's: non-zero, naming the argument.
  const auto not_a_number = simpang({"dlq", "show", file, "abc"});
  EXPECT_NE(not_a_number.status, 0);
  EXPECT_NE(not_a_number.output.find("abc"), std::string::npos) << not_a_number.output;
  const auto negative_limit = simpang({"dlq", "list", file, "--limit", "-3"});
  EXPECT_NE(negative_limit.status, 0) << negative_limit.output;
  EXPECT_NE(negative_limit.output.find("--limit"), std::string::npos) << negative_limit.output;
  const auto bad_level = simpang({"run", file, "--log-level", "loud"});
  EXPECT_NE(bad_level.status, 0);
  EXPECT_NE(bad_level.output.find("loud"), std::string::npos) << bad_level.output;
  const auto no_config = simpang({"run"});
  EXPECT_NE(no_config.status, 0);
  EXPECT_NE(no_config.output.find("CONFIG"), std::string::npos) << no_config.output;
  const auto unknown = simpang({"frobnicate"});
  EXPECT_NE(unknown.status, 0) << unknown.output;
  EXPECT_NE(unknown.output.find("subcommand"), std::string::npos) << unknown.output;
}

TEST_F(Cli, KeysNewWritesAPairAndNeverOverwritesOne) {
  const auto made = simpang({"keys", "new", "acme", "--dir", dir_.path().string()});
  ASSERT_EQ(made.status, 0) << made.output;
  const std::string secret = read_file(dir_ / "acme.key");
  const std::string public_key = read_file(dir_ / "acme.pub");
  EXPECT_EQ(secret.size(), 41u);  // 40 characters of Z85 and a newline
  EXPECT_EQ(public_key.size(), 41u);
  EXPECT_NE(secret, public_key);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "acme.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_NE(made.output.find("public key " + public_key.substr(0, 40)), std::string::npos)
      << made.output;
  EXPECT_NE(made.output.find("fingerprint SHA256:"), std::string::npos) << made.output;

  expect_failure(simpang({"keys", "new", "acme", "--dir", dir_.path().string()}), 1,
                 {"acme.key exists", "not overwriting"});
  EXPECT_EQ(read_file(dir_ / "acme.key"), secret);
  expect_failure(simpang({"keys", "new", "../escape", "--dir", dir_.path().string()}), 1,
                 {"key name '../escape'"});
}

}  // namespace
}  // namespace simpang::testing
