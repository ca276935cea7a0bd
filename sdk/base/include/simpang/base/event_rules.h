// What every published event must carry and how big it may be, stated once with one wording per
// rule. The SDK checks it when a plugin emits (and the test harness does the same), the hub when an
// event arrives in a Publish, and source-jsonl's reader through the SDK, so a plugin's own tests
// catch exactly what the hub would refuse, in the same words.
//
//   Status s = simpang::check_event(event, event.spec_version(), bytes, limits);
//   if (!s.ok()) reject(s.message());  // e.g. "event e-1: missing required attribute 'source'"
//
// The rules take the attributes as text (or, in check_event, any message with the accessors of
// simpang.v1.Event), so the base library needs no protobuf and any representation (the protobuf
// message, the hub's attribute scan, CloudEvents JSON) is checked by the same code. Text quoted in
// a message goes through safe_text(), so a reason is valid UTF-8 whatever the event held.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "simpang/base/status.h"

namespace simpang {

// The only CloudEvents `specversion` the hub accepts.
inline constexpr std::string_view kCloudEventsSpecVersion = "1.0";

// The limits on one event. The hub's are configured in the `hub:` section and announced in its
// Welcome; these defaults are what a hub uses unless configured otherwise, and what the SDK
// applies before it has heard the hub's.
struct EventLimits {
  uint32_t max_event_bytes = 1024 * 1024;  // a serialized simpang.v1.Event, data included
  uint32_t max_attributes = 64;            // extension attributes on one event
  uint32_t max_attribute_bytes = 4096;     // id, source, type, subject; an extension's name/value
  uint32_t max_json_depth = 64;            // nesting of a CloudEvents JSON document
};

// Checks the CloudEvents 1.0 required attributes and the type's syntax, in this order, returning
// the first rule broken:
//   "missing required attribute 'id'"
//   "event <id>: missing required attribute 'source'"
//   "event <id>: missing required attribute 'type'"
//   "event <id>: specversion must be \"1.0\", got \"<spec_version>\""
//   "event <id>: type \"<type>\" is not dot-separated segments of letters, digits, '-' and '_'"
// An empty spec_version breaks the specversion rule: a caller that fills a default (the SDK's emit
// fills "1.0") passes the value it will send. The type syntax is the one route patterns match
// (simpang/base/type_pattern.h): "talent.completion.recorded", never "a..b", "*" or spaces.
// Thread rule: none (a pure function). Allocates only for an error, never for a valid event, so
// the hub calls it on every published event.
Status check_event_attributes(std::string_view id, std::string_view source, std::string_view type,
                              std::string_view spec_version);

// "event <id>: <bytes> bytes is over max_event_bytes (<limit>)"
Status check_event_size(std::string_view id, size_t bytes, const EventLimits& limits);
// "event <id>: attribute '<name>' is <bytes> bytes, over max_attribute_bytes (<limit>)"
Status check_attribute_length(std::string_view id, std::string_view name, size_t bytes,
                              const EventLimits& limits);
// "event <id>: <count> extension attributes is over max_attributes (<limit>)"
Status check_attribute_count(std::string_view id, size_t count, const EventLimits& limits);
// CloudEvents 1.0 naming: an extension's name is lower-case a-z and 0-9 only (the spec's 20
// characters is a SHOULD; max_attribute_bytes bounds it), and not a context attribute's name:
//   "event <id>: extension attribute name '<name>' is not CloudEvents naming (lower-case a-z and
//    0-9 only)"
//   "event <id>: extension attribute name '<name>' is a CloudEvents context attribute"
Status check_extension_name(std::string_view id, std::string_view name);
// "batch of <count> events is over max_batch (<limit>)"
Status check_batch_size(size_t count, uint32_t max_batch);
// Whether a JSON document nests objects and arrays at most `max_depth` deep (a scan that skips
// strings, made before any parser recurses into it). It judges nothing else of the text.
//   "JSON nests deeper than max_json_depth (<limit>) levels"
Status check_json_depth(std::string_view json, uint32_t max_depth);

// Every rule above that a single event can break, in the order listed, for any `Event` with the
// accessors of simpang.v1.Event: id(), source(), type(), subject(), extensions() (a map of names
// to messages with ByteSizeLong(), whose encoded size is what max_attribute_bytes bounds).
// `spec_version` is the value that will be sent; `bytes` the event's serialized size.
// Thread rule: none. Allocates only for an error.
template <typename Event>
Status check_event(const Event& event, std::string_view spec_version, size_t bytes,
                   const EventLimits& limits) {
  SIMPANG_RETURN_IF_ERROR(
      check_event_attributes(event.id(), event.source(), event.type(), spec_version));
  SIMPANG_RETURN_IF_ERROR(check_event_size(event.id(), bytes, limits));
  SIMPANG_RETURN_IF_ERROR(check_attribute_length(event.id(), "id", event.id().size(), limits));
  SIMPANG_RETURN_IF_ERROR(
      check_attribute_length(event.id(), "source", event.source().size(), limits));
  SIMPANG_RETURN_IF_ERROR(check_attribute_length(event.id(), "type", event.type().size(), limits));
  SIMPANG_RETURN_IF_ERROR(
      check_attribute_length(event.id(), "subject", event.subject().size(), limits));
  SIMPANG_RETURN_IF_ERROR(check_attribute_count(event.id(), event.extensions().size(), limits));
  for (const auto& [name, value] : event.extensions()) {
    SIMPANG_RETURN_IF_ERROR(check_attribute_length(event.id(), name, name.size(), limits));
    SIMPANG_RETURN_IF_ERROR(check_extension_name(event.id(), name));
    SIMPANG_RETURN_IF_ERROR(check_attribute_length(event.id(), name, value.ByteSizeLong(), limits));
  }
  return Status::Ok();
}

}  // namespace simpang
