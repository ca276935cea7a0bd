// Envelope and event validation; see caliper_envelope.h.
#include "caliper_envelope.h"

#include <algorithm>
#include <cctype>

#include "caliper_profiles.h"
#include "xapi_formats.h"

namespace simpang::plugins::lms_caliper {
namespace {

using nlohmann::json;
using simpang::plugins::lms_xapi::is_iri;
using simpang::plugins::lms_xapi::is_uuid;
using simpang::plugins::lms_xapi::parse_timestamp;

EnvelopeError fail(std::optional<size_t> index, std::string pointer, std::string rule) {
  return EnvelopeError{index, std::move(pointer), std::move(rule)};
}

std::optional<Version> context_version(const json& context) {
  auto of = [](const json& value) -> std::optional<Version> {
    if (value == kContextV1p1) return Version::kV1p1;
    if (value == kContextV1p2) return Version::kV1p2;
    return std::nullopt;
  };
  if (context.is_string()) return of(context);
  if (context.is_array()) {
    for (const json& c : context) {
      if (auto v = of(c)) return v;
    }
  }
  return std::nullopt;
}

// An entity: an IRI string (a reference) or an object with an IRI `id` and a `type`.
// `types` empty: any type. Sets `type` to the object's type ("" for a reference).
std::optional<EnvelopeError> check_entity(const json& entity, size_t at, const std::string& pointer,
                                          const std::vector<std::string_view>& types,
                                          std::string& type) {
  type.clear();
  if (entity.is_string()) {
    if (!is_iri(entity.get<std::string>())) {
      return fail(at, pointer, "an entity reference must be an IRI");
    }
    return std::nullopt;
  }
  if (!entity.is_object()) {
    return fail(at, pointer, "must be an entity (an object with id and type) or its IRI");
  }
  const auto id = entity.find("id");
  if (id == entity.end() || !id->is_string() || !is_iri(id->get<std::string>())) {
    return fail(at, pointer + "/id", "an entity's id is required and must be an IRI");
  }
  const auto t = entity.find("type");
  if (t == entity.end() || !t->is_string() || t->get<std::string>().empty()) {
    return fail(at, pointer + "/type", "an entity's type is required (a string)");
  }
  type = t->get<std::string>();
  if (!types.empty() && std::find(types.begin(), types.end(), type) == types.end()) {
    return fail(at, pointer + "/type", "must be one of " + join(types) + ", got '" + type + "'");
  }
  return std::nullopt;
}

std::optional<EnvelopeError> check_score(const json& score, size_t at, const std::string& p) {
  if (!score.is_object() || score.value("type", "") != "Score") {
    return fail(at, p, "a GradeEvent generates a Score (an object with type Score)");
  }
  std::string ignored;
  if (auto e = check_entity(score, at, p, {"Score"}, ignored)) return e;
  const auto given = score.find("scoreGiven");
  if (given == score.end() || !given->is_number()) {
    return fail(at, p + "/scoreGiven", "a Score's scoreGiven is required (a number)");
  }
  if (const auto max = score.find("maxScore"); max != score.end()) {
    if (!max->is_number() || max->get<double>() <= 0) {
      return fail(at, p + "/maxScore", "must be a number greater than 0");
    }
    if (given->get<double>() > max->get<double>()) {
      return fail(at, p + "/scoreGiven", "must not exceed maxScore");
    }
  }
  if (given->get<double>() < 0) return fail(at, p + "/scoreGiven", "must not be negative");
  return std::nullopt;
}

std::optional<EnvelopeError> check_event(const json& event, size_t at, Version version,
                                         const std::string& p) {
  const std::string type = event["type"].get<std::string>();
  const EventProfile* profile = find_profile(type, version);
  if (profile == nullptr) {
    if (find_profile_any_version(type) != nullptr) {
      return fail(at, p + "/type", type + " is a Caliper 1.2 event type; its @context must be " +
                                       kContextV1p2);
    }
    return fail(at, p + "/type", "'" + type + "' is not a Caliper event type");
  }
  const auto id = event.find("id");
  const std::string uuid_prefix = "urn:uuid:";
  if (id == event.end() || !id->is_string() || id->get<std::string>().rfind(uuid_prefix, 0) != 0 ||
      !is_uuid(id->get<std::string>().substr(uuid_prefix.size()))) {
    return fail(at, p + "/id", "an event's id is required and must be a urn:uuid: UUID");
  }
  std::string entity_type;
  if (!event.contains("actor")) return fail(at, p + "/actor", "an event's actor is required");
  if (auto e = check_entity(event["actor"], at, p + "/actor", {}, entity_type)) return e;
  const auto action = event.find("action");
  if (action == event.end() || !action->is_string() || action->get<std::string>().empty()) {
    return fail(at, p + "/action", "an event's action is required (a string)");
  }
  const std::string act = action->get<std::string>();
  if (version == Version::kV1p1 && is_v1p2_action(act)) {
    return fail(at, p + "/action", act + " is a Caliper 1.2 action; not valid in a v1p1 event");
  }
  if (!profile->actions.empty() &&
      std::find(profile->actions.begin(), profile->actions.end(), act) == profile->actions.end()) {
    return fail(at, p + "/action", "a " + type + "'s action must be one of " +
                                       join(profile->actions) + ", got '" + act + "'");
  }
  if (!event.contains("object")) return fail(at, p + "/object", "an event's object is required");
  if (auto e = check_entity(event["object"], at, p + "/object", profile->object_types,
                            entity_type)) {
    return e;
  }
  const auto time = event.find("eventTime");
  if (time == event.end() || !time->is_string() || !is_caliper_time(time->get<std::string>())) {
    return fail(at, p + "/eventTime",
                "an event's eventTime is required: ISO 8601 in UTC with milliseconds, e.g. "
                "2026-03-01T09:30:00.000Z");
  }
  for (const char* optional : {"edApp", "group", "membership", "session", "federatedSession",
                               "target", "referrer"}) {
    if (event.contains(optional)) {
      if (auto e = check_entity(event[optional], at, p + "/" + optional, {}, entity_type)) {
        return e;
      }
    }
  }
  if (event.contains("generated") && type != "GradeEvent") {
    if (auto e = check_entity(event["generated"], at, p + "/generated", {}, entity_type)) return e;
  }
  if (type == "GradeEvent") {
    if (!event.contains("generated")) {
      return fail(at, p + "/generated", "a GradeEvent must generate a Score");
    }
    if (auto e = check_score(event["generated"], at, p + "/generated")) return e;
  }
  if (event.contains("extensions") && !event["extensions"].is_object()) {
    return fail(at, p + "/extensions", "must be an object");
  }
  return std::nullopt;
}

bool digits(std::string_view text, size_t from, size_t count) {
  if (from + count > text.size()) return false;
  for (size_t i = from; i < from + count; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

}  // namespace

std::string EnvelopeError::message() const {
  std::string out = index ? "data[" + std::to_string(*index) + "] " : "";
  return out + (pointer.empty() ? "/" : pointer) + ": " + rule;
}

bool is_caliper_time(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS.sss[sss...]Z
  if (text.size() < 24 || text.back() != 'Z' || text[19] != '.' || !digits(text, 20, 3)) {
    return false;
  }
  if (!digits(text, 20, text.size() - 21)) return false;
  return parse_timestamp(text).has_value();
}

std::optional<EnvelopeError> check_caliper_item(const json& item, size_t at) {
  const std::string p = "/data/" + std::to_string(at);
  if (!item.is_object()) return fail(at, p, "must be an event or an entity (an object)");
  const auto context = item.find("@context");
  if (context == item.end()) {
    return fail(at, p + "/@context", std::string("required: ") + kContextV1p1 + " or " +
                                         kContextV1p2);
  }
  const std::optional<Version> version = context_version(*context);
  if (!version) {
    return fail(at, p + "/@context",
                std::string("must be (or include) ") + kContextV1p1 + " or " + kContextV1p2);
  }
  const auto type = item.find("type");
  if (type == item.end() || !type->is_string() || type->get<std::string>().empty()) {
    return fail(at, p + "/type", "required (a string: an event or entity type)");
  }
  const std::string t = type->get<std::string>();
  if (t.size() >= 5 && t.compare(t.size() - 5, 5, "Event") == 0) {
    return check_event(item, at, *version, p);
  }
  std::string ignored;
  return check_entity(item, at, p, {}, ignored);  // an entity described
}

std::optional<EnvelopeError> check_canvas_event(const json& event) {
  if (!event.is_object() || !event.contains("metadata") || !event["metadata"].is_object()) {
    return fail(std::nullopt, "/metadata", "required: an object");
  }
  if (!event.contains("body") || !event["body"].is_object()) {
    return fail(std::nullopt, "/body", "required: an object");
  }
  const json& metadata = event["metadata"];
  const auto name = metadata.find("event_name");
  if (name == metadata.end() || !name->is_string() || name->get<std::string>().empty()) {
    return fail(std::nullopt, "/metadata/event_name", "required (a string, e.g. grade_change)");
  }
  const auto time = metadata.find("event_time");
  if (time == metadata.end() || !time->is_string() ||
      !parse_timestamp(time->get<std::string>())) {
    return fail(std::nullopt, "/metadata/event_time", "required: an ISO 8601 date-time");
  }
  for (const char* key : {"user_id", "root_account_uuid", "root_account_id", "request_id",
                          "context_id", "context_type"}) {
    if (metadata.contains(key) && !metadata[key].is_string()) {
      return fail(std::nullopt, std::string("/metadata/") + key, "must be a string");
    }
  }
  return std::nullopt;
}

std::variant<Envelope, EnvelopeError> check_envelope(const json& body, const Limits& limits) {
  if (!body.is_object()) {
    return fail(std::nullopt, "", "must be a Caliper envelope or a Canvas live event (an object)");
  }
  if (body.contains("metadata") && body.contains("body") && !body.contains("data")) {
    if (auto e = check_canvas_event(body)) return *e;
    return Envelope{Format::kCanvas, Version::kV1p2, {body}};
  }
  const auto sensor = body.find("sensor");
  if (sensor == body.end() || !sensor->is_string() || !is_iri(sensor->get<std::string>())) {
    return fail(std::nullopt, "/sensor", "an envelope's sensor is required and must be an IRI");
  }
  const auto send = body.find("sendTime");
  if (send == body.end() || !send->is_string() || !is_caliper_time(send->get<std::string>())) {
    return fail(std::nullopt, "/sendTime",
                "an envelope's sendTime is required: ISO 8601 in UTC with milliseconds");
  }
  const auto version = body.find("dataVersion");
  const std::optional<Version> v =
      version == body.end() ? std::nullopt : context_version(*version);
  if (!v || !version->is_string()) {
    return fail(std::nullopt, "/dataVersion",
                std::string("an envelope's dataVersion is required: ") + kContextV1p1 + " or " +
                    kContextV1p2);
  }
  const auto data = body.find("data");
  if (data == body.end() || !data->is_array() || data->empty()) {
    return fail(std::nullopt, "/data", "an envelope's data is required: a non-empty array");
  }
  if (data->size() > limits.max_events) {
    EnvelopeError e = fail(std::nullopt, "/data",
                           "an envelope holds at most " + std::to_string(limits.max_events) +
                               " items, this one " + std::to_string(data->size()));
    e.status = 413;
    return e;
  }
  Envelope out{Format::kCaliper, *v, {}};
  out.items.reserve(data->size());
  for (size_t i = 0; i < data->size(); ++i) {
    if (auto e = check_caliper_item((*data)[i], i)) return *e;
    out.items.push_back((*data)[i]);
  }
  return out;
}

}  // namespace simpang::plugins::lms_caliper
