// Tests of the sim-programme generator (plugins/sim-programme/programme_model.h): determinism,
// complete envelopes whose data parses back into the right talent message, unique ids, referential
// integrity (nothing refers to a person, course or organisation before it exists) and believable
// proportions.
#include "programme_model.h"

#include <google/protobuf/util/time_util.h>
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins::sim_programme {
namespace {

namespace talent = simpang::talent::v1;
using google::protobuf::util::TimeUtil;
using simpang::v1::Event;

std::vector<Event> generate(ModelConfig config, size_t n) {
  ProgrammeModel model(std::move(config));
  std::vector<Event> events;
  events.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    events.push_back(model.next());
  }
  return events;
}

template <typename M>
M data_of(const Event& e) {
  M message;
  const Status s = simpang::sdk::get_json_data(e, message);
  EXPECT_TRUE(s.ok()) << e.id() << ": " << s.message();
  return message;
}

TEST(ProgrammeModel, SameSeedSameSequence) {
  const auto a = generate({.seed = 42}, 5000);
  const auto b = generate({.seed = 42}, 5000);
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(simpang::sdk::to_cloudevents_json(a[i]), simpang::sdk::to_cloudevents_json(b[i]))
        << "event " << i;
  }
}

TEST(ProgrammeModel, DifferentSeedDifferentSequence) {
  const auto a = generate({.seed = 42}, 2000);
  const auto b = generate({.seed = 7}, 2000);
  size_t same_data = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    same_data += a[i].type() == b[i].type() && a[i].time().seconds() == b[i].time().seconds();
  }
  EXPECT_LT(same_data, a.size() / 2);
  EXPECT_EQ(a[0].id(), "sim-42-1");
  EXPECT_EQ(b[0].id(), "sim-7-1");
}

TEST(ProgrammeModel, IdsFollowSeedAndSequence) {
  ProgrammeModel model({.seed = 9});
  for (uint64_t n = 1; n <= 100; ++n) {
    EXPECT_EQ(model.next().id(), "sim-9-" + std::to_string(n));
    EXPECT_EQ(model.emitted(), n);
  }
}

// Checks every event of a long run: the envelope, the data, and that it only refers to what
// already exists.
class ProgrammeRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    events_ = new std::vector<Event>(
        generate({.seed = 42, .source = "/simpang/sim-programme/t"}, kEvents));
  }
  static void TearDownTestSuite() {
    delete events_;
    events_ = nullptr;
  }
  static constexpr size_t kEvents = 30000;
  static std::vector<Event>* events_;
};
std::vector<Event>* ProgrammeRun::events_ = nullptr;

TEST_F(ProgrammeRun, EveryEnvelopeIsCompleteAndIdsAreUnique) {
  std::set<std::string> ids;
  int64_t last_time = 0;
  const std::map<std::string, std::string> schema_of_type = {
      {"talent.organisation.registered", "proto:simpang.talent.v1.Organisation"},
      {"talent.course.published", "proto:simpang.talent.v1.Course"},
      {"talent.person.registered", "proto:simpang.talent.v1.Person"},
      {"talent.employment.updated", "proto:simpang.talent.v1.Employment"},
      {"talent.enrollment.created", "proto:simpang.talent.v1.Enrollment"},
      {"talent.completion.recorded", "proto:simpang.talent.v1.Completion"}};
  for (const Event& e : *events_) {
    ASSERT_FALSE(e.id().empty());
    EXPECT_TRUE(ids.insert(e.id()).second) << "duplicate id " << e.id();
    EXPECT_EQ(e.source(), "/simpang/sim-programme/t");
    EXPECT_EQ(e.spec_version(), "1.0");
    ASSERT_EQ(schema_of_type.count(e.type()), 1u) << e.type();
    EXPECT_EQ(e.data_schema(), schema_of_type.at(e.type()));
    EXPECT_EQ(e.data_content_type(), "application/json");
    EXPECT_EQ(e.data_case(), Event::kTextData);
    EXPECT_FALSE(e.subject().empty());
    ASSERT_TRUE(e.has_time());
    EXPECT_GE(e.time().seconds(), last_time) << "time went backwards at " << e.id();
    last_time = e.time().seconds();
    // And the whole event survives CloudEvents JSON.
    const auto back = simpang::sdk::from_cloudevents_json(simpang::sdk::to_cloudevents_json(e));
    ASSERT_TRUE(back.ok()) << back.status().message();
  }
}

TEST_F(ProgrammeRun, DataParsesAndRefersOnlyToWhatExists) {
  std::map<std::string, talent::Organisation> organisations;
  std::map<std::string, talent::Course> courses;
  std::map<std::string, talent::Person> persons;
  std::map<std::string, talent::Enrollment> enrollments;
  std::set<std::string> completed;
  for (const Event& e : *events_) {
    SCOPED_TRACE(e.id());
    if (e.type() == "talent.organisation.registered") {
      const auto org = data_of<talent::Organisation>(e);
      EXPECT_EQ(e.subject(), org.organisation_id());
      EXPECT_FALSE(org.name().empty());
      EXPECT_NE(org.kind(), talent::ORGANISATION_KIND_UNSPECIFIED);
      EXPECT_GT(org.training_target(), 0u);
      ASSERT_EQ(org.ids_size(), 1);
      const auto previous = organisations.find(org.organisation_id());
      if (previous != organisations.end()) {
        // Re-announced only to move from APPLIED to ACTIVE.
        EXPECT_EQ(previous->second.registry_status(), talent::REGISTRY_STATUS_APPLIED);
        EXPECT_EQ(org.registry_status(), talent::REGISTRY_STATUS_ACTIVE);
      }
      organisations[org.organisation_id()] = org;
    } else if (e.type() == "talent.course.published") {
      const auto course = data_of<talent::Course>(e);
      EXPECT_EQ(e.subject(), course.course_id());
      EXPECT_TRUE(courses.emplace(course.course_id(), course).second) << "published twice";
      ASSERT_EQ(organisations.count(course.provider_id()), 1u) << course.provider_id();
      const auto kind = organisations.at(course.provider_id()).kind();
      EXPECT_TRUE(kind == talent::ORGANISATION_KIND_UNIVERSITY ||
                  kind == talent::ORGANISATION_KIND_ACADEMY);
      EXPECT_GT(course.pass_score(), 0);
      EXPECT_LE(course.pass_score(), 100);
      EXPECT_GT(course.hours(), 0u);
    } else if (e.type() == "talent.person.registered") {
      const auto person = data_of<talent::Person>(e);
      EXPECT_EQ(e.subject(), person.person_id());
      EXPECT_TRUE(persons.emplace(person.person_id(), person).second) << "registered twice";
      EXPECT_NE(person.segment(), talent::SEGMENT_UNSPECIFIED);
      EXPECT_FALSE(person.region().empty());
      EXPECT_NE(person.email().find('@'), std::string::npos);
      EXPECT_EQ(TimeUtil::TimestampToSeconds(person.registered_at()), e.time().seconds());
    } else if (e.type() == "talent.employment.updated") {
      const auto job = data_of<talent::Employment>(e);
      EXPECT_EQ(e.subject(), job.person_id());
      EXPECT_EQ(persons.count(job.person_id()), 1u);
      EXPECT_EQ(organisations.count(job.organisation_id()), 1u);
      EXPECT_FALSE(job.job_title().empty());
      EXPECT_EQ(job.has_end_date(), !job.active());
    } else if (e.type() == "talent.enrollment.created") {
      const auto enrollment = data_of<talent::Enrollment>(e);
      EXPECT_EQ(e.subject(), enrollment.person_id());
      EXPECT_EQ(persons.count(enrollment.person_id()), 1u);
      EXPECT_EQ(courses.count(enrollment.course_id()), 1u);
      EXPECT_TRUE(enrollments.emplace(enrollment.enrollment_id(), enrollment).second)
          << "enrollment id reused " << enrollment.enrollment_id();
    } else if (e.type() == "talent.completion.recorded") {
      const auto completion = data_of<talent::Completion>(e);
      EXPECT_EQ(e.subject(), completion.person_id());
      ASSERT_EQ(enrollments.count(completion.enrollment_id()), 1u);
      const auto& enrollment = enrollments.at(completion.enrollment_id());
      EXPECT_EQ(enrollment.person_id(), completion.person_id());
      EXPECT_EQ(enrollment.course_id(), completion.course_id());
      EXPECT_TRUE(completed.insert(completion.enrollment_id()).second) << "completed twice";
      const auto& course = courses.at(completion.course_id());
      EXPECT_GE(completion.score(), 0);
      EXPECT_LE(completion.score(), 100);
      EXPECT_EQ(completion.passed(), completion.score() >= course.pass_score());
      EXPECT_EQ(completion.certification(), course.certification());
      EXPECT_GT(TimeUtil::TimestampToSeconds(completion.completed_at()),
                TimeUtil::TimestampToSeconds(enrollment.enrolled_at()));
    }
  }
}

TEST_F(ProgrammeRun, ProportionsAreBelievable) {
  std::map<std::string, int> by_type;
  std::map<talent::Segment, int> by_segment;
  std::map<std::string, int> by_region;
  std::set<std::string> organisations;
  int applied = 0, first_registrations = 0, passed = 0, completions = 0, certified_courses = 0,
      courses = 0;
  for (const Event& e : *events_) {
    ++by_type[e.type()];
    if (e.type() == "talent.person.registered") {
      const auto p = data_of<talent::Person>(e);
      ++by_segment[p.segment()];
      ++by_region[p.region()];
    } else if (e.type() == "talent.organisation.registered") {
      const auto org = data_of<talent::Organisation>(e);
      if (organisations.insert(org.organisation_id()).second) {
        ++first_registrations;
        applied += org.registry_status() == talent::REGISTRY_STATUS_APPLIED;
      }
    } else if (e.type() == "talent.completion.recorded") {
      ++completions;
      passed += data_of<talent::Completion>(e).passed();
    } else if (e.type() == "talent.course.published") {
      ++courses;
      certified_courses += data_of<talent::Course>(e).certification();
    }
  }
  for (const auto& [type, count] : by_type) {
    std::cout << type << ": " << count << "\n";
  }
  ASSERT_EQ(by_type.size(), 6u) << "every event type appears";
  EXPECT_EQ(first_registrations, 200) << "the whole registry joins within the run";
  EXPECT_EQ(courses, 40) << "the whole catalogue is published within the run";
  EXPECT_GT(applied, 200 * 0.15);
  EXPECT_LT(applied, 200 * 0.45);
  EXPECT_GT(certified_courses, 40 * 0.25);
  EXPECT_LT(certified_courses, 40 * 0.85);

  const int people = by_type["talent.person.registered"];
  EXPECT_GT(people, kEvents / 8);
  EXPECT_NEAR(by_segment[talent::SEGMENT_STUDENT] / double(people), 0.45, 0.05);
  EXPECT_NEAR(by_segment[talent::SEGMENT_EDUCATOR] / double(people), 0.10, 0.03);
  EXPECT_NEAR(by_segment[talent::SEGMENT_GOVERNMENT] / double(people), 0.15, 0.03);
  EXPECT_NEAR(by_segment[talent::SEGMENT_INDUSTRY] / double(people), 0.30, 0.05);
  EXPECT_GT(by_region["Selangor"], by_region["Perlis"]);
  EXPECT_GE(by_region.size(), 12u);

  // Most learners enroll, most enrollments complete, most completions pass.
  EXPECT_GT(by_type["talent.enrollment.created"], people * 0.8);
  EXPECT_LT(by_type["talent.completion.recorded"], by_type["talent.enrollment.created"]);
  EXPECT_GT(passed / double(completions), 0.55);
  EXPECT_LT(passed / double(completions), 0.95);
  EXPECT_GT(by_type["talent.employment.updated"], people * 0.25);
  EXPECT_LT(by_type["talent.employment.updated"], people * 0.75);
}

TEST(ProgrammeModel, KeepsGoingAfterThePoolIsRegistered) {
  // Ten learners, two courses: the intake is over within a few dozen events, yet the stream goes
  // on with returning learners, in order, without running out.
  const auto events = generate({.seed = 1, .learners = 10, .partners = 3, .courses = 2}, 3000);
  std::set<std::string> persons;
  int64_t last_time = 0;
  for (const Event& e : events) {
    if (e.type() == "talent.person.registered") {
      persons.insert(e.subject());
    }
    EXPECT_GE(e.time().seconds(), last_time);
    last_time = e.time().seconds();
  }
  EXPECT_EQ(persons.size(), 10u);
  EXPECT_EQ(events.back().id(), "sim-1-3000");
}

TEST(ProgrammeModel, SinglePartnerAndCourseStillWork) {
  const auto events = generate({.seed = 3, .learners = 1, .partners = 1, .courses = 1}, 200);
  std::map<std::string, int> by_type;
  for (const Event& e : events) {
    ++by_type[e.type()];
  }
  EXPECT_EQ(by_type["talent.organisation.registered"], 1);
  EXPECT_EQ(by_type["talent.course.published"], 1);
  EXPECT_EQ(by_type["talent.person.registered"], 1);
}

}  // namespace
}  // namespace simpang::plugins::sim_programme
