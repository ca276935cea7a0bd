#include "core/hub.h"

#include <zmq.h>

#include <future>
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

// Runs `fn` on the io_context's thread and returns its result.
template <typename Fn>
auto on_loop(boost::asio::io_context& io, Fn fn) -> decltype(fn()) {
  std::packaged_task<decltype(fn())()> task(std::move(fn));
  auto result = task.get_future();
  boost::asio::post(io, [&task] { task(); });
  return result.get();
}

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

}  // namespace

Hub::Hub(Config config) : config_(std::move(config)) {}

void Hub::request_stop() {
  std::lock_guard lock(stop_mutex_);
  if (!stop_requested_) {
    stop_requested_ = true;
    stop_.set_value();
  }
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
  const std::string ipc_endpoint = "ipc://" + ipc_path;

  auto routes = RouteTable::compile(config_.routes);
  if (!routes.ok()) {
    logger->error("{}", routes.status().message());
    return kExitStartFailed;
  }
  std::vector<InstanceInfo> infos;
  for (const auto& plugin : config_.plugins) {
    infos.push_back({plugin.name, plugin.plugin_kind != SIMPANG_KIND_SOURCE});
  }

  auto journal = open_journal(config_, **routes);
  if (!journal.ok()) {
    logger->error("{}", journal.status().message());
    return kExitStartFailed;
  }

  ZmqContext zmq_context;
  boost::asio::io_context io;
  BrokerOptions broker_options;
  broker_options.heartbeat = settings.heartbeat;
  broker_options.summary_interval = settings.summary_interval;
  broker_options.max_batch = settings.max_batch;
  broker_options.memory_limit = settings.queue_limit;
  auto broker = std::make_unique<Broker>(io, zmq_context.handle, **journal, std::move(*routes),
                                         config_.routes, std::move(infos), broker_options, logger);
  (*journal)->start([&io, &broker](ReplayNotice notice) {
    boost::asio::post(io, [&broker, notice = std::move(notice)] { broker->on_replay(notice); });
  });
  if (auto status = broker->start({kInprocEndpoint, ipc_endpoint}); !status.ok()) {
    logger->error("{}", status.message());
    (*journal)->stop();
    return kExitStartFailed;
  }

  auto stop_requested = stop_.get_future();
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int signal) {
    if (!error) {
      logger->info("received {}; draining and stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
      request_stop();
    }
  });
  // Process-isolated instances run as `simpang plugin-host` children of this executable.
  std::error_code exe_error;
  const auto executable = std::filesystem::read_symlink("/proc/self/exe", exe_error);
  ProcessSupervisor supervisor(io, logger, executable, ipc_endpoint, settings.heartbeat,
                               std::string(spdlog::level::to_string_view(logger->level()).data()));
  broker->set_peer_observer(
      [&supervisor](const std::string& instance) { supervisor.on_connected(instance); },
      [&supervisor](const std::string& instance, const std::string& why) {
        supervisor.on_lost(instance, why);
      });
  auto work = boost::asio::make_work_guard(io);
  std::thread loop([&io] { io.run(); });

  // Open each library once, then create every instance before starting any, so a bad instance
  // config stops the hub before any event flows.
  std::map<std::filesystem::path, std::shared_ptr<PluginLibrary>> libraries;
  std::vector<std::unique_ptr<PluginInstance>> instances;
  std::map<std::string, simpang_plugin_kind> process_kinds;  // process-isolated, by name
  bool started = true;
  for (const auto& plugin : config_.plugins) {
    if (plugin.isolation == Isolation::kProcess) {
      const auto state_dir = settings.state_dir / "instances" / plugin.name;
      std::filesystem::create_directories(state_dir, ec);
      process_kinds[plugin.name] = static_cast<simpang_plugin_kind>(plugin.plugin_kind);
      on_loop(io, [&] {
        supervisor.add(plugin, state_dir);
        return 0;
      });
      continue;
    }
    auto& library = libraries[plugin.library];
    if (!library) {
      auto opened = PluginLibrary::open(plugin.library);
      if (!opened.ok()) {
        logger->error("{}", opened.status().message());
        started = false;
        break;
      }
      library = *opened;
    }
    const auto state_dir = settings.state_dir / "instances" / plugin.name;
    std::filesystem::create_directories(state_dir, ec);
    auto instance = std::make_unique<PluginInstance>(
        plugin, library, zmq_context.handle,
        plugin.transport == PluginTransport::kIpc ? ipc_endpoint : kInprocEndpoint, state_dir,
        settings.heartbeat);
    if (auto status = instance->create(); !status.ok()) {
      logger->error("{}", status.message());
      started = false;
      break;
    }
    instances.push_back(std::move(instance));
  }
  // Consumers first, so the first events find their destinations ready.
  std::stable_partition(instances.begin(), instances.end(), [](const auto& instance) {
    return instance->kind() != SIMPANG_KIND_SOURCE;
  });
  for (auto& instance : instances) {
    if (!started) {
      break;
    }
    if (auto status = instance->start(); !status.ok()) {
      logger->error("{}", status.message());
      started = false;
    }
  }

  if (started) {
    on_loop(io, [&] {
      supervisor.start();
      return 0;
    });
    logger->info("running {} plugin instances ({} in processes of their own), {} routes; state "
                 "in {}",
                 instances.size() + process_kinds.size(), process_kinds.size(),
                 config_.routes.size(), settings.state_dir.string());
    if (options.duration) {
      if (stop_requested.wait_for(*options.duration) == std::future_status::timeout) {
        logger->info("ran for {} ms; draining and stopping", options.duration->count());
      }
    } else {
      stop_requested.wait();
    }
  }

  // Shutdown in dependency order: sources stop publishing first; once what they published has
  // been delivered, transforms stop; once theirs has, sinks stop.
  bool clean = started;
  auto drain = [&] {
    const auto deadline = std::chrono::steady_clock::now() + settings.drain_timeout;
    while (on_loop(io, [&] { return broker->outstanding(); }) > 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        logger->error("drain timeout ({} ms) reached with events still outstanding",
                      settings.drain_timeout.count());
        clean = false;
        return;
      }
      std::this_thread::sleep_for(milliseconds(10));  // shutdown only; polls the loop's count
    }
  };
  auto stop_kind = [&](simpang_plugin_kind kind) {
    std::vector<std::string> children;
    for (const auto& [name, child_kind] : process_kinds) {
      if (child_kind == kind) {
        children.push_back(name);
      }
    }
    std::promise<void> children_stopped;
    on_loop(io, [&] {
      supervisor.stop(children, [&children_stopped] { children_stopped.set_value(); });
      return 0;
    });
    for (auto& instance : instances) {
      if (instance->kind() == kind) {
        if (auto status = instance->stop(); !status.ok()) {
          logger->error("{}", status.message());
          clean = false;
        }
      }
    }
    children_stopped.get_future().wait();
  };
  stop_kind(SIMPANG_KIND_SOURCE);
  drain();
  stop_kind(SIMPANG_KIND_TRANSFORM);
  drain();
  stop_kind(SIMPANG_KIND_SINK);

  on_loop(io, [&] {
    broker->log_summary();
    for (const auto& [name, why] : supervisor.failed()) {
      logger->error("instance={} is marked failed: {}", name, why);
    }
    broker->stop();
    signals.cancel();
    return 0;
  });
  // Commits the last settlements; its completions still find the loop running.
  (*journal)->stop();
  work.reset();
  io.stop();
  loop.join();
  broker.reset();
  bool all_stopped = true;
  for (const auto& instance : instances) {
    all_stopped = all_stopped && instance->stopped_cleanly();
  }
  instances.clear();
  if (!all_stopped) {
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
