// A child process simpang-bench starts and always reaps: how the stuck and isolation scenarios run
// the hub as `simpang run CONFIG`, so that the hub's `isolation: process` children are real
// `simpang plugin-host` processes (the hub spawns /proc/self/exe, which inside simpang-bench would
// be the bench itself). stdout and stderr go to a log file.
//
//   ChildProcess hub({simpang, "run", config.string()}, dir / "hub.log");
//   ... wait for what it produces ...
//   std::optional<int> status = hub.stop(std::chrono::seconds(30));  // SIGTERM, then SIGKILL
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace simpang::bench {

class ChildProcess {
 public:
  // Starts argv[0] (a path, not searched for) with `argv`, its output appended to `log`. Throws
  // std::runtime_error when it cannot be started. REQUIRES: argv is not empty.
  ChildProcess(const std::vector<std::string>& argv, const std::filesystem::path& log);
  // Kills (SIGKILL) and reaps the child if it still runs.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // True once the child has exited (reaped here); its wait status is then wait_status().
  bool exited();
  // The raw wait status. REQUIRES: exited().
  int wait_status() const { return wait_status_; }

  // Asks the child to stop (SIGTERM) and waits up to `grace` for it; then SIGKILLs it. Returns its
  // exit code when it exited by itself, nullopt when it had to be killed or died of a signal.
  std::optional<int> stop(std::chrono::milliseconds grace);

 private:
  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
};

// "exited with status N" or "killed by signal N (NAME)", for a wait status.
std::string describe_wait_status(int status);

}  // namespace simpang::bench
