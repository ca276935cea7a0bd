// Typed access to a plugin instance's `config:` mapping, with errors that name the key path, so a
// bad configuration fails at start-up with a message an operator can act on.
//
//   simpang::sdk::ConfigReader r(ctx.config());
//   int rate = r.required<int>("rate");                       // config.rate: required
//   auto url = r.optional<std::string>("url", "http://localhost:8080/");
//   auto every = r.optional<std::chrono::milliseconds>("interval", std::chrono::seconds(5));
//   simpang::sdk::ConfigReader retry = r.nested("retry");     // config.retry.*
//   int attempts = retry.optional<int>("attempts", 3);
//   retry.reject_unknown();
//   r.reject_unknown();                                       // config.rte: unknown key ...
//
// Every failure throws simpang::sdk::ConfigError, e.g.
//   config.rate: must be an integer, got "fast"
// which is what a plugin constructor should throw (the hub prints it with the instance name).
//
// Supported value types: bool, int, int64_t, uint32_t, uint64_t, double, std::string,
// std::filesystem::path, std::vector<std::string>, std::chrono::milliseconds (written as an
// integer and a unit: "250ms", "5s", "2m", "1h"), and nlohmann::json (any value, unchecked).
//
// Thread rule: a reader is used by one thread at a time (in practice, the plugin constructor).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "simpang/sdk/plugin.h"

namespace simpang::sdk {

namespace internal {
// Converts `value` to the requested type or throws ConfigError("<path>: must be ..., got ...").
// One overload per supported type; an unsupported type fails to compile.
void convert_config_value(const nlohmann::json& value, const std::string& path, bool& out);
void convert_config_value(const nlohmann::json& value, const std::string& path, int& out);
void convert_config_value(const nlohmann::json& value, const std::string& path, int64_t& out);
void convert_config_value(const nlohmann::json& value, const std::string& path, uint32_t& out);
void convert_config_value(const nlohmann::json& value, const std::string& path, uint64_t& out);
void convert_config_value(const nlohmann::json& value, const std::string& path, double& out);
void convert_config_value(const nlohmann::json& value, const std::string& path, std::string& out);
void convert_config_value(const nlohmann::json& value, const std::string& path,
                          std::filesystem::path& out);
void convert_config_value(const nlohmann::json& value, const std::string& path,
                          std::vector<std::string>& out);
void convert_config_value(const nlohmann::json& value, const std::string& path,
                          std::chrono::milliseconds& out);
void convert_config_value(const nlohmann::json& value, const std::string& path,
                          nlohmann::json& out);
}  // namespace internal

class ConfigReader {
 public:
  // Reads `config`, which must be a JSON object (null counts as an empty one). `path` is the name
  // errors give it: "config" for an instance's config, "config.retry" for a nested mapping.
  // Throws ConfigError when `config` is neither an object nor null.
  // OWNERSHIP: `config` is borrowed and must outlive the reader (ctx.config() does).
  explicit ConfigReader(const nlohmann::json& config, std::string path = "config");

  // The value of `key`, converted to T. Throws ConfigError when it is missing or of the wrong type.
  template <typename T>
  T required(std::string_view key) {
    const nlohmann::json* value = find(key);
    if (value == nullptr) {
      throw ConfigError(path_of(key) + ": required, but missing");
    }
    T out{};
    internal::convert_config_value(*value, path_of(key), out);
    return out;
  }

  // The value of `key` converted to T, or `fallback` when the key is missing (or null). Throws
  // ConfigError when it is present with the wrong type.
  template <typename T>
  T optional(std::string_view key, T fallback) {
    const nlohmann::json* value = find(key);
    if (value == nullptr || value->is_null()) {
      return fallback;
    }
    T out{};
    internal::convert_config_value(*value, path_of(key), out);
    return out;
  }
  // For string literals: r.optional<std::string>("url", "http://...") works through this one.
  std::string optional(std::string_view key, const char* fallback) {
    return optional<std::string>(key, std::string(fallback));
  }

  // The value of `key` converted to T, or std::nullopt when it is missing (or null).
  template <typename T>
  std::optional<T> get(std::string_view key) {
    const nlohmann::json* value = find(key);
    if (value == nullptr || value->is_null()) {
      return std::nullopt;
    }
    T out{};
    internal::convert_config_value(*value, path_of(key), out);
    return out;
  }

  // A reader for the mapping under `key` (an empty one when the key is missing or null). Throws
  // ConfigError when the value is not a mapping. Its errors name "config.<key>.<inner key>".
  // The returned reader borrows this one's JSON: it must not outlive the config either.
  ConfigReader nested(std::string_view key);

  // True when the config has `key` (even with a null value). Marks the key as known.
  bool has(std::string_view key);

  // A ConfigError for a value that has the right type but is unacceptable, with the key path in
  // front: `throw r.error("rate", "must be at least 1, got 0");`.
  ConfigError error(std::string_view key, std::string_view message) const;

  // Throws ConfigError naming the first key of the mapping that no call above asked for, with the
  // keys that were asked for (a typo is the usual cause): call it after reading every key.
  void reject_unknown() const;

  // "config.rate" for key "rate".
  std::string path_of(std::string_view key) const;
  // The mapping itself.
  const nlohmann::json& json() const { return *config_; }

 private:
  // Marks `key` as known and returns its value, or nullptr when it is missing.
  const nlohmann::json* find(std::string_view key);

  const nlohmann::json* config_;
  std::string path_;
  std::set<std::string, std::less<>> known_;
};

// Parses a duration written as an integer and a unit ("250ms", "5s", "2m", "1h"); nullopt when
// `text` is not one. The same form the hub configuration uses.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace simpang::sdk
