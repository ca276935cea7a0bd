// Tests of simpang::sdk::testing::HubFixture: a real hub process with a plugin under test of each
// kind (the bundled plugins stand in for an integrator's), started, fed, read and stopped.
#include <gtest/gtest.h>

#include <fstream>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/testing.h"
#include "simpang/talent/v1/talent.pb.h"

namespace {

using simpang::sdk::testing::HubFixture;
using simpang::sdk::testing::TempDir;

std::filesystem::path plugin(const std::string& name) {
  return std::filesystem::path(SIMPANG_BUILD_DIR) / "lib" / "simpang" / "plugins" / (name + ".so");
}

simpang::v1::Event make_event(const std::string& id) {
  simpang::v1::Event event;
  event.set_id(id);
  event.set_source("/tests");
  event.set_type("test.happened");
  event.set_spec_version("1.0");
  return event;
}

std::vector<std::string> ids(const std::vector<simpang::v1::Event>& events) {
  std::vector<std::string> out;
  for (const auto& event : events) {
    out.push_back(event.id());
  }
  return out;
}

size_t lines_in(const std::filesystem::path& path) {
  std::ifstream in(path);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
  }
  return n;
}

TEST(HubFixtureTest, ASourceUnderTestFeedsTheCapture) {
  TempDir input;
  {
    std::ofstream out(input.path() / "events.jsonl");
    for (const char* id : {"a", "b", "c"}) {
      out << simpang::sdk::to_cloudevents_json(make_event(id)) << "\n";
    }
  }
  HubFixture hub({.plugin = plugin("source-jsonl"),
                  .kind = SIMPANG_KIND_SOURCE,
                  .config = {{"path", (input.path() / "events.jsonl").string()}}});
  EXPECT_THROW(hub.feed({make_event("x")}), std::logic_error);
  hub.start();
  EXPECT_EQ(ids(hub.wait_for_output(3)), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(hub.stop(), 0) << hub.log();
  EXPECT_FALSE(hub.running());
}

TEST(HubFixtureTest, ASinkUnderTestIsFed) {
  HubFixture hub({.plugin = plugin("sink-jsonl"),
                  .kind = SIMPANG_KIND_SINK,
                  .config = {{"path", "got.jsonl"}}});
  hub.feed({make_event("a")});  // before start: waiting in the file
  hub.start();
  hub.feed({make_event("b"), make_event("c")});
  const auto file = hub.instance_dir() / "got.jsonl";
  hub.wait_until([&] { return lines_in(file) >= 3; }, "3 lines in got.jsonl");
  EXPECT_EQ(hub.stop(), 0) << hub.log();
  EXPECT_EQ(lines_in(file), 3u);
}

TEST(HubFixtureTest, ATransformUnderTestSitsBetweenFeedAndCapture) {
  HubFixture hub({.plugin = plugin("transform-credential"), .kind = SIMPANG_KIND_TRANSFORM});
  hub.start();
  simpang::v1::Event completion = make_event("c1");
  completion.set_type("talent.completion.recorded");
  simpang::talent::v1::Completion data;
  data.set_person_id("person-1");
  data.set_course_id("ai-101");
  data.set_passed(true);
  data.set_certification(true);
  simpang::sdk::set_json_data(completion, data);
  hub.feed({make_event("ignored"), completion});
  const auto out = hub.wait_for_output(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type(), "talent.credential.issued");
  EXPECT_EQ(out[0].id(), "cred-c1");
  EXPECT_EQ(hub.stop(), 0) << hub.log();
}

TEST(HubFixtureTest, AHubThatCannotStartFailsStartWithItsLog) {
  HubFixture hub({.plugin = plugin("sink-jsonl"), .kind = SIMPANG_KIND_SINK});  // no path
  try {
    hub.start();
    FAIL() << "expected start() to fail";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("config.path"), std::string::npos) << e.what();
  }
}

TEST(HubFixtureTest, AMissingExecutableOrPluginIsReportedUpFront) {
  try {
    HubFixture hub({.plugin = plugin("sink-jsonl"), .hub_executable = "/nonexistent/simpang"});
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/simpang does not exist"), std::string::npos);
  }
  EXPECT_THROW(HubFixture({.plugin = "/nonexistent/x.so"}), std::runtime_error);
}

}  // namespace
