// Caliper and Canvas events to hub events; see caliper_mapping.h.
#include "caliper_mapping.h"

#include <algorithm>
#include <optional>

#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"
#include "xapi_formats.h"

namespace simpang::plugins::lms_caliper {
namespace {

using nlohmann::json;
namespace talent = simpang::talent::v1;

void set_time(google::protobuf::Timestamp& out, int64_t ms) {
  const int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>((ms - seconds * 1000) * 1000000));
}

std::optional<int64_t> time_of(const json& value) {
  if (!value.is_string()) return std::nullopt;
  return simpang::plugins::lms_xapi::parse_timestamp(value.get<std::string>());
}

// Canvas sends ids as strings, some producers as numbers: either as text.
std::string text(const json& object, const char* key) {
  if (!object.is_object()) return {};
  const auto it = object.find(key);
  if (it == object.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer() || it->is_number_unsigned()) return it->dump();
  return {};
}

std::optional<double> number(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  const auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (it->is_number()) return it->get<double>();
  if (it->is_string()) {
    try {
      size_t used = 0;
      const double value = std::stod(it->get<std::string>(), &used);
      if (used == it->get<std::string>().size()) return value;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

// An entity's id: the IRI of a reference or the object's id.
std::string entity_id(const json& item, const char* key) {
  if (!item.is_object() || !item.contains(key)) return {};
  const json& entity = item[key];
  if (entity.is_string()) return entity.get<std::string>();
  return entity.is_object() ? entity.value("id", "") : std::string();
}

simpang::v1::Event make_event(const MappingOptions& options, std::string id, std::string type,
                              const std::string& subject, std::optional<int64_t> when) {
  simpang::v1::Event event;
  event.set_id(std::move(id));
  event.set_source(options.source);
  event.set_type(std::move(type));
  if (!subject.empty()) event.set_subject(subject);
  if (when) set_time(*event.mutable_time(), *when);
  return event;
}

simpang::v1::Event raw_event(const json& received, const MappingOptions& options, std::string id,
                             const char* type, const std::string& subject,
                             std::optional<int64_t> when) {
  simpang::v1::Event e = make_event(options, std::move(id), type, subject, when);
  e.set_data_content_type("application/json");
  e.set_text_data(received.dump(-1, ' ', false, json::error_handler_t::replace));
  return e;
}

double percent(double given, std::optional<double> max) {
  if (max && *max > 0) return std::clamp(given / *max * 100, 0.0, 100.0);
  return std::clamp(given, 0.0, 100.0);  // no maximum: taken as already on 0..100
}

}  // namespace

std::string caliper_event_id(const json& item) {
  std::string id = item.value("id", "");
  if (id.rfind("urn:uuid:", 0) == 0) {
    id = id.substr(9);
    std::transform(id.begin(), id.end(), id.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  }
  return "caliper:" + id;
}

std::string canvas_event_id(const json& event) {
  const json& m = event["metadata"];
  const json& b = event["body"];
  std::string id = "canvas:" + text(m, "root_account_uuid") + ":" + text(m, "event_name") + ":" +
                   text(m, "event_time");
  const std::string request = text(m, "request_id");
  if (!request.empty()) id += ":" + request;
  for (const char* key : {"submission_id", "enrollment_id", "asset_id", "assignment_id",
                          "course_id", "user_id", "id"}) {
    const std::string value = text(b, key);
    if (!value.empty()) id += ":" + std::string(key) + "=" + value;
  }
  return id;
}

std::vector<simpang::v1::Event> caliper_events(const json& item, const MappingOptions& options) {
  std::vector<simpang::v1::Event> events;
  const std::string id = caliper_event_id(item);
  const std::string type = item.value("type", "");
  const std::optional<int64_t> when = time_of(item.value("eventTime", json()));
  const std::string actor = entity_id(item, "actor");
  std::string person = actor;
  if (type == "GradeEvent") {
    const std::string assignee = entity_id(item["object"], "assignee");
    if (!assignee.empty()) person = assignee;
  }
  events.push_back(raw_event(item, options, id, kCaliperReceived, person, when));

  if (type == "GradeEvent" && item.value("action", "") == "Graded") {
    const json& attempt = item["object"];
    const json& score = item["generated"];
    std::string course = entity_id(attempt, "assignable");
    if (course.empty()) course = entity_id(item, "group");
    talent::Completion completion;
    const std::string membership = entity_id(item, "membership");
    completion.set_enrollment_id(!membership.empty() ? membership : person + "|" + course);
    completion.set_person_id(person);
    completion.set_course_id(course);
    completion.set_score(percent(score["scoreGiven"].get<double>(), number(score, "maxScore")));
    if (when) set_time(*completion.mutable_completed_at(), *when);
    simpang::v1::Event e =
        make_event(options, id + ".completion", "talent.completion.recorded", person, when);
    simpang::sdk::set_json_data(e, completion);
    events.push_back(std::move(e));
  }
  return events;
}

std::vector<simpang::v1::Event> canvas_events(const json& event, const MappingOptions& options) {
  std::vector<simpang::v1::Event> events;
  const json& m = event["metadata"];
  const json& b = event["body"];
  const std::string id = canvas_event_id(event);
  const std::string name = text(m, "event_name");
  const std::optional<int64_t> when = time_of(m["event_time"]);
  std::string person = text(b, "user_id");
  if (person.empty()) person = text(b, "student_id");
  if (person.empty() && b.contains("user")) person = text(b["user"], "id");
  if (person.empty()) person = text(m, "user_id");
  events.push_back(raw_event(event, options, id, kCanvasReceived, person, when));
  if (person.empty()) {
    return events;  // nobody to attribute a talent event to
  }
  std::string course = text(b, "course_id");
  if (course.empty() && b.contains("course")) course = text(b["course"], "id");
  if (course.empty() && text(m, "context_type") == "Course") course = text(m, "context_id");

  if (name == "enrollment_created" && !course.empty()) {
    talent::Enrollment enrollment;
    const std::string enrollment_id = text(b, "enrollment_id");
    enrollment.set_enrollment_id(!enrollment_id.empty() ? enrollment_id : person + "|" + course);
    enrollment.set_person_id(person);
    enrollment.set_course_id(course);
    const auto created = time_of(b.value("created_at", json()));
    if (created || when) set_time(*enrollment.mutable_enrolled_at(), created ? *created : *when);
    simpang::v1::Event e =
        make_event(options, id + ".enrollment", "talent.enrollment.created", person, when);
    simpang::sdk::set_json_data(e, enrollment);
    events.push_back(std::move(e));
  } else if ((name == "grade_change" || name == "course_completed") && !course.empty()) {
    talent::Completion completion;
    completion.set_enrollment_id(person + "|" + course);
    completion.set_person_id(person);
    completion.set_course_id(course);
    std::optional<int64_t> completed = when;
    if (name == "grade_change") {
      const std::optional<double> score = number(b, "score");
      if (!score) return events;  // a grade removed or a letter grade only: nothing to record
      completion.set_score(percent(*score, number(b, "points_possible")));
    } else {
      const json progress = b.value("progress", json::object());
      const auto done = number(progress, "requirement_completed_count");
      const auto all = number(progress, "requirement_count");
      completion.set_score(done && all && *all > 0 ? percent(*done, all) : 100);
      completion.set_passed(true);
      if (auto at = time_of(progress.value("completed_at", json()))) completed = at;
    }
    if (completed) set_time(*completion.mutable_completed_at(), *completed);
    simpang::v1::Event e =
        make_event(options, id + ".completion", "talent.completion.recorded", person, when);
    simpang::sdk::set_json_data(e, completion);
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace simpang::plugins::lms_caliper
