// RunningHub's snapshot, read from a real hub in this process: a real SQLite journal, a source and
// a sink on threads, a sink in a `simpang plugin-host` child process, real sockets. What an admin
// API will report (instance state and restarts, destination depth, route counters, plugin
// metrics) must agree with what the plugins did.
#include "core/running_hub.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>

#include "config/config.h"
#include "router/route_table.h"
#include "test_support.h"

namespace simpang::testing {
namespace {

using hub::HubSnapshot;
using hub::RunningHub;
using std::chrono::seconds;

constexpr int kCount = 300;

const hub::InstanceStatus* instance(const HubSnapshot& snapshot, const std::string& name) {
  for (const auto& status : snapshot.instances) {
    if (status.name == name) {
      return &status;
    }
  }
  return nullptr;
}

const hub::DestinationStatus* destination(const HubSnapshot& snapshot, const std::string& name) {
  for (const auto& status : snapshot.destinations) {
    if (status.name == name) {
      return &status;
    }
  }
  return nullptr;
}

double counter(const HubSnapshot& snapshot, const std::string& instance, const std::string& name) {
  for (const auto& metrics : snapshot.plugin_metrics) {
    if (metrics.instance == instance) {
      auto it = metrics.counters.find(name);
      return it == metrics.counters.end() ? 0 : it->second;
    }
  }
  return 0;
}

class RunningHubTest : public ::testing::Test {
 protected:
  hub::Config load() {
    const std::string yaml =
        "hub:\n  state_dir: " + (dir_ / "state").string() +
        "\n  summary_interval: 0s\n  heartbeat: 200ms\n"
        "plugins:\n"
        "  - name: source\n    plugin: test-source\n    config: {count: " +
        std::to_string(kCount) + ", per_tick: 50, manifest: " + (dir_ / "manifest.jsonl").string() +
        "}\n"
        "  - name: near\n    plugin: test-sink\n    config: {path: " +
        (dir_ / "near.jsonl").string() +
        "}\n"
        "  - name: far\n    plugin: test-sink\n    isolation: process\n    config: {path: " +
        (dir_ / "far.jsonl").string() +
        "}\n"
        "routes:\n  - name: all\n    from: [source]\n    to: [near, far]\n";
    write_file(dir_ / "hub.yaml", yaml);
    hub::LoadOptions options;
    options.default_plugin_dirs = {plugin_dir()};
    hub::ConfigResult result = hub::load_config(dir_ / "hub.yaml", options);
    for (const auto& diagnostic : result.diagnostics) {
      ADD_FAILURE() << diagnostic.to_string();
    }
    EXPECT_TRUE(result.ok());
    return std::move(*result.config);
  }

  TempDir dir_;
};

TEST_F(RunningHubTest, ASnapshotReportsInstancesDepthsRoutesAndMetricsOfARealRun) {
  hub::Config config = load();
  std::filesystem::create_directories(config.hub.state_dir / "instances");
  auto table = hub::RouteTable::compile(config.routes);
  ASSERT_TRUE(table.ok()) << table.status().message();
  const std::string endpoint = "ipc://" + (config.hub.state_dir / "hub.sock").string();
  RunningHub running(config, spdlog::default_logger()->clone("hub"),
                     {.ipc_endpoint = endpoint, .executable = simpang_binary()});
  ASSERT_TRUE(running.open(std::move(*table)).ok());
  ASSERT_TRUE(running.start_all().ok());

  // Done when both sinks have every event, and the source's last metrics have arrived.
  HubSnapshot snapshot;
  const bool done = wait_for(
      [&] {
        snapshot = running.snapshot();
        const auto* near = destination(snapshot, "near");
        const auto* far = destination(snapshot, "far");
        return near != nullptr && far != nullptr && near->depth.delivered == kCount &&
               far->depth.delivered == kCount && counter(snapshot, "source", "emitted") == kCount;
      },
      seconds(60));
  ASSERT_TRUE(done) << "delivered near=" << destination(snapshot, "near")->depth.delivered
                    << " far=" << destination(snapshot, "far")->depth.delivered
                    << " emitted=" << counter(snapshot, "source", "emitted");

  ASSERT_EQ(snapshot.instances.size(), 3u);
  const auto* source = instance(snapshot, "source");
  const auto* near = instance(snapshot, "near");
  const auto* far = instance(snapshot, "far");
  ASSERT_TRUE(source && near && far);
  EXPECT_EQ(source->kind, "source");
  EXPECT_EQ(near->kind, "sink");
  EXPECT_EQ(source->isolation, "thread");
  EXPECT_EQ(far->isolation, "process");
  EXPECT_EQ(source->state, "running");
  EXPECT_EQ(near->state, "running");
  EXPECT_EQ(far->state, "running") << "the supervisor's word on its child";
  for (const auto* status : {source, near, far}) {
    EXPECT_TRUE(status->connected) << status->name;
    EXPECT_EQ(status->restarts, 0u) << status->name;
    EXPECT_EQ(status->last_error, "") << status->name;
  }

  ASSERT_EQ(snapshot.destinations.size(), 2u);
  for (const auto& d : snapshot.destinations) {
    EXPECT_TRUE(d.connected) << d.name;
    EXPECT_EQ(d.depth.queued, 0u) << d.name;
    EXPECT_EQ(d.depth.in_flight, 0u) << d.name;
    EXPECT_FALSE(d.depth.on_disk) << d.name;
    EXPECT_EQ(d.depth.dead, 0u) << d.name;
  }
  ASSERT_EQ(snapshot.routes.size(), 1u);
  EXPECT_EQ(snapshot.routes[0].name, "all");
  EXPECT_TRUE(snapshot.routes[0].active);
  EXPECT_EQ(snapshot.routes[0].deliveries, static_cast<uint64_t>(2 * kCount)) << "to near and far";
  EXPECT_EQ(snapshot.totals.published, static_cast<uint64_t>(kCount));
  EXPECT_EQ(snapshot.totals.delivered, static_cast<uint64_t>(2 * kCount));
  EXPECT_EQ(snapshot.journal.appended, static_cast<uint64_t>(kCount));
  EXPECT_EQ(count_lines(dir_ / "near.jsonl"), static_cast<size_t>(kCount));
  EXPECT_EQ(count_lines(dir_ / "far.jsonl"), static_cast<size_t>(kCount));

  EXPECT_TRUE(running.stop_all(true));
  EXPECT_TRUE(running.close());
}

}  // namespace
}  // namespace simpang::testing
