// source-http in a real hub (`simpang run`), on real loopback, with curl as the partner: each
// CloudEvents mode arrives at sink-jsonl with its attributes and data intact; every bad request
// gets its status and a problem document naming the problem, and nothing of it arrives;
// Standard Webhooks signatures; the same event twice is answered twice and delivered once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "ingest_hub.h"
#include "simpang/http/auth.h"
#include "simpang/sdk/cloudevents.h"

namespace simpang::plugins::source_http {
namespace {

using namespace std::chrono_literals;
using simpang::source_http_test::IngestHub;
using simpang::source_http_test::HttpAnswer;
using simpang::v1::Event;

std::vector<std::string> acme_binary(const std::string& id, const std::string& type =
                                                                 "talent.person.created") {
  return {"-H", "ce-specversion: 1.0", "-H", "ce-id: " + id, "-H",
          "ce-source: /partners/acme/hr", "-H", "ce-type: " + type};
}

std::string structured(const std::string& id, const std::string& source = "/partners/acme/lms",
                       const std::string& type = "talent.course.completed") {
  return R"({"specversion":"1.0","id":")" + id + R"(","source":")" + source + R"(","type":")" +
         type + R"(","datacontenttype":"application/json","data":{"course":"ml-101"}})";
}

const Event* find(const std::vector<Event>& events, const std::string& id) {
  for (const Event& e : events) {
    if (e.id() == id) return &e;
  }
  return nullptr;
}

TEST(SourceHttpHub, EachModeArrivesWithItsAttributesAndDataIntact) {
  IngestHub hub;
  std::vector<std::string> binary = acme_binary("bin-1");
  binary.insert(binary.end(), {"-H", "ce-subject: Siti%20Nur%C3%A9", "-H", "ce-tenant: acme",
                               "-H", "ce-time: 2026-11-30T08:15:00Z", "-H",
                               "Content-Type: application/json"});
  HttpAnswer a = hub.post(binary, R"({"name":"Siti"})");
  EXPECT_EQ(a.status, 202) << a.raw;
  EXPECT_EQ(a.body, R"({"accepted":1})");

  std::vector<std::string> bytes = acme_binary("bin-2");
  bytes.insert(bytes.end(), {"-H", "Content-Type: application/octet-stream"});
  const std::string payload("\x00\xff\x10" "ab\x80", 6);
  EXPECT_EQ(hub.post(bytes, payload).status, 202);

  a = hub.post({"-H", "Authorization: Bearer " + hub.token(), "-H",
                "Content-Type: application/cloudevents+json; charset=utf-8"},
               structured("str-1"), /*bearer=*/false);
  EXPECT_EQ(a.status, 202) << a.raw;

  a = hub.post({"-H", "Content-Type: application/cloudevents-batch+json"},
               "[" + structured("bat-1") + "," + structured("bat-2") + "]");
  EXPECT_EQ(a.status, 202) << a.raw;
  EXPECT_EQ(a.body, R"({"accepted":2})");

  const std::vector<Event> out = hub.wait_for_output(5);
  const Event* b1 = find(out, "bin-1");
  ASSERT_NE(b1, nullptr);
  EXPECT_EQ(b1->source(), "/partners/acme/hr");
  EXPECT_EQ(b1->type(), "talent.person.created");
  EXPECT_EQ(b1->subject(), "Siti Nur\xC3\xA9");
  EXPECT_EQ(b1->time().seconds(), 1796026500);
  EXPECT_EQ(b1->data_content_type(), "application/json");
  EXPECT_EQ(b1->text_data(), R"({"name":"Siti"})");
  EXPECT_EQ(b1->extensions().at("tenant").ce_string(), "acme");
  const Event* b2 = find(out, "bin-2");
  ASSERT_NE(b2, nullptr);
  EXPECT_EQ(b2->binary_data(), payload);
  const Event* s1 = find(out, "str-1");
  ASSERT_NE(s1, nullptr);
  EXPECT_EQ(s1->source(), "/partners/acme/lms");
  EXPECT_EQ(nlohmann::json::parse(s1->text_data()), nlohmann::json::parse(R"({"course":"ml-101"})"));
  ASSERT_NE(find(out, "bat-1"), nullptr);
  ASSERT_NE(find(out, "bat-2"), nullptr);
}

TEST(SourceHttpHub, BadRequestsGetTheirStatusAndAProblemAndNothingArrives) {
  IngestHub hub;
  const std::string problem = "application/problem+json";
  struct Case {
    std::string name;
    std::vector<std::string> args;
    std::string body;
    bool bearer;
    int status;
    std::string phrase;
  };
  std::vector<std::string> bad_time = acme_binary("bad-time");
  bad_time.insert(bad_time.end(), {"-H", "ce-time: yesterday"});
  std::vector<std::string> wrong_type = acme_binary("bad-type", "payroll.salary.paid");
  const std::vector<Case> cases = {
      {"missing auth", acme_binary("no-auth"), "{}", false, 401, "no Authorization header"},
      {"wrong token",
       {"-H", "Authorization: Bearer wrong-token", "-H", "ce-specversion: 1.0"},
       "{}",
       false,
       401,
       "invalid bearer token"},
      {"type not allowed", wrong_type, "{}", true, 403,
       "may not publish type 'payroll.salary.paid'"},
      {"source not allowed",
       {"-H", "Content-Type: application/cloudevents+json"},
       structured("bad-source", "/partners/globex/lms"),
       true,
       403,
       "may not publish source '/partners/globex/lms'"},
      {"bad attribute", bad_time, "{}", true, 400, "attribute 'time'"},
      {"bad JSON",
       {"-H", "Content-Type: application/cloudevents+json"},
       R"({"specversion":"1.0",)",
       true,
       400,
       "malformed-json"},
      {"wrong content type", {"-H", "Content-Type: text/plain"}, "hello", true, 415,
       "application/cloudevents-batch+json"},
      {"batch with one bad event",
       {"-H", "Content-Type: application/cloudevents-batch+json"},
       "[" + structured("batch-good-0") + "," +
           R"({"specversion":"1.0","id":"batch-bad-1","type":"talent.x"})" + "," +
           structured("batch-good-2") + "]",
       true,
       400,
       "\"index\":1"},
      {"batch over max_batch_events",
       {"-H", "Content-Type: application/cloudevents-batch+json"},
       "[" + structured("big-0") + "," + structured("big-1") + "," + structured("big-2") + "," +
           structured("big-3") + "]",
       true,
       413,
       "max_batch_events (3)"},
      {"body over max_body_bytes", acme_binary("too-large"), std::string(5000, 'x'), true, 413,
       "max_body_bytes"},
      {"wrong method", {"-X", "GET"}, "", true, 405, "events are sent with POST"},
  };
  for (const Case& c : cases) {
    const HttpAnswer a = hub.post(c.args, c.body, c.bearer);
    EXPECT_EQ(a.status, c.status) << c.name << "\n" << a.raw;
    EXPECT_NE(a.raw.find(c.phrase), std::string::npos) << c.name << "\n" << a.raw;
    if (c.status != 413 || c.name.find("batch") != std::string::npos) {
      EXPECT_NE(a.raw.find(problem), std::string::npos) << c.name << "\n" << a.raw;
    }
    if (c.status == 401 && c.name == "missing auth") {
      EXPECT_NE(a.raw.find("WWW-Authenticate: Bearer"), std::string::npos) << a.raw;
    }
    if (c.status == 405) {
      EXPECT_NE(a.raw.find("Allow: POST"), std::string::npos) << a.raw;
    }
  }
  // A good event after them all: once it has arrived, anything of the bad requests would have.
  ASSERT_EQ(hub.post(acme_binary("marker"), "{}").status, 202);
  const std::vector<Event> out = hub.wait_for_output(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id(), "marker");
  EXPECT_EQ(hub.log().find("wrong-token"), std::string::npos);
  EXPECT_EQ(hub.log().find(hub.token()), std::string::npos);
}

TEST(SourceHttpHub, StandardWebhooksSignaturesAreVerified) {
  IngestHub hub;
  const auto secret = simpang::http::WebhookSecret::parse(hub.webhook_secret());
  ASSERT_TRUE(secret.ok());
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto signed_post = [&](const std::string& id, int64_t timestamp, const std::string& body,
                               const std::string& signature) {
    return hub.post({"-H", "Content-Type: application/cloudevents+json", "-H", "webhook-id: " + id,
                     "-H", "webhook-timestamp: " + std::to_string(timestamp), "-H",
                     "webhook-signature: " + signature},
                    body, /*bearer=*/false);
  };
  const std::string good = structured("wh-1", "/partners/globex/lms");
  HttpAnswer a = signed_post("msg-1", now, good, secret->sign("msg-1", now, good));
  EXPECT_EQ(a.status, 202) << a.raw;

  const std::string other = structured("wh-2", "/partners/globex/lms");
  a = signed_post("msg-2", now, other, secret->sign("msg-2", now, good));  // signs another body
  EXPECT_EQ(a.status, 401) << a.raw;
  EXPECT_NE(a.raw.find("does not match"), std::string::npos) << a.raw;

  const int64_t stale = now - 3600;
  a = signed_post("msg-3", stale, other, secret->sign("msg-3", stale, other));
  EXPECT_EQ(a.status, 401) << a.raw;
  EXPECT_NE(a.raw.find("too old"), std::string::npos) << a.raw;

  // Signed by globex, whose types stop at talent.course.*: its permissions apply.
  const std::string person = structured("wh-3", "/partners/globex/hr", "talent.person.created");
  a = signed_post("msg-4", now, person, secret->sign("msg-4", now, person));
  EXPECT_EQ(a.status, 403) << a.raw;
  EXPECT_NE(a.raw.find("client 'globex'"), std::string::npos) << a.raw;

  const std::vector<Event> out = hub.wait_for_output(1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].id(), "wh-1");
}

TEST(SourceHttpHub, AClientOverItsQuotaGets429WithRetryAfterAndOthersAreNotSlowed) {
  IngestHub hub;
  const std::vector<std::string> initech = {
      "-H", "Content-Type: application/cloudevents+json", "-H",
      std::string("Authorization: Bearer ") + IngestHub::kQuotaToken};
  const auto quota_event = [](int n) {
    return structured("quota-" + std::to_string(n), "/partners/initech/lms");
  };
  // The burst is one second's quota (2); the third at once is over it.
  EXPECT_EQ(hub.post(initech, quota_event(1), /*bearer=*/false).status, 202);
  EXPECT_EQ(hub.post(initech, quota_event(2), /*bearer=*/false).status, 202);
  HttpAnswer over = hub.post(initech, quota_event(3), /*bearer=*/false);
  EXPECT_EQ(over.status, 429) << over.raw;
  EXPECT_NE(over.raw.find("Retry-After: 1"), std::string::npos) << over.raw;
  EXPECT_NE(over.raw.find("over its quota of 2 events per second"), std::string::npos) << over.raw;
  EXPECT_NE(over.raw.find("application/problem+json"), std::string::npos) << over.raw;
  // acme has no quota: not slowed by initech's.
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(hub.post({"-H", "Content-Type: application/cloudevents+json"},
                       structured("acme-" + std::to_string(i)))
                  .status,
              202);
  }
  // After the Retry-After, the refused event goes through.
  int status = 0;
  EXPECT_TRUE(simpang::testing::wait_for(
      [&] {
        status = hub.post(initech, quota_event(3), /*bearer=*/false).status;
        return status == 202;
      },
      5s))
      << status;
  const std::map<std::string, int> ids = [&] {
    hub.wait_for_output(8);
    return simpang::testing::event_ids(hub.output_path());
  }();
  EXPECT_EQ(ids.size(), 8u);
  EXPECT_EQ(ids.count("quota-3"), 1u);
}

TEST(SourceHttpHub, TheSameEventTwiceIsAnsweredTwiceAndDeliveredOnce) {
  IngestHub hub;
  const std::string event = structured("twice");
  const std::vector<std::string> args = {"-H", "Content-Type: application/cloudevents+json"};
  EXPECT_EQ(hub.post(args, event).status, 202);
  EXPECT_EQ(hub.post(args, event).status, 202);
  // The second answer came after the hub journaled (and dropped) the copy; a later event arriving
  // means the copy would have been delivered before it.
  EXPECT_EQ(hub.post(args, structured("after")).status, 202);
  hub.wait_for_output(2);
  const std::map<std::string, int> ids = simpang::testing::event_ids(hub.output_path());
  EXPECT_EQ(ids.at("twice"), 1);
  EXPECT_EQ(ids.at("after"), 1);
  EXPECT_EQ(ids.size(), 2u);
}

}  // namespace
}  // namespace simpang::plugins::source_http
