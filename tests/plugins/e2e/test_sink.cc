// test-sink: writes each event it accepts as one CloudEvents JSON line to `path`, and misbehaves
// on request, so tests can drive retries, dead letters, ordering and isolation:
//   fail_rate: 0.3          answer retry_later to this fraction of deliveries (seeded: `seed`)
//   reject_while: FILE      answer reject while FILE exists (remove it to "fix" the sink)
//   delay_ms: 100           sleep this long per event (a slow or, with a huge value, stuck sink)
//   hold_while: FILE        do not return from on_event while FILE exists: a sink stuck on its
//                           I/O, which recovers when the test removes FILE
// An event it fails or rejects is not written. Each on_start appends a line to `starts` in its
// state directory, so a test can count how often the instance was (re)started.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>

#include "simpang/sdk/cloudevents.h"
#include "simpang/sdk/plugin.h"

namespace {

using simpang::sdk::Context;
using simpang::sdk::Outcome;

class TestSink : public simpang::sdk::Sink {
 public:
  explicit TestSink(Context& ctx)
      : fail_rate_(ctx.config().value("fail_rate", 0.0)),
        reject_while_(ctx.config().value("reject_while", std::string())),
        delay_(ctx.config().value("delay_ms", 0)),
        hold_while_(ctx.config().value("hold_while", std::string())),
        random_(ctx.config().value("seed", 1u)) {
    const std::string path = ctx.config().value("path", std::string());
    if (path.empty()) {
      throw simpang::sdk::ConfigError("config.path: required");
    }
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd_ < 0) {
      throw simpang::sdk::ConfigError("config.path: cannot open " + path);
    }
  }
  ~TestSink() override { ::close(fd_); }

  void on_start(Context& ctx) override {
    std::ofstream(ctx.state_dir() / "starts", std::ios::app) << "started\n";
  }

  Outcome on_event(Context& ctx, const simpang::v1::Event& event) override {
    if (delay_.count() > 0) {
      std::this_thread::sleep_for(delay_);
    }
    // Stuck as on a peer that does not answer: nothing else runs on this thread meanwhile, not
    // even the runtime's heartbeats. Checking often keeps the recovery prompt.
    while (!hold_while_.empty() && std::filesystem::exists(hold_while_)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (!reject_while_.empty() && std::filesystem::exists(reject_while_)) {
      return Outcome::reject("test-sink rejects everything while " + reject_while_ + " exists");
    }
    if (fail_rate_ > 0 && std::uniform_real_distribution<double>(0, 1)(random_) < fail_rate_) {
      return Outcome::retry_later("test-sink failed on purpose");
    }
    const std::string line = simpang::sdk::to_cloudevents_json(event) + "\n";
    if (::write(fd_, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
      return Outcome::retry_later("write failed");
    }
    return Outcome::ack();
  }

 private:
  double fail_rate_;
  std::string reject_while_;
  std::chrono::milliseconds delay_;
  std::string hold_while_;
  std::mt19937 random_;
  int fd_ = -1;
};

}  // namespace

SIMPANG_PLUGIN(TestSink, "test-sink", "1.0.0", "a sink that fails, rejects or stalls on request")
