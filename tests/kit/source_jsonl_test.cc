// Tests of the source-jsonl plugin through the PluginHarness: publishing, cursors across restarts,
// following appended lines, bad lines (logged with their number, counted, skipped), and config.
#include "source_jsonl.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/testing.h"

namespace {

using simpang::plugins::source_jsonl::JsonlSource;
using simpang::sdk::testing::HarnessOptions;
using simpang::sdk::testing::PluginHarness;
using simpang::sdk::testing::TempDir;
using std::chrono::milliseconds;

std::string line_of(const std::string& id) {
  simpang::v1::Event event;
  event.set_id(id);
  event.set_source("/tests");
  event.set_type("test.happened");
  event.set_spec_version("1.0");
  return simpang::sdk::to_cloudevents_json(event);
}

void append(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::app | std::ios::binary);
  out << text;
}

std::vector<std::string> ids(const std::vector<simpang::v1::Event>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) {
    out.push_back(event.id());
  }
  return out;
}

class SourceJsonlTest : public ::testing::Test {
 protected:
  TempDir state_;
  std::filesystem::path file_ = state_.path() / "events.jsonl";
  HarnessOptions options() { return HarnessOptions{.state_dir = state_.path()}; }
};

TEST_F(SourceJsonlTest, PublishesEveryLineInOrderAndKeepsItsPlace) {
  append(file_, line_of("a") + "\n" + line_of("b") + "\n\n" + line_of("c"));  // no final newline
  PluginHarness<JsonlSource> h({{"path", "events.jsonl"}}, options());
  h.start();
  h.advance(milliseconds(0));
  EXPECT_EQ(ids(h.emitted()), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(h.cursors().at("offset"), std::to_string(std::filesystem::file_size(file_)));
  EXPECT_EQ(h.cursors().at("line"), "4");
  EXPECT_TRUE(h.logged("reached the end of"));
}

TEST_F(SourceJsonlTest, ARestartNeitherSkipsNorRereads) {
  for (int i = 0; i < 4; ++i) {
    append(file_, line_of("e" + std::to_string(i)) + "\n");
  }
  // batch: 4 lines a turn, so the crash below falls between two turns.
  PluginHarness<JsonlSource> h({{"path", "events.jsonl"}, {"follow", true}, {"batch", 4}},
                               options());
  h.start();
  h.set_backpressured(true);
  h.advance(milliseconds(0));
  EXPECT_EQ(h.emitted().size(), 0u);  // back-pressure postpones even the first turn
  h.set_backpressured(false);
  h.advance(milliseconds(0));  // one turn: the 4 lines there are
  ASSERT_EQ(ids(h.emitted()), (std::vector<std::string>{"e0", "e1", "e2", "e3"}));
  // The cursors the plugin set with its first batch: what the hub stores with those 4 events.
  const std::map<std::string, std::string> stored = h.cursors();
  EXPECT_EQ(stored.at("line"), "4");

  for (int i = 4; i < 10; ++i) {
    append(file_, line_of("e" + std::to_string(i)) + "\n");
  }
  h.advance(milliseconds(1000));  // follows: two more turns, of 4 and 2 lines
  ASSERT_EQ(h.emitted().size(), 10u);
  EXPECT_NE(h.cursors(), stored) << "the plugin's cursors did not move with its later batches";

  // A crash after the first batch was stored and before the later ones were: the restarted
  // plugin gets what the hub had stored, the cursors it set itself with e3.
  TempDir other;
  std::filesystem::copy_file(file_, other.path() / "events.jsonl");
  PluginHarness<JsonlSource> resumed({{"path", "events.jsonl"}, {"batch", 4}},
                                     HarnessOptions{.state_dir = other.path(), .cursors = stored});
  resumed.start();
  resumed.advance(milliseconds(0));
  EXPECT_EQ(ids(resumed.emitted()), (std::vector<std::string>{"e4", "e5", "e6", "e7", "e8", "e9"}));
  // And the cursors it sets from there on are where the first run's ended.
  EXPECT_EQ(resumed.cursors(), h.cursors());
}

TEST_F(SourceJsonlTest, RestartFromItsOwnCursorPublishesOnlyWhatIsNew) {
  append(file_, line_of("a") + "\n");
  PluginHarness<JsonlSource> h({{"path", "events.jsonl"}, {"follow", true}}, options());
  h.start();
  h.advance(milliseconds(0));
  h.restart();
  append(file_, line_of("b") + "\n");
  h.start();
  h.advance(milliseconds(0));
  EXPECT_EQ(ids(h.emitted()), (std::vector<std::string>{"a", "b"}));
}

TEST_F(SourceJsonlTest, FollowPicksUpAppendedLinesAndWaitsForAWholeLine) {
  PluginHarness<JsonlSource> h(
      {{"path", "events.jsonl"}, {"follow", true}, {"poll_interval", "100ms"}}, options());
  h.start();
  h.advance(milliseconds(100));
  EXPECT_TRUE(h.emitted().empty());  // the file does not exist yet: that is fine when following
  append(file_, line_of("a") + "\n");
  const std::string b = line_of("b");
  append(file_, b.substr(0, 10));  // half a line: still being written
  h.advance(milliseconds(100));
  EXPECT_EQ(ids(h.emitted()), (std::vector<std::string>{"a"}));
  append(file_, b.substr(10) + "\n");
  h.advance(milliseconds(100));
  EXPECT_EQ(ids(h.emitted()), (std::vector<std::string>{"a", "b"}));
}

TEST_F(SourceJsonlTest, BadLinesAreLoggedWithTheirNumberCountedAndSkipped) {
  append(file_, line_of("a") + "\nnot json\n{\"id\":\"x\"}\n" + line_of("d") + "\n");
  PluginHarness<JsonlSource> h({{"path", "events.jsonl"}}, options());
  h.start();
  h.advance(milliseconds(0));
  EXPECT_EQ(ids(h.emitted()), (std::vector<std::string>{"a", "d"}));
  EXPECT_EQ(h.plugin().skipped(), 2u);
  EXPECT_TRUE(h.logged("events.jsonl:2: skipped: "));
  EXPECT_TRUE(h.logged("events.jsonl:3: skipped: "));
  EXPECT_TRUE(h.logged("(2 lines skipped this run)"));
  EXPECT_EQ(h.cursors().at("line"), "4");
}

TEST_F(SourceJsonlTest, ATruncatedFileIsReadAgainWithAWarning) {
  append(file_, line_of("a") + "\n" + line_of("b") + "\n");
  PluginHarness<JsonlSource> h({{"path", "events.jsonl"}, {"follow", true}}, options());
  h.start();
  h.advance(milliseconds(0));
  std::filesystem::resize_file(file_, 0);
  append(file_, line_of("c") + "\n");
  h.advance(milliseconds(1000));
  EXPECT_EQ(ids(h.emitted()), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(h.logged("truncated or replaced"));
}

TEST_F(SourceJsonlTest, ConfigErrorsNameTheKey) {
  const auto error_of = [&](nlohmann::json config) -> std::string {
    try {
      PluginHarness<JsonlSource> h(std::move(config), options());
    } catch (const simpang::sdk::ConfigError& e) {
      return e.what();
    }
    return "no error";
  };
  EXPECT_EQ(error_of(nlohmann::json::object()), "config.path: required, but missing");
  EXPECT_EQ(error_of({{"path", "events.jsonl"}, {"folow", true}}),
            "config.folow: unknown key (known: batch, follow, path, poll_interval)");
  EXPECT_NE(error_of({{"path", "missing.jsonl"}}).find("set follow: true"), std::string::npos);
  EXPECT_EQ(error_of({{"path", "x"}, {"follow", true}, {"batch", 0}}),
            "config.batch: must be at least 1");
}

}  // namespace
