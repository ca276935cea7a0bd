#include "apply.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "identity.h"
#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins::talent_ledger {
namespace {

namespace tv1 = simpang::talent::v1;
using google::protobuf::Timestamp;
using google::protobuf::util::TimeUtil;

// "SEGMENT_STUDENT" -> "student": the enum name without its prefix, lower case.
std::string enum_word(const std::string& name, const std::string& prefix) {
  std::string s = name.rfind(prefix, 0) == 0 ? name.substr(prefix.size()) : name;
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

Value time_or_null(const Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return std::monostate{};
  return TimeUtil::TimestampToMicroseconds(t);
}

Value b(bool v) { return static_cast<int64_t>(v ? 1 : 0); }

struct Malformed {
  std::string reason;
};

// Checks that a required id field is set; the reason names the JSON member.
std::optional<Malformed> require(const std::string& value, const char* json_name) {
  if (value.empty()) return Malformed{std::string("data.") + json_name + " is missing or empty"};
  return std::nullopt;
}

template <typename M>
std::optional<Malformed> parse(const simpang::v1::Event& event, M& message) {
  if (Status s = simpang::sdk::get_json_data(event, message); !s.ok()) {
    return Malformed{"data is not a " + message.GetDescriptor()->full_name() + ": " + s.message()};
  }
  return std::nullopt;
}

struct Mapped {
  Row row;
  std::optional<tv1::Person> person;
};

// Maps the event to its entity row, or says why it cannot be.
std::variant<Mapped, Malformed> map_event(const simpang::v1::Event& event, int64_t version) {
  const std::string& type = event.type();
  Mapped m;
  m.row.version = version;
  if (type == "talent.organisation.registered" || type.rfind("partner.", 0) == 0) {
    // The registry's partner.* events carry the partner's full current state, as
    // talent.organisation.registered does; deregistered keeps the row, marked.
    tv1::Organisation o;
    if (auto bad = parse(event, o)) return *bad;
    if (auto bad = require(o.organisation_id(), "organisationId")) return *bad;
    const bool deregistered = type == "partner.deregistered";
    std::string status =
        enum_word(tv1::RegistryStatus_Name(o.registry_status()), "REGISTRY_STATUS_");
    if (deregistered && o.registry_status() == tv1::REGISTRY_STATUS_UNSPECIFIED) {
      status = "withdrawn";
    }
    m.row.table = "organisations";
    m.row.key = {{"organisation_id", o.organisation_id()}};
    m.row.fields = {{"name", o.name()},
                    {"kind", enum_word(tv1::OrganisationKind_Name(o.kind()), "ORGANISATION_KIND_")},
                    {"registry_status", status},
                    {"sector", o.sector()},
                    {"training_target", static_cast<int64_t>(o.training_target())}};
    if (type != "talent.organisation.registered") {
      // Only the registry knows these; an LMS or simulator announcing the organisation does not
      // clear them.
      m.row.fields.emplace_back("certification", o.certification());
      m.row.fields.emplace_back("certification_expires_at",
                                time_or_null(o.certification_expires_at()));
      m.row.fields.emplace_back("deregistered_at", deregistered ? Value(version) : Value());
    }
  } else if (type == "talent.course.published") {
    tv1::Course c;
    if (auto bad = parse(event, c)) return *bad;
    if (auto bad = require(c.course_id(), "courseId")) return *bad;
    m.row.table = "courses";
    m.row.key = {{"course_id", c.course_id()}};
    m.row.fields = {{"title", c.title()},
                    {"provider_id", c.provider_id()},
                    {"level", enum_word(tv1::CourseLevel_Name(c.level()), "COURSE_LEVEL_")},
                    {"certification", b(c.certification())},
                    {"pass_score", c.pass_score()},
                    {"hours", static_cast<int64_t>(c.hours())}};
  } else if (type == "talent.person.registered" || type == "talent.person.updated" ||
             type == "talent.person.deactivated") {
    tv1::Person p;
    if (auto bad = parse(event, p)) return *bad;
    if (auto bad = require(p.person_id(), "personId")) return *bad;
    m.row.table = "persons";
    m.row.key = {{"person_id", p.person_id()}};
    m.row.fields = {{"display_name", p.display_name()}, {"email", p.email()}};
    // An HR system's update may not know the programme's segment, region or registration time:
    // what it leaves out keeps the value another source gave (registered always writes them).
    const bool registered = type == "talent.person.registered";
    if (registered || p.segment() != tv1::SEGMENT_UNSPECIFIED) {
      m.row.fields.emplace_back("segment", enum_word(tv1::Segment_Name(p.segment()), "SEGMENT_"));
    }
    if (registered || !p.region().empty()) m.row.fields.emplace_back("region", p.region());
    if (registered || p.has_registered_at()) {
      m.row.fields.emplace_back("registered_at", time_or_null(p.registered_at()));
    }
    // Deactivated keeps the person (and what they did), marked; a later change reactivates.
    m.row.fields.emplace_back("deactivated_at", type == "talent.person.deactivated"
                                                    ? Value(version)
                                                    : Value());
    m.person = std::move(p);
  } else if (type == "talent.employment.updated") {
    tv1::Employment e;
    if (auto bad = parse(event, e)) return *bad;
    if (auto bad = require(e.person_id(), "personId")) return *bad;
    if (auto bad = require(e.organisation_id(), "organisationId")) return *bad;
    m.row.table = "employments";
    m.row.key = {{"person_id", e.person_id()}, {"organisation_id", e.organisation_id()}};
    m.row.fields = {{"job_title", e.job_title()},
                    {"active", b(e.active())},
                    {"start_date", time_or_null(e.start_date())},
                    {"end_date", time_or_null(e.end_date())},
                    {"department", e.department()},
                    {"manager_person_id", e.manager_person_id()}};
  } else if (type == "talent.enrollment.created") {
    tv1::Enrollment e;
    if (auto bad = parse(event, e)) return *bad;
    if (auto bad = require(e.enrollment_id(), "enrollmentId")) return *bad;
    if (auto bad = require(e.person_id(), "personId")) return *bad;
    if (auto bad = require(e.course_id(), "courseId")) return *bad;
    m.row.table = "enrollments";
    m.row.key = {{"enrollment_id", e.enrollment_id()}};
    m.row.fields = {{"person_id", e.person_id()},
                    {"course_id", e.course_id()},
                    {"enrolled_at", time_or_null(e.enrolled_at())}};
  } else if (type == "talent.completion.recorded") {
    tv1::Completion c;
    if (auto bad = parse(event, c)) return *bad;
    if (auto bad = require(c.enrollment_id(), "enrollmentId")) return *bad;
    if (auto bad = require(c.person_id(), "personId")) return *bad;
    if (auto bad = require(c.course_id(), "courseId")) return *bad;
    if (c.score() < 0 || c.score() > 100) {
      return Malformed{"data.score " + std::to_string(c.score()) + " is outside 0..100"};
    }
    m.row.table = "completions";
    m.row.key = {{"enrollment_id", c.enrollment_id()}};
    m.row.fields = {{"person_id", c.person_id()},
                    {"course_id", c.course_id()},
                    {"score", c.score()},
                    {"passed", b(c.passed())},
                    {"certification", b(c.certification())},
                    {"completed_at", time_or_null(c.completed_at())}};
  } else if (type == "talent.credential.issued") {
    tv1::Credential c;
    if (auto bad = parse(event, c)) return *bad;
    if (auto bad = require(c.credential_id(), "credentialId")) return *bad;
    if (auto bad = require(c.person_id(), "personId")) return *bad;
    m.row.table = "credentials";
    m.row.key = {{"credential_id", c.credential_id()}};
    m.row.fields = {{"person_id", c.person_id()},
                    {"kind", enum_word(tv1::CredentialKind_Name(c.kind()), "CREDENTIAL_KIND_")},
                    {"name", c.name()},
                    {"level", enum_word(tv1::CourseLevel_Name(c.level()), "COURSE_LEVEL_")},
                    {"issuer_id", c.issuer_id()},
                    {"course_id", c.course_id()},
                    {"issued_at", time_or_null(c.issued_at())},
                    {"expires_at", time_or_null(c.expires_at())}};
  }
  return m;
}

ApplyResult outcome(ApplyResult::Kind kind, std::string reason) {
  ApplyResult r;
  r.kind = kind;
  r.reason = std::move(reason);
  return r;
}

ApplyResult storage_error(const Status& s) {
  return outcome(ApplyResult::Kind::kStorageError, s.message());
}

}  // namespace

simpang::v1::Event link_event(const Link& link, const std::string& source) {
  simpang::v1::Event e;
  e.set_spec_version("1.0");
  e.set_id("linked-" + link.event_id + "-" + link.other_id + "-" + link.rule);
  e.set_source(source);
  e.set_type("talent.person.linked");
  e.set_subject(link.person_id);
  *e.mutable_time() = TimeUtil::MicrosecondsToTimestamp(link.at_micros);
  e.set_data_content_type("application/json");
  const nlohmann::json data = {{"personId", link.person_id},
                               {"otherPersonId", link.other_id},
                               {"rule", link.rule},
                               {"evidence", link.evidence},
                               {"sourceEventId", link.event_id}};
  e.set_text_data(data.dump());
  return e;
}

bool is_ledger_type(const std::string& type) {
  static const char* const kTypes[] = {
      "talent.organisation.registered", "talent.course.published",
      "talent.person.registered",       "talent.person.updated",
      "talent.person.deactivated",      "talent.employment.updated",
      "talent.enrollment.created",      "talent.completion.recorded",
      "talent.credential.issued",       "partner.registered",
      "partner.updated",                "partner.certification.changed",
      "partner.deregistered"};
  return std::find(std::begin(kTypes), std::end(kTypes), type) != std::end(kTypes);
}

ApplyResult apply_event(LedgerStore& store, const std::vector<IdentityRule>& rules,
                        const simpang::v1::Event& event) {
  if (event.id().empty() || event.source().empty()) {
    return outcome(ApplyResult::Kind::kMalformed, "the event has no id or no source");
  }
  auto seen = store.applied(event.source(), event.id());
  if (!seen.ok()) return storage_error(seen.status());
  if (*seen) return outcome(ApplyResult::Kind::kDuplicate, {});

  const bool known = is_ledger_type(event.type());
  int64_t version = 0;
  if (known) {
    if (!event.has_time()) {
      return outcome(ApplyResult::Kind::kMalformed,
                     "attribute 'time' is missing: the ledger orders updates of an entity by it");
    }
    version = TimeUtil::TimestampToMicroseconds(event.time());
  }
  ApplyResult result;
  if (!known) {
    result.kind = ApplyResult::Kind::kIgnored;
  } else {
    auto mapped = map_event(event, version);
    if (auto* bad = std::get_if<Malformed>(&mapped)) {
      return outcome(ApplyResult::Kind::kMalformed, event.type() + ": " + bad->reason);
    }
    Mapped& m = std::get<Mapped>(mapped);
    auto written = store.upsert(m.row);
    if (!written.ok()) return storage_error(written.status());
    result.stale = !*written;
    if (*written && m.person) {
      const std::string& person_id = m.person->person_id();
      auto keys = identity_keys(*m.person, rules, &result.notes);
      if (Status s = store.replace_person_keys(person_id, keys); !s.ok()) return storage_error(s);
      std::vector<KeyMatch> matches;
      for (const auto& [rule, value] : keys) {
        auto holders = store.persons_with_key(rule, value);
        if (!holders.ok()) return storage_error(holders.status());
        KeyMatch km{rule, value, {}};
        for (auto& h : *holders) {
          if (h != person_id) km.others.push_back(std::move(h));
        }
        matches.push_back(std::move(km));
      }
      const IdentityDecision d = decide(matches);
      auto rule_of = [&rules](const std::string& name) {
        for (const auto& r : rules) {
          if (r.name == name) return r;
        }
        IdentityRule unknown;
        unknown.name = name;
        return unknown;
      };
      for (const auto& l : d.links) {
        Link link{person_id,  l.other_id, l.rule, evidence_of(rule_of(l.rule), l.evidence),
                  event.id(), version};
        if (Status s = store.record_link(link); !s.ok()) return storage_error(s);
        result.links.push_back(std::move(link));
      }
      for (const auto& r : d.reviews) {
        Review review{person_id,    r.rule,   evidence_of(rule_of(r.rule), r.evidence),
                      r.candidates, r.reason, event.id(),
                      version};
        if (Status s = store.record_review(review); !s.ok()) return storage_error(s);
        result.reviews.push_back(std::move(review));
      }
    }
  }
  if (Status s = store.mark_applied(event.source(), event.id(), event.type(), version); !s.ok()) {
    return storage_error(s);
  }
  return result;
}

}  // namespace simpang::plugins::talent_ledger
