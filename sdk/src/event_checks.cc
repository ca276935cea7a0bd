#include "event_checks.h"

namespace simpang::sdk::internal {

Status check_emittable(const simpang::v1::Event& event) {
  if (event.id().empty()) {
    return Status::Error("emit: event has no id");
  }
  if (event.source().empty()) {
    return Status::Error("emit: event " + event.id() + " has no source");
  }
  if (event.type().empty()) {
    return Status::Error("emit: event " + event.id() + " has no type");
  }
  return Status::Ok();
}

}  // namespace simpang::sdk::internal
