// test-crasher: a sink that misbehaves the way real plugins do, to test isolation and supervision.
//   mode: segfault | abort | throw | hang | throw_on_start | no_hello | ignore_stop |
//         freeze_on_stop
//         (ignore_stop: on_stop never returns, so its host gives up on it after stop_timeout;
//         freeze_on_stop: on_stop stops its whole process with SIGSTOP, a host that cannot exit,
//         so only the hub's kill ends it)
//   once: FILE   misbehave only while FILE does not exist, and create it first: the restarted
//                instance then behaves (so a test can check that nothing was lost)
//   path: FILE   where accepted events go, one CloudEvents JSON line each
#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/plugin.h"

namespace {

using simpang::sdk::Context;
using simpang::sdk::Outcome;

void hang_forever() {
  while (true) {
    std::this_thread::sleep_for(std::chrono::hours(1));
  }
}

class TestCrasher : public simpang::sdk::Sink {
 public:
  explicit TestCrasher(Context& ctx)
      : mode_(ctx.config().value("mode", std::string())),
        once_(ctx.config().value("once", std::string())) {
    const std::string path = ctx.config().value("path", std::string());
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw simpang::sdk::ConfigError("config.path: cannot open '" + path + "'");
    }
    if (misbehave("no_hello")) {
      hang_forever();  // never returns from create: the instance never says hello
    }
  }
  ~TestCrasher() override { ::close(fd_); }

  void on_start(Context& ctx) override {
    if (misbehave("throw_on_start")) {
      throw std::runtime_error("test-crasher throws from on_start on purpose");
    }
  }

  void on_stop(Context& ctx) override {
    if (mode_ == "ignore_stop") {
      hang_forever();
    }
    if (mode_ == "freeze_on_stop") {
      ::kill(::getpid(), SIGSTOP);
    }
  }

  Outcome on_event(Context& ctx, const simpang::v1::Event& event) override {
    if (misbehave("segfault")) {
      std::raise(SIGSEGV);
    }
    if (misbehave("abort")) {
      std::abort();
    }
    if (misbehave("throw")) {
      throw std::runtime_error("test-crasher throws from on_event on purpose");
    }
    if (misbehave("hang")) {
      hang_forever();
    }
    const std::string line = simpang::sdk::to_cloudevents_json(event) + "\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return Outcome::retry_later("write failed");
    }
    return Outcome::ack();
  }

 private:
  // True when this instance should misbehave in `mode` now; with `once`, only the first time.
  bool misbehave(const std::string& mode) {
    if (mode_ != mode) {
      return false;
    }
    if (once_.empty()) {
      return true;
    }
    if (std::filesystem::exists(once_)) {
      return false;
    }
    std::ofstream(once_) << "misbehaved\n";
    return true;
  }

  std::string mode_;
  std::string once_;
  int fd_ = -1;
};

}  // namespace

SIMPANG_PLUGIN(TestCrasher, "test-crasher", "1.0.0", "a sink that crashes, hangs or throws")
