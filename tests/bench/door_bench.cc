// simpang-door-bench: what the partner door's CurveZMQ over tcp costs, against the ipc a local
// plugin process uses, in the same run. Each scenario is a real `simpang run` with bench-sink on a
// thread and the SQLite journal; only the publisher and its transport differ:
//
//   ipc    bench-source in a `simpang plugin-host` process (isolation: process, transport ipc)
//   curve  the SDK's PartnerPublisher in this process, through the partner door on 127.0.0.1
//          (CURVE handshake, every message encrypted and authenticated), `--in-flight` groups of
//          `--group` events outstanding at once
//
// Both publish `--events` events of 256 bytes of data, as fast as the hub's window allows, and
// bench-sink measures from the first emit to the last arrival. Runs alternate (ipc, curve, ipc,
// curve, ...) so a busy machine hurts both alike; the figure to quote is curve / ipc.
//
//   build/bin/simpang-door-bench [--events N] [--runs R] [--group G] [--in-flight K]
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "simpang/sdk/partner.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using simpang::sdk::PartnerOptions;
using simpang::sdk::PartnerPublisher;
using simpang::sdk::PublishResult;
using simpang::testing::Process;
using simpang::testing::TempDir;

constexpr size_t kPayloadBytes = 256;

struct Options {
  uint64_t events = 200000;
  int runs = 2;
  size_t group = 256;
  size_t in_flight = 8;
};

struct Result {
  double events_per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  std::string error;
};

std::string quoted(const fs::path& path) { return nlohmann::json(path.string()).dump(); }

std::string sink_yaml(const fs::path& dir, uint64_t events) {
  return "  - name: sink\n"
         "    plugin: bench-sink\n"
         "    isolation: thread\n"
         "    config:\n"
         "      expect: " + std::to_string(events) + "\n"
         "      results: " + quoted(dir / "results.json") + "\n";
}

std::string hub_yaml_head(const fs::path& dir) {
  return "hub:\n"
         "  state_dir: " + quoted(dir / "state") + "\n"
         "  log_level: warn\n"
         "  summary_interval: 0s\n"
         "  plugin_dirs: [" + quoted(SIMPANG_PLUGIN_DIR) + "]\n";
}

Result read_results(const fs::path& path) {
  Result r;
  try {
    std::ifstream in(path);
    const nlohmann::json j = nlohmann::json::parse(in);
    r.events_per_second = j.at("events_per_second").get<double>();
    r.p50_us = j.at("latency_us").at("p50").get<double>();
    r.p99_us = j.at("latency_us").at("p99").get<double>();
  } catch (const std::exception& e) {
    r.error = std::string("unreadable results: ") + e.what();
  }
  return r;
}

// Waits for bench-sink's results (or the hub's end), then stops the hub.
Result finish(Process& hub, const fs::path& dir, uint64_t events) {
  const auto budget = std::chrono::milliseconds(30000 + static_cast<int64_t>(events / 2));
  simpang::testing::wait_for([&] { return hub.exited() || fs::exists(dir / "results.json"); },
                             budget);
  const bool have = fs::exists(dir / "results.json");
  (void)hub.stop(30s);
  if (!have) {
    Result r;
    r.error = "no results; hub log: " + simpang::testing::read_file(dir / "hub.log");
    return r;
  }
  return read_results(dir / "results.json");
}

Result run_ipc(const Options& options) {
  TempDir dir("door-bench");
  simpang::testing::write_file(
      dir / "hub.yaml",
      hub_yaml_head(dir.path()) + "plugins:\n"
          "  - name: source\n"
          "    plugin: bench-source\n"
          "    isolation: process\n"
          "    transport: ipc\n"
          "    config: {count: " + std::to_string(options.events) +
          ", payload_bytes: " + std::to_string(kPayloadBytes) + "}\n" +
          sink_yaml(dir.path(), options.events) +
          "routes:\n  - name: bench\n    from: [source]\n    to: [sink]\n");
  Process hub({SIMPANG_BINARY, "run", (dir / "hub.yaml").string()}, dir / "hub.log");
  return finish(hub, dir.path(), options.events);
}

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Result run_curve(const Options& options) {
  TempDir dir("door-bench");
  fs::create_directories(dir / "keys");
  for (const char* name : {"hub", "loader"}) {
    const auto made = simpang::testing::run_command(
        {SIMPANG_BINARY, "keys", "new", name, "--dir", (dir / "keys").string()}, 30s);
    if (made.status != 0) {
      return Result{.error = "simpang keys new: " + made.output};
    }
  }
  simpang::testing::write_file(
      dir / "hub.yaml",
      hub_yaml_head(dir.path()) +
          "partner_door:\n"
          "  listen: tcp://127.0.0.1:0\n"
          "  secret_key: ${file:keys/hub.key}\n"
          "partners:\n"
          "  - name: loader\n"
          "    curve_public_key: ${file:keys/loader.pub}\n"
          "    publish: {types: [\"bench.**\"], source_prefix: /bench/}\n"
          "plugins:\n" +
          sink_yaml(dir.path(), options.events) +
          "routes:\n  - name: bench\n    from: [loader]\n    to: [sink]\n");
  Process hub({SIMPANG_BINARY, "run", (dir / "hub.yaml").string()}, dir / "hub.log");
  const fs::path endpoint_file = dir / "state" / "partner-door.endpoint";
  if (!simpang::testing::wait_for(
          [&] { return hub.exited() || simpang::testing::count_lines(endpoint_file) == 1; }, 30s) ||
      hub.exited()) {
    return Result{.error = "the door did not open: " + simpang::testing::read_file(dir / "hub.log")};
  }
  PartnerOptions po;
  po.endpoint = simpang::testing::read_lines(endpoint_file).at(0);
  po.server_public_key = simpang::testing::read_file(dir / "keys" / "hub.pub");
  po.secret_key = simpang::testing::read_file(dir / "keys" / "loader.key");
  po.program = "simpang-door-bench";
  auto publisher = PartnerPublisher::connect(po);
  if (!publisher.ok()) {
    return Result{.error = publisher.status().message()};
  }
  simpang::v1::Event prototype;
  prototype.set_spec_version("1.0");
  prototype.set_source("/bench/loader");
  prototype.set_type("bench.event.emitted");
  prototype.set_data_content_type("application/octet-stream");
  prototype.set_binary_data(std::string(kPayloadBytes, 'x'));

  // Keeps `in_flight` groups outstanding until every event was published durably.
  std::mutex mutex;
  std::condition_variable answered;
  size_t outstanding = 0;
  std::string failure;
  uint64_t next = 0;
  while (next < options.events) {
    {
      std::unique_lock lock(mutex);
      answered.wait(lock, [&] { return outstanding < options.in_flight || !failure.empty(); });
      if (!failure.empty()) {
        break;
      }
      ++outstanding;
    }
    std::vector<simpang::v1::Event> group;
    for (size_t i = 0; i < options.group && next < options.events; ++i, ++next) {
      simpang::v1::Event e = prototype;
      e.set_id("loader-" + std::to_string(next));
      // bench-sink reads the emit instant from `time`, on the steady clock, which on Linux is
      // one clock for every process of the machine.
      const int64_t now = steady_now_ns();
      e.mutable_time()->set_seconds(now / 1000000000);
      e.mutable_time()->set_nanos(static_cast<int32_t>(now % 1000000000));
      group.push_back(std::move(e));
    }
    (*publisher)->publish(std::move(group), 60s, [&](const PublishResult& r) {
      std::lock_guard lock(mutex);
      --outstanding;
      if (r.kind() != PublishResult::Kind::kDurable && failure.empty()) {
        failure = r.kind() == PublishResult::Kind::kTimedOut
                      ? "a group timed out: " + r.message()
                      : "a group was rejected: " + r.rejections().front().reason;
      }
      answered.notify_all();
    });
  }
  {
    std::unique_lock lock(mutex);
    answered.wait(lock, [&] { return outstanding == 0; });
  }
  (void)(*publisher)->stop(10s);
  if (!failure.empty()) {
    (void)hub.stop(30s);
    return Result{.error = failure};
  }
  return finish(hub, dir.path(), options.events);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[(values.size() - 1) / 2];
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"simpang-door-bench: the partner door's CURVE over tcp against ipc, same run"};
  app.add_option("--events", options.events, "events per run")->check(CLI::PositiveNumber);
  app.add_option("--runs", options.runs, "runs of each scenario (alternating)")
      ->check(CLI::PositiveNumber);
  app.add_option("--group", options.group, "curve: events per publish group")
      ->check(CLI::PositiveNumber);
  app.add_option("--in-flight", options.in_flight, "curve: groups outstanding at once")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  std::vector<double> ipc_rates;
  std::vector<double> curve_rates;
  std::printf("%-8s %2s %14s %10s %10s\n", "scenario", "run", "events/s", "p50 us", "p99 us");
  for (int run = 1; run <= options.runs; ++run) {
    for (const std::string scenario : {"ipc", "curve"}) {
      const Result r = scenario == "ipc" ? run_ipc(options) : run_curve(options);
      if (!r.error.empty()) {
        std::cerr << "simpang-door-bench: " << scenario << " run " << run << ": " << r.error
                  << "\n";
        return 1;
      }
      std::printf("%-8s %2d %14.0f %10.0f %10.0f\n", scenario.c_str(), run, r.events_per_second,
                  r.p50_us, r.p99_us);
      (scenario == "ipc" ? ipc_rates : curve_rates).push_back(r.events_per_second);
    }
  }
  std::printf("curve / ipc (events/s, medians of this run): %.2f\n",
              median(curve_rates) / median(ipc_rates));
  return 0;
}
