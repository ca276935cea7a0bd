// sink-webhook in a real `simpang run`, fed by source-jsonl, delivering over loopback to a
// receiver that verifies every Standard Webhooks signature: a 400 ends in the dead letters with
// its status and the receiver's words (`simpang dlq list`), a 503 is retried by the hub and the
// event is accepted once, and the secret (given as ${env:...}) never shows in the hub's log.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "simpang/sdk/cloudevents.h"
#include "test_support.h"
#include "webhook_receiver.h"

namespace simpang::plugins::sink_webhook {
namespace {

using namespace std::chrono_literals;
using simpang::testing::CommandResult;
using simpang::testing::read_file;
using simpang::testing::run_command;
using simpang::testing::wait_for;
using testing::Arrival;
using testing::Reply;
using testing::WebhookReceiver;

constexpr char kSecretVariable[] = "SIMPANG_IT_SINK_WEBHOOK_SECRET";
constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

std::string event_line(const std::string& id) {
  simpang::v1::Event e;
  e.set_spec_version("1.0");
  e.set_id(id);
  e.set_source("/simpang/it");
  e.set_type("talent.course.completed");
  e.set_subject("learner-7");
  e.set_data_content_type("application/json");
  e.set_text_data(R"({"course":"ml-101"})");
  return simpang::sdk::to_cloudevents_json(e) + "\n";
}

class SinkWebhookHub : public ::testing::Test {
 protected:
  SinkWebhookHub() : dir_("swhub") { ::setenv(kSecretVariable, kSecret, 1); }
  ~SinkWebhookHub() override {
    if (hub_) {
      hub_->stop(20s);
    }
    ::unsetenv(kSecretVariable);
  }

  std::string config_path() const { return (dir_ / "hub.yaml").string(); }
  std::string log() const { return read_file(dir_ / "hub.log"); }

  void start(const WebhookReceiver& receiver, const std::vector<std::string>& ids,
             int max_in_flight = 4) {
    std::string input;
    for (const std::string& id : ids) {
      input += event_line(id);
    }
    simpang::testing::write_file(dir_ / "input.jsonl", input);
    // clang-format off
    simpang::testing::write_file(
        dir_ / "hub.yaml",
        "hub:\n"
        "  state_dir: " + (dir_ / "state").string() + "\n"
        "  summary_interval: 0s\n"
        "plugins:\n"
        "  - name: feed\n"
        "    plugin: source-jsonl\n"
        "    config:\n"
        "      path: " + (dir_ / "input.jsonl").string() + "\n"
        "  - name: webhook\n"
        "    plugin: sink-webhook\n"
        "    config:\n"
        "      url: " + receiver.url("/hook") + "\n"
        "      secret: \"${env:" + kSecretVariable + "}\"\n"
        "      timeout: 5s\n"
        "      max_in_flight: " + std::to_string(max_in_flight) + "\n"
        "routes:\n"
        "  - name: feed-to-webhook\n"
        "    from: [feed]\n"
        "    to: [webhook]\n"
        "    retry: {max_attempts: 5, initial_backoff: 100ms, max_backoff: 200ms}\n");
    // clang-format on
    hub_ = std::make_unique<simpang::testing::Process>(
        std::vector<std::string>{simpang::testing::simpang_binary().string(), "run", config_path()},
        dir_ / "hub.log");
  }

  simpang::testing::TempDir dir_;
  std::unique_ptr<simpang::testing::Process> hub_;
};

std::map<std::string, std::vector<Arrival>> by_id(const std::vector<Arrival>& arrivals) {
  std::map<std::string, std::vector<Arrival>> out;
  for (const Arrival& a : arrivals) {
    out[a.header("webhook-id")].push_back(a);
  }
  return out;
}

TEST_F(SinkWebhookHub, A400IsDeadLetteredAndA503IsRetriedUntilAcceptedOnce) {
  WebhookReceiver receiver({kSecret});
  std::map<std::string, int> seen;  // only touched by the script, under the receiver's lock
  receiver.script([&seen](const Arrival& a, size_t) {
    const std::string& id = a.header("webhook-id");
    if (!a.signature.ok()) {
      return Reply::respond(401, a.signature.message());
    }
    if (id.rfind("bad-", 0) == 0) {
      return Reply::respond(400, "unknown course ml-999 for " + id);
    }
    if (id.rfind("flaky-", 0) == 0 && seen[id]++ == 0) {
      return Reply::respond(503, "warming up");
    }
    return Reply::respond(200, "ok");
  });
  start(receiver, {"ok-1", "bad-1", "flaky-1"});

  const std::string shown = receiver.url("/hook");
  CommandResult listed;
  const bool dead_lettered = wait_for(
      [&] {
        listed = run_command(
            {simpang::testing::simpang_binary().string(), "dlq", "list", config_path()}, 30s);
        return listed.status == 0 && listed.output.find("bad-1") != std::string::npos;
      },
      30s);
  ASSERT_TRUE(dead_lettered) << listed.output << "\n" << log();
  EXPECT_NE(listed.output.find("HTTP 400 from " + shown + ": unknown course ml-999 for bad-1"),
            std::string::npos)
      << listed.output;
  std::cout << "[ dlq list ] " << listed.output;

  const auto accepted_once = [&](const std::string& id) {
    const auto arrivals = by_id(receiver.arrivals());
    const auto it = arrivals.find(id);
    if (it == arrivals.end()) return false;
    return std::count_if(it->second.begin(), it->second.end(),
                         [](const Arrival& a) { return a.answered == 200; }) >= 1;
  };
  ASSERT_TRUE(wait_for([&] { return accepted_once("ok-1") && accepted_once("flaky-1"); }, 30s))
      << log();

  // Stopped first, so nothing more can arrive while we count.
  hub_->signal(SIGTERM);
  const auto status = hub_->wait(30s);
  ASSERT_TRUE(status.has_value()) << "hub did not stop\n" << log();
  EXPECT_EQ(*status, 0) << log();

  const auto arrivals = by_id(receiver.arrivals());
  for (const auto& [id, list] : arrivals) {
    for (const Arrival& a : list) {
      EXPECT_TRUE(a.signature.ok()) << id << ": " << a.signature.message();
    }
  }
  ASSERT_EQ(arrivals.at("flaky-1").size(), 2u) << "a 503, then the retry";
  EXPECT_EQ(arrivals.at("flaky-1")[0].answered, 503);
  EXPECT_EQ(arrivals.at("flaky-1")[1].answered, 200);
  EXPECT_EQ(arrivals.at("ok-1").size(), 1u);
  EXPECT_EQ(arrivals.at("bad-1").size(), 1u) << "a rejection is not retried";
  StatusOr<simpang::v1::Event> body =
      simpang::sdk::from_cloudevents_json(arrivals.at("ok-1")[0].request.body);
  ASSERT_TRUE(body.ok()) << body.status().message();
  EXPECT_EQ(body->subject(), "learner-7");

  const std::string hub_log = log();
  EXPECT_EQ(hub_log.find("MfKQ9r8GKYqr"), std::string::npos) << "the secret is in the log";
  EXPECT_NE(hub_log.find("delivering to " + shown), std::string::npos) << hub_log;
}

TEST_F(SinkWebhookHub, TheHubNeverHasMoreThanMaxInFlightRequestsOut) {
  constexpr size_t kWindow = 3;
  constexpr size_t kEvents = 10;
  WebhookReceiver receiver({kSecret});
  receiver.script([](const Arrival&, size_t) { return Reply::held(); });
  std::vector<std::string> ids;
  for (size_t i = 0; i < kEvents; ++i) {
    ids.push_back("held-" + std::to_string(i));
  }
  start(receiver, ids, static_cast<int>(kWindow));
  ASSERT_TRUE(receiver.wait_for_held(kWindow, 30s)) << log();
  // The hub has seven more to send, and sends none until one of these is settled.
  EXPECT_FALSE(wait_for([&] { return receiver.held() > kWindow; }, 1s))
      << receiver.held() << " requests out at once with max_in_flight " << kWindow;
  size_t accepted = 0;
  while (accepted < kEvents) {
    ASSERT_TRUE(wait_for([&] { return receiver.held() > 0; }, 30s)) << log();
    accepted += receiver.held();
    receiver.release_all(200);
  }
  EXPECT_EQ(accepted, kEvents);
  EXPECT_EQ(receiver.max_concurrent(), kWindow);
  hub_->signal(SIGTERM);
  const auto status = hub_->wait(30s);
  ASSERT_TRUE(status.has_value()) << log();
  EXPECT_EQ(*status, 0) << log();
  const auto arrivals = by_id(receiver.arrivals());
  EXPECT_EQ(arrivals.size(), kEvents);
}

}  // namespace
}  // namespace simpang::plugins::sink_webhook
