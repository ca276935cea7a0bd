// One run of the hub: the journal, the loop thread with the broker and the process supervisor,
// and the plugin instances, from open() to close(). Hub::run drives it from the main thread
// (signals, reloads, the drain); an admin surface reads it through snapshot().
//
//   RunningHub hub(config, logger, {.ipc_endpoint = "ipc://" + path});
//   if (auto s = hub.open(std::move(table)); !s.ok()) { ...; hub.close(); }
//   hub.start_all();
//   HubSnapshot now = hub.snapshot();       // instances, destination depths, routes, metrics
//   bool clean = hub.stop_all(true);
//   hub.close();
#pragma once

#include <spdlog/logger.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/asio.h"
#include "config/config.h"
#include "core/broker.h"
#include "core/plugin_instance.h"
#include "core/process_supervisor.h"
#include "journal/journal.h"
#include "plugin/plugin_library.h"
#include "router/route_table.h"
#include "simpang/base/status.h"

namespace simpang::hub {

// One configured plugin instance, as a snapshot reports it.
struct InstanceStatus {
  std::string name;
  std::string kind;       // "source", "transform" or "sink"
  std::string isolation;  // "thread" or "process"
  // thread: "created", "running", "stopped", "did not stop in time";
  // process: "starting", "running", "backoff", "failed", "stopping", "stopped".
  std::string state;
  bool connected = false;  // said hello, was welcomed, and has not left since
  uint32_t restarts = 0;   // hellos after its first in this run: restarts and reconnects
  std::string last_error;  // why it was last lost or given up on; empty if never
};

// The latest metrics one instance reported (Context::count / gauge).
struct PluginMetrics {
  std::string instance;
  std::map<std::string, double> counters;
  std::map<std::string, double> gauges;
};

// What a running hub can say about itself at one moment, taken on the loop thread between two
// messages, so its parts agree with one another.
struct HubSnapshot {
  std::vector<InstanceStatus> instances;        // by name
  std::vector<DestinationStatus> destinations;  // by destination index
  std::vector<RouteStatus> routes;              // by route index
  std::vector<PluginMetrics> plugin_metrics;    // by instance name; instances that reported
  BrokerStats totals;
  JournalStats journal;  // as of the journal's last commit
};

struct RunningHubOptions {
  // The hub's ipc:// endpoint, for process-isolated instances and `transport: ipc`.
  std::string ipc_endpoint;
  // The executable with the `plugin-host` subcommand; empty: this process's own executable.
  std::filesystem::path executable;
};

// What a reload did: which instances it stopped and started, the routes it now runs, and what it
// kept (settings that apply on restart); or why the broker refused the new routes.
struct ReloadReport {
  bool applied = false;
  std::string error;  // set when not applied
  std::vector<std::string> stopped;
  std::vector<std::string> started;
  size_t routes = 0;
  std::vector<std::string> kept;  // changes that apply only on restart
};

class RunningHub {
 public:
  // Thread rule: construct, open, start_all, stop_all, reload and close from one thread (the
  // "main" thread), never from the loop thread; snapshot() from any thread but the loop.
  RunningHub(Config config, std::shared_ptr<spdlog::logger> logger, RunningHubOptions options);
  ~RunningHub();
  RunningHub(const RunningHub&) = delete;
  RunningHub& operator=(const RunningHub&) = delete;

  // Opens the journal, binds the broker and starts the loop thread. On failure the caller still
  // calls close().
  Status open(std::unique_ptr<RouteTable> table);
  // Creates every configured instance, then starts them, consumers first.
  Status start_all();
  // Stops everything in dependency order and closes the broker. Returns whether it was clean
  // (`clean` false makes it false too).
  bool stop_all(bool clean);
  // Applies a new, already validated configuration: only instances whose configuration changed
  // restart, routes are swapped atomically on the loop, and what is in flight stays in flight.
  ReloadReport reload(Config next);
  // Ends the loop thread and frees everything. Returns false when a plugin thread is still
  // running library code (the caller must then leave the process at once).
  bool close();

  // The hub's state now. Thread rule: any thread except the loop's (it posts to the loop and
  // waits for the answer). REQUIRES: open() succeeded and close() has not been called.
  HubSnapshot snapshot();
  // The same, taken directly. Thread rule: the loop thread only (e.g. an admin server on io()).
  HubSnapshot snapshot_on_loop() const;

  // The loop. Handlers posted to it run on the loop thread, beside the broker.
  boost::asio::io_context& io() { return io_; }
  // The operator's side of this run's journal (dead letters, replays carried out by the hub's own
  // writer), for the admin API. Thread rule: any thread, between open() and close().
  StatusOr<std::unique_ptr<JournalAdmin>> open_journal_admin() { return journal_->open_admin(); }
  size_t instance_count() const { return instances_.size(); }
  size_t process_count() const;

 private:
  // The main thread's record of an instance.
  struct Instance {
    simpang_plugin_kind kind = SIMPANG_KIND_SOURCE;
    std::unique_ptr<PluginInstance> thread;  // null for a process-isolated instance
    bool started = false;
  };
  // The loop thread's record of an instance, for snapshots.
  struct Track {
    simpang_plugin_kind kind = SIMPANG_KIND_SOURCE;
    bool process = false;
    std::string thread_state;  // for a thread instance
    uint32_t connects = 0;
    std::string last_error;
  };

  // Runs `fn` on the loop thread and returns its result.
  template <typename Fn>
  auto on_loop(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }

  Status create(const PluginInstanceConfig& plugin);
  Status start_created();
  bool stop_kind(simpang_plugin_kind kind);
  // Stops the named instances: process ones through the supervisor, thread ones directly.
  bool stop_named(const std::vector<std::string>& names);
  // Waits until what was accepted has been delivered to connected consumers, or drain_timeout.
  bool drain();

  Config config_;
  std::shared_ptr<spdlog::logger> logger_;
  RunningHubOptions options_;
  // Destroyed in reverse: the context outlives every socket, the io_context every timer.
  struct ZmqContext {
    ZmqContext();
    ~ZmqContext();
    void* handle;
  } zmq_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      boost::asio::make_work_guard(io_)};
  std::unique_ptr<Journal> journal_;
  bool journal_started_ = false;
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<ProcessSupervisor> supervisor_;
  std::thread loop_;
  std::map<std::filesystem::path, std::shared_ptr<PluginLibrary>> libraries_;
  std::map<std::string, Instance> instances_;  // the main thread's
  std::map<std::string, Track> tracks_;        // the loop thread's
};

}  // namespace simpang::hub
