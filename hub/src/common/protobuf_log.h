// protobuf's own diagnostics (e.g. "String field ... contains invalid UTF-8 data") written through
// the hub's log instead of straight to stderr, where they would bypass the log's format, level and
// sinks: a peer sending invalid UTF-8 would otherwise print lines of its choosing, unlimited.
#pragma once

#include <memory>

#include <spdlog/logger.h>

namespace simpang::hub {

// Routes protobuf's log handler to `logger`, rate-limited (LogLimiter). Call once at startup,
// before any thread parses protobuf; later calls replace the logger. Thread rule: the handler is
// thread-safe (protobuf may log from any thread).
void route_protobuf_logs(std::shared_ptr<spdlog::logger> logger);

}  // namespace simpang::hub
