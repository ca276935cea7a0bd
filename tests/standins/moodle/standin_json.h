// Helpers of the Moodle stand-in shared by its two files: reading seed JSON leniently and
// writing Moodle's error forms. Internal to the stand-in.
#pragma once

#include <charconv>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "moodle_protocol.h"

namespace simpang::standins::standin_internal {

using nlohmann::json;
namespace moodle = simpang::plugins::lms_moodle;

inline const std::vector<std::string>& default_functions() {
  static const std::vector<std::string> kFunctions = {
      moodle::kSiteInfo, moodle::kCoursesByField, moodle::kEnrolledUsers, moodle::kCompletionStatus,
      moodle::kUserBadges};
  return kFunctions;
}

// Moodle's error form: HTTP 200 and an exception object.
inline json error(const std::string& exception, const std::string& errorcode,
                  const std::string& message, const std::string& debuginfo = "") {
  json e = {{"exception", exception}, {"errorcode", errorcode}, {"message", message}};
  if (!debuginfo.empty()) {
    e["debuginfo"] = debuginfo;
  }
  return e;
}

inline json invalid_parameter(const std::string& what) {
  return error("invalid_parameter_exception", "invalidparameter",
               "Invalid parameter value detected", what);
}

inline json missing_record(const std::string& table) {
  return error("dml_missing_record_exception", "invalidrecord",
               "Can't find data record in database table " + table + ".");
}

inline json no_permission(const std::string& capability, const std::string& title) {
  return error("required_capability_exception", "nopermissions",
               "Sorry, but you do not currently have permissions to do that (" + title + ").",
               capability);
}

inline std::optional<int64_t> to_int(const std::map<std::string, std::string>& params,
                                     const std::string& key) {
  const auto it = params.find(key);
  if (it == params.end()) {
    return std::nullopt;
  }
  int64_t v = 0;
  const auto [ptr, ec] =
      std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
  if (ec != std::errc() || ptr != it->second.data() + it->second.size()) {
    return std::nullopt;
  }
  return v;
}

inline int64_t get_int(const json& j, const char* key, int64_t fallback = 0) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : fallback;
}

inline std::string get_str(const json& j, const char* key, const std::string& fallback = "") {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

inline const json& list(const json& seed, const char* key) {
  static const json kEmpty = json::array();
  const auto it = seed.find(key);
  return it != seed.end() && it->is_array() ? *it : kEmpty;
}

}  // namespace simpang::standins::standin_internal
