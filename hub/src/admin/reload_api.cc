#include "admin/reload_api.h"

#include <nlohmann/json.hpp>

#include "admin/views.h"
#include "simpang/http/query.h"

namespace simpang::hub::admin {
namespace {

using http::Request;
using http::Response;
using nlohmann::json;

// The longest a reload may take before the answer says it is still going (instances stopping and
// starting take their stop_timeout at most).
constexpr std::chrono::seconds kReloadWait{60};

Response problem(int status, const std::string& detail, const Request& request,
                 const json& extra = json::object()) {
  json body = json::parse(problem_json(status, detail, request.path));
  for (const auto& [k, v] : extra.items()) body[k] = v;
  Response r;
  r.status = status;
  r.content_type = kProblemContentType;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

json diagnostics_json(const std::vector<Diagnostic>& diagnostics) {
  json out = json::array();
  for (const auto& d : diagnostics) {
    out.push_back({{"file", d.where.file},
                   {"line", d.where.line},
                   {"column", d.where.column},
                   {"message", d.message},
                   {"text", d.to_string()}});
  }
  return out;
}

Response refused(const std::vector<Diagnostic>& diagnostics, const Request& request) {
  return problem(422,
                 "the configuration has " + std::to_string(diagnostics.size()) +
                     " problems; nothing was applied (first: " + diagnostics.front().to_string() +
                     ")",
                 request, {{"diagnostics", diagnostics_json(diagnostics)}});
}

}  // namespace

Response reload_api(const Request& request, const ReloadHooks& hooks, const std::string& caller,
                    spdlog::logger& logger) {
  if (request.method != "POST") {
    Response r = problem(
        405, "method " + request.method + " is not allowed on " + request.path + "; it allows POST",
        request);
    r.headers.emplace_back("Allow", "POST");
    return r;
  }
  auto params = http::decode_query(request.query);
  if (!params) return problem(400, "the query string has a malformed %-escape", request);
  bool dry_run = false;
  for (const auto& [name, value] : *params) {
    if (name != "dry_run") {
      return problem(400, "unknown parameter '" + name + "' (known: dry_run)", request);
    }
    if (value != "true" && value != "false") {
      return problem(400, "dry_run must be true or false, got '" + value + "'", request);
    }
    dry_run = value == "true";
  }
  if (dry_run) {
    ConfigResult checked = hooks.validate();
    if (!checked.ok()) return refused(checked.diagnostics, request);
    return Response::Json(200, json{{"valid", true},
                                    {"applied", false},
                                    {"instances", checked.config->plugins.size()},
                                    {"routes", checked.config->routes.size()}}
                                   .dump());
  }
  if (!hooks.reload) return problem(503, "this hub was started without a way to reload", request);
  logger.info("admin: {} from {} asked for a reload", caller, request.remote_address);
  std::future<ReloadAnswer> pending = hooks.reload();
  if (pending.wait_for(kReloadWait) != std::future_status::ready) {
    return problem(504, "the reload did not finish within 60 s; see the hub's log", request);
  }
  ReloadAnswer answer;
  try {
    answer = pending.get();
  } catch (const std::future_error&) {
    return problem(503, "the hub is stopping; the reload was not carried out", request);
  }
  if (!answer.diagnostics.empty()) return refused(answer.diagnostics, request);
  const ReloadReport& r = answer.report;
  if (!r.applied) return problem(409, "the reload was refused: " + r.error, request);
  return Response::Json(200, json{{"applied", true},
                                  {"stopped", r.stopped},
                                  {"started", r.started},
                                  {"routes", r.routes},
                                  {"kept", r.kept}}
                                 .dump());
}

}  // namespace simpang::hub::admin
