// The event rules and limits; see simpang/base/event_rules.h.
#include "simpang/base/event_rules.h"

#include <array>
#include <string>

#include "simpang/base/safe_text.h"

namespace simpang {
namespace {

// An id quoted in a reason: enough to find the event, never the whole of a huge one.
constexpr size_t kIdQuoted = 64;

std::string about(std::string_view id) { return "event " + safe_text(id, kIdQuoted) + ": "; }

std::string quoted(std::string_view text) { return "\"" + safe_text(text) + "\""; }

bool type_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

// Dot-separated, non-empty segments of letters, digits, '-' and '_'.
bool valid_type(std::string_view type) {
  bool segment_empty = true;
  for (const char c : type) {
    if (c == '.') {
      if (segment_empty) {
        return false;
      }
      segment_empty = true;
    } else if (type_character(c)) {
      segment_empty = false;
    } else {
      return false;
    }
  }
  return !segment_empty;
}

// The CloudEvents 1.0 context attributes (required and optional) and the JSON format's members:
// an extension by one of these names would be read back as something else.
constexpr std::array<std::string_view, 9> kContextAttributes = {
    "id", "source", "specversion", "type", "datacontenttype", "dataschema", "subject", "time",
    "data"};

}  // namespace

Status check_event_attributes(std::string_view id, std::string_view source, std::string_view type,
                              std::string_view spec_version) {
  if (id.empty()) {
    return Status::Error("missing required attribute 'id'");
  }
  if (source.empty()) {
    return Status::Error(about(id) + "missing required attribute 'source'");
  }
  if (type.empty()) {
    return Status::Error(about(id) + "missing required attribute 'type'");
  }
  if (spec_version != kCloudEventsSpecVersion) {
    return Status::Error(about(id) + "specversion must be \"" +
                         std::string(kCloudEventsSpecVersion) + "\", got " +
                         quoted(spec_version));
  }
  if (!valid_type(type)) {
    return Status::Error(about(id) + "type " + quoted(type) +
                         " is not dot-separated segments of letters, digits, '-' and '_'");
  }
  return Status::Ok();
}

Status check_event_size(std::string_view id, size_t bytes, const EventLimits& limits) {
  if (bytes > limits.max_event_bytes) {
    return Status::Error(about(id) + std::to_string(bytes) + " bytes is over max_event_bytes (" +
                         std::to_string(limits.max_event_bytes) + ")");
  }
  return Status::Ok();
}

Status check_attribute_length(std::string_view id, std::string_view name, size_t bytes,
                              const EventLimits& limits) {
  if (bytes > limits.max_attribute_bytes) {
    return Status::Error(about(id) + "attribute '" + safe_text(name, kIdQuoted) + "' is " +
                         std::to_string(bytes) + " bytes, over max_attribute_bytes (" +
                         std::to_string(limits.max_attribute_bytes) + ")");
  }
  return Status::Ok();
}

Status check_attribute_count(std::string_view id, size_t count, const EventLimits& limits) {
  if (count > limits.max_attributes) {
    return Status::Error(about(id) + std::to_string(count) +
                         " extension attributes is over max_attributes (" +
                         std::to_string(limits.max_attributes) + ")");
  }
  return Status::Ok();
}

Status check_extension_name(std::string_view id, std::string_view name) {
  bool naming = !name.empty();
  for (const char c : name) {
    naming = naming && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'));
  }
  if (!naming) {
    return Status::Error(about(id) + "extension attribute name '" + safe_text(name) +
                         "' is not CloudEvents naming (lower-case a-z and 0-9 only)");
  }
  for (const std::string_view reserved : kContextAttributes) {
    if (name == reserved) {
      return Status::Error(about(id) + "extension attribute name '" + std::string(name) +
                           "' is a CloudEvents context attribute");
    }
  }
  return Status::Ok();
}

Status check_batch_size(size_t count, uint32_t max_batch) {
  if (count > max_batch) {
    return Status::Error("batch of " + std::to_string(count) + " events is over max_batch (" +
                         std::to_string(max_batch) + ")");
  }
  return Status::Ok();
}

Status check_json_depth(std::string_view json, uint32_t max_depth) {
  uint32_t depth = 0;
  for (size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '"') {
      // Skip the string; an unterminated one is the parser's to report.
      for (++i; i < json.size() && json[i] != '"'; ++i) {
        if (json[i] == '\\') {
          ++i;
        }
      }
    } else if (c == '{' || c == '[') {
      if (++depth > max_depth) {
        return Status::Error("JSON nests deeper than max_json_depth (" + std::to_string(max_depth) +
                             ") levels");
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return Status::Ok();
}

}  // namespace simpang
