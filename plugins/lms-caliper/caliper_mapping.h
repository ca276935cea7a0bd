// What an accepted item becomes on the hub (the README's mapping table):
//  - always one raw event, lossless: `caliper.event.received` for a Caliper event or entity,
//    `canvas.event.received` for a Canvas-format live event, data the JSON as received;
//  - where it means something to the programme, a talent event (docs/events.md):
//      Caliper GradeEvent Graded, Canvas grade_change, course_completed -> talent.completion.recorded
//      Canvas enrollment_created                                         -> talent.enrollment.created
// Ids are deterministic: a Caliper event's from its urn:uuid:, a Canvas event's from its metadata
// and body ids, so a re-sent event carries the same ids and the hub's journal recognises it.
//
// Thread rule: pure functions; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "simpang/v1/event.pb.h"

namespace simpang::plugins::lms_caliper {

inline constexpr char kCaliperReceived[] = "caliper.event.received";
inline constexpr char kCanvasReceived[] = "canvas.event.received";

struct MappingOptions {
  std::string source = "/lms/caliper";  // the events' source
};

// The raw id of a Caliper item: "caliper:" + the event's UUID (or the entity's id).
std::string caliper_event_id(const nlohmann::json& item);
// The raw id of a Canvas event: "canvas:" + root account, event name, event time and the ids
// the body carries (request_id when there is one).
std::string canvas_event_id(const nlohmann::json& event);

// The events for one checked Caliper item, raw first.
// REQUIRES: check_caliper_item(item) accepted it.
std::vector<simpang::v1::Event> caliper_events(const nlohmann::json& item,
                                               const MappingOptions& options);
// The events for one checked Canvas-format event, raw first.
// REQUIRES: check_canvas_event(event) accepted it.
std::vector<simpang::v1::Event> canvas_events(const nlohmann::json& event,
                                              const MappingOptions& options);

}  // namespace simpang::plugins::lms_caliper
