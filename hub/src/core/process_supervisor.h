// Supervision of process-isolated plugin instances: each runs as a `simpang plugin-host` child.
// The supervisor spawns them, notices when one exits (SIGCHLD), hangs (the broker reports missed
// heartbeats) or never says hello (start timeout), and restarts it with exponential backoff. After
// `restart.max_failures` failures within `restart.window` it gives up on the instance: it is marked
// failed, the reason is logged, and its deliveries wait in the journal until it is fixed.
//
// A child is spawned with PR_SET_PDEATHSIG, so it dies with the hub (kill -9 included) and the
// restarted hub starts a fresh one instead of finding an orphan on its socket.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/logger.h>

#include "common/asio.h"
#include "config/config.h"

namespace simpang::hub {

class ProcessSupervisor {
 public:
  enum class State { kStarting, kRunning, kBackoff, kFailed, kStopping, kStopped };

  // `executable` is the simpang binary (it has the plugin-host subcommand). Thread rule: every
  // method runs on the io_context's thread.
  ProcessSupervisor(boost::asio::io_context& io, std::shared_ptr<spdlog::logger> logger,
                    std::filesystem::path executable, std::string endpoint,
                    std::chrono::milliseconds heartbeat, std::string log_level);
  ~ProcessSupervisor();  // kills what is still running

  // Registers an instance to supervise; its config JSON is written into `state_dir`.
  void add(const PluginInstanceConfig& config, const std::filesystem::path& state_dir);
  // Spawns every registered instance that is not running yet.
  void start();
  // Forgets an instance. REQUIRES: it was stopped (stop() completed for it).
  void remove(const std::string& instance);
  // Tells `issued(instance, token)` the token of each run it spawns, before the child can say
  // hello with it (the broker then welcomes that run only). The child finds it in its environment
  // (kInstanceTokenVariable), never in its argv, which other local users can read.
  void set_token_observer(std::function<void(const std::string&, const std::string&)> issued) {
    token_issued_ = std::move(issued);
  }
  // The broker's word on a peer: it said hello / it went silent (or disconnected).
  void on_connected(const std::string& instance);
  void on_lost(const std::string& instance, const std::string& why);
  // Asks the given instances to stop (SIGTERM; SIGKILL after their stop_timeout) and calls
  // `done` once all of them have exited, with whether every one of them stopped cleanly (its host
  // exited 0: the plugin stopped within its stop_timeout and said goodbye).
  void stop(const std::vector<std::string>& instances, std::function<void(bool clean)> done);

  bool supervises(const std::string& instance) const { return children_.count(instance) != 0; }
  State state(const std::string& instance) const;
  // Instances that were given up on, with why.
  std::vector<std::pair<std::string, std::string>> failed() const;
  // Why the instance's last run ended badly ("exited with status 3", "killed by signal 11"),
  // empty if none has; for the admin API's last_error.
  std::string last_failure(const std::string& instance) const;

 private:
  struct Child {
    PluginInstanceConfig config;
    std::filesystem::path state_dir;
    State state = State::kStopped;
    pid_t pid = -1;
    std::string kill_reason;  // why we killed it, if we did
    std::string failure;      // the last failure, for the log and failed()
    std::deque<std::chrono::steady_clock::time_point> failures;  // within the window
    std::unique_ptr<boost::asio::steady_timer> timer;  // start timeout, backoff, stop grace
  };

  void spawn(Child& child);
  void on_sigchld();
  void on_exit(Child& child, int status);
  void kill_child(Child& child, const std::string& why);
  void check_stopped();

  boost::asio::io_context& io_;
  std::shared_ptr<spdlog::logger> logger_;
  std::filesystem::path executable_;
  std::string endpoint_;
  std::chrono::milliseconds heartbeat_;
  std::string log_level_;
  boost::asio::signal_set sigchld_;
  bool watching_ = false;
  std::map<std::string, Child> children_;
  std::vector<std::string> stopping_;  // instances a stop() waits for
  bool stopping_clean_ = true;         // every one of them that exited so far exited cleanly
  std::function<void(bool)> stopped_;  // its completion
  std::function<void(const std::string&, const std::string&)> token_issued_;
};

}  // namespace simpang::hub
