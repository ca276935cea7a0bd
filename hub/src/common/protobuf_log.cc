#include "common/protobuf_log.h"

#include <google/protobuf/stubs/logging.h>

#include <mutex>
#include <string>

#include "common/log_limiter.h"
#include "simpang/base/safe_text.h"

namespace simpang::hub {
namespace {

struct ProtobufLog {
  std::mutex mutex;
  std::shared_ptr<spdlog::logger> logger;  // GUARDED_BY(mutex)
  LogLimiter limiter;                      // GUARDED_BY(mutex)
};

ProtobufLog& state() {
  static ProtobufLog* log = new ProtobufLog();  // never destroyed: protobuf may log at exit
  return *log;
}

void handle(google::protobuf::LogLevel level, const char* filename, int line,
            const std::string& message) {
  ProtobufLog& log = state();
  std::lock_guard lock(log.mutex);
  if (!log.logger) {
    return;
  }
  uint64_t held_back = 0;
  if (level < google::protobuf::LOGLEVEL_FATAL &&
      !log.limiter.allow(LogLimiter::Clock::now(), held_back)) {
    return;
  }
  const spdlog::level::level_enum spd_level =
      level == google::protobuf::LOGLEVEL_INFO      ? spdlog::level::info
      : level == google::protobuf::LOGLEVEL_WARNING ? spdlog::level::warn
      : level == google::protobuf::LOGLEVEL_ERROR   ? spdlog::level::err
                                                    : spdlog::level::critical;
  // The message may quote what a peer sent; it is rendered safely like any peer text.
  log.logger->log(spd_level, "protobuf at={}:{}: {}{}", filename, line,
                  safe_text(message, 1024), LogLimiter::suffix(held_back));
}

}  // namespace

void route_protobuf_logs(std::shared_ptr<spdlog::logger> logger) {
  {
    ProtobufLog& log = state();
    std::lock_guard lock(log.mutex);
    log.logger = std::move(logger);
  }
  google::protobuf::SetLogHandler(&handle);
}

}  // namespace simpang::hub
