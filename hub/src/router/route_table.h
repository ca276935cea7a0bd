// The router: routes compiled once from the configuration, and the per-event decision of which
// destinations an event goes to.
//
//   auto table = RouteTable::compile(config.routes);   // patterns parsed here, once
//   std::vector<RouteTarget> targets;
//   table->match("sim", event, targets);              // no pattern parsing per event
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "router/route_definition.h"
#include "simpang/base/status.h"
#include "simpang/v1/event.pb.h"

namespace simpang::hub {

// Checks a `match.type` pattern: dot-separated non-empty segments, each either literal text,
// `*` (exactly one segment) or `**` (zero or more segments). The error says what is wrong.
Status validate_type_pattern(std::string_view pattern);

// Checks a `from` glob over instance names: `*` any run of characters, `?` one character.
Status validate_instance_glob(std::string_view glob);

// One destination an event goes to, and the route that sent it there.
struct RouteTarget {
  uint32_t route;        // index into the route list given to compile()
  uint32_t destination;  // index into RouteTable::destinations()
};

class RouteTable {
 public:
  // Compiles every route. Fails on the first invalid pattern, naming the route and the pattern.
  static StatusOr<std::unique_ptr<RouteTable>> compile(const std::vector<RouteConfig>& routes);
  // Compiles `routes` for a configuration reload, keeping the index spaces of `previous`: each of
  // its destinations and routes keeps its index (a route that is gone stays, disabled: it matches
  // nothing), and new ones get the following indices. Indices held elsewhere (queues, the
  // journal) stay valid across the reload.
  static StatusOr<std::unique_ptr<RouteTable>> compile(const std::vector<RouteConfig>& routes,
                                                       const RouteTable& previous);

  // Appends to `out` the destinations of `event`, published by instance `from`: every destination
  // of every route whose `from`, type, subject prefix and extensions all match. A destination named
  // by several matching routes appears once, attributed to the first such route in config order.
  // Leaves `out` unchanged when nothing matches (the caller counts that as unrouted).
  // Thread rule: not thread-safe (it keeps a per-(from, type) cache); one thread calls it.
  void match(std::string_view from, const simpang::v1::Event& event,
             std::vector<RouteTarget>& out) const;

  // Destination instance names, deduplicated, in order of first appearance.
  const std::vector<std::string>& destinations() const;
  const std::string& route_name(uint32_t route) const;
  size_t route_count() const;
  // False for a route kept only for its index (removed by a reload).
  bool route_active(uint32_t route) const;

  ~RouteTable();

 private:
  struct Impl;
  explicit RouteTable(std::unique_ptr<Impl> impl);
  // `ordered[i]` null means route i is disabled, named `disabled_names[i]`; destination indices
  // start with `destinations`, in order.
  static StatusOr<std::unique_ptr<RouteTable>> compile_ordered(
      const std::vector<const RouteConfig*>& ordered, const std::vector<std::string>& disabled_names,
      const std::vector<std::string>& destinations);
  std::unique_ptr<Impl> impl_;
};

}  // namespace simpang::hub
