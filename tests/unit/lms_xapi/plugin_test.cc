// The LmsXapi class in the SDK's PluginHarness, with its real server on loopback and curl as the
// client: a POST is answered only once its publish is durable, and its statements are invisible
// until then; a timed-out publish is 503 and its statements are published again after a restart
// (same event ids); hub back-pressure is 503; bad configurations fail naming the key.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "lms_xapi.h"
#include "simpang/sdk/testing.h"
#include "test_support.h"

namespace simpang::plugins::lms_xapi {
namespace {

using namespace std::chrono_literals;
using simpang::sdk::PublishResult;
using simpang::sdk::testing::PluginHarness;

nlohmann::json config() {
  return {{"publish_timeout", "2s"},
          {"clients", {{{"name", "moodle"}, {"username", "moodle"}, {"password", "pw-42"}}}}};
}

const char kId[] = "fd41c918-b88b-4b20-a0a5-a4c32391aaa0";

std::string statement_body() {
  return std::string(R"({"id":")") + kId +
         R"(","actor":{"mbox":"mailto:siti@example.edu.my"},)"
         R"("verb":{"id":"http://adlnet.gov/expapi/verbs/registered"},)"
         R"("object":{"id":"http://lms.example/course/ml-101"}})";
}

uint16_t port_of(PluginHarness<LmsXapi>& h) {
  return static_cast<uint16_t>(std::stoi(simpang::testing::read_file(h.state_dir() / kPortFile)));
}

// One curl request on a thread of its own (the test's thread plays the runtime thread).
class Curl {
 public:
  Curl(uint16_t port, std::string method, std::string target, std::string body = "") {
    thread_ = std::thread([=, this] {
      std::vector<std::string> argv = {"/usr/bin/curl",
                                       "-s",
                                       "-S",
                                       "-i",
                                       "--max-time",
                                       "20",
                                       "-X",
                                       method,
                                       "-u",
                                       "moodle:pw-42",
                                       "-H",
                                       "X-Experience-API-Version: 1.0.3"};
      if (!body.empty()) {
        argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", body});
      }
      argv.push_back("http://127.0.0.1:" + std::to_string(port) + target);
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

TEST(LmsXapiPlugin, AnswersOnlyOnceDurableAndHidesPendingStatements) {
  PluginHarness<LmsXapi> h(config());
  h.start();
  const uint16_t port = port_of(h);
  Curl post(port, "POST", "/xapi/statements", statement_body());
  ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 1; }));
  const auto& group = h.publishes()[0];
  ASSERT_EQ(group.events.size(), 2u);  // the raw statement and the enrollment
  EXPECT_EQ(group.events[0].id(), kId);
  EXPECT_EQ(group.events[1].type(), "talent.enrollment.created");
  EXPECT_FALSE(post.done());

  // Pending: not visible to a read.
  {
    Curl get(port, "GET", std::string("/xapi/statements?statementId=") + kId);
    ASSERT_TRUE(h.run_posted_until([&] { return get.done(); }));
    EXPECT_NE(get.answer().find("HTTP/1.1 404"), std::string::npos) << get.answer();
  }
  EXPECT_FALSE(post.done());
  h.answer_publish(0, PublishResult::durable());
  ASSERT_TRUE(h.run_posted_until([&] { return post.done(); }));
  EXPECT_NE(post.answer().find("HTTP/1.1 200"), std::string::npos) << post.answer();
  EXPECT_NE(post.answer().find(kId), std::string::npos);

  Curl get(port, "GET", std::string("/xapi/statements?statementId=") + kId);
  ASSERT_TRUE(h.run_posted_until([&] { return get.done(); }));
  EXPECT_NE(get.answer().find("HTTP/1.1 200"), std::string::npos) << get.answer();
  h.stop();
}

TEST(LmsXapiPlugin, ATimedOutPublishIs503AndIsPublishedAgainAfterARestart) {
  PluginHarness<LmsXapi> h(config());
  h.start();
  {
    Curl post(port_of(h), "POST", "/xapi/statements", statement_body());
    ASSERT_TRUE(h.run_posted_until([&] { return h.publishes().size() == 1; }));
    h.answer_publish(0, PublishResult::timed_out("no answer from the hub within 2000 ms"));
    ASSERT_TRUE(h.run_posted_until([&] { return post.done(); }));
    EXPECT_NE(post.answer().find("HTTP/1.1 503"), std::string::npos) << post.answer();
    EXPECT_NE(post.answer().find("Retry-After: 1"), std::string::npos) << post.answer();
    EXPECT_NE(post.answer().find("same statement ids"), std::string::npos) << post.answer();
  }
  h.stop();
  h.restart();  // a crash: the statement is still pending in the store
  h.start();
  ASSERT_EQ(h.publishes().size(), 2u);
  EXPECT_EQ(h.publishes()[1].events[0].id(), kId);
  h.answer_publish(1, PublishResult::durable());
  h.run_posted();
  Curl get(port_of(h), "GET", std::string("/xapi/statements?statementId=") + kId);
  ASSERT_TRUE(h.run_posted_until([&] { return get.done(); }));
  EXPECT_NE(get.answer().find("HTTP/1.1 200"), std::string::npos) << get.answer();
  h.stop();
}

TEST(LmsXapiPlugin, BackPressureIs503AndPublishesNothing) {
  PluginHarness<LmsXapi> h(config());
  h.start();
  h.set_backpressured(true);
  Curl post(port_of(h), "POST", "/xapi/statements", statement_body());
  ASSERT_TRUE(h.run_posted_until([&] { return post.done(); }));
  EXPECT_NE(post.answer().find("HTTP/1.1 503"), std::string::npos) << post.answer();
  EXPECT_TRUE(h.publishes().empty());
  h.stop();
}

TEST(LmsXapiPlugin, BadConfigurationsFailNamingTheKey) {
  struct Case {
    nlohmann::json config;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{{"clients", nlohmann::json::array()}}, "config.clients: must be a non-empty list"},
      {{{"clients", {{{"name", "m"}, {"username", "a:b"}, {"password", "p"}}}}},
       "config.clients[0].username"},
      {{{"clients", {{{"name", "m"}, {"username", "u"}}}}}, "config.clients[0].password"},
      {{{"colour", "red"}, {"clients", {{{"name", "m"}, {"username", "u"}, {"password", "p"}}}}},
       "config.colour"},
      {{{"authority_home_page", "lrs"},
        {"clients", {{{"name", "m"}, {"username", "u"}, {"password", "p"}}}}},
       "config.authority_home_page: must be an absolute IRI"},
      {{{"clients",
         {{{"name", "m"}, {"username", "u"}, {"password", "p"}},
          {{"name", "n"}, {"username", "u"}, {"password", "q"}}}}},
       "config.clients[1].username"},
  };
  for (const Case& c : cases) {
    try {
      PluginHarness<LmsXapi> h(c.config);
      ADD_FAILURE() << "accepted " << c.config.dump();
    } catch (const simpang::sdk::ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace simpang::plugins::lms_xapi
