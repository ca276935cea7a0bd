// simpang-bench: the end-to-end load generator. In one process and one run it measures a bare
// ZeroMQ relay (the floor: no protobuf, no routing, no acks; see bare_relay.h) and then the real
// Hub carrying the same traffic between two plugins (bench-source -> one route -> bench-sink), on
// inproc:// and on ipc://, each saturated and at a fixed offered load, and prints them side by
// side with the hub/bare throughput ratio per transport. Only ratios and figures from the same
// run are comparable: the machine it runs on is shared and noisy.
//
//   build/bin/simpang-bench --events 200000 --rate 10000 --paced-seconds 3 --json out.json
//
// A benchmark, run by hand or by tests/bench/run.sh; never a timed test.
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bare_relay.h"
#include "config/config.h"
#include "core/hub.h"

#ifndef SIMPANG_PLUGIN_DIR
#error "SIMPANG_PLUGIN_DIR must name the build tree's plugin directory"
#endif

namespace simpang::bench {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr size_t kPayloadBytes = 256;

// A fresh directory under the system's temp dir, removed with everything in it when destroyed.
// Short on purpose: an ipc:// path must fit in 107 characters.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "simpang-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
      throw std::runtime_error("cannot create a temporary directory from " + pattern);
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// One line of the results table.
struct Row {
  std::string scenario;     // "bare saturated", "hub paced", ...
  std::string transport;    // "inproc" or "ipc"
  std::string journal;      // the hub's journal kind ("sqlite", "memory"); "-" for the bare relay
  double offered_rate = 0;  // events/s; 0 when saturated
  uint64_t events = 0;
  double seconds = 0;
  double events_per_second = 0;
  LatencySummary latency;
  std::string error;  // set when the scenario did not complete
};

Row run_bare(const std::string& transport, uint64_t count, double rate) {
  Row row;
  row.scenario = rate > 0 ? "bare paced" : "bare saturated";
  row.transport = transport;
  row.journal = "-";
  row.offered_rate = rate;
  TempDir dir;
  RelayOptions options;
  options.endpoint = transport == "ipc" ? "ipc://" + (dir.path() / "relay.sock").string()
                                        : "inproc://simpang-bench-relay";
  options.count = count;
  options.payload_bytes = kPayloadBytes;
  options.rate = rate;
  try {
    const RelayResult result = run_bare_relay(options);
    row.events = result.events;
    row.seconds = result.seconds;
    row.events_per_second = result.events_per_second;
    row.latency = result.latency;
  } catch (const std::exception& e) {
    row.error = e.what();
  }
  return row;
}

// The hub configuration for one scenario: one source, one sink, one route, on `transport`.
std::string hub_yaml(const std::string& transport, const std::string& journal, uint32_t max_batch,
                     uint64_t count, double rate, const fs::path& results) {
  // JSON strings are valid YAML double-quoted scalars, so dump() quotes the path safely.
  const std::string results_quoted = nlohmann::json(results.string()).dump();
  std::string yaml;
  yaml += "hub:\n";
  yaml += "  state_dir: state\n";
  yaml += "  log_level: warn\n";
  yaml += "  summary_interval: 0s\n";
  if (max_batch > 0) {
    yaml += "  max_batch: " + std::to_string(max_batch) + "\n";
  }
  yaml += "journal:\n";
  yaml += "  kind: " + journal + "\n";
  yaml += "plugins:\n";
  yaml += "  - name: source\n";
  yaml += "    plugin: bench-source\n";
  yaml += "    transport: " + transport + "\n";
  yaml += "    config:\n";
  yaml += "      count: " + std::to_string(count) + "\n";
  yaml += "      payload_bytes: " + std::to_string(kPayloadBytes) + "\n";
  yaml += "      rate: " + std::to_string(rate) + "\n";
  yaml += "  - name: sink\n";
  yaml += "    plugin: bench-sink\n";
  yaml += "    transport: " + transport + "\n";
  yaml += "    config:\n";
  yaml += "      expect: " + std::to_string(count) + "\n";
  yaml += "      results: " + results_quoted + "\n";
  yaml += "routes:\n";
  yaml += "  - name: bench\n";
  yaml += "    from: [source]\n";
  yaml += "    to: [sink]\n";
  return yaml;
}

Row run_hub(const std::string& transport, const std::string& journal, uint32_t max_batch,
            uint64_t count, double rate, const fs::path& plugin_dir) {
  Row row;
  row.scenario = rate > 0 ? "hub paced" : "hub saturated";
  row.transport = transport;
  row.journal = journal;
  row.offered_rate = rate;
  TempDir dir;
  const fs::path config_path = dir.path() / "bench.yaml";
  const fs::path results_path = dir.path() / "results.json";
  {
    std::ofstream out(config_path);
    out << hub_yaml(transport, journal, max_batch, count, rate, results_path);
    if (!out) {
      row.error = "cannot write " + config_path.string();
      return row;
    }
  }
  hub::LoadOptions load_options;
  load_options.default_plugin_dirs = {plugin_dir};
  hub::ConfigResult loaded = hub::load_config(config_path, load_options);
  if (!loaded.ok()) {
    for (const auto& diagnostic : loaded.diagnostics) {
      row.error += (row.error.empty() ? "" : "; ") + diagnostic.to_string();
    }
    if (row.error.empty()) {
      row.error = "the configuration did not load";
    }
    return row;
  }

  hub::Hub hub(std::move(*loaded.config));
  std::atomic<bool> hub_returned{false};
  int exit_code = 0;
  std::thread hub_thread([&] {
    exit_code = hub.run({});
    hub_returned = true;
  });

  // Generous: a deadline guards against a hang, it is not a performance bound. A saturated run
  // is allowed down to 2,000 events/s, a paced one twice its planned length.
  const auto budget =
      rate > 0 ? seconds(30) +
                     milliseconds(static_cast<int64_t>(2000.0 * static_cast<double>(count) / rate))
               : seconds(30) + milliseconds(static_cast<int64_t>(count / 2));
  const auto deadline = std::chrono::steady_clock::now() + budget;
  bool have_results = false;
  while (!hub_returned && std::chrono::steady_clock::now() < deadline) {
    if (fs::exists(results_path)) {
      have_results = true;
      break;
    }
    // Polling a file the sink renames into place; 5 ms is far below what any scenario takes.
    std::this_thread::sleep_for(milliseconds(5));
  }
  hub.request_stop();
  hub_thread.join();

  if (!have_results) {
    row.error = hub_returned && exit_code != hub::kExitOk
                    ? "the hub exited early with code " + std::to_string(exit_code)
                    : "no results within " +
                          std::to_string(std::chrono::duration_cast<seconds>(budget).count()) +
                          " s";
    return row;
  }
  try {
    std::ifstream in(results_path);
    const nlohmann::json results = nlohmann::json::parse(in);
    row.events = results.at("count").get<uint64_t>();
    row.seconds = results.at("duration_s").get<double>();
    row.events_per_second = results.at("events_per_second").get<double>();
    const auto& latency = results.at("latency_us");
    row.latency.p50_us = latency.at("p50").get<double>();
    row.latency.p90_us = latency.at("p90").get<double>();
    row.latency.p99_us = latency.at("p99").get<double>();
    row.latency.max_us = latency.at("max").get<double>();
  } catch (const std::exception& e) {
    row.error = std::string("unreadable results: ") + e.what();
  }
  if (exit_code != hub::kExitOk && row.error.empty()) {
    std::cerr << "simpang-bench: note: the hub stopped with exit code " << exit_code
              << " after the " << row.scenario << " " << transport << " run\n";
  }
  return row;
}

std::string format_rate(double events_per_second) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.0f", events_per_second);
  return buffer;
}

void print_table(const std::vector<Row>& rows) {
  std::printf("%-15s %-9s %-7s %9s %8s %10s %9s %9s %9s\n", "scenario", "transport", "journal",
              "offered/s", "events", "events/s", "p50 us", "p99 us", "max us");
  for (const auto& row : rows) {
    const std::string offered = row.offered_rate > 0 ? format_rate(row.offered_rate) : "max";
    if (!row.error.empty()) {
      std::printf("%-15s %-9s %-7s %9s  FAILED: %s\n", row.scenario.c_str(), row.transport.c_str(),
                  row.journal.c_str(), offered.c_str(), row.error.c_str());
      continue;
    }
    std::printf("%-15s %-9s %-7s %9s %8llu %10.0f %9.1f %9.1f %9.1f\n", row.scenario.c_str(),
                row.transport.c_str(), row.journal.c_str(), offered.c_str(),
                static_cast<unsigned long long>(row.events), row.events_per_second,
                row.latency.p50_us, row.latency.p99_us, row.latency.max_us);
  }
}

const Row* find_row(const std::vector<Row>& rows, const std::string& scenario,
                    const std::string& transport, const std::string& journal) {
  for (const auto& row : rows) {
    if (row.scenario == scenario && row.transport == transport && row.journal == journal &&
        row.error.empty()) {
      return &row;
    }
  }
  return nullptr;
}

nlohmann::json row_json(const Row& row) {
  nlohmann::json j = {{"scenario", row.scenario},
                      {"transport", row.transport},
                      {"journal", row.journal},
                      {"offered_rate", row.offered_rate},
                      {"events", row.events},
                      {"seconds", row.seconds},
                      {"events_per_second", row.events_per_second},
                      {"latency_us",
                       {{"p50", row.latency.p50_us},
                        {"p90", row.latency.p90_us},
                        {"p99", row.latency.p99_us},
                        {"max", row.latency.max_us}}}};
  if (!row.error.empty()) {
    j["error"] = row.error;
  }
  return j;
}

// "both" -> {a, b}; anything else -> {itself}.
std::vector<std::string> expand(const std::string& choice, const std::string& a,
                                const std::string& b) {
  if (choice == "both") {
    return {a, b};
  }
  return {choice};
}

int run(int argc, char** argv) {
  CLI::App app{"Simpang end-to-end benchmark: the hub against a bare ZeroMQ relay"};
  uint64_t events = 200000;
  double rate = 10000;
  double paced_seconds = 3;
  std::string transport = "both";
  std::string journal = "sqlite";
  std::string only = "all";
  uint32_t max_batch = 0;
  std::string json_path;
  std::string plugin_dir = SIMPANG_PLUGIN_DIR;
  app.add_option("--events", events, "Events per saturated run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rate", rate, "Offered load of the paced runs, events/s")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--paced-seconds", paced_seconds, "Length of each paced run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--transport", transport, "Which transports to measure")
      ->check(CLI::IsMember({"inproc", "ipc", "both"}))
      ->capture_default_str();
  app.add_option("--journal", journal,
                 "The hub's journal: sqlite (the default, durable), memory, or both")
      ->check(CLI::IsMember({"sqlite", "memory", "both"}))
      ->capture_default_str();
  app.add_option("--only", only, "Run only the bare relay or only the hub (for profiling)")
      ->check(CLI::IsMember({"bare", "hub", "all"}))
      ->capture_default_str();
  app.add_option(
         "--hub-max-batch", max_batch,
         "hub.max_batch for the hub runs (events per Publish/Deliver); 0: the hub's default")
      ->capture_default_str();
  app.add_option("--json", json_path, "Also write the results as JSON to this file");
  app.add_option("--plugin-dir", plugin_dir, "Where bench-source.so and bench-sink.so are")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // The hub and its plugins log through clones of the default logger: warn keeps the per-event
  // paths quiet, so logging does not distort the figures, while problems still show.
  spdlog::set_level(spdlog::level::warn);

  const auto transports = expand(transport, "inproc", "ipc");
  const auto journals = expand(journal, "sqlite", "memory");
  const auto paced_events = static_cast<uint64_t>(std::llround(rate * paced_seconds));

  std::vector<Row> rows;
  bool complete = true;
  auto record = [&](Row row) {
    std::cerr << "simpang-bench: " << row.scenario << " " << row.transport
              << (row.journal == "-" ? "" : " journal=" + row.journal) << ": "
              << (row.error.empty() ? format_rate(row.events_per_second) + " events/s"
                                    : "FAILED: " + row.error)
              << "\n";
    complete = complete && row.error.empty();
    rows.push_back(std::move(row));
  };
  for (const auto& t : transports) {
    if (only != "hub") {
      record(run_bare(t, events, 0));
      record(run_bare(t, paced_events, rate));
    }
    if (only != "bare") {
      for (const auto& j : journals) {
        record(run_hub(t, j, max_batch, events, 0, plugin_dir));
        record(run_hub(t, j, max_batch, paced_events, rate, plugin_dir));
      }
    }
  }

  std::printf(
      "\nsimpang-bench: %llu events saturated, %llu paced at %.0f events/s, %zu-byte "
      "payloads\n\n",
      static_cast<unsigned long long>(events), static_cast<unsigned long long>(paced_events), rate,
      kPayloadBytes);
  print_table(rows);
  nlohmann::json ratios = nlohmann::json::object();
  if (only == "all") {
    std::printf("\nhub/bare throughput, saturated (goal >= 0.50):\n");
    for (const auto& t : transports) {
      for (const auto& j : journals) {
        const Row* bare = find_row(rows, "bare saturated", t, "-");
        const Row* hub = find_row(rows, "hub saturated", t, j);
        if (bare == nullptr || hub == nullptr || bare->events_per_second <= 0) {
          std::printf("  %-7s journal=%-7s n/a (a run failed)\n", t.c_str(), j.c_str());
          continue;
        }
        const double ratio = hub->events_per_second / bare->events_per_second;
        ratios[t][j] = ratio;
        std::printf("  %-7s journal=%-7s %.3f  (%s / %s events/s)\n", t.c_str(), j.c_str(), ratio,
                    format_rate(hub->events_per_second).c_str(),
                    format_rate(bare->events_per_second).c_str());
      }
    }
  }
  std::fflush(stdout);

  if (!json_path.empty()) {
    nlohmann::json out = {{"events", events},
                          {"paced_events", paced_events},
                          {"rate", rate},
                          {"payload_bytes", kPayloadBytes},
                          {"results", nlohmann::json::array()},
                          {"ratio_hub_over_bare", ratios}};
    for (const auto& row : rows) {
      out["results"].push_back(row_json(row));
    }
    std::ofstream file(json_path);
    file << out.dump(2) << "\n";
    if (!file) {
      std::cerr << "simpang-bench: cannot write " << json_path << "\n";
      return 1;
    }
  }
  return complete ? 0 : 1;
}

}  // namespace
}  // namespace simpang::bench

int main(int argc, char** argv) {
  try {
    return simpang::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "simpang-bench: " << e.what() << "\n";
    return 1;
  }
}
