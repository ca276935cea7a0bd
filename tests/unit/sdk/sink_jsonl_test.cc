// Tests of the sink-jsonl plugin class (plugins/sink-jsonl/sink_jsonl.h) against a fake Context
// and real files in a private temporary directory.
#include "sink_jsonl.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fake_context.h"
#include "simpang/sdk/cloudevents.h"

namespace simpang::plugins::sink_jsonl {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using simpang::sdk::ConfigError;
using simpang::sdk::Outcome;
using simpang::testing::FakeContext;

class SinkJsonlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "sink-jsonl-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { fs::remove_all(dir_); }

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
    FakeContext ctx(config, "sink", dir_);
    try {
      JsonlSink sink(ctx);
    } catch (const ConfigError& e) {
      return e.what();
    }
    ADD_FAILURE() << "accepted " << config.dump();
    return {};
  }

  fs::path dir_;
};

TEST_F(SinkJsonlTest, WritesOneCloudEventPerLineRelativeToStateDir) {
  FakeContext ctx(json{{"path", "events.jsonl"}}, "sink", dir_);
  JsonlSink sink(ctx);
  EXPECT_EQ(sink.path(), dir_ / "events.jsonl");
  EXPECT_EQ(sink.on_event(ctx, event("a")).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(sink.on_event(ctx, event("b")).kind(), Outcome::Kind::kAck);

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
    FakeContext ctx(json{{"path", path.string()}, {"fsync", true}}, "sink", "/nonexistent");
    JsonlSink sink(ctx);
    EXPECT_EQ(sink.on_event(ctx, event(id)).kind(), Outcome::Kind::kAck);
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
  FakeContext ctx(json{{"path", "/dev/full"}}, "sink", dir_);
  JsonlSink sink(ctx);
  const Outcome outcome = sink.on_event(ctx, event("a"));
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
  FakeContext ctx(json{{"path", path.string()}}, "sink", dir_);
  JsonlSink sink(ctx);
  ASSERT_EQ(sink.on_event(ctx, event("next")).kind(), Outcome::Kind::kAck);
  const auto written = lines(path);
  ASSERT_EQ(written.size(), 2u);
  EXPECT_EQ(written[0], "{\"id\":\"whole\"}");
  EXPECT_EQ(json::parse(written[1])["id"], "next");
  ASSERT_EQ(ctx.logs.size(), 1u);
  EXPECT_NE(ctx.logs[0].find("cut off a torn last line of 9 bytes"), std::string::npos)
      << ctx.logs[0];
}

TEST_F(SinkJsonlTest, LeavesAnIntactFileAlone) {
  const fs::path path = dir_ / "out.jsonl";
  {
    std::ofstream out(path, std::ios::binary);
    out << "{\"id\":\"whole\"}\n";
  }
  FakeContext ctx(json{{"path", path.string()}}, "sink", dir_);
  JsonlSink sink(ctx);
  EXPECT_EQ(lines(path).size(), 1u);
  EXPECT_TRUE(ctx.logs.empty());
}

}  // namespace
}  // namespace simpang::plugins::sink_jsonl
