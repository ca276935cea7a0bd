// HubFixture of the plugin test kit: a real `simpang` process running the plugin under test
// between source-jsonl and sink-jsonl; see simpang/sdk/testing.h. Processes with POSIX only.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/testing.h"

extern char** environ;

namespace simpang::sdk::testing {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kPollInterval(10);

// The descriptor the hub gets for `simpang run --ready-fd`.
constexpr int kReadyFd = 3;

// Starts `argv` with stdin from /dev/null and stdout and stderr appended to `log`; `ready_fd`, if
// not -1, becomes the child's kReadyFd.
pid_t spawn(const std::vector<std::string>& argv, const std::filesystem::path& log,
            int ready_fd = -1) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  if (ready_fd >= 0) {
    // dup2 onto another number clears close-on-exec for the child's copy only.
    posix_spawn_file_actions_adddup2(&actions, ready_fd, kReadyFd);
  }
  std::vector<char*> args;
  for (const std::string& arg : argv) {
    args.push_back(const_cast<char*>(arg.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = -1;
  const int err = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(err));
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  return 128 + WTERMSIG(status);
}

// Reaps `pid` if it has exited; its exit status, else nullopt.
std::optional<int> try_reap(pid_t pid) {
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) {
    return decode_status(status);
  }
  if (r < 0 && errno == ECHILD) {
    return 128 + SIGKILL;  // someone else reaped it; it is gone either way
  }
  return std::nullopt;
}

// Waits up to `timeout` for `pid` to exit (polling: waitpid has no timeout).
std::optional<int> reap_within(pid_t pid, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (auto status = try_reap(pid)) {
      return status;
    }
    if (Clock::now() >= deadline) {
      return std::nullopt;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

std::string read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void append(const std::filesystem::path& path, const std::string& text) {
  // One write of whole lines: the source polling the file reads only up to the last newline, so
  // it never sees half a line either way.
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
  out.flush();
  if (!out) {
    throw std::runtime_error("cannot append to " + path.string());
  }
}

// JSON is YAML (flow style), so values are written as JSON: quoting and escaping come for free.
std::string yaml_value(const nlohmann::json& value) { return value.dump(); }

}  // namespace

HubFixture::HubFixture(HubFixtureOptions options) : options_(std::move(options)) {
  if (options_.hub_executable.empty()) {
    throw std::runtime_error(
        "HubFixture: no simpang executable known; set SIMPANG_HUB, or link simpang::sdk_testing "
        "from an installed Simpang (find_package(Simpang)), which defines SIMPANG_HUB_EXECUTABLE");
  }
  if (!std::filesystem::exists(options_.hub_executable)) {
    throw std::runtime_error("HubFixture: the simpang executable " +
                             options_.hub_executable.string() + " does not exist");
  }
  if (!std::filesystem::exists(options_.plugin)) {
    throw std::runtime_error("HubFixture: the plugin " + options_.plugin.string() +
                             " does not exist");
  }
  dir_ = std::make_unique<TempDir>("simpang-hub");
  const bool fed = options_.kind != SIMPANG_KIND_SOURCE;
  const bool captured = options_.kind != SIMPANG_KIND_SINK;

  std::ostringstream yaml;
  yaml << "# Written by simpang::sdk::testing::HubFixture.\n"
       << "hub:\n"
       << "  state_dir: " << yaml_value((dir() / "state").string()) << "\n"
       << "  log_level: " << options_.log_level << "\n"
       << "  summary_interval: 0s\n"
       << "plugins:\n";
  if (fed) {
    append(input_path(), "");  // exists from the start, so the source has nothing to wait for
    yaml << "  - name: feed\n"
         << "    plugin: source-jsonl\n"
         << "    config: "
         << yaml_value(
                {{"path", input_path().string()}, {"follow", true}, {"poll_interval", "20ms"}})
         << "\n";
  }
  yaml << "  - name: " << options_.instance_name << "\n"
       << "    plugin: " << yaml_value(std::filesystem::absolute(options_.plugin).string()) << "\n"
       << "    config: "
       << yaml_value(options_.config.is_null() ? nlohmann::json::object() : options_.config)
       << "\n";
  if (captured) {
    yaml << "  - name: capture\n"
         << "    plugin: sink-jsonl\n"
         << "    config: " << yaml_value({{"path", output_path().string()}}) << "\n";
  }
  yaml << "routes:\n";
  if (fed) {
    yaml << "  - name: feed-to-" << options_.instance_name << "\n"
         << "    from: [feed]\n"
         << "    to: [" << options_.instance_name << "]\n";
  }
  if (captured) {
    yaml << "  - name: " << options_.instance_name << "-to-capture\n"
         << "    from: [" << options_.instance_name << "]\n"
         << "    to: [capture]\n";
  }
  append(config_path(), yaml.str());
}

HubFixture::~HubFixture() {
  try {
    stop();
  } catch (const std::exception&) {
    // The destructor must not throw; stop() already killed the hub if it could not stop it.
  }
}

std::filesystem::path HubFixture::instance_dir() const {
  return dir() / "state" / "instances" / options_.instance_name;
}

std::string HubFixture::log() const { return read_all(dir() / "hub.log"); }

void HubFixture::fail(std::string_view what) const {
  std::string text = log();
  constexpr size_t kTail = 4000;
  if (text.size() > kTail) {
    text = "...\n" + text.substr(text.size() - kTail);
  }
  throw std::runtime_error("HubFixture: " + std::string(what) + "\n--- hub log (" +
                           (dir() / "hub.log").string() + ") ---\n" + text);
}

void HubFixture::start() {
  if (pid_ > 0) {
    throw std::logic_error("HubFixture::start: already started");
  }
  const std::string exe = options_.hub_executable.string();
  const pid_t check = spawn({exe, "check", config_path().string()}, dir() / "hub.log");
  const std::optional<int> checked = reap_within(check, options_.timeout);
  if (!checked) {
    ::kill(check, SIGKILL);
    reap_within(check, options_.timeout);
    fail("simpang check did not finish in time");
  }
  if (*checked != 0) {
    fail("simpang check rejected the configuration " + config_path().string());
  }
  // The hub says it is ready on a pipe (`--ready-fd`): a line, then end-of-file, once every
  // instance has started; end-of-file alone if it exits first.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("HubFixture: pipe: ") + std::strerror(errno));
  }
  // Numbered away from kReadyFd, so dup2 in the child really copies (and drops close-on-exec).
  const int write_end = ::fcntl(fds[1], F_DUPFD_CLOEXEC, kReadyFd + 1);
  ::close(fds[1]);
  const int read_end = fds[0];
  // Closed however start() leaves (wait_until throws when the hub fails).
  const std::unique_ptr<const int, void (*)(const int*)> read_guard(
      &read_end, [](const int* fd) { ::close(*fd); });
  try {
    pid_ = spawn({exe, "run", config_path().string(), "--ready-fd", std::to_string(kReadyFd)},
                 dir() / "hub.log", write_end);
  } catch (...) {
    ::close(write_end);
    throw;
  }
  ::close(write_end);
  std::string said;
  bool ended = false;
  wait_until(
      [&] {
        while (!ended) {
          pollfd item{read_end, POLLIN, 0};
          if (::poll(&item, 1, 0) <= 0) {
            break;  // nothing more for now
          }
          char buffer[64];
          const ssize_t n = ::read(read_end, buffer, sizeof(buffer));
          if (n < 0 && errno == EINTR) {
            continue;
          }
          if (n <= 0) {
            ended = true;
            break;
          }
          said.append(buffer, static_cast<size_t>(n));
        }
        return said == "ready\n";
      },
      "the hub to report its plugin instances running (on --ready-fd)");
}

bool HubFixture::running() {
  if (pid_ <= 0 || exit_status_) {
    return false;
  }
  exit_status_ = try_reap(pid_);
  return !exit_status_;
}

void HubFixture::wait_until(const std::function<bool()>& condition, std::string_view what) {
  const auto deadline = Clock::now() + options_.timeout;
  while (!condition()) {
    if (!running()) {
      fail("the hub exited (status " + std::to_string(exit_status_.value_or(-1)) +
           ") while waiting for " + std::string(what));
    }
    if (Clock::now() >= deadline) {
      fail("timed out after " + std::to_string(options_.timeout.count()) + " ms waiting for " +
           std::string(what));
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void HubFixture::feed(const std::vector<simpang::v1::Event>& events) {
  std::vector<std::string> lines;
  lines.reserve(events.size());
  for (const auto& event : events) {
    lines.push_back(to_cloudevents_json(event));
  }
  feed_lines(lines);
}

void HubFixture::feed_lines(const std::vector<std::string>& lines) {
  if (options_.kind == SIMPANG_KIND_SOURCE) {
    throw std::logic_error("HubFixture::feed: a source under test is fed by nothing");
  }
  std::string text;
  for (const std::string& line : lines) {
    text += line;
    text += '\n';
  }
  append(input_path(), text);
}

std::vector<simpang::v1::Event> HubFixture::output() const {
  std::vector<simpang::v1::Event> events;
  const std::string text = read_all(output_path());
  size_t start = 0;
  for (size_t end = text.find('\n'); end != std::string::npos; end = text.find('\n', start)) {
    auto event = from_cloudevents_json(std::string_view(text).substr(start, end - start));
    if (!event.ok()) {
      throw std::runtime_error("HubFixture: output line " + std::to_string(events.size() + 1) +
                               " does not parse: " + event.status().message());
    }
    events.push_back(std::move(*event));
    start = end + 1;
  }
  return events;
}

std::vector<simpang::v1::Event> HubFixture::wait_for_output(size_t count) {
  if (options_.kind == SIMPANG_KIND_SINK) {
    throw std::logic_error("HubFixture::wait_for_output: a sink under test has no captured output");
  }
  if (pid_ <= 0) {
    throw std::logic_error("HubFixture::wait_for_output: call start() first");
  }
  wait_until(
      [&] {
        const std::string text = read_all(output_path());
        return static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) >= count;
      },
      std::to_string(count) + " events in " + output_path().string());
  return output();
}

int HubFixture::stop() {
  if (pid_ <= 0) {
    return 0;
  }
  if (running()) {
    ::kill(pid_, SIGTERM);
    exit_status_ = reap_within(pid_, options_.timeout);
    if (!exit_status_) {
      ::kill(pid_, SIGKILL);
      exit_status_ = reap_within(pid_, options_.timeout).value_or(128 + SIGKILL);
    }
  }
  return *exit_status_;
}

}  // namespace simpang::sdk::testing
