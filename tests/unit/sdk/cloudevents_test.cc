// Tests of the CloudEvents JSON mapping (simpang/sdk/cloudevents.h): the exact text of a fixed
// event, round trips for every attribute and data kind, the rule for embedding JSON data, and one
// test per kind of parse error, each checking that the message names the attribute at fault.
#include "simpang/sdk/cloudevents.h"

#include <google/protobuf/util/message_differencer.h>
#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "simpang/talent/v1/talent.pb.h"

namespace simpang::sdk {
namespace {

using google::protobuf::util::MessageDifferencer;
using google::protobuf::util::TimeUtil;
using nlohmann::json;
using simpang::v1::AttributeValue;
using simpang::v1::Event;

google::protobuf::Timestamp ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

Event minimal() {
  Event e;
  e.set_id("evt-1");
  e.set_source("/simpang/test");
  e.set_spec_version("1.0");
  e.set_type("talent.test.happened");
  return e;
}

// Asserts that the event survives to JSON and back unchanged, and that rendering is stable.
void expect_round_trip(const Event& e) {
  const std::string text = to_cloudevents_json(e);
  SCOPED_TRACE(text);
  EXPECT_EQ(text.find('\n'), std::string::npos) << "must be one line";
  const StatusOr<Event> back = from_cloudevents_json(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(MessageDifferencer::Equals(e, *back)) << "want:\n"
                                                    << e.DebugString() << "got:\n"
                                                    << back->DebugString();
  EXPECT_EQ(to_cloudevents_json(*back), text);
}

// Parses `text`, expecting failure, and returns the message.
std::string parse_error(const std::string& text) {
  const StatusOr<Event> result = from_cloudevents_json(text);
  EXPECT_FALSE(result.ok()) << "unexpectedly parsed: " << text;
  return result.ok() ? std::string() : result.status().message();
}

AttributeValue boolean(bool v) {
  AttributeValue a;
  a.set_ce_boolean(v);
  return a;
}
AttributeValue integer(int32_t v) {
  AttributeValue a;
  a.set_ce_integer(v);
  return a;
}
AttributeValue string_value(const std::string& v) {
  AttributeValue a;
  a.set_ce_string(v);
  return a;
}

// ---- Exact rendering ----------------------------------------------------------------------------

TEST(CloudEventsJson, RendersFixedEventExactly) {
  Event e = minimal();
  e.set_subject("person-42");
  *e.mutable_time() = ts(1736150400, 250000000);  // 2025-01-06T08:00:00.25Z
  e.set_data_content_type("application/json");
  e.set_data_schema("proto:simpang.talent.v1.Person");
  (*e.mutable_extensions())["traceparent"] = string_value("00-abc-def-01");
  (*e.mutable_extensions())["attempt"] = integer(3);
  (*e.mutable_extensions())["replayed"] = boolean(false);
  e.set_text_data(R"({"personId":"person-42","segment":"SEGMENT_STUDENT"})");

  EXPECT_EQ(to_cloudevents_json(e),
            R"({"specversion":"1.0","id":"evt-1","source":"/simpang/test",)"
            R"("type":"talent.test.happened","subject":"person-42",)"
            R"("time":"2025-01-06T08:00:00.250Z","datacontenttype":"application/json",)"
            R"("dataschema":"proto:simpang.talent.v1.Person","attempt":3,"replayed":false,)"
            R"("traceparent":"00-abc-def-01",)"
            R"("data":{"personId":"person-42","segment":"SEGMENT_STUDENT"}})");
}

TEST(CloudEventsJson, FillsEmptySpecVersionAndOmitsEmptyOptionals) {
  Event e = minimal();
  e.clear_spec_version();
  EXPECT_EQ(to_cloudevents_json(e), R"({"specversion":"1.0","id":"evt-1","source":"/simpang/test",)"
                                    R"("type":"talent.test.happened"})");
}

TEST(CloudEventsJson, BinaryDataIsBase64) {
  Event e = minimal();
  e.set_binary_data(std::string("\x00\xff\x10hi", 5));
  const json j = json::parse(to_cloudevents_json(e));
  EXPECT_EQ(j.at("data_base64"), "AP8QaGk=");
  EXPECT_FALSE(j.contains("data"));
}

// ---- Round trips --------------------------------------------------------------------------------

TEST(CloudEventsRoundTrip, Minimal) { expect_round_trip(minimal()); }

TEST(CloudEventsRoundTrip, EveryOptionalAttribute) {
  Event e = minimal();
  e.set_subject("person-1");
  *e.mutable_time() = ts(1736150400);
  e.set_data_content_type("text/plain");
  e.set_data_schema("https://schemas.example.my/thing.json");
  expect_round_trip(e);
}

TEST(CloudEventsRoundTrip, EachAttributeAlone) {
  Event subject = minimal();
  subject.set_subject("s");
  expect_round_trip(subject);
  Event content_type = minimal();
  content_type.set_data_content_type("application/xml");
  expect_round_trip(content_type);
  Event schema = minimal();
  schema.set_data_schema("urn:x");
  expect_round_trip(schema);
}

TEST(CloudEventsRoundTrip, StringsNeedingEscapes) {
  Event e = minimal();
  e.set_id("quote\" backslash\\ tab\t newline\n unicode é 中 😀");
  e.set_subject(std::string("nul\0byte", 8));
  expect_round_trip(e);
}

TEST(CloudEventsRoundTrip, TimeAtEveryPrecision) {
  for (int32_t nanos : {0, 1, 500000000, 123000000, 123456000, 123456789, 999999999}) {
    for (int64_t seconds : {int64_t{0}, int64_t{1736150400}, int64_t{-62135596800},
                            int64_t{253402300799}, int64_t{951782400} /* 2000-02-29 */}) {
      Event e = minimal();
      *e.mutable_time() = ts(seconds, nanos);
      expect_round_trip(e);
    }
  }
}

TEST(CloudEventsRoundTrip, BooleanIntegerAndStringExtensions) {
  Event e = minimal();
  auto& ext = *e.mutable_extensions();
  ext["yes"] = boolean(true);
  ext["no"] = boolean(false);
  ext["zero"] = integer(0);
  ext["min"] = integer(INT32_MIN);
  ext["max"] = integer(INT32_MAX);
  ext["s"] = string_value("plain");
  ext["empty"] = string_value("");
  ext["looksnumeric"] = string_value("42");
  ext["looksbool"] = string_value("true");
  ext["a1b2c3d4e5f6g7h8i9j0k1"] = string_value("longer than 20 is allowed (SHOULD, not MUST)");
  expect_round_trip(e);
}

TEST(CloudEventsRoundTrip, JsonDataOfEveryShape) {
  for (const char* text :
       {R"({"a":1,"b":[true,null,"x"],"c":{"d":-2.5e-3}})", R"([1,2,3])", R"("just a string")",
        "42", "123456789012345678901234567890", "1.0", "1E+2", "true", "null", "{}",
        R"({"z":1,"a":2})", R"({"esc":"\u00e9\n\"","raw":"é"})", R"({ "spaced" : [ 1 , 2 ] })"}) {
    for (const char* content_type :
         {"application/json", "application/cloudevents+json", "Application/JSON; charset=utf-8"}) {
      SCOPED_TRACE(std::string(content_type) + " " + text);
      Event e = minimal();
      e.set_data_content_type(content_type);
      e.set_text_data(text);
      expect_round_trip(e);
    }
  }
}

TEST(CloudEventsRoundTrip, TextDataUnderOtherContentTypes) {
  for (const char* content_type : {"text/plain", "text/csv", "application/xml", ""}) {
    for (const char* text : {"hello", "", "a,b\n1,2\n", R"({"looks":"like json"})", "42", "null"}) {
      SCOPED_TRACE(std::string(content_type) + " " + text);
      Event e = minimal();
      e.set_data_content_type(content_type);
      e.set_text_data(text);
      expect_round_trip(e);
    }
  }
}

TEST(CloudEventsRoundTrip, BinaryData) {
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) {
    all_bytes.push_back(static_cast<char>(i));
  }
  for (const std::string& bytes :
       {std::string(), std::string("a"), std::string("ab"), std::string("abc"), all_bytes}) {
    Event e = minimal();
    e.set_data_content_type("application/octet-stream");
    e.set_binary_data(bytes);
    expect_round_trip(e);
    Event no_content_type = minimal();
    no_content_type.set_binary_data(bytes);
    expect_round_trip(no_content_type);
  }
}

TEST(CloudEventsRoundTrip, EverythingAtOnce) {
  Event e = minimal();
  e.set_subject("person-7");
  *e.mutable_time() = ts(1736150400, 123456789);
  e.set_data_content_type("application/json");
  e.set_data_schema("proto:simpang.talent.v1.Completion");
  (*e.mutable_extensions())["partition"] = integer(-7);
  (*e.mutable_extensions())["tenant"] = string_value("acme");
  e.set_text_data(R"({"personId":"person-7","score":87.5,"passed":true})");
  expect_round_trip(e);
}

TEST(CloudEventsRoundTrip, SetJsonDataPayloads) {
  simpang::talent::v1::Person person;
  person.set_person_id("p-1");
  person.set_display_name("Nur Aisyah <Binti> Ahmad & \"co\" é");
  person.set_segment(simpang::talent::v1::SEGMENT_EDUCATOR);
  *person.mutable_registered_at() = ts(1736150400, 5000);
  auto* id = person.add_ids();
  id->set_system("moodle:lms.example.edu.my");
  id->set_value("u/42");
  Event e = minimal();
  set_json_data(e, person);
  expect_round_trip(e);

  simpang::talent::v1::Completion completion;
  completion.set_score(0.1 + 0.2);  // a double with a long shortest representation
  completion.set_passed(true);
  Event c = minimal();
  set_json_data(c, completion);
  expect_round_trip(c);
}

// ---- Documented one-way mappings ----------------------------------------------------------------

TEST(CloudEventsOneWay, StringLikeExtensionsComeBackAsStrings) {
  Event e = minimal();
  auto& ext = *e.mutable_extensions();
  ext["bin"].set_ce_bytes(std::string("\x01\x02\x03", 3));
  ext["uri"].set_ce_uri("https://example.my/a?b=c");
  ext["uriref"].set_ce_uri_ref("../relative#frag");
  *ext["when"].mutable_ce_timestamp() = ts(1736150400, 1000000);

  const StatusOr<Event> back = from_cloudevents_json(to_cloudevents_json(e));
  ASSERT_TRUE(back.ok()) << back.status().message();
  const auto& got = back->extensions();
  EXPECT_EQ(got.at("bin").ce_string(), "AQID");
  EXPECT_EQ(got.at("uri").ce_string(), "https://example.my/a?b=c");
  EXPECT_EQ(got.at("uriref").ce_string(), "../relative#frag");
  EXPECT_EQ(got.at("when").ce_string(), "2025-01-06T08:00:00.001Z");
}

TEST(CloudEventsOneWay, ProtoDataBecomesDataBase64WithTypeUrlSchema) {
  simpang::talent::v1::Course course;
  course.set_course_id("c-1");
  course.set_hours(40);
  Event e = minimal();
  e.mutable_proto_data()->PackFrom(course);

  const std::string text = to_cloudevents_json(e);
  const json j = json::parse(text);
  EXPECT_EQ(j.at("dataschema"), "type.googleapis.com/simpang.talent.v1.Course");
  const StatusOr<Event> back = from_cloudevents_json(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->data_case(), Event::kBinaryData);
  simpang::talent::v1::Course parsed;
  ASSERT_TRUE(parsed.ParseFromString(back->binary_data()));
  EXPECT_TRUE(MessageDifferencer::Equals(course, parsed));

  // An explicit dataschema is kept.
  e.set_data_schema("urn:course");
  EXPECT_EQ(json::parse(to_cloudevents_json(e)).at("dataschema"), "urn:course");
}

TEST(CloudEventsOneWay, MultiLineJsonDataIsCompacted) {
  Event e = minimal();
  e.set_data_content_type("application/json");
  e.set_text_data("{\n  \"b\": 1,\n  \"a\": [1, 2]\n}\n");
  const StatusOr<Event> back = from_cloudevents_json(to_cloudevents_json(e));
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->text_data(), R"({"b":1,"a":[1,2]})");  // same value, key order kept
}

TEST(CloudEventsOneWay, JsonDataWithByteOrderMarkIsReserialised) {
  Event e = minimal();
  e.set_data_content_type("application/json");
  e.set_text_data("\xEF\xBB\xBF{\"a\":1}");
  const std::string text = to_cloudevents_json(e);
  ASSERT_TRUE(json::accept(text)) << text;
  const StatusOr<Event> back = from_cloudevents_json(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->text_data(), R"({"a":1})");
}

TEST(CloudEventsOneWay, ReservedExtensionNamesAreNotWritten) {
  Event e = minimal();
  (*e.mutable_extensions())["id"] = string_value("hijack");
  (*e.mutable_extensions())["data"] = string_value("hijack");
  const json j = json::parse(to_cloudevents_json(e));
  EXPECT_EQ(j.at("id"), "evt-1");
  EXPECT_FALSE(j.contains("data"));
}

// ---- The rule for embedding JSON data -----------------------------------------------------------

TEST(CloudEventsDataRule, JsonTextUnderJsonContentTypeIsEmbeddedAsValue) {
  for (const char* content_type :
       {"application/json", "application/vnd.simpang+json", "APPLICATION/JSON ; charset=utf-8"}) {
    Event e = minimal();
    e.set_data_content_type(content_type);
    e.set_text_data(R"({"n":1})");
    const json j = json::parse(to_cloudevents_json(e));
    ASSERT_TRUE(j.at("data").is_object()) << content_type;
    EXPECT_EQ(j.at("data").at("n"), 1);
  }
}

TEST(CloudEventsDataRule, JsonStringValueIsEmbeddedAsJsonString) {
  Event e = minimal();
  e.set_data_content_type("application/json");
  e.set_text_data(R"("hi")");
  EXPECT_EQ(json::parse(to_cloudevents_json(e)).at("data"), "hi");
}

TEST(CloudEventsDataRule, TextUnderOtherContentTypesIsAString) {
  for (const char* content_type :
       {"text/plain", "", "application/jsonx", "text/json+xml", "json"}) {
    Event e = minimal();
    e.set_data_content_type(content_type);
    e.set_text_data(R"({"n":1})");
    const json j = json::parse(to_cloudevents_json(e));
    ASSERT_TRUE(j.at("data").is_string()) << content_type;
    EXPECT_EQ(j.at("data"), R"({"n":1})");
  }
}

TEST(CloudEventsDataRule, InvalidJsonUnderJsonContentTypeIsAString) {
  Event e = minimal();
  e.set_data_content_type("application/json");
  e.set_text_data("{not json");
  const json j = json::parse(to_cloudevents_json(e));
  EXPECT_EQ(j.at("data"), "{not json");
}

TEST(CloudEventsDataRule, ReaderKeepsExactJsonText) {
  // Numbers beyond double precision and the sender's spelling survive, because the reader takes
  // the text of `data` as it was sent rather than re-serialising a parsed value.
  const StatusOr<Event> e =
      from_cloudevents_json(R"({"specversion":"1.0","id":"1","source":"s","type":"t",)"
                            R"("datacontenttype":"application/json",)"
                            R"("data" : {"big":123456789012345678901234567890,"f":1.50} })");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->text_data(), R"({"big":123456789012345678901234567890,"f":1.50})");
}

TEST(CloudEventsDataRule, ReaderWithoutContentTypeTakesStringAsTextAndValueAsJson) {
  const StatusOr<Event> s = from_cloudevents_json(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t","data":"hi"})");
  ASSERT_TRUE(s.ok()) << s.status().message();
  EXPECT_EQ(s->text_data(), "hi");
  const StatusOr<Event> o =
      from_cloudevents_json(R"({"specversion":"1.0","id":"1","source":"s","type":"t","data":[1]})");
  ASSERT_TRUE(o.ok()) << o.status().message();
  EXPECT_EQ(o->text_data(), "[1]");
}

// ---- Reading what other producers send ----------------------------------------------------------

TEST(CloudEventsRead, TimeOffsetsAndLowerCase) {
  const auto time_of = [](const std::string& time) {
    const StatusOr<Event> e = from_cloudevents_json(
        R"({"specversion":"1.0","id":"1","source":"s","type":"t","time":")" + time + R"("})");
    EXPECT_TRUE(e.ok()) << time << ": " << e.status().message();
    return e.ok() ? TimeUtil::ToString(e->time()) : std::string();
  };
  EXPECT_EQ(time_of("2025-01-06T16:00:00+08:00"), "2025-01-06T08:00:00Z");
  EXPECT_EQ(time_of("2025-01-06T03:30:00-04:30"), "2025-01-06T08:00:00Z");
  EXPECT_EQ(time_of("2025-01-06T08:00:00-00:00"), "2025-01-06T08:00:00Z");
  EXPECT_EQ(time_of("2025-01-06t08:00:00z"), "2025-01-06T08:00:00Z");
  EXPECT_EQ(time_of("2025-01-06T08:00:00.5Z"), "2025-01-06T08:00:00.500Z");
  EXPECT_EQ(time_of("2025-01-06T08:00:00.1234567891234Z"), "2025-01-06T08:00:00.123456789Z");
  EXPECT_EQ(time_of("2025-01-01T07:59:59.999+08:00"), "2024-12-31T23:59:59.999Z");
  EXPECT_EQ(time_of("2024-02-29T00:00:00Z"), "2024-02-29T00:00:00Z");
}

TEST(CloudEventsRead, UnknownAttributesBecomeExtensions) {
  const StatusOr<Event> e = from_cloudevents_json(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t","comexampleext":"v",)"
      R"("count":7,"ratio":3.0,"flag":true})");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->extensions().at("comexampleext").ce_string(), "v");
  EXPECT_EQ(e->extensions().at("count").ce_integer(), 7);
  EXPECT_EQ(e->extensions().at("ratio").ce_integer(), 3);
  EXPECT_TRUE(e->extensions().at("flag").ce_boolean());
}

TEST(CloudEventsRead, NullAttributesAreAbsent) {
  const StatusOr<Event> e = from_cloudevents_json(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t","subject":null,"time":null,)"
      R"("datacontenttype":null,"data":null,"data_base64":null,"ext":null})");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_TRUE(MessageDifferencer::Equals(
      *e, *from_cloudevents_json(R"({"specversion":"1.0","id":"1","source":"s","type":"t"})")));
}

// ---- One test per kind of error; each message names the attribute -------------------------------

TEST(CloudEventsErrors, MissingId) {
  const std::string msg = parse_error(R"({"specversion":"1.0","source":"s","type":"t"})");
  EXPECT_NE(msg.find("'id'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
}

TEST(CloudEventsErrors, MissingSourceTypeOrSpecVersion) {
  EXPECT_NE(parse_error(R"({"specversion":"1.0","id":"1","type":"t"})").find("'source'"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"specversion":"1.0","id":"1","source":"s"})").find("'type'"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"id":"1","source":"s","type":"t"})").find("'specversion'"),
            std::string::npos);
}

TEST(CloudEventsErrors, WrongAttributeTypeOrEmpty) {
  std::string msg = parse_error(R"({"specversion":"1.0","id":7,"source":"s","type":"t"})");
  EXPECT_NE(msg.find("'id': must be a string, got a number"), std::string::npos) << msg;
  msg = parse_error(R"({"specversion":"1.0","id":"1","source":"s","type":"t","subject":""})");
  EXPECT_NE(msg.find("'subject'"), std::string::npos) << msg;
}

TEST(CloudEventsErrors, WrongSpecVersion) {
  const std::string msg = parse_error(R"({"specversion":"0.3","id":"1","source":"s","type":"t"})");
  EXPECT_NE(msg.find("'specversion'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'0.3'"), std::string::npos) << msg;
}

TEST(CloudEventsErrors, BadTime) {
  for (const char* bad :
       {"2024-13-01", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z", "2025-04-31T00:00:00Z",
        "2025-01-06T24:00:00Z", "2025-01-06T08:60:00Z", "2016-12-31T23:59:60Z",
        "2025-01-06T08:00:00", "2025-01-06 08:00:00Z", "2025-01-06T08:00:00.Z",
        "2025-01-06T08:00:00+0800", "2025-01-06T08:00:00+24:00", "2025-1-6T08:00:00Z",
        "0001-01-01T00:00:00+00:01", "2025-01-06T08:00:00Z ", "yesterday", ""}) {
    const std::string msg =
        parse_error(R"({"specversion":"1.0","id":"1","source":"s","type":"t","time":")" +
                    std::string(bad) + R"("})");
    EXPECT_NE(msg.find("attribute 'time'"), std::string::npos) << bad << ": " << msg;
  }
  const std::string msg =
      parse_error(R"({"specversion":"1.0","id":"1","source":"s","type":"t","time":"2024-13-01"})");
  EXPECT_NE(msg.find("attribute 'time': not an RFC 3339 timestamp: '2024-13-01'"),
            std::string::npos)
      << msg;
}

TEST(CloudEventsErrors, BadExtensionName) {
  for (const char* bad : {"Upper", "with-dash", "under_score", "dotted.name", "ünï", " sp"}) {
    const std::string msg =
        parse_error(R"({"specversion":"1.0","id":"1","source":"s","type":"t",")" +
                    std::string(bad) + R"(":"v"})");
    EXPECT_NE(msg.find("attribute '" + std::string(bad) + "'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("invalid extension name"), std::string::npos) << msg;
  }
}

TEST(CloudEventsErrors, BadExtensionValue) {
  std::string msg =
      parse_error(R"({"specversion":"1.0","id":"1","source":"s","type":"t","ext":{"a":1}})");
  EXPECT_NE(msg.find("attribute 'ext'"), std::string::npos) << msg;
  for (const char* number : {"1.5", "2147483648", "-2147483649", "1e300"}) {
    msg = parse_error(R"({"specversion":"1.0","id":"1","source":"s","type":"t","n":)" +
                      std::string(number) + "}");
    EXPECT_NE(msg.find("attribute 'n'"), std::string::npos) << msg;
  }
}

TEST(CloudEventsErrors, DataAndDataBase64BothPresent) {
  const std::string msg = parse_error(
      R"({"specversion":"1.0","id":"1","source":"s","type":"t","data":"x","data_base64":"eA=="})");
  EXPECT_NE(msg.find("'data'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'data_base64'"), std::string::npos) << msg;
}

TEST(CloudEventsErrors, BadBase64) {
  for (const char* bad : {"eA=", "e===", "eA==eA==", "e A=", "eB==", "!!!!"}) {
    const std::string msg =
        parse_error(R"({"specversion":"1.0","id":"1","source":"s","type":"t","data_base64":")" +
                    std::string(bad) + R"("})");
    EXPECT_NE(msg.find("attribute 'data_base64'"), std::string::npos) << bad << ": " << msg;
  }
}

TEST(CloudEventsErrors, NotAnObject) {
  for (const char* doc : {"[]", R"("event")", "42", "null"}) {
    const std::string msg = parse_error(doc);
    EXPECT_NE(msg.find("not a CloudEvents JSON object"), std::string::npos) << msg;
  }
}

TEST(CloudEventsErrors, InvalidJson) {
  for (const char* doc : {"", "{", R"({"id":})", "{'id':'1'}", "{\"id\":\"1\"} trailing"}) {
    const std::string msg = parse_error(doc);
    EXPECT_EQ(msg.rfind("not valid JSON: ", 0), 0u) << msg;
    EXPECT_EQ(msg.find("[json.exception"), std::string::npos) << msg;
  }
}

TEST(CloudEventsErrors, DuplicateAttribute) {
  const std::string msg =
      parse_error(R"({"specversion":"1.0","id":"1","source":"s","type":"t","id":"2"})");
  EXPECT_NE(msg.find("attribute 'id': appears more than once"), std::string::npos) << msg;
  const std::string escaped =
      parse_error(R"({"specversion":"1.0","id":"1","source":"s","type":"t","\u0069d":"2"})");
  EXPECT_NE(escaped.find("attribute 'id'"), std::string::npos) << escaped;
}

// ---- set_json_data / get_json_data --------------------------------------------------------------

TEST(JsonData, SetsContentTypeSchemaAndProtobufJsonMapping) {
  simpang::talent::v1::Completion c;
  c.set_person_id("p-1");
  c.set_score(87.5);
  c.set_passed(true);
  Event e = minimal();
  set_json_data(e, c);
  EXPECT_EQ(e.data_content_type(), "application/json");
  EXPECT_EQ(e.data_schema(), "proto:simpang.talent.v1.Completion");
  EXPECT_EQ(e.text_data(), R"({"personId":"p-1","score":87.5,"passed":true})");

  simpang::talent::v1::Completion back;
  const Status s = get_json_data(e, back);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(MessageDifferencer::Equals(c, back));
}

TEST(JsonData, IgnoresUnknownFieldsAndAcceptsProtoFieldNames) {
  Event e = minimal();
  e.set_text_data(R"({"person_id":"p-2","newField":{"x":1},"score":50})");
  simpang::talent::v1::Completion c;
  const Status s = get_json_data(e, c);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(c.person_id(), "p-2");
  EXPECT_EQ(c.score(), 50);
}

TEST(JsonData, Errors) {
  simpang::talent::v1::Completion c;
  Event none = minimal();
  EXPECT_NE(get_json_data(none, c).message().find("no data"), std::string::npos);

  Event binary = minimal();
  binary.set_binary_data("x");
  EXPECT_NE(get_json_data(binary, c).message().find("binary"), std::string::npos);

  Event wrong_schema = minimal();
  simpang::talent::v1::Person p;
  p.set_person_id("p");
  set_json_data(wrong_schema, p);
  const Status s = get_json_data(wrong_schema, c);
  EXPECT_NE(s.message().find("proto:simpang.talent.v1.Person"), std::string::npos) << s.message();

  Event bad = minimal();
  bad.set_text_data(R"({"score":"high"})");
  const Status b = get_json_data(bad, c);
  EXPECT_FALSE(b.ok());
  EXPECT_NE(b.message().find("simpang.talent.v1.Completion"), std::string::npos) << b.message();

  Event not_json = minimal();
  not_json.set_text_data("score=1");
  EXPECT_FALSE(get_json_data(not_json, c).ok());
}

}  // namespace
}  // namespace simpang::sdk

namespace simpang::sdk {
namespace {

// Found by fuzz_cloudevents: a number beyond a double made nlohmann throw out_of_range, which
// escaped the reader.
TEST(CloudEventsFuzzRegression, ANumberBeyondADoubleIsAnErrorNotACrash) {
  for (const char* text : {"[77e575]", R"({"specversion":"1.0","id":"n","source":"/x","type":"t",)"
                                      R"("seq":1e999})"}) {
    auto event = from_cloudevents_json(text);
    ASSERT_FALSE(event.ok()) << text;
    EXPECT_NE(event.status().message().find("number overflow"), std::string::npos)
        << event.status().message();
  }
}

}  // namespace
}  // namespace simpang::sdk
