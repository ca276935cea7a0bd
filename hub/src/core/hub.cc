#include "core/hub.h"

#include <zmq.h>

#include <condition_variable>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/asio.h"
#include "core/broker.h"
#include "core/plugin_instance.h"
#include "core/process_supervisor.h"
#include "journal/journal.h"
#include "journal/memory_journal.h"
#include "router/route_table.h"

namespace simpang::hub {
namespace {

using std::chrono::milliseconds;

// The in-process endpoint; inproc names are scoped to the ZeroMQ context, so one fixed name is safe.
constexpr const char* kInprocEndpoint = "inproc://simpang-hub";
// Longest path an ipc:// endpoint may have (sockaddr_un.sun_path less its terminator).
constexpr size_t kMaxIpcPath = 107;

// Owns the ZeroMQ context; terminated last, after every socket in it is closed.
struct ZmqContext {
  void* handle = zmq_ctx_new();
  ~ZmqContext() { zmq_ctx_term(handle); }
};

StatusOr<std::unique_ptr<Journal>> open_journal(const Config& config, const RouteTable& table) {
  const JournalSettings& settings = config.journal;
  JournalOptions options;
  options.file = settings.file;
  options.sync = settings.sync_full ? JournalSync::kFull : JournalSync::kNormal;
  options.retention = settings.retention;
  options.dedup_window = settings.dedup_window;
  options.max_events = settings.max_events;
  options.verify_on_open = settings.verify_on_open;
  std::vector<std::string> routes;
  for (uint32_t r = 0; r < table.route_count(); ++r) {
    routes.push_back(table.route_name(r));
  }
  if (settings.kind == JournalKind::kMemory) {
    return make_memory_journal(options, table.destinations());
  }
  return Journal::open(options, table.destinations(), std::move(routes));
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

// One run of the hub: the loop thread with the broker and the supervisor, the journal, and the
// plugin instances. Its methods run on the main thread and reach the loop through on_loop().
class RunningHub {
 public:
  RunningHub(Config config, std::shared_ptr<spdlog::logger> logger, std::string ipc_endpoint)
      : config_(std::move(config)),
        logger_(std::move(logger)),
        ipc_endpoint_(std::move(ipc_endpoint)) {}

  // Opens the journal, binds the broker and starts the loop thread.
  Status open(std::unique_ptr<RouteTable> table) {
    auto journal = open_journal(config_, *table);
    if (!journal.ok()) {
      return journal.status();
    }
    journal_ = std::move(*journal);
    BrokerOptions options;
    options.heartbeat = config_.hub.heartbeat;
    options.summary_interval = config_.hub.summary_interval;
    options.max_batch = config_.hub.max_batch;
    options.memory_limit = config_.hub.queue_limit;
    broker_ = std::make_unique<Broker>(io_, zmq_.handle, *journal_, std::move(table),
                                       config_.routes, instance_infos(config_), options, logger_);
    journal_->start([this](ReplayNotice notice) {
      boost::asio::post(io_, [this, notice = std::move(notice)] { broker_->on_replay(notice); });
    });
    journal_started_ = true;
    if (auto status = broker_->start({kInprocEndpoint, ipc_endpoint_}); !status.ok()) {
      return status;
    }
    // Process-isolated instances run as `simpang plugin-host` children of this executable.
    std::error_code ec;
    supervisor_ = std::make_unique<ProcessSupervisor>(
        io_, logger_, std::filesystem::read_symlink("/proc/self/exe", ec), ipc_endpoint_,
        config_.hub.heartbeat, std::string(spdlog::level::to_string_view(logger_->level()).data()));
    broker_->set_peer_observer(
        [this](const std::string& instance) { supervisor_->on_connected(instance); },
        [this](const std::string& instance, const std::string& why) {
          supervisor_->on_lost(instance, why);
        });
    loop_ = std::thread([this] { io_.run(); });
    return Status::Ok();
  }

  // Creates every configured instance, then starts them, consumers first.
  Status start_all() {
    for (const auto& plugin : config_.plugins) {
      SIMPANG_RETURN_IF_ERROR(create(plugin));
    }
    return start_created();
  }

  // Stops everything in dependency order and closes the journal. Returns whether it was clean.
  bool stop_all(bool clean) {
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

  // Applies a new, already validated configuration: only instances whose configuration changed
  // restart, routes are swapped atomically on the loop, and what is in flight stays in flight.
  void reload(Config next) {
    if (next.hub.state_dir != config_.hub.state_dir || next.journal.file != config_.journal.file ||
        next.journal.kind != config_.journal.kind) {
      logger_->warn("reload: hub.state_dir and the journal cannot change while running; "
                    "keeping the current ones (restart the hub to change them)");
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
      return;
    }
    // Then the instances that went away or changed stop (their unsettled deliveries go back to
    // their queues), and the new or changed ones start.
    stop_named(removed);
    for (const auto& name : removed) {
      instances_.erase(name);
      on_loop([&] {
        supervisor_->remove(name);
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
    logger_->info("reloaded {}: {} instances stopped, {} started, {} routes{}",
                  config_.file.string(), removed.size(), added.size(), config_.routes.size(),
                  hub_section_note);
  }

  // Ends the loop thread and frees everything. Returns false when a plugin thread is still
  // running library code (the caller must then leave the process at once).
  bool close() {
    if (journal_started_) {
      journal_->stop();  // commits the last settlements; its completions still find the loop
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

  boost::asio::io_context& io() { return io_; }
  size_t instance_count() const { return instances_.size(); }
  size_t process_count() const {
    return std::count_if(instances_.begin(), instances_.end(),
                         [](const auto& entry) { return !entry.second.thread; });
  }

 private:
  struct Instance {
    simpang_plugin_kind kind = SIMPANG_KIND_SOURCE;
    std::unique_ptr<PluginInstance> thread;  // null for a process-isolated instance
    bool started = false;
  };

  // Runs `fn` on the loop thread and returns its result.
  template <typename Fn>
  auto on_loop(Fn fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return result.get();
  }

  Status create(const PluginInstanceConfig& plugin) {
    const auto state_dir = config_.hub.state_dir / "instances" / plugin.name;
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    Instance instance;
    instance.kind = static_cast<simpang_plugin_kind>(plugin.plugin_kind);
    if (plugin.isolation == Isolation::kProcess) {
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
      instance.thread = std::make_unique<PluginInstance>(
          plugin, library, zmq_.handle,
          plugin.transport == PluginTransport::kIpc ? ipc_endpoint_ : kInprocEndpoint, state_dir,
          config_.hub.heartbeat);
      SIMPANG_RETURN_IF_ERROR(instance.thread->create());
    }
    instances_[plugin.name] = std::move(instance);
    return Status::Ok();
  }

  Status start_created() {
    // Consumers first, so the first events find their destinations ready.
    for (bool sources : {false, true}) {
      for (auto& [name, instance] : instances_) {
        if (instance.started || (instance.kind == SIMPANG_KIND_SOURCE) != sources) {
          continue;
        }
        instance.started = true;
        if (instance.thread) {
          SIMPANG_RETURN_IF_ERROR(instance.thread->start());
        }
      }
    }
    on_loop([&] {
      supervisor_->start();
      return 0;
    });
    return Status::Ok();
  }

  bool stop_kind(simpang_plugin_kind kind) {
    std::vector<std::string> names;
    for (const auto& [name, instance] : instances_) {
      if (instance.kind == kind) {
        names.push_back(name);
      }
    }
    return stop_named(names);
  }

  // Stops the named instances: process ones through the supervisor, thread ones directly.
  bool stop_named(const std::vector<std::string>& names) {
    bool clean = true;
    std::promise<void> children_stopped;
    on_loop([&] {
      supervisor_->stop(names, [&children_stopped] { children_stopped.set_value(); });
      return 0;
    });
    for (const auto& name : names) {
      auto it = instances_.find(name);
      if (it != instances_.end() && it->second.thread && it->second.started) {
        if (auto status = it->second.thread->stop(); !status.ok()) {
          logger_->error("{}", status.message());
          clean = false;
        }
      }
    }
    children_stopped.get_future().wait();
    return clean;
  }

  // Waits until what was accepted has been delivered to connected consumers, or drain_timeout.
  bool drain() {
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

  Config config_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string ipc_endpoint_;
  // Destroyed in reverse: the context outlives every socket, the io_context every timer.
  ZmqContext zmq_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      boost::asio::make_work_guard(io_)};
  std::unique_ptr<Journal> journal_;
  bool journal_started_ = false;
  std::unique_ptr<Broker> broker_;
  std::unique_ptr<ProcessSupervisor> supervisor_;
  std::thread loop_;
  std::map<std::filesystem::path, std::shared_ptr<PluginLibrary>> libraries_;
  std::map<std::string, Instance> instances_;
};

}  // namespace

Hub::Hub(Config config) : config_(std::move(config)) {}

void Hub::request_stop() {
  {
    std::lock_guard lock(mutex_);
    stop_requested_ = true;
  }
  wake_.notify_all();
}

void Hub::request_reload() {
  {
    std::lock_guard lock(mutex_);
    ++reloads_requested_;
  }
  wake_.notify_all();
}

int Hub::run(const RunOptions& options) {
  auto logger = spdlog::default_logger()->clone("hub");
  const auto& settings = config_.hub;

  std::error_code ec;
  std::filesystem::create_directories(settings.state_dir / "instances", ec);
  if (ec) {
    logger->error("cannot create state directory {}: {}", settings.state_dir.string(), ec.message());
    return kExitStartFailed;
  }
  const std::string ipc_path = (settings.state_dir / "hub.sock").string();
  if (ipc_path.size() > kMaxIpcPath) {
    logger->error("state_dir {} is too deep: the hub's ipc socket path would be {} characters, "
                  "the limit is {}", settings.state_dir.string(), ipc_path.size(), kMaxIpcPath);
    return kExitStartFailed;
  }
  auto table = RouteTable::compile(config_.routes);
  if (!table.ok()) {
    logger->error("{}", table.status().message());
    return kExitStartFailed;
  }

  RunningHub hub(config_, logger, "ipc://" + ipc_path);
  bool started = true;
  if (auto status = hub.open(std::move(*table)); !status.ok()) {
    logger->error("{}", status.message());
    hub.close();
    return kExitStartFailed;
  }
  boost::asio::signal_set signals(hub.io(), SIGINT, SIGTERM, SIGHUP);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& error, int signal) {
        if (error) {
          return;
        }
        if (signal == SIGHUP) {
          logger->info("received SIGHUP; reloading {}", config_.file.string());
          request_reload();
          signals.async_wait(on_signal);
          return;
        }
        logger->info("received {}; draining and stopping",
                     signal == SIGINT ? "SIGINT" : "SIGTERM");
        request_stop();
      };
  signals.async_wait(on_signal);

  if (auto status = hub.start_all(); !status.ok()) {
    logger->error("{}", status.message());
    started = false;
  }

  if (started) {
    logger->info("running {} plugin instances ({} in processes of their own), {} routes; state "
                 "in {}",
                 hub.instance_count(), hub.process_count(), config_.routes.size(),
                 settings.state_dir.string());
    if (options.on_running) {
      options.on_running();
    }
    const auto deadline = options.duration
                              ? std::chrono::steady_clock::now() + *options.duration
                              : std::chrono::steady_clock::time_point::max();
    uint64_t reloads_done = 0;
    while (true) {
      std::unique_lock lock(mutex_);
      const bool woken = wake_.wait_until(lock, deadline, [&] {
        return stop_requested_ || reloads_requested_ > reloads_done;
      });
      if (!woken) {
        logger->info("ran for {} ms; draining and stopping", options.duration->count());
        break;
      }
      if (stop_requested_) {
        break;
      }
      reloads_done = reloads_requested_;
      lock.unlock();
      if (!options.reload) {
        logger->warn("reload requested, but this hub was started without a way to reload");
        continue;
      }
      // An invalid file is refused whole, and the running configuration stays.
      ConfigResult next = options.reload();
      if (!next.ok()) {
        for (const auto& diagnostic : next.diagnostics) {
          logger->error("{}", diagnostic.to_string());
        }
        logger->error("reload refused: {} problems; still running the previous configuration",
                      next.diagnostics.size());
        continue;
      }
      hub.reload(std::move(*next.config));
    }
  }

  const bool clean = hub.stop_all(started);
  signals.cancel();
  if (!hub.close()) {
    // A plugin thread is still running library code; leaving through exit() would run static
    // destructors under it. Flush the logs and leave at once.
    spdlog::default_logger()->flush();
    std::_Exit(kExitUnclean);
  }
  if (!started) {
    return kExitStartFailed;
  }
  logger->info(clean ? "stopped cleanly" : "stopped, with the problems logged above");
  return clean ? kExitOk : kExitUnclean;
}

}  // namespace simpang::hub
