// Broker::reload: a new configuration's routes and instances, applied between two messages on
// the loop thread, so no event is routed half by the old routes and half by the new. What changes
// is worked out by plan_reload(); this applies it through the rooms' interfaces.
#include "core/broker.h"
#include "core/reload_plan.h"

namespace simpang::hub {

Status Broker::reload(const std::vector<RouteConfig>& routes, std::vector<InstanceInfo> instances) {
  auto planned = plan_reload(*table_, policies_, routes);
  if (!planned.ok()) {
    return planned.status();
  }
  ReloadPlan plan = std::move(*planned);
  // The journal learns the new names before the first event that uses them.
  SIMPANG_RETURN_IF_ERROR(journal_.add_names(plan.new_destinations, plan.new_routes));

  policies_.replace(std::move(plan.policies));
  for (const auto& name : plan.new_destinations) {
    // New to this run, not necessarily to the journal: an earlier run may have left it rows,
    // which a new destination looks for before anything else.
    add_destination(name);
    maybe_load(slots_.back());
  }
  intake_.set_route_count(plan.table->route_count());
  table_ = std::move(plan.table);

  instances_.clear();
  for (auto& instance : instances) {
    instances_.emplace(instance.name, instance);
  }
  // A connected consumer that has just become a destination starts receiving at once; one that
  // is no longer configured was or will be stopped by the hub and says goodbye.
  peers_.for_each([&](const std::string& identity, PeerTable::Peer& peer) {
    if (peer.destination >= 0 || !peer.welcomed) {
      return;
    }
    auto d = destination_index_.find(peer.instance);
    auto known = instances_.find(peer.instance);
    if (d != destination_index_.end() && known != instances_.end() && known->second.consumes) {
      peer.destination = d->second;
      slots_[d->second].destination.attach(identity);
    }
  });
  logger_->info("routes reloaded: {} active, {} destinations", routes.size(), slots_.size());
  return Status::Ok();
}

}  // namespace simpang::hub
