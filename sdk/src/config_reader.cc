// ConfigReader: typed access to an instance's config with errors naming the key path; see
// simpang/sdk/config_reader.h.
#include "simpang/sdk/config_reader.h"

#include <charconv>
#include <limits>

#include "simpang/base/duration.h"

namespace simpang::sdk {
namespace {

const nlohmann::json& empty_object() {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return kEmpty;
}

// How a value is shown in an error: JSON, so a string keeps its quotes ("fast") and is told apart
// from a number (5) or a boolean (true). Long values are cut, so a huge mapping stays readable.
std::string shown(const nlohmann::json& value) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  constexpr size_t kMax = 80;
  if (text.size() > kMax) {
    text.resize(kMax);
    text += "...";
  }
  return text;
}

[[noreturn]] void fail(const std::string& path, std::string_view expected,
                       const nlohmann::json& value) {
  throw ConfigError(path + ": must be " + std::string(expected) + ", got " + shown(value));
}

// An integer of type Int. `expected` names the kind ("an integer"); a value of the right kind but
// out of Int's range gets the range in the message.
template <typename Int>
Int integer_in_range(const nlohmann::json& value, const std::string& path,
                     std::string_view expected) {
  using Limits = std::numeric_limits<Int>;
  bool fits = false;
  if (value.is_number_unsigned()) {
    fits = value.get<uint64_t>() <= static_cast<uint64_t>(Limits::max());
  } else if (value.is_number_integer()) {
    const auto v = value.get<int64_t>();
    fits = v >= 0 ? static_cast<uint64_t>(v) <= static_cast<uint64_t>(Limits::max())
                  : Limits::is_signed && v >= static_cast<int64_t>(Limits::min());
  } else {
    fail(path, expected, value);
  }
  if (!fits) {
    fail(path,
         std::string(expected) + " from " + std::to_string(Limits::min()) + " to " +
             std::to_string(Limits::max()),
         value);
  }
  return value.is_number_unsigned() ? static_cast<Int>(value.get<uint64_t>())
                                    : static_cast<Int>(value.get<int64_t>());
}

}  // namespace

namespace internal {

void convert_config_value(const nlohmann::json& value, const std::string& path, bool& out) {
  if (!value.is_boolean()) {
    fail(path, "true or false", value);
  }
  out = value.get<bool>();
}

void convert_config_value(const nlohmann::json& value, const std::string& path, int& out) {
  out = integer_in_range<int>(value, path, "an integer");
}

void convert_config_value(const nlohmann::json& value, const std::string& path, int64_t& out) {
  out = integer_in_range<int64_t>(value, path, "an integer");
}

void convert_config_value(const nlohmann::json& value, const std::string& path, uint32_t& out) {
  out = integer_in_range<uint32_t>(value, path, "a non-negative integer");
}

void convert_config_value(const nlohmann::json& value, const std::string& path, uint64_t& out) {
  out = integer_in_range<uint64_t>(value, path, "a non-negative integer");
}

void convert_config_value(const nlohmann::json& value, const std::string& path, double& out) {
  if (!value.is_number()) {
    fail(path, "a number", value);
  }
  out = value.get<double>();
}

void convert_config_value(const nlohmann::json& value, const std::string& path, std::string& out) {
  if (!value.is_string()) {
    fail(path, "a string", value);
  }
  out = value.get<std::string>();
}

void convert_config_value(const nlohmann::json& value, const std::string& path,
                          std::filesystem::path& out) {
  if (!value.is_string() || value.get_ref<const std::string&>().empty()) {
    fail(path, "a non-empty path string", value);
  }
  out = std::filesystem::path(value.get<std::string>());
}

void convert_config_value(const nlohmann::json& value, const std::string& path,
                          std::vector<std::string>& out) {
  // A single string is a list of one, as in the hub's own name lists (`to: ledger`).
  if (value.is_string()) {
    out = {value.get<std::string>()};
    return;
  }
  if (!value.is_array()) {
    fail(path, "a string or a list of strings", value);
  }
  out.clear();
  for (size_t i = 0; i < value.size(); ++i) {
    if (!value[i].is_string()) {
      fail(path + "[" + std::to_string(i) + "]", "a string", value[i]);
    }
    out.push_back(value[i].get<std::string>());
  }
}

void convert_config_value(const nlohmann::json& value, const std::string& path,
                          std::chrono::milliseconds& out) {
  if (!value.is_string()) {
    fail(path, "a duration such as \"250ms\", \"5s\", \"2m\" or \"1h\"", value);
  }
  const auto parsed = parse_duration(value.get_ref<const std::string&>());
  if (!parsed) {
    fail(path, "a duration such as \"250ms\", \"5s\", \"2m\" or \"1h\"", value);
  }
  out = *parsed;
}

void convert_config_value(const nlohmann::json& value, const std::string& path,
                          nlohmann::json& out) {
  out = value;
}

}  // namespace internal

ConfigReader::ConfigReader(const nlohmann::json& config, std::string path)
    : config_(config.is_null() ? &empty_object() : &config), path_(std::move(path)) {
  if (!config_->is_object()) {
    throw ConfigError(path_ + ": must be a mapping, got " + shown(config));
  }
}

const nlohmann::json* ConfigReader::find(std::string_view key) {
  known_.emplace(key);
  const auto it = config_->find(std::string(key));
  return it == config_->end() ? nullptr : &*it;
}

ConfigReader ConfigReader::nested(std::string_view key) {
  const nlohmann::json* value = find(key);
  if (value == nullptr || value->is_null()) {
    return ConfigReader(empty_object(), path_of(key));
  }
  if (!value->is_object()) {
    fail(path_of(key), "a mapping", *value);
  }
  return ConfigReader(*value, path_of(key));
}

bool ConfigReader::has(std::string_view key) { return find(key) != nullptr; }

ConfigError ConfigReader::error(std::string_view key, std::string_view message) const {
  return ConfigError(path_of(key) + ": " + std::string(message));
}

void ConfigReader::reject_unknown() const {
  for (const auto& [key, value] : config_->items()) {
    if (known_.find(key) != known_.end()) {
      continue;
    }
    std::string known;
    for (const std::string& k : known_) {
      known += known.empty() ? k : ", " + k;
    }
    throw ConfigError(
        path_of(key) + ": unknown key" +
        (known.empty() ? std::string(" (this mapping takes no keys)") : " (known: " + known + ")"));
  }
}

std::string ConfigReader::path_of(std::string_view key) const {
  return path_ + "." + std::string(key);
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  return simpang::parse_duration(text);  // the base library's grammar, shared with the hub
}

}  // namespace simpang::sdk
