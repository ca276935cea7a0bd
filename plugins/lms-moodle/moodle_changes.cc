// Change detection for the Moodle connector; see moodle_changes.h.
#include "moodle_changes.h"

#include <openssl/evp.h>

#include <charconv>
#include <cmath>

#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"

namespace simpang::plugins::lms_moodle {
namespace {

namespace talent = simpang::talent::v1;

void set_time(google::protobuf::Timestamp* ts, int64_t unix_seconds) {
  ts->set_seconds(unix_seconds);
  ts->set_nanos(0);
}

simpang::v1::Event make_event(const Site& site, std::string id, const char* type,
                              std::string subject, int64_t time,
                              const google::protobuf::Message& data) {
  simpang::v1::Event event;
  event.set_id(std::move(id));
  event.set_source(site.source);
  event.set_spec_version("1.0");
  event.set_type(type);
  event.set_subject(std::move(subject));
  set_time(event.mutable_time(), time);
  simpang::sdk::set_json_data(event, data);
  return event;
}

void add_id(google::protobuf::RepeatedPtrField<talent::ExternalId>* ids, const Site& site,
            std::string value) {
  talent::ExternalId* id = ids->Add();
  id->set_system(site.system());
  id->set_value(std::move(value));
}

std::string number(int64_t v) { return std::to_string(v); }

}  // namespace

std::string site_host(std::string_view siteurl) {
  std::string_view rest = siteurl;
  if (const size_t scheme = rest.find("://"); scheme != std::string_view::npos) {
    rest.remove_prefix(scheme + 3);
  }
  if (const size_t at = rest.find('@'); at != std::string_view::npos && at < rest.find('/')) {
    rest.remove_prefix(at + 1);
  }
  rest = rest.substr(0, rest.find_first_of("/?#"));
  std::string host(rest);
  for (char& c : host) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return host.empty() ? "moodle" : host;
}

std::string digest(std::initializer_list<std::string_view> parts) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  for (std::string_view part : parts) {
    // Length-prefixed, so no choice of parts collides with another.
    const std::string length = std::to_string(part.size()) + ":";
    EVP_DigestUpdate(md, length.data(), length.size());
    EVP_DigestUpdate(md, part.data(), part.size());
  }
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(md, out, &size);
  EVP_MD_CTX_free(md);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < 16 && i < size; ++i) {
    hex += kHex[out[i] >> 4];
    hex += kHex[out[i] & 0xF];
  }
  return hex;
}

std::string event_id(const Site& site, std::string_view entity, std::string_view version) {
  return "moodle-" + digest({site.host, entity, version});
}

std::string person_id(const Site& site, int64_t userid) {
  return site.host + "/user/" + number(userid);
}
std::string course_id(const Site& site, int64_t courseid) {
  return site.host + "/course/" + number(courseid);
}
std::string enrollment_id(const Site& site, int64_t courseid, int64_t userid) {
  return site.host + "/enrol/" + number(courseid) + "/" + number(userid);
}
std::string credential_id(const Site& site, std::string_view uniquehash) {
  return site.host + "/badge/" + std::string(uniquehash);
}

std::string course_key(int64_t courseid) { return "course/" + number(courseid); }
std::string person_key(int64_t userid) { return "user/" + number(userid); }
std::string enrollment_key(int64_t courseid, int64_t userid) {
  return "enrol/" + number(courseid) + "/" + number(userid);
}
std::string badge_key(std::string_view uniquehash) { return "badge/" + std::string(uniquehash); }

std::string badges_checked_key(int64_t userid) { return "badges/" + number(userid); }

std::string EnrollmentSeen::encode() const {
  return number(checked_access) + (completed ? ":1:" : ":0:") + number(checked_at);
}

std::optional<EnrollmentSeen> EnrollmentSeen::decode(std::string_view value) {
  const auto whole_number = [](std::string_view text, int64_t& out) {
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return !text.empty() && ec == std::errc() && ptr == text.data() + text.size();
  };
  const size_t colon = value.find(':');
  if (colon == std::string_view::npos || colon + 2 > value.size() ||
      (value[colon + 1] != '0' && value[colon + 1] != '1')) {
    return std::nullopt;
  }
  EnrollmentSeen seen;
  if (!whole_number(value.substr(0, colon), seen.checked_access)) {
    return std::nullopt;
  }
  seen.completed = value[colon + 1] == '1';
  const std::string_view rest = value.substr(colon + 2);
  if (!rest.empty() && (rest[0] != ':' || !whole_number(rest.substr(1), seen.checked_at))) {
    return std::nullopt;
  }
  return seen;
}

std::optional<Change> course_change(const Site& site, const Mapping& mapping, const Course& course,
                                    const std::optional<std::string>& seen, int64_t observed) {
  const std::string version =
      digest({course.shortname, course.fullname, course.idnumber.value_or(""),
              course.visible ? "1" : "0", number(course.categoryid), number(course.startdate),
              number(course.enddate), number(course.timemodified.value_or(0))});
  if (seen == version) {
    return std::nullopt;
  }
  talent::Course data;
  data.set_course_id(course_id(site, course.id));
  add_id(data.mutable_ids(), site, "course/" + number(course.id));
  if (course.idnumber && !course.idnumber->empty()) {
    add_id(data.mutable_ids(), site, "idnumber/" + *course.idnumber);
  }
  data.set_title(course.fullname);
  data.set_provider_id(mapping.provider_id);
  const int64_t time = course.timemodified.value_or(0) > 0 ? *course.timemodified
                       : course.startdate > 0              ? course.startdate
                                                           : observed;
  Change change;
  change.event = make_event(site, event_id(site, course_key(course.id), version),
                            "talent.course.published", data.course_id(), time, data);
  change.cursor_key = course_key(course.id);
  change.cursor_value = version;
  return change;
}

std::optional<Change> person_change(const Site& site, const Mapping& mapping,
                                    const EnrolledUser& user,
                                    const std::optional<std::string>& seen, int64_t observed) {
  const std::string version = digest({user.username, user.fullname, user.email, user.idnumber});
  if (seen == version) {
    return std::nullopt;
  }
  talent::Person data;
  data.set_person_id(person_id(site, user.id));
  add_id(data.mutable_ids(), site, "user/" + number(user.id));
  if (!user.idnumber.empty()) {
    add_id(data.mutable_ids(), site, "idnumber/" + user.idnumber);
  }
  data.set_display_name(user.fullname);
  data.set_email(user.email);
  data.set_segment(static_cast<talent::Segment>(mapping.segment));
  const int64_t time = user.firstaccess > 0 ? user.firstaccess : observed;
  set_time(data.mutable_registered_at(), time);
  Change change;
  change.event = make_event(site, event_id(site, person_key(user.id), version),
                            "talent.person.registered", data.person_id(), time, data);
  change.cursor_key = person_key(user.id);
  change.cursor_value = version;
  return change;
}

std::optional<Change> enrollment_change(const Site& site, int64_t courseid,
                                        const EnrolledUser& user,
                                        const std::optional<EnrollmentSeen>& seen,
                                        int64_t observed) {
  if (seen) {
    return std::nullopt;
  }
  talent::Enrollment data;
  data.set_enrollment_id(enrollment_id(site, courseid, user.id));
  data.set_person_id(person_id(site, user.id));
  data.set_course_id(course_id(site, courseid));
  set_time(data.mutable_enrolled_at(), observed);
  Change change;
  change.cursor_key = enrollment_key(courseid, user.id);
  change.event = make_event(site, event_id(site, change.cursor_key, "enrolled"),
                            "talent.enrollment.created", data.person_id(), observed, data);
  change.cursor_value = EnrollmentSeen{}.encode();
  return change;
}

bool completion_due(const std::optional<EnrollmentSeen>& seen, const EnrolledUser& user, bool full,
                    int64_t now) {
  if (seen && seen->completed) {
    return false;
  }
  if (full) {
    return true;
  }
  if (!seen || seen->checked_access < 0 || user.lastcourseaccess != seen->checked_access) {
    return true;
  }
  // Checked for this access, but before Moodle's cron may have aggregated the completion: once
  // more when it has had the time.
  return user.lastcourseaccess > 0 && seen->checked_at > 0 &&
         seen->checked_at - user.lastcourseaccess < kCompletionSettleSeconds &&
         now - seen->checked_at >= kCompletionSettleSeconds;
}

EnrollmentSeen after_check(const std::optional<EnrollmentSeen>& seen, int64_t access,
                           bool completed, int64_t checked_at) {
  EnrollmentSeen next = seen.value_or(EnrollmentSeen{});
  next.checked_access = access;
  next.completed = next.completed || completed;
  next.checked_at = checked_at;
  return next;
}

std::optional<Change> completion_change(const Site& site, int64_t courseid, int64_t userid,
                                        int64_t access, const CompletionStatus& status,
                                        const std::optional<EnrollmentSeen>& seen,
                                        int64_t observed) {
  if (!status.completed || (seen && seen->completed)) {
    return std::nullopt;
  }
  talent::Completion data;
  data.set_enrollment_id(enrollment_id(site, courseid, userid));
  data.set_person_id(person_id(site, userid));
  data.set_course_id(course_id(site, courseid));
  if (status.grade) {
    data.set_score(std::clamp(*status.grade, 0.0, 100.0));
  }
  data.set_passed(true);  // Moodle's course completion is its judgement that the course is passed
  const int64_t time = status.timecompleted > 0 ? status.timecompleted : observed;
  set_time(data.mutable_completed_at(), time);
  Change change;
  change.cursor_key = enrollment_key(courseid, userid);
  change.event = make_event(site, event_id(site, change.cursor_key, "completed"),
                            "talent.completion.recorded", data.person_id(), time, data);
  change.cursor_value = after_check(seen, access, true, observed).encode();
  return change;
}

Change badge_change(const Site& site, int64_t userid, const Badge& badge) {
  talent::Credential data;
  data.set_credential_id(credential_id(site, badge.uniquehash));
  data.set_person_id(person_id(site, userid));
  data.set_kind(talent::CREDENTIAL_KIND_BADGE);
  data.set_name(badge.name);
  if (badge.courseid && *badge.courseid > 0) {
    data.set_course_id(course_id(site, *badge.courseid));
  }
  set_time(data.mutable_issued_at(), badge.dateissued);
  if (badge.dateexpire && *badge.dateexpire > 0) {
    set_time(data.mutable_expires_at(), *badge.dateexpire);
  }
  Change change;
  change.cursor_key = badge_key(badge.uniquehash);
  change.event = make_event(site, event_id(site, change.cursor_key, "issued"),
                            "talent.credential.issued", data.person_id(), badge.dateissued, data);
  change.cursor_value = "1";
  return change;
}

}  // namespace simpang::plugins::lms_moodle
