#include "event_checks.h"

#include "simpang/base/event_rules.h"

namespace simpang::sdk::internal {

Status check_emittable(const simpang::v1::Event& event) {
  const std::string_view spec_version = event.spec_version().empty()
                                            ? kCloudEventsSpecVersion
                                            : std::string_view(event.spec_version());
  return check_event_attributes(event.id(), event.source(), event.type(), spec_version);
}

}  // namespace simpang::sdk::internal
