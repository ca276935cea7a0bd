// The broker, reporting: its counters, the destinations' and routes' status, and the summary line
// it logs. The rest of the class is in broker.cc, broker_deliver.cc and broker_door.cc.
#include "core/broker.h"

#include <algorithm>
#include <sstream>

namespace simpang::hub {
using Clock = std::chrono::steady_clock;

// ---- Status -------------------------------------------------------------------------------------

BrokerStats Broker::stats() const {
  BrokerStats stats;
  const IntakeCounters& intake = intake_.counters();
  stats.published = intake.published;
  stats.duplicates = intake.duplicates;
  stats.rejected = intake.rejected;
  stats.unrouted = intake.unrouted;
  stats.per_route = intake.per_route;
  stats.bad_frames = bad_frames_;
  stats.refused = refused_;
  stats.batches_refused = batches_refused_;
  if (door_) {
    stats.door = door_->counters();
  }
  stats.per_destination.reserve(slots_.size());
  for (const auto& slot : slots_) {
    const DestinationDepth depth = slot.destination.depth();
    stats.delivered += depth.delivered;
    stats.retried += depth.retried;
    stats.dead += depth.dead;
    stats.queued += depth.queued;
    stats.in_flight += depth.in_flight;
    stats.on_disk += depth.on_disk ? 1 : 0;
    stats.per_destination.push_back(depth.delivered);
  }
  return stats;
}

std::vector<DestinationStatus> Broker::destinations() const {
  std::vector<DestinationStatus> out;
  out.reserve(slots_.size());
  for (const auto& slot : slots_) {
    out.push_back(
        {slot.destination.name(), slot.destination.connected(), slot.destination.depth()});
  }
  return out;
}

std::vector<RouteStatus> Broker::routes() const {
  std::vector<RouteStatus> out;
  const auto& produced = intake_.counters().per_route;
  for (uint32_t r = 0; r < table_->route_count(); ++r) {
    out.push_back(
        {table_->route_name(r), table_->route_active(r), r < produced.size() ? produced[r] : 0});
  }
  return out;
}

uint64_t Broker::outstanding() const {
  uint64_t owed = intake_.appends_in_progress();
  for (const auto& slot : slots_) {
    const Destination& destination = slot.destination;
    if (destination.connected()) {
      owed += destination.in_memory() + (destination.behind() ? 1 : 0);
    }
  }
  return owed;
}

void Broker::log_summary() {
  const BrokerStats s = stats();
  std::ostringstream line;
  line << "in=" << s.published << " out=" << s.delivered << " queued=" << s.queued
       << " in_flight=" << s.in_flight << " unrouted=" << s.unrouted << " rejected=" << s.rejected
       << " duplicates=" << s.duplicates << " retried=" << s.retried << " dead=" << s.dead
       << " bad_frames=" << s.bad_frames << " refused=" << s.refused
       << " batches_refused=" << s.batches_refused;
  if (door_) {
    line << " door.events_refused=" << s.door.events_refused
         << " door.connections_refused=" << s.door.connections_refused
         << " door.acks_delayed=" << s.door.acks_delayed
         << " door.disconnected=" << s.door.disconnected
         << " door.backlog_refused=" << s.door.backlog_refused;
  }
  for (size_t r = 0; r < s.per_route.size(); ++r) {
    line << " route." << table_->route_name(static_cast<uint32_t>(r)) << "=" << s.per_route[r];
  }
  logger_->info("{}", line.str());
  // What the rate limits held back since their last line, so no refusal goes unmentioned.
  for (auto [limiter, about] : {std::pair{&bad_frame_log_, "bad frames"},
                                std::pair{&refused_log_, "refused peers"},
                                std::pair{&batch_log_, "refused batches"}}) {
    if (const uint64_t held_back = limiter->take_suppressed(); held_back > 0) {
      logger_->warn("suppressed {} log lines about {} since the last one written", held_back,
                    about);
    }
  }
  for (const auto& [instance, metrics] : plugin_metrics_) {
    std::ostringstream values;
    // Sorted by name, so the line is stable from one summary to the next.
    for (const auto* map : {&metrics.counters(), &metrics.gauges()}) {
      std::map<std::string, double> sorted(map->begin(), map->end());
      for (const auto& [name, value] : sorted) {
        values << " " << name << "=" << value;
      }
    }
    logger_->info("metrics instance={}{}", instance, values.str());
  }
}

}  // namespace simpang::hub
