// Envelope and event checks per Caliper profile, and the Canvas format.
#include <gtest/gtest.h>

#include "caliper_envelope.h"
#include "caliper_samples.h"

namespace simpang::plugins::lms_caliper {
namespace {

using nlohmann::json;
using namespace testing;

EnvelopeError refused(const json& body, Limits limits = {}) {
  auto result = check_envelope(body, limits);
  EXPECT_TRUE(std::holds_alternative<EnvelopeError>(result)) << body.dump();
  return std::holds_alternative<EnvelopeError>(result) ? std::get<EnvelopeError>(result)
                                                       : EnvelopeError{};
}

TEST(CaliperEnvelope, AcceptsTheProfilesExamples) {
  json assessment = session_event();
  assessment["id"] = "urn:uuid:27734504-068d-4596-861c-2315be33a2a2";
  assessment["type"] = "AssessmentEvent";
  assessment["action"] = "Started";
  assessment["object"] = {{"id", "https://example.edu/assess/1"}, {"type", "Assessment"}};
  json nav = session_event();
  nav["type"] = "NavigationEvent";
  nav["action"] = "NavigatedTo";
  nav["object"] = {{"id", "https://example.edu/pages/3"}, {"type", "WebPage"}};
  json tool = session_event();
  tool["type"] = "ToolUseEvent";
  tool["action"] = "Used";
  json item = assessment;
  item["type"] = "AssessmentItemEvent";
  item["action"] = "Skipped";
  item["object"] = {{"id", "https://example.edu/assess/1/items/3"}, {"type", "AssessmentItem"}};
  json resource = nav;
  resource["type"] = "ResourceManagementEvent";
  resource["action"] = "Modified";
  resource["object"]["type"] = "Document";
  auto result = check_envelope(
      envelope({session_event(), grade_event(), assessment, nav, tool, item, resource}), {});
  ASSERT_TRUE(std::holds_alternative<Envelope>(result))
      << std::get<EnvelopeError>(result).message();
  EXPECT_EQ(std::get<Envelope>(result).items.size(), 7u);
  EXPECT_EQ(std::get<Envelope>(result).format, Format::kCaliper);
}

TEST(CaliperEnvelope, RefusesEnvelopeFaults) {
  json e = envelope({session_event()});
  e.erase("sensor");
  EXPECT_EQ(refused(e).message(), "/sensor: an envelope's sensor is required and must be an IRI");
  e = envelope({session_event()});
  e["sendTime"] = "2026-11-15T11:05:01Z";
  EXPECT_EQ(refused(e).pointer, "/sendTime");
  e = envelope({session_event()}, "http://purl.imsglobal.org/ctx/caliper/v1p0");
  EXPECT_EQ(refused(e).pointer, "/dataVersion");
  e = envelope({});
  EXPECT_EQ(refused(e).message(), "/data: an envelope's data is required: a non-empty array");
  e = envelope({session_event(), session_event(), session_event()});
  const EnvelopeError big = refused(e, Limits{2});
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(big.message(), "/data: an envelope holds at most 2 items, this one 3");
}

struct EventFault {
  const char* name;
  std::function<void(json&)> change;
  const char* message;
};

TEST(CaliperEnvelope, RefusesEventFaultsNamingIndexPointerAndRule) {
  const std::vector<EventFault> faults = {
      {"no context", [](json& e) { e.erase("@context"); },
       "data[1] /data/1/@context: required: http://purl.imsglobal.org/ctx/caliper/v1p1 or "
       "http://purl.imsglobal.org/ctx/caliper/v1p2"},
      {"id not urn:uuid", [](json& e) { e["id"] = "https://example.edu/events/1"; },
       "data[1] /data/1/id: an event's id is required and must be a urn:uuid: UUID"},
      {"bad uuid", [](json& e) { e["id"] = "urn:uuid:1234"; },
       "data[1] /data/1/id: an event's id is required and must be a urn:uuid: UUID"},
      {"unknown type", [](json& e) { e["type"] = "PartyEvent"; },
       "data[1] /data/1/type: 'PartyEvent' is not a Caliper event type"},
      {"action for another type", [](json& e) { e["action"] = "NavigatedTo"; },
       "data[1] /data/1/action: a SessionEvent's action must be one of LoggedIn, LoggedOut, "
       "TimedOut, got 'NavigatedTo'"},
      {"no actor", [](json& e) { e.erase("actor"); },
       "data[1] /data/1/actor: an event's actor is required"},
      {"actor id not IRI", [](json& e) { e["actor"]["id"] = "554433"; },
       "data[1] /data/1/actor/id: an entity's id is required and must be an IRI"},
      {"object of wrong type", [](json& e) { e["object"]["type"] = "Person"; },
       "data[1] /data/1/object/type: must be one of SoftwareApplication, got 'Person'"},
      {"eventTime without ms", [](json& e) { e["eventTime"] = "2026-11-15T10:15:00Z"; },
       "data[1] /data/1/eventTime: an event's eventTime is required: ISO 8601 in UTC with "
       "milliseconds, e.g. 2026-03-01T09:30:00.000Z"},
      {"eventTime not UTC", [](json& e) { e["eventTime"] = "2026-11-15T10:15:00.000+08:00"; },
       "data[1] /data/1/eventTime: an event's eventTime is required: ISO 8601 in UTC with "
       "milliseconds, e.g. 2026-03-01T09:30:00.000Z"},
      {"session not an entity", [](json& e) { e["session"] = 7; },
       "data[1] /data/1/session: must be an entity (an object with id and type) or its IRI"},
      {"extensions not object", [](json& e) { e["extensions"] = json::array(); },
       "data[1] /data/1/extensions: must be an object"},
  };
  for (const EventFault& fault : faults) {
    json bad = session_event();
    fault.change(bad);
    const EnvelopeError e = refused(envelope({session_event(), bad}));
    EXPECT_EQ(e.message(), fault.message) << fault.name;
    EXPECT_EQ(e.index, std::optional<size_t>(1)) << fault.name;
    EXPECT_EQ(e.status, 400) << fault.name;
  }
}

TEST(CaliperEnvelope, GradeEventNeedsAScore) {
  json g = grade_event();
  g.erase("generated");
  EXPECT_EQ(refused(envelope({g})).message(),
            "data[0] /data/0/generated: a GradeEvent must generate a Score");
  g = grade_event();
  g["generated"].erase("scoreGiven");
  EXPECT_EQ(refused(envelope({g})).pointer, "/data/0/generated/scoreGiven");
  g = grade_event();
  g["generated"]["scoreGiven"] = 20;
  EXPECT_EQ(refused(envelope({g})).message(),
            "data[0] /data/0/generated/scoreGiven: must not exceed maxScore");
  g = grade_event();
  g["object"]["type"] = "Assessment";
  EXPECT_EQ(refused(envelope({g})).pointer, "/data/0/object/type");
}

TEST(CaliperEnvelope, KnowsWhatVersionOnePointTwoAdded) {
  json search = session_event();
  search["type"] = "SearchEvent";
  search["action"] = "Searched";
  search["object"] = {{"id", "https://example.edu/catalog"}, {"type", "SoftwareApplication"}};
  EXPECT_TRUE(std::holds_alternative<Envelope>(check_envelope(envelope({search}), {})));
  search["@context"] = kContextV1p1;
  EXPECT_EQ(refused(envelope({search})).message(),
            "data[0] /data/0/type: SearchEvent is a Caliper 1.2 event type; its @context must be "
            "http://purl.imsglobal.org/ctx/caliper/v1p2");
  json v11 = session_event();
  v11["@context"] = kContextV1p1;
  EXPECT_TRUE(std::holds_alternative<Envelope>(
      check_envelope(envelope({v11}, kContextV1p1), {})));
}

TEST(CaliperEnvelope, AcceptsEntitiesDescribedAndReferencesByIri) {
  json person = {{"@context", kContextV1p2},
                 {"id", "https://example.edu/users/554433"},
                 {"type", "Person"}};
  json e = session_event();
  e["actor"] = "https://example.edu/users/554433";
  EXPECT_TRUE(std::holds_alternative<Envelope>(check_envelope(envelope({person, e}), {})));
  person["id"] = "not an iri";
  EXPECT_EQ(refused(envelope({person})).pointer, "/data/0/id");
}

TEST(CanvasFormat, AcceptsAndRefuses) {
  auto ok = check_envelope(canvas_grade_change(), {});
  ASSERT_TRUE(std::holds_alternative<Envelope>(ok));
  EXPECT_EQ(std::get<Envelope>(ok).format, Format::kCanvas);
  json bad = canvas_grade_change();
  bad["metadata"].erase("event_name");
  EXPECT_EQ(refused(bad).message(),
            "/metadata/event_name: required (a string, e.g. grade_change)");
  bad = canvas_grade_change();
  bad["metadata"]["event_time"] = "yesterday";
  EXPECT_EQ(refused(bad).message(), "/metadata/event_time: required: an ISO 8601 date-time");
  bad = canvas_grade_change();
  bad["metadata"]["user_id"] = 5;
  EXPECT_EQ(refused(bad).message(), "/metadata/user_id: must be a string");
  EXPECT_EQ(refused(json::array()).message(),
            "/: must be a Caliper envelope or a Canvas live event (an object)");
}

TEST(CaliperTime, NeedsUtcAndMilliseconds) {
  EXPECT_TRUE(is_caliper_time("2026-11-15T10:15:00.000Z"));
  EXPECT_TRUE(is_caliper_time("2026-11-15T10:15:00.123456Z"));
  EXPECT_FALSE(is_caliper_time("2026-11-15T10:15:00Z"));
  EXPECT_FALSE(is_caliper_time("2026-11-15T10:15:00.1Z"));
  EXPECT_FALSE(is_caliper_time("2026-13-15T10:15:00.000Z"));
  EXPECT_FALSE(is_caliper_time("2026-11-15 10:15:00.000Z"));
}

}  // namespace
}  // namespace simpang::plugins::lms_caliper
