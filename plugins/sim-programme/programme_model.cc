// The simulated programme: who arrives when, and what each arrival leads to. See
// programme_model.h. The proportions are meant to look like a national programme's first year,
// not to predict one; they live here as named constants so a reader can see and change them.
#include "programme_model.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <utility>

#include "simpang/sdk/cloudevents.h"

namespace simpang::plugins::sim_programme {
namespace {

namespace talent = simpang::talent::v1;

constexpr int64_t kMinute = 60;
constexpr int64_t kHour = 60 * kMinute;
constexpr int64_t kDay = 24 * kHour;
constexpr int64_t kStart = 1736121600;  // 2025-01-06T00:00:00Z, a Monday

// Over how long each arrival process spreads its population.
constexpr int64_t kRegistrySpan = 60 * kDay;
constexpr int64_t kCatalogueSpan = 90 * kDay;
constexpr int64_t kIntakeSpan = 365 * kDay;
constexpr int64_t kFirstCourse = 1 * kDay;
constexpr int64_t kFirstLearner = 3 * kDay;

constexpr double kAppliedShare = 0.3;    // partners that join as APPLIED rather than ACTIVE
constexpr double kOnboardedShare = 0.7;  // of those, onboarded later
constexpr double kCertificationShare = 0.55;
constexpr double kEnrollShare = 0.92;    // registered learners who enroll at all
constexpr double kCompleteShare = 0.72;  // enrollments that end in a completion record
constexpr double kNextCourseAfterPass = 0.35;
constexpr double kRetryAfterFail = 0.3;
constexpr double kEmploymentEnds = 0.08;
constexpr uint64_t kEmploymentAttempts = 8;

// Segment weights (student, educator, government, industry) and, per segment, the share that
// has or finds a job the simulator reports.
constexpr std::array<uint32_t, 4> kSegmentWeights = {45, 10, 15, 30};
constexpr std::array<double, 4> kEmployedShare = {0.10, 0.50, 0.80, 0.90};

struct Region {
  const char* name;
  uint32_t weight;  // roughly population
};
constexpr Region kRegions[] = {
    {"Selangor", 70},     {"Johor", 40},  {"Sabah", 34},        {"Sarawak", 25},
    {"Perak", 25},        {"Kedah", 22},  {"Kuala Lumpur", 20}, {"Kelantan", 19},
    {"Pulau Pinang", 18}, {"Pahang", 16}, {"Terengganu", 12},   {"Negeri Sembilan", 12},
    {"Melaka", 10},       {"Perlis", 3},  {"Putrajaya", 1},     {"Labuan", 1}};

constexpr const char* kGivenNames[] = {
    "Aisyah",   "Muhammad", "Nurul",   "Ahmad",   "Siti",  "Amir",  "Farah",   "Hafiz",
    "Wei Ling", "Jun Hao",  "Mei Xin", "Kah Wai", "Priya", "Arjun", "Kavitha", "Ravi",
    "Daniel",   "Grace",    "Joanna",  "Azlan",   "Nadia", "Irfan", "Li Ting", "Suresh"};
constexpr const char* kFamilyNames[] = {"Abdullah",   "Rahman",  "Ismail", "Hassan",      "Ibrahim",
                                        "Tan",        "Lim",     "Wong",   "Lee",         "Ng",
                                        "Chong",      "Raj",     "Kumar",  "Subramaniam", "Pillai",
                                        "Anak Jugah", "Gimbang", "Yusof",  "Othman",      "Chin"};

constexpr const char* kCompanyWords[] = {
    "Tenggara", "Nusantara", "Gemilang", "Cahaya", "Mutiara", "Helang", "Puncak",  "Seri",
    "Bayu",     "Intan",     "Kinabalu", "Rimba",  "Permata", "Suria",  "Wawasan", "Jaya"};
// Employer sectors, each with the words its company names end in.
struct Sector {
  const char* name;
  std::array<const char*, 3> nouns;
};
constexpr Sector kSectors[] = {{"Financial services", {"Capital", "Kewangan", "Insurance"}},
                               {"Manufacturing", {"Manufacturing", "Industries", "Precision"}},
                               {"Telecommunications", {"Telekom", "Networks", "Broadband"}},
                               {"Energy", {"Energy", "Power", "Renewables"}},
                               {"Healthcare", {"Health", "Medik", "Care"}},
                               {"Logistics", {"Logistics", "Freight", "Ports"}},
                               {"Retail", {"Retail", "Mart", "Commerce"}},
                               {"Technology", {"Digital", "Analytics", "Robotics"}},
                               {"Agriculture", {"Agritech", "Plantations", "Agro"}},
                               {"Semiconductors", {"Semiconductor", "Microsystems", "Silicon"}}};
constexpr const char* kPlaces[] = {"Malaya",      "Tenggara", "Utara",   "Pantai Timur",
                                   "Borneo",      "Selatan",  "Perdana", "Lembah Klang",
                                   "Semenanjung", "Kinabalu", "Rajang",  "Pahang",
                                   "Melaka",      "Tanjung",  "Muara",   "Banjaran"};
// Name forms per organisation kind; "%s" is a place or a word.
constexpr const char* kUniversityForms[] = {"Universiti %s", "Universiti Teknologi %s",
                                            "Kolej Universiti %s"};
constexpr const char* kAcademyForms[] = {"%s AI Academy", "%s Data Academy", "Institut Digital %s"};
constexpr const char* kAgencyForms[] = {"Agensi Digital %s", "Lembaga Data %s",
                                        "Jabatan Inovasi %s"};
constexpr const char* kTopics[] = {"Foundations of AI",
                                   "Machine Learning",
                                   "Deep Learning",
                                   "Data Engineering",
                                   "MLOps",
                                   "Natural Language Processing",
                                   "Computer Vision",
                                   "AI Ethics and Governance",
                                   "Generative AI",
                                   "Data Analytics with Python",
                                   "Reinforcement Learning",
                                   "AI for the Public Service",
                                   "AI Product Management",
                                   "Cloud AI Platforms",
                                   "Statistics for Data Science"};

constexpr const char* kIndustryTitles[] = {
    "Data Analyst",     "Software Engineer", "ML Engineer",         "Data Engineer",
    "Business Analyst", "Product Manager",   "Operations Executive"};
constexpr const char* kGovernmentTitles[] = {"Assistant Director", "Administrative Officer",
                                             "IT Officer", "Policy Analyst"};
constexpr const char* kEducatorTitles[] = {"Lecturer", "Senior Lecturer", "Instructor",
                                           "Teaching Fellow"};

template <typename T, size_t N>
const T& pick(Rng& rng, const T (&items)[N]) {
  return items[rng.below(N)];
}

std::string form(const char* pattern, const char* word) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), pattern, word);
  return buf;
}

std::string numbered(const std::string& prefix, const char* kind, uint64_t n, int width) {
  char digits[32];
  std::snprintf(digits, sizeof(digits), "%0*llu", width, static_cast<unsigned long long>(n));
  return prefix + kind + "-" + digits;
}

// The last second a Timestamp (and RFC 3339) can name: 9999-12-31T23:59:59Z.
constexpr int64_t kLastSecond = 253402300799;

// Simulated time reaches year 9999 only after some hundred million events; a run that long keeps
// stamping the last valid second rather than emitting timestamps nothing can parse.
google::protobuf::Timestamp timestamp(int64_t seconds) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(std::min(seconds, kLastSecond));
  return ts;
}

std::string ascii_slug(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c >= 'A' && c <= 'Z') {
      out.push_back(static_cast<char>(c - 'A' + 'a'));
    } else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

// ---- Rng ----------------------------------------------------------------------------------------

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t Rng::below(uint64_t n) {
  // Multiply-shift: a bias below 2^-32 for the small ranges used here, and no retry loop.
  return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
}

int64_t Rng::between(int64_t lo, int64_t hi) {
  return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
}

double Rng::unit() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

size_t Rng::weighted(const std::vector<uint32_t>& weights) {
  uint64_t total = 0;
  for (uint32_t w : weights) {
    total += w;
  }
  uint64_t r = below(total);
  for (size_t i = 0; i < weights.size(); ++i) {
    if (r < weights[i]) {
      return i;
    }
    r -= weights[i];
  }
  return weights.size() - 1;
}

// ---- ProgrammeModel -----------------------------------------------------------------------------

ProgrammeModel::ProgrammeModel(ModelConfig config)
    : config_(std::move(config)),
      id_prefix_("s" + std::to_string(config_.seed) + "-"),
      rng_(config_.seed),
      now_(kStart) {
  persons_.reserve(config_.learners);
  organisations_.reserve(config_.partners);
  courses_.reserve(config_.courses);
  schedule({.at = kStart, .action = Action::kRegisterOrganisation});
  schedule({.at = kStart + kFirstCourse, .action = Action::kPublishCourse});
  schedule({.at = kStart + kFirstLearner, .action = Action::kRegisterPerson});
}

void ProgrammeModel::schedule(Pending pending) {
  pending.order = scheduled_++;
  agenda_.push(pending);
}

simpang::v1::Event ProgrammeModel::next() {
  simpang::v1::Event event;
  // The agenda never empties (the learner arrival process always reschedules itself), and every
  // entry that produces nothing reschedules into the future, so this loop ends.
  while (true) {
    const Pending pending = agenda_.top();
    agenda_.pop();
    now_ = pending.at;
    if (run(pending, &event)) {
      return event;
    }
  }
}

bool ProgrammeModel::run(const Pending& pending, simpang::v1::Event* event) {
  switch (pending.action) {
    case Action::kRegisterOrganisation:
      return register_organisation(event);
    case Action::kActivateOrganisation:
      return activate_organisation(pending.subject, event);
    case Action::kPublishCourse:
      return publish_course(event);
    case Action::kRegisterPerson:
      return register_person(event);
    case Action::kStartEmployment:
      return start_employment(pending, event);
    case Action::kEndEmployment:
      return end_employment(pending.subject, event);
    case Action::kEnroll:
      return enroll(pending.subject, event);
    case Action::kComplete:
      return complete(pending, event);
  }
  return false;
}

void ProgrammeModel::envelope(std::string_view type, const std::string& subject,
                              const google::protobuf::Message& data, simpang::v1::Event* event) {
  ++emitted_;
  event->Clear();
  event->set_id("sim-" + std::to_string(config_.seed) + "-" + std::to_string(emitted_));
  event->set_source(config_.source);
  event->set_spec_version("1.0");
  event->set_type(std::string(type));
  event->set_subject(subject);
  *event->mutable_time() = timestamp(now_);
  simpang::sdk::set_json_data(*event, data);
}

std::string ProgrammeModel::unique_name(const std::function<std::string()>& draw) {
  // A few fresh draws first; a numbered name only once the word lists run short.
  std::string name;
  for (int attempt = 0; attempt < 8; ++attempt) {
    name = draw();
    if (names_.insert(name).second) {
      return name;
    }
  }
  for (int n = 2;; ++n) {
    std::string candidate = name + " " + std::to_string(n);
    if (names_.insert(candidate).second) {
      return candidate;
    }
  }
}

int32_t ProgrammeModel::pick_organisation(std::initializer_list<talent::OrganisationKind> kinds) {
  std::vector<int32_t> matching;
  for (size_t i = 0; i < organisations_.size(); ++i) {
    const auto kind = organisations_[i].record.kind();
    if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) {
      matching.push_back(static_cast<int32_t>(i));
    }
  }
  return matching.empty() ? -1 : matching[rng_.below(matching.size())];
}

bool ProgrammeModel::register_organisation(simpang::v1::Event* event) {
  const auto index = static_cast<uint32_t>(organisations_.size());
  talent::Organisation org;
  org.set_organisation_id(numbered(id_prefix_, "org", index + 1, 4));
  auto* registry_id = org.add_ids();
  registry_id->set_system("registry:partners.example.gov.my");
  registry_id->set_value(numbered("", "PR", index + 1, 4));

  // The first two partners are a university and an academy, so courses can be published early
  // whatever the seed.
  talent::OrganisationKind kind;
  if (index == 0) {
    kind = talent::ORGANISATION_KIND_UNIVERSITY;
  } else if (index == 1) {
    kind = talent::ORGANISATION_KIND_ACADEMY;
  } else {
    static const std::vector<uint32_t> kKindWeights = {8, 12, 70, 10};
    kind = static_cast<talent::OrganisationKind>(rng_.weighted(kKindWeights) + 1);
  }
  org.set_kind(kind);
  switch (kind) {
    case talent::ORGANISATION_KIND_UNIVERSITY:
      org.set_name(
          unique_name([&] { return form(pick(rng_, kUniversityForms), pick(rng_, kPlaces)); }));
      org.set_sector("Higher education");
      org.set_training_target(static_cast<uint32_t>(rng_.between(6, 60) * 50));
      break;
    case talent::ORGANISATION_KIND_ACADEMY:
      org.set_name(
          unique_name([&] { return form(pick(rng_, kAcademyForms), pick(rng_, kCompanyWords)); }));
      org.set_sector("Training");
      org.set_training_target(static_cast<uint32_t>(rng_.between(2, 30) * 50));
      break;
    case talent::ORGANISATION_KIND_GOVERNMENT_AGENCY:
      org.set_name(
          unique_name([&] { return form(pick(rng_, kAgencyForms), pick(rng_, kPlaces)); }));
      org.set_sector("Public sector");
      org.set_training_target(static_cast<uint32_t>(rng_.between(2, 20) * 50));
      break;
    default: {
      const Sector& sector = pick(rng_, kSectors);
      org.set_name(unique_name([&] {
        return std::string(pick(rng_, kCompanyWords)) + " " +
               sector.nouns[rng_.below(sector.nouns.size())] +
               (rng_.chance(0.2) ? " Berhad" : " Sdn Bhd");
      }));
      org.set_sector(sector.name);
      org.set_training_target(static_cast<uint32_t>(rng_.between(2, 40) * 10));
      break;
    }
  }
  const bool applied = index >= 2 && rng_.chance(kAppliedShare);
  org.set_registry_status(applied ? talent::REGISTRY_STATUS_APPLIED
                                  : talent::REGISTRY_STATUS_ACTIVE);
  if (applied && rng_.chance(kOnboardedShare)) {
    schedule({.at = now_ + rng_.between(7 * kDay, 60 * kDay),
              .action = Action::kActivateOrganisation,
              .subject = index});
  }
  organisations_.push_back({org});

  if (organisations_.size() < config_.partners) {
    const int64_t mean_gap = std::max<int64_t>(kRegistrySpan / config_.partners, kMinute);
    schedule({.at = now_ + rng_.between(kMinute, 2 * mean_gap),
              .action = Action::kRegisterOrganisation});
  }
  envelope(kOrganisationRegistered, org.organisation_id(), org, event);
  return true;
}

bool ProgrammeModel::activate_organisation(uint32_t index, simpang::v1::Event* event) {
  // The registry re-announces the organisation with its new standing; consumers upsert by id.
  talent::Organisation& org = organisations_[index].record;
  org.set_registry_status(talent::REGISTRY_STATUS_ACTIVE);
  envelope(kOrganisationRegistered, org.organisation_id(), org, event);
  return true;
}

bool ProgrammeModel::publish_course(simpang::v1::Event* event) {
  const int32_t provider =
      pick_organisation({talent::ORGANISATION_KIND_UNIVERSITY, talent::ORGANISATION_KIND_ACADEMY});
  const int64_t mean_gap = std::max<int64_t>(kCatalogueSpan / config_.courses, kMinute);
  if (provider < 0) {
    schedule({.at = now_ + kDay, .action = Action::kPublishCourse});
    return false;
  }
  const auto index = static_cast<uint32_t>(courses_.size());
  talent::Course course;
  course.set_course_id(numbered(id_prefix_, "course", index + 1, 3));
  auto* lms_id = course.add_ids();
  lms_id->set_system("moodle:lms.example.edu.my");
  lms_id->set_value("course/" + std::to_string(1000 + index));
  course.set_provider_id(organisations_[static_cast<size_t>(provider)].record.organisation_id());

  static const std::vector<uint32_t> kLevelWeights = {40, 40, 20};
  const auto level = static_cast<talent::CourseLevel>(rng_.weighted(kLevelWeights) + 1);
  course.set_level(level);
  static constexpr const char* kLevelNames[] = {"", "Foundation", "Intermediate", "Advanced"};
  course.set_title(
      unique_name([&] { return std::string(pick(rng_, kTopics)) + ": " + kLevelNames[level]; }));
  course.set_certification(rng_.chance(kCertificationShare));
  switch (level) {
    case talent::COURSE_LEVEL_FOUNDATION:
      course.set_pass_score(static_cast<double>(rng_.between(10, 12) * 5));  // 50..60
      course.set_hours(static_cast<uint32_t>(rng_.between(4, 15) * 2));
      break;
    case talent::COURSE_LEVEL_INTERMEDIATE:
      course.set_pass_score(static_cast<double>(rng_.between(12, 13) * 5));  // 60..65
      course.set_hours(static_cast<uint32_t>(rng_.between(10, 30) * 2));
      break;
    default:
      course.set_pass_score(static_cast<double>(rng_.between(13, 14) * 5));  // 65..70
      course.set_hours(static_cast<uint32_t>(rng_.between(20, 60) * 2));
      break;
  }
  // Foundation courses draw the crowds.
  const uint32_t popularity = level == talent::COURSE_LEVEL_FOUNDATION     ? 6
                              : level == talent::COURSE_LEVEL_INTERMEDIATE ? 3
                                                                           : 1;
  courses_.push_back({course, popularity});

  if (courses_.size() < config_.courses) {
    schedule({.at = now_ + rng_.between(kMinute, 2 * mean_gap), .action = Action::kPublishCourse});
  }
  envelope(kCoursePublished, course.course_id(), course, event);
  return true;
}

bool ProgrammeModel::register_person(simpang::v1::Event* event) {
  const bool intake_over = persons_.size() >= config_.learners;
  int64_t mean_gap = std::max<int64_t>(kIntakeSpan / config_.learners, 1);
  if (intake_over) {
    // At least one returning learner an hour, so a tiny pool does not spend simulated centuries
    // between events.
    mean_gap = std::min(mean_gap, kHour);
  }
  schedule({.at = now_ + rng_.between(1, 2 * mean_gap), .action = Action::kRegisterPerson});
  if (intake_over) {
    // The pool is registered; from now on this arrival process brings back a past learner.
    const auto person = static_cast<uint32_t>(rng_.below(persons_.size()));
    return enroll(person, event);
  }

  const auto index = static_cast<uint32_t>(persons_.size());
  static const std::vector<uint32_t> kSegments(kSegmentWeights.begin(), kSegmentWeights.end());
  const size_t segment_index = rng_.weighted(kSegments);
  const auto segment = static_cast<talent::Segment>(segment_index + 1);
  static const std::vector<uint32_t> kRegionWeights = [] {
    std::vector<uint32_t> weights;
    for (const Region& r : kRegions) {
      weights.push_back(r.weight);
    }
    return weights;
  }();

  talent::Person person;
  person.set_person_id(numbered(id_prefix_, "person", index + 1, 6));
  auto* lms_id = person.add_ids();
  lms_id->set_system("moodle:lms.example.edu.my");
  lms_id->set_value("u" + std::to_string(100000 + index));
  const std::string given = pick(rng_, kGivenNames);
  const std::string family = pick(rng_, kFamilyNames);
  person.set_display_name(given + " " + family);
  static constexpr const char* kDomains[] = {"", "student.example.edu.my", "staff.example.edu.my",
                                             "example.gov.my", "mail.example.com.my"};
  person.set_email(ascii_slug(given) + "." + ascii_slug(family) + std::to_string(index + 1) + "@" +
                   kDomains[segment]);
  person.set_segment(segment);
  person.set_region(kRegions[rng_.weighted(kRegionWeights)].name);
  *person.mutable_registered_at() = timestamp(now_);

  PersonState state;
  state.id = person.person_id();
  state.segment = segment;
  persons_.push_back(std::move(state));

  if (rng_.chance(kEmployedShare[segment_index])) {
    schedule({.at = now_ + rng_.between(kHour, 14 * kDay),
              .action = Action::kStartEmployment,
              .subject = index});
  }
  if (rng_.chance(kEnrollShare)) {
    schedule(
        {.at = now_ + rng_.between(kHour, 21 * kDay), .action = Action::kEnroll, .subject = index});
  }
  envelope(kPersonRegistered, person.person_id(), person, event);
  return true;
}

bool ProgrammeModel::start_employment(const Pending& pending, simpang::v1::Event* event) {
  const uint32_t index = pending.subject;
  PersonState& person = persons_[index];
  int32_t employer = -1;
  const char* title = nullptr;
  switch (person.segment) {
    case talent::SEGMENT_STUDENT:
      employer = pick_organisation({talent::ORGANISATION_KIND_EMPLOYER});
      title = "Intern";
      break;
    case talent::SEGMENT_EDUCATOR:
      employer = pick_organisation(
          {talent::ORGANISATION_KIND_UNIVERSITY, talent::ORGANISATION_KIND_ACADEMY});
      title = pick(rng_, kEducatorTitles);
      break;
    case talent::SEGMENT_GOVERNMENT:
      employer = pick_organisation({talent::ORGANISATION_KIND_GOVERNMENT_AGENCY});
      title = pick(rng_, kGovernmentTitles);
      break;
    default:
      employer = pick_organisation({talent::ORGANISATION_KIND_EMPLOYER});
      title = pick(rng_, kIndustryTitles);
      break;
  }
  if (employer < 0) {
    // No such organisation has registered yet; look again weekly for a couple of months (a small
    // registry may never have one).
    if (pending.serial < kEmploymentAttempts) {
      schedule({.at = now_ + 7 * kDay,
                .action = Action::kStartEmployment,
                .subject = index,
                .serial = pending.serial + 1});
    }
    return false;
  }
  person.employer = employer;
  person.job_title = title;
  person.employed_since = now_;

  talent::Employment employment;
  employment.set_person_id(person.id);
  employment.set_organisation_id(
      organisations_[static_cast<size_t>(employer)].record.organisation_id());
  employment.set_job_title(person.job_title);
  employment.set_active(true);
  *employment.mutable_start_date() = timestamp(now_);
  if (rng_.chance(kEmploymentEnds)) {
    schedule({.at = now_ + rng_.between(30 * kDay, 365 * kDay),
              .action = Action::kEndEmployment,
              .subject = index});
  }
  envelope(kEmploymentUpdated, person.id, employment, event);
  return true;
}

bool ProgrammeModel::end_employment(uint32_t index, simpang::v1::Event* event) {
  PersonState& person = persons_[index];
  if (person.employer < 0) {
    return false;
  }
  talent::Employment employment;
  employment.set_person_id(person.id);
  employment.set_organisation_id(
      organisations_[static_cast<size_t>(person.employer)].record.organisation_id());
  employment.set_job_title(person.job_title);
  employment.set_active(false);
  *employment.mutable_start_date() = timestamp(person.employed_since);
  *employment.mutable_end_date() = timestamp(now_);
  person.employer = -1;
  envelope(kEmploymentUpdated, person.id, employment, event);
  return true;
}

bool ProgrammeModel::enroll(uint32_t index, simpang::v1::Event* event) {
  if (courses_.empty()) {
    schedule({.at = now_ + kDay, .action = Action::kEnroll, .subject = index});
    return false;
  }
  PersonState& person = persons_[index];
  // Prefer a course the learner has not taken; a learner who has taken them all retakes one.
  std::vector<uint32_t> weights(courses_.size());
  bool any = false;
  for (size_t i = 0; i < courses_.size(); ++i) {
    const bool taken = std::find(person.courses_taken.begin(), person.courses_taken.end(), i) !=
                       person.courses_taken.end();
    weights[i] = taken ? 0 : courses_[i].popularity;
    any = any || !taken;
  }
  if (!any) {
    for (size_t i = 0; i < courses_.size(); ++i) {
      weights[i] = courses_[i].popularity;
    }
  }
  const auto course = static_cast<uint32_t>(rng_.weighted(weights));
  if (any) {
    person.courses_taken.push_back(course);
  }
  const uint64_t serial = ++enrollments_;

  talent::Enrollment enrollment;
  enrollment.set_enrollment_id(numbered(id_prefix_, "enr", serial, 7));
  enrollment.set_person_id(person.id);
  enrollment.set_course_id(courses_[course].record.course_id());
  *enrollment.mutable_enrolled_at() = timestamp(now_);

  if (rng_.chance(kCompleteShare)) {
    // Longer courses take longer: between half a day and two days per nominal hour.
    const int64_t hours = courses_[course].record.hours();
    schedule({.at = now_ + rng_.between(hours * kDay / 2, hours * 2 * kDay),
              .action = Action::kComplete,
              .subject = index,
              .course = course,
              .serial = serial});
  }
  envelope(kEnrollmentCreated, person.id, enrollment, event);
  return true;
}

bool ProgrammeModel::complete(const Pending& pending, simpang::v1::Event* event) {
  const PersonState& person = persons_[pending.subject];
  const talent::Course& course = courses_[pending.course].record;

  // A bell-ish score (the mean of three uniforms) around 68, easier at foundation level, in
  // half points as LMS gradebooks report them.
  double score = 40.0 + 56.0 * (rng_.unit() + rng_.unit() + rng_.unit()) / 3.0;
  if (course.level() == talent::COURSE_LEVEL_FOUNDATION) {
    score += 5.0;
  } else if (course.level() == talent::COURSE_LEVEL_ADVANCED) {
    score -= 5.0;
  }
  score = std::clamp(static_cast<double>(static_cast<int64_t>(score * 2.0)) / 2.0, 0.0, 100.0);

  talent::Completion completion;
  completion.set_enrollment_id(numbered(id_prefix_, "enr", pending.serial, 7));
  completion.set_person_id(person.id);
  completion.set_course_id(course.course_id());
  completion.set_score(score);
  completion.set_passed(score >= course.pass_score());
  completion.set_certification(course.certification());
  *completion.mutable_completed_at() = timestamp(now_);

  if (rng_.chance(completion.passed() ? kNextCourseAfterPass : kRetryAfterFail)) {
    schedule({.at = now_ + rng_.between(3 * kDay, 30 * kDay),
              .action = Action::kEnroll,
              .subject = pending.subject});
  }
  envelope(kCompletionRecorded, person.id, completion, event);
  return true;
}

}  // namespace simpang::plugins::sim_programme
