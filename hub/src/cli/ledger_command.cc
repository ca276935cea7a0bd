#include "cli/ledger_command.h"

#include <chrono>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "ledger_config.h"
#include "progress.h"
#include "simpang/sdk/plugin.h"
#include "open_store.h"

namespace simpang::hub {
namespace {

namespace tl = simpang::plugins::talent_ledger;

struct Options {
  std::string config;
  std::string instance;
  std::string as_of;
  bool json = false;
};

bool is_ledger(const PluginInstanceConfig& p) {
  if (p.plugin_name == "talent-ledger" || p.plugin == "talent-ledger") return true;
  return std::filesystem::path(p.plugin).filename() == "talent-ledger.so";
}

struct Opened {
  tl::LedgerConfig config;
  std::unique_ptr<tl::LedgerStore> store;
};

// Finds the ledger instance and opens its database read-only. Prints why not and returns nullopt.
std::optional<Opened> open_ledger(const Options& o,
                                  const std::function<ConfigResult(const std::string&)>& load) {
  ConfigResult loaded = load(o.config);
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics) std::cerr << d.to_string() << "\n";
    return std::nullopt;
  }
  const Config& config = *loaded.config;
  std::vector<const PluginInstanceConfig*> ledgers;
  for (const auto& p : config.plugins) {
    if (o.instance.empty() ? is_ledger(p) : p.name == o.instance) ledgers.push_back(&p);
  }
  if (ledgers.empty()) {
    std::cerr << o.config << ": "
              << (o.instance.empty() ? "no instance of plugin talent-ledger"
                                     : "no instance named '" + o.instance + "'")
              << "\n";
    return std::nullopt;
  }
  if (ledgers.size() > 1) {
    std::cerr << o.config << ": several talent-ledger instances; say which with --instance:";
    for (const auto* p : ledgers) std::cerr << " " << p->name;
    std::cerr << "\n";
    return std::nullopt;
  }
  const PluginInstanceConfig& instance = *ledgers.front();
  Opened opened;
  try {
    opened.config = tl::parse_ledger_config(nlohmann::json::parse(instance.config_json));
  } catch (const std::exception& e) {
    std::cerr << o.config << ": instance '" << instance.name << "': " << e.what() << "\n";
    return std::nullopt;
  }
  const auto state_dir = config.hub.state_dir / "instances" / instance.name;
  auto store = tl::open_store(opened.config, state_dir, /*read_only=*/true);
  if (!store.ok()) {
    std::cerr << "instance '" << instance.name << "': " << store.status().message() << "\n";
    return std::nullopt;
  }
  opened.store = std::move(*store);
  return opened;
}

int progress(const Options& o, const std::function<ConfigResult(const std::string&)>& load) {
  auto ledger = open_ledger(o, load);
  if (!ledger) return 1;
  int64_t as_of = std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  if (!o.as_of.empty()) {
    auto t = tl::parse_date_micros(o.as_of);
    if (!t) {
      std::cerr << "--as-of '" << o.as_of << "' is not a date (YYYY-MM-DD) or RFC 3339 time\n";
      return 2;
    }
    as_of = *t;
  }
  auto facts = tl::read_progress_facts(*ledger->store);
  if (!facts.ok()) {
    std::cerr << facts.status().message() << "\n";
    return 1;
  }
  const tl::Progress p = tl::compute_progress(*facts, ledger->config.targets, as_of);
  if (o.json) {
    std::cout << tl::render_json(p).dump(2) << "\n";
  } else {
    std::cout << tl::render_table(p);
  }
  return 0;
}

int review(const Options& o, const std::function<ConfigResult(const std::string&)>& load) {
  auto ledger = open_ledger(o, load);
  if (!ledger) return 1;
  auto reviews = ledger->store->reviews();
  auto links = ledger->store->links();
  if (!reviews.ok() || !links.ok()) {
    std::cerr << (reviews.ok() ? links.status() : reviews.status()).message() << "\n";
    return 1;
  }
  if (o.json) {
    nlohmann::json j = {{"reviews", nlohmann::json::array()}, {"links", nlohmann::json::array()}};
    for (const auto& r : *reviews) {
      j["reviews"].push_back({{"person_id", r.person_id},
                              {"rule", r.rule},
                              {"evidence", r.evidence},
                              {"candidates", r.candidates},
                              {"reason", r.reason},
                              {"event_id", r.event_id}});
    }
    for (const auto& l : *links) {
      j["links"].push_back({{"person_id", l.person_id},
                            {"other_id", l.other_id},
                            {"rule", l.rule},
                            {"evidence", l.evidence},
                            {"event_id", l.event_id}});
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << reviews->size() << " match" << (reviews->size() == 1 ? "" : "es")
            << " waiting for review, " << links->size() << " link"
            << (links->size() == 1 ? "" : "s") << "\n";
  for (const auto& r : *reviews) {
    std::cout << "  " << std::left << std::setw(22) << r.person_id << std::setw(18) << r.rule
              << r.evidence << "  candidates:";
    for (const auto& c : r.candidates) std::cout << " " << c;
    std::cout << "  (" << r.reason << ")\n";
  }
  return 0;
}

}  // namespace

std::function<int()> add_ledger_commands(CLI::App& app,
                                         std::function<ConfigResult(const std::string&)> load) {
  auto options = std::make_shared<Options>();
  Options& o = *options;
  auto* ledger = app.add_subcommand("ledger", "The talent ledger: programme progress, reviews");
  ledger->require_subcommand(1);
  auto* progress_cmd = ledger->add_subcommand(
      "progress", "Learners and partners against the programme's targets, funnels per course");
  auto* review_cmd =
      ledger->add_subcommand("review", "Identity matches the rules could not decide");
  for (auto* command : {progress_cmd, review_cmd}) {
    command->add_option("CONFIG", o.config, "The hub's configuration file")->required();
    command->add_option("--instance", o.instance,
                        "The talent-ledger instance (needed when there are several)");
    command->add_flag("--json", o.json, "JSON for scripts instead of a table");
  }
  progress_cmd->add_option("--as-of", o.as_of,
                           "Measure run-rates at this time (default: now), e.g. 2025-12-31");
  return [options, load, progress_cmd, review_cmd]() -> int {
    if (progress_cmd->parsed()) return progress(*options, load);
    if (review_cmd->parsed()) return review(*options, load);
    return -1;
  };
}

}  // namespace simpang::hub
