// The simulated AI-talent programme behind the sim-programme source: partners joining the
// registry, providers publishing courses, learners registering, finding jobs, enrolling and
// completing. Pure and deterministic: no clock, no I/O, no SDK context, so the same seed always
// yields the same sequence of events (tested in tests/unit/sdk/programme_model_test.cc).
//
//   ProgrammeModel model({.seed = 42, .source = "/simpang/sim-programme/demo"});
//   simpang::v1::Event e = model.next();   // e.id() == "sim-42-1"
//
// The simulation is a discrete-event agenda in simulated time, which starts at
// 2025-01-06T00:00:00Z and runs far faster than the wall clock (the plugin paces emission, not the
// model). Each event's `time` is its simulated time, so times never go backwards.
#pragma once

#include <cstdint>
#include <functional>
#include <queue>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "simpang/talent/v1/talent.pb.h"
#include "simpang/v1/event.pb.h"

namespace simpang::plugins::sim_programme {

inline constexpr std::string_view kOrganisationRegistered = "talent.organisation.registered";
inline constexpr std::string_view kCoursePublished = "talent.course.published";
inline constexpr std::string_view kPersonRegistered = "talent.person.registered";
inline constexpr std::string_view kEmploymentUpdated = "talent.employment.updated";
inline constexpr std::string_view kEnrollmentCreated = "talent.enrollment.created";
inline constexpr std::string_view kCompletionRecorded = "talent.completion.recorded";

struct ModelConfig {
  uint64_t seed = 42;
  uint32_t learners = 10000;  // people who register; after that, registered learners keep learning
  uint32_t partners = 200;    // organisations in the partner registry
  uint32_t courses = 40;      // courses the providers publish
  std::string source = "/simpang/sim-programme/sim-programme";  // CloudEvents source of every event
};

// A small, fully specified PRNG (SplitMix64), so a seed gives the same numbers with every compiler
// and standard library; std::uniform_int_distribution and friends do not promise that.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform in [0, n). REQUIRES: n > 0.
  uint64_t below(uint64_t n);
  // Uniform in [lo, hi]. REQUIRES: lo <= hi.
  int64_t between(int64_t lo, int64_t hi);
  // Uniform in [0, 1).
  double unit();
  bool chance(double p) { return unit() < p; }
  // An index drawn with probability proportional to weights[i]. REQUIRES: a positive weight.
  size_t weighted(const std::vector<uint32_t>& weights);

 private:
  uint64_t state_;
};

class ProgrammeModel {
 public:
  // REQUIRES: config.learners, config.partners and config.courses are at least 1.
  explicit ProgrammeModel(ModelConfig config);

  // The next event: id "sim-<seed>-<n>" for the n-th (from 1), the configured source, one of the
  // types above, subject the person (or organisation, or course) id, time the simulated time, and
  // data the protobuf JSON mapping of the talent.v1 message (set_json_data). Never runs out:
  // once every learner has registered, returning learners keep enrolling and completing.
  simpang::v1::Event next();

  // How many events next() has returned.
  uint64_t emitted() const { return emitted_; }

 private:
  enum class Action : uint8_t {
    kRegisterOrganisation,  // arrival process over the partner registry
    kActivateOrganisation,  // an APPLIED partner is onboarded
    kPublishCourse,         // arrival process over the course catalogue
    kRegisterPerson,        // arrival process over the learner pool, then returning learners
    kStartEmployment,
    kEndEmployment,
    kEnroll,
    kComplete,
  };
  struct Pending {
    int64_t at = 0;      // simulated Unix seconds
    uint64_t order = 0;  // tie-break: scheduling order, so equal times stay deterministic
    Action action = Action::kRegisterPerson;
    uint32_t subject = 0;  // index into organisations_ or persons_
    uint32_t course = 0;   // kComplete: index into courses_
    uint64_t serial = 0;   // kComplete: the enrollment's number; kStartEmployment: attempts
    // The earliest first, then in scheduling order.
    bool operator>(const Pending& other) const {
      return at != other.at ? at > other.at : order > other.order;
    }
  };
  struct OrganisationState {
    simpang::talent::v1::Organisation record;
  };
  struct CourseState {
    simpang::talent::v1::Course record;
    uint32_t popularity = 1;  // enrollment weight
  };
  struct PersonState {
    std::string id;
    simpang::talent::v1::Segment segment = simpang::talent::v1::SEGMENT_UNSPECIFIED;
    int32_t employer = -1;  // index into organisations_, -1 when not employed
    std::string job_title;
    int64_t employed_since = 0;
    std::vector<uint32_t> courses_taken;
  };
  void schedule(Pending pending);
  // Runs one agenda entry; returns true when it produced *event (some entries only reschedule).
  bool run(const Pending& pending, simpang::v1::Event* event);

  bool register_organisation(simpang::v1::Event* event);
  bool activate_organisation(uint32_t index, simpang::v1::Event* event);
  bool publish_course(simpang::v1::Event* event);
  bool register_person(simpang::v1::Event* event);
  bool start_employment(const Pending& pending, simpang::v1::Event* event);
  bool end_employment(uint32_t person, simpang::v1::Event* event);
  bool enroll(uint32_t person, simpang::v1::Event* event);
  bool complete(const Pending& pending, simpang::v1::Event* event);

  // Picks a registered organisation of one of `kinds`; -1 if there is none yet.
  int32_t pick_organisation(std::initializer_list<simpang::talent::v1::OrganisationKind> kinds);
  // A name from `draw` that no organisation or course has yet.
  std::string unique_name(const std::function<std::string()>& draw);
  // Fills the envelope of the next event and its data.
  void envelope(std::string_view type, const std::string& subject,
                const google::protobuf::Message& data, simpang::v1::Event* event);

  const ModelConfig config_;
  const std::string id_prefix_;  // "s<seed>-": keeps two simulators' entities apart in one hub
  Rng rng_;
  int64_t now_;
  uint64_t emitted_ = 0;
  uint64_t scheduled_ = 0;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> agenda_;
  std::vector<OrganisationState> organisations_;
  std::vector<CourseState> courses_;
  std::vector<PersonState> persons_;
  uint64_t enrollments_ = 0;  // enrollments made; an agenda entry, not a record, carries each one
  std::set<std::string> names_;  // organisation names and course titles in use
};

}  // namespace simpang::plugins::sim_programme
