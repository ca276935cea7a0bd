// The SDK's post(), publish-with-completion and pending settlement in a real hub: the test plugins
// of tests/plugins/async, which do their work on threads of their own, run under HubFixture.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/testing.h"

namespace {

using simpang::sdk::testing::HubFixture;

std::filesystem::path plugin(const std::string& name) {
  return std::filesystem::path(SIMPANG_BUILD_DIR) / "lib" / "simpang" / "plugins" / (name + ".so");
}

std::vector<std::string> lines_of(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

TEST(AsyncPluginsTest, GroupsPublishedFromAThreadAreAnsweredDurableAndAllArrive) {
  constexpr int kGroups = 6;
  constexpr int kGroupSize = 700;  // more than one wire batch (the hub's max_batch is 512)
  HubFixture hub(
      {.plugin = plugin("test-async-source"),
       .kind = SIMPANG_KIND_SOURCE,
       .config = {{"groups", kGroups}, {"group_size", kGroupSize}, {"answers", "answers.txt"}}});
  const auto answers = hub.instance_dir() / "answers.txt";
  hub.start();
  const auto out = hub.wait_for_output(kGroups * kGroupSize);
  std::set<std::string> ids;
  for (const auto& event : out) {
    ids.insert(event.id());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kGroups * kGroupSize)) << "every event, once each";
  for (int g = 0; g < kGroups; ++g) {
    EXPECT_EQ(ids.count("under-test-" + std::to_string(g) + "-" + std::to_string(kGroupSize - 1)),
              1u);
  }
  // One answer per group, in order, each durable: the source sends the next group only after the
  // answer to the last.
  hub.wait_until([&] { return lines_of(answers).size() >= kGroups; }, "an answer to every group");
  const auto got = lines_of(answers);
  ASSERT_EQ(got.size(), static_cast<size_t>(kGroups));
  for (int g = 0; g < kGroups; ++g) {
    EXPECT_EQ(got[g], std::to_string(g) + " durable");
  }
  EXPECT_EQ(hub.stop(), 0) << hub.log();
}

TEST(AsyncPluginsTest, ASinkSettlingFromAThreadGetsEveryEventWithinItsWindow) {
  constexpr int kEvents = 300;
  constexpr int kWindow = 8;
  HubFixture hub({.plugin = plugin("test-async-sink"),
                  .kind = SIMPANG_KIND_SINK,
                  .config = {{"path", "received.jsonl"},
                             {"stats", "stats.txt"},
                             {"window", kWindow},
                             {"latency_ms", 2}}});
  std::vector<simpang::v1::Event> events;
  for (int i = 0; i < kEvents; ++i) {
    simpang::v1::Event& event = events.emplace_back();
    event.set_id("e-" + std::to_string(i));
    event.set_source("/tests");
    event.set_type("test.happened");
    event.set_spec_version("1.0");
  }
  hub.feed(events);
  hub.start();
  const auto received = hub.instance_dir() / "received.jsonl";
  hub.wait_until([&] { return lines_of(received).size() >= kEvents; },
                 std::to_string(kEvents) + " events settled by the sink");
  std::set<std::string> ids;
  for (const auto& line : lines_of(received)) {
    auto event = simpang::sdk::from_cloudevents_json(line);
    ASSERT_TRUE(event.ok()) << line;
    ids.insert(event->id());
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kEvents));
  const auto stats = lines_of(hub.instance_dir() / "stats.txt");
  ASSERT_EQ(stats.size(), 1u);
  const int max_pending = std::stoi(stats[0].substr(stats[0].find(' ') + 1));
  EXPECT_LE(max_pending, kWindow) << "never more pending than the credit it grants";
  EXPECT_GT(max_pending, 1) << "deliveries overlapped: the sink did not settle one at a time";
  EXPECT_EQ(hub.stop(), 0) << hub.log();
}

}  // namespace
