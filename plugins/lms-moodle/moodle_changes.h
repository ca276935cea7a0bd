// Change detection for the Moodle connector, as pure functions: a record Moodle returned (a course,
// an enrolled user, a completion status, an issued badge) and what the connector saw of it before
// (a cursor value) give the event to publish, if anything changed, and the cursor value that
// records it. The cursor is set together with the event (Context::set_cursor before emit), so the
// hub stores both in one transaction: after a crash what was stored is what was seen, nothing is
// skipped and nothing re-emitted. Event ids are a hash of the site, the entity and its version,
// so a change found again (a poll repeated after a crash, before its events were stored) carries
// the id it had, and the hub de-duplicates it.
//
//   Site site = make_site(info, "/simpang/lms-moodle/moodle");
//   if (auto c = course_change(site, course, ctx.cursor(course_key(course.id)))) {
//     ctx.set_cursor(c->cursor_key, c->cursor_value);
//     ctx.emit(std::move(c->event));
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "moodle_protocol.h"
#include "simpang/v1/event.pb.h"

namespace simpang::plugins::lms_moodle {

// The site as events name it.
struct Site {
  std::string host;    // from siteurl: "lms.example.edu.my" (with ":port" when not default)
  std::string source;  // the events' source: "/simpang/lms-moodle/<instance>"
  std::string system() const { return "moodle:" + host; }  // ExternalId.system
};
// The host part of `siteurl` ("https://lms.example.edu.my/moodle" -> "lms.example.edu.my").
std::string site_host(std::string_view siteurl);

// A hex digest (128 bits of SHA-256) of the parts, separated so ("ab","c") != ("a","bc").
std::string digest(std::initializer_list<std::string_view> parts);
// The deterministic event id: "moodle-" + digest(site host, entity, version).
std::string event_id(const Site& site, std::string_view entity, std::string_view version);

// Simpang ids of Moodle's entities ("<host>/user/<id>", ...).
std::string person_id(const Site& site, int64_t userid);
std::string course_id(const Site& site, int64_t courseid);
std::string enrollment_id(const Site& site, int64_t courseid, int64_t userid);
std::string credential_id(const Site& site, std::string_view uniquehash);

// Cursor keys.
std::string course_key(int64_t courseid);                      // "course/<id>": version
std::string person_key(int64_t userid);                        // "user/<id>": version
std::string enrollment_key(int64_t courseid, int64_t userid);  // "enrol/<c>/<u>": see below
std::string badge_key(std::string_view uniquehash);            // "badge/<hash>": "1"
// "badges/<u>": the learner's lastaccess when their badges were last read; "" to read them again.
std::string badges_checked_key(int64_t userid);

// What the connector keeps of one enrolment: that it was announced, the user's last access to the
// course when completion was last checked and when that check was, and whether its completion was
// recorded. Written "<lastcourseaccess>:<0|1>:<checked at>" (the last field may be absent).
struct EnrollmentSeen {
  int64_t checked_access = -1;  // -1: completion never checked
  bool completed = false;
  int64_t checked_at = 0;  // Unix seconds; 0 unknown
  std::string encode() const;
  static std::optional<EnrollmentSeen> decode(std::string_view value);
};

struct Change {
  simpang::v1::Event event;
  std::string cursor_key;
  std::string cursor_value;
};

// Options that fill what Moodle does not know.
struct Mapping {
  std::string provider_id;  // Course.provider_id of every course of the site; may be empty
  int segment = 0;          // simpang.talent.v1.Segment of every person; 0 unspecified
};

// talent.course.published when the course is new or one of its announced fields changed.
// `observed` (Unix seconds) is the event time when Moodle gives none.
std::optional<Change> course_change(const Site& site, const Mapping& mapping, const Course& course,
                                    const std::optional<std::string>& seen, int64_t observed);
// talent.person.registered when the user is new or their name, email, username or idnumber
// changed (an upsert: consumers keep the latest).
std::optional<Change> person_change(const Site& site, const Mapping& mapping,
                                    const EnrolledUser& user,
                                    const std::optional<std::string>& seen, int64_t observed);
// talent.enrollment.created when the enrolment was not seen before. Moodle's enrolled-users
// function carries no enrolment date: the event time is `observed`, the poll that found it.
std::optional<Change> enrollment_change(const Site& site, int64_t courseid,
                                        const EnrolledUser& user,
                                        const std::optional<EnrollmentSeen>& seen,
                                        int64_t observed);
// Moodle's cron aggregates a course completion some minutes after the activity that earned it, so
// a check made within this long of the learner's access is made once more this long after it.
inline constexpr int64_t kCompletionSettleSeconds = 15 * 60;

// Whether the enrolment's completion should be asked for at `now` (Unix seconds): not recorded
// yet, and the user came to the course since it was last checked, or the last check came too soon
// after that access (kCompletionSettleSeconds); or `full`, a reconciliation pass, which asks for
// every enrolment not yet completed.
bool completion_due(const std::optional<EnrollmentSeen>& seen, const EnrolledUser& user, bool full,
                    int64_t now);
// talent.completion.recorded when the status says completed and it was not recorded before;
// nullopt otherwise (the caller then records the check with `after_check`). `access` is the
// user's lastcourseaccess the check was made for.
std::optional<Change> completion_change(const Site& site, int64_t courseid, int64_t userid,
                                        int64_t access, const CompletionStatus& status,
                                        const std::optional<EnrollmentSeen>& seen,
                                        int64_t observed);  // `observed`: also the check's time
// The enrolment's cursor value after a completion check at `checked_at` for `access`.
EnrollmentSeen after_check(const std::optional<EnrollmentSeen>& seen, int64_t access,
                           bool completed, int64_t checked_at);
// talent.credential.issued for a badge not seen before (the caller looks up badge_key).
Change badge_change(const Site& site, int64_t userid, const Badge& badge);

}  // namespace simpang::plugins::lms_moodle
