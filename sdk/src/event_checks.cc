#include "event_checks.h"

namespace simpang::sdk::internal {

Status check_emittable(const simpang::v1::Event& event, const EventLimits& limits) {
  const bool filled = event.spec_version().empty();
  const std::string_view spec_version =
      filled ? kCloudEventsSpecVersion : std::string_view(event.spec_version());
  // The size the event will have once "1.0" is filled in: its tag, length and three bytes.
  const size_t bytes = event.ByteSizeLong() + (filled ? 2 + kCloudEventsSpecVersion.size() : 0);
  return check_event(event, spec_version, bytes, limits);
}

}  // namespace simpang::sdk::internal
