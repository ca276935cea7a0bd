// xapi-completion; see xapi_completion.h.
#include "xapi_completion.h"

#include <google/protobuf/util/time_util.h>
#include <simpang/sdk/cloudevents.h>
#include <simpang/sdk/config_reader.h>
#include <simpang/talent/v1/talent.pb.h>

namespace tutorial {
namespace {

using simpang::sdk::Outcome;

// The value at `a.b.c` in `json`, or null when any step is missing.
const nlohmann::json& at(const nlohmann::json& json, std::initializer_list<const char*> path) {
  static const nlohmann::json kNull;
  const nlohmann::json* here = &json;
  for (const char* key : path) {
    if (!here->is_object() || !here->contains(key)) {
      return kNull;
    }
    here = &(*here)[key];
  }
  return *here;
}

std::string string_at(const nlohmann::json& json, std::initializer_list<const char*> path) {
  const nlohmann::json& value = at(json, path);
  return value.is_string() ? value.get<std::string>() : "";
}

}  // namespace

XapiCompletion::XapiCompletion(simpang::sdk::Context& ctx) {
  simpang::sdk::ConfigReader config(ctx.config());
  course_prefix_ = config.required<std::string>("course_prefix");
  const auto courses = config.optional<std::vector<std::string>>("certification_courses", {});
  certification_courses_.insert(courses.begin(), courses.end());
  source_ =
      config.optional<std::string>("source", "/simpang/xapi-completion/" + ctx.instance_name());
  config.reject_unknown();
}

Outcome XapiCompletion::on_event(simpang::sdk::Context& ctx, const simpang::v1::Event& event) {
  if (event.type() != kStatementType) {
    return Outcome::ack();  // not ours: nothing to do, and nothing to retry
  }
  const auto statement = nlohmann::json::parse(event.text_data(), nullptr, false);
  if (!statement.is_object()) {
    return Outcome::reject("data is not a JSON xAPI statement");
  }
  // Only the last segment of the verb IRI matters: http://adlnet.gov/expapi/verbs/passed.
  const std::string verb_iri = string_at(statement, {"verb", "id"});
  const std::string verb = verb_iri.substr(verb_iri.find_last_of('/') + 1);
  if (verb != "completed" && verb != "passed" && verb != "failed") {
    return Outcome::ack();  // attempted, experienced...: not a completion
  }

  simpang::talent::v1::Completion completion;
  completion.set_person_id(string_at(statement, {"actor", "account", "name"}));
  if (completion.person_id().empty()) {
    return Outcome::reject("statement has no actor.account.name");
  }
  const std::string object = string_at(statement, {"object", "id"});
  if (object.rfind(course_prefix_, 0) != 0 || object.size() == course_prefix_.size()) {
    return Outcome::reject("object.id '" + object + "' is not a course under '" + course_prefix_ +
                           "'");
  }
  completion.set_course_id(object.substr(course_prefix_.size()));
  // result.score.scaled is 0..1; our Completion.score is 0..100. Without result.success, the verb
  // says whether the learner passed.
  const nlohmann::json& scaled = at(statement, {"result", "score", "scaled"});
  if (scaled.is_number()) {
    completion.set_score(scaled.get<double>() * 100.0);
  }
  const nlohmann::json& success = at(statement, {"result", "success"});
  const bool passed = success.is_boolean() ? success.get<bool>() : verb == "passed";
  completion.set_passed(verb != "failed" && passed);
  completion.set_certification(certification_courses_.count(completion.course_id()) > 0);
  if (!google::protobuf::util::TimeUtil::FromString(string_at(statement, {"timestamp"}),
                                                    completion.mutable_completed_at())) {
    return Outcome::reject("statement has no RFC 3339 timestamp");
  }

  simpang::v1::Event out;
  out.set_id("xapi-" + event.id());  // the same input always gives the same id
  out.set_source(source_);
  out.set_type(kCompletionType);
  out.set_subject(completion.person_id());
  *out.mutable_time() = completion.completed_at();
  simpang::sdk::set_json_data(out, completion);
  if (simpang::Status status = ctx.emit(std::move(out)); !status.ok()) {
    return Outcome::retry_later(status.message());
  }
  return Outcome::ack();
}

}  // namespace tutorial
