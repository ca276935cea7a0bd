#include "core/process_supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/random_token.h"
#include "core/plugin_host.h"
#include "simpang/base/status.h"

namespace simpang::hub {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

// Writes the instance's configuration for its plugin-host. It holds the resolved secrets of its
// ${env:...} and ${file:...} references, so only the hub's own user may read it: created 0600,
// and narrowed to 0600 if an earlier hub left it wider. A symbolic link in its place is refused
// rather than followed.
Status write_private_file(const std::filesystem::path& path, const std::string& content) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    return Status::Error("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  Status status;
  if (::fchmod(fd, 0600) != 0) {
    status = Status::Error("cannot make " + path.string() + " private: " + std::strerror(errno));
  }
  for (size_t written = 0; status.ok() && written < content.size();) {
    const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      status = Status::Error("cannot write " + path.string() + ": " + std::strerror(errno));
    } else {
      written += static_cast<size_t>(n);
    }
  }
  if (::close(fd) != 0 && status.ok()) {
    status = Status::Error("cannot write " + path.string() + ": " + std::strerror(errno));
  }
  return status;
}

}  // namespace

ProcessSupervisor::ProcessSupervisor(boost::asio::io_context& io,
                                     std::shared_ptr<spdlog::logger> logger,
                                     std::filesystem::path executable, std::string endpoint,
                                     std::chrono::milliseconds heartbeat, std::string log_level)
    : io_(io),
      logger_(std::move(logger)),
      executable_(std::move(executable)),
      endpoint_(std::move(endpoint)),
      heartbeat_(heartbeat),
      log_level_(std::move(log_level)),
      sigchld_(io, SIGCHLD) {}

ProcessSupervisor::~ProcessSupervisor() {
  for (auto& [name, child] : children_) {
    if (child.pid > 0) {
      ::kill(child.pid, SIGKILL);
      int status = 0;
      ::waitpid(child.pid, &status, 0);
    }
  }
}

void ProcessSupervisor::add(const PluginInstanceConfig& config,
                            const std::filesystem::path& state_dir) {
  Child child;
  child.config = config;
  child.state_dir = state_dir;
  child.timer = std::make_unique<boost::asio::steady_timer>(io_);
  // The plugin-host reads it at start; without it the child exits and counts as a failed start.
  if (Status written = write_private_file(state_dir / "config.json", config.config_json);
      !written.ok()) {
    logger_->error("instance={}: {}", config.name, written.message());
  }
  children_.emplace(config.name, std::move(child));
}

void ProcessSupervisor::start() {
  if (!watching_) {
    watching_ = true;
    sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
      if (!ec) {
        on_sigchld();
      }
    });
  }
  for (auto& [name, child] : children_) {
    if (child.state == State::kStopped && child.pid <= 0) {
      spawn(child);
    }
  }
}

void ProcessSupervisor::remove(const std::string& instance) { children_.erase(instance); }

void ProcessSupervisor::spawn(Child& child) {
  const auto& c = child.config;
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args = {
      executable_.string(),
      "plugin-host",
      "--library", c.library.string(),
      "--instance", c.name,
      "--endpoint", endpoint_,
      "--state-dir", child.state_dir.string(),
      "--config-file", (child.state_dir / "config.json").string(),
      "--heartbeat-ms", std::to_string(heartbeat_.count()),
      "--stop-timeout-ms", std::to_string(c.stop_timeout.count()),
      "--log-level", log_level_};
  std::vector<char*> argv;
  for (auto& arg : args) {
    argv.push_back(arg.data());
  }
  argv.push_back(nullptr);
  // A new token for every run: the broker welcomes this child, and no earlier run of it any more.
  std::string token_entry;
  try {
    const std::string token = random_token();
    token_entry = std::string(kInstanceTokenVariable) + "=" + token;
    if (token_issued_) {
      token_issued_(c.name, token);
    }
  } catch (const std::exception& e) {
    child.failure = e.what();
    logger_->error("instance={}: {}", c.name, child.failure);
    child.state = State::kFailed;
    return;
  }
  std::vector<char*> envp;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, kInstanceTokenVariable, std::strlen(kInstanceTokenVariable)) != 0) {
      envp.push_back(*entry);
    }
  }
  envp.push_back(token_entry.data());
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    // The child dies with the hub, whatever kills the hub. The signal follows the thread that
    // forked, not the process: spawn() runs on the loop thread, which lives as long as the hub
    // (a thread that ended earlier would take its children with it).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) {
      ::_exit(127);  // the hub died between fork and prctl
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  if (pid < 0) {
    child.failure = std::string("cannot start a plugin-host process: ") + std::strerror(errno);
    logger_->error("instance={}: {}", c.name, child.failure);
    child.state = State::kFailed;
    return;
  }
  child.pid = pid;
  child.state = State::kStarting;
  child.kill_reason.clear();
  logger_->info("instance={} started in process {} (isolation: process)", c.name, pid);
  child.timer->expires_after(c.start_timeout);
  child.timer->async_wait([this, &child](const boost::system::error_code& ec) {
    if (!ec && child.state == State::kStarting) {
      kill_child(child, "it did not say hello within " +
                            std::to_string(child.config.start_timeout.count()) + " ms");
    }
  });
}

void ProcessSupervisor::on_connected(const std::string& instance) {
  auto it = children_.find(instance);
  if (it != children_.end() && it->second.state == State::kStarting) {
    it->second.state = State::kRunning;
    it->second.timer->cancel();
  }
}

void ProcessSupervisor::on_lost(const std::string& instance, const std::string& why) {
  auto it = children_.find(instance);
  if (it != children_.end() && it->second.state == State::kRunning) {
    kill_child(it->second, why);
  }
}

void ProcessSupervisor::kill_child(Child& child, const std::string& why) {
  if (child.pid <= 0) {
    return;
  }
  logger_->warn("instance={} process {}: {}; killing it", child.config.name, child.pid, why);
  child.kill_reason = why;
  ::kill(child.pid, SIGKILL);
}

void ProcessSupervisor::on_sigchld() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
    for (auto& [name, child] : children_) {
      if (child.pid == pid) {
        on_exit(child, status);
        break;
      }
    }
  }
  sigchld_.async_wait([this](const boost::system::error_code& ec, int) {
    if (!ec) {
      on_sigchld();
    }
  });
}

void ProcessSupervisor::on_exit(Child& child, int status) {
  const std::string name = child.config.name;
  child.pid = -1;
  child.timer->cancel();
  if (child.state == State::kStopping) {
    child.state = State::kStopped;
    const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == kHostOk;
    if (clean) {
      logger_->info("instance={} stopped", name);
    } else {
      stopping_clean_ = false;
      logger_->warn("instance={} stopped: {}", name, describe_exit(status));
    }
    check_stopped();
    return;
  }
  // Our reason only when our SIGKILL is what ended it: a child that crashed on its own just before
  // we decided to kill it (its socket went away first) died of its own cause.
  const bool killed_by_us =
      !child.kill_reason.empty() && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
  std::string why = killed_by_us ? child.kill_reason : describe_exit(status);
  child.failure = why;
  if (WIFEXITED(status) && WEXITSTATUS(status) == kHostConfigRefused) {
    child.state = State::kFailed;
    logger_->error("instance={} failed: the plugin refused its configuration (see its log "
                   "above); not restarting. Its deliveries wait in the journal.", name);
    return;
  }
  const auto now = Clock::now();
  child.failures.push_back(now);
  while (!child.failures.empty() && now - child.failures.front() > child.config.restart.window) {
    child.failures.pop_front();
  }
  const auto& policy = child.config.restart;
  if (child.failures.size() >= policy.max_failures) {
    child.state = State::kFailed;
    logger_->error("instance={} failed {} times within {} ms (last: {}); marked failed, not "
                   "restarting. Its deliveries wait in the journal.",
                   name, child.failures.size(), policy.window.count(), why);
    return;
  }
  const int exponent = static_cast<int>(std::min<size_t>(child.failures.size() - 1, 20));
  const auto backoff =
      std::min<milliseconds>(policy.max_backoff, policy.initial_backoff * (int64_t{1} << exponent));
  logger_->error("instance={} crashed: {}; restarting in {} ms (failure {} of {} allowed within "
                 "{} ms)",
                 name, why, backoff.count(), child.failures.size(), policy.max_failures,
                 policy.window.count());
  child.state = State::kBackoff;
  child.timer->expires_after(backoff);
  child.timer->async_wait([this, &child](const boost::system::error_code& ec) {
    if (!ec && child.state == State::kBackoff) {
      spawn(child);
    }
  });
}

void ProcessSupervisor::stop(const std::vector<std::string>& instances,
                             std::function<void(bool clean)> done) {
  stopping_.clear();
  stopping_clean_ = true;
  stopped_ = std::move(done);
  for (const auto& name : instances) {
    auto it = children_.find(name);
    if (it == children_.end()) {
      continue;
    }
    Child& child = it->second;
    child.timer->cancel();
    if (child.pid <= 0) {
      child.state = State::kStopped;  // in backoff or failed: nothing runs
      continue;
    }
    child.state = State::kStopping;
    stopping_.push_back(name);
    ::kill(child.pid, SIGTERM);
    // The plugin gets its stop_timeout, the host a little more to exit; then it is killed.
    child.timer->expires_after(child.config.stop_timeout + milliseconds(1000));
    child.timer->async_wait([this, &child](const boost::system::error_code& ec) {
      if (!ec && child.state == State::kStopping && child.pid > 0) {
        logger_->error("instance={} did not stop within its stop_timeout; killing it",
                       child.config.name);
        ::kill(child.pid, SIGKILL);
      }
    });
  }
  check_stopped();
}

void ProcessSupervisor::check_stopped() {
  for (const auto& name : stopping_) {
    if (children_.at(name).state == State::kStopping) {
      return;
    }
  }
  if (stopped_) {
    auto done = std::move(stopped_);
    stopped_ = nullptr;
    done(stopping_clean_);
  }
}

ProcessSupervisor::State ProcessSupervisor::state(const std::string& instance) const {
  auto it = children_.find(instance);
  return it == children_.end() ? State::kStopped : it->second.state;
}

std::vector<std::pair<std::string, std::string>> ProcessSupervisor::failed() const {
  std::vector<std::pair<std::string, std::string>> result;
  for (const auto& [name, child] : children_) {
    if (child.state == State::kFailed) {
      result.emplace_back(name, child.failure);
    }
  }
  return result;
}

std::string ProcessSupervisor::last_failure(const std::string& instance) const {
  auto it = children_.find(instance);
  return it != children_.end() ? it->second.failure : std::string();
}

}  // namespace simpang::hub
