#include "test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

extern char** environ;

namespace simpang::testing {

TempDir::TempDir(std::string_view prefix) {
  std::string pattern =
      (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("cannot create a temporary directory from " + pattern + ": " +
                             std::strerror(errno));
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
    // What is polled is another process's doing (files, the process table): nothing to block on.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& log_file) {
  std::vector<std::string> args = argv;
  std::vector<char*> pointers;
  for (auto& arg : args) {
    pointers.push_back(arg.data());
  }
  pointers.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  const int rc = ::posix_spawn(&pid_, pointers[0], &actions, nullptr, pointers.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("cannot start " + args[0] + ": " + std::strerror(rc));
  }
}

Process::~Process() {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void Process::signal(int signo) const {
  if (pid_ > 0 && !reaped_) {
    ::kill(pid_, signo);
  }
}

void Process::reap(int status) {
  reaped_ = true;
  wait_status_ = status;
}

bool Process::running() {
  if (reaped_ || pid_ <= 0) {
    return false;
  }
  int status = 0;
  pid_t done;
  do {
    done = ::waitpid(pid_, &status, WNOHANG);
  } while (done < 0 && errno == EINTR);
  if (done == pid_) {
    reap(status);
    return false;
  }
  return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (!wait_for([this] { return !running(); }, timeout)) {
    return std::nullopt;
  }
  return WIFEXITED(wait_status_) ? WEXITSTATUS(wait_status_) : 128 + WTERMSIG(wait_status_);
}

std::optional<int> Process::stop(std::chrono::milliseconds grace) {
  if (running()) {
    signal(SIGTERM);
    if (!wait(grace)) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reap(status);
      return std::nullopt;
    }
  }
  if (reaped_ && WIFEXITED(wait_status_)) {
    return WEXITSTATUS(wait_status_);
  }
  return std::nullopt;
}

std::string describe_wait_status(int status) {
  if (WIFSIGNALED(status)) {
    const int signal = WTERMSIG(status);
    return "killed by signal " + std::to_string(signal) + " (" + strsignal(signal) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

CommandResult run_command(const std::vector<std::string>& argv,
                          std::chrono::milliseconds timeout) {
  TempDir scratch;
  CommandResult result;
  {
    Process process(argv, scratch / "output");
    result.status = process.wait(timeout).value_or(-1);
  }
  result.output = read_file(scratch / "output");
  return result;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  // Only complete lines: a file another process is appending to may end in half a line.
  const std::string content = read_file(path);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t end = content.find('\n'); end != std::string::npos;
       start = end + 1, end = content.find('\n', start)) {
    lines.push_back(content.substr(start, end - start));
  }
  return lines;
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
}

void append_file(const std::filesystem::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << content;
}

size_t count_lines(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  size_t lines = 0;
  char buffer[65536];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      lines += buffer[i] == '\n';
    }
  }
  return lines;
}

std::map<std::string, int> event_ids(const std::filesystem::path& file) {
  std::map<std::string, int> ids;
  for (const auto& line : read_lines(file)) {
    ids[nlohmann::json::parse(line).at("id").get<std::string>()]++;
  }
  return ids;
}

namespace {

// Calls `visit(pid, dir)` for each process directory in /proc.
void for_each_process(const std::function<void(pid_t, const std::filesystem::path&)>& visit) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    visit(static_cast<pid_t>(std::stol(name)), entry.path());
  }
}

// The fields of /proc/PID/stat after the command name, which may itself hold spaces and
// parentheses: field 3 (state) is the first. Empty when the process is gone.
std::vector<std::string> stat_fields(const std::filesystem::path& dir) {
  const std::string stat = read_file(dir / "stat");
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) {
    return {};
  }
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string field; in >> field;) {
    fields.push_back(field);
  }
  return fields;
}

}  // namespace

std::vector<pid_t> pids_with(const std::string& needle) {
  std::vector<pid_t> pids;
  for_each_process([&](pid_t pid, const std::filesystem::path& dir) {
    std::string cmdline = read_file(dir / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    if (cmdline.find(needle) != std::string::npos && process_alive(pid)) {
      pids.push_back(pid);
    }
  });
  return pids;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> pids;
  for_each_process([&](pid_t pid, const std::filesystem::path& dir) {
    const auto fields = stat_fields(dir);
    if (fields.size() >= 2 && fields[0] != "Z" && std::stol(fields[1]) == parent) {
      pids.push_back(pid);
    }
  });
  return pids;
}

bool process_alive(pid_t pid) {
  const auto fields = stat_fields(std::filesystem::path("/proc") / std::to_string(pid));
  return !fields.empty() && fields[0] != "Z" && fields[0] != "X";
}

std::filesystem::path simpang_binary() {
  return std::filesystem::path(SIMPANG_BUILD_DIR) / "bin" / "simpang";
}

std::filesystem::path plugin_dir() {
  return std::filesystem::path(SIMPANG_BUILD_DIR) / "lib" / "simpang" / "plugins";
}

}  // namespace simpang::testing
