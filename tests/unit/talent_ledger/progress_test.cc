// The progress maths on hand-made facts: stages counted once per learner, by segment and month,
// against the targets, with the run-rate needed and the one achieved lately; linked records
// counted once; partners onboarded; the JSON form.
#include "progress.h"

#include <gtest/gtest.h>

namespace simpang::plugins::talent_ledger {
namespace {

constexpr int64_t kDay = 86'400'000'000LL;

int64_t at(const std::string& date) { return *parse_date_micros(date); }

LearnerFact learner(const std::string& id, const std::string& segment, const std::string& reg,
                    std::optional<std::string> enrolled = {},
                    std::optional<std::string> completed = {},
                    std::optional<std::string> certified = {}) {
  LearnerFact f;
  f.person_id = id;
  f.segment = segment;
  f.registered_at = at(reg);
  if (enrolled) f.first_enrolled_at = at(*enrolled);
  if (completed) f.first_completed_at = at(*completed);
  if (certified) f.first_certified_at = at(*certified);
  return f;
}

TEST(Progress, CountsStagesBySegmentAndMonthAgainstTargets) {
  ProgressFacts facts;
  facts.learners = {
      learner("a", "student", "2025-01-10", "2025-01-20", "2025-03-01", "2025-03-02"),
      learner("b", "student", "2025-01-11", "2025-02-05"),
      learner("c", "industry", "2025-02-01", "2025-02-10", "2025-03-05"),
      learner("d", "industry", "2025-02-02"),
  };
  Targets t;
  t.learners = 10;
  t.by_segment = {{"student", 4}};
  t.end_date_micros = at("2025-12-31");
  const int64_t as_of = at("2025-03-31");
  Progress p = compute_progress(facts, t, as_of);
  EXPECT_EQ(p.overall.registered, 4u);
  EXPECT_EQ(p.overall.enrolled, 3u);
  EXPECT_EQ(p.overall.completed, 2u);
  EXPECT_EQ(p.overall.certified, 1u);
  EXPECT_EQ(p.by_segment["student"].enrolled, 2u);
  EXPECT_EQ(p.by_month["2025-01"]["student"].registered, 2u);
  EXPECT_EQ(p.by_month["2025-02"]["student"].enrolled, 1u);
  EXPECT_EQ(p.by_month["2025-03"]["industry"].completed, 1u);

  // Targets count enrolled learners by default: 3 of 10.
  EXPECT_EQ(p.learners.actual, 3u);
  EXPECT_DOUBLE_EQ(p.learners.percent, 30.0);
  EXPECT_EQ(p.learners.remaining, 7u);
  const double months_left = (at("2025-12-31") - as_of) / double(kDay) / (365.25 / 12);
  EXPECT_NEAR(p.learners.months_left, months_left, 1e-9);
  EXPECT_NEAR(p.learners.needed_per_month, 7 / months_left, 1e-9);
  // All three enrolments fall in the 90 days before as_of: 3 per (90 days in months).
  EXPECT_NEAR(p.learners.recent_per_month, 3 / (90 / (365.25 / 12)), 1e-9);
  EXPECT_TRUE(p.learners.on_track);  // ~1.01/month achieved against ~0.77 needed
  EXPECT_EQ(p.segment_targets["student"].actual, 2u);
  EXPECT_EQ(p.segment_targets["student"].remaining, 2u);

  t.counts = "certified";
  p = compute_progress(facts, t, as_of);
  EXPECT_EQ(p.learners.actual, 1u);
  EXPECT_FALSE(p.learners.on_track);
}

TEST(Progress, PastTheEndDateNothingIsNeededPerMonthAndReachedIsOnTrack) {
  ProgressFacts facts;
  facts.learners = {learner("a", "student", "2025-01-10", "2025-01-20")};
  Targets t;
  t.learners = 5;
  t.end_date_micros = at("2025-02-01");
  Progress p = compute_progress(facts, t, at("2025-06-01"));
  EXPECT_EQ(p.learners.months_left, 0);
  EXPECT_EQ(p.learners.needed_per_month, 0);
  EXPECT_FALSE(p.learners.on_track);
  t.learners = 1;
  p = compute_progress(facts, t, at("2025-06-01"));
  EXPECT_EQ(p.learners.remaining, 0u);
  EXPECT_TRUE(p.learners.on_track);
}

TEST(Progress, LinkedRecordsCountAsOneLearnerAtTheirEarliestStages) {
  ProgressFacts facts;
  LearnerFact hr = learner("hr-1", "unspecified", "2025-03-01");
  hr.linked_to = "lms-1";
  LearnerFact lms = learner("lms-1", "industry", "2025-01-05", "2025-01-06");
  LearnerFact again = learner("scim-1", "industry", "2025-02-01", "2025-01-02");
  again.linked_to = "hr-1";  // a chain: scim-1 -> hr-1 -> lms-1
  facts.learners = {hr, lms, again};
  Progress p = compute_progress(facts, Targets{}, at("2025-06-01"));
  EXPECT_EQ(p.overall.registered, 1u);
  EXPECT_EQ(p.overall.enrolled, 1u);
  EXPECT_EQ(p.records_merged, 2u);
  EXPECT_EQ(p.by_month["2025-01"]["industry"].enrolled, 1u);
  EXPECT_EQ(p.by_segment.count("unspecified"), 0u);
}

TEST(Progress, PartnersOnboardedAndTheJsonForm) {
  ProgressFacts facts;
  facts.partners = {{"o1", "A", "employer", "active", 10, 0},
                    {"o2", "B", "employer", "applied", 10, 0},
                    {"o3", "C", "academy", "active", 5, 0}};
  facts.courses = {{"c1", "Python", 10, 7, 5, 3}};
  Targets t;
  t.partners = 200;
  t.end_date_micros = at("2027-12-31");
  Progress p = compute_progress(facts, t, at("2025-12-31"));
  EXPECT_EQ(p.partners.actual, 2u);
  EXPECT_EQ(p.partners.remaining, 198u);
  EXPECT_EQ(p.partners_by_status["applied"], 1u);
  const nlohmann::json j = render_json(p);
  EXPECT_EQ(j["partners"]["actual"], 2);
  EXPECT_EQ(j["partners"]["target"], 200);
  EXPECT_FALSE(j["partners"].contains("recent_per_month"));
  EXPECT_EQ(j["courses"][0]["completed"], 7);
  EXPECT_EQ(j["as_of"], "2025-12-31T00:00:00Z");
  const std::string table = render_table(p);
  EXPECT_NE(table.find("partners onboarded"), std::string::npos) << table;
  EXPECT_NE(table.find("70.0%"), std::string::npos) << table;  // c1: 7 of 10 completed
}

TEST(Progress, MonthOfIsUtc) {
  EXPECT_EQ(month_of(at("2025-01-31T23:59:59Z")), "2025-01");
  EXPECT_EQ(month_of(at("2025-02-01")), "2025-02");
}

}  // namespace
}  // namespace simpang::plugins::talent_ledger
