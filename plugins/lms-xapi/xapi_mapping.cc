// Statement to event mapping; see xapi_mapping.h.
#include "xapi_mapping.h"

#include <algorithm>

#include "simpang/sdk/cloudevents.h"
#include "simpang/talent/v1/talent.pb.h"
#include "xapi_formats.h"

namespace simpang::plugins::lms_xapi {
namespace {

using nlohmann::json;
namespace talent = simpang::talent::v1;

void set_time(google::protobuf::Timestamp& out, int64_t ms) {
  int64_t seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>((ms - seconds * 1000) * 1000000));
}

// A Completion's score on its 0..100 scale: scaled x 100 when given, else raw within min..max,
// else a raw already on 0..100; -1 when the statement has none of these.
double completion_score(const json& statement) {
  const json result = statement.value("result", json::object());
  const json score = result.value("score", json::object());
  if (score.contains("scaled")) {
    return std::clamp(score["scaled"].get<double>() * 100, 0.0, 100.0);
  }
  if (score.contains("raw")) {
    const double raw = score["raw"].get<double>();
    if (score.contains("min") && score.contains("max")) {
      const double min = score["min"].get<double>(), max = score["max"].get<double>();
      return std::clamp((raw - min) / (max - min) * 100, 0.0, 100.0);
    }
    if (raw >= 0 && raw <= 100) {
      return raw;
    }
  }
  return -1;
}

std::string first_text(const json& map) {
  if (!map.is_object() || map.empty()) return {};
  for (const char* preferred : {"en-US", "en-GB", "en"}) {
    if (map.contains(preferred)) return map[preferred].get<std::string>();
  }
  return map.begin()->get<std::string>();
}

std::string parent_activity(const json& statement) {
  const json context = statement.value("context", json::object());
  const json activities = context.value("contextActivities", json::object());
  const json parent = activities.value("parent", json::array());
  return parent.empty() ? std::string() : parent[0].value("id", "");
}

simpang::v1::Event base_event(const json& statement, const MappingOptions& options, std::string id,
                              std::string type, const std::string& subject) {
  simpang::v1::Event event;
  event.set_id(std::move(id));
  event.set_source(options.source);
  event.set_type(std::move(type));
  if (!subject.empty()) event.set_subject(subject);
  const std::optional<int64_t> when = parse_timestamp(statement.value("timestamp", ""));
  if (when) set_time(*event.mutable_time(), *when);
  return event;
}

}  // namespace

std::string person_id(const json& actor) {
  if (!actor.is_object()) return {};
  if (actor.contains("account")) return actor["account"].value("name", "");
  if (actor.contains("mbox")) {
    const std::string mbox = actor["mbox"].get<std::string>();
    return mbox.rfind("mailto:", 0) == 0 ? mbox.substr(7) : mbox;
  }
  if (actor.contains("mbox_sha1sum")) return "sha1:" + actor["mbox_sha1sum"].get<std::string>();
  if (actor.contains("openid")) return actor["openid"].get<std::string>();
  return {};
}

std::vector<simpang::v1::Event> statement_events(const json& statement,
                                                 const MappingOptions& options) {
  std::vector<simpang::v1::Event> events;
  const std::string id = statement.value("id", "");
  const json actor = statement.value("actor", json::object());
  const std::string person = person_id(actor);

  simpang::v1::Event stored = base_event(statement, options, id, kStoredType, person);
  stored.set_data_content_type("application/json");
  stored.set_text_data(statement.dump(-1, ' ', false, json::error_handler_t::replace));
  events.push_back(std::move(stored));

  const json object = statement.value("object", json::object());
  const bool about_activity = object.value("objectType", "Activity") == "Activity";
  const bool by_agent = actor.value("objectType", "Agent") == "Agent";
  if (!about_activity || !by_agent || person.empty()) {
    return events;
  }
  const std::string verb = statement.value("verb", json::object()).value("id", "");
  const std::string activity = object.value("id", "");
  const json definition = object.value("definition", json::object());
  const json context = statement.value("context", json::object());
  const std::string registration = context.value("registration", "");
  const std::optional<int64_t> when = parse_timestamp(statement.value("timestamp", ""));

  if (verb == kVerbRegistered) {
    talent::Enrollment enrollment;
    enrollment.set_enrollment_id(registration.empty() ? id : registration);
    enrollment.set_person_id(person);
    enrollment.set_course_id(activity);
    if (when) set_time(*enrollment.mutable_enrolled_at(), *when);
    simpang::v1::Event e =
        base_event(statement, options, id + ".enrollment", "talent.enrollment.created", person);
    simpang::sdk::set_json_data(e, enrollment);
    events.push_back(std::move(e));
  } else if (verb == kVerbCompleted || verb == kVerbPassed || verb == kVerbFailed) {
    talent::Completion completion;
    completion.set_enrollment_id(registration.empty() ? id : registration);
    completion.set_person_id(person);
    completion.set_course_id(activity);
    if (const double score = completion_score(statement); score >= 0) completion.set_score(score);
    const json result = statement.value("result", json::object());
    completion.set_passed(verb == kVerbPassed ||
                          (verb == kVerbCompleted && result.value("success", false)));
    const std::string type = definition.value("type", "");
    const auto& types = options.certification_activity_types;
    completion.set_certification(!type.empty() &&
                                 std::find(types.begin(), types.end(), type) != types.end());
    if (when) set_time(*completion.mutable_completed_at(), *when);
    simpang::v1::Event e =
        base_event(statement, options, id + ".completion", "talent.completion.recorded", person);
    simpang::sdk::set_json_data(e, completion);
    events.push_back(std::move(e));
  } else if (verb == kVerbEarned) {
    talent::Credential credential;
    credential.set_credential_id("xapi-" + id);
    credential.set_person_id(person);
    const std::string type = definition.value("type", "");
    credential.set_kind(type.find("badge") != std::string::npos
                            ? talent::CREDENTIAL_KIND_BADGE
                            : talent::CREDENTIAL_KIND_CERTIFICATION);
    const std::string name = first_text(definition.value("name", json::object()));
    credential.set_name(name.empty() ? activity : name);
    credential.set_course_id(parent_activity(statement));
    if (when) set_time(*credential.mutable_issued_at(), *when);
    simpang::v1::Event e =
        base_event(statement, options, id + ".credential", "talent.credential.issued", person);
    simpang::sdk::set_json_data(e, credential);
    events.push_back(std::move(e));
  }
  return events;
}

}  // namespace simpang::plugins::lms_xapi
