// The SourceHttp class in the SDK's PluginHarness, with its real server on loopback and curl as
// the client: the answer waits for the publish to be durable; a timed-out publish, requests beyond
// max_in_flight while the hub is slow, and a stop are 503 with Retry-After; refusals never publish.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "simpang/sdk/testing.h"
#include "source_http.h"
#include "test_support.h"

namespace simpang::plugins::source_http {
namespace {

using namespace std::chrono_literals;
using simpang::sdk::PublishResult;
using simpang::sdk::testing::PluginHarness;

constexpr char kToken[] = "harness-token-42";

nlohmann::json config() {
  return {{"publish_timeout", "2s"},
          {"clients",
           {{{"name", "acme"},
             {"token", kToken},
             {"types", "talent.**"},
             {"source_prefix", "/partners/acme/"}}}}};
}

std::string curl_binary() {
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    const std::string candidate = dirs.substr(start, end - start) + "/curl";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return "/usr/bin/curl";
}

uint16_t port_of(PluginHarness<SourceHttp>& h) {
  const std::string text = simpang::testing::read_file(h.state_dir() / kPortFile);
  return static_cast<uint16_t>(std::stoi(text));
}

// A curl POST of one binary-mode event, on a thread of its own (the test's thread plays the
// plugin's runtime thread, which must keep running for the request to be answered).
class Post {
 public:
  Post(uint16_t port, std::string id, std::string token = kToken) {
    thread_ = std::thread([this, port, id = std::move(id), token = std::move(token)] {
      output_ = simpang::testing::run_command(
                    {curl_binary(), "-s", "-S", "-i", "--max-time", "20", "-X", "POST",
                     "-H", "Authorization: Bearer " + token, "-H", "ce-specversion: 1.0",
                     "-H", "ce-id: " + id, "-H", "ce-source: /partners/acme/hr",
                     "-H", "ce-type: talent.person.created", "-H",
                     "Content-Type: application/json", "--data-binary", R"({"n":1})",
                     "http://127.0.0.1:" + std::to_string(port) + "/events"},
                    30s)
                    .output;
      done_ = true;
    });
  }
  ~Post() {
    if (thread_.joinable()) thread_.join();
  }
  bool done() const { return done_; }
  // Waits for the answer and returns curl's output (status line, headers, body).
  const std::string& answer() {
    if (thread_.joinable()) thread_.join();
    return output_;
  }

 private:
  std::thread thread_;
  std::string output_;
  std::atomic<bool> done_{false};
};

TEST(SourceHttpPlugin, AnswersOnlyOnceTheHubHasMadeTheEventDurable) {
  PluginHarness<SourceHttp> h(config());
  h.start();
  EXPECT_TRUE(h.logged("listening on http://127.0.0.1:"));
  Post post(port_of(h), "e-1");
  ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 1; }));
  const auto& group = h.publishes()[0];
  ASSERT_EQ(group.events.size(), 1u);
  EXPECT_EQ(group.events[0].id(), "e-1");
  EXPECT_EQ(group.events[0].text_data(), R"({"n":1})");
  EXPECT_EQ(group.timeout, 2000ms);
  // Published but not yet durable: the client still waits.
  EXPECT_FALSE(post.done());
  h.answer_publish(0, PublishResult::durable());
  const std::string& out = post.answer();
  EXPECT_NE(out.find("HTTP/1.1 202"), std::string::npos) << out;
  EXPECT_NE(out.find(R"({"accepted":1})"), std::string::npos) << out;
  h.run_posted();
  EXPECT_EQ(h.counters().at("events_accepted"), 1);
  h.stop();
}

TEST(SourceHttpPlugin, ATimedOutPublishIs503WithRetryAfter) {
  PluginHarness<SourceHttp> h(config());
  h.start();
  Post post(port_of(h), "e-2");
  ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 1; }));
  h.answer_publish(0, PublishResult::timed_out("no answer from the hub within 2000 ms"));
  const std::string& out = post.answer();
  EXPECT_NE(out.find("HTTP/1.1 503"), std::string::npos) << out;
  EXPECT_NE(out.find("Retry-After: 1"), std::string::npos) << out;
  EXPECT_NE(out.find("application/problem+json"), std::string::npos) << out;
  EXPECT_NE(out.find("urn:simpang:problem:publish-timed-out"), std::string::npos) << out;
  h.stop();
}

TEST(SourceHttpPlugin, WhileTheHubIsSlowRequestsWaitUpToMaxInFlightAndTheRestGet503) {
  nlohmann::json c = config();
  c["max_in_flight"] = 2;
  PluginHarness<SourceHttp> h(c);
  h.start();
  const uint16_t port = port_of(h);
  // The hub's window is full: requests are still published, and their clients wait.
  h.set_backpressured(true);
  Post first(port, "e-3");
  Post second(port, "e-4");
  ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 2; }));
  EXPECT_FALSE(first.done());
  EXPECT_FALSE(second.done());
  // A third is over max_in_flight: turned away at once, never published.
  {
    Post third(port, "e-5");
    const std::string& out = third.answer();
    EXPECT_NE(out.find("HTTP/1.1 503"), std::string::npos) << out;
    EXPECT_NE(out.find("Retry-After: 1"), std::string::npos) << out;
  }
  h.run_posted();
  EXPECT_EQ(h.publishes().size(), 2u);
  h.set_backpressured(false);
  h.answer_publish(0, PublishResult::durable());
  h.answer_publish(1, PublishResult::durable());
  EXPECT_NE(first.answer().find("HTTP/1.1 202"), std::string::npos) << first.answer();
  EXPECT_NE(second.answer().find("HTTP/1.1 202"), std::string::npos) << second.answer();
  h.stop();
}

TEST(SourceHttpPlugin, RefusedRequestsAreNeverPublished) {
  PluginHarness<SourceHttp> h(config());
  h.start();
  Post post(port_of(h), "e-6", "not-the-token");
  const std::string& out = post.answer();
  EXPECT_NE(out.find("HTTP/1.1 401"), std::string::npos) << out;
  EXPECT_NE(out.find("WWW-Authenticate: Bearer"), std::string::npos) << out;
  h.run_posted();
  EXPECT_TRUE(h.publishes().empty());
  EXPECT_EQ(h.counters().at("requests_refused_401"), 1);
  EXPECT_TRUE(h.logged("refused 401"));
  EXPECT_FALSE(h.logged("not-the-token"));
  h.stop();
}

TEST(SourceHttpPlugin, StopAnswersTheRequestInFlightAndClosesThePort) {
  PluginHarness<SourceHttp> h(config());
  h.start();
  const uint16_t port = port_of(h);
  Post post(port, "e-7");
  ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 1; }));
  h.stop();
  // As the runtime does for a publish unanswered at its stop deadline.
  h.answer_publish(0, PublishResult::timed_out("stopping"));
  EXPECT_NE(post.answer().find("HTTP/1.1 503"), std::string::npos) << post.answer();
  ASSERT_TRUE(simpang::testing::wait_for(
      [&] {
        return simpang::testing::run_command(
                   {curl_binary(), "-s", "--max-time", "2",
                    "http://127.0.0.1:" + std::to_string(port) + "/events"},
                   5s)
                   .status != 0;
      },
      10s));
}

TEST(SourceHttpPlugin, FailsToStartOnAPortInUse) {
  PluginHarness<SourceHttp> first(config());
  first.start();
  nlohmann::json taken = config();
  taken["port"] = port_of(first);
  PluginHarness<SourceHttp> second(taken);
  try {
    second.start();
    FAIL() << "started on a port in use";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("cannot listen"), std::string::npos) << e.what();
  }
  first.stop();
}

}  // namespace
}  // namespace simpang::plugins::source_http
