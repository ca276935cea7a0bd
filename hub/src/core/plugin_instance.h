// One configured plugin instance running on a thread inside the hub: the host side of the plugin
// ABI (sdk/include/simpang/plugin_abi.h). It fills in the host services, creates, starts, stops and
// destroys the instance, and routes the plugin's log lines into the hub's logging.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include <spdlog/logger.h>

#include "config/config.h"
#include "plugin/plugin_library.h"
#include "simpang/plugin_abi.h"
#include "simpang/base/status.h"

namespace simpang::hub {

class PluginInstance {
 public:
  // OWNERSHIP: keeps `library` loaded while the instance exists; borrows `zmq_context`, which must
  // outlive the instance. `hub_token` is the token the hub issued to this run (the runtime's
  // Hello carries it; see wire.proto), handed to the plugin through the host API.
  PluginInstance(const PluginInstanceConfig& config, std::shared_ptr<PluginLibrary> library,
                 void* zmq_context, std::string hub_endpoint, std::filesystem::path state_dir,
                 std::chrono::milliseconds heartbeat, std::string hub_token);
  ~PluginInstance();  // destroys the plugin instance if it was created
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  // Creates the instance (the plugin parses its config here). The error names the instance.
  Status create();
  // Starts it; it connects to the hub and begins its work on its own thread.
  Status start();
  // Stops it within its configured stop_timeout. An instance that did not stop in time is left
  // allocated (its thread may still run code from its library), and stopped_cleanly() is false.
  Status stop();

  const std::string& name() const { return name_; }
  simpang_plugin_kind kind() const;
  bool stopped_cleanly() const { return stopped_cleanly_; }

 private:
  static void log_from_plugin(void* host_data, simpang_log_level level, const char* message,
                              size_t message_len);
  std::string plugin_error(const char* fallback) const;

  std::string name_;
  std::string config_json_;
  std::string endpoint_;
  std::string state_dir_;
  std::string hub_token_;
  std::chrono::milliseconds stop_timeout_;
  std::shared_ptr<PluginLibrary> library_;
  std::shared_ptr<spdlog::logger> logger_;
  simpang_host_api host_{};
  simpang_instance* instance_ = nullptr;  // OWNERSHIP: the plugin's until destroy
  bool started_ = false;
  bool stopped_cleanly_ = true;
};

}  // namespace simpang::hub
