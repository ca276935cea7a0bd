// `simpang plugin-host`: runs one plugin instance in a process of its own, for
// `isolation: process`. The hub spawns it and supervises it; the plugin's code is the same .so that
// would run on a thread in the hub, and it reaches the hub over ipc://. A crash, an abort or a hang
// here costs this process only: the hub restarts it and redelivers what it had in flight.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

namespace simpang::hub {

struct PluginHostOptions {
  std::filesystem::path library;
  std::string instance;
  std::string endpoint;                 // the hub's ipc:// endpoint
  std::filesystem::path state_dir;      // the instance's own directory
  std::filesystem::path config_file;    // the instance's `config:` as JSON (written by the hub)
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds stop_timeout{5000};
  std::string log_level = "info";
};

// The environment variable through which the hub hands a plugin host its run's token (see the
// Hello's token in wire.proto). The host takes it out of its environment before loading the plugin.
inline constexpr const char* kInstanceTokenVariable = "SIMPANG_INSTANCE_TOKEN";

// Exit codes of `simpang plugin-host`, which the supervisor reads.
enum PluginHostExit : int {
  kHostOk = 0,             // stopped on request, cleanly
  kHostFailed = 1,         // could not load or start; the supervisor retries with backoff
  kHostUnclean = 3,        // stopped on request, but left work unfinished
  kHostConfigRefused = 78  // the plugin refused its configuration: restarting will not help
};

// Loads, creates and starts the instance, then waits for SIGTERM or SIGINT and stops it.
// REQUIRES: called from the main thread before any other thread exists.
int run_plugin_host(const PluginHostOptions& options);

}  // namespace simpang::hub
