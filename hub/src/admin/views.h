// The admin API's JSON bodies, as documented in docs/admin-api.md and docs/openapi.json: a
// HubSnapshot as instances, routes, destinations and readiness, and errors as RFC 9457 problem
// details. Pure functions of their arguments; the server (admin/admin_server.h) sends them.
#pragma once

#include <optional>
#include <string>

#include "core/running_hub.h"

namespace simpang::hub::admin {

inline constexpr const char* kProblemContentType = "application/problem+json";

// Whether the hub is ready (GET /readyz), and the body saying why or why not.
struct Readiness {
  bool ready = false;
  std::string body;  // JSON
};
// Ready when the hub has started every instance (`running`) and every configured instance is
// connected; the body names each one that is not, with its state and why. With `detail` false
// (an unauthenticated caller of a hub that has a token) the body says only ready or not and how
// many instances are not.
Readiness readiness(const HubSnapshot& snapshot, bool running, bool detail);

std::string instances_json(const HubSnapshot& snapshot);
// One instance, with the metrics its plugin reported (ctx.count / ctx.gauge) and, when it is not
// connected, why; nullopt when no instance has that name.
std::optional<std::string> instance_json(const HubSnapshot& snapshot, const std::string& name);
std::string routes_json(const HubSnapshot& snapshot);
std::string destinations_json(const HubSnapshot& snapshot);

// An RFC 9457 problem: type "about:blank" with the status's title, `detail` and the `instance`
// (the request path).
std::string problem_json(int status, const std::string& detail, const std::string& instance);

}  // namespace simpang::hub::admin
