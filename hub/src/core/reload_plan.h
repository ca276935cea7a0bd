// What a configuration reload changes in the broker, worked out before anything is touched: the
// new route table (indices of existing routes and destinations kept, new ones appended), the names
// the journal must learn, and each route's policy aligned with the new table. The broker then
// applies the plan between two messages (Broker::reload), so no event is routed half by the old
// routes and half by the new.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/route_policies.h"
#include "router/route_table.h"
#include "simpang/base/status.h"

namespace simpang::hub {

struct ReloadPlan {
  std::unique_ptr<RouteTable> table;
  std::vector<std::string> new_destinations;  // appended after the current ones, in order
  std::vector<std::string> new_routes;        // appended after the current ones, in order
  // Index-aligned with `table`: the new policy of every configured route; a route that is gone
  // keeps its last policy for the deliveries it already queued.
  std::vector<RouteConfig> policies;
};

// Compiles `routes` against `current` (whose policies are `current_policies`). Fails, changing
// nothing, when the routes do not compile. Thread rule: none.
StatusOr<ReloadPlan> plan_reload(const RouteTable& current, const RoutePolicies& current_policies,
                                 const std::vector<RouteConfig>& routes);

}  // namespace simpang::hub
