// The HTTP library's log, through a plugin's Context: what a plugin that speaks HTTP gives its
// Server or Client as `log`, so their messages reach the hub's log with the instance's name.
// Header-only, for plugins that link both the SDK and simpang::http (the library itself never
// depends on the SDK).
//
//   options.log = simpang::http::log_to(ctx);
//
// Thread rule: the returned function may be called from any thread (Context::log may).
#pragma once

#include <string>

#include "simpang/http/server.h"
#include "simpang/sdk/plugin.h"

namespace simpang::http {

inline simpang::sdk::LogLevel to_sdk_level(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return simpang::sdk::LogLevel::kDebug;
    case LogLevel::kInfo:
      return simpang::sdk::LogLevel::kInfo;
    case LogLevel::kWarn:
      return simpang::sdk::LogLevel::kWarn;
    case LogLevel::kError:
      return simpang::sdk::LogLevel::kError;
  }
  return simpang::sdk::LogLevel::kInfo;
}

// REQUIRES: `ctx` outlives the Server or Client the function is given to.
inline LogFn log_to(simpang::sdk::Context& ctx) {
  return [&ctx](LogLevel level, const std::string& message) {
    ctx.log(to_sdk_level(level), message);
  };
}

}  // namespace simpang::http
