// "How far is the programme": learners registered / enrolled / completed / certified overall, by
// segment and by month, against the targets, with the monthly run-rate needed to reach them by
// the end date; partners onboarded against theirs; the completion funnel per course. Computed by
// pure functions over the store's facts (so the maths is unit-tested without a database), and
// rendered as a table for people or JSON for scripts.
//
//   auto facts = read_progress_facts(store);
//   Progress p = compute_progress(*facts, config.targets, now_micros);
//   std::cout << render_table(p);   // or render_json(p).dump(2)
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ledger_config.h"
#include "ledger_store.h"

namespace simpang::plugins::talent_ledger {

struct ProgressFacts {
  std::vector<LearnerFact> learners;
  std::vector<PartnerFact> partners;
  std::vector<CourseFunnel> courses;
};

StatusOr<ProgressFacts> read_progress_facts(LedgerStore& store);

struct Stage {
  uint64_t registered = 0;
  uint64_t enrolled = 0;
  uint64_t completed = 0;  // passed at least one course
  uint64_t certified = 0;  // holds at least one certification credential
};

// A count against its target.
struct Against {
  uint64_t actual = 0;
  uint64_t target = 0;  // 0: none set
  double percent = 0;   // actual / target * 100 (0 without a target)
  uint64_t remaining = 0;
  double months_left = 0;       // to the end date (0 without one, or after it)
  double needed_per_month = 0;  // remaining / months_left (0 when nothing remains or no time)
  double recent_per_month = 0;  // what the last 90 days before `as_of` achieved, per month
  bool on_track = false;        // recent_per_month >= needed_per_month
  bool has_rate = true;         // false where the ledger keeps no history to measure a rate
};

struct Progress {
  int64_t as_of_micros = 0;
  std::string measure = "enrolled";  // which stage the learner targets count
  Stage overall;
  Against learners;
  std::map<std::string, Stage> by_segment;
  std::map<std::string, Against> segment_targets;
  // month "YYYY-MM" -> segment -> how many reached each stage for the first time that month
  std::map<std::string, std::map<std::string, Stage>> by_month;
  Against partners;  // partners onboarded (registry status active)
  std::map<std::string, uint64_t> partners_by_status;
  std::vector<CourseFunnel> courses;
  uint64_t records_merged = 0;  // person records counted once because identity linked them
  // Person records an HR system deactivated: kept, and still counted in the stages they reached.
  uint64_t records_deactivated = 0;
};

// REQUIRES: as_of_micros is the time the run-rates are measured at (now, or a test's fixed time).
Progress compute_progress(const ProgressFacts& facts, const Targets& targets, int64_t as_of_micros);

std::string render_table(const Progress& p);
nlohmann::json render_json(const Progress& p);

// "2025-03" for a time in March 2025 (UTC).
std::string month_of(int64_t micros);

}  // namespace simpang::plugins::talent_ledger
