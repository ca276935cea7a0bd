// The bare DEALER -> ROUTER -> DEALER relay simpang-bench uses as its baseline (see bare_relay.h).
#include "bare_relay.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <thread>

#include <zmq.hpp>

namespace simpang::bench {
namespace {

const std::string kConsumerId = "consumer";
const std::string kProducerId = "producer";

zmq::socket_t make_dealer(zmq::context_t& context, const std::string& id,
                          const std::string& endpoint) {
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  socket.set(zmq::sockopt::routing_id, id);
  socket.set(zmq::sockopt::linger, 0);
  socket.connect(endpoint);
  return socket;
}

// Receives one [identity, body] message on the relay's ROUTER and returns the identity.
std::string receive_hello(zmq::socket_t& router) {
  zmq::message_t identity;
  zmq::message_t body;
  if (!router.recv(identity) || !router.recv(body)) {
    throw std::runtime_error("bare relay: handshake receive failed");
  }
  return identity.to_string();
}

}  // namespace

int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

LatencySummary summarize_latencies(std::vector<int64_t>& latencies_ns) {
  LatencySummary summary;
  if (latencies_ns.empty()) {
    return summary;
  }
  std::sort(latencies_ns.begin(), latencies_ns.end());
  // Nearest-rank percentile: the smallest value at least p of the samples do not exceed.
  auto at = [&](double p) {
    const auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(latencies_ns.size())));
    return static_cast<double>(latencies_ns[std::clamp<size_t>(rank, 1, latencies_ns.size()) - 1]) /
           1000.0;
  };
  summary.p50_us = at(0.50);
  summary.p90_us = at(0.90);
  summary.p99_us = at(0.99);
  summary.max_us = static_cast<double>(latencies_ns.back()) / 1000.0;
  return summary;
}

RelayResult run_bare_relay(const RelayOptions& options) {
  if (options.payload_bytes < sizeof(int64_t)) {
    throw std::invalid_argument("bare relay: payload must hold the 8-byte timestamp");
  }
  // Declared first so it is destroyed last, after every socket in it is closed.
  zmq::context_t context;
  zmq::socket_t router(context, zmq::socket_type::router);
  // With ROUTER_MANDATORY a send to a peer whose queue is full blocks instead of dropping, so
  // the relay respects the consumer's high-water mark as the hub's credits would.
  router.set(zmq::sockopt::router_mandatory, 1);
  router.set(zmq::sockopt::linger, 0);
  router.bind(options.endpoint);
  zmq::socket_t consumer = make_dealer(context, kConsumerId, options.endpoint);
  zmq::socket_t producer = make_dealer(context, kProducerId, options.endpoint);

  // Handshake before the clock starts, so connection set-up (ipc://) is not measured and the
  // relay knows the consumer's routing id before the first message arrives.
  consumer.send(zmq::str_buffer("ready"), zmq::send_flags::none);
  producer.send(zmq::str_buffer("ready"), zmq::send_flags::none);
  for (int i = 0; i < 2; ++i) {
    const std::string id = receive_hello(router);
    if (id != kConsumerId && id != kProducerId) {
      throw std::runtime_error("bare relay: unexpected peer '" + id + "'");
    }
  }

  const uint64_t count = options.count;
  std::vector<int64_t> latencies(count);
  int64_t first_send_ns = 0;
  int64_t last_receive_ns = 0;
  std::exception_ptr errors[3];

  // From here each socket is used by one thread only (thread start and join are the barriers).
  // They are closed here, after every thread has finished: a producer closing its socket (linger
  // 0) as soon as it has sent would discard what ipc:// had not yet written out.
  std::thread relay_thread([&, &socket = router] {
    try {
      zmq::message_t identity;
      zmq::message_t body;
      for (uint64_t i = 0; i < count; ++i) {
        if (!socket.recv(identity) || !socket.recv(body)) {
          throw std::runtime_error("relay receive failed");
        }
        socket.send(zmq::buffer(kConsumerId), zmq::send_flags::sndmore);
        socket.send(body, zmq::send_flags::none);
      }
    } catch (...) {
      errors[0] = std::current_exception();
    }
  });
  std::thread consumer_thread([&, &socket = consumer] {
    try {
      zmq::message_t message;
      for (uint64_t i = 0; i < count; ++i) {
        if (!socket.recv(message)) {
          throw std::runtime_error("consumer receive failed");
        }
        const int64_t now = steady_now_ns();
        int64_t sent = 0;
        std::memcpy(&sent, message.data(), sizeof(sent));
        latencies[i] = now - sent;
        last_receive_ns = now;
      }
    } catch (...) {
      errors[1] = std::current_exception();
    }
  });
  std::thread producer_thread([&, &socket = producer] {
    try {
      std::string payload(options.payload_bytes, 'x');
      const auto start = std::chrono::steady_clock::now();
      for (uint64_t i = 0; i < count; ++i) {
        if (options.rate > 0) {
          // Paced from the start time, not from the previous send, so a late send does not
          // lower the offered load.
          const auto due = start + std::chrono::nanoseconds(static_cast<int64_t>(
                                       static_cast<double>(i) * 1e9 / options.rate));
          std::this_thread::sleep_until(due);
        }
        const int64_t now = steady_now_ns();
        if (i == 0) {
          first_send_ns = now;
        }
        std::memcpy(payload.data(), &now, sizeof(now));
        socket.send(zmq::buffer(payload), zmq::send_flags::none);
      }
    } catch (...) {
      errors[2] = std::current_exception();
    }
  });
  producer_thread.join();
  consumer_thread.join();
  relay_thread.join();
  for (const auto& error : errors) {
    if (error) {
      std::rethrow_exception(error);
    }
  }

  RelayResult result;
  result.events = count;
  result.seconds = static_cast<double>(last_receive_ns - first_send_ns) / 1e9;
  result.events_per_second = result.seconds > 0 ? static_cast<double>(count) / result.seconds : 0.0;
  result.latency = summarize_latencies(latencies);
  return result;
}

}  // namespace simpang::bench
