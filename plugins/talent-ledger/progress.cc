#include "progress.h"

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <sstream>
#include <unordered_map>

namespace simpang::plugins::talent_ledger {
namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000LL;
constexpr double kDaysPerMonth = 365.25 / 12;
constexpr int64_t kRecentWindow = 90 * kMicrosPerDay;

std::optional<int64_t> earliest(std::optional<int64_t> a, std::optional<int64_t> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

// Records linked by identity are one learner: merged into the record they were linked to (the
// root of their link chain), each stage at its earliest time.
std::vector<LearnerFact> merge_linked(const std::vector<LearnerFact>& in, uint64_t& merged) {
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < in.size(); ++i) index[in[i].person_id] = i;
  std::vector<size_t> parent(in.size());
  for (size_t i = 0; i < in.size(); ++i) parent[i] = i;
  std::function<size_t(size_t)> root = [&](size_t i) {
    while (parent[i] != i) i = parent[i] = parent[parent[i]];
    return i;
  };
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].linked_to) continue;
    auto it = index.find(*in[i].linked_to);
    if (it == index.end()) continue;
    size_t a = root(i), b = root(it->second);
    if (a != b) parent[a] = b;
  }
  std::map<size_t, LearnerFact> roots;
  for (size_t i = 0; i < in.size(); ++i) {
    const size_t r = root(i);
    auto [it, inserted] = roots.try_emplace(r, in[r]);
    if (i == r) continue;
    ++merged;
    LearnerFact& f = it->second;
    f.registered_at = earliest(f.registered_at, in[i].registered_at);
    f.first_enrolled_at = earliest(f.first_enrolled_at, in[i].first_enrolled_at);
    f.first_completed_at = earliest(f.first_completed_at, in[i].first_completed_at);
    f.first_certified_at = earliest(f.first_certified_at, in[i].first_certified_at);
    if (f.segment == "unspecified") f.segment = in[i].segment;
  }
  std::vector<LearnerFact> out;
  for (auto& [r, f] : roots) out.push_back(std::move(f));
  return out;
}

std::optional<int64_t> stage_time(const LearnerFact& f, const std::string& measure) {
  if (measure == "registered") return f.registered_at;
  if (measure == "completed") return f.first_completed_at;
  if (measure == "certified") return f.first_certified_at;
  return f.first_enrolled_at;
}

Against against(uint64_t actual, uint64_t target, uint64_t recent, const Targets& t,
                int64_t as_of) {
  Against a;
  a.actual = actual;
  a.target = target;
  a.recent_per_month = static_cast<double>(recent) / (90.0 / kDaysPerMonth);
  if (target > 0) {
    a.percent = 100.0 * static_cast<double>(actual) / static_cast<double>(target);
    a.remaining = actual >= target ? 0 : target - actual;
  }
  if (t.end_date_micros && *t.end_date_micros > as_of) {
    a.months_left = static_cast<double>(*t.end_date_micros - as_of) /
                    static_cast<double>(kMicrosPerDay) / kDaysPerMonth;
  }
  if (a.remaining > 0 && a.months_left > 0) {
    a.needed_per_month = static_cast<double>(a.remaining) / a.months_left;
  }
  a.on_track = target > 0 && (a.remaining == 0 ||
                              (a.months_left > 0 && a.recent_per_month >= a.needed_per_month));
  return a;
}

bool recent(std::optional<int64_t> t, int64_t as_of) {
  return t && *t <= as_of && *t > as_of - kRecentWindow;
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

nlohmann::json stage_json(const Stage& s) {
  return {{"registered", s.registered},
          {"enrolled", s.enrolled},
          {"completed", s.completed},
          {"certified", s.certified}};
}

nlohmann::json against_json(const Against& a) {
  nlohmann::json j = {{"actual", a.actual}};
  if (a.has_rate) j["recent_per_month"] = a.recent_per_month;
  if (a.target > 0) {
    j["target"] = a.target;
    j["percent"] = a.percent;
    j["remaining"] = a.remaining;
    j["months_left"] = a.months_left;
    j["needed_per_month"] = a.needed_per_month;
    j["on_track"] = a.on_track;
  }
  return j;
}

std::string time_text(int64_t micros) {
  const time_t secs = static_cast<time_t>(micros / 1'000'000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string target_line(const std::string& label, const Against& a) {
  std::ostringstream s;
  s << std::left << std::setw(22) << label << std::right << std::setw(8) << a.actual;
  if (a.target == 0) {
    s << "   (no target)\n";
    return s.str();
  }
  s << " / " << std::setw(7) << a.target << "  " << std::setw(6) << fixed(a.percent, 1) << "%";
  if (a.remaining == 0) {
    s << "  target reached\n";
    return s.str();
  }
  if (a.months_left <= 0) {
    s << "  " << a.remaining << " short, no time left (end date passed or not set)\n";
    return s.str();
  }
  s << "  need " << fixed(a.needed_per_month, 1) << "/month";
  if (a.has_rate) {
    s << ", recent " << fixed(a.recent_per_month, 1) << "/month"
      << (a.on_track ? "  on track" : "  BEHIND");
  }
  s << "\n";
  return s.str();
}

}  // namespace

std::string month_of(int64_t micros) {
  const time_t secs = static_cast<time_t>(micros / 1'000'000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
  return buf;
}

StatusOr<ProgressFacts> read_progress_facts(LedgerStore& store) {
  ProgressFacts f;
  auto learners = store.learner_facts();
  if (!learners.ok()) return learners.status();
  auto partners = store.partner_facts();
  if (!partners.ok()) return partners.status();
  auto courses = store.course_funnels();
  if (!courses.ok()) return courses.status();
  f.learners = std::move(*learners);
  f.partners = std::move(*partners);
  f.courses = std::move(*courses);
  return f;
}

Progress compute_progress(const ProgressFacts& facts, const Targets& targets, int64_t as_of) {
  const std::string& measure = targets.counts;
  Progress p;
  p.as_of_micros = as_of;
  p.measure = measure;
  const std::vector<LearnerFact> learners = merge_linked(facts.learners, p.records_merged);
  for (const LearnerFact& f : facts.learners) p.records_deactivated += f.deactivated_at ? 1 : 0;
  uint64_t recent_all = 0;
  std::map<std::string, uint64_t> recent_by_segment;
  for (const LearnerFact& f : learners) {
    Stage& seg = p.by_segment[f.segment];
    auto count = [&](std::optional<int64_t> t, uint64_t Stage::*field) {
      if (!t) return;
      ++(p.overall.*field);
      ++(seg.*field);
      ++(p.by_month[month_of(*t)][f.segment].*field);
    };
    // A learner with a registration event counts as registered even without its time.
    ++p.overall.registered;
    ++seg.registered;
    if (f.registered_at) ++p.by_month[month_of(*f.registered_at)][f.segment].registered;
    count(f.first_enrolled_at, &Stage::enrolled);
    count(f.first_completed_at, &Stage::completed);
    count(f.first_certified_at, &Stage::certified);
    if (recent(stage_time(f, measure), as_of)) {
      ++recent_all;
      ++recent_by_segment[f.segment];
    }
  }
  auto measured = [&measure](const Stage& s) {
    if (measure == "registered") return s.registered;
    if (measure == "completed") return s.completed;
    if (measure == "certified") return s.certified;
    return s.enrolled;
  };
  p.learners = against(measured(p.overall), targets.learners, recent_all, targets, as_of);
  for (const auto& [segment, target] : targets.by_segment) {
    p.segment_targets[segment] = against(measured(p.by_segment[segment]), target,
                                         recent_by_segment[segment], targets, as_of);
  }
  uint64_t active = 0;
  for (const PartnerFact& f : facts.partners) {
    ++p.partners_by_status[f.registry_status.empty() ? "unspecified" : f.registry_status];
    if (f.registry_status == "active") ++active;
  }
  // The store keeps the current standing, not when it changed: no recent rate for partners.
  p.partners = against(active, targets.partners, 0, targets, as_of);
  p.partners.has_rate = false;
  p.partners.on_track = targets.partners > 0 && p.partners.remaining == 0;
  p.courses = facts.courses;
  return p;
}

std::string render_table(const Progress& p) {
  std::ostringstream s;
  s << "Programme progress as of " << time_text(p.as_of_micros) << " (targets count learners "
    << p.measure << ")\n\n";
  s << target_line("learners", p.learners);
  for (const auto& [segment, a] : p.segment_targets) s << target_line("  " + segment, a);
  s << target_line("partners onboarded", p.partners);
  s << "\n"
    << std::left << std::setw(14) << "SEGMENT" << std::right << std::setw(11) << "REGISTERED"
    << std::setw(10) << "ENROLLED" << std::setw(11) << "COMPLETED" << std::setw(11) << "CERTIFIED"
    << "\n";
  auto stage_row = [&s](const std::string& label, const Stage& st) {
    s << std::left << std::setw(14) << label << std::right << std::setw(11) << st.registered
      << std::setw(10) << st.enrolled << std::setw(11) << st.completed << std::setw(11)
      << st.certified << "\n";
  };
  for (const auto& [segment, st] : p.by_segment) stage_row(segment, st);
  stage_row("all", p.overall);
  if (p.records_merged > 0) {
    s << "(" << p.records_merged << " person records linked by identity rules counted once)\n";
  }
  if (p.records_deactivated > 0) {
    s << "(" << p.records_deactivated
      << " person records deactivated by their HR system, kept in the counts above)\n";
  }
  s << "\n"
    << std::left << std::setw(14) << "MONTH" << std::right << std::setw(11) << "REGISTERED"
    << std::setw(10) << "ENROLLED" << std::setw(11) << "COMPLETED" << std::setw(11) << "CERTIFIED"
    << "\n";
  for (const auto& [month, segments] : p.by_month) {
    Stage total;
    for (const auto& [segment, st] : segments) {
      total.registered += st.registered;
      total.enrolled += st.enrolled;
      total.completed += st.completed;
      total.certified += st.certified;
    }
    stage_row(month, total);
  }
  s << "\npartners by registry status:";
  for (const auto& [status, n] : p.partners_by_status) s << " " << status << " " << n;
  s << "\n\n"
    << std::left << std::setw(20) << "COURSE" << std::right << std::setw(10) << "ENROLLED"
    << std::setw(11) << "COMPLETED" << std::setw(8) << "PASSED" << std::setw(11) << "CERTIFIED"
    << std::setw(12) << "COMPLETION"
    << "  TITLE\n";
  for (const CourseFunnel& c : p.courses) {
    const double rate =
        c.enrolled ? 100.0 * static_cast<double>(c.completed) / static_cast<double>(c.enrolled) : 0;
    s << std::left << std::setw(20) << c.course_id << std::right << std::setw(10) << c.enrolled
      << std::setw(11) << c.completed << std::setw(8) << c.passed << std::setw(11) << c.certified
      << std::setw(11) << fixed(rate, 1) << "%  " << c.title << "\n";
  }
  return s.str();
}

nlohmann::json render_json(const Progress& p) {
  nlohmann::json j;
  j["as_of"] = time_text(p.as_of_micros);
  j["measure"] = p.measure;
  j["overall"] = stage_json(p.overall);
  j["learners"] = against_json(p.learners);
  j["records_merged"] = p.records_merged;
  j["records_deactivated"] = p.records_deactivated;
  j["by_segment"] = nlohmann::json::object();
  for (const auto& [segment, st] : p.by_segment) j["by_segment"][segment] = stage_json(st);
  j["segment_targets"] = nlohmann::json::object();
  for (const auto& [segment, a] : p.segment_targets) {
    j["segment_targets"][segment] = against_json(a);
  }
  j["by_month"] = nlohmann::json::array();
  for (const auto& [month, segments] : p.by_month) {
    for (const auto& [segment, st] : segments) {
      nlohmann::json row = stage_json(st);
      row["month"] = month;
      row["segment"] = segment;
      j["by_month"].push_back(std::move(row));
    }
  }
  j["partners"] = against_json(p.partners);
  j["partners_by_status"] = p.partners_by_status;
  j["courses"] = nlohmann::json::array();
  for (const CourseFunnel& c : p.courses) {
    j["courses"].push_back({{"course_id", c.course_id},
                            {"title", c.title},
                            {"enrolled", c.enrolled},
                            {"completed", c.completed},
                            {"passed", c.passed},
                            {"certified", c.certified}});
  }
  return j;
}

}  // namespace simpang::plugins::talent_ledger
