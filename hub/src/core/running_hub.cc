#include "core/running_hub.h"

#include <spdlog/spdlog.h>
#include <zmq.h>

#include <algorithm>
#include <fstream>

#include "common/random_token.h"
#include "journal/open_journal.h"

namespace simpang::hub {
namespace {

using std::chrono::milliseconds;

// The in-process endpoint; inproc names are scoped to the ZeroMQ context, so one fixed name is
// safe.
constexpr const char* kInprocEndpoint = "inproc://simpang-hub";

// Opens the configured journal backend for this run's destinations and routes.
StatusOr<std::unique_ptr<Journal>> open_configured_journal(const Config& config,
                                                           const RouteTable& table) {
  std::vector<std::string> routes;
  for (uint32_t r = 0; r < table.route_count(); ++r) {
    routes.push_back(table.route_name(r));
  }
  return open_journal(config.journal, table.destinations(), std::move(routes));
}

std::vector<InstanceInfo> instance_infos(const Config& config) {
  std::vector<InstanceInfo> infos;
  for (const auto& plugin : config.plugins) {
    infos.push_back({plugin.name, plugin.plugin_kind != SIMPANG_KIND_SOURCE});
  }
  return infos;
}

// What makes two configurations of one instance the same instance: anything else restarts it.
bool same_instance(const PluginInstanceConfig& a, const PluginInstanceConfig& b) {
  return a.library == b.library && a.config_json == b.config_json && a.isolation == b.isolation &&
         a.transport == b.transport && a.stop_timeout == b.stop_timeout &&
         a.start_timeout == b.start_timeout &&
         a.restart.initial_backoff == b.restart.initial_backoff &&
         a.restart.max_backoff == b.restart.max_backoff &&
         a.restart.max_failures == b.restart.max_failures && a.restart.window == b.restart.window;
}

const char* kind_name(simpang_plugin_kind kind) {
  switch (kind) {
    case SIMPANG_KIND_SOURCE:
      return "source";
    case SIMPANG_KIND_SINK:
      return "sink";
    case SIMPANG_KIND_TRANSFORM:
      return "transform";
  }
  return "unknown";
}

const char* state_name(ProcessSupervisor::State state) {
  switch (state) {
    case ProcessSupervisor::State::kStarting:
      return "starting";
    case ProcessSupervisor::State::kRunning:
      return "running";
    case ProcessSupervisor::State::kBackoff:
      return "backoff";
    case ProcessSupervisor::State::kFailed:
      return "failed";
    case ProcessSupervisor::State::kStopping:
      return "stopping";
    case ProcessSupervisor::State::kStopped:
      return "stopped";
  }
  return "unknown";
}

}  // namespace

RunningHub::ZmqContext::ZmqContext() : handle(zmq_ctx_new()) {}
RunningHub::ZmqContext::~ZmqContext() { zmq_ctx_term(handle); }

RunningHub::RunningHub(Config config, std::shared_ptr<spdlog::logger> logger,
                       RunningHubOptions options)
    : config_(std::move(config)), logger_(std::move(logger)), options_(std::move(options)) {
  if (options_.executable.empty()) {
    std::error_code ec;
    options_.executable = std::filesystem::read_symlink("/proc/self/exe", ec);
  }
}

RunningHub::~RunningHub() { close(); }

Status RunningHub::open(std::unique_ptr<RouteTable> table) {
  auto journal = open_configured_journal(config_, *table);
  if (!journal.ok()) {
    return journal.status();
  }
  journal_ = std::move(*journal);
  BrokerOptions options;
  options.heartbeat = config_.hub.heartbeat;
  options.summary_interval = config_.hub.summary_interval;
  options.max_batch = config_.hub.max_batch;
  options.memory_limit = config_.hub.queue_limit;
  options.max_unacked = config_.hub.max_unacked;
  options.max_frame_bytes = effective_max_frame_bytes(config_.hub);
  options.limits.max_event_bytes = config_.hub.max_event_bytes;
  options.limits.max_attributes = config_.hub.max_attributes;
  options.limits.max_attribute_bytes = config_.hub.max_attribute_bytes;
  options.limits.max_json_depth = config_.hub.max_json_depth;
  broker_ = std::make_unique<Broker>(io_, zmq_.handle, *journal_, std::move(table), config_.routes,
                                     instance_infos(config_), options, logger_);
  journal_->start([this](ReplayNotice notice) {
    boost::asio::post(io_, [this, notice = std::move(notice)] { broker_->on_replay(notice); });
  });
  journal_started_ = true;
  if (auto status = broker_->start({kInprocEndpoint, options_.ipc_endpoint}); !status.ok()) {
    return status;
  }
  // The partner door, when configured: its ZAP handler and CURVE socket in this context.
  SIMPANG_RETURN_IF_ERROR(broker_->open_door(config_.partner_door, config_.partners));
  if (!broker_->door_endpoint().empty()) {
    // Where the door listens, for operators and tests when the port was chosen by the system.
    std::error_code ec;
    std::filesystem::create_directories(config_.hub.state_dir, ec);
    std::ofstream(config_.hub.state_dir / "partner-door.endpoint")
        << broker_->door_endpoint() << "\n";
  }
  // Process-isolated instances run as `simpang plugin-host` children of the executable.
  supervisor_ = std::make_unique<ProcessSupervisor>(
      io_, logger_, options_.executable, options_.ipc_endpoint, config_.hub.heartbeat,
      std::string(spdlog::level::to_string_view(logger_->level()).data()));
  // Each run of a child gets a token of its own; the broker welcomes only that run.
  supervisor_->set_token_observer([this](const std::string& instance, const std::string& token) {
    broker_->set_instance_token(instance, token);
  });
  // On the loop thread: the supervisor hears of every peer, and the tracks record it.
  broker_->set_peer_observer(
      [this](const std::string& instance) {
        auto track = tracks_.find(instance);
        if (track != tracks_.end()) {
          ++track->second.connects;
        }
        supervisor_->on_connected(instance);
      },
      [this](const std::string& instance, const std::string& why) {
        auto track = tracks_.find(instance);
        if (track != tracks_.end()) {
          track->second.last_error = why;
        }
        supervisor_->on_lost(instance, why);
      });
  loop_ = std::thread([this] { io_.run(); });
  return Status::Ok();
}

Status RunningHub::start_all() {
  for (const auto& plugin : config_.plugins) {
    SIMPANG_RETURN_IF_ERROR(create(plugin));
  }
  return start_created();
}

bool RunningHub::stop_all(bool clean) {
  // Sources stop publishing first; once what they published has been delivered, transforms
  // stop; once theirs has, sinks stop.
  clean = stop_kind(SIMPANG_KIND_SOURCE) && clean;
  clean = drain() && clean;
  clean = stop_kind(SIMPANG_KIND_TRANSFORM) && clean;
  clean = drain() && clean;
  clean = stop_kind(SIMPANG_KIND_SINK) && clean;
  on_loop([&] {
    broker_->log_summary();
    for (const auto& [name, why] : supervisor_->failed()) {
      logger_->error("instance={} is marked failed: {}", name, why);
    }
    broker_->stop();
    return 0;
  });
  return clean;
}

ReloadReport RunningHub::reload(Config next) {
  ReloadReport report;
  if (next.hub.state_dir != config_.hub.state_dir || next.journal.file != config_.journal.file ||
      next.journal.backend != config_.journal.backend) {
    logger_->warn(
        "reload: hub.state_dir and the journal cannot change while running; "
        "keeping the current ones (restart the hub to change them)");
    report.kept.push_back("hub.state_dir and journal (apply on restart)");
  }
  std::vector<const PluginInstanceConfig*> added;
  std::vector<std::string> removed;
  for (const auto& plugin : next.plugins) {
    const auto* current = config_.find_plugin(plugin.name);
    if (current == nullptr || !same_instance(*current, plugin)) {
      added.push_back(&plugin);
    }
  }
  for (const auto& plugin : config_.plugins) {
    const auto* wanted = next.find_plugin(plugin.name);
    if (wanted == nullptr || !same_instance(plugin, *wanted)) {
      removed.push_back(plugin.name);
    }
  }
  // New routes first: from here on, events for a new destination wait in the journal for it.
  Status swapped = on_loop([&] { return broker_->reload(next.routes, instance_infos(next)); });
  if (!swapped.ok()) {
    logger_->error("reload refused: {}", swapped.message());
    report.error = swapped.message();
    return report;
  }
  // The partners' keys and rights; connections of a revoked partner are closed.
  if (next.partner_door.listen != config_.partner_door.listen ||
      next.partner_door.secret_key != config_.partner_door.secret_key) {
    logger_->warn("reload: partner_door.listen and partner_door.secret_key apply on restart");
    report.kept.push_back("partner_door.listen and partner_door.secret_key (apply on restart)");
  }
  on_loop([&] {
    broker_->reload_partners(next.partners);
    return 0;
  });
  config_.partners = next.partners;
  // Then the instances that went away or changed stop (their unsettled deliveries go back to
  // their queues), and the new or changed ones start.
  stop_named(removed);
  for (const auto& name : removed) {
    instances_.erase(name);
    on_loop([&] {
      supervisor_->remove(name);
      tracks_.erase(name);
      return 0;
    });
  }
  const std::string hub_section_note =
      next.hub.heartbeat != config_.hub.heartbeat ? " (hub settings apply on restart)" : "";
  config_.routes = next.routes;
  config_.plugins = next.plugins;
  for (const auto* plugin : added) {
    if (auto status = create(*plugin); !status.ok()) {
      logger_->error("reload: {}", status.message());
    }
  }
  if (auto status = start_created(); !status.ok()) {
    logger_->error("reload: {}", status.message());
  }
  logger_->info("reloaded {}: {} instances stopped, {} started, {} routes{}", config_.file.string(),
                removed.size(), added.size(), config_.routes.size(), hub_section_note);
  if (!hub_section_note.empty()) report.kept.push_back("hub settings (apply on restart)");
  report.applied = true;
  report.stopped = removed;
  for (const auto* plugin : added) report.started.push_back(plugin->name);
  report.routes = config_.routes.size();
  return report;
}

bool RunningHub::close() {
  if (journal_started_) {
    journal_->stop();  // commits the last settlements; its completions still find the loop
    journal_started_ = false;
  }
  io_.stop();
  if (loop_.joinable()) {
    loop_.join();
  }
  supervisor_.reset();
  broker_.reset();
  bool all_stopped = true;
  for (const auto& [name, instance] : instances_) {
    all_stopped = all_stopped && (!instance.thread || instance.thread->stopped_cleanly());
  }
  instances_.clear();
  return all_stopped;
}

size_t RunningHub::process_count() const {
  return std::count_if(instances_.begin(), instances_.end(),
                       [](const auto& entry) { return !entry.second.thread; });
}

// ---- Snapshots ----------------------------------------------------------------------------------

HubSnapshot RunningHub::snapshot() {
  return on_loop([this] { return snapshot_on_loop(); });
}

HubSnapshot RunningHub::snapshot_on_loop() const {
  HubSnapshot snapshot;
  const auto failed = supervisor_->failed();
  for (const auto& [name, track] : tracks_) {
    InstanceStatus status;
    status.name = name;
    status.kind = kind_name(track.kind);
    status.isolation = track.process ? "process" : "thread";
    status.state = track.process ? state_name(supervisor_->state(name)) : track.thread_state;
    status.connected = broker_->is_connected(name);
    status.restarts = track.connects > 1 ? track.connects - 1 : 0;
    status.last_error = track.last_error;
    if (track.process) {
      // How its process ended says more than how its connection did ("became unreachable").
      if (std::string exit = supervisor_->last_failure(name); !exit.empty()) {
        status.last_error = exit;
      }
    }
    for (const auto& [failed_name, why] : failed) {
      if (failed_name == name) {
        status.last_error = why;  // why it was given up on says more than its last loss
      }
    }
    snapshot.instances.push_back(std::move(status));
  }
  snapshot.destinations = broker_->destinations();
  snapshot.routes = broker_->routes();
  for (const auto& [instance, metrics] : broker_->plugin_metrics()) {
    PluginMetrics reported;
    reported.instance = instance;
    reported.counters.insert(metrics.counters().begin(), metrics.counters().end());
    reported.gauges.insert(metrics.gauges().begin(), metrics.gauges().end());
    snapshot.plugin_metrics.push_back(std::move(reported));
  }
  snapshot.totals = broker_->stats();
  snapshot.journal = journal_->stats();
  return snapshot;
}

// ---- Instances ----------------------------------------------------------------------------------

Status RunningHub::create(const PluginInstanceConfig& plugin) {
  const auto state_dir = config_.hub.state_dir / "instances" / plugin.name;
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  Instance instance;
  instance.kind = static_cast<simpang_plugin_kind>(plugin.plugin_kind);
  const bool process = plugin.isolation == Isolation::kProcess;
  if (process) {
    on_loop([&] {
      supervisor_->add(plugin, state_dir);
      return 0;
    });
  } else {
    auto& library = libraries_[plugin.library];
    if (!library) {
      auto opened = PluginLibrary::open(plugin.library);
      if (!opened.ok()) {
        return opened.status();
      }
      library = *opened;
    }
    // This run's token: the instance's runtime says hello with it, and nothing else is welcomed
    // as this instance (a reload that re-creates it issues a new one).
    std::string token = random_token();
    on_loop([&] {
      broker_->set_instance_token(plugin.name, token);
      return 0;
    });
    instance.thread = std::make_unique<PluginInstance>(
        plugin, library, zmq_.handle,
        plugin.transport == PluginTransport::kIpc ? options_.ipc_endpoint : kInprocEndpoint,
        state_dir, config_.hub.heartbeat, std::move(token));
    SIMPANG_RETURN_IF_ERROR(instance.thread->create());
  }
  on_loop([&] {
    Track track;
    track.kind = instance.kind;
    track.process = process;
    track.thread_state = "created";
    tracks_[plugin.name] = std::move(track);
    return 0;
  });
  instances_[plugin.name] = std::move(instance);
  return Status::Ok();
}

Status RunningHub::start_created() {
  std::vector<std::string> started;
  Status result = Status::Ok();
  // Consumers first, so the first events find their destinations ready.
  for (bool sources : {false, true}) {
    for (auto& [name, instance] : instances_) {
      if (instance.started || (instance.kind == SIMPANG_KIND_SOURCE) != sources) {
        continue;
      }
      instance.started = true;
      if (instance.thread) {
        result = instance.thread->start();
        if (!result.ok()) {
          break;
        }
        started.push_back(name);
      }
    }
    if (!result.ok()) {
      break;
    }
  }
  on_loop([&] {
    for (const auto& name : started) {
      tracks_[name].thread_state = "running";
    }
    if (result.ok()) {
      supervisor_->start();
    }
    return 0;
  });
  return result;
}

bool RunningHub::stop_kind(simpang_plugin_kind kind) {
  std::vector<std::string> names;
  for (const auto& [name, instance] : instances_) {
    if (instance.kind == kind) {
      names.push_back(name);
    }
  }
  return stop_named(names);
}

bool RunningHub::stop_named(const std::vector<std::string>& names) {
  bool clean = true;
  std::promise<bool> children_stopped;  // whether every child process stopped cleanly
  on_loop([&] {
    supervisor_->stop(
        names, [&children_stopped](bool all_clean) { children_stopped.set_value(all_clean); });
    return 0;
  });
  std::vector<std::pair<std::string, bool>> stopped;  // thread instances, and whether in time
  for (const auto& name : names) {
    auto it = instances_.find(name);
    if (it != instances_.end() && it->second.thread && it->second.started) {
      auto status = it->second.thread->stop();
      if (!status.ok()) {
        logger_->error("{}", status.message());
        clean = false;
      }
      stopped.emplace_back(name, status.ok());
    }
  }
  if (!children_stopped.get_future().get()) {
    clean = false;  // a plugin host did not stop in time (the supervisor logged which and how)
  }
  on_loop([&] {
    for (const auto& [name, in_time] : stopped) {
      auto track = tracks_.find(name);
      if (track != tracks_.end()) {
        track->second.thread_state = in_time ? "stopped" : "did not stop in time";
      }
    }
    return 0;
  });
  return clean;
}

bool RunningHub::drain() {
  const auto deadline = std::chrono::steady_clock::now() + config_.hub.drain_timeout;
  while (on_loop([&] { return broker_->outstanding(); }) > 0) {
    if (std::chrono::steady_clock::now() >= deadline) {
      logger_->error("drain timeout ({} ms) reached with events still outstanding",
                     config_.hub.drain_timeout.count());
      return false;
    }
    std::this_thread::sleep_for(milliseconds(10));  // shutdown only; polls the loop's count
  }
  return true;
}

}  // namespace simpang::hub
