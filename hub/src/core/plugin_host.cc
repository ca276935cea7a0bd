#include "core/plugin_host.h"

#include <signal.h>
#include <zmq.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "common/protobuf_log.h"
#include "core/plugin_instance.h"
#include "plugin/plugin_library.h"

namespace simpang::hub {

int run_plugin_host(const PluginHostOptions& options) {
  // Block the stop signals before any thread exists, so every thread inherits the mask and only
  // sigwait below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto logger = spdlog::default_logger();
  route_protobuf_logs(logger);
  // Taken before any plugin code runs, so neither the plugin nor a program it starts inherits it.
  const char* issued = std::getenv(kInstanceTokenVariable);
  std::string token = issued != nullptr ? issued : "";
  ::unsetenv(kInstanceTokenVariable);
  auto library = PluginLibrary::open(options.library);
  if (!library.ok()) {
    logger->error("{}", library.status().message());
    return kHostFailed;
  }
  std::ifstream in(options.config_file);
  if (!in) {
    logger->error("cannot read the instance configuration {}", options.config_file.string());
    return kHostFailed;
  }
  std::ostringstream config_json;
  config_json << in.rdbuf();

  PluginInstanceConfig config;
  config.name = options.instance;
  config.config_json = config_json.str();
  config.stop_timeout = options.stop_timeout;
  void* zmq_context = zmq_ctx_new();
  int exit_code = kHostOk;
  {
    PluginInstance instance(config, *library, zmq_context, options.endpoint, options.state_dir,
                            options.heartbeat, std::move(token));
    if (auto status = instance.create(); !status.ok()) {
      logger->error("{}", status.message());
      exit_code = kHostConfigRefused;
    } else if (auto started = instance.start(); !started.ok()) {
      logger->error("{}", started.message());
      exit_code = kHostFailed;
    } else {
      int signal = 0;
      sigwait(&stop_signals, &signal);
      if (auto stopped = instance.stop(); !stopped.ok()) {
        logger->error("{}", stopped.message());
        exit_code = kHostUnclean;
      }
      if (!instance.stopped_cleanly()) {
        spdlog::default_logger()->flush();
        std::_Exit(kHostUnclean);  // its thread still runs plugin code; do not unload under it
      }
    }
  }
  zmq_ctx_term(zmq_context);
  return exit_code;
}

}  // namespace simpang::hub
