// Statement validation, part two: the four kinds of object, Activity definitions, result,
// context, attachments and the statement itself; the public functions. See xapi_statement.h and
// xapi_checker.h. A statement is reported by the first rule it breaks, walking it in the order
// of the specification's tables.
#include "xapi_statement.h"

#include <algorithm>
#include <string_view>

#include "xapi_checker.h"
#include "xapi_formats.h"

namespace simpang::plugins::lms_xapi {
namespace internal {

bool Checker::components(const json& value, const std::string& path) {
  if (!value.is_array()) {
    return fail(path,
                std::string("must be an array of interaction components, got ") + kind_of(value));
  }
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string at = index(path, i);
    if (!object(value[i], at, {"id", "description"})) return false;
    if (!value[i].contains("id"))
      return fail(join(at, "id"), "required in an interaction component");
    if (!string(value[i]["id"], join(at, "id"))) return false;
    if (value[i].contains("description") &&
        !language_map(value[i]["description"], join(at, "description"))) {
      return false;
    }
  }
  return true;
}

bool Checker::definition(const json& value, const std::string& path) {
  if (!object(value, path,
              {"name", "description", "type", "moreInfo", "extensions", "interactionType",
               "correctResponsesPattern", "choices", "scale", "source", "target", "steps"})) {
    return false;
  }
  for (const char* map : {"name", "description"}) {
    if (value.contains(map) && !language_map(value[map], join(path, map))) return false;
  }
  for (const char* link : {"type", "moreInfo"}) {
    if (value.contains(link) && !iri(value[link], join(path, link))) return false;
  }
  if (value.contains("extensions") && !extensions(value["extensions"], join(path, "extensions"))) {
    return false;
  }
  std::string interaction;
  if (value.contains("interactionType")) {
    const json& type = value["interactionType"];
    if (!string(type, join(path, "interactionType"))) return false;
    interaction = type.get<std::string>();
    static constexpr std::string_view kTypes[] = {
        "true-false",  "choice",     "fill-in", "long-fill-in", "matching",
        "performance", "sequencing", "likert",  "numeric",      "other"};
    bool known = false;
    for (const std::string_view t : kTypes) known = known || interaction == t;
    if (!known) {
      return fail(join(path, "interactionType"),
                  "must be one of true-false, choice, fill-in, long-fill-in, matching, "
                  "performance, sequencing, likert, numeric, other; got " +
                      shown(type));
    }
  }
  if (value.contains("correctResponsesPattern")) {
    const std::string at = join(path, "correctResponsesPattern");
    const json& pattern = value["correctResponsesPattern"];
    if (interaction.empty()) return fail(at, "only allowed with an interactionType");
    if (!pattern.is_array()) return fail(at, "must be an array of strings");
    for (size_t i = 0; i < pattern.size(); ++i) {
      if (!string(pattern[i], index(at, i))) return false;
    }
  }
  // Which component lists each interaction type may carry (xAPI-Data.md 2.4.4.1, Interaction
  // Components).
  for (const char* list : {"choices", "scale", "source", "target", "steps"}) {
    if (!value.contains(list)) continue;
    const std::string at = join(path, list);
    const std::string_view l = list;
    const bool allowed =
        ((interaction == "choice" || interaction == "sequencing") && l == "choices") ||
        (interaction == "likert" && l == "scale") ||
        (interaction == "matching" && (l == "source" || l == "target")) ||
        (interaction == "performance" && l == "steps");
    if (!allowed) {
      return fail(at,
                  "not allowed for interactionType " +
                      (interaction.empty() ? std::string("(none)") : "\"" + interaction + "\""));
    }
    if (!components(value[list], at)) return false;
  }
  return true;
}

bool Checker::activity(const json& value, const std::string& path) {
  if (!object(value, path, {"objectType", "id", "definition"})) return false;
  if (!value.contains("id"))
    return fail(join(path, "id"), "required: an Activity is identified by an IRI");
  return iri(value["id"], join(path, "id")) &&
         (!value.contains("definition") ||
          definition(value["definition"], join(path, "definition")));
}

bool Checker::statement_ref(const json& value, const std::string& path) {
  if (!object(value, path, {"objectType", "id"})) return false;
  if (!value.contains("id")) return fail(join(path, "id"), "required in a StatementRef");
  return uuid(value["id"], join(path, "id"));
}

// The object of a statement (sub = inside a SubStatement, where a SubStatement may not nest).
bool Checker::statement_object(json& value, const std::string& path, bool sub) {
  if (!value.is_object()) {
    return fail(path, std::string("must be an object, got ") + kind_of(value));
  }
  std::string type = "Activity";
  if (value.contains("objectType")) {
    if (!string(value["objectType"], join(path, "objectType"))) return false;
    type = value["objectType"].get<std::string>();
  }
  if (type == "Activity") return activity(value, path);
  if (type == "Agent") return agent(value, path);
  if (type == "Group") return group(value, path);
  if (type == "StatementRef") return statement_ref(value, path);
  if (type == "SubStatement") {
    if (sub)
      return fail(join(path, "objectType"), "a SubStatement must not contain a SubStatement");
    return substatement(value, path);
  }
  return fail(join(path, "objectType"),
              "must be Activity, Agent, Group, StatementRef or SubStatement, got " +
                  shown(value["objectType"]));
}

bool Checker::result(const json& value, const std::string& path) {
  if (!object(value, path,
              {"score", "success", "completion", "response", "duration", "extensions"})) {
    return false;
  }
  if (value.contains("score")) {
    const json& score = value["score"];
    const std::string at = join(path, "score");
    if (!object(score, at, {"scaled", "raw", "min", "max"})) return false;
    for (const char* n : {"scaled", "raw", "min", "max"}) {
      if (score.contains(n) && !number(score[n], join(at, n))) return false;
    }
    if (score.contains("scaled")) {
      const double scaled = score["scaled"].get<double>();
      if (!(scaled >= -1 && scaled <= 1)) {
        return fail(join(at, "scaled"), "must be between -1 and 1, got " + shown(score["scaled"]));
      }
    }
    const bool has_min = score.contains("min"), has_max = score.contains("max");
    if (has_min && has_max && !(score["min"].get<double>() < score["max"].get<double>())) {
      return fail(join(at, "max"), "must be greater than min");
    }
    if (score.contains("raw")) {
      const double raw = score["raw"].get<double>();
      if (has_min && raw < score["min"].get<double>()) {
        return fail(join(at, "raw"), "must not be less than min");
      }
      if (has_max && raw > score["max"].get<double>()) {
        return fail(join(at, "raw"), "must not be greater than max");
      }
    }
  }
  for (const char* flag : {"success", "completion"}) {
    if (value.contains(flag) && !boolean(value[flag], join(path, flag))) return false;
  }
  if (value.contains("response") && !string(value["response"], join(path, "response")))
    return false;
  if (value.contains("duration")) {
    const json& d = value["duration"];
    if (!string(d, join(path, "duration"))) return false;
    if (!is_duration(d.get_ref<const std::string&>())) {
      return fail(join(path, "duration"),
                  "must be an ISO 8601 duration (e.g. PT1H30M), got " + shown(d));
    }
  }
  return !value.contains("extensions") || extensions(value["extensions"], join(path, "extensions"));
}

bool Checker::context(json& value, const std::string& path, const json& object_of_statement) {
  if (!object(value, path,
              {"registration", "instructor", "team", "contextActivities", "revision", "platform",
               "language", "statement", "extensions"})) {
    return false;
  }
  if (value.contains("registration") && !uuid(value["registration"], join(path, "registration"))) {
    return false;
  }
  if (value.contains("instructor") && !actor(value["instructor"], join(path, "instructor"))) {
    return false;
  }
  if (value.contains("team")) {
    const json& team = value["team"];
    if (!(team.is_object() && team.contains("objectType") && team["objectType"] == "Group")) {
      return fail(join(path, "team"), "must be a Group (objectType \"Group\")");
    }
    if (!group(team, join(path, "team"))) return false;
  }
  if (value.contains("contextActivities")) {
    json& activities = value["contextActivities"];
    const std::string at = join(path, "contextActivities");
    if (!object(activities, at, {"parent", "grouping", "category", "other"})) return false;
    for (auto& [key, list] : activities.items()) {
      if (list.is_object()) {
        list = json::array({list});  // one Activity is normalised to an array of one
      }
      if (!list.is_array()) {
        return fail(join(at, key), "must be an Activity or an array of Activities");
      }
      for (size_t i = 0; i < list.size(); ++i) {
        if (!activity(list[i], index(join(at, key), i))) return false;
        if (list[i].contains("objectType") && list[i]["objectType"] != "Activity") {
          return fail(join(index(join(at, key), i), "objectType"), "must be \"Activity\"");
        }
      }
    }
  }
  const bool about_activity = !object_of_statement.contains("objectType") ||
                              object_of_statement["objectType"] == "Activity";
  for (const char* text : {"revision", "platform"}) {
    if (!value.contains(text)) continue;
    if (!string(value[text], join(path, text))) return false;
    if (!about_activity) {
      return fail(join(path, text), "only allowed when the statement's object is an Activity");
    }
  }
  if (value.contains("language")) {
    if (!string(value["language"], join(path, "language"))) return false;
    if (!is_language_tag(value["language"].get_ref<const std::string&>())) {
      return fail(join(path, "language"),
                  "must be an RFC 5646 language tag, got " + shown(value["language"]));
    }
  }
  if (value.contains("statement")) {
    const json& ref = value["statement"];
    if (!(ref.is_object() && ref.contains("objectType") && ref["objectType"] == "StatementRef")) {
      return fail(join(path, "statement"), "must be a StatementRef (objectType \"StatementRef\")");
    }
    if (!statement_ref(ref, join(path, "statement"))) return false;
  }
  return !value.contains("extensions") || extensions(value["extensions"], join(path, "extensions"));
}

bool Checker::attachments(const json& value, const std::string& path) {
  if (!value.is_array()) return fail(path, std::string("must be an array, got ") + kind_of(value));
  for (size_t i = 0; i < value.size(); ++i) {
    const json& a = value[i];
    const std::string at = index(path, i);
    if (!object(
            a, at,
            {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"})) {
      return false;
    }
    for (const char* required : {"usageType", "display", "contentType", "length", "sha2"}) {
      if (!a.contains(required)) return fail(join(at, required), "required in an attachment");
    }
    if (!iri(a["usageType"], join(at, "usageType")) ||
        !language_map(a["display"], join(at, "display")) ||
        (a.contains("description") && !language_map(a["description"], join(at, "description"))) ||
        !string(a["contentType"], join(at, "contentType")) ||
        !string(a["sha2"], join(at, "sha2"))) {
      return false;
    }
    if (!a["length"].is_number_integer() || a["length"].get<int64_t>() < 0) {
      return fail(join(at, "length"), "must be a non-negative integer (octets)");
    }
    if (!a.contains("fileUrl")) {
      // The attachment's content would come in a multipart/mixed request, which this LRS does
      // not take (see README.md).
      return fail(join(at, "fileUrl"),
                  "required: attachments whose content is sent in the request (multipart/mixed) "
                  "are not supported; give the attachment's fileUrl");
    }
    if (!iri(a["fileUrl"], join(at, "fileUrl"))) return false;
  }
  return true;
}

// The parts a Statement and a SubStatement share.
bool Checker::common(json& value, const std::string& path) {
  for (const char* required : {"actor", "verb", "object"}) {
    if (!value.contains(required)) return fail(join(path, required), "required in a statement");
  }
  if (!actor(value["actor"], join(path, "actor")) || !verb(value["verb"], join(path, "verb"))) {
    return false;
  }
  return true;
}

bool Checker::substatement(json& value, const std::string& path) {
  for (const char* forbidden : {"id", "stored", "version", "authority"}) {
    if (value.contains(forbidden)) {
      return fail(join(path, forbidden), "not allowed in a SubStatement");
    }
  }
  if (!object(value, path,
              {"objectType", "actor", "verb", "object", "result", "context", "timestamp",
               "attachments"}) ||
      !common(value, path) || !statement_object(value["object"], join(path, "object"), true)) {
    return false;
  }
  return rest(value, path);
}

bool Checker::rest(json& value, const std::string& path) {
  if (value.contains("result") && !result(value["result"], join(path, "result"))) return false;
  if (value.contains("context") &&
      !context(value["context"], join(path, "context"), value["object"])) {
    return false;
  }
  if (value.contains("timestamp") && !timestamp(value["timestamp"], join(path, "timestamp"))) {
    return false;
  }
  return !value.contains("attachments") ||
         attachments(value["attachments"], join(path, "attachments"));
}

bool Checker::statement(json& value, const std::string& path) {
  if (!object(value, path,
              {"id", "actor", "verb", "object", "result", "context", "timestamp", "stored",
               "authority", "version", "attachments"})) {
    return false;
  }
  if (value.contains("id") && !uuid(value["id"], join(path, "id"))) return false;
  if (!common(value, path) || !statement_object(value["object"], join(path, "object"), false)) {
    return false;
  }
  if (!rest(value, path)) return false;
  if (value.contains("stored") && !timestamp(value["stored"], join(path, "stored"))) return false;
  if (value.contains("authority") && !actor(value["authority"], join(path, "authority")))
    return false;
  if (value.contains("version")) {
    if (!string(value["version"], join(path, "version"))) return false;
    if (!is_version(value["version"].get_ref<const std::string&>())) {
      return fail(join(path, "version"),
                  "must be 1.0.x (this LRS speaks xAPI 1.0.3), got " + shown(value["version"]));
    }
  }
  // A voiding statement's object must be the StatementRef of what it voids (xAPI-Data.md 2.3.2).
  if (value["verb"]["id"] == "http://adlnet.gov/expapi/verbs/voided") {
    const json& object = value["object"];
    if (!object.contains("objectType") || object["objectType"] != "StatementRef") {
      return fail(join(join(path, "object"), "objectType"),
                  "a voiding statement's object must be a StatementRef to the voided statement");
    }
  }
  return true;
}

}  // namespace internal

std::optional<StatementError> validate_statement(nlohmann::json& statement,
                                                 const std::string& path) {
  internal::Checker checker;
  checker.statement(statement, path);
  return checker.error;
}

std::optional<StatementError> validate_agent(const nlohmann::json& agent, const std::string& path) {
  internal::Checker checker;
  checker.actor(agent, path);
  return checker.error;
}

namespace {

void sort_members(nlohmann::json& who) {
  if (!who.is_object() || !who.contains("member")) return;
  nlohmann::json& members = who["member"];
  std::sort(members.begin(), members.end(),
            [](const nlohmann::json& a, const nlohmann::json& b) { return a.dump() < b.dump(); });
}

void comparable(nlohmann::json& s) {
  for (const char* assigned : {"stored", "authority", "version"}) s.erase(assigned);
  if (s.contains("verb")) s["verb"].erase("display");
  if (s.contains("timestamp") && s["timestamp"].is_string()) {
    if (auto ms = parse_timestamp(s["timestamp"].get<std::string>())) {
      s["timestamp"] = format_timestamp(*ms);
    }
  }
  sort_members(s["actor"]);
  nlohmann::json& object = s["object"];
  const std::string type = object.value("objectType", "Activity");
  if (type == "Activity") {
    object = nlohmann::json{{"id", object["id"]}};
  } else if (type == "Group") {
    sort_members(object);
  } else if (type == "SubStatement") {
    comparable(object);
  }
  if (s.contains("context")) {
    nlohmann::json& context = s["context"];
    for (const char* who : {"instructor", "team"}) {
      if (context.contains(who)) sort_members(context[who]);
    }
    if (context.contains("contextActivities")) {
      for (auto& [kind, list] : context["contextActivities"].items()) {
        for (nlohmann::json& activity : list) activity = nlohmann::json{{"id", activity["id"]}};
      }
    }
  }
}

}  // namespace

std::string comparable_form(const nlohmann::json& statement) {
  nlohmann::json copy = statement;
  comparable(copy);
  return copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool same_statement(const std::string& a, const std::string& b) {
  if (a == b) return true;
  nlohmann::json x = nlohmann::json::parse(a, nullptr, false);
  nlohmann::json y = nlohmann::json::parse(b, nullptr, false);
  if (!x.is_object() || !y.is_object()) return false;
  if (x.contains("timestamp") != y.contains("timestamp")) {
    x.erase("timestamp");
    y.erase("timestamp");
  }
  return x == y;
}

}  // namespace simpang::plugins::lms_xapi
