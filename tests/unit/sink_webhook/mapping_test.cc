// sink-webhook's request encoding against source-http's decoder (the other direction of the
// CloudEvents HTTP binding): awkward events in binary mode come back as the same event, less what
// a header cannot say (an extension's type); structured mode round-trips; header values are
// percent-encoded as the binding says; signatures verify with the SDK's verifier; and each answer
// gets the verdict the README promises.
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <variant>

#include "cloudevents_http.h"  // source-http's decoder
#include "simpang/base/safe_text.h"
#include "simpang/http/auth.h"
#include "simpang/sdk/cloudevents.h"
#include "webhook_request.h"

namespace simpang::plugins::sink_webhook {
namespace {

using google::protobuf::util::MessageDifferencer;
using simpang::sdk::Outcome;
using simpang::v1::Event;

constexpr char kSecretA[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr char kSecretB[] = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=";

Event base_event(const std::string& id) {
  Event e;
  e.set_spec_version("1.0");
  e.set_id(id);
  e.set_source("/partners/acme/hr");
  e.set_type("talent.person.created");
  return e;
}

// Decodes a binary-mode request with source-http's mapping; fails the test on a problem.
Event decode_binary(const EncodedEvent& encoded) {
  source_http::MappingResult mapped =
      source_http::map_request(encoded.headers, encoded.body, source_http::MappingLimits{});
  if (const auto* problem = std::get_if<source_http::Problem>(&mapped)) {
    ADD_FAILURE() << "source-http refused it: " << problem->detail;
    return Event();
  }
  const auto& request = std::get<source_http::MappedRequest>(mapped);
  EXPECT_EQ(request.mode, source_http::ContentMode::kBinary);
  EXPECT_EQ(request.events.size(), 1u);
  return request.events.empty() ? Event() : request.events[0];
}

// What binary mode can carry of `event`: its CloudEvents JSON round trip (the canonical strings of
// Binary, URI and Timestamp extensions), with Boolean and Integer extensions as their strings too.
Event carried_by_headers(const Event& event) {
  StatusOr<Event> back =
      simpang::sdk::from_cloudevents_json(simpang::sdk::to_cloudevents_json(event));
  EXPECT_TRUE(back.ok()) << back.status().message();
  Event expected = *back;
  for (auto& [name, value] : *expected.mutable_extensions()) {
    if (value.has_ce_boolean()) {
      value.set_ce_string(value.ce_boolean() ? "true" : "false");
    } else if (value.has_ce_integer()) {
      value.set_ce_string(std::to_string(value.ce_integer()));
    }
  }
  return expected;
}

std::string differences(const Event& a, const Event& b) {
  std::string report;
  MessageDifferencer differ;
  differ.ReportDifferencesToString(&report);
  return differ.Compare(a, b) ? "" : report;
}

TEST(SinkWebhookEncoding, PercentEncodesWhatTheBindingSays) {
  EXPECT_EQ(percent_encode_header_value("plain-Value_1.~!#$&'()*+,/:;<=>?@[]^`{|}"),
            "plain-Value_1.~!#$&'()*+,/:;<=>?@[]^`{|}");
  EXPECT_EQ(percent_encode_header_value("a b"), "a%20b");
  EXPECT_EQ(percent_encode_header_value("say \"hi\""), "say%20%22hi%22");
  EXPECT_EQ(percent_encode_header_value("100%"), "100%25");
  EXPECT_EQ(percent_encode_header_value("Nur\xC3\xA9"), "Nur%C3%A9");          // é
  EXPECT_EQ(percent_encode_header_value("\xE6\x9D\xB1"), "%E6%9D%B1");         // 東
  EXPECT_EQ(percent_encode_header_value("\xF0\x9F\x8E\x93"), "%F0%9F%8E%93");  // 🎓
  EXPECT_EQ(percent_encode_header_value("tab\there\x7F"), "tab%09here%7F");
  EXPECT_EQ(percent_encode_header_value(""), "");
}

TEST(SinkWebhookEncoding, BinaryModeRoundTripsThroughSourceHttpsDecoder) {
  Event e = base_event("bin-1 with spaces");
  e.set_subject("Siti Nur\xC3\xA9 \xE6\x9D\xB1\xE4\xBA\xAC \"quoted\" 100% \xF0\x9F\x8E\x93");
  e.mutable_time()->set_seconds(1796026500);
  e.mutable_time()->set_nanos(123456789);
  e.set_data_schema("https://schemas.example.com/person?v=2&x=%41");
  e.set_data_content_type("application/json; charset=utf-8");
  e.set_text_data(R"({"n":1,"name":"Siti Nuré"})");
  auto& ext = *e.mutable_extensions();
  ext["tenant"].set_ce_string("acme corp/\"north\"");
  ext["flag"].set_ce_boolean(true);
  ext["attempt"].set_ce_integer(-42);
  ext["blob"].set_ce_bytes(std::string("\x00\x01\xfe\xff", 4));
  ext["home"].set_ce_uri("https://acme.example/é");
  ext["seen"].mutable_ce_timestamp()->set_seconds(1700000000);

  StatusOr<EncodedEvent> encoded = encode_binary(e);
  ASSERT_TRUE(encoded.ok()) << encoded.status().message();
  for (const auto& [name, value] : encoded->headers) {
    for (char c : value) {
      ASSERT_TRUE(static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7F)
          << name << " is not printable ASCII: " << simpang::safe_text(value);
    }
  }
  EXPECT_EQ(encoded->body, e.text_data());
  const Event back = decode_binary(*encoded);
  EXPECT_EQ(back.subject(), e.subject());
  EXPECT_EQ(back.time().seconds(), 1796026500);
  EXPECT_EQ(back.time().nanos(), 123456789);
  EXPECT_EQ(back.text_data(), e.text_data());
  EXPECT_EQ(back.extensions().at("flag").ce_string(), "true");
  EXPECT_EQ(back.extensions().at("attempt").ce_string(), "-42");
  EXPECT_EQ(differences(back, carried_by_headers(e)), "");
}

TEST(SinkWebhookEncoding, BinaryDataAndNoDataRoundTrip) {
  Event bytes = base_event("bin-2");
  bytes.set_data_content_type("application/octet-stream");
  bytes.set_binary_data(
      std::string("\x00\xff\x10"
                  "ab\x80\r\n",
                  8));
  StatusOr<EncodedEvent> encoded = encode_binary(bytes);
  ASSERT_TRUE(encoded.ok()) << encoded.status().message();
  EXPECT_EQ(encoded->body, bytes.binary_data());
  EXPECT_EQ(differences(decode_binary(*encoded), carried_by_headers(bytes)), "");

  // Bytes under a textual type that are not UTF-8 stay bytes.
  Event latin = base_event("bin-3");
  latin.set_data_content_type("text/plain");
  latin.set_binary_data("caf\xE9");
  encoded = encode_binary(latin);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(differences(decode_binary(*encoded), carried_by_headers(latin)), "");

  Event bare = base_event("bin-4");  // no data, no datacontenttype: no Content-Type, empty body
  encoded = encode_binary(bare);
  ASSERT_TRUE(encoded.ok());
  EXPECT_TRUE(encoded->body.empty());
  EXPECT_EQ(source_http::find_header(encoded->headers, "content-type"), nullptr);
  EXPECT_EQ(differences(decode_binary(*encoded), carried_by_headers(bare)), "");
}

TEST(SinkWebhookEncoding, ProtoDataTravelsAsItsBytesWithItsTypeAsDataschema) {
  Event e = base_event("bin-5");
  e.mutable_proto_data()->set_type_url("type.googleapis.com/simpang.talent.v1.Person");
  e.mutable_proto_data()->set_value(std::string("\x0a\x04Siti", 6));
  StatusOr<EncodedEvent> encoded = encode_binary(e);
  ASSERT_TRUE(encoded.ok());
  const Event back = decode_binary(*encoded);
  EXPECT_EQ(back.binary_data(), e.proto_data().value());
  EXPECT_EQ(back.data_schema(), e.proto_data().type_url());
  EXPECT_EQ(differences(back, carried_by_headers(e)), "");
}

TEST(SinkWebhookEncoding, BinaryModeHeaders) {
  Event e = base_event("e-1");
  e.set_data_content_type("application/json");
  e.set_text_data("{}");
  e.mutable_extensions()->operator[]("tenant").set_ce_string("acme");
  StatusOr<EncodedEvent> encoded = encode_binary(e);
  ASSERT_TRUE(encoded.ok());
  const source_http::HeaderFields expected = {{"ce-specversion", "1.0"},
                                              {"ce-id", "e-1"},
                                              {"ce-source", "/partners/acme/hr"},
                                              {"ce-type", "talent.person.created"},
                                              {"ce-tenant", "acme"},
                                              {"Content-Type", "application/json"}};
  EXPECT_EQ(encoded->headers, expected);
}

TEST(SinkWebhookEncoding, RefusesWhatAHeaderCannotCarry) {
  Event e = base_event("e-2");
  e.set_data_content_type("text/plain\r\nX-Injected: 1");
  StatusOr<EncodedEvent> encoded = encode_binary(e);
  ASSERT_FALSE(encoded.ok());
  EXPECT_NE(encoded.status().message().find("datacontenttype"), std::string::npos);

  Event bad_name = base_event("e-3");
  (*bad_name.mutable_extensions())["Bad Name"].set_ce_string("x");
  encoded = encode_binary(bad_name);
  ASSERT_FALSE(encoded.ok());
  EXPECT_NE(encoded.status().message().find("Bad Name"), std::string::npos);

  EXPECT_FALSE(is_header_value("id\nX: 1"));
  EXPECT_TRUE(is_header_value("id with\ttab"));
}

TEST(SinkWebhookEncoding, StructuredModeIsTheCloudEventsJsonDocument) {
  Event e = base_event("str-1");
  e.set_subject("Nur\xC3\xA9");
  e.set_data_content_type("application/json");
  e.set_text_data(R"({"course":"ml-101"})");
  (*e.mutable_extensions())["flag"].set_ce_boolean(false);
  const EncodedEvent encoded = encode_structured(e);
  ASSERT_EQ(encoded.headers.size(), 1u);
  EXPECT_EQ(encoded.headers[0].first, "Content-Type");
  EXPECT_EQ(encoded.headers[0].second, "application/cloudevents+json");
  StatusOr<Event> back = simpang::sdk::from_cloudevents_json(encoded.body);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(differences(*back, e), "");
  // And source-http reads it as a structured request.
  source_http::MappingResult mapped =
      source_http::map_request(encoded.headers, encoded.body, source_http::MappingLimits{});
  ASSERT_TRUE(std::holds_alternative<source_http::MappedRequest>(mapped));
  EXPECT_EQ(differences(std::get<source_http::MappedRequest>(mapped).events.at(0), e), "");
}

std::optional<std::string_view> find(const HeaderFields& headers, std::string_view name) {
  const std::string* value = source_http::find_header(headers, name);
  return value != nullptr ? std::optional<std::string_view>(*value) : std::nullopt;
}

TEST(SinkWebhookSigning, SignaturesVerifyWithTheSdksVerifierForEverySecret) {
  auto a = simpang::http::WebhookSecret::parse(kSecretA);
  auto b = simpang::http::WebhookSecret::parse(kSecretB);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string body = R"({"specversion":"1.0","id":"msg_1"})";
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  HeaderFields headers;
  add_signature_headers(headers, "msg_1", now, body, {*a, *b});
  EXPECT_EQ(find(headers, "webhook-id"), "msg_1");
  EXPECT_EQ(find(headers, "webhook-timestamp"), std::to_string(now));
  const auto signature = find(headers, "webhook-signature");
  ASSERT_TRUE(signature);
  EXPECT_EQ(std::count(signature->begin(), signature->end(), ' '), 1) << *signature;

  const simpang::http::WebhookHeaders received{.id = find(headers, "webhook-id"),
                                               .timestamp = find(headers, "webhook-timestamp"),
                                               .signature = signature};
  for (const char* secret : {kSecretA, kSecretB}) {
    auto verifier = simpang::http::WebhookVerifier::create({secret});
    ASSERT_TRUE(verifier.ok());
    const Status verified = verifier->verify(received, body);
    EXPECT_TRUE(verified.ok()) << verified.message();
  }
  auto other = simpang::http::WebhookVerifier::create({"whsec_b3RoZXIta2V5LW5vdC11c2Vk"});
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->verify(received, body).ok());
  auto verifier = simpang::http::WebhookVerifier::create({kSecretA});
  EXPECT_FALSE(verifier->verify(received, body + " ").ok()) << "a changed body verified";

  HeaderFields unsigned_headers;
  add_signature_headers(unsigned_headers, "msg_2", now, body, {});
  EXPECT_EQ(find(unsigned_headers, "webhook-id"), "msg_2");
  EXPECT_FALSE(find(unsigned_headers, "webhook-signature"));
}

simpang::http::ClientResult answer(int status, std::string body = "", HeaderFields headers = {}) {
  simpang::http::ClientResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

constexpr char kShown[] = "https://hooks.example.com/in";
const auto kCap = std::chrono::milliseconds(std::chrono::seconds(60));

Verdict verdict_of(const simpang::http::ClientResult& result) {
  return judge(result, kShown, kCap, std::chrono::system_clock::now());
}

TEST(SinkWebhookVerdict, EachAnswerSettlesAsDocumented) {
  for (int status : {200, 201, 202, 204, 299}) {
    EXPECT_EQ(verdict_of(answer(status)).outcome.kind(), Outcome::Kind::kAck) << status;
  }
  for (int status : {408, 429, 500, 502, 503, 504, 599}) {
    const Verdict v = verdict_of(answer(status, "busy"));
    EXPECT_EQ(v.outcome.kind(), Outcome::Kind::kRetryLater) << status;
    EXPECT_EQ(v.outcome.reason(), "HTTP " + std::to_string(status) + " from " + kShown + ": busy");
    EXPECT_FALSE(v.pause) << status;
  }
  for (int status : {100, 301, 302, 304, 400, 401, 403, 404, 409, 410, 413, 422}) {
    const Verdict v = verdict_of(answer(status, "nope"));
    EXPECT_EQ(v.outcome.kind(), Outcome::Kind::kReject) << status;
    EXPECT_EQ(v.outcome.reason(), "HTTP " + std::to_string(status) + " from " + kShown + ": nope");
  }
}

TEST(SinkWebhookVerdict, ARejectionQuotesTheFirst200BytesAsValidUtf8) {
  const std::string body = std::string(190, 'x') + "\xC3\xA9\xFF\x01" + std::string(100, 'y');
  const Verdict v = verdict_of(answer(422, body));
  ASSERT_EQ(v.outcome.kind(), Outcome::Kind::kReject);
  const std::string& reason = v.outcome.reason();
  EXPECT_TRUE(simpang::is_valid_utf8(reason)) << reason;
  EXPECT_NE(reason.find(std::string(190, 'x') + "\xC3\xA9"), std::string::npos) << reason;
  EXPECT_EQ(reason.find("yyyyyyyyy"), std::string::npos) << "more than 200 bytes: " << reason;
  EXPECT_NE(reason.find("\\xff\\x01"), std::string::npos) << reason;
}

TEST(SinkWebhookVerdict, RetryAfterOn429And503PausesCappedAtMaxRetryAfter) {
  EXPECT_EQ(verdict_of(answer(429, "", {{"Retry-After", "2"}})).pause, std::chrono::seconds(2));
  EXPECT_EQ(verdict_of(answer(503, "", {{"retry-after", "7"}})).pause, std::chrono::seconds(7));
  EXPECT_EQ(verdict_of(answer(503, "", {{"Retry-After", "86400"}})).pause,
            std::chrono::seconds(60));
  const auto now = std::chrono::system_clock::now();
  const Verdict dated =
      judge(answer(429, "", {{"Retry-After", "Sun, 06 Nov 1994 08:49:37 GMT"}}), kShown, kCap, now);
  EXPECT_FALSE(dated.pause) << "a date in the past asks for no wait";
  EXPECT_FALSE(verdict_of(answer(429, "", {{"Retry-After", "0"}})).pause);
  EXPECT_FALSE(verdict_of(answer(429, "", {{"Retry-After", "soon"}})).pause);
  EXPECT_FALSE(verdict_of(answer(500, "", {{"Retry-After", "5"}})).pause) << "only 429 and 503";
  EXPECT_EQ(verdict_of(answer(429, "", {{"Retry-After", "5"}})).status, 429);
}

TEST(SinkWebhookVerdict, NoAnswerIsRetriedNamingTheCause) {
  const Verdict v = verdict_of(simpang::http::ClientError{
      simpang::http::ClientErrorKind::kTimeout, "POST https://hooks.example.com/in: timed out"});
  EXPECT_EQ(v.outcome.kind(), Outcome::Kind::kRetryLater);
  EXPECT_EQ(v.outcome.reason(),
            "no answer (timed out): POST https://hooks.example.com/in: timed out");
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(verdict_of(simpang::http::ClientError{simpang::http::ClientErrorKind::kTls, "x"})
                .outcome.kind(),
            Outcome::Kind::kRetryLater);
}

}  // namespace
}  // namespace simpang::plugins::sink_webhook
