// The hub's ZAP handler (ZeroMQ RFC 27): decides, for every CURVE connection to the partner door,
// which configured partner the client's public key belongs to. A known key is accepted with the
// partner's name as the ZAP user id, which ZeroMQ then attaches to every message of that
// connection ("User-Id" message property): the broker takes a partner's identity from there, never
// from anything the peer says. An unknown key is refused (status 400) and logged with its
// fingerprint, never with the key's bytes.
//
//   ZapHandler zap(zmq_context, logger);
//   zap.set_partner_keys({{public_key_z85, "acme"}});   // again on reload: revoked keys go
//   if (Status s = zap.start(); !s.ok()) ...            // before the CURVE socket binds
//   ...
//   zap.stop();
//
// Thread rule: start()/stop() from the owning thread; set_partner_keys() and the counters from any
// thread. The handler answers on a thread of its own, in the given ZeroMQ context (ZAP is an
// inproc endpoint, so it must be the context of the socket it authenticates for).
#pragma once

#include <spdlog/logger.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "simpang/base/status.h"

namespace simpang::hub {

class ZapHandler {
 public:
  ZapHandler(void* zmq_context, std::shared_ptr<spdlog::logger> logger);
  ~ZapHandler();  // stop()
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Public key (Z85) -> partner name. Replaces the whole set: connections made from now on are
  // judged by it (closing the live connections of a revoked key is the broker's part). Keys that
  // are not valid Z85 are skipped and returned in the error; the valid ones still apply.
  Status set_partner_keys(const std::map<std::string, std::string>& z85_key_to_partner);

  // Binds inproc://zeromq.zap.01 and starts answering. Fails if another handler holds it.
  Status start();
  void stop();

  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t refused() const { return refused_.load(std::memory_order_relaxed); }

 private:
  struct Reply {
    const char* status_code;
    std::string status_text;
    std::string user_id;
  };
  void serve();
  Reply decide(const std::string& mechanism, const std::string& address,
               const std::string& credential);
  void log_refusal(const std::string& fingerprint, const std::string& address,
                   const std::string& why);

  void* context_;
  std::shared_ptr<spdlog::logger> logger_;
  void* socket_ = nullptr;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex keys_mutex_;
  // Raw 32-byte key -> partner; swapped whole, read under the mutex.
  std::shared_ptr<const std::unordered_map<std::string, std::string>> keys_;

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> refused_{0};

  // Refusal log lines: at most kLogBurst per kLogWindow, the rest counted and reported.
  int logged_in_window_ = 0;
  uint64_t suppressed_ = 0;
  std::chrono::steady_clock::time_point window_start_{};
};

}  // namespace simpang::hub
