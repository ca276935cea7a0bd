// Tests of the sink-jsonl plugin class (plugins/sink-jsonl/sink_jsonl.h) in the SDK's
// PluginHarness, with real files in a private temporary directory.
#include "sink_jsonl.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/testing.h"

namespace simpang::plugins::sink_jsonl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using simpang::sdk::ConfigError;
using simpang::sdk::Outcome;
using simpang::sdk::testing::HarnessOptions;
using simpang::sdk::testing::TempDir;
using Harness = simpang::sdk::testing::PluginHarness<JsonlSink>;

class SinkJsonlTest : public ::testing::Test {
 protected:
  // The instance's state directory, as the hub would give it.
  HarnessOptions options(fs::path state_dir = {}) const {
    return HarnessOptions{.instance_name = "sink", .state_dir = state_dir.empty() ? dir_ : state_dir};
  }

  static simpang::v1::Event event(const std::string& id) {
    simpang::v1::Event e;
    e.set_id(id);
    e.set_source("/test");
    e.set_spec_version("1.0");
    e.set_type("talent.test");
    e.set_data_content_type("application/json");
    e.set_text_data(R"({"n":1})");
    return e;
  }

  static std::vector<std::string> lines(const fs::path& path) {
    std::ifstream in(path);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
      out.push_back(line);
    }
    return out;
  }

  std::string config_error(const json& config) {
    try {
      Harness h(config, options());
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted " << config.dump();
    return {};
  }

  TempDir temp_{"sink-jsonl"};
  const fs::path dir_ = temp_.path();
};

TEST_F(SinkJsonlTest, WritesOneCloudEventPerLineRelativeToStateDir) {
  Harness h(json{{"path", "events.jsonl"}}, options());
  h.start();
  EXPECT_EQ(h.plugin().path(), dir_ / "events.jsonl");
  EXPECT_EQ(h.deliver(event("a")).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(h.deliver(event("b")).kind(), Outcome::Kind::kAck);

  const auto got = lines(dir_ / "events.jsonl");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], simpang::sdk::to_cloudevents_json(event("a")));
  EXPECT_EQ(got[1], simpang::sdk::to_cloudevents_json(event("b")));
  const auto back = simpang::sdk::from_cloudevents_json(got[1]);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->id(), "b");
}

TEST_F(SinkJsonlTest, AppendsAcrossInstancesAndHonoursAbsolutePathAndFsync) {
  const fs::path path = dir_ / "abs.jsonl";
  for (const char* id : {"first", "second"}) {
    Harness h(json{{"path", path.string()}, {"fsync", true}}, options("/nonexistent"));
    h.start();
    EXPECT_EQ(h.deliver(event(id)).kind(), Outcome::Kind::kAck);
  }
  const auto got = lines(path);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[0].find("\"first\""), std::string::npos);
  EXPECT_NE(got[1].find("\"second\""), std::string::npos);
}

TEST_F(SinkJsonlTest, ConfigErrors) {
  EXPECT_EQ(config_error(json::object()).rfind("config.path: required", 0), 0u);
  EXPECT_EQ(config_error(json{{"path", 3}}), "config.path: must be a non-empty string, got 3");
  EXPECT_EQ(config_error(json{{"path", ""}}), "config.path: must be a non-empty string, got \"\"");
  EXPECT_EQ(config_error(json{{"path", "x"}, {"fsync", "yes"}}),
            "config.fsync: must be true or false, got \"yes\"");
  EXPECT_EQ(
      config_error(json{{"path", "x"}, {"rotate", true}}).rfind("config.rotate: unknown key", 0),
      0u);
}

TEST_F(SinkJsonlTest, CannotOpenIsAConfigErrorWithTheOsReason) {
  const std::string msg = config_error(json{{"path", "missing-dir/events.jsonl"}});
  EXPECT_NE(msg.find("config.path: cannot open"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing-dir/events.jsonl"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
}

TEST_F(SinkJsonlTest, WriteFailureAsksForRetryWithTheOsReason) {
  // /dev/full accepts the open and fails every write with ENOSPC.
  Harness h(json{{"path", "/dev/full"}}, options());
  h.start();
  const Outcome outcome = h.deliver(event("a"));
  EXPECT_EQ(outcome.kind(), Outcome::Kind::kRetryLater);
  EXPECT_NE(outcome.reason().find("No space left on device"), std::string::npos)
      << outcome.reason();
}

}  // namespace
}  // namespace simpang::plugins::sink_jsonl

namespace simpang::plugins::sink_jsonl {
namespace {

TEST_F(SinkJsonlTest, CutsOffATornLastLineLeftByACrash) {
  const fs::path path = dir_ / "out.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"id\":\"whole\"}\n{\"id\":\"ha";  // the process died mid-write
  }
  Harness h(json{{"path", path.string()}}, options());
  h.start();
  ASSERT_EQ(h.deliver(event("next")).kind(), Outcome::Kind::kAck);
  const auto written = lines(path);
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0], "{\"id\":\"whole\"}");
  EXPECT_EQ(json::parse(written[1])["id"], "next");
  const auto logs = h.logs();
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_NE(logs[0].message.find("cut off a torn last line of 9 bytes"), std::string::npos)
      << logs[0].message;
}

TEST_F(SinkJsonlTest, LeavesAnIntactFileAlone) {
  const fs::path path = dir_ / "out.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"id\":\"whole\"}\n";
  }
  Harness h(json{{"path", path.string()}}, options());
  h.start();
  EXPECT_EQ(lines(path).size(), 1u);
  EXPECT_TRUE(h.logs().empty());
}

}  // namespace
}  // namespace simpang::plugins::sink_jsonl
