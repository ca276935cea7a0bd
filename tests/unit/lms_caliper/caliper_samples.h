// Caliper 1.2 and Canvas events shaped like the specifications' examples, for the unit tests.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

namespace simpang::plugins::lms_caliper::testing {

inline nlohmann::json session_event() {
  return nlohmann::json::parse(R"({
    "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
    "id": "urn:uuid:fcd495d0-3740-4298-9bec-1154571dc211",
    "type": "SessionEvent",
    "actor": {"id": "https://example.edu/users/554433", "type": "Person"},
    "action": "LoggedIn",
    "object": {"id": "https://example.edu", "type": "SoftwareApplication", "version": "v2"},
    "eventTime": "2026-11-15T10:15:00.000Z",
    "edApp": "https://example.edu",
    "session": {"id": "https://example.edu/sessions/1f6442a482de72ea6ad134943812bff564a76259",
                "type": "Session", "startedAtTime": "2026-11-15T10:00:00.000Z"}
  })");
}

inline nlohmann::json grade_event() {
  return nlohmann::json::parse(R"({
    "@context": "http://purl.imsglobal.org/ctx/caliper/v1p2",
    "id": "urn:uuid:a50ca17f-5971-47bb-8fca-4e6e6879001d",
    "type": "GradeEvent",
    "actor": {"id": "https://example.edu/autograder", "type": "SoftwareApplication"},
    "action": "Graded",
    "object": {
      "id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/users/554433/attempts/1",
      "type": "Attempt",
      "assignee": {"id": "https://example.edu/users/554433", "type": "Person"},
      "assignable": {"id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1",
                     "type": "Assessment"},
      "count": 1
    },
    "generated": {
      "id": "https://example.edu/terms/201801/courses/7/sections/1/assess/1/users/554433/attempts/1/scores/1",
      "type": "Score", "maxScore": 15.0, "scoreGiven": 10.5
    },
    "eventTime": "2026-11-15T10:57:06.000Z",
    "group": {"id": "https://example.edu/terms/201801/courses/7/sections/1", "type": "CourseSection"}
  })");
}

inline nlohmann::json envelope(const std::vector<nlohmann::json>& events,
                               const char* version = "http://purl.imsglobal.org/ctx/caliper/v1p2") {
  return {{"sensor", "https://example.edu/sensors/1"},
          {"sendTime", "2026-11-15T11:05:01.000Z"},
          {"dataVersion", version},
          {"data", nlohmann::json(events)}};
}

inline nlohmann::json canvas_grade_change() {
  return nlohmann::json::parse(R"({
    "metadata": {"root_account_uuid": "VicYj3cu5BIFpoZhDVU4DZumnlBrWi1grgJEzADs",
                 "root_account_id": "21070000000000001", "event_name": "grade_change",
                 "event_time": "2026-11-15T19:11:03.000Z", "user_id": "21070000000000002",
                 "request_id": "1dd9dc6f-2fb0-4c19-a6c5-7ee1bf3ed295", "producer": "canvas",
                 "context_type": "Course", "context_id": "21070000000000565"},
    "body": {"submission_id": "21070000000000011", "assignment_id": "21070000000000012",
             "grade": "8", "old_grade": null, "score": 8.0, "old_score": null,
             "points_possible": 10.0, "user_id": "21070000000000001",
             "grader_id": "21070000000000002", "grading_complete": true, "muted": false}
  })");
}

}  // namespace simpang::plugins::lms_caliper::testing
