// The SDK's PartnerPublisher (simpang/sdk/partner.h) against a real `simpang run` with its partner
// door on 127.0.0.1: keys made by `simpang keys new`, the door's port chosen by the system and read
// from the state directory. What the publisher says is durable arrives at the sink the partner's
// route names; what the partner may not publish comes back rejected with the hub's reason; a
// wrong hub key never connects and the group times out naming what to check; options that are not
// keys are refused naming the option, never quoting a secret.
#include <gtest/gtest.h>
#include <signal.h>

#include <string>
#include <vector>

#include "simpang/sdk/partner.h"
#include "test_support.h"

namespace simpang::testing {
namespace {

using namespace std::chrono_literals;
using simpang::sdk::PartnerOptions;
using simpang::sdk::PartnerPublisher;
using simpang::sdk::PublishResult;

simpang::v1::Event event(const std::string& id, const std::string& type = "talent.person.registered",
                         const std::string& source = "/partners/acme/hr") {
  simpang::v1::Event e;
  e.set_spec_version("1.0");
  e.set_id(id);
  e.set_source(source);
  e.set_type(type);
  e.set_data_content_type("application/json");
  e.set_text_data(R"({"person":"p-1"})");
  return e;
}

class PartnerPublisherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_ / "keys");
    for (const char* name : {"hub", "acme", "stranger"}) {
      const CommandResult made = run_command(
          {simpang_binary().string(), "keys", "new", name, "--dir", (dir_ / "keys").string()},
          30s);
      ASSERT_EQ(made.status, 0) << made.output;
    }
    write_file(dir_ / "hub.yaml",
               "hub:\n  state_dir: " + (dir_ / "state").string() +
                   "\n  summary_interval: 0s\n"
                   "partner_door:\n"
                   "  listen: tcp://127.0.0.1:0\n"
                   "  secret_key: ${file:keys/hub.key}\n"
                   "partners:\n"
                   "  - name: acme\n"
                   "    curve_public_key: ${file:keys/acme.pub}\n"
                   "    publish: {types: [\"talent.person.*\"], source_prefix: /partners/acme/}\n"
                   "plugins:\n"
                   "  - name: ledger\n    plugin: test-sink\n    config: {path: " +
                   (dir_ / "ledger.jsonl").string() +
                   "}\n"
                   "routes:\n  - name: from-acme\n    from: [acme]\n    to: [ledger]\n");
    hub_ = std::make_unique<Process>(
        std::vector<std::string>{simpang_binary().string(), "run", (dir_ / "hub.yaml").string()},
        dir_ / "hub.log");
    const auto endpoint_file = dir_ / "state" / "partner-door.endpoint";
    ASSERT_TRUE(wait_for([&] { return count_lines(endpoint_file) == 1 || !hub_->running(); }, 30s) &&
                hub_->running())
        << read_file(dir_ / "hub.log");
    endpoint_ = read_lines(endpoint_file).at(0);
  }

  PartnerOptions options(const std::string& secret = "acme") const {
    PartnerOptions o;
    o.endpoint = endpoint_;
    o.server_public_key = read_file(dir_ / "keys" / "hub.pub");
    o.secret_key = read_file(dir_ / "keys" / (secret + ".key"));
    o.program = "partner-publisher-test";
    o.log = [](simpang::sdk::LogLevel, std::string_view) {};
    return o;
  }

  TempDir dir_{"partner-pub"};
  std::unique_ptr<Process> hub_;
  std::string endpoint_;
};

TEST_F(PartnerPublisherTest, WhatIsDurableArrivesAndWhatIsNotAllowedIsRejectedWithTheReason) {
  auto publisher = PartnerPublisher::connect(options());
  ASSERT_TRUE(publisher.ok()) << publisher.status().message();
  const PublishResult first =
      (*publisher)->publish_and_wait({event("acme-1"), event("acme-2")}, 20s);
  ASSERT_EQ(first.kind(), PublishResult::Kind::kDurable) << first.message();

  const PublishResult refused = (*publisher)->publish_and_wait(
      {event("acme-3"), event("acme-4", "payroll.salary.paid")}, 20s);
  ASSERT_EQ(refused.kind(), PublishResult::Kind::kRejected);
  ASSERT_EQ(refused.rejections().size(), 1u);
  EXPECT_EQ(refused.rejections()[0].index, 1u);
  EXPECT_NE(refused.rejections()[0].reason.find("payroll.salary.paid"), std::string::npos)
      << refused.rejections()[0].reason;

  // Many groups from several threads at once, each answered durable.
  std::vector<std::thread> threads;
  std::atomic<int> durable{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        const std::string id = "acme-t" + std::to_string(t) + "-" + std::to_string(i);
        if ((*publisher)->publish_and_wait({event(id)}, 20s).kind() ==
            PublishResult::Kind::kDurable) {
          ++durable;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(durable.load(), 200);
  EXPECT_TRUE((*publisher)->stop(10s).ok());

  const auto ledger = dir_ / "ledger.jsonl";
  ASSERT_TRUE(wait_for([&] { return event_ids(ledger).size() >= 203; }, 30s))
      << read_file(dir_ / "hub.log");
  const auto ids = event_ids(ledger);
  EXPECT_EQ(ids.size(), 203u);  // acme-1..3 and the 200; never the refused acme-4
  EXPECT_EQ(ids.count("acme-4"), 0u);
  EXPECT_EQ(ids.count("acme-3"), 1u);
  hub_->signal(SIGTERM);
  EXPECT_EQ(hub_->wait(30s), 0) << read_file(dir_ / "hub.log");
}

TEST_F(PartnerPublisherTest, AnUnknownKeyOrAWrongHubKeyNeverConnectsAndTheGroupTimesOut) {
  for (const std::string which : {"unknown partner key", "wrong hub key"}) {
    PartnerOptions o = options(which == "unknown partner key" ? "stranger" : "acme");
    if (which == "wrong hub key") {
      o.server_public_key = read_file(dir_ / "keys" / "stranger.pub");
    }
    auto publisher = PartnerPublisher::connect(o);
    ASSERT_TRUE(publisher.ok()) << publisher.status().message();
    const PublishResult r = (*publisher)->publish_and_wait({event("never-" + which)}, 1500ms);
    EXPECT_EQ(r.kind(), PublishResult::Kind::kTimedOut) << which;
    EXPECT_NE(r.message().find("check the endpoint and the hub's public key"), std::string::npos)
        << which << ": " << r.message();
    (void)(*publisher)->stop(1s);
  }
  EXPECT_EQ(event_ids(dir_ / "ledger.jsonl").size(), 0u);
}

TEST_F(PartnerPublisherTest, OptionsThatAreNotKeysAreRefusedNamingTheOption) {
  PartnerOptions o = options();
  o.secret_key = "not-a-key-but-a-secret";
  auto bad_secret = PartnerPublisher::connect(o);
  ASSERT_FALSE(bad_secret.ok());
  EXPECT_NE(bad_secret.status().message().find("secret_key: not a CURVE key"), std::string::npos)
      << bad_secret.status().message();
  EXPECT_EQ(bad_secret.status().message().find("not-a-key-but-a-secret"), std::string::npos);

  o = options();
  o.endpoint = "ipc:///tmp/x";
  auto bad_endpoint = PartnerPublisher::connect(o);
  ASSERT_FALSE(bad_endpoint.ok());
  EXPECT_NE(bad_endpoint.status().message().find("endpoint: the partner door is a tcp://"),
            std::string::npos);

  o = options();
  o.server_public_key = "short";
  auto bad_server = PartnerPublisher::connect(o);
  ASSERT_FALSE(bad_server.ok());
  EXPECT_NE(bad_server.status().message().find("server_public_key"), std::string::npos);
}

}  // namespace
}  // namespace simpang::testing
