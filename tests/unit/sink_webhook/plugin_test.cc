// The WebhookSink class in the SDK's PluginHarness, sending over real loopback HTTP to a receiver
// built on the SDK's server that verifies every signature: each answer settles as documented, a
// Retry-After pauses sending, a timeout is retried, max_in_flight bounds what the receiver sees at
// once, and the openssl command agrees with the signature it received.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/testing.h"
#include "sink_webhook.h"
#include "test_support.h"
#include "webhook_receiver.h"

namespace simpang::plugins::sink_webhook {
namespace {

using namespace std::chrono_literals;
using simpang::sdk::Outcome;
using simpang::sdk::testing::PluginHarness;
using simpang::v1::Event;
using testing::Arrival;
using testing::Reply;
using testing::WebhookReceiver;

constexpr char kSecret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kSecretBase64[] = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

using Harness = PluginHarness<WebhookSink>;

nlohmann::json config(const WebhookReceiver& receiver, nlohmann::json extra = {}) {
  nlohmann::json c = {{"url", receiver.url("/hook?token=q-s3cret")},
                      {"secret", kSecret},
                      {"headers", {{"X-Tenant", "acme"}}},
                      {"timeout", "5s"}};
  for (const auto& [key, value] : extra.items()) {
    if (value.is_null()) {
      c.erase(key);
    } else {
      c[key] = value;
    }
  }
  return c;
}

Event event(const std::string& id) {
  Event e;
  e.set_spec_version("1.0");
  e.set_id(id);
  e.set_source("/simpang/test");
  e.set_type("talent.course.completed");
  e.set_subject("Siti Nur\xC3\xA9");
  e.set_data_content_type("application/json");
  e.set_text_data(R"({"course":"ml-101"})");
  return e;
}

bool settled(Harness& h, size_t index) {
  return h.deliveries().size() > index && h.deliveries()[index].settlement.has_value();
}

const Outcome& settlement(Harness& h, size_t index) { return *h.deliveries().at(index).settlement; }

// Runs posted work and moves the virtual clock along with real time until `done` holds.
bool pump_until(Harness& h, const std::function<bool()>& done,
                std::chrono::milliseconds timeout = 15s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    h.advance(20ms);
    if (h.run_posted_until(done, 20ms)) {
      return true;
    }
  }
  return done();
}

std::string shown_url(const WebhookReceiver& receiver) { return receiver.url("/hook"); }

TEST(SinkWebhookPlugin, A200AcksAndTheRequestIsASignedStructuredCloudEvent) {
  WebhookReceiver receiver({kSecret});
  Harness h(config(receiver));
  EXPECT_EQ(h.context().delivery_window(), 16u);
  h.start();
  EXPECT_TRUE(h.logged("delivering to " + shown_url(receiver) + " mode=structured signed=yes"));
  const Event e = event("evt-1");
  EXPECT_EQ(h.deliver(e).kind(), Outcome::Kind::kPending);
  ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
  EXPECT_EQ(settlement(h, 0).kind(), Outcome::Kind::kAck) << settlement(h, 0).reason();

  ASSERT_EQ(receiver.count(), 1u);
  const Arrival a = receiver.arrivals()[0];
  EXPECT_TRUE(a.signature.ok()) << a.signature.message();
  EXPECT_EQ(a.request.target, "/hook?token=q-s3cret");
  EXPECT_EQ(a.header("Content-Type"), "application/cloudevents+json");
  EXPECT_EQ(a.header("webhook-id"), "evt-1");
  EXPECT_EQ(a.header("X-Tenant"), "acme");
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  EXPECT_LE(std::abs(std::stoll(a.header("webhook-timestamp")) - now), 5);
  StatusOr<Event> body = simpang::sdk::from_cloudevents_json(a.request.body);
  ASSERT_TRUE(body.ok()) << a.request.body;
  EXPECT_EQ(body->id(), "evt-1");
  EXPECT_EQ(body->subject(), e.subject());
  EXPECT_EQ(body->text_data(), e.text_data());

  EXPECT_EQ(h.counters().at("sent"), 1);
  EXPECT_EQ(h.counters().at("acked"), 1);
  for (const auto& line : h.logs()) {
    EXPECT_EQ(line.message.find("q-s3cret"), std::string::npos) << line.message;
    EXPECT_EQ(line.message.find(kSecretBase64), std::string::npos) << line.message;
  }
  h.stop();
}

TEST(SinkWebhookPlugin, BinaryModeSendsCeHeadersAndTheDataAsTheBody) {
  WebhookReceiver receiver({kSecret});
  Harness h(config(receiver, {{"mode", "binary"}}));
  h.start();
  Event e = event("evt bin");
  (*e.mutable_extensions())["tenant"].set_ce_string("acme north");
  EXPECT_EQ(h.deliver(e).kind(), Outcome::Kind::kPending);
  ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
  EXPECT_EQ(settlement(h, 0).kind(), Outcome::Kind::kAck) << settlement(h, 0).reason();
  const Arrival a = receiver.arrivals().at(0);
  EXPECT_TRUE(a.signature.ok()) << a.signature.message();
  EXPECT_EQ(a.header("ce-id"), "evt%20bin");
  EXPECT_EQ(a.header("ce-specversion"), "1.0");
  EXPECT_EQ(a.header("ce-subject"), "Siti%20Nur%C3%A9");
  EXPECT_EQ(a.header("ce-tenant"), "acme%20north");
  EXPECT_EQ(a.header("Content-Type"), "application/json");
  EXPECT_EQ(a.header("webhook-id"), "evt bin");
  EXPECT_EQ(a.request.body, e.text_data());
  h.stop();
}

TEST(SinkWebhookPlugin, AnEventNoRequestCanCarryIsRejectedAtOnceAndNothingIsSent) {
  WebhookReceiver receiver({kSecret});
  Harness h(config(receiver, {{"mode", "binary"}}));
  h.start();
  Event e = event("evt-crlf");
  e.set_data_content_type("application/json\r\nX-Injected: 1");
  const Outcome o = h.deliver(e);
  EXPECT_EQ(o.kind(), Outcome::Kind::kReject);
  EXPECT_NE(o.reason().find("datacontenttype"), std::string::npos) << o.reason();
  EXPECT_TRUE(h.logged("event cannot be sent, rejected: event evt-crlf"));
  EXPECT_EQ(h.counters().at("rejected"), 1);
  EXPECT_EQ(h.counters().count("sent"), 0u);
  EXPECT_EQ(receiver.count(), 0u);
  h.stop();
}

TEST(SinkWebhookPlugin, A500IsRetriedLater) {
  WebhookReceiver receiver({kSecret});
  receiver.script([](const Arrival&, size_t) { return Reply::respond(500, "oops"); });
  Harness h(config(receiver));
  h.start();
  (void)h.deliver(event("evt-500"));
  ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
  EXPECT_EQ(settlement(h, 0).kind(), Outcome::Kind::kRetryLater);
  EXPECT_EQ(settlement(h, 0).reason(), "HTTP 500 from " + shown_url(receiver) + ": oops");
  EXPECT_EQ(h.counters().at("retried"), 1);
  EXPECT_FALSE(h.plugin().paused());
  h.stop();
}

TEST(SinkWebhookPlugin, A400IsRejectedWithTheStatusAndTheStartOfTheBody) {
  WebhookReceiver receiver({kSecret});
  receiver.script([](const Arrival&, size_t) {
    return Reply::respond(400, "unknown course ml-101\n" + std::string(300, 'z'));
  });
  Harness h(config(receiver));
  h.start();
  (void)h.deliver(event("evt-400"));
  ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
  const Outcome& o = settlement(h, 0);
  EXPECT_EQ(o.kind(), Outcome::Kind::kReject);
  EXPECT_EQ(
      o.reason().rfind("HTTP 400 from " + shown_url(receiver) + ": unknown course ml-101\\x0a", 0),
      0u)
      << o.reason();
  EXPECT_EQ(o.reason().find("q-s3cret"), std::string::npos) << o.reason();
  EXPECT_LT(o.reason().size(), 300u) << o.reason();
  EXPECT_EQ(h.counters().at("rejected"), 1);
  EXPECT_TRUE(h.logged("delivery rejected by the receiver, dead-lettered: event=evt-400"));
  h.stop();
}

TEST(SinkWebhookPlugin, A429WithRetryAfterPausesSendingUntilItEnds) {
  WebhookReceiver receiver({kSecret});
  receiver.script([](const Arrival&, size_t index) {
    return index == 0 ? Reply::respond(429, "slow down", {{"Retry-After", "2"}})
                      : Reply::respond(200);
  });
  Harness h(config(receiver));
  h.start();
  (void)h.deliver(event("evt-a"));
  ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
  EXPECT_EQ(settlement(h, 0).kind(), Outcome::Kind::kRetryLater);
  EXPECT_NE(settlement(h, 0).reason().find("HTTP 429"), std::string::npos);
  EXPECT_TRUE(h.plugin().paused());
  EXPECT_EQ(h.counters().at("paused"), 1);

  // Two more arrive during the pause: they wait, unsettled, and nothing is sent.
  EXPECT_EQ(h.deliver(event("evt-b")).kind(), Outcome::Kind::kPending);
  EXPECT_EQ(h.deliver(event("evt-c")).kind(), Outcome::Kind::kPending);
  EXPECT_EQ(h.gauges().at("waiting"), 2);
  ASSERT_TRUE(pump_until(h, [&] { return settled(h, 1) && settled(h, 2); }));
  EXPECT_EQ(settlement(h, 1).kind(), Outcome::Kind::kAck);
  EXPECT_EQ(settlement(h, 2).kind(), Outcome::Kind::kAck);
  EXPECT_FALSE(h.plugin().paused());

  const std::vector<Arrival> arrivals = receiver.arrivals();
  ASSERT_EQ(arrivals.size(), 3u);
  for (size_t i = 1; i < 3; ++i) {
    const auto after_429 = arrivals[i].at - arrivals[0].at;
    EXPECT_GE(after_429, 1950ms) << "event " << i << " was sent during the pause";
    EXPECT_LE(after_429, 4500ms) << "event " << i << " waited long after the pause ended";
  }
  // One warning for the pause, with its context.
  size_t pause_lines = 0;
  for (const auto& line : h.logs()) {
    if (line.message.find("pausing deliveries") != std::string::npos) {
      ++pause_lines;
      EXPECT_NE(line.message.find("status=429 retry_after_s=2"), std::string::npos) << line.message;
      EXPECT_NE(line.message.find("url=" + shown_url(receiver)), std::string::npos) << line.message;
    }
  }
  EXPECT_EQ(pause_lines, 1u);
  EXPECT_TRUE(h.logged("resuming deliveries"));
  h.stop();
}

TEST(SinkWebhookPlugin, ATimeoutIsRetriedLater) {
  WebhookReceiver receiver({kSecret});
  receiver.script([](const Arrival&, size_t) { return Reply::held(); });
  Harness h(config(receiver, {{"timeout", "300ms"}}));
  h.start();
  const auto sent = std::chrono::steady_clock::now();
  (void)h.deliver(event("evt-slow"));
  ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
  EXPECT_GE(std::chrono::steady_clock::now() - sent, 290ms);
  EXPECT_EQ(settlement(h, 0).kind(), Outcome::Kind::kRetryLater);
  EXPECT_NE(settlement(h, 0).reason().find("timed out"), std::string::npos)
      << settlement(h, 0).reason();
  EXPECT_EQ(receiver.count(), 1u);
  h.stop();
}

TEST(SinkWebhookPlugin, MaxInFlightBoundsWhatTheReceiverHoldsAtOnce) {
  constexpr size_t kWindow = 3;
  constexpr size_t kEvents = 12;
  WebhookReceiver receiver({kSecret});
  receiver.script([](const Arrival&, size_t) { return Reply::held(); });
  Harness h(config(receiver, {{"max_in_flight", kWindow}}));
  EXPECT_EQ(h.context().delivery_window(), kWindow);
  h.start();
  size_t delivered = 0;
  size_t acked = 0;
  while (acked < kEvents) {
    // As many as the hub's credit allows: the window.
    while (h.pending_count() < kWindow && delivered < kEvents) {
      ASSERT_EQ(h.deliver(event("evt-" + std::to_string(delivered++))).kind(),
                Outcome::Kind::kPending);
    }
    ASSERT_TRUE(receiver.wait_for_held(h.pending_count()));
    receiver.release_all(200);
    ASSERT_TRUE(h.run_posted_until([&] { return h.pending_count() == 0; }));
    acked = 0;
    for (const auto& d : h.deliveries()) {
      acked += d.settlement && d.settlement->kind() == Outcome::Kind::kAck ? 1 : 0;
    }
  }
  EXPECT_EQ(receiver.count(), kEvents);
  // The window's requests ran at once (not one after another), and never more.
  EXPECT_EQ(receiver.max_concurrent(), kWindow);
  h.stop();
}

TEST(SinkWebhookPlugin, WithoutASecretRequestsAreUnsignedAndAWarningSaysSo) {
  WebhookReceiver receiver({kSecret});
  Harness h(config(receiver, {{"secret", nullptr}}));
  h.start();
  EXPECT_TRUE(h.logged("no secret configured"));
  (void)h.deliver(event("evt-unsigned"));
  ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
  const Arrival a = receiver.arrivals().at(0);
  EXPECT_EQ(a.header("webhook-id"), "evt-unsigned");
  EXPECT_EQ(a.request.header("webhook-signature"), nullptr);
  EXPECT_FALSE(a.signature.ok());
  h.stop();
}

TEST(SinkWebhookPlugin, AtStopRequestsInFlightAreLeftForTheHubToDeliverAgain) {
  WebhookReceiver receiver({kSecret});
  receiver.script([](const Arrival&, size_t) { return Reply::held(); });
  Harness h(config(receiver));
  h.start();
  (void)h.deliver(event("evt-stop"));
  ASSERT_TRUE(receiver.wait_for_held(1));
  h.stop();
  h.run_posted_until([] { return false; }, 300ms);  // the cancellation's completion runs
  EXPECT_EQ(h.pending_count(), 1u) << "a cancelled request was settled";
  EXPECT_TRUE(h.logged("in_flight=1 waiting=0 left unsettled"));
}

// A self-signed certificate for 127.0.0.1, made by the openssl command.
struct SelfSigned {
  simpang::testing::TempDir dir{"swtls"};
  std::string cert = (dir / "cert.pem").string();
  std::string key = (dir / "key.pem").string();
  simpang::testing::CommandResult made = simpang::testing::run_command(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out",
       cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"},
      60s);
};

TEST(SinkWebhookPlugin, HttpsIsVerifiedAgainstCaFileAndRefusedWithoutIt) {
  SelfSigned tls;
  ASSERT_EQ(tls.made.status, 0) << tls.made.output;
  WebhookReceiver receiver({kSecret}, tls.cert, tls.key);
  ASSERT_EQ(receiver.url("/hook").rfind("https://", 0), 0u);
  {
    Harness h(config(receiver, {{"ca_file", tls.cert}}));
    h.start();
    (void)h.deliver(event("evt-tls"));
    ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
    EXPECT_EQ(settlement(h, 0).kind(), Outcome::Kind::kAck) << settlement(h, 0).reason();
    ASSERT_EQ(receiver.count(), 1u);
    EXPECT_TRUE(receiver.arrivals()[0].signature.ok());
    h.stop();
  }
  {
    // The system's trust store does not know this certificate: no request reaches the receiver.
    Harness h(config(receiver));
    h.start();
    (void)h.deliver(event("evt-untrusted"));
    ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
    EXPECT_EQ(settlement(h, 0).kind(), Outcome::Kind::kRetryLater);
    EXPECT_NE(settlement(h, 0).reason().find("no answer (TLS failed)"), std::string::npos)
        << settlement(h, 0).reason();
    EXPECT_EQ(receiver.count(), 1u);
    h.stop();
  }
}

std::string hex(const std::string& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(kHex[u >> 4]);
    out.push_back(kHex[u & 0xF]);
  }
  return out;
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

TEST(SinkWebhookPlugin, TheOpensslCommandAgreesWithTheSignature) {
  simpang::testing::TempDir dir("swh");
  WebhookReceiver receiver({kSecret});
  Harness h(config(receiver, {{"mode", "binary"}}));
  h.start();
  (void)h.deliver(event("evt-openssl"));
  ASSERT_TRUE(h.run_posted_until([&] { return settled(h, 0); }));
  const Arrival a = receiver.arrivals().at(0);
  // What the receiver got, saved as a receiving service would log it.
  std::string headers;
  for (const auto& [name, value] : a.request.headers) headers += name + ": " + value + "\n";
  simpang::testing::write_file(dir / "headers.txt", headers);
  simpang::testing::write_file(dir / "body.bin", a.request.body);
  simpang::testing::write_file(dir / "signed.txt",
                               a.header("webhook-id") + "." + a.header("webhook-timestamp") + "." +
                                   simpang::testing::read_file(dir / "body.bin"));
  simpang::testing::write_file(dir / "secret.b64", std::string(kSecretBase64) + "\n");
  const auto openssl = [](const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"/usr/bin/openssl"};
    argv.insert(argv.end(), args.begin(), args.end());
    return simpang::testing::run_command(argv, 30s);
  };
  auto decoded = openssl({"base64", "-d", "-A", "-in", (dir / "secret.b64").string(), "-out",
                          (dir / "key.bin").string()});
  ASSERT_EQ(decoded.status, 0) << decoded.output;
  const std::string key = simpang::testing::read_file(dir / "key.bin");
  ASSERT_EQ(key.size(), 24u);
  auto mac = openssl({"dgst", "-sha256", "-mac", "HMAC", "-macopt", "hexkey:" + hex(key), "-binary",
                      "-out", (dir / "mac.bin").string(), (dir / "signed.txt").string()});
  ASSERT_EQ(mac.status, 0) << mac.output;
  auto b64 = openssl({"base64", "-A", "-in", (dir / "mac.bin").string()});
  ASSERT_EQ(b64.status, 0) << b64.output;
  EXPECT_EQ("v1," + trimmed(b64.output), a.header("webhook-signature"))
      << simpang::testing::read_file(dir / "headers.txt");
  h.stop();
}

}  // namespace
}  // namespace simpang::plugins::sink_webhook
