#include "admin/hub_metrics.h"

#include <map>
#include <set>
#include <vector>

#include "admin/exposition.h"

namespace simpang::hub::admin {
namespace {

// Every state an instance can report (core/running_hub.h), each a series of the state set.
const std::vector<std::string> kInstanceStates = {
    "created", "starting", "running", "backoff",
    "failed",  "stopping", "stopped", "did not stop in time"};

struct Counter {
  const char* name;
  const char* help;
  uint64_t value;
};

void plugin_families(Exposition& out, const HubSnapshot& snapshot) {
  // One family per sanitised name, gathering every instance that reports it. A counter gets
  // `_total`; a gauge whose name then collides with a counter (or the other way) is dropped
  // rather than mixing types in one family.
  struct Family {
    bool counter = false;
    std::vector<std::pair<std::string, double>> samples;  // instance, value
  };
  std::map<std::string, Family> families;
  uint64_t dropped = 0;
  auto add = [&](const std::string& instance, const std::string& metric, double value,
                 bool counter) {
    std::string base = sanitize_metric_name(metric);
    if (base.empty()) {
      ++dropped;
      return;
    }
    std::string name = "simpang_plugin_" + base;
    const bool has_total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    if (counter && !has_total) {
      name += "_total";
    }
    if (!counter && has_total) {
      ++dropped;  // a gauge may not end in _total
      return;
    }
    auto it = families.find(name);
    if (it == families.end()) {
      if (families.size() >= kMaxPluginFamilies) {
        ++dropped;
        return;
      }
      it = families.emplace(name, Family{counter, {}}).first;
    } else if (it->second.counter != counter) {
      ++dropped;
      return;
    }
    for (const auto& [seen, v] : it->second.samples) {
      if (seen == instance) {
        ++dropped;  // two names of one instance sanitised to the same one
        return;
      }
    }
    it->second.samples.emplace_back(instance, value);
  };
  for (const PluginMetrics& metrics : snapshot.plugin_metrics) {
    for (const auto& [name, value] : metrics.counters) {
      add(metrics.instance, name, value, true);
    }
    for (const auto& [name, value] : metrics.gauges) {
      add(metrics.instance, name, value, false);
    }
  }
  for (const auto& [name, family] : families) {
    out.family(name, family.counter ? "counter" : "gauge",
               family.counter ? "Counted by the plugin (Context::count), by instance."
                              : "Set by the plugin (Context::gauge), by instance.");
    for (const auto& [instance, value] : family.samples) {
      out.sample(name, {{"instance", instance}}, value);
    }
  }
  out.family("simpang_plugin_metrics_dropped", "gauge",
             "Plugin metrics left out now: unusable or colliding names, or over the family limit.");
  out.sample("simpang_plugin_metrics_dropped", {}, static_cast<double>(dropped));
}

}  // namespace

std::string render_metrics(const HubSnapshot& snapshot, const MetricsContext& context) {
  Exposition out;
  out.family("simpang_build_info", "gauge", "The running build; always 1.");
  out.sample("simpang_build_info", {{"version", context.version}}, 1);

  const BrokerStats& t = snapshot.totals;
  const Counter totals[] = {
      {"simpang_events_published_total", "Events accepted from publishers and made durable.",
       t.published},
      {"simpang_events_duplicate_total",
       "Events published again within the de-duplication window (not journaled twice).",
       t.duplicates},
      {"simpang_events_rejected_total",
       "Events refused: malformed, or missing required attributes.", t.rejected},
      {"simpang_events_unrouted_total", "Accepted events that no route matched.", t.unrouted},
      {"simpang_deliveries_acked_total", "Deliveries acked by consumers, all destinations.",
       t.delivered},
      {"simpang_deliveries_retried_total", "Deliveries scheduled again, all destinations.",
       t.retried},
      {"simpang_deliveries_dead_total", "Deliveries moved to the dead-letter queue.", t.dead},
      {"simpang_door_bad_frames_total", "Messages that were not a wire frame.", t.bad_frames},
      {"simpang_door_refused_total", "Hellos refused, and frames from peers not welcomed.",
       t.refused},
      {"simpang_door_batches_refused_total",
       "Publish batches refused whole: over max_batch or max_unacked.", t.batches_refused},
      {"simpang_partner_events_refused_total",
       "Partner events outside the partner's rights (type or source).", t.door.events_refused},
      {"simpang_partner_connections_refused_total", "Partner hellos refused.",
       t.door.connections_refused},
      {"simpang_partner_acks_delayed_total", "Partner acks held back by a quota.",
       t.door.acks_delayed},
  };
  for (const Counter& c : totals) {
    out.family(c.name, "counter", c.help);
    out.sample(c.name, {}, static_cast<double>(c.value));
  }

  out.family("simpang_route_deliveries_total", "counter",
             "Deliveries a route produced: one per event per destination it gave.");
  for (const RouteStatus& r : snapshot.routes) {
    out.sample("simpang_route_deliveries_total", {{"route", r.name}},
               static_cast<double>(r.deliveries));
  }
  out.family("simpang_route_active", "gauge",
             "1 when the route is in the running configuration, 0 once a reload removed it.");
  for (const RouteStatus& r : snapshot.routes) {
    out.sample("simpang_route_active", {{"route", r.name}}, r.active ? 1 : 0);
  }

  struct PerDestination {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const DestinationStatus&);
  };
  const PerDestination per_destination[] = {
      {"simpang_destination_delivered_total", "counter", "Deliveries acked, by destination.",
       [](const DestinationStatus& d) { return static_cast<double>(d.depth.delivered); }},
      {"simpang_destination_retried_total", "counter",
       "Deliveries scheduled again (nack retryable, consumer lost), by destination.",
       [](const DestinationStatus& d) { return static_cast<double>(d.depth.retried); }},
      {"simpang_destination_dead_total", "counter",
       "Deliveries moved to the dead-letter queue, by destination.",
       [](const DestinationStatus& d) { return static_cast<double>(d.depth.dead); }},
      {"simpang_destination_pending", "gauge",
       "Deliveries in memory waiting for credit, their subject's turn or a retry.",
       [](const DestinationStatus& d) { return static_cast<double>(d.depth.queued); }},
      {"simpang_destination_in_flight", "gauge", "Deliveries sent and not yet settled.",
       [](const DestinationStatus& d) { return static_cast<double>(d.depth.in_flight); }},
      {"simpang_destination_backlog_on_disk", "gauge",
       "1 when deliveries wait in the journal that are not yet in memory.",
       [](const DestinationStatus& d) { return d.depth.on_disk ? 1.0 : 0.0; }},
      {"simpang_destination_connected", "gauge", "1 when the destination's consumer is connected.",
       [](const DestinationStatus& d) { return d.connected ? 1.0 : 0.0; }},
  };
  for (const PerDestination& m : per_destination) {
    out.family(m.name, m.type, m.help);
    for (const DestinationStatus& d : snapshot.destinations) {
      out.sample(m.name, {{"destination", d.name}}, m.value(d));
    }
  }

  const JournalStats& j = snapshot.journal;
  const Counter journal[] = {
      {"simpang_journal_commits_total", "Journal transactions committed.", j.commits},
      {"simpang_journal_failed_commits_total", "Journal transactions rolled back on an error.",
       j.failed_commits},
      {"simpang_journal_appended_events_total", "Events journaled (duplicates not included).",
       j.appended},
      {"simpang_journal_pruned_events_total", "Events deleted by retention or max_events.",
       j.pruned},
  };
  for (const Counter& c : journal) {
    out.family(c.name, "counter", c.help);
    out.sample(c.name, {}, static_cast<double>(c.value));
  }
  out.family("simpang_journal_events", "gauge", "Events kept in the journal.");
  out.sample("simpang_journal_events", {}, static_cast<double>(j.events));
  out.family("simpang_journal_pending_events", "gauge",
             "Journaled events with at least one delivery pending.");
  out.sample("simpang_journal_pending_events", {}, static_cast<double>(j.pending_events));
  if (context.journal_file_bytes) {
    out.family("simpang_journal_file_size_bytes", "gauge",
               "Size of the journal's files on disk (database and write-ahead log).");
    out.sample("simpang_journal_file_size_bytes", {},
               static_cast<double>(*context.journal_file_bytes));
  }

  out.family("simpang_instance_restarts_total", "counter",
             "Hellos after an instance's first in this run: restarts and reconnects.");
  for (const InstanceStatus& i : snapshot.instances) {
    out.sample("simpang_instance_restarts_total", {{"instance", i.name}},
               static_cast<double>(i.restarts));
  }
  out.family("simpang_instance_connected", "gauge",
             "1 when the instance is connected to the hub and welcomed.");
  for (const InstanceStatus& i : snapshot.instances) {
    out.sample("simpang_instance_connected", {{"instance", i.name}}, i.connected ? 1 : 0);
  }
  out.family("simpang_instance_state", "gauge",
             "The instance's state: 1 for the state it is in, 0 for the others.");
  for (const InstanceStatus& i : snapshot.instances) {
    for (const std::string& state : kInstanceStates) {
      out.sample("simpang_instance_state", {{"instance", i.name}, {"state", state}},
                 i.state == state ? 1 : 0);
    }
  }

  plugin_families(out, snapshot);
  return std::move(out).text();
}

}  // namespace simpang::hub::admin
