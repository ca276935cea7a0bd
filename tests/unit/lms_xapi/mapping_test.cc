// The mapping of stored statements to events: the raw xapi.statement.stored event, and the
// talent events of registered, completed / passed / failed and earned, in docs/events.md's shape.
#include <gtest/gtest.h>

#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"
#include "xapi_mapping.h"

namespace simpang::plugins::lms_xapi {
namespace {

using nlohmann::json;

const MappingOptions kOptions{"/lms/xapi", {"http://adlnet.gov/expapi/activities/course"}};

json stored(const std::string& verb) {
  return {
      {"id", "fd41c918-b88b-4b20-a0a5-a4c32391aaa0"},
      {"actor", {{"account", {{"homePage", "http://lms.example"}, {"name", "s42-person-000102"}}}}},
      {"verb", {{"id", verb}}},
      {"object",
       {{"id", "http://lms.example/course/ml-101"},
        {"definition",
         {{"type", "http://adlnet.gov/expapi/activities/course"},
          {"name", {{"en-US", "ML 101"}}}}}}},
      {"timestamp", "2025-01-26T22:17:43Z"},
      {"stored", "2025-01-26T22:17:44.000Z"}};
}

TEST(XapiMapping, EveryStatementIsPublishedRaw) {
  const json s = stored("http://adlnet.gov/expapi/verbs/attempted");
  const auto events = statement_events(s, kOptions);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id(), "fd41c918-b88b-4b20-a0a5-a4c32391aaa0");
  EXPECT_EQ(events[0].type(), "xapi.statement.stored");
  EXPECT_EQ(events[0].source(), "/lms/xapi");
  EXPECT_EQ(events[0].subject(), "s42-person-000102");
  EXPECT_EQ(events[0].time().seconds(), 1737929863);
  EXPECT_EQ(json::parse(events[0].text_data()), s);
}

TEST(XapiMapping, RegisteredIsAnEnrollment) {
  json s = stored(kVerbRegistered);
  s["context"] = {{"registration", "ec531277-b57b-4c15-8d91-d292c5b2b8f7"}};
  const auto events = statement_events(s, kOptions);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type(), "talent.enrollment.created");
  EXPECT_EQ(events[1].id(), "fd41c918-b88b-4b20-a0a5-a4c32391aaa0.enrollment");
  EXPECT_EQ(events[1].data_schema(), "proto:simpang.talent.v1.Enrollment");
  simpang::talent::v1::Enrollment e;
  ASSERT_TRUE(simpang::sdk::get_json_data(events[1], e).ok());
  EXPECT_EQ(e.enrollment_id(), "ec531277-b57b-4c15-8d91-d292c5b2b8f7");
  EXPECT_EQ(e.person_id(), "s42-person-000102");
  EXPECT_EQ(e.course_id(), "http://lms.example/course/ml-101");
  EXPECT_EQ(e.enrolled_at().seconds(), 1737929863);
}

TEST(XapiMapping, CompletionsCarryTheScoreAndTheVerdict) {
  struct Case {
    const char* verb;
    json result;
    double score;
    bool passed;
  };
  const Case cases[] = {
      {kVerbPassed, {{"score", {{"scaled", 0.705}}}}, 70.5, true},
      {kVerbFailed, {{"score", {{"raw", 30}, {"min", 0}, {"max", 60}}}}, 50, false},
      {kVerbCompleted, {{"success", true}, {"score", {{"raw", 88}}}}, 88, true},
      {kVerbCompleted, json::object(), 0, false},
      {kVerbPassed, {{"score", {{"scaled", -0.5}}}}, 0, true},
  };
  for (const Case& c : cases) {
    json s = stored(c.verb);
    s["result"] = c.result;
    const auto events = statement_events(s, kOptions);
    ASSERT_EQ(events.size(), 2u) << c.verb;
    EXPECT_EQ(events[1].type(), "talent.completion.recorded");
    simpang::talent::v1::Completion completion;
    ASSERT_TRUE(simpang::sdk::get_json_data(events[1], completion).ok());
    EXPECT_DOUBLE_EQ(completion.score(), c.score) << c.result.dump();
    EXPECT_EQ(completion.passed(), c.passed) << c.result.dump();
    EXPECT_TRUE(completion.certification());
    EXPECT_EQ(completion.enrollment_id(), "fd41c918-b88b-4b20-a0a5-a4c32391aaa0");
  }
  json other = stored(kVerbPassed);
  other["object"]["definition"]["type"] = "http://adlnet.gov/expapi/activities/assessment";
  simpang::talent::v1::Completion completion;
  ASSERT_TRUE(simpang::sdk::get_json_data(statement_events(other, kOptions)[1], completion).ok());
  EXPECT_FALSE(completion.certification());
}

TEST(XapiMapping, EarnedIsACredential) {
  json s = stored(kVerbEarned);
  s["object"] = {{"id", "http://lms.example/badge/ml"},
                 {"definition",
                  {{"type", "http://activitystrea.ms/schema/1.0/badge"},
                   {"name", {{"ms-MY", "Lencana ML"}}}}}};
  s["context"] = {{"contextActivities",
                   {{"parent", json::array({{{"id", "http://lms.example/course/ml-101"}}})}}}};
  const auto events = statement_events(s, kOptions);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type(), "talent.credential.issued");
  simpang::talent::v1::Credential credential;
  ASSERT_TRUE(simpang::sdk::get_json_data(events[1], credential).ok());
  EXPECT_EQ(credential.credential_id(), "xapi-fd41c918-b88b-4b20-a0a5-a4c32391aaa0");
  EXPECT_EQ(credential.kind(), simpang::talent::v1::CREDENTIAL_KIND_BADGE);
  EXPECT_EQ(credential.name(), "Lencana ML");
  EXPECT_EQ(credential.course_id(), "http://lms.example/course/ml-101");
}

TEST(XapiMapping, GroupsAgentsAsObjectsAndVoidingMapToNothingMore) {
  json group = stored(kVerbPassed);
  group["actor"] = {{"objectType", "Group"},
                    {"member", json::array({{{"mbox", "mailto:a@b.example"}}})}};
  EXPECT_EQ(statement_events(group, kOptions).size(), 1u);
  json agent_object = stored(kVerbPassed);
  agent_object["object"] = {{"objectType", "Agent"}, {"mbox", "mailto:a@b.example"}};
  EXPECT_EQ(statement_events(agent_object, kOptions).size(), 1u);
  json voiding = stored(kVerbVoided);
  voiding["object"] = {{"objectType", "StatementRef"},
                       {"id", "6690e6c9-3ef0-4ed3-8b37-7f3964730bee"}};
  EXPECT_EQ(statement_events(voiding, kOptions).size(), 1u);
}

TEST(XapiMapping, PersonIds) {
  EXPECT_EQ(person_id({{"mbox", "mailto:siti@example.edu.my"}}), "siti@example.edu.my");
  EXPECT_EQ(person_id({{"mbox_sha1sum", "ebd31e95054c018b10727ccffd2ef2ec3a016ee9"}}),
            "sha1:ebd31e95054c018b10727ccffd2ef2ec3a016ee9");
  EXPECT_EQ(person_id({{"openid", "http://openid.example/s"}}), "http://openid.example/s");
  EXPECT_EQ(person_id({{"objectType", "Group"}, {"member", json::array()}}), "");
}

}  // namespace
}  // namespace simpang::plugins::lms_xapi
