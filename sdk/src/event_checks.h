// What every published event must carry, checked where a plugin emits it: by the SDK runtime and
// by the test harness's context alike, so a plugin's test catches what the hub would refuse.
#pragma once

#include "simpang/sdk/status.h"
#include "simpang/v1/event.pb.h"

namespace simpang::sdk::internal {

// An error naming the missing attribute (id, source or type), or Ok.
Status check_emittable(const simpang::v1::Event& event);

}  // namespace simpang::sdk::internal
