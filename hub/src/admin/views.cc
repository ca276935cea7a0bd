#include "admin/views.h"

#include <nlohmann/json.hpp>

namespace simpang::hub::admin {
namespace {

using nlohmann::json;

// Strings from plugins (last errors) may hold bytes that are not UTF-8: replace, never throw.
std::string dump(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

const char* title_of(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

std::string why_not_ready(const InstanceStatus& i) {
  if (!i.last_error.empty()) {
    return i.last_error;
  }
  return "not connected (state: " + i.state + ")";
}

}  // namespace

Readiness readiness(const HubSnapshot& snapshot, bool running, bool detail) {
  json not_ready = json::array();
  for (const InstanceStatus& i : snapshot.instances) {
    if (!i.connected) {
      not_ready.push_back({{"name", i.name}, {"state", i.state}, {"reason", why_not_ready(i)}});
    }
  }
  Readiness r;
  r.ready = running && not_ready.empty();
  json body = {{"status", r.ready ? "ready" : "not ready"},
               {"journal", "open"},
               {"started", running},
               {"instances_total", snapshot.instances.size()},
               {"instances_not_ready", not_ready.size()}};
  if (detail) {
    body["not_ready"] = std::move(not_ready);
  }
  r.body = dump(body) + "\n";
  return r;
}

std::string instances_json(const HubSnapshot& snapshot) {
  json list = json::array();
  for (const InstanceStatus& i : snapshot.instances) {
    list.push_back({{"name", i.name},
                    {"kind", i.kind},
                    {"isolation", i.isolation},
                    {"state", i.state},
                    {"connected", i.connected},
                    {"failed", i.state == "failed"},
                    {"restarts", i.restarts},
                    {"last_error", i.last_error.empty() ? json(nullptr) : json(i.last_error)}});
  }
  return dump({{"instances", std::move(list)}}) + "\n";
}

std::optional<std::string> instance_json(const HubSnapshot& snapshot, const std::string& name) {
  for (const InstanceStatus& i : snapshot.instances) {
    if (i.name != name) continue;
    json body = {{"name", i.name},
                 {"kind", i.kind},
                 {"isolation", i.isolation},
                 {"state", i.state},
                 {"connected", i.connected},
                 {"failed", i.state == "failed"},
                 {"restarts", i.restarts},
                 {"last_error", i.last_error.empty() ? json(nullptr) : json(i.last_error)},
                 {"metrics", {{"counters", json::object()}, {"gauges", json::object()}}}};
    if (!i.connected) body["why_not_ready"] = why_not_ready(i);
    for (const PluginMetrics& m : snapshot.plugin_metrics) {
      if (m.instance != name) continue;
      body["metrics"] = {{"counters", m.counters}, {"gauges", m.gauges}};
    }
    return dump(body) + "\n";
  }
  return std::nullopt;
}

std::string routes_json(const HubSnapshot& snapshot) {
  json list = json::array();
  for (const RouteStatus& r : snapshot.routes) {
    list.push_back({{"name", r.name}, {"active", r.active}, {"deliveries", r.deliveries}});
  }
  return dump({{"routes", std::move(list)}}) + "\n";
}

std::string destinations_json(const HubSnapshot& snapshot) {
  json list = json::array();
  for (const DestinationStatus& d : snapshot.destinations) {
    list.push_back({{"name", d.name},
                    {"connected", d.connected},
                    {"pending", d.depth.queued},
                    {"in_flight", d.depth.in_flight},
                    {"backlog_on_disk", d.depth.on_disk},
                    {"delivered", d.depth.delivered},
                    {"retried", d.depth.retried},
                    {"dead", d.depth.dead}});
  }
  return dump({{"destinations", std::move(list)}}) + "\n";
}

std::string problem_json(int status, const std::string& detail, const std::string& instance) {
  return dump({{"type", "about:blank"},
               {"title", title_of(status)},
               {"status", status},
               {"detail", detail},
               {"instance", instance}}) +
         "\n";
}

}  // namespace simpang::hub::admin
