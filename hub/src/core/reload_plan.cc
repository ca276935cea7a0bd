#include "core/reload_plan.h"

namespace simpang::hub {

StatusOr<ReloadPlan> plan_reload(const RouteTable& current, const RoutePolicies& current_policies,
                                 const std::vector<RouteConfig>& routes) {
  // Indices stay stable: the queues, in-flight deliveries and the journal all hold them.
  auto compiled = RouteTable::compile(routes, current);
  if (!compiled.ok()) {
    return compiled.status();
  }
  ReloadPlan plan;
  plan.table = std::move(*compiled);
  const RouteTable& table = *plan.table;
  plan.new_destinations.assign(table.destinations().begin() + current.destinations().size(),
                               table.destinations().end());
  for (uint32_t r = current.route_count(); r < table.route_count(); ++r) {
    plan.new_routes.push_back(table.route_name(r));
  }
  plan.policies.resize(table.route_count());
  for (uint32_t r = 0; r < table.route_count(); ++r) {
    if (!table.route_active(r)) {
      plan.policies[r] = current_policies[r];
      continue;
    }
    for (const auto& route : routes) {
      if (route.name == table.route_name(r)) {
        plan.policies[r] = route;
        break;
      }
    }
  }
  return plan;
}

}  // namespace simpang::hub
