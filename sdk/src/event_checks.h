// What a plugin may emit, checked where it emits: by the SDK runtime and by the test harness's
// context alike. Both defer to the one set of rules the hub applies on publish
// (simpang/base/event_rules.h), so a plugin's test catches what the hub would refuse.
#pragma once

#include "simpang/base/event_rules.h"
#include "simpang/base/status.h"
#include "simpang/v1/event.pb.h"

namespace simpang::sdk::internal {

// Ok, or the rule `event` breaks in the hub's words, e.g.
// "event e-1: missing required attribute 'source'", checked against `limits` (the hub's, as its
// Welcome announced them, or the defaults before that). An empty spec_version counts as "1.0",
// which emit() and publish() fill in before sending. Allocates only for an error. Callers say
// where the event was refused in front of it ("emit: ", "publish: event 2 of the group: ").
// Thread rule: none.
Status check_emittable(const simpang::v1::Event& event, const EventLimits& limits = EventLimits{});

}  // namespace simpang::sdk::internal
