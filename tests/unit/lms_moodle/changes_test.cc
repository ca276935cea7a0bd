// Change detection: an event only for what is new or changed, ids that depend on the site, the
// entity and its version only, and cursor values that record what was seen.
#include <gtest/gtest.h>

#include "moodle_changes.h"
#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins::lms_moodle {
namespace {

const Site kSite{"lms.example.edu.my", "/simpang/lms-moodle/moodle"};

Course course() {
  Course c;
  c.id = 5;
  c.shortname = "ai101";
  c.fullname = "AI Foundations";
  c.idnumber = "AI-101";
  c.timemodified = 1735700000;
  return c;
}

EnrolledUser user() {
  EnrolledUser u;
  u.id = 7;
  u.username = "siti";
  u.fullname = "Siti Lee";
  u.email = "siti@example.edu.my";
  u.firstaccess = 1735000000;
  u.lastcourseaccess = 1735800000;
  return u;
}

TEST(MoodleChanges, SiteHost) {
  EXPECT_EQ(site_host("https://LMS.example.edu.my/moodle/"), "lms.example.edu.my");
  EXPECT_EQ(site_host("http://127.0.0.1:8080"), "127.0.0.1:8080");
  EXPECT_EQ(site_host("http://user:pw@host/x"), "host");
  EXPECT_EQ(site_host(""), "moodle");
}

TEST(MoodleChanges, CourseEventOnlyWhenNewOrChangedWithStableIds) {
  auto first = course_change(kSite, {}, course(), std::nullopt, 99);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->event.type(), "talent.course.published");
  EXPECT_EQ(first->event.subject(), "lms.example.edu.my/course/5");
  EXPECT_EQ(first->event.time().seconds(), 1735700000);
  EXPECT_EQ(first->cursor_key, "course/5");
  // Seen: nothing; the same record again: the same id and version.
  EXPECT_FALSE(course_change(kSite, {}, course(), first->cursor_value, 99).has_value());
  EXPECT_EQ(course_change(kSite, {}, course(), std::nullopt, 1234)->event.id(), first->event.id());
  // A change: a new version and id.
  Course renamed = course();
  renamed.fullname = "AI Foundations (2026)";
  auto second = course_change(kSite, {}, renamed, first->cursor_value, 99);
  ASSERT_TRUE(second.has_value());
  EXPECT_NE(second->event.id(), first->event.id());
  // Another site: another id.
  const Site other{"other.example", kSite.source};
  EXPECT_NE(course_change(other, {}, course(), std::nullopt, 99)->event.id(), first->event.id());

  simpang::talent::v1::Course data;
  ASSERT_TRUE(simpang::sdk::get_json_data(first->event, data).ok());
  EXPECT_EQ(data.title(), "AI Foundations");
  ASSERT_EQ(data.ids_size(), 2);
  EXPECT_EQ(data.ids(0).system(), "moodle:lms.example.edu.my");
  EXPECT_EQ(data.ids(1).value(), "idnumber/AI-101");
}

TEST(MoodleChanges, PersonUpsertOnProfileChange) {
  auto first = person_change(kSite, {.provider_id = "", .segment = 1}, user(), std::nullopt, 99);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->event.type(), "talent.person.registered");
  simpang::talent::v1::Person data;
  ASSERT_TRUE(simpang::sdk::get_json_data(first->event, data).ok());
  EXPECT_EQ(data.email(), "siti@example.edu.my");
  EXPECT_EQ(data.segment(), simpang::talent::v1::SEGMENT_STUDENT);
  EnrolledUser visited = user();
  visited.lastcourseaccess += 100;  // activity is not a profile change
  EXPECT_FALSE(person_change(kSite, {}, visited, first->cursor_value, 99).has_value());
  EnrolledUser moved = user();
  moved.email = "siti@acme.example";
  EXPECT_TRUE(person_change(kSite, {}, moved, first->cursor_value, 99).has_value());
}

TEST(MoodleChanges, EnrollmentOnceAndCompletionWhenDue) {
  auto enrolled = enrollment_change(kSite, 5, user(), std::nullopt, 1736000000);
  ASSERT_TRUE(enrolled.has_value());
  EXPECT_EQ(enrolled->event.type(), "talent.enrollment.created");
  EXPECT_EQ(enrolled->cursor_key, "enrol/5/7");
  const auto seen = EnrollmentSeen::decode(enrolled->cursor_value);
  ASSERT_TRUE(seen.has_value());
  EXPECT_FALSE(enrollment_change(kSite, 5, user(), seen, 1736000000).has_value());
  // Never checked: due. Checked at this access: not due, unless a full pass.
  const int64_t later = user().lastcourseaccess + 86400;  // long after the access
  EXPECT_TRUE(completion_due(seen, user(), false, later));
  const EnrollmentSeen checked = after_check(seen, user().lastcourseaccess, false, later);
  EXPECT_FALSE(completion_due(checked, user(), false, later + 600));
  EXPECT_TRUE(completion_due(checked, user(), true, later));
  EnrolledUser came_back = user();
  came_back.lastcourseaccess += 60;
  EXPECT_TRUE(completion_due(checked, came_back, false, later));

  CompletionStatus open;
  EXPECT_FALSE(completion_change(kSite, 5, 7, 1, open, checked, 99).has_value());
  CompletionStatus done;
  done.completed = true;
  done.timecompleted = 1736100000;
  done.grade = 140;  // clamped to the 0..100 the event promises
  auto completed = completion_change(kSite, 5, 7, came_back.lastcourseaccess, done, checked, 99);
  ASSERT_TRUE(completed.has_value());
  EXPECT_EQ(completed->event.time().seconds(), 1736100000);
  simpang::talent::v1::Completion data;
  ASSERT_TRUE(simpang::sdk::get_json_data(completed->event, data).ok());
  EXPECT_EQ(data.score(), 100);
  EXPECT_TRUE(data.passed());
  EXPECT_EQ(data.enrollment_id(), "lms.example.edu.my/enrol/5/7");
  const auto recorded = EnrollmentSeen::decode(completed->cursor_value);
  ASSERT_TRUE(recorded.has_value());
  EXPECT_TRUE(recorded->completed);
  EXPECT_FALSE(completion_due(recorded, came_back, true, later));
  EXPECT_FALSE(completion_change(kSite, 5, 7, 0, done, recorded, 99).has_value());
}

TEST(MoodleChanges, ACheckSoonAfterTheAccessIsMadeOnceMoreWhenCronHasHadTheTime) {
  const int64_t access = user().lastcourseaccess;
  // Checked 2 minutes after the access: Moodle's cron may not have aggregated the completion.
  const EnrollmentSeen early = after_check(EnrollmentSeen{}, access, false, access + 120);
  EXPECT_FALSE(completion_due(early, user(), false, access + 300));
  EXPECT_TRUE(completion_due(early, user(), false, access + 120 + kCompletionSettleSeconds));
  // The second check, made late enough, is not repeated.
  const EnrollmentSeen settled =
      after_check(early, access, false, access + 120 + kCompletionSettleSeconds);
  EXPECT_FALSE(completion_due(settled, user(), false, access + 86400));
  // Round trip, and the older two-field form still reads.
  EXPECT_EQ(EnrollmentSeen::decode(settled.encode())->checked_at, settled.checked_at);
  EXPECT_EQ(EnrollmentSeen::decode("5:0")->checked_at, 0);
}

TEST(MoodleChanges, EnrollmentSeenRejectsDamagedValues) {
  EXPECT_FALSE(EnrollmentSeen::decode("5:0:").has_value());
  EXPECT_FALSE(EnrollmentSeen::decode("5:0:x").has_value());
  EXPECT_FALSE(EnrollmentSeen::decode("5:01").has_value());
  EXPECT_FALSE(EnrollmentSeen::decode("").has_value());
  EXPECT_FALSE(EnrollmentSeen::decode("12").has_value());
  EXPECT_FALSE(EnrollmentSeen::decode("12:2").has_value());
  EXPECT_FALSE(EnrollmentSeen::decode("x:1").has_value());
  EXPECT_EQ(EnrollmentSeen::decode("-1:0")->checked_access, -1);
}

TEST(MoodleChanges, BadgeCredential) {
  Badge badge;
  badge.name = "AI Practitioner";
  badge.type = 2;
  badge.courseid = 5;
  badge.uniquehash = "abc123";
  badge.dateissued = 1736000000;
  const Change c = badge_change(kSite, 7, badge);
  EXPECT_EQ(c.event.type(), "talent.credential.issued");
  EXPECT_EQ(c.cursor_key, "badge/abc123");
  EXPECT_EQ(c.event.id(), badge_change(kSite, 7, badge).event.id());
  simpang::talent::v1::Credential data;
  ASSERT_TRUE(simpang::sdk::get_json_data(c.event, data).ok());
  EXPECT_EQ(data.kind(), simpang::talent::v1::CREDENTIAL_KIND_BADGE);
  EXPECT_EQ(data.course_id(), "lms.example.edu.my/course/5");
  EXPECT_FALSE(data.has_expires_at());
}

}  // namespace
}  // namespace simpang::plugins::lms_moodle
