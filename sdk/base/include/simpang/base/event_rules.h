// What every published event must carry, stated once with one wording per rule. The SDK checks it
// when a plugin emits (and the test harness does the same), the hub when an event arrives in a
// Publish, so a plugin's own tests catch exactly what the hub would refuse, in the same words.
//
//   Status s = simpang::check_event_attributes(e.id(), e.source(), e.type(), e.spec_version());
//   if (!s.ok()) reject(s.message());  // e.g. "event e-1: missing required attribute 'source'"
//
// The rules take the attributes as text rather than a simpang.v1.Event, so the base library needs
// no protobuf and any representation (the protobuf message, the hub's attribute scan, CloudEvents
// JSON) is checked by the same code.
#pragma once

#include <string_view>

#include "simpang/base/status.h"

namespace simpang {

// The only CloudEvents `specversion` the hub accepts.
inline constexpr std::string_view kCloudEventsSpecVersion = "1.0";

// Checks the CloudEvents 1.0 required attributes, in this order, returning the first rule broken:
//   "missing required attribute 'id'"
//   "event <id>: missing required attribute 'source'"
//   "event <id>: missing required attribute 'type'"
//   "event <id>: specversion must be \"1.0\", got \"<spec_version>\""
// An empty spec_version breaks the last rule: a caller that fills a default (the SDK's emit fills
// "1.0") passes the value it will send.
// Thread rule: none (a pure function). Allocates only for an error, never for a valid event, so
// the hub calls it on every published event.
Status check_event_attributes(std::string_view id, std::string_view source, std::string_view type,
                              std::string_view spec_version);

}  // namespace simpang
