#include "cli/routes_command.h"

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string_view>

#include "cli/live_commands.h"
#include "router/route_table.h"
#include "simpang/sdk/cloudevents.h"

namespace simpang::hub {
namespace {

using nlohmann::json;

struct Options {
  std::string config;
  std::string events;
  std::string from;
  bool json_output = false;
};

// One route compiled on its own: RouteTable::match() names each destination once, under the first
// matching route, so a route whose destinations an earlier route already took would not show.
// Matching each route alone says every route that matches; the whole table says where it goes.
struct SingleRoute {
  const RouteConfig* config;
  std::unique_ptr<RouteTable> table;
};

std::string where(const SourceLocation& at) {
  if (at.line == 0) {
    return at.file;
  }
  return at.file + ":" + std::to_string(at.line) + ":" + std::to_string(at.column);
}

// The route's clauses, as written: every one of them matched for the route to match.
std::string clauses(const RouteConfig& route) {
  std::string out;
  const auto add = [&out](const std::string& name, const std::vector<std::string>& values) {
    if (values.empty()) return;
    out += out.empty() ? "" : "; ";
    out += name + " ";
    for (size_t i = 0; i < values.size(); ++i) out += (i ? ", " : "") + values[i];
  };
  add("from", route.from);
  add("type", route.types);
  if (route.subject_prefix) add("subject prefix", {*route.subject_prefix});
  for (const auto& [name, value] : route.extensions) add(name + " =", {value});
  return out.empty() ? "every event" : out;
}

std::string to_text(const json& value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

int run(const Options& o, const std::function<ConfigResult(const std::string&)>& load) {
  ConfigResult loaded = load(o.config);
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
    return 1;
  }
  const Config& config = *loaded.config;
  bool known = false;
  std::string names;
  for (const auto& p : config.plugins) {
    known = known || p.name == o.from;
    names += (names.empty() ? "" : ", ") + p.name;
  }
  if (!known) {
    std::cerr << o.config << ": no instance named '" << o.from
              << "' to publish the events (--from); the instances are: " << names << "\n";
    return 1;
  }
  auto table = RouteTable::compile(config.routes);
  if (!table.ok()) {
    std::cerr << o.config << ": " << table.status().message() << "\n";
    return 1;
  }
  std::vector<SingleRoute> singles;
  for (const auto& route : config.routes) {
    auto single = RouteTable::compile({route});
    if (!single.ok()) {
      std::cerr << o.config << ": " << single.status().message() << "\n";
      return 1;
    }
    singles.push_back({&route, std::move(*single)});
  }
  std::ifstream in(o.events, std::ios::binary);
  if (!in) {
    std::cerr << o.events << ": cannot read the events file\n";
    return 1;
  }

  size_t line_number = 0;
  size_t events = 0;
  size_t routed = 0;
  size_t bad = 0;
  std::map<std::string, size_t> per_destination;
  std::string line;
  std::vector<RouteTarget> targets;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) {
      continue;  // blank lines separate nothing and are no event
    }
    auto event = simpang::sdk::from_cloudevents_json(line);
    if (!event.ok()) {
      ++bad;
      if (o.json_output) {
        std::cout << to_text({{"line", line_number}, {"error", event.status().message()}}) << "\n";
      } else {
        std::cout << o.events << ":" << line_number
                  << ": not an event: " << event.status().message() << "\n";
      }
      continue;
    }
    ++events;
    json matched = json::array();
    std::vector<std::string> text_routes;
    for (const SingleRoute& single : singles) {
      targets.clear();
      single.table->match(o.from, *event, targets);
      if (targets.empty()) continue;
      matched.push_back({{"route", single.config->name},
                         {"at", where(single.config->where)},
                         {"matched", clauses(*single.config)},
                         {"to", single.config->to}});
      std::string to;
      for (const auto& d : single.config->to) to += (to.empty() ? "" : ", ") + d;
      text_routes.push_back("route " + single.config->name + " (" + where(single.config->where) +
                            ": " + clauses(*single.config) + ") -> " + to);
    }
    targets.clear();
    (*table)->match(o.from, *event, targets);
    json destinations = json::array();
    for (const RouteTarget& t : targets) {
      const std::string& name = (*table)->destinations()[t.destination];
      destinations.push_back({{"destination", name}, {"route", (*table)->route_name(t.route)}});
      ++per_destination[name];
    }
    routed += targets.empty() ? 0 : 1;
    if (o.json_output) {
      std::cout << to_text({{"line", line_number},
                            {"id", event->id()},
                            {"source", event->source()},
                            {"type", event->type()},
                            {"subject", event->subject()},
                            {"routes", matched},
                            {"destinations", destinations},
                            {"unrouted", targets.empty()}})
                << "\n";
      continue;
    }
    std::cout << "line " << line_number << ": " << event->type() << " id=" << event->id()
              << " source=" << event->source();
    if (!event->subject().empty()) std::cout << " subject=" << event->subject();
    if (targets.empty()) {
      std::cout << "\n  unrouted: no route matches it from " << o.from << "\n";
      continue;
    }
    std::cout << "\n";
    for (const auto& r : text_routes) std::cout << "  " << r << "\n";
    std::cout << "  goes to:";
    for (const auto& d : destinations) {
      std::cout << " " << d["destination"].get<std::string>() << " (by "
                << d["route"].get<std::string>() << ")";
    }
    std::cout << "\n";
  }
  if (!o.json_output) {
    std::cout << events << " events from " << o.from << ": " << routed << " routed, "
              << events - routed << " unrouted";
    if (bad > 0) std::cout << "; " << bad << " lines not events";
    std::cout << "\n";
    for (const auto& [name, count] : per_destination) {
      std::cout << "  " << name << ": " << count << "\n";
    }
  }
  return bad > 0 ? 1 : 0;
}

}  // namespace

std::function<int()> add_routes_commands(CLI::App& app,
                                         std::function<ConfigResult(const std::string&)> load) {
  auto options = std::make_shared<Options>();
  auto* routes = app.add_subcommand(
      "routes",
      "A running hub's routes and the deliveries each produced (through its admin API); "
      "`routes test` tries events against a configuration's routes without a hub");
  routes->require_subcommand(0, 1);
  auto listing = std::make_shared<Options>();
  routes->add_option("CONFIG", listing->config, "The hub's configuration file");
  routes->add_flag("--json", listing->json_output, "The admin API's JSON, for scripts");
  auto* test = routes->add_subcommand(
      "test",
      "Which routes each event of a CloudEvents JSON-lines file matches, and where it "
      "would go; no hub, journal or plugin is opened");
  test->add_option("CONFIG", options->config, "Configuration file (YAML)")->required();
  test->add_option("--events", options->events, "CloudEvents JSON lines, one event per line")
      ->required();
  test->add_option("--from", options->from,
                   "The instance that would publish the events (routes' `from` is matched "
                   "against it)")
      ->required();
  test->add_flag("--json", options->json_output, "One JSON object per line, for scripts");
  return [options, listing, routes, test, load = std::move(load)]() -> int {
    if (test->parsed()) return run(*options, load);
    if (!routes->parsed()) return -1;
    if (listing->config.empty()) {
      std::cerr << "routes: say CONFIG (a running hub's routes) or `routes test CONFIG --events "
                   "FILE --from INSTANCE`\n";
      return 2;
    }
    return ask_running_hub("routes", listing->config, listing->json_output, load);
  };
}

}  // namespace simpang::hub
