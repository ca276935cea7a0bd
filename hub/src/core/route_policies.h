// The delivery policy of each route (retry, ordering, its name on the wire), by route index: what
// the destinations consult for every delivery. Index-aligned with the compiled RouteTable; a route
// index it does not know (a delivery the journal kept for a route since removed, kUnknownRoute)
// gets the default policy, unordered, so what is owed is still delivered.
#pragma once

#include <cstdint>
#include <vector>

#include "router/route_definition.h"

namespace simpang::hub {

class RoutePolicies {
 public:
  RoutePolicies() = default;
  explicit RoutePolicies(std::vector<RouteConfig> routes) : routes_(std::move(routes)) {}

  // The policy of `route`, or the default one for a route no longer configured.
  const RouteConfig& operator[](uint32_t route) const {
    return route < routes_.size() ? routes_[route] : removed_route();
  }
  bool ordered(uint32_t route) const { return (*this)[route].ordering == Ordering::kSubject; }
  size_t size() const { return routes_.size(); }
  // Takes a reloaded configuration's policies, aligned with the new table (see plan_reload).
  void replace(std::vector<RouteConfig> aligned) { routes_ = std::move(aligned); }

 private:
  static const RouteConfig& removed_route() {
    static const RouteConfig* const kRemovedRoute = [] {
      auto* config = new RouteConfig;  // never freed: read by destinations until exit
      config->name = "(removed route)";
      return config;
    }();
    return *kRemovedRoute;
  }

  std::vector<RouteConfig> routes_;
};

}  // namespace simpang::hub
