// The lms-caliper plugin: an IMS Caliper 1.1 / 1.2 endpoint (and Canvas live events in both of
// Canvas's formats). Sensors POST envelopes to `path` with a Bearer token; every envelope is
// checked whole (caliper_envelope.h) on a server thread, turned into events (caliper_mapping.h),
// published with completion on the runtime thread, and answered 200 only once the hub has made
// every event of the envelope durable. All-or-nothing: a bad item refuses the whole envelope.
//
// The port file in the state directory holds the bound port once the server listens.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "caliper_envelope.h"
#include "caliper_mapping.h"
#include "lms_caliper_config.h"
#include "simpang/http/auth.h"
#include "simpang/http/server.h"
#include "simpang/sdk/plugin.h"

namespace simpang::plugins::lms_caliper {

inline constexpr char kPortFile[] = "port";
inline constexpr int kRetryAfterSeconds = 1;

class LmsCaliper : public simpang::sdk::Source {
 public:
  // Reads the configuration; throws simpang::sdk::ConfigError.
  explicit LmsCaliper(simpang::sdk::Context& ctx);
  ~LmsCaliper() override;
  LmsCaliper(const LmsCaliper&) = delete;
  LmsCaliper& operator=(const LmsCaliper&) = delete;

  // Starts the server and writes the port file; throws std::runtime_error when it cannot listen.
  void on_start(simpang::sdk::Context& ctx) override;
  // Stops accepting; requests in flight are answered by their publish completions.
  void on_stop(simpang::sdk::Context& ctx) override;

  uint16_t port() const;  // REQUIRES: on_start succeeded

 private:
  // Server threads.
  void handle_post(simpang::sdk::Context& ctx, simpang::http::Request request,
                   simpang::http::Responder responder);
  void refuse(simpang::sdk::Context& ctx, const simpang::http::Request& request,
              simpang::http::Responder& responder, simpang::http::Response response);
  // Runtime thread.
  void publish(simpang::sdk::Context& ctx, std::vector<simpang::v1::Event> events, size_t items,
               bool canvas, std::shared_ptr<simpang::http::Responder> responder);
  void write_port_file(simpang::sdk::Context& ctx);

  const LmsCaliperConfig config_;
  const MappingOptions mapping_;
  std::optional<simpang::http::BearerAuth> auth_;
  const std::filesystem::path port_file_;
  std::unique_ptr<simpang::http::Server> server_;
  std::thread stopper_;
  bool overloaded_ = false;  // runtime thread
};

}  // namespace simpang::plugins::lms_caliper
