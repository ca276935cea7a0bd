// The hub process: from a validated Config to a running broker with its plugin instances, and an
// orderly shutdown that loses nothing that can still be delivered.
//
//   simpang::hub::Hub hub(std::move(config));
//   return hub.run({.duration = std::chrono::seconds(30)});
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>

#include "config/config.h"
#include "core/running_hub.h"
#include "simpang/base/status.h"

namespace simpang::hub {

class RunningHub;

// Something that lives beside a running hub and reads it (the admin API): made once the journal
// is open and the loop runs, destroyed when the hub begins to stop, before the drain.
class HubAttachment {
 public:
  virtual ~HubAttachment() = default;
  // Every plugin instance has been started. Thread rule: the hub's main thread.
  virtual void on_running() {}
};

// A reload's outcome, for a caller that asked for one (request_reload_answered).
struct ReloadAnswer {
  std::vector<Diagnostic> diagnostics;  // the file was refused: nothing applied
  ReloadReport report;                  // when the file was valid
};

struct RunOptions {
  // Stop by itself after this long (for scripts and tests); otherwise run until SIGINT/SIGTERM.
  std::optional<std::chrono::milliseconds> duration;
  // Reads the configuration again, for SIGHUP. Without it a SIGHUP is logged and ignored.
  std::function<ConfigResult()> reload;
  // Called once, on the calling thread, when every plugin instance has started (where the
  // "running N plugin instances" line is logged). `simpang run --ready-fd` signals through it.
  std::function<void()> on_running;
  // Makes the attachment (see HubAttachment), on the calling thread; an error stops the start.
  std::function<StatusOr<std::unique_ptr<HubAttachment>>(RunningHub&, const Config&)> attach;
};

// Process exit codes of `simpang run`.
enum ExitCode : int {
  kExitOk = 0,           // stopped cleanly: what connected consumers were owed was delivered,
                         // the rest waits in the journal
  kExitStartFailed = 1,  // the configuration, the journal or a plugin could not start
  kExitUnclean = 3,      // stopped, but the drain timed out or a plugin did not stop in time
};

class Hub {
 public:
  explicit Hub(Config config);
  // Runs until a signal or the duration; returns an ExitCode. Installs SIGINT/SIGTERM handling
  // for its duration. REQUIRES: called once, from the main thread.
  int run(const RunOptions& options);

  // Asks a running hub to drain and stop, as SIGTERM does. Thread rule: any thread; idempotent.
  void request_stop();
  // Asks a running hub to reload its configuration, as SIGHUP does. Thread rule: any thread.
  void request_reload();
  // The same, with the outcome: the file's diagnostics when it was refused, what changed when it
  // was applied. The future is ready once the main thread has carried the reload out (or, when
  // the hub stops first, broken). Thread rule: any thread.
  std::future<ReloadAnswer> request_reload_answered();

 private:
  Config config_;
  std::mutex mutex_;
  std::condition_variable wake_;      // the main thread waits on it for the two requests
  bool stop_requested_ = false;       // GUARDED_BY(mutex_)
  uint64_t reloads_requested_ = 0;    // GUARDED_BY(mutex_)
  std::vector<std::promise<ReloadAnswer>> reload_waiters_;  // GUARDED_BY(mutex_)
};

}  // namespace simpang::hub
