// xAPI statement validation; see xapi_statement.h. Each check returns false after recording the
// first error, so a statement is reported by the first rule it breaks, walking it in document
// order of the specification's tables.
#include "xapi_statement.h"

#include <cmath>
#include <initializer_list>
#include <string_view>

#include "xapi_formats.h"

namespace simpang::plugins::lms_xapi {
namespace {

using nlohmann::json;

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// A short rendering of a bad value for a message: strings quoted and cut at 60 characters.
std::string shown(const json& value) {
  std::string text = value.dump(-1, ' ', false, json::error_handler_t::replace);
  if (text.size() > 60) {
    text = text.substr(0, 57) + "...";
  }
  return text;
}

const char* kind_of(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    default:
      return "an unusable value";
  }
}

class Checker {
 public:
  std::optional<StatementError> error;

  bool fail(const std::string& path, std::string rule) {
    error = StatementError{path, std::move(rule)};
    return false;
  }

  // `value` is an object whose properties are all in `allowed`.
  bool object(const json& value, const std::string& path, std::initializer_list<std::string_view> allowed) {
    if (!value.is_object()) {
      return fail(path, std::string("must be an object, got ") + kind_of(value));
    }
    for (const auto& [key, member] : value.items()) {
      bool known = false;
      for (const std::string_view name : allowed) {
        known = known || key == name;
      }
      if (!known) {
        std::string names;
        for (const std::string_view name : allowed) {
          names += (names.empty() ? "" : ", ") + std::string(name);
        }
        return fail(join(path, key), "unknown property (allowed here: " + names + ")");
      }
      if (member.is_null()) {
        return fail(join(path, key), "must not be null");
      }
    }
    return true;
  }

  bool string(const json& value, const std::string& path) {
    return value.is_string() || fail(path, std::string("must be a string, got ") + kind_of(value));
  }

  bool iri(const json& value, const std::string& path) {
    if (!string(value, path)) {
      return false;
    }
    return is_iri(value.get_ref<const std::string&>()) ||
           fail(path, "must be an absolute IRI (scheme:...), got " + shown(value));
  }

  bool uuid(const json& value, const std::string& path) {
    if (!string(value, path)) {
      return false;
    }
    return is_uuid(value.get_ref<const std::string&>()) ||
           fail(path, "must be a UUID (8-4-4-4-12 hex digits), got " + shown(value));
  }

  bool timestamp(const json& value, const std::string& path) {
    if (!string(value, path)) {
      return false;
    }
    return parse_timestamp(value.get_ref<const std::string&>()).has_value() ||
           fail(path, "must be an ISO 8601 timestamp (offset not -00:00), got " + shown(value));
  }

  bool boolean(const json& value, const std::string& path) {
    return value.is_boolean() ||
           fail(path, std::string("must be true or false, got ") + kind_of(value));
  }

  bool number(const json& value, const std::string& path) {
    return value.is_number() || fail(path, std::string("must be a number, got ") + kind_of(value));
  }

  bool language_map(const json& value, const std::string& path) {
    if (!value.is_object()) {
      return fail(path, std::string("must be a language map (an object), got ") + kind_of(value));
    }
    for (const auto& [tag, text] : value.items()) {
      if (!is_language_tag(tag)) {
        return fail(join(path, tag), "language map key must be an RFC 5646 language tag");
      }
      if (!text.is_string()) {
        return fail(join(path, tag), std::string("must be a string, got ") + kind_of(text));
      }
    }
    return true;
  }

  bool extensions(const json& value, const std::string& path) {
    if (!value.is_object()) {
      return fail(path, std::string("must be an object keyed by IRIs, got ") + kind_of(value));
    }
    for (const auto& [key, member] : value.items()) {
      if (!is_iri(key)) {
        return fail(join(path, key), "extension key must be an absolute IRI");
      }
    }
    return true;
  }

  // The inverse functional identifiers present in an Agent or Group; -1 if one is malformed.
  int identifiers(const json& value, const std::string& path) {
    int count = 0;
    if (const auto it = value.find("mbox"); it != value.end()) {
      ++count;
      if (!string(*it, join(path, "mbox"))) return -1;
      if (!is_mailto(it->get_ref<const std::string&>())) {
        fail(join(path, "mbox"), "must be a mailto IRI (mailto:name@host), got " + shown(*it));
        return -1;
      }
    }
    if (const auto it = value.find("mbox_sha1sum"); it != value.end()) {
      ++count;
      if (!string(*it, join(path, "mbox_sha1sum"))) return -1;
      if (!is_sha1_hex(it->get_ref<const std::string&>())) {
        fail(join(path, "mbox_sha1sum"), "must be 40 hexadecimal digits, got " + shown(*it));
        return -1;
      }
    }
    if (const auto it = value.find("openid"); it != value.end()) {
      ++count;
      if (!iri(*it, join(path, "openid"))) return -1;
    }
    if (const auto it = value.find("account"); it != value.end()) {
      ++count;
      const std::string account = join(path, "account");
      if (!object(*it, account, {"homePage", "name"})) return -1;
      if (!it->contains("homePage")) {
        fail(join(account, "homePage"), "required in an account");
        return -1;
      }
      if (!it->contains("name")) {
        fail(join(account, "name"), "required in an account");
        return -1;
      }
      if (!iri((*it)["homePage"], join(account, "homePage")) ||
          !string((*it)["name"], join(account, "name"))) {
        return -1;
      }
    }
    return count;
  }

  bool agent(const json& value, const std::string& path) {
    if (!object(value, path, {"objectType", "name", "mbox", "mbox_sha1sum", "openid", "account"})) {
      return false;
    }
    if (value.contains("objectType") && value["objectType"] != "Agent") {
      return fail(join(path, "objectType"), "must be \"Agent\" here, got " + shown(value["objectType"]));
    }
    if (value.contains("name") && !string(value["name"], join(path, "name"))) {
      return false;
    }
    const int ifis = identifiers(value, path);
    if (ifis < 0) {
      return false;
    }
    if (ifis != 1) {
      return fail(path, "an Agent must have exactly one inverse functional identifier (mbox, "
                        "mbox_sha1sum, openid or account), it has " + std::to_string(ifis));
    }
    return true;
  }

  bool group(const json& value, const std::string& path) {
    if (!object(value, path,
                {"objectType", "name", "member", "mbox", "mbox_sha1sum", "openid", "account"})) {
      return false;
    }
    if (value.contains("name") && !string(value["name"], join(path, "name"))) {
      return false;
    }
    const int ifis = identifiers(value, path);
    if (ifis < 0) {
      return false;
    }
    if (ifis > 1) {
      return fail(path, "a Group must have at most one inverse functional identifier, it has " +
                            std::to_string(ifis));
    }
    if (const auto it = value.find("member"); it != value.end()) {
      const std::string members = join(path, "member");
      if (!it->is_array()) {
        return fail(members, std::string("must be an array of Agents, got ") + kind_of(*it));
      }
      for (size_t i = 0; i < it->size(); ++i) {
        const json& m = (*it)[i];
        if (m.is_object() && m.contains("objectType") && m["objectType"] == "Group") {
          return fail(index(members, i), "a Group's members must be Agents, not Groups");
        }
        if (!agent(m, index(members, i))) {
          return false;
        }
      }
      if (ifis == 0 && it->empty()) {
        return fail(members, "an anonymous Group must list at least one member");
      }
    } else if (ifis == 0) {
      return fail(path, "an anonymous Group (no identifier) must have a member list");
    }
    return true;
  }

  // An actor, instructor or authority: an Agent (objectType optional) or a Group.
  bool actor(const json& value, const std::string& path) {
    if (value.is_object() && value.contains("objectType") && value["objectType"] == "Group") {
      return group(value, path);
    }
    return agent(value, path);
  }

  bool verb(const json& value, const std::string& path) {
    if (!object(value, path, {"id", "display"})) {
      return false;
    }
    if (!value.contains("id")) {
      return fail(join(path, "id"), "required: a verb is identified by an IRI");
    }
    return iri(value["id"], join(path, "id")) &&
           (!value.contains("display") || language_map(value["display"], join(path, "display")));
  }

  bool components(const json& value, const std::string& path) {
    if (!value.is_array()) {
      return fail(path, std::string("must be an array of interaction components, got ") +
                            kind_of(value));
    }
    for (size_t i = 0; i < value.size(); ++i) {
      const std::string at = index(path, i);
      if (!object(value[i], at, {"id", "description"})) return false;
      if (!value[i].contains("id")) return fail(join(at, "id"), "required in an interaction component");
      if (!string(value[i]["id"], join(at, "id"))) return false;
      if (value[i].contains("description") &&
          !language_map(value[i]["description"], join(at, "description"))) {
        return false;
      }
    }
    return true;
  }

  bool definition(const json& value, const std::string& path) {
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
      static constexpr std::string_view kTypes[] = {"true-false", "choice",      "fill-in",
                                                    "long-fill-in", "matching", "performance",
                                                    "sequencing", "likert",     "numeric",
                                                    "other"};
      bool known = false;
      for (const std::string_view t : kTypes) known = known || interaction == t;
      if (!known) {
        return fail(join(path, "interactionType"),
                    "must be one of true-false, choice, fill-in, long-fill-in, matching, "
                    "performance, sequencing, likert, numeric, other; got " + shown(type));
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
      const bool allowed = ((interaction == "choice" || interaction == "sequencing") && l == "choices") ||
                           (interaction == "likert" && l == "scale") ||
                           (interaction == "matching" && (l == "source" || l == "target")) ||
                           (interaction == "performance" && l == "steps");
      if (!allowed) {
        return fail(at, "not allowed for interactionType " +
                            (interaction.empty() ? std::string("(none)") : "\"" + interaction + "\""));
      }
      if (!components(value[list], at)) return false;
    }
    return true;
  }

  bool activity(const json& value, const std::string& path) {
    if (!object(value, path, {"objectType", "id", "definition"})) return false;
    if (!value.contains("id")) return fail(join(path, "id"), "required: an Activity is identified by an IRI");
    return iri(value["id"], join(path, "id")) &&
           (!value.contains("definition") || definition(value["definition"], join(path, "definition")));
  }

  bool statement_ref(const json& value, const std::string& path) {
    if (!object(value, path, {"objectType", "id"})) return false;
    if (!value.contains("id")) return fail(join(path, "id"), "required in a StatementRef");
    return uuid(value["id"], join(path, "id"));
  }

  // The object of a statement (sub = inside a SubStatement, where a SubStatement may not nest).
  bool statement_object(json& value, const std::string& path, bool sub) {
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
      if (sub) return fail(join(path, "objectType"), "a SubStatement must not contain a SubStatement");
      return substatement(value, path);
    }
    return fail(join(path, "objectType"),
                "must be Activity, Agent, Group, StatementRef or SubStatement, got " +
                    shown(value["objectType"]));
  }

  bool result(const json& value, const std::string& path) {
    if (!object(value, path, {"score", "success", "completion", "response", "duration", "extensions"})) {
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
    if (value.contains("response") && !string(value["response"], join(path, "response"))) return false;
    if (value.contains("duration")) {
      const json& d = value["duration"];
      if (!string(d, join(path, "duration"))) return false;
      if (!is_duration(d.get_ref<const std::string&>())) {
        return fail(join(path, "duration"), "must be an ISO 8601 duration (e.g. PT1H30M), got " + shown(d));
      }
    }
    return !value.contains("extensions") || extensions(value["extensions"], join(path, "extensions"));
  }

  bool context(json& value, const std::string& path, const json& object_of_statement) {
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
    const bool about_activity =
        !object_of_statement.contains("objectType") || object_of_statement["objectType"] == "Activity";
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
        return fail(join(path, "language"), "must be an RFC 5646 language tag, got " + shown(value["language"]));
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

  bool attachments(const json& value, const std::string& path) {
    if (!value.is_array()) return fail(path, std::string("must be an array, got ") + kind_of(value));
    for (size_t i = 0; i < value.size(); ++i) {
      const json& a = value[i];
      const std::string at = index(path, i);
      if (!object(a, at, {"usageType", "display", "description", "contentType", "length", "sha2", "fileUrl"})) {
        return false;
      }
      for (const char* required : {"usageType", "display", "contentType", "length", "sha2"}) {
        if (!a.contains(required)) return fail(join(at, required), "required in an attachment");
      }
      if (!iri(a["usageType"], join(at, "usageType")) ||
          !language_map(a["display"], join(at, "display")) ||
          (a.contains("description") && !language_map(a["description"], join(at, "description"))) ||
          !string(a["contentType"], join(at, "contentType")) || !string(a["sha2"], join(at, "sha2"))) {
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
  bool common(json& value, const std::string& path) {
    for (const char* required : {"actor", "verb", "object"}) {
      if (!value.contains(required)) return fail(join(path, required), "required in a statement");
    }
    if (!actor(value["actor"], join(path, "actor")) || !verb(value["verb"], join(path, "verb"))) {
      return false;
    }
    return true;
  }

  bool substatement(json& value, const std::string& path) {
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

  bool rest(json& value, const std::string& path) {
    if (value.contains("result") && !result(value["result"], join(path, "result"))) return false;
    if (value.contains("context") && !context(value["context"], join(path, "context"), value["object"])) {
      return false;
    }
    if (value.contains("timestamp") && !timestamp(value["timestamp"], join(path, "timestamp"))) {
      return false;
    }
    return !value.contains("attachments") || attachments(value["attachments"], join(path, "attachments"));
  }

  bool statement(json& value, const std::string& path) {
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
    if (value.contains("authority") && !actor(value["authority"], join(path, "authority"))) return false;
    if (value.contains("version")) {
      if (!string(value["version"], join(path, "version"))) return false;
      if (!is_version(value["version"].get_ref<const std::string&>())) {
        return fail(join(path, "version"), "must be 1.0.x (this LRS speaks xAPI 1.0.3), got " +
                                               shown(value["version"]));
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
};

}  // namespace

std::optional<StatementError> validate_statement(nlohmann::json& statement, const std::string& path) {
  Checker checker;
  checker.statement(statement, path);
  return checker.error;
}

std::optional<StatementError> validate_agent(const nlohmann::json& agent, const std::string& path) {
  Checker checker;
  checker.actor(agent, path);
  return checker.error;
}

}  // namespace simpang::plugins::lms_xapi
