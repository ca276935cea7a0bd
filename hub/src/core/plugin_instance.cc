#include "core/plugin_instance.h"

#include <spdlog/spdlog.h>

namespace simpang::hub {

PluginInstance::PluginInstance(const PluginInstanceConfig& config,
                               std::shared_ptr<PluginLibrary> library, void* zmq_context,
                               std::string hub_endpoint, std::filesystem::path state_dir,
                               std::chrono::milliseconds heartbeat, std::string hub_token)
    : name_(config.name),
      config_json_(config.config_json),
      endpoint_(std::move(hub_endpoint)),
      state_dir_(state_dir.string()),
      hub_token_(std::move(hub_token)),
      stop_timeout_(config.stop_timeout),
      library_(std::move(library)) {
  // Each instance logs under its own name, through the hub's sinks: a plugin never has a spdlog
  // registry of its own (each shared library would get a separate one).
  logger_ = spdlog::default_logger()->clone(name_);
  host_.struct_size = sizeof(host_);
  host_.abi_major = SIMPANG_ABI_MAJOR;
  host_.abi_minor = SIMPANG_ABI_MINOR;
  host_.host_data = logger_.get();
  host_.log = &PluginInstance::log_from_plugin;
  host_.zmq_context = zmq_context;
  host_.hub_endpoint = endpoint_.c_str();
  host_.instance_name = name_.c_str();
  host_.config_json = config_json_.c_str();
  host_.state_dir = state_dir_.c_str();
  host_.heartbeat_ms = static_cast<uint32_t>(heartbeat.count());
  host_.hub_token = hub_token_.c_str();
}

PluginInstance::~PluginInstance() {
  if (instance_ == nullptr) {
    return;
  }
  if (started_ && !stopped_cleanly_) {
    // Its thread may still be running library code; destroying it would block on that thread,
    // and unloading the library would pull its code out from under it. Leak both instead.
    logger_->error("instance={} is left running: it did not stop in time", name_);
    new std::shared_ptr<PluginLibrary>(library_);  // keeps the library loaded for good
    return;
  }
  library_->api().destroy(instance_);
}

simpang_plugin_kind PluginInstance::kind() const {
  return static_cast<simpang_plugin_kind>(library_->api().kind);
}

void PluginInstance::log_from_plugin(void* host_data, simpang_log_level level, const char* message,
                                     size_t message_len) {
  auto* logger = static_cast<spdlog::logger*>(host_data);
  const auto spd_level = static_cast<spdlog::level::level_enum>(
      std::clamp<int>(level, SIMPANG_LOG_TRACE, SIMPANG_LOG_CRITICAL));
  logger->log(spd_level, "{}", std::string_view(message, message_len));
}

std::string PluginInstance::plugin_error(const char* fallback) const {
  const char* error = instance_ != nullptr ? library_->api().last_error(instance_) : nullptr;
  return error != nullptr ? std::string(error) : std::string(fallback);
}

Status PluginInstance::create() {
  const char* error = nullptr;
  instance_ = library_->api().create(&host_, &error);
  if (instance_ == nullptr) {
    return Status::Error("instance '" + name_ + "' (" + library_->path().string() +
                         "): " + (error != nullptr ? error : "create failed"));
  }
  return Status::Ok();
}

Status PluginInstance::start() {
  if (library_->api().start(instance_) != 0) {
    return Status::Error("instance '" + name_ + "' failed to start: " + plugin_error("no reason"));
  }
  started_ = true;
  return Status::Ok();
}

Status PluginInstance::stop() {
  if (!started_) {
    return Status::Ok();
  }
  const int rc = library_->api().stop(instance_, static_cast<uint32_t>(stop_timeout_.count()));
  if (rc == SIMPANG_STOP_CLEAN) {
    return Status::Ok();
  }
  stopped_cleanly_ = rc != SIMPANG_STOP_STILL_RUNNING;
  return Status::Error("instance '" + name_ + "': " + plugin_error("stop failed"));
}

}  // namespace simpang::hub
