#include "security/zap_handler.h"

#include <zmq.h>

#include <array>
#include <vector>

#include "security/curve_keys.h"

namespace simpang::hub {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr int kPollMs = 200;  // how soon stop() is noticed
constexpr int kLogBurst = 10;
constexpr auto kLogWindow = std::chrono::seconds(10);

// Receives one multipart message as strings; empty on error.
std::vector<std::string> receive_all(void* socket) {
  std::vector<std::string> frames;
  while (true) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    if (zmq_msg_recv(&msg, socket, 0) < 0) {
      zmq_msg_close(&msg);
      return {};
    }
    frames.emplace_back(static_cast<const char*>(zmq_msg_data(&msg)), zmq_msg_size(&msg));
    const bool more = zmq_msg_more(&msg);
    zmq_msg_close(&msg);
    if (!more) {
      return frames;
    }
  }
}

void send_all(void* socket, const std::vector<std::string>& frames) {
  for (size_t i = 0; i < frames.size(); ++i) {
    const int flags = i + 1 < frames.size() ? ZMQ_SNDMORE : 0;
    zmq_send(socket, frames[i].data(), frames[i].size(), flags);
  }
}

std::string z85_of_raw(const std::string& raw) {
  std::array<char, 41> text{};
  if (raw.size() != 32 || zmq_z85_encode(text.data(), reinterpret_cast<const uint8_t*>(raw.data()),
                                         raw.size()) == nullptr) {
    return {};
  }
  return std::string(text.data(), 40);
}

}  // namespace

ZapHandler::ZapHandler(void* zmq_context, std::shared_ptr<spdlog::logger> logger)
    : context_(zmq_context),
      logger_(std::move(logger)),
      keys_(std::make_shared<const std::unordered_map<std::string, std::string>>()) {}

ZapHandler::~ZapHandler() { stop(); }

Status ZapHandler::set_partner_keys(const std::map<std::string, std::string>& z85_key_to_partner) {
  auto keys = std::make_shared<std::unordered_map<std::string, std::string>>();
  std::string bad;
  for (const auto& [z85, partner] : z85_key_to_partner) {
    StatusOr<std::string> key = parse_curve_key(z85, "the CURVE key of partner '" + partner + "'");
    std::array<uint8_t, 32> raw{};
    if (!key.ok() || zmq_z85_decode(raw.data(), key->c_str()) == nullptr) {
      bad += (bad.empty() ? "" : "; ") + (key.ok() ? "undecodable key" : key.status().message());
      continue;
    }
    (*keys)[std::string(reinterpret_cast<const char*>(raw.data()), raw.size())] = partner;
  }
  {
    std::lock_guard lock(keys_mutex_);
    keys_ = std::move(keys);
  }
  return bad.empty() ? Status::Ok() : Status::Error(bad);
}

Status ZapHandler::start() {
  socket_ = zmq_socket(context_, ZMQ_REP);
  if (socket_ == nullptr) {
    return Status::Error(std::string("ZAP handler: cannot make a socket: ") +
                         zmq_strerror(zmq_errno()));
  }
  const int linger = 0;
  zmq_setsockopt(socket_, ZMQ_LINGER, &linger, sizeof linger);
  if (zmq_bind(socket_, kZapEndpoint) != 0) {
    const std::string why = zmq_strerror(zmq_errno());
    zmq_close(socket_);
    socket_ = nullptr;
    return Status::Error(std::string("ZAP handler: cannot bind ") + kZapEndpoint + ": " + why);
  }
  stopping_ = false;
  thread_ = std::thread([this] { serve(); });
  return Status::Ok();
}

void ZapHandler::stop() {
  if (!thread_.joinable()) {
    return;
  }
  stopping_ = true;
  thread_.join();
  zmq_close(socket_);
  socket_ = nullptr;
}

void ZapHandler::serve() {
  zmq_pollitem_t item{socket_, 0, ZMQ_POLLIN, 0};
  while (!stopping_) {
    if (zmq_poll(&item, 1, kPollMs) <= 0 || (item.revents & ZMQ_POLLIN) == 0) {
      continue;
    }
    // version, request id, domain, address, routing id, mechanism, credentials...
    std::vector<std::string> request = receive_all(socket_);
    if (request.empty()) {
      continue;
    }
    Reply reply;
    std::string request_id = request.size() > 1 ? request[1] : std::string();
    if (request.size() < 6 || request[0] != "1.0") {
      reply = {"500", "malformed ZAP request", ""};
    } else {
      const std::string credential = request.size() > 6 ? request[6] : std::string();
      reply = decide(request[5], request[3], credential);
    }
    send_all(socket_, {"1.0", request_id, reply.status_code, reply.status_text, reply.user_id, ""});
  }
}

ZapHandler::Reply ZapHandler::decide(const std::string& mechanism, const std::string& address,
                                     const std::string& credential) {
  if (mechanism != "CURVE") {
    refused_.fetch_add(1, std::memory_order_relaxed);
    log_refusal("-", address, "mechanism " + mechanism + " is not accepted (CURVE only)");
    return {"400", "CURVE only", ""};
  }
  std::shared_ptr<const std::unordered_map<std::string, std::string>> keys;
  {
    std::lock_guard lock(keys_mutex_);
    keys = keys_;
  }
  auto it = keys->find(credential);
  if (it == keys->end()) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    log_refusal(curve_key_fingerprint(z85_of_raw(credential)), address,
                "the key belongs to no configured partner");
    return {"400", "unknown key", ""};
  }
  accepted_.fetch_add(1, std::memory_order_relaxed);
  logger_->info("partner={} authenticated from address={} key={}", it->second, address,
                curve_key_fingerprint(z85_of_raw(credential)));
  return {"200", "OK", it->second};
}

void ZapHandler::log_refusal(const std::string& fingerprint, const std::string& address,
                             const std::string& why) {
  const auto now = std::chrono::steady_clock::now();
  if (now - window_start_ >= kLogWindow) {
    if (suppressed_ > 0) {
      logger_->warn("partner door: {} more refused connections not logged in the last {}s",
                    suppressed_, kLogWindow.count());
    }
    window_start_ = now;
    logged_in_window_ = 0;
    suppressed_ = 0;
  }
  if (logged_in_window_ >= kLogBurst) {
    ++suppressed_;
    return;
  }
  ++logged_in_window_;
  logger_->warn("partner door: refused a connection from address={} key={}: {}", address,
                fingerprint, why);
}

}  // namespace simpang::hub
