// Helpers for the tests and benchmarks that run real processes and look at real files: a temporary
// directory, a child process with its output captured, waiting on a condition with a deadline
// (never a bare sleep), and a look at the process table. Tests and benchmarks under tests/ use
// this kit rather than their own. The SDK's public test kit (simpang/sdk/testing.h) keeps its own
// TempDir and hub spawner, because it is installed for plugin authors and cannot depend on this.
//
//   TempDir dir;
//   Process hub({simpang_binary().string(), "run", (dir / "hub.yaml").string()}, dir / "hub.log");
//   ASSERT_TRUE(wait_for([&] { return count_lines(dir / "out.jsonl") >= 100; }, seconds(60)));
//   hub.signal(SIGTERM);
//   EXPECT_EQ(hub.wait(seconds(30)), 0);
//
// Thread rule: an object is used from one thread; the free functions from any thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace simpang::testing {

// A fresh directory under the system temp dir, removed with its contents on destruction. Its name
// is `prefix` and six random characters; keep the prefix short, because ipc:// socket paths inside
// it are limited to 107 characters. Throws std::runtime_error when it cannot be created.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix = "simpang");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// Polls `condition` every few milliseconds until it holds or `timeout` passes. Returns whether it
// held. To show that something does NOT happen within a time, wait for it and expect false.
bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout);

// A child process: argv[0] (a path, not searched for) started with `argv`, its stdout and stderr
// appended to `log_file`, its stdin /dev/null. The destructor kills (SIGKILL) and reaps it if it
// still runs, so a failing test leaves no process behind.
class Process {
 public:
  // Throws std::runtime_error (naming the program and why) when it cannot be started.
  // REQUIRES: argv is not empty.
  Process(const std::vector<std::string>& argv, const std::filesystem::path& log_file);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  // Sends `signo` to the child, unless it has already been reaped.
  void signal(int signo) const;
  // Whether the child still runs; reaps it (and keeps its status) once it has exited.
  bool running();
  // Whether the child has exited and been reaped: !running().
  bool exited() { return !running(); }
  // Waits up to `timeout` for the child to exit. Returns its exit status (or 128 + the signal
  // number if a signal ended it), or nullopt on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // The raw waitpid status, for WIFSIGNALED and friends. REQUIRES: exited().
  int wait_status() const { return wait_status_; }
  // Asks the child to stop (SIGTERM), waits up to `grace`, then kills it (SIGKILL). Returns its
  // exit code when it exited by itself, nullopt when it had to be killed or a signal ended it.
  std::optional<int> stop(std::chrono::milliseconds grace);

 private:
  void reap(int status);

  pid_t pid_ = -1;
  bool reaped_ = false;
  int wait_status_ = 0;
};

// "exited with status N" or "killed by signal N (NAME)", for a waitpid status.
std::string describe_wait_status(int status);

struct CommandResult {
  int status = -1;     // exit status (128 + signal if one ended it), or -1 if it did not finish
  std::string output;  // stdout and stderr together
};
// Runs a command to completion (killing it after `timeout`) and returns its status and output.
CommandResult run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

std::string read_file(const std::filesystem::path& path);
// The file's complete (newline-terminated) lines; a trailing partial line is left out.
std::vector<std::string> read_lines(const std::filesystem::path& path);
void write_file(const std::filesystem::path& path, const std::string& content);
// Appends `content` to the file (creating it).
void append_file(const std::filesystem::path& path, const std::string& content);
size_t count_lines(const std::filesystem::path& path);

// The "id" of each CloudEvents JSON line of `file` (as sink-jsonl and test-sink write them), with
// how often each arrived. Complete lines only.
std::map<std::string, int> event_ids(const std::filesystem::path& file);

// The pids of the running processes whose command line (arguments joined by spaces) contains
// `needle`.
std::vector<pid_t> pids_with(const std::string& needle);
// The pids of the running children of `parent`.
std::vector<pid_t> children_of(pid_t parent);
// Whether `pid` is a process that has not exited (a zombie, exited but not yet reaped, counts as
// exited).
bool process_alive(pid_t pid);

// Paths in the build tree.
std::filesystem::path simpang_binary();
std::filesystem::path plugin_dir();

}  // namespace simpang::testing
