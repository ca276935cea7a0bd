// Validation of what a Caliper sensor or Canvas sends to lms-caliper, as pure functions:
//  - an IMS Caliper Analytics 1.1 / 1.2 sensor API envelope ({sensor, sendTime, dataVersion,
//    data[]}), each event checked against its profile (caliper_profiles.h): required properties,
//    the action valid for the event type, the object's entity type, ids as IRIs, the event id a
//    urn:uuid: UUID, eventTime ISO 8601 UTC with milliseconds;
//  - a Canvas live event in Canvas's own format ({metadata: {event_name, event_time, ...}, body}).
// An envelope is all-or-nothing: the first bad event refuses the whole envelope, naming its index,
// the property (a JSON pointer from the envelope's root) and the rule.
//
//   Limits limits{.max_events = 1000};
//   auto checked = check_envelope(body, limits);      // std::variant<Envelope, EnvelopeError>
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace simpang::plugins::lms_caliper {

inline constexpr char kContextV1p1[] = "http://purl.imsglobal.org/ctx/caliper/v1p1";
inline constexpr char kContextV1p2[] = "http://purl.imsglobal.org/ctx/caliper/v1p2";

enum class Format { kCaliper, kCanvas };
enum class Version { kV1p1, kV1p2 };

struct Limits {
  size_t max_events = 1000;  // most items in one envelope's data[]
};

// Why an envelope was refused. `index` is the data[] index of the bad item (nullopt for the
// envelope itself or a Canvas event); `pointer` a JSON pointer from the body's root.
struct EnvelopeError {
  std::optional<size_t> index;
  std::string pointer;
  std::string rule;
  int status = 400;  // 413 when a limit is exceeded
  std::string message() const;  // "data[2] /data/2/action: ..." or "/sendTime: ..."
};

// A checked envelope: every item of data[] (a Caliper event or entity described), or the one
// Canvas event, as received.
struct Envelope {
  Format format = Format::kCaliper;
  Version version = Version::kV1p2;  // the envelope's dataVersion (Caliper only)
  std::vector<nlohmann::json> items;
};

std::variant<Envelope, EnvelopeError> check_envelope(const nlohmann::json& body,
                                                     const Limits& limits);

// One Caliper event or entity (an item of data[]), `at` its index. nullopt when it is valid.
std::optional<EnvelopeError> check_caliper_item(const nlohmann::json& item, size_t at);

// A Canvas-format live event ({metadata, body}). nullopt when it is valid.
std::optional<EnvelopeError> check_canvas_event(const nlohmann::json& event);

// True for an ISO 8601 UTC date-time with at least millisecond precision
// ("2026-03-01T09:30:00.000Z"), as Caliper's eventTime and sendTime require.
bool is_caliper_time(std::string_view text);

}  // namespace simpang::plugins::lms_caliper
