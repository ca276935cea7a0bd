// The CloudEvents HTTP binding's mapping (plugins/source-http/cloudevents_http.h): each content
// mode, header value decoding, extensions, data as text or bytes, every rule broken, and a batch
// that is all or nothing.
#include "cloudevents_http.h"

#include <gtest/gtest.h>

#include <string>

#include "simpang/sdk/cloudevents.h"

namespace simpang::plugins::source_http {
namespace {

using simpang::v1::Event;

HeaderFields binary_headers(HeaderFields extra = {}) {
  HeaderFields h = {{"ce-specversion", "1.0"},
                    {"ce-id", "e-1"},
                    {"ce-source", "/partners/acme/hr"},
                    {"ce-type", "talent.person.created"}};
  h.insert(h.end(), extra.begin(), extra.end());
  return h;
}

// Copies, so that a test may pass a temporary result.
Event only_event(const MappingResult& r) {
  const auto* mapped = std::get_if<MappedRequest>(&r);
  if (mapped == nullptr) {
    ADD_FAILURE() << "refused: " << std::get<Problem>(r).detail;
    return Event();
  }
  EXPECT_EQ(mapped->events.size(), 1u);
  return mapped->events.front();
}

Problem problem_of(const MappingResult& r) {
  const auto* problem = std::get_if<Problem>(&r);
  if (problem == nullptr) {
    ADD_FAILURE() << "accepted, expected a refusal";
    return Problem();
  }
  return *problem;
}

MappingResult request(HeaderFields headers, std::string_view body, size_t max_batch = 100) {
  return map_request(headers, body, MappingLimits{.max_batch_events = max_batch});
}

// ---- Binary mode

TEST(BinaryMode, MapsHeadersToAttributesAndTheBodyToTextData) {
  const MappingResult r = request(
      binary_headers({{"Content-Type", "application/json; charset=utf-8"},
                      {"ce-subject", "person/42"},
                      {"ce-time", "2026-11-30T08:00:00.5Z"},
                      {"ce-dataschema", "https://example.com/person.json"},
                      {"CE-Tenant", "acme"},
                      {"ce-attempt", "3"}}),
      R"({"name":"Siti"})");
  const Event& e = only_event(r);
  EXPECT_EQ(std::get<MappedRequest>(r).mode, ContentMode::kBinary);
  EXPECT_EQ(e.spec_version(), "1.0");
  EXPECT_EQ(e.id(), "e-1");
  EXPECT_EQ(e.source(), "/partners/acme/hr");
  EXPECT_EQ(e.type(), "talent.person.created");
  EXPECT_EQ(e.subject(), "person/42");
  EXPECT_EQ(e.time().seconds(), 1796025600);
  EXPECT_EQ(e.time().nanos(), 500000000);
  EXPECT_EQ(e.data_schema(), "https://example.com/person.json");
  EXPECT_EQ(e.data_content_type(), "application/json; charset=utf-8");
  ASSERT_EQ(e.data_case(), Event::kTextData);
  EXPECT_EQ(e.text_data(), R"({"name":"Siti"})");
  // Extensions from headers are strings, whatever they look like; header names are lower-cased.
  ASSERT_EQ(e.extensions().count("tenant"), 1u);
  EXPECT_EQ(e.extensions().at("tenant").ce_string(), "acme");
  ASSERT_EQ(e.extensions().count("attempt"), 1u);
  EXPECT_EQ(e.extensions().at("attempt").attr_case(), simpang::v1::AttributeValue::kCeString);
  EXPECT_EQ(e.extensions().at("attempt").ce_string(), "3");
}

TEST(BinaryMode, TextualMediaTypesGiveTextDataOthersAndBadUtf8GiveBinaryData) {
  for (const char* textual : {"application/json", "application/vnd.acme+json", "text/plain",
                              "text/csv; charset=UTF-8", "application/xml", "image/svg+xml"}) {
    const Event& e = only_event(request(binary_headers({{"Content-Type", textual}}), "abc"));
    EXPECT_EQ(e.data_case(), Event::kTextData) << textual;
  }
  for (const char* opaque : {"application/octet-stream", "image/png", "application/protobuf",
                             "text/plain; charset=iso-8859-1"}) {
    const Event& e = only_event(request(binary_headers({{"Content-Type", opaque}}), "abc"));
    EXPECT_EQ(e.data_case(), Event::kBinaryData) << opaque;
    EXPECT_EQ(e.binary_data(), "abc");
  }
  const std::string not_utf8 = "caf\xE9";
  const Event& e = only_event(request(binary_headers({{"Content-Type", "text/plain"}}), not_utf8));
  ASSERT_EQ(e.data_case(), Event::kBinaryData);
  EXPECT_EQ(e.binary_data(), not_utf8);
  // No Content-Type: bytes, and no datacontenttype.
  const Event& bare = only_event(request(binary_headers(), "xyz"));
  EXPECT_EQ(bare.data_case(), Event::kBinaryData);
  EXPECT_TRUE(bare.data_content_type().empty());
}

TEST(BinaryMode, AnEmptyBodyIsNoData) {
  const Event& e = only_event(request(binary_headers({{"Content-Type", "application/json"}}), ""));
  EXPECT_EQ(e.data_case(), Event::DATA_NOT_SET);
}

TEST(BinaryMode, HeaderValuesArePercentDecodedAndUnquoted) {
  const Event& e = only_event(request(
      binary_headers({{"ce-subject", "Euro%20%E2%82%AC%20%F0%9F%98%80"},
                      {"ce-note", "\"quoted \\\"value\\\" %41\""},
                      {"ce-lower", "%c3%a9"}}),
      ""));
  EXPECT_EQ(e.subject(), "Euro \xE2\x82\xAC \xF0\x9F\x98\x80");
  EXPECT_EQ(e.extensions().at("note").ce_string(), "quoted \"value\" A");
  EXPECT_EQ(e.extensions().at("lower").ce_string(), "\xC3\xA9");
}

TEST(HeaderValue, DecodingRefusesWhatTheBindingRefuses) {
  EXPECT_EQ(*decode_header_value("plain"), "plain");
  EXPECT_EQ(*decode_header_value("%41%42"), "AB");  // needlessly encoded: accepted
  const auto refused = [](std::string_view raw, std::string_view phrase) {
    const StatusOr<std::string> r = decode_header_value(raw);
    ASSERT_FALSE(r.ok()) << raw;
    EXPECT_NE(r.status().message().find(phrase), std::string::npos) << r.status().message();
  };
  refused("100%", "not followed by two hexadecimal digits");
  refused("%4", "not followed by two hexadecimal digits");
  refused("%zz", "not followed by two hexadecimal digits");
  refused("%C0%A0", "not UTF-8");       // overlong U+0020, the binding's own example
  refused("%ED%A0%80", "not UTF-8");    // a surrogate
  refused("%F4%90%80%80", "not UTF-8");  // beyond U+10FFFF
  refused("%E2%82", "not UTF-8");       // truncated
  refused("a%00b", "control character (U+0000");
  refused("%C2%85", "control character (U+0085");
  refused("\"open", "not closed");
}

TEST(BinaryMode, EveryRuleBrokenNamesTheAttribute) {
  struct Case {
    HeaderFields headers;
    std::string attribute;
    std::string phrase;
  };
  const std::vector<Case> cases = {
      {{{"ce-id", "1"}, {"ce-source", "/s"}, {"ce-type", "t"}}, "specversion", "missing"},
      {{{"ce-specversion", "0.3"}, {"ce-id", "1"}, {"ce-source", "/s"}, {"ce-type", "t"}},
       "specversion",
       "unsupported version"},
      {{{"ce-specversion", "1.0"}, {"ce-source", "/s"}, {"ce-type", "t"}}, "id", "missing"},
      {{{"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-type", "t"}}, "source", "missing"},
      {{{"ce-specversion", "1.0"}, {"ce-id", "1"}, {"ce-source", "/s"}}, "type", "missing"},
      {binary_headers({{"ce-time", "yesterday"}}), "time", "RFC 3339"},
      {binary_headers({{"ce-subject", ""}}), "subject", "empty"},
      {binary_headers({{"ce-datacontenttype", "text/plain"}}), "datacontenttype", "Content-Type"},
      {binary_headers({{"ce-data", "x"}}), "data", "body"},
      {binary_headers({{"ce-id", "again"}}), "id", "more than once"},
      {binary_headers({{"ce-subject", "50%"}}), "subject", "hexadecimal"},
  };
  for (const Case& c : cases) {
    const Problem& p = problem_of(request(c.headers, ""));
    EXPECT_EQ(p.status, 400) << p.detail;
    EXPECT_EQ(p.attribute, c.attribute) << p.detail;
    EXPECT_NE(p.detail.find(c.phrase), std::string::npos) << p.detail;
    EXPECT_NE(p.detail.find("binary mode"), std::string::npos) << p.detail;
  }
  const Problem& bad_name = problem_of(request(binary_headers({{"ce-Bad_Name", "x"}}), ""));
  EXPECT_EQ(bad_name.status, 400);
  EXPECT_EQ(bad_name.type, "invalid-header");
  EXPECT_NE(bad_name.detail.find("ce-Bad_Name"), std::string::npos) << bad_name.detail;
}

// ---- Mode selection and Content-Type

TEST(ContentType, ChoosesTheModeAndRefusesWhatItCannotRead) {
  const std::string structured =
      R"({"specversion":"1.0","id":"s-1","source":"/partners/acme","type":"talent.x"})";
  EXPECT_EQ(std::get<MappedRequest>(request({{"Content-Type", "Application/CloudEvents+JSON; "
                                                              "charset=UTF-8"}},
                                            structured))
                .mode,
            ContentMode::kStructured);
  EXPECT_EQ(std::get<MappedRequest>(
                request({{"content-type", "application/cloudevents-batch+json"}},
                        "[" + structured + "]"))
                .mode,
            ContentMode::kBatch);
  for (const char* unsupported :
       {"application/cloudevents+avro", "application/cloudevents-batch+protobuf"}) {
    const Problem& p = problem_of(request({{"Content-Type", unsupported}}, structured));
    EXPECT_EQ(p.status, 415) << unsupported;
    EXPECT_NE(p.detail.find("does not read"), std::string::npos) << p.detail;
  }
  const Problem& latin1 = problem_of(
      request({{"Content-Type", "application/cloudevents+json; charset=iso-8859-1"}}, structured));
  EXPECT_EQ(latin1.status, 415);
  EXPECT_NE(latin1.detail.find("UTF-8"), std::string::npos);
  // Neither a CloudEvents media type nor any ce- header: not a CloudEvent at all.
  const Problem& plain = problem_of(request({{"Content-Type", "application/json"}}, "{}"));
  EXPECT_EQ(plain.status, 415);
  EXPECT_NE(plain.detail.find("application/cloudevents+json"), std::string::npos);
  EXPECT_NE(plain.detail.find("application/cloudevents-batch+json"), std::string::npos);
  EXPECT_NE(plain.detail.find("ce-"), std::string::npos);
  EXPECT_EQ(problem_of(request({}, "")).status, 415);
}

// ---- Structured mode

TEST(StructuredMode, ReadsTheEventWithDataAndExtensionsOfEveryJsonType) {
  const std::string body = R"({"specversion":"1.0","id":"s-1","source":"/partners/acme",
      "type":"talent.course.completed","datacontenttype":"application/json",
      "tenant":"acme","attempt":3,"final":true,"data":{"score":97.5,"big":12345678901234567890}})";
  const Event& e =
      only_event(request({{"Content-Type", "application/cloudevents+json"}}, body));
  EXPECT_EQ(e.id(), "s-1");
  EXPECT_EQ(e.extensions().at("tenant").ce_string(), "acme");
  EXPECT_EQ(e.extensions().at("attempt").ce_integer(), 3);
  EXPECT_TRUE(e.extensions().at("final").ce_boolean());
  // The data's exact text is kept (numbers as written).
  EXPECT_EQ(e.text_data(), R"({"score":97.5,"big":12345678901234567890})");
}

TEST(StructuredMode, RefusalsNameTheAttributeOrTheJsonError) {
  const auto structured = [](std::string body) {
    return request({{"Content-Type", "application/cloudevents+json"}}, body);
  };
  const Problem& bad_json = problem_of(structured(R"({"specversion":"1.0",)"));
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(bad_json.type, "malformed-json");
  EXPECT_TRUE(bad_json.attribute.empty());
  const Problem& no_type =
      problem_of(structured(R"({"specversion":"1.0","id":"1","source":"/s"})"));
  EXPECT_EQ(no_type.attribute, "type");
  EXPECT_EQ(no_type.type, "invalid-attribute");
  const Problem& bad_time = problem_of(
      structured(R"({"specversion":"1.0","id":"1","source":"/s","type":"t","time":"noon"})"));
  EXPECT_EQ(bad_time.attribute, "time");
  EXPECT_NE(bad_time.detail.find("structured mode"), std::string::npos);
  const Problem& array = problem_of(structured("[]"));
  EXPECT_EQ(array.type, "not-an-event");
}

// ---- Batched mode

std::string structured_event(const std::string& id, const std::string& extra = "") {
  return R"({"specversion":"1.0","id":")" + id +
         R"(","source":"/partners/acme","type":"talent.x")" + extra + "}";
}

TEST(BatchMode, ReadsEveryEventInOrder) {
  const std::string body = " [ " + structured_event("b-0") + " ,\n" +
                           structured_event("b-1", R"(,"data":[1,{"a":"]"}])") + "," +
                           structured_event("b-2", R"(,"data":"x\"]")") + " ] ";
  const MappingResult r = map_batch(body, {.max_batch_events = 10});
  const auto& mapped = std::get<MappedRequest>(r);
  ASSERT_EQ(mapped.events.size(), 3u);
  EXPECT_EQ(mapped.events[0].id(), "b-0");
  EXPECT_EQ(mapped.events[1].text_data(), R"([1,{"a":"]"}])");
  EXPECT_EQ(mapped.events[2].text_data(), "x\"]");
}

TEST(BatchMode, OneBadEventRefusesTheWholeBatchNamingItsIndex) {
  const std::string body = "[" + structured_event("b-0") + "," + structured_event("b-1") + "," +
                           R"({"specversion":"1.0","id":"b-2","type":"talent.x"})" + "]";
  const Problem& p = problem_of(map_batch(body, {.max_batch_events = 10}));
  EXPECT_EQ(p.status, 400);
  ASSERT_TRUE(p.index.has_value());
  EXPECT_EQ(*p.index, 2u);
  EXPECT_EQ(p.attribute, "source");
  EXPECT_NE(p.detail.find("event 2"), std::string::npos) << p.detail;
  const Problem& not_object = problem_of(map_batch("[" + structured_event("a") + ",7]", {}));
  EXPECT_EQ(*not_object.index, 1u);
}

TEST(BatchMode, RefusesWhatIsNotABatchAndTooManyEvents) {
  EXPECT_EQ(problem_of(map_batch(structured_event("x"), {})).type, "not-a-batch");
  EXPECT_EQ(problem_of(map_batch("[", {})).type, "malformed-json");
  const std::string three =
      "[" + structured_event("a") + "," + structured_event("b") + "," + structured_event("c") + "]";
  const Problem& big = problem_of(map_batch(three, {.max_batch_events = 2}));
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.extra.at("max_batch_events"), 2);
  EXPECT_TRUE(std::holds_alternative<MappedRequest>(map_batch(three, {.max_batch_events = 3})));
}

// The binding says "The batch MAY be empty" (§3.3.2): an empty batch is accepted, with no events.
TEST(BatchMode, AnEmptyBatchIsValidAndHoldsNoEvents) {
  const MappingResult r = map_batch(" [ ] ", {});
  ASSERT_TRUE(std::holds_alternative<MappedRequest>(r));
  EXPECT_TRUE(std::get<MappedRequest>(r).events.empty());
}

// ---- Problem documents

TEST(Problem, RendersRfc9457MembersAndOurOwn) {
  Problem p = Problem::make(400, "invalid-attribute", "Invalid CloudEvents attribute", "bad");
  p.attribute = "time";
  p.index = 3;
  p.extra["client"] = "acme";
  const auto doc = nlohmann::json::parse(problem_json(p));
  EXPECT_EQ(doc.at("type"), "urn:simpang:problem:invalid-attribute");
  EXPECT_EQ(doc.at("title"), "Invalid CloudEvents attribute");
  EXPECT_EQ(doc.at("status"), 400);
  EXPECT_EQ(doc.at("detail"), "bad");
  EXPECT_EQ(doc.at("attribute"), "time");
  EXPECT_EQ(doc.at("index"), 3);
  EXPECT_EQ(doc.at("client"), "acme");
  EXPECT_EQ(attribute_named_in("event x: missing required attribute 'source'"), "source");
  EXPECT_EQ(attribute_named_in("not valid JSON"), "");
}

}  // namespace
}  // namespace simpang::plugins::source_http
