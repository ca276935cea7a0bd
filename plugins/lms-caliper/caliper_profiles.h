// The Caliper 1.1 / 1.2 event types lms-caliper knows: for each, the actions its profile allows
// and the entity types its object may have, and in which version each appeared. Event types not
// in the table are refused (Caliper says an event's type is one of the spec's).
//
// Thread rule: immutable tables; safe from any thread.
#pragma once

#include <string_view>
#include <vector>

#include "caliper_envelope.h"

namespace simpang::plugins::lms_caliper {

struct EventProfile {
  std::string_view type;
  Version since;
  std::vector<std::string_view> actions;       // empty: any Caliper action
  std::vector<std::string_view> object_types;  // empty: any entity type
};

// nullptr when `type` is not a Caliper event type of `version`.
const EventProfile* find_profile(std::string_view type, Version version);
// Whether `type` names an event type of any version (to say "needs v1p2" rather than "unknown").
const EventProfile* find_profile_any_version(std::string_view type);
// Actions added in 1.2 (refused in a v1p1 event).
bool is_v1p2_action(std::string_view action);
// Comma-separated list of `items`, for messages.
std::string join(const std::vector<std::string_view>& items);

}  // namespace simpang::plugins::lms_caliper
