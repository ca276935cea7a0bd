// The LmsCaliper class in the SDK's PluginHarness, with its real server on loopback and curl as
// the client: an envelope is answered 200 only once its one publish is durable; a table of bad
// requests, each asserting status and message, publishes nothing; Canvas-format events; a re-sent
// envelope carries the same event ids; a timed-out publish and back-pressure are 503.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "caliper_samples.h"
#include "lms_caliper.h"
#include "simpang/sdk/testing.h"
#include "test_support.h"

namespace simpang::plugins::lms_caliper {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using simpang::sdk::PublishResult;
using simpang::sdk::testing::PluginHarness;

json config() {
  return {{"publish_timeout", "2s"},
          {"max_events", 3},
          {"max_body_bytes", 20000},
          {"clients", {{{"name", "canvas"}, {"token", "tok-canvas-1"}}}}};
}

uint16_t port_of(PluginHarness<LmsCaliper>& h) {
  return static_cast<uint16_t>(std::stoi(simpang::testing::read_file(h.state_dir() / kPortFile)));
}

// One curl request on a thread of its own (the test's thread plays the runtime thread).
class Curl {
 public:
  Curl(uint16_t port, std::string body, std::vector<std::string> headers = {
                                            "Authorization: Bearer tok-canvas-1",
                                            "Content-Type: application/json"},
       std::string method = "POST") {
    thread_ = std::thread([=, this] {
      std::vector<std::string> argv = {"/usr/bin/curl", "-s", "-S", "-i", "--max-time", "20",
                                       "-X", method};
      for (const std::string& h : headers) argv.insert(argv.end(), {"-H", h});
      if (!body.empty()) argv.insert(argv.end(), {"--data-binary", body});
      argv.push_back("http://127.0.0.1:" + std::to_string(port) + "/caliper");
      output_ = simpang::testing::run_command(argv, 30s).output;
      done_ = true;
    });
  }
  ~Curl() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  const std::string& answer() {
    if (thread_.joinable()) thread_.join();
    return output_;
  }

 private:
  std::thread thread_;
  std::string output_;
  std::atomic<bool> done_{false};
};

TEST(LmsCaliperPlugin, AnswersOnlyOnceTheWholeEnvelopeIsDurable) {
  PluginHarness<LmsCaliper> h(config());
  h.start();
  const std::string body =
      testing::envelope({testing::session_event(), testing::grade_event()}).dump();
  Curl post(port_of(h), body);
  ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 1; }));
  const auto& group = h.publishes()[0];
  ASSERT_EQ(group.events.size(), 3u);  // two raw, one completion: one publish
  EXPECT_EQ(group.events[0].type(), "caliper.event.received");
  EXPECT_EQ(group.events[2].type(), "talent.completion.recorded");
  EXPECT_FALSE(post.done());
  h.answer_publish(0, PublishResult::durable());
  ASSERT_TRUE(h.run_posted_until([&] { return post.done(); }));
  EXPECT_NE(post.answer().find("HTTP/1.1 200"), std::string::npos) << post.answer();
  EXPECT_NE(post.answer().find(R"({"accepted":2,"events":3})"), std::string::npos)
      << post.answer();

  // The same envelope again: the same ids, so the hub's journal recognises it.
  Curl again(port_of(h), body);
  ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 2; }));
  ASSERT_EQ(h.publishes()[1].events.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.publishes()[1].events[i].id(), h.publishes()[0].events[i].id());
  }
  h.answer_publish(1, PublishResult::durable());
  ASSERT_TRUE(h.run_posted_until([&] { return again.done(); }));
  h.stop();
}

TEST(LmsCaliperPlugin, CanvasFormatEventsAreAcceptedAndMapped) {
  PluginHarness<LmsCaliper> h(config());
  h.start();
  Curl post(port_of(h), testing::canvas_grade_change().dump());
  ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 1; }));
  ASSERT_EQ(h.publishes()[0].events.size(), 2u);
  EXPECT_EQ(h.publishes()[0].events[0].type(), "canvas.event.received");
  EXPECT_EQ(h.publishes()[0].events[1].type(), "talent.completion.recorded");
  h.answer_publish(0, PublishResult::durable());
  ASSERT_TRUE(h.run_posted_until([&] { return post.done(); }));
  EXPECT_NE(post.answer().find("HTTP/1.1 200"), std::string::npos) << post.answer();
  h.stop();
}

TEST(LmsCaliperPlugin, BadRequestsAreRefusedWithStatusAndMessageAndPublishNothing) {
  json wrong_action = testing::session_event();
  wrong_action["action"] = "Graded";
  json no_ms = testing::session_event();
  no_ms["eventTime"] = "2026-11-15T10:15:00Z";
  const std::vector<std::string> good = {"Authorization: Bearer tok-canvas-1",
                                         "Content-Type: application/json"};
  struct Case {
    std::string body;
    std::vector<std::string> headers;
    const char* status;
    const char* message;
  };
  const std::vector<Case> cases = {
      {testing::envelope({testing::session_event()}).dump(),
       {"Content-Type: application/json"}, "HTTP/1.1 401",
       "a sensor's Bearer token is required: no Authorization header"},
      {testing::envelope({testing::session_event()}).dump(),
       {"Authorization: Bearer wrong", "Content-Type: application/json"}, "HTTP/1.1 401",
       "invalid bearer token"},
      {testing::envelope({testing::session_event()}).dump(),
       {"Authorization: Bearer tok-canvas-1", "Content-Type: text/plain"}, "HTTP/1.1 415",
       "Content-Type: must be application/json, got 'text/plain'"},
      {"{not json", good, "HTTP/1.1 400", "the body is not valid JSON"},
      {testing::envelope({testing::session_event(), wrong_action}).dump(), good, "HTTP/1.1 400",
       R"("error":"data[1] /data/1/action: a SessionEvent's action must be one of LoggedIn, )"
       R"(LoggedOut, TimedOut, got 'Graded'","index":1,"pointer":"/data/1/action")"},
      {testing::envelope({no_ms}).dump(), good, "HTTP/1.1 400",
       R"("pointer":"/data/0/eventTime")"},
      {testing::envelope({testing::session_event(), testing::session_event(),
                          testing::session_event(), testing::session_event()})
           .dump(),
       good, "HTTP/1.1 413", "an envelope holds at most 3 items, this one 4"},
      {std::string(30000, ' ') + "{}", good, "HTTP/1.1 413", ""},
      {json{{"metadata", {{"event_time", "2026-11-15T19:11:03.000Z"}}}, {"body", json::object()}}
           .dump(),
       good, "HTTP/1.1 400", "/metadata/event_name: required (a string, e.g. grade_change)"},
  };
  PluginHarness<LmsCaliper> h(config());
  h.start();
  for (const Case& c : cases) {
    Curl post(port_of(h), c.body, c.headers);
    ASSERT_TRUE(h.run_posted_until([&] { return post.done(); }));
    EXPECT_NE(post.answer().find(c.status), std::string::npos) << post.answer();
    EXPECT_NE(post.answer().find(c.message), std::string::npos) << post.answer();
  }
  Curl get(port_of(h), "", good, "GET");
  ASSERT_TRUE(h.run_posted_until([&] { return get.done(); }));
  EXPECT_NE(get.answer().find("HTTP/1.1 405"), std::string::npos) << get.answer();
  EXPECT_NE(get.answer().find("Allow: POST"), std::string::npos) << get.answer();
  EXPECT_TRUE(h.publishes().empty());
  h.stop();
}

TEST(LmsCaliperPlugin, ATimedOutPublishAndBackPressureAre503) {
  PluginHarness<LmsCaliper> h(config());
  h.start();
  {
    Curl post(port_of(h), testing::envelope({testing::session_event()}).dump());
    ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 1; }));
    h.answer_publish(0, PublishResult::timed_out("no answer from the hub within 2000 ms"));
    ASSERT_TRUE(h.run_posted_until([&] { return post.done(); }));
    EXPECT_NE(post.answer().find("HTTP/1.1 503"), std::string::npos) << post.answer();
    EXPECT_NE(post.answer().find("Retry-After: 1"), std::string::npos) << post.answer();
  }
  h.set_backpressured(true);
  Curl post(port_of(h), testing::envelope({testing::session_event()}).dump());
  ASSERT_TRUE(h.run_posted_until([&] { return post.done(); }));
  EXPECT_NE(post.answer().find("HTTP/1.1 503"), std::string::npos) << post.answer();
  EXPECT_NE(post.answer().find("back-pressure"), std::string::npos) << post.answer();
  EXPECT_EQ(h.publishes().size(), 1u);
  h.stop();
}

TEST(LmsCaliperPlugin, BadConfigurationsFailNamingTheKey) {
  struct Case {
    json config;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"clients", json::array()}}, "config.clients: must be a non-empty list"},
      {{{"clients", {{{"name", "c"}}}}}, "config.clients[0].token: required"},
      {{{"colour", "red"}, {"clients", {{{"name", "c"}, {"token", "t"}}}}}, "config.colour"},
      {{{"path", "caliper"}, {"clients", {{{"name", "c"}, {"token", "t"}}}}},
       "config.path: must start with '/'"},
      {{{"clients", {{{"name", "c"}, {"token", "t"}}, {{"name", "d"}, {"token", "t"}}}}},
       "config.clients[1].token: is the token of another client"},
  };
  for (const Case& c : cases) {
    try {
      PluginHarness<LmsCaliper> h(c.config);
      ADD_FAILURE() << "accepted " << c.config.dump();
    } catch (const simpang::sdk::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace simpang::plugins::lms_caliper
