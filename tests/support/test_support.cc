#include "test_support.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace simpang::testing {

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "simpang-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) {
    throw std::runtime_error("mkdtemp failed");
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
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

Process::Process(const std::vector<std::string>& argv, const std::filesystem::path& log_file) {
  std::vector<char*> args;
  for (const auto& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                   0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  const int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    throw std::runtime_error("posix_spawn " + argv[0] + " failed: " + std::to_string(rc));
  }
}

Process::~Process() {
  if (running()) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

void Process::signal(int signo) const { ::kill(pid_, signo); }

bool Process::running() {
  if (status_) {
    return false;
  }
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds timeout) {
  if (!wait_for([this] { return !running(); }, timeout)) {
    return std::nullopt;
  }
  return status_;
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

std::filesystem::path simpang_binary() {
  return std::filesystem::path(SIMPANG_BUILD_DIR) / "bin" / "simpang";
}

std::filesystem::path plugin_dir() {
  return std::filesystem::path(SIMPANG_BUILD_DIR) / "lib" / "simpang" / "plugins";
}

}  // namespace simpang::testing
