// Helpers for tests that run real processes and look at real files: a temporary directory, a child
// process with its output captured, and waiting on a condition with a deadline (never a bare sleep).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace simpang::testing {

// A fresh directory under the system temp dir, removed on destruction. Kept short, because ipc://
// socket paths inside it are limited to 107 characters.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Polls `condition` every few milliseconds until it holds or `timeout` passes. Returns whether it
// held.
bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A child process. stdout and stderr go to `log_file`.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::filesystem::path& log_file);
  ~Process();  // kills (SIGKILL) and reaps the child if it is still running
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int signo) const;
  // Waits up to `timeout` for the child to exit. Returns its exit status (or 128 + signal number
  // if a signal ended it), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  bool running();

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
};

struct CommandResult {
  int status = -1;     // exit status, or -1 if it did not finish within the timeout
  std::string output;  // stdout and stderr together
};
// Runs a command to completion (killing it after `timeout`) and returns its status and output.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

std::string read_file(const std::filesystem::path& path);
// The file's complete (newline-terminated) lines; a trailing partial line is left out.
std::vector<std::string> read_lines(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& content);
size_t count_lines(const std::filesystem::path& path);

// Paths in the build tree.
std::filesystem::path simpang_binary();
std::filesystem::path plugin_dir();

}  // namespace simpang::testing
