// The configuration loader's inside, shared by the files that hold its sections: config.cc (the
// walk, hub, journal and plugins) and config_routes.cc (routes, their matchers and retry policy).
// Nothing outside hub/src/config includes it; the public entry is load_config() in config.h.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "config/plugin_search.h"
#include "config/yaml_reader.h"

namespace simpang::hub::config_internal {


inline constexpr size_t kMaxInstanceName = 64;
inline constexpr uint32_t kMaxBatch = 65536;

inline const std::vector<std::string> kTopKeys = {"hub",      "journal", "plugins", "partner_door",
                                           "partners", "routes",  "admin"};
inline const std::vector<std::string> kJournalKeys = {
    "kind", "file", "sync", "retention", "dedup_window", "max_events", "verify_on_open"};
inline const std::vector<std::string> kRetryKeys = {"max_attempts", "initial_backoff", "max_backoff",
                                             "deadline"};
inline const std::vector<std::string> kHubKeys = {
    "state_dir",       "log_level",       "summary_interval", "heartbeat",
    "drain_timeout",   "max_batch",       "queue_limit",      "plugin_dirs",
    "max_unacked",     "max_event_bytes", "max_frame_bytes",  "max_attributes",
    "max_attribute_bytes", "max_json_depth"};
// Bounds of the door limits: below them nothing useful gets through, above them one peer could
// hold a large share of memory or protobuf could not parse a frame (2 GiB).
inline constexpr uint32_t kMaxUnacked = 1024;
inline constexpr uint32_t kMinEventBytes = 1024;
inline constexpr uint32_t kMaxEventBytes = 256 * 1024 * 1024;
inline constexpr uint32_t kMaxFrameBytes = 1024 * 1024 * 1024;
inline constexpr uint32_t kMaxAttributes = 4096;
inline constexpr uint32_t kMinAttributeBytes = 64;
inline constexpr uint32_t kMaxJsonDepth = 1024;
inline const std::vector<std::string> kPluginKeys = {"name",      "plugin",       "isolation",
                                              "transport", "stop_timeout", "start_timeout",
                                              "restart",   "config"};
inline const std::vector<std::string> kRestartKeys = {"initial_backoff", "max_backoff", "max_failures",
                                               "window"};
inline const std::vector<std::string> kRouteKeys = {"name", "from", "match", "to", "retry", "ordering"};
inline const std::vector<std::string> kMatchKeys = {"type", "subject_prefix", "extensions"};
inline const std::vector<std::string> kLogLevels = {"trace", "debug",    "info", "warn",
                                             "error", "critical", "off"};

inline bool has_wildcard(std::string_view glob) {
  return glob.find_first_of("*?") != std::string_view::npos;
}

inline bool valid_instance_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxInstanceName) {
    return false;
  }
  auto lower_or_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_or_digit(name.front())) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [&](char c) { return lower_or_digit(c) || c == '_' || c == '-'; });
}

// CloudEvents 1.0: attribute names consist of lower-case ASCII letters and digits only.
inline bool valid_extension_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

inline const char* kind_text(uint32_t kind) {
  switch (kind) {
    case SIMPANG_KIND_SOURCE:
      return "a source";
    case SIMPANG_KIND_SINK:
      return "a sink";
    case SIMPANG_KIND_TRANSFORM:
      return "a transform";
    default:
      return "of unknown kind";
  }
}

// "plugin entry 'x'" when the entry has a usable name, else "plugin entry #N". Read before the
// entry's other keys, so that every message about the entry, even one found before its name, can
// say which entry it is.
inline std::string entry_label(const YAML::Node& map, const std::string& what, size_t index) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == "name") {
      if (it->second.IsScalar() && !it->second.Scalar().empty()) {
        return what + " '" + it->second.Scalar() + "'";
      }
      break;
    }
  }
  return what + " #" + std::to_string(index);
}

// What the loader knows about one instance while it checks the routes.
struct InstanceInfo {
  int line = 0;
  std::string plugin;            // as written
  std::optional<uint32_t> kind;  // known only when the library was inspected successfully
  bool partner = false;          // a partner (partners:), which publishes and never receives
};

class Loader {
 public:
  Loader(std::filesystem::path file, const LoadOptions& options)
      : reader_(std::move(file)), options_(options), search_(options.default_plugin_dirs) {}

  ConfigResult run();

 private:
  // A path as written in the file, made absolute against the file's directory.
  std::filesystem::path resolve(const std::string& path) const {
    return config_internal::resolve_against(reader_.dir(), path);
  }

  // --- sections ----------------------------------------------------------------------------------
  void load_hub(const Entry* entry);
  void load_plugins(const Entry* entry, const YAML::Node& top);
  void load_plugin(const YAML::Node& item, size_t index);
  void load_routes(const Entry* entry);
  void load_route(const YAML::Node& item, size_t index);
  void load_journal(const Entry* entry);
  void load_restart(const Entry& entry, const std::string& owner, RestartPolicy& restart);
  void load_retry(const Entry& entry, const std::string& owner, RetryPolicy& retry);
  void load_match(const Entry& entry, const std::string& owner, RouteConfig& route);

  YamlReader reader_;
  const LoadOptions& options_;
  PluginSearch search_;
  Config config_;

  std::vector<std::string> instance_names_;  // in file order, for suggestions and glob checks
  std::unordered_map<std::string, InstanceInfo> instances_;
  std::unordered_map<std::string, int> route_lines_;
};

}  // namespace simpang::hub::config_internal
