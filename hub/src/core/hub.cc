#include "core/hub.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <map>
#include <thread>

#include "common/asio.h"
#include "common/protobuf_log.h"
#include "core/running_hub.h"
#include "router/route_table.h"

namespace simpang::hub {
namespace {

// Longest path an ipc:// endpoint may have (sockaddr_un.sun_path less its terminator).
constexpr size_t kMaxIpcPath = 107;

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

std::future<ReloadAnswer> Hub::request_reload_answered() {
  std::future<ReloadAnswer> answer;
  {
    std::lock_guard lock(mutex_);
    answer = reload_waiters_.emplace_back().get_future();
    ++reloads_requested_;
  }
  wake_.notify_all();
  return answer;
}

int Hub::run(const RunOptions& options) {
  auto logger = spdlog::default_logger()->clone("hub");
  // protobuf's own diagnostics (a peer's invalid UTF-8, say) go through the log, rate-limited.
  route_protobuf_logs(logger);
  const auto& settings = config_.hub;

  std::error_code ec;
  std::filesystem::create_directories(settings.state_dir / "instances", ec);
  if (ec) {
    logger->error("cannot create state directory {}: {}", settings.state_dir.string(),
                  ec.message());
    return kExitStartFailed;
  }
  const std::string ipc_path = (settings.state_dir / "hub.sock").string();
  if (ipc_path.size() > kMaxIpcPath) {
    logger->error(
        "state_dir {} is too deep: the hub's ipc socket path would be {} characters, "
        "the limit is {}",
        settings.state_dir.string(), ipc_path.size(), kMaxIpcPath);
    return kExitStartFailed;
  }
  auto table = RouteTable::compile(config_.routes);
  if (!table.ok()) {
    logger->error("{}", table.status().message());
    return kExitStartFailed;
  }

  RunningHub hub(config_, logger, {.ipc_endpoint = "ipc://" + ipc_path, .executable = {}});
  bool started = true;
  if (auto status = hub.open(std::move(*table)); !status.ok()) {
    logger->error("{}", status.message());
    hub.close();
    return kExitStartFailed;
  }
  std::unique_ptr<HubAttachment> attachment;
  if (options.attach) {
    auto made = options.attach(hub, config_);
    if (!made.ok()) {
      logger->error("{}", made.status().message());
      hub.stop_all(false);
      hub.close();
      return kExitStartFailed;
    }
    attachment = std::move(*made);
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
        logger->info("received {}; draining and stopping", signal == SIGINT ? "SIGINT" : "SIGTERM");
        request_stop();
      };
  signals.async_wait(on_signal);

  if (auto status = hub.start_all(); !status.ok()) {
    logger->error("{}", status.message());
    started = false;
  }

  if (started) {
    logger->info(
        "running {} plugin instances ({} in processes of their own), {} routes; state "
        "in {}",
        hub.instance_count(), hub.process_count(), config_.routes.size(),
        settings.state_dir.string());
    if (options.on_running) {
      options.on_running();
    }
    if (attachment) {
      attachment->on_running();
    }
    const auto deadline = options.duration ? std::chrono::steady_clock::now() + *options.duration
                                           : std::chrono::steady_clock::time_point::max();
    uint64_t reloads_done = 0;
    while (true) {
      std::unique_lock lock(mutex_);
      const bool woken = wake_.wait_until(
          lock, deadline, [&] { return stop_requested_ || reloads_requested_ > reloads_done; });
      if (!woken) {
        logger->info("ran for {} ms; draining and stopping", options.duration->count());
        break;
      }
      if (stop_requested_) {
        break;
      }
      reloads_done = reloads_requested_;
      // Every caller waiting now is answered by this reload: it reads the file as it is now.
      std::vector<std::promise<ReloadAnswer>> waiters;
      waiters.swap(reload_waiters_);
      lock.unlock();
      ReloadAnswer answer;
      if (!options.reload) {
        logger->warn("reload requested, but this hub was started without a way to reload");
        answer.report.error = "this hub was started without a way to reload";
      } else if (ConfigResult next = options.reload(); !next.ok()) {
        // An invalid file is refused whole, and the running configuration stays.
        for (const auto& diagnostic : next.diagnostics) {
          logger->error("{}", diagnostic.to_string());
        }
        logger->error("reload refused: {} problems; still running the previous configuration",
                      next.diagnostics.size());
        answer.diagnostics = std::move(next.diagnostics);
      } else {
        answer.report = hub.reload(std::move(*next.config));
      }
      for (auto& waiter : waiters) {
        waiter.set_value(answer);
      }
    }
  }

  {
    // A reload asked for now will not happen: its caller gets a broken promise, not a wait.
    std::lock_guard lock(mutex_);
    reload_waiters_.clear();
  }
  attachment.reset();  // it reads the hub, which stops from here on
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
