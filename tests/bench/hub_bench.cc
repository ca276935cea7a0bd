// simpang-bench: the end-to-end load generator. In one run it measures, per suite, the hub next
// to a baseline measured moments before, and prints both with their ratio; only ratios and
// figures from the same run are comparable, because the machine it runs on is shared and noisy.
//
//   basic      a bare ZeroMQ relay (the floor: no protobuf, no routing, no acks; bare_relay.h),
//              then the real Hub carrying the same traffic between two plugins (bench-source ->
//              one route -> bench-sink), on inproc:// and ipc://, saturated and at a fixed load.
//   durable    the hub with its SQLite journal at sync normal and at sync full, against bare SQLite
//              inserting the same rows (sqlite_insert.h).
//   stuck      a healthy sink alone, then the same sink beside a stuck one on the same route.
//   isolation  the sink on a thread of the hub, then in a `simpang plugin-host` process.
//
// basic and durable run the hub inside this process; stuck and isolation run `simpang run` as a
// child (simpang::testing::Process, tests/support), because the hub starts process-isolated
// plugins from its own executable.
//
//   build/bin/simpang-bench --suite all --json out.json
//
// A benchmark, run by hand or by tests/bench/run.sh; never a timed test.
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "bare_relay.h"
#include "config/config.h"
#include "core/hub.h"
#include "simpang/v1/event.pb.h"
#include "sqlite_insert.h"
#include "test_support.h"

#ifndef SIMPANG_PLUGIN_DIR
#error "SIMPANG_PLUGIN_DIR must name the build tree's plugin directory"
#endif
#ifndef SIMPANG_BINARY
#error "SIMPANG_BINARY must name the build tree's simpang executable"
#endif

namespace simpang::bench {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr size_t kPayloadBytes = 256;
// A stuck sink's stall: far longer than any run, so it never returns from its handler.
constexpr int64_t kStuckStallMs = 3600 * 1000;

using simpang::testing::describe_wait_status;
using simpang::testing::Process;
using simpang::testing::TempDir;

// The runs' temporary directories' names start with it. Short on purpose: an ipc:// path inside
// one must fit in 107 characters.
constexpr const char* kTempPrefix = "simpang-bench";

// What the command line chose, as every suite needs it.
struct Options {
  uint64_t events = 200000;
  double rate = 10000;
  double paced_seconds = 3;
  uint32_t max_batch = 0;
  uint32_t queue_limit = 1000;
  std::string plugin_dir = SIMPANG_PLUGIN_DIR;
  std::string simpang = SIMPANG_BINARY;

  uint64_t paced_events() const {
    return static_cast<uint64_t>(std::llround(rate * paced_seconds));
  }
};

// One line of a results table.
struct Row {
  std::string suite;        // "basic", "durable", "stuck", "isolation"
  std::string scenario;     // "bare saturated", "hub paced", ...
  std::string transport;    // "inproc" or "ipc"; "-" where none is involved
  std::string journal;      // the hub's journal ("sqlite", "memory", "sqlite/full"); "-" for none
  double offered_rate = 0;  // events/s; 0 when saturated
  uint64_t events = 0;
  double seconds = 0;
  double events_per_second = 0;
  LatencySummary latency;
  bool has_latency = true;  // false for the bare SQLite insert, which has no per-event latency
  std::string error;        // set when the scenario did not complete
};

// A figure the suites report against a goal; `value` is a ratio unless `unit` says otherwise.
struct Ratio {
  std::string suite;
  std::string name;  // what is divided by what, or what is measured
  double value = 0;
  std::string unit;  // "" for a ratio, "us" for a latency
  double goal = 0;
  bool at_least = true;  // the goal is a floor (ratios) or a ceiling (latencies)
  std::string detail;    // the figures it was computed from
  bool met() const { return at_least ? value >= goal : value < goal; }
};

Row run_bare(const std::string& transport, uint64_t count, double rate) {
  Row row;
  row.suite = "basic";
  row.scenario = rate > 0 ? "bare paced" : "bare saturated";
  row.transport = transport;
  row.journal = "-";
  row.offered_rate = rate;
  TempDir dir(kTempPrefix);
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

// One bench-sink instance of a hub scenario.
struct SinkSpec {
  std::string name = "sink";
  std::string isolation;  // "thread", "process", or "" for the configuration's default
  std::string transport = "inproc";
  bool measured = true;  // its results are the row's; false for a stuck neighbour
  int64_t stall_ms = 0;
  std::string stop_timeout;  // a duration, or "" for the default
};

// One hub scenario: bench-source, one route to every sink, and the hub settings that vary.
struct HubSpec {
  std::string transport = "inproc";  // the source's
  std::string journal = "sqlite";
  std::string sync;           // the journal's sync, or "" for the default (normal)
  uint32_t max_batch = 0;     // 0: the hub's default
  uint32_t queue_limit = 0;   // 0: the hub's default
  std::string drain_timeout;  // "" for the default
  std::string plugin_dir;     // written as hub.plugin_dirs; "" for none
  uint64_t count = 0;
  double rate = 0;
  std::vector<SinkSpec> sinks;
};

// The results file of a sink, in the scenario's directory.
fs::path results_path(const fs::path& dir, const SinkSpec& sink) {
  return dir / (sink.name + "-results.json");
}

std::string hub_yaml(const HubSpec& spec, const fs::path& dir) {
  // JSON strings are valid YAML double-quoted scalars, so dump() quotes a path safely.
  auto quoted = [](const fs::path& path) { return nlohmann::json(path.string()).dump(); };
  std::string yaml;
  yaml += "hub:\n";
  yaml += "  state_dir: state\n";
  yaml += "  log_level: warn\n";
  yaml += "  summary_interval: 0s\n";
  if (spec.max_batch > 0) {
    yaml += "  max_batch: " + std::to_string(spec.max_batch) + "\n";
  }
  if (spec.queue_limit > 0) {
    yaml += "  queue_limit: " + std::to_string(spec.queue_limit) + "\n";
  }
  if (!spec.drain_timeout.empty()) {
    yaml += "  drain_timeout: " + spec.drain_timeout + "\n";
  }
  if (!spec.plugin_dir.empty()) {
    yaml += "  plugin_dirs: [" + quoted(spec.plugin_dir) + "]\n";
  }
  yaml += "journal:\n";
  yaml += "  kind: " + spec.journal + "\n";
  if (!spec.sync.empty()) {
    yaml += "  sync: " + spec.sync + "\n";
  }
  yaml += "plugins:\n";
  yaml += "  - name: source\n";
  yaml += "    plugin: bench-source\n";
  yaml += "    transport: " + spec.transport + "\n";
  yaml += "    config:\n";
  yaml += "      count: " + std::to_string(spec.count) + "\n";
  yaml += "      payload_bytes: " + std::to_string(kPayloadBytes) + "\n";
  yaml += "      rate: " + std::to_string(spec.rate) + "\n";
  std::string destinations;
  for (const auto& sink : spec.sinks) {
    yaml += "  - name: " + sink.name + "\n";
    yaml += "    plugin: bench-sink\n";
    if (!sink.isolation.empty()) {
      yaml += "    isolation: " + sink.isolation + "\n";
    }
    yaml += "    transport: " + sink.transport + "\n";
    if (!sink.stop_timeout.empty()) {
      yaml += "    stop_timeout: " + sink.stop_timeout + "\n";
    }
    yaml += "    config:\n";
    // A stuck neighbour is never expected to finish: one event would be enough to write.
    yaml += "      expect: " + std::to_string(sink.measured ? spec.count : 1) + "\n";
    yaml += "      results: " + quoted(results_path(dir, sink)) + "\n";
    if (sink.stall_ms > 0) {
      yaml += "      stall_ms: " + std::to_string(sink.stall_ms) + "\n";
    }
    destinations += (destinations.empty() ? "" : ", ") + sink.name;
  }
  yaml += "routes:\n";
  yaml += "  - name: bench\n";
  yaml += "    from: [source]\n";
  yaml += "    to: [" + destinations + "]\n";
  return yaml;
}

// Reads a bench-sink results file into `row`; sets row.error when it cannot.
void read_results(const fs::path& path, Row& row) {
  try {
    std::ifstream in(path);
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
}

// The last `lines` lines of a log file, joined with " | ", for an error message.
std::string log_tail(const fs::path& path, size_t lines) {
  std::ifstream in(path);
  std::vector<std::string> all;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) {
      all.push_back(line);
    }
  }
  std::string tail;
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i) {
    tail += (tail.empty() ? "" : " | ") + all[i];
  }
  return tail;
}

// Where a hub scenario's hub runs: on a thread of this process (as `simpang run` builds it), or
// as a `simpang run` child process (needed whenever an instance has `isolation: process`).
enum class Runner { kInProcess, kChild };

// Runs the hub of `spec` until its measured sink has written its results, or until a deadline,
// then stops it. Fills the row's measurements, or its error.
void run_hub(HubSpec spec, Runner runner, const Options& options, Row& row) {
  row.offered_rate = spec.rate;
  TempDir dir(kTempPrefix);
  const fs::path config_path = dir.path() / "bench.yaml";
  if (runner == Runner::kChild) {
    spec.plugin_dir = options.plugin_dir;  // the child does not get this process's load options
  }
  fs::path results;
  for (const auto& sink : spec.sinks) {
    if (sink.measured) {
      results = results_path(dir.path(), sink);
    }
  }
  {
    std::ofstream out(config_path);
    out << hub_yaml(spec, dir.path());
    if (!out) {
      row.error = "cannot write " + config_path.string();
      return;
    }
  }

  // Generous: a deadline guards against a hang, it is not a performance bound. A saturated run
  // is allowed down to 2,000 events/s, a paced one twice its planned length.
  const auto budget = spec.rate > 0
                          ? seconds(30) + milliseconds(static_cast<int64_t>(
                                              2000.0 * static_cast<double>(spec.count) / spec.rate))
                          : seconds(30) + milliseconds(static_cast<int64_t>(spec.count / 2));
  const auto deadline = std::chrono::steady_clock::now() + budget;
  // Waits for the file the sink renames into place (or for the hub to be gone).
  auto wait_for_results = [&](const std::function<bool()>& hub_gone) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline -
                                                               std::chrono::steady_clock::now());
    simpang::testing::wait_for([&] { return hub_gone() || fs::exists(results); },
                               std::max(left, milliseconds(0)));
    return fs::exists(results);
  };
  const std::string no_results =
      "no results within " + std::to_string(std::chrono::duration_cast<seconds>(budget).count()) +
      " s";

  if (runner == Runner::kChild) {
    const fs::path log = dir.path() / "hub.log";
    std::optional<Process> hub;
    try {
      hub.emplace(std::vector<std::string>{options.simpang, "run", config_path.string()}, log);
    } catch (const std::exception& e) {
      row.error = e.what();
      return;
    }
    const bool have_results = wait_for_results([&] { return hub->exited(); });
    const bool exited_early = hub->exited();
    // Shutdown is bounded by drain_timeout and each instance's stop_timeout (+1 s for a process,
    // after which the hub kills it); 30 s is far past both.
    const std::optional<int> code = hub->stop(seconds(30));
    if (!have_results) {
      row.error =
          (exited_early ? "simpang run " + describe_wait_status(hub->wait_status()) : no_results) +
          "; its log: " + log_tail(log, 3);
      return;
    }
    read_results(results, row);
    // With a stuck neighbour an unclean stop is the expected outcome: its deliveries stay queued.
    const bool stuck_neighbour = std::any_of(spec.sinks.begin(), spec.sinks.end(),
                                             [](const SinkSpec& s) { return !s.measured; });
    const bool expected = stuck_neighbour && code.has_value() && *code == hub::kExitUnclean;
    if (!expected && (!code.has_value() || *code != hub::kExitOk)) {
      std::cerr << "simpang-bench: note: simpang run " << describe_wait_status(hub->wait_status())
                << (code.has_value() ? "" : " (stopped with SIGKILL after 30 s)") << " after the "
                << row.scenario << " run; its log: " << log_tail(log, 3) << "\n";
    }
    return;
  }

  hub::LoadOptions load_options;
  load_options.default_plugin_dirs = {options.plugin_dir};
  hub::ConfigResult loaded = hub::load_config(config_path, load_options);
  if (!loaded.ok()) {
    for (const auto& diagnostic : loaded.diagnostics) {
      row.error += (row.error.empty() ? "" : "; ") + diagnostic.to_string();
    }
    if (row.error.empty()) {
      row.error = "the configuration did not load";
    }
    return;
  }
  hub::Hub hub(std::move(*loaded.config));
  std::atomic<bool> hub_returned{false};
  int exit_code = 0;
  std::thread hub_thread([&] {
    exit_code = hub.run({});
    hub_returned = true;
  });
  const bool have_results = wait_for_results([&] { return hub_returned.load(); });
  hub.request_stop();
  hub_thread.join();
  if (!have_results) {
    row.error = hub_returned && exit_code != hub::kExitOk
                    ? "the hub exited early with code " + std::to_string(exit_code)
                    : no_results;
    return;
  }
  read_results(results, row);
  if (exit_code != hub::kExitOk && row.error.empty()) {
    std::cerr << "simpang-bench: note: the hub stopped with exit code " << exit_code
              << " after the " << row.scenario << " " << row.transport << " run\n";
  }
}

// ---- basic: the bare relay and the hub, per transport and journal
// --------------------------------

Row run_basic_hub(const std::string& transport, const std::string& journal, uint64_t count,
                  double rate, const Options& options) {
  Row row;
  row.suite = "basic";
  row.scenario = rate > 0 ? "hub paced" : "hub saturated";
  row.transport = transport;
  row.journal = journal;
  HubSpec spec;
  spec.transport = transport;
  spec.journal = journal;
  spec.max_batch = options.max_batch;
  spec.count = count;
  spec.rate = rate;
  SinkSpec sink;
  sink.transport = transport;
  spec.sinks = {sink};
  run_hub(spec, Runner::kInProcess, options, row);
  return row;
}

// ---- durable: the SQLite journal at each sync mode against bare SQLite inserts
// -------------------

// The event bench-source emits, serialized: what the journal stores as each events row's body.
std::string bench_event_body() {
  simpang::v1::Event event;
  event.set_id("source-100000");
  event.set_source("/bench/source");
  event.set_spec_version("1.0");
  event.set_type("bench.event.emitted");
  event.set_data_content_type("application/octet-stream");
  event.set_binary_data(std::string(kPayloadBytes, 'x'));
  event.mutable_time()->set_seconds(1700000000);
  event.mutable_time()->set_nanos(123456789);
  return event.SerializeAsString();
}

Row run_sqlite_baseline(const std::string& sync, const Options& options) {
  Row row;
  row.suite = "durable";
  row.scenario = "bare sqlite insert";
  row.transport = "-";
  row.journal = "sqlite/" + sync;
  row.has_latency = false;
  TempDir dir(kTempPrefix);
  SqliteInsertOptions insert;
  insert.file = dir.path() / "bare.db";
  insert.count = options.events;
  insert.full_sync = sync == "full";
  insert.source = "/bench/source";
  insert.id_prefix = "source-";
  insert.body = bench_event_body();
  try {
    const SqliteInsertResult result = run_sqlite_insert(insert);
    row.events = result.events;
    row.seconds = result.seconds;
    row.events_per_second = result.events_per_second;
  } catch (const std::exception& e) {
    row.error = e.what();
  }
  return row;
}

Row run_durable_hub(const std::string& sync, uint64_t count, double rate, const Options& options) {
  Row row;
  row.suite = "durable";
  row.scenario = rate > 0 ? "hub paced" : "hub saturated";
  row.transport = "inproc";
  row.journal = "sqlite/" + sync;
  HubSpec spec;
  spec.sync = sync;
  spec.max_batch = options.max_batch;
  spec.count = count;
  spec.rate = rate;
  spec.sinks = {SinkSpec{}};
  run_hub(spec, Runner::kInProcess, options, row);
  return row;
}

// ---- stuck: a healthy sink alone, then beside a stuck one
// ----------------------------------------

Row run_stuck(bool with_stuck, const Options& options) {
  Row row;
  row.suite = "stuck";
  row.scenario = with_stuck ? "healthy + stuck" : "healthy alone";
  row.transport = "inproc";
  row.journal = "sqlite";
  HubSpec spec;
  spec.max_batch = options.max_batch;
  spec.queue_limit = options.queue_limit;
  spec.drain_timeout = "2s";
  spec.count = options.events;
  SinkSpec healthy;
  healthy.name = "healthy";
  healthy.isolation = "thread";
  spec.sinks = {healthy};
  if (with_stuck) {
    // In a process of its own: a thread stuck in a handler could never be stopped, while the hub
    // kills a plugin-host that outlives its stop_timeout.
    SinkSpec stuck;
    stuck.name = "stuck";
    stuck.isolation = "process";
    stuck.transport = "ipc";
    stuck.measured = false;
    stuck.stall_ms = kStuckStallMs;
    stuck.stop_timeout = "1s";
    spec.sinks.push_back(stuck);
  }
  run_hub(spec, Runner::kChild, options, row);
  return row;
}

// ---- isolation: the sink on a thread, then in its own process
// ------------------------------------

Row run_isolation(const std::string& isolation, const std::string& transport, uint64_t count,
                  double rate, const Options& options) {
  Row row;
  row.suite = "isolation";
  row.scenario = isolation + (rate > 0 ? " paced" : " saturated");
  row.transport = transport;
  row.journal = "sqlite";
  HubSpec spec;
  spec.max_batch = options.max_batch;
  spec.count = count;
  spec.rate = rate;
  SinkSpec sink;
  sink.isolation = isolation;
  sink.transport = transport;
  spec.sinks = {sink};
  run_hub(spec, Runner::kChild, options, row);
  return row;
}

// ---- output
// ---------------------------------------------------------------------------------------

std::string format_rate(double events_per_second) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.0f", events_per_second);
  return buffer;
}

void print_table(const std::vector<Row>& rows) {
  // The widths the basic table always had, widened for the other suites' longer names.
  int scenario_width = 15;
  int journal_width = 7;
  for (const auto& row : rows) {
    scenario_width = std::max(scenario_width, static_cast<int>(row.scenario.size()));
    journal_width = std::max(journal_width, static_cast<int>(row.journal.size()));
  }
  std::printf("%-*s %-9s %-*s %9s %8s %10s %9s %9s %9s\n", scenario_width, "scenario", "transport",
              journal_width, "journal", "offered/s", "events", "events/s", "p50 us", "p99 us",
              "max us");
  for (const auto& row : rows) {
    const std::string offered = row.offered_rate > 0 ? format_rate(row.offered_rate) : "max";
    if (!row.error.empty()) {
      std::printf("%-*s %-9s %-*s %9s  FAILED: %s\n", scenario_width, row.scenario.c_str(),
                  row.transport.c_str(), journal_width, row.journal.c_str(), offered.c_str(),
                  row.error.c_str());
      continue;
    }
    if (!row.has_latency) {
      std::printf("%-*s %-9s %-*s %9s %8llu %10.0f %9s %9s %9s\n", scenario_width,
                  row.scenario.c_str(), row.transport.c_str(), journal_width, row.journal.c_str(),
                  offered.c_str(), static_cast<unsigned long long>(row.events),
                  row.events_per_second, "-", "-", "-");
      continue;
    }
    std::printf("%-*s %-9s %-*s %9s %8llu %10.0f %9.1f %9.1f %9.1f\n", scenario_width,
                row.scenario.c_str(), row.transport.c_str(), journal_width, row.journal.c_str(),
                offered.c_str(), static_cast<unsigned long long>(row.events), row.events_per_second,
                row.latency.p50_us, row.latency.p99_us, row.latency.max_us);
  }
}

const Row* find_row(const std::vector<Row>& rows, const std::string& suite,
                    const std::string& scenario, const std::string& transport,
                    const std::string& journal) {
  for (const auto& row : rows) {
    if (row.suite == suite && row.scenario == scenario && row.transport == transport &&
        row.journal == journal && row.error.empty()) {
      return &row;
    }
  }
  return nullptr;
}

// Adds numerator/denominator events/s as a ratio, or says which run is missing.
void add_throughput_ratio(std::vector<Ratio>& ratios, const std::string& suite,
                          const std::string& name, const Row* numerator, const Row* denominator,
                          double goal) {
  Ratio ratio;
  ratio.suite = suite;
  ratio.name = name;
  ratio.goal = goal;
  if (numerator == nullptr || denominator == nullptr || denominator->events_per_second <= 0) {
    ratio.value = std::nan("");
    ratio.detail = "n/a (a run failed)";
  } else {
    ratio.value = numerator->events_per_second / denominator->events_per_second;
    ratio.detail = format_rate(numerator->events_per_second) + " / " +
                   format_rate(denominator->events_per_second) + " events/s";
  }
  ratios.push_back(std::move(ratio));
}

void add_p99(std::vector<Ratio>& ratios, const std::string& suite, const std::string& name,
             const Row* row, double goal_us) {
  Ratio ratio;
  ratio.suite = suite;
  ratio.name = name;
  ratio.unit = "us";
  ratio.goal = goal_us;
  ratio.at_least = false;
  if (row == nullptr) {
    ratio.value = std::nan("");
    ratio.detail = "n/a (the run failed)";
  } else {
    ratio.value = row->latency.p99_us;
    ratio.detail = "p50 " + format_rate(row->latency.p50_us) + " us at " +
                   format_rate(row->events_per_second) + " events/s";
  }
  ratios.push_back(std::move(ratio));
}

// A ratio with `decimals` decimals, or a latency in whole microseconds.
std::string format_figure(double value, const std::string& unit, int decimals) {
  char buffer[48];
  if (unit.empty()) {
    std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.0f %s", value, unit.c_str());
  }
  return buffer;
}

void print_ratios(const std::vector<Ratio>& ratios, const std::string& suite) {
  for (const auto& r : ratios) {
    if (r.suite != suite) {
      continue;
    }
    const std::string goal = (r.at_least ? ">= " : "< ") + format_figure(r.goal, r.unit, 2);
    if (std::isnan(r.value)) {
      std::printf("  %-40s %9s  (goal %s)  %s\n", r.name.c_str(), "n/a", goal.c_str(),
                  r.detail.c_str());
      continue;
    }
    std::printf("  %-40s %9s  (goal %s: %s)  %s\n", r.name.c_str(),
                format_figure(r.value, r.unit, 3).c_str(), goal.c_str(),
                r.met() ? "met" : "NOT met", r.detail.c_str());
  }
}

nlohmann::json row_json(const Row& row) {
  nlohmann::json j = {{"suite", row.suite},
                      {"scenario", row.scenario},
                      {"transport", row.transport},
                      {"journal", row.journal},
                      {"offered_rate", row.offered_rate},
                      {"events", row.events},
                      {"seconds", row.seconds},
                      {"events_per_second", row.events_per_second}};
  if (row.has_latency) {
    j["latency_us"] = {{"p50", row.latency.p50_us},
                       {"p90", row.latency.p90_us},
                       {"p99", row.latency.p99_us},
                       {"max", row.latency.max_us}};
  }
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

bool selected(const std::vector<std::string>& suites, const std::string& suite) {
  return std::find(suites.begin(), suites.end(), "all") != suites.end() ||
         std::find(suites.begin(), suites.end(), suite) != suites.end();
}

int run(int argc, char** argv) {
  CLI::App app{"Simpang end-to-end benchmark: the hub against baselines measured in the same run"};
  Options options;
  std::string transport = "both";
  std::string journal = "sqlite";
  std::string only = "all";
  std::vector<std::string> suites = {"basic"};
  std::string json_path;
  app.add_option("--suite", suites,
                 "Which suites to run: basic, durable, stuck, isolation or all (comma-separated)")
      ->check(CLI::IsMember({"basic", "durable", "stuck", "isolation", "all"}))
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--events", options.events, "Events per saturated run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--rate", options.rate, "Offered load of the paced runs, events/s")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--paced-seconds", options.paced_seconds, "Length of each paced run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--transport", transport, "basic suite: which transports to measure")
      ->check(CLI::IsMember({"inproc", "ipc", "both"}))
      ->capture_default_str();
  app.add_option("--journal", journal,
                 "basic suite: the hub's journal: sqlite (the default, durable), memory, or both")
      ->check(CLI::IsMember({"sqlite", "memory", "both"}))
      ->capture_default_str();
  app.add_option("--only", only,
                 "basic suite: run only the bare relay or only the hub (for profiling)")
      ->check(CLI::IsMember({"bare", "hub", "all"}))
      ->capture_default_str();
  app.add_option(
         "--hub-max-batch", options.max_batch,
         "hub.max_batch for the hub runs (events per Publish/Deliver); 0: the hub's default")
      ->capture_default_str();
  app.add_option("--queue-limit", options.queue_limit,
                 "stuck suite: hub.queue_limit (deliveries per destination held in memory)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--json", json_path, "Also write the results as JSON to this file");
  app.add_option("--plugin-dir", options.plugin_dir, "Where bench-source.so and bench-sink.so are")
      ->capture_default_str();
  app.add_option("--simpang", options.simpang,
                 "The simpang executable the stuck and isolation suites run the hub with")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // The hub and its plugins log through clones of the default logger: warn keeps the per-event
  // paths quiet, so logging does not distort the figures, while problems still show.
  spdlog::set_level(spdlog::level::warn);
  // A `simpang run` child that dies must not take the bench with it through a broken pipe.
  ::signal(SIGPIPE, SIG_IGN);

  const auto transports = expand(transport, "inproc", "ipc");
  const auto journals = expand(journal, "sqlite", "memory");
  const uint64_t events = options.events;
  const double rate = options.rate;
  const uint64_t paced_events = options.paced_events();

  std::vector<Row> rows;
  std::vector<Ratio> ratios;
  bool complete = true;
  auto record = [&](Row row) {
    std::cerr << "simpang-bench: " << row.suite << ": " << row.scenario << " " << row.transport
              << (row.journal == "-" ? "" : " journal=" + row.journal) << ": "
              << (row.error.empty() ? format_rate(row.events_per_second) + " events/s"
                                    : "FAILED: " + row.error)
              << "\n";
    complete = complete && row.error.empty();
    rows.push_back(std::move(row));
  };

  const bool basic = selected(suites, "basic");
  const bool durable = selected(suites, "durable");
  const bool stuck = selected(suites, "stuck");
  const bool isolation = selected(suites, "isolation");
  if (basic) {
    for (const auto& t : transports) {
      if (only != "hub") {
        record(run_bare(t, events, 0));
        record(run_bare(t, paced_events, rate));
      }
      if (only != "bare") {
        for (const auto& j : journals) {
          record(run_basic_hub(t, j, events, 0, options));
          record(run_basic_hub(t, j, paced_events, rate, options));
        }
      }
    }
  }
  if (durable) {
    for (const std::string sync : {"normal", "full"}) {
      record(run_sqlite_baseline(sync, options));
      record(run_durable_hub(sync, events, 0, options));
      record(run_durable_hub(sync, paced_events, rate, options));
      const std::string journal_name = "sqlite/" + sync;
      add_throughput_ratio(ratios, "durable", "hub / bare sqlite insert, sync=" + sync,
                           find_row(rows, "durable", "hub saturated", "inproc", journal_name),
                           find_row(rows, "durable", "bare sqlite insert", "-", journal_name), 0.5);
      add_p99(ratios, "durable", "hub paced p99, sync=" + sync,
              find_row(rows, "durable", "hub paced", "inproc", journal_name), 5000);
    }
  }
  if (stuck) {
    record(run_stuck(false, options));
    record(run_stuck(true, options));
    add_throughput_ratio(ratios, "stuck", "healthy with stuck / healthy alone",
                         find_row(rows, "stuck", "healthy + stuck", "inproc", "sqlite"),
                         find_row(rows, "stuck", "healthy alone", "inproc", "sqlite"), 0.8);
  }
  if (isolation) {
    const std::vector<std::pair<std::string, std::string>> setups = {
        {"thread", "inproc"}, {"thread", "ipc"}, {"process", "ipc"}};
    for (const auto& [isolation_kind, sink_transport] : setups) {
      record(run_isolation(isolation_kind, sink_transport, events, 0, options));
      record(run_isolation(isolation_kind, sink_transport, paced_events, rate, options));
    }
    const Row* process = find_row(rows, "isolation", "process saturated", "ipc", "sqlite");
    add_throughput_ratio(ratios, "isolation", "process / thread (inproc, the default)", process,
                         find_row(rows, "isolation", "thread saturated", "inproc", "sqlite"), 0.7);
    add_throughput_ratio(ratios, "isolation", "process / thread (both on ipc)", process,
                         find_row(rows, "isolation", "thread saturated", "ipc", "sqlite"), 0.7);
  }

  std::printf(
      "\nsimpang-bench: %llu events saturated, %llu paced at %.0f events/s, %zu-byte "
      "payloads\n",
      static_cast<unsigned long long>(events), static_cast<unsigned long long>(paced_events), rate,
      kPayloadBytes);
  auto suite_rows = [&](const std::string& suite) {
    std::vector<Row> selection;
    for (const auto& row : rows) {
      if (row.suite == suite) {
        selection.push_back(row);
      }
    }
    return selection;
  };
  nlohmann::json basic_ratios = nlohmann::json::object();
  if (basic) {
    std::printf("\n");
    print_table(suite_rows("basic"));
    if (only == "all") {
      std::printf("\nhub/bare throughput, saturated (goal >= 0.50):\n");
      for (const auto& t : transports) {
        for (const auto& j : journals) {
          const Row* bare = find_row(rows, "basic", "bare saturated", t, "-");
          const Row* hub = find_row(rows, "basic", "hub saturated", t, j);
          if (bare == nullptr || hub == nullptr || bare->events_per_second <= 0) {
            std::printf("  %-7s journal=%-7s n/a (a run failed)\n", t.c_str(), j.c_str());
            continue;
          }
          const double ratio = hub->events_per_second / bare->events_per_second;
          basic_ratios[t][j] = ratio;
          std::printf("  %-7s journal=%-7s %.3f  (%s / %s events/s)\n", t.c_str(), j.c_str(), ratio,
                      format_rate(hub->events_per_second).c_str(),
                      format_rate(bare->events_per_second).c_str());
        }
      }
    }
  }
  const std::vector<std::pair<std::string, std::string>> titles = {
      {"durable", "the hub's SQLite journal against bare SQLite inserts"},
      {"stuck", "a stuck destination beside a healthy one (hub.queue_limit " +
                    std::to_string(options.queue_limit) + ")"},
      {"isolation", "the sink on a thread of the hub, then in a plugin-host process"}};
  for (const auto& [suite, title] : titles) {
    if (!selected(suites, suite)) {
      continue;
    }
    std::printf("\n== %s: %s\n\n", suite.c_str(), title.c_str());
    print_table(suite_rows(suite));
    std::printf("\n");
    print_ratios(ratios, suite);
  }
  std::fflush(stdout);

  if (!json_path.empty()) {
    nlohmann::json out = {{"events", events},
                          {"paced_events", paced_events},
                          {"rate", rate},
                          {"payload_bytes", kPayloadBytes},
                          {"suites", suites},
                          {"results", nlohmann::json::array()},
                          {"ratio_hub_over_bare", basic_ratios},
                          {"ratios", nlohmann::json::array()}};
    for (const auto& row : rows) {
      out["results"].push_back(row_json(row));
    }
    for (const auto& r : ratios) {
      nlohmann::json j = {{"suite", r.suite}, {"name", r.name},     {"goal", r.goal},
                          {"unit", r.unit},   {"detail", r.detail}, {"met", r.met()}};
      j["value"] = std::isnan(r.value) ? nlohmann::json(nullptr) : nlohmann::json(r.value);
      out["ratios"].push_back(std::move(j));
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
