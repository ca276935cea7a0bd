// Live reload under load: SIGHUP while a source publishes. An invalid file is refused and the
// running configuration stays; a valid one restarts only the instances that changed, swaps the
// routes, and loses nothing that was published meanwhile. The test plugins append a line to
// `starts` in their state directory on each on_start: that is how the test counts (re)starts.
#include <signal.h>

#include <set>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace simpang::testing {
namespace {

using std::chrono::seconds;

class Reload : public ::testing::Test {
 protected:
  std::string config(bool second_sink, const std::string& ledger_extra) const {
    std::string yaml = "hub:\n  state_dir: " + (dir_ / "state").string() +
                       "\n  summary_interval: 0s\n  heartbeat: 500ms\n"
                       "plugins:\n"
                       "  - name: source\n    plugin: test-source\n    config: {count: 60000, "
                       "per_tick: 20, manifest: " +
                       (dir_ / "manifest.jsonl").string() +
                       "}\n"
                       "  - name: ledger\n    plugin: test-sink\n    config: {path: " +
                       (dir_ / "ledger.jsonl").string() + ledger_extra + "}\n";
    if (second_sink) {
      yaml += "  - name: audit\n    plugin: test-sink\n    config: {path: " +
              (dir_ / "audit.jsonl").string() + "}\n";
    }
    yaml += "routes:\n  - name: to-ledger\n    from: [source]\n    to: [ledger]\n";
    if (second_sink) {
      yaml += "  - name: to-audit\n    from: [source]\n    to: [audit]\n";
    }
    return yaml;
  }

  std::set<std::string> ids(const std::filesystem::path& file) const {
    std::set<std::string> out;
    for (const auto& line : read_lines(file)) {
      out.insert(nlohmann::json::parse(line)["id"].get<std::string>());
    }
    return out;
  }

  // How often the instance's on_start ran, by the lines the test plugins leave in its state dir.
  size_t starts(const std::string& instance) const {
    return count_lines(dir_ / "state" / "instances" / instance / "starts");
  }

  TempDir dir_;
};

TEST_F(Reload, SighupUnderLoadAddsASinkRestartsTheChangedOneAndLosesNothing) {
  const auto file = dir_ / "hub.yaml";
  write_file(file, config(false, ""));
  Process hub({simpang_binary().string(), "run", file.string()}, dir_ / "hub.log");
  auto log = [&] { return read_file(dir_ / "hub.log"); };
  ASSERT_TRUE(wait_for([&] { return count_lines(dir_ / "ledger.jsonl") >= 2000; }, seconds(60)))
      << log();
  EXPECT_EQ(starts("source"), 1u);
  EXPECT_EQ(starts("ledger"), 1u);

  // An invalid configuration is refused, with its location, and the hub carries on.
  write_file(file, config(false, "") + "  - name: broken\n    from: [nobody]\n    to: [ledger]\n");
  hub.signal(SIGHUP);
  ASSERT_TRUE(wait_for([&] { return log().find("reload refused") != std::string::npos; },
                       seconds(30)))
      << log();
  EXPECT_NE(log().find(file.string() + ":"), std::string::npos) << log();
  const size_t before = count_lines(dir_ / "ledger.jsonl");
  ASSERT_TRUE(wait_for([&] { return count_lines(dir_ / "ledger.jsonl") > before + 1000; },
                       seconds(60)))
      << "the hub stopped delivering after a refused reload\n" << log();
  // A refused reload restarts nothing.
  EXPECT_EQ(starts("source"), 1u);
  EXPECT_EQ(starts("ledger"), 1u);

  // A valid one: a new sink and route, and the ledger's config changed (it restarts).
  write_file(file, config(true, ", seed: 2"));
  const size_t published_before = count_lines(dir_ / "manifest.jsonl");
  const size_t delivered_before = count_lines(dir_ / "ledger.jsonl");
  hub.signal(SIGHUP);
  ASSERT_TRUE(wait_for([&] { return log().find("reloaded") != std::string::npos; }, seconds(30)))
      << log();
  // Events were flowing when the SIGHUP came: the source went on publishing through the reload
  // (it is held back whenever the hub stops acknowledging), and the ledger was still owed events.
  const size_t published_after = count_lines(dir_ / "manifest.jsonl");
  EXPECT_GT(published_after, published_before)
      << "the source published nothing across the reload: it was over before the SIGHUP came, "
         "or the reload held it up\n"
      << log();
  EXPECT_LT(delivered_before, 60000u) << "the SIGHUP came after everything was delivered";
  ASSERT_TRUE(wait_for([&] { return count_lines(dir_ / "audit.jsonl") >= 1000; }, seconds(60)))
      << log();
  // Exactly the changed instance restarted; the unchanged source did not; the new sink started.
  EXPECT_EQ(starts("ledger"), 2u) << log();
  EXPECT_EQ(starts("source"), 1u) << log();
  EXPECT_EQ(starts("audit"), 1u) << log();

  // Everything the source published, before, during and after both reloads, reached the ledger.
  ASSERT_TRUE(wait_for(
      [&] {
        return count_lines(dir_ / "ledger.jsonl") >= 60000 &&
               ids(dir_ / "ledger.jsonl").size() >= 60000;
      },
      seconds(120)))
      << log();
  hub.signal(SIGTERM);
  auto status = hub.wait(seconds(60));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << log();
  const auto sent = ids(dir_ / "manifest.jsonl");
  EXPECT_EQ(sent.size(), 60000u);
  EXPECT_EQ(ids(dir_ / "ledger.jsonl"), sent);
  // The source was not restarted: it published each event once, and started once.
  EXPECT_EQ(count_lines(dir_ / "manifest.jsonl"), 60000u);
  EXPECT_EQ(starts("source"), 1u);
  EXPECT_EQ(starts("ledger"), 2u);
}

}  // namespace
}  // namespace simpang::testing
