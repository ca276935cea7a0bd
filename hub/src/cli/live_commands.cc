#include "cli/live_commands.h"

#include <fstream>
#include <future>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>

#include "simpang/http/client.h"

namespace simpang::hub {
namespace {

using nlohmann::json;

struct Options {
  std::string config;
  bool json_output = false;
};

struct Answer {
  int status = 0;
  std::string body;
};

// Where the running hub's admin API answers, or why it cannot be asked.
StatusOr<std::string> admin_url(const Config& config, const std::string& file) {
  if (!config.admin.enabled) {
    return Status::Error(file +
                         ": the admin API is off (no `admin:` section); these commands ask a "
                         "running hub through it");
  }
  const auto port_file = config.hub.state_dir / "admin.port";
  std::ifstream in(port_file);
  int port = 0;
  if (!(in >> port) || port <= 0 || port > 65535) {
    return Status::Error("no hub runs on " + file + " (no admin port in " + port_file.string() +
                         "; start one with `simpang run " + file + "`)");
  }
  std::string host = config.admin.listen;
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  const bool tls = !config.admin.tls_certificate.empty();
  return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port);
}

StatusOr<Answer> get(const Config& config, const std::string& base, const std::string& path) {
  http::ClientOptions options;
  options.connect_timeout = std::chrono::seconds(5);
  options.total_timeout = std::chrono::seconds(15);
  // A TLS admin API usually has its own certificate: trust that one.
  if (!config.admin.tls_certificate.empty())
    options.ca_file = config.admin.tls_certificate.string();
  http::Client client(options);
  http::ClientRequest request;
  request.url = base + path;
  if (!config.admin.tokens.empty()) {
    request.headers.emplace_back("Authorization", "Bearer " + config.admin.tokens.front());
  }
  std::promise<http::ClientResult> done;
  auto result = done.get_future();
  client.send(std::move(request), [&done](http::ClientResult r) { done.set_value(std::move(r)); });
  http::ClientResult r = result.get();
  if (!r.ok()) {
    return Status::Error("the hub's admin API did not answer: " + r.error().message +
                         " (is the hub still running?)");
  }
  return Answer{r->status, r->body};
}

// The JSON body of a 2xx (or, for /readyz, a 503) answer; prints the problem and returns null.
std::optional<json> fetch(const Config& config, const std::string& base, const std::string& path,
                          bool accept_503 = false) {
  auto answer = get(config, base, path);
  if (!answer.ok()) {
    std::cerr << answer.status().message() << "\n";
    return std::nullopt;
  }
  json body = json::parse(answer->body, nullptr, false);
  const bool good = answer->status / 100 == 2 || (accept_503 && answer->status == 503);
  if (!good || body.is_discarded()) {
    std::string detail = answer->body;
    if (body.is_object() && body.contains("detail")) detail = body["detail"].get<std::string>();
    std::cerr << "GET " << path << " answered " << answer->status << ": " << detail << "\n";
    return std::nullopt;
  }
  return body;
}

std::string text(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  if (v.is_boolean()) return v.get<bool>() ? "yes" : "no";
  return v.dump();
}

// Prints rows under a header, each column as wide as its widest cell.
void table(const std::vector<std::string>& header,
           const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) width[c] = header[c].size();
  for (const auto& row : rows) {
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  }
  const auto print = [&](const std::vector<std::string>& row) {
    for (size_t c = 0; c < row.size(); ++c) {
      std::cout << (c ? "  " : "") << std::left
                << std::setw(c + 1 == row.size() ? 0 : static_cast<int>(width[c])) << row[c];
    }
    std::cout << "\n";
  };
  print(header);
  for (const auto& row : rows) print(row);
}

}  // namespace

int ask_running_hub(const std::string& command, const std::string& config_file, bool json_output,
                    const std::function<ConfigResult(const std::string&)>& load) {
  const Options o{config_file, json_output};
  ConfigResult loaded = load(o.config);
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
    return 1;
  }
  const Config& config = *loaded.config;
  auto base = admin_url(config, o.config);
  if (!base.ok()) {
    std::cerr << base.status().message() << "\n";
    return 1;
  }
  if (command == "status") {
    auto ready = fetch(config, *base, "/readyz", /*accept_503=*/true);
    auto destinations = ready ? fetch(config, *base, "/api/v1/destinations") : std::nullopt;
    if (!ready || !destinations) return 1;
    if (o.json_output) {
      std::cout << json{{"admin", *base},
                        {"readiness", *ready},
                        {"destinations", (*destinations)["destinations"]}}
                       .dump(2)
                << "\n";
      return 0;
    }
    uint64_t pending = 0, in_flight = 0, dead = 0, delivered = 0;
    for (const auto& d : (*destinations)["destinations"]) {
      pending += d.value("pending", 0u);
      in_flight += d.value("in_flight", 0u);
      dead += d.value("dead", 0u);
      delivered += d.value("delivered", 0u);
    }
    const uint64_t total = ready->value("instances_total", 0u);
    const uint64_t not_ready = ready->value("instances_not_ready", 0u);
    std::cout << "hub at " << *base << ": " << ready->value("status", "?") << "\n"
              << "  instances: " << total - not_ready << " of " << total << " ready\n";
    if (ready->contains("not_ready")) {
      for (const auto& i : (*ready)["not_ready"]) {
        std::cout << "    " << text(i["name"]) << " (" << text(i["state"])
                  << "): " << text(i["reason"]) << "\n";
      }
    }
    std::cout << "  destinations: " << (*destinations)["destinations"].size() << ", " << delivered
              << " delivered, " << pending << " pending, " << in_flight << " in flight, " << dead
              << " dead letters\n";
    return 0;
  }
  auto body = fetch(config, *base, "/api/v1/" + command);
  if (!body) return 1;
  if (o.json_output) {
    std::cout << body->dump(2) << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> header;
  std::vector<std::string> keys;
  if (command == "instances") {
    header = {"NAME", "KIND", "ISOLATION", "STATE", "CONNECTED", "RESTARTS", "LAST ERROR"};
    keys = {"name", "kind", "isolation", "state", "connected", "restarts", "last_error"};
  } else if (command == "routes") {
    header = {"NAME", "ACTIVE", "DELIVERIES"};
    keys = {"name", "active", "deliveries"};
  } else {
    header = {"NAME",    "CONNECTED", "PENDING", "IN FLIGHT",
              "ON DISK", "DELIVERED", "RETRIED", "DEAD"};
    keys = {"name",      "connected", "pending", "in_flight", "backlog_on_disk",
            "delivered", "retried",   "dead"};
  }
  for (const auto& item : (*body)[command]) {
    std::vector<std::string> row;
    for (const auto& k : keys) row.push_back(text(item.contains(k) ? item[k] : json(nullptr)));
    rows.push_back(std::move(row));
  }
  table(header, rows);
  return 0;
}

std::function<int()> add_live_commands(CLI::App& app,
                                       std::function<ConfigResult(const std::string&)> load) {
  auto options = std::make_shared<Options>();
  std::vector<std::pair<std::string, CLI::App*>> commands;
  for (const auto& [name, about] :
       {std::pair{"status", "A running hub's readiness and its destinations' totals"},
        std::pair{"instances", "A running hub's plugin instances: state, restarts, last error"},
        std::pair{"destinations", "A running hub's destinations: pending, in flight, dead"}}) {
    CLI::App* command = app.add_subcommand(name, std::string(about) + " (through its admin API)");
    command->add_option("CONFIG", options->config, "The hub's configuration file")->required();
    command->add_flag("--json", options->json_output, "The admin API's JSON, for scripts");
    commands.emplace_back(name, command);
  }
  return [options, commands, load = std::move(load)]() -> int {
    for (const auto& [name, command] : commands) {
      if (command->parsed())
        return ask_running_hub(name, options->config, options->json_output, load);
    }
    return -1;
  };
}

}  // namespace simpang::hub
