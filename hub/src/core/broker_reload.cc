// Broker::reload: a new configuration's routes and instances, applied between two messages on
// the loop thread, so no event is routed half by the old routes and half by the new.
#include "core/broker.h"

namespace simpang::hub {

Status Broker::reload(const std::vector<RouteConfig>& routes, std::vector<InstanceInfo> instances) {
  // Indices stay stable: the queues, in-flight deliveries and the journal all hold them.
  auto compiled = RouteTable::compile(routes, *table_);
  if (!compiled.ok()) {
    return compiled.status();
  }
  std::unique_ptr<RouteTable> table = std::move(*compiled);

  std::vector<std::string> new_destinations(table->destinations().begin() + destinations_.size(),
                                            table->destinations().end());
  std::vector<std::string> new_routes;
  for (uint32_t r = routes_.size(); r < table->route_count(); ++r) {
    new_routes.push_back(table->route_name(r));
  }
  // The journal learns the new names before the first event that uses them.
  SIMPANG_RETURN_IF_ERROR(journal_.add_names(new_destinations, new_routes));

  // Route policies, aligned with the table: the new ones for configured routes; a route that is
  // gone keeps its last policy for the deliveries it already queued.
  std::vector<RouteConfig> aligned(table->route_count());
  for (uint32_t r = 0; r < table->route_count(); ++r) {
    if (!table->route_active(r)) {
      aligned[r] = routes_[r];
      continue;
    }
    for (const auto& route : routes) {
      if (route.name == table->route_name(r)) {
        aligned[r] = route;
        break;
      }
    }
  }
  routes_ = std::move(aligned);

  for (const auto& name : new_destinations) {
    Destination destination;
    destination.index = static_cast<uint32_t>(destinations_.size());
    destination.name = name;
    destination.retry_timer = std::make_unique<boost::asio::steady_timer>(io_);
    // New to this run, not necessarily to the journal: an earlier run may have left it rows.
    destination.rescan = true;
    destination_index_.emplace(name, static_cast<int>(destination.index));
    destinations_.push_back(std::move(destination));
    maybe_load(destinations_.back().index);
  }
  stats_.per_route.resize(table->route_count(), 0);
  stats_.per_destination.resize(destinations_.size(), 0);
  touched_.resize(destinations_.size(), false);
  table_ = std::move(table);

  instances_.clear();
  for (auto& instance : instances) {
    instances_.emplace(instance.name, instance);
  }
  // A connected consumer that has just become a destination starts receiving at once; one that
  // is no longer configured was or will be stopped by the hub and says goodbye.
  for (auto& [identity, peer] : peers_) {
    if (peer.destination >= 0 || !peer.welcomed) {
      continue;
    }
    auto d = destination_index_.find(peer.instance);
    auto known = instances_.find(peer.instance);
    if (d != destination_index_.end() && known != instances_.end() && known->second.consumes) {
      peer.destination = d->second;
      destinations_[d->second].peer = identity;
    }
  }
  logger_->info("routes reloaded: {} active, {} destinations", routes.size(), destinations_.size());
  return Status::Ok();
}

}  // namespace simpang::hub
