// Caliper and Canvas events to hub events: the raw event, the talent event, deterministic ids.
#include <gtest/gtest.h>

#include "caliper_mapping.h"
#include "caliper_samples.h"
#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins::lms_caliper {
namespace {

using nlohmann::json;
using namespace testing;
namespace talent = simpang::talent::v1;

TEST(CaliperMapping, SessionEventIsRawOnly) {
  const auto events = caliper_events(session_event(), {});
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type(), kCaliperReceived);
  EXPECT_EQ(events[0].id(), "caliper:fcd495d0-3740-4298-9bec-1154571dc211");
  EXPECT_EQ(events[0].subject(), "https://example.edu/users/554433");
  EXPECT_EQ(events[0].source(), "/lms/caliper");
  EXPECT_EQ(json::parse(events[0].text_data()), session_event());  // lossless
}

TEST(CaliperMapping, GradeEventBecomesACompletionScaledTo100) {
  const auto events = caliper_events(grade_event(), {"/lms/canvas"});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type(), "talent.completion.recorded");
  EXPECT_EQ(events[1].id(), "caliper:a50ca17f-5971-47bb-8fca-4e6e6879001d.completion");
  EXPECT_EQ(events[1].source(), "/lms/canvas");
  talent::Completion c;
  ASSERT_TRUE(simpang::sdk::get_json_data(events[1], c).ok());
  EXPECT_EQ(c.person_id(), "https://example.edu/users/554433");  // the assignee, not the grader
  EXPECT_EQ(c.course_id(), "https://example.edu/terms/201801/courses/7/sections/1/assess/1");
  EXPECT_DOUBLE_EQ(c.score(), 70.0);  // 10.5 of 15
  EXPECT_EQ(c.completed_at().seconds(), 1794740226);  // 2026-11-15T10:57:06Z
}

TEST(CaliperMapping, UppercaseUuidGivesTheSameId) {
  json e = session_event();
  e["id"] = "urn:uuid:FCD495D0-3740-4298-9BEC-1154571DC211";
  EXPECT_EQ(caliper_events(e, {})[0].id(), caliper_events(session_event(), {})[0].id());
}

TEST(CanvasMapping, GradeChangeBecomesACompletion) {
  const auto events = canvas_events(canvas_grade_change(), {});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type(), kCanvasReceived);
  EXPECT_EQ(events[0].subject(), "21070000000000001");
  talent::Completion c;
  ASSERT_TRUE(simpang::sdk::get_json_data(events[1], c).ok());
  EXPECT_EQ(c.person_id(), "21070000000000001");
  EXPECT_EQ(c.course_id(), "21070000000000565");  // from metadata context_id
  EXPECT_DOUBLE_EQ(c.score(), 80.0);
  EXPECT_EQ(events[1].id(), events[0].id() + ".completion");
  EXPECT_EQ(canvas_events(canvas_grade_change(), {})[0].id(), events[0].id());  // deterministic
}

TEST(CanvasMapping, GradeRemovedIsRawOnly) {
  json e = canvas_grade_change();
  e["body"]["score"] = nullptr;
  EXPECT_EQ(canvas_events(e, {}).size(), 1u);
}

TEST(CanvasMapping, EnrollmentCreatedAndCourseCompleted) {
  json enrolled = json::parse(R"({
    "metadata": {"event_name": "enrollment_created", "event_time": "2026-11-01T08:00:00.000Z",
                 "root_account_uuid": "acct"},
    "body": {"enrollment_id": "4100", "course_id": "565", "user_id": "77",
             "type": "StudentEnrollment", "workflow_state": "active",
             "created_at": "2026-11-01T07:59:58Z"}})");
  auto events = canvas_events(enrolled, {});
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type(), "talent.enrollment.created");
  talent::Enrollment en;
  ASSERT_TRUE(simpang::sdk::get_json_data(events[1], en).ok());
  EXPECT_EQ(en.enrollment_id(), "4100");
  EXPECT_EQ(en.course_id(), "565");
  EXPECT_EQ(en.person_id(), "77");

  json done = json::parse(R"({
    "metadata": {"event_name": "course_completed", "event_time": "2026-12-01T08:00:00.000Z"},
    "body": {"progress": {"requirement_count": 4, "requirement_completed_count": 4,
                          "completed_at": "2026-12-01T07:59:00Z"},
             "user": {"id": "77", "name": "Aisyah"}, "course": {"id": "565", "name": "ML 101"}}})");
  events = canvas_events(done, {});
  ASSERT_EQ(events.size(), 2u);
  talent::Completion c;
  ASSERT_TRUE(simpang::sdk::get_json_data(events[1], c).ok());
  EXPECT_TRUE(c.passed());
  EXPECT_DOUBLE_EQ(c.score(), 100.0);
  EXPECT_EQ(c.person_id(), "77");
  EXPECT_EQ(c.course_id(), "565");

  for (const char* raw_only : {"logged_in", "asset_accessed", "submission_created",
                               "enrollment_updated", "course_progress"}) {
    json e = done;
    e["metadata"]["event_name"] = raw_only;
    EXPECT_EQ(canvas_events(e, {}).size(), 1u) << raw_only;
  }
}

}  // namespace
}  // namespace simpang::plugins::lms_caliper
