// The required-attribute rules; see simpang/base/event_rules.h.
#include "simpang/base/event_rules.h"

#include <string>

namespace simpang {
namespace {

std::string about(std::string_view id) { return "event " + std::string(id) + ": "; }

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
                         std::string(kCloudEventsSpecVersion) + "\", got \"" +
                         std::string(spec_version) + "\"");
  }
  return Status::Ok();
}

}  // namespace simpang
