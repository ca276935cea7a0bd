// Test fixtures for http_client_test.cc: a one-request helper, completion collectors, a handler
// that holds its requests, a counting TCP relay, a raw socket server for misbehaving servers, and
// a self-signed certificate made by the openssl command.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "simpang/http/client.h"
#include "simpang/http/server.h"
#include "test_support.h"

namespace simpang::http::client_test {

using namespace std::chrono_literals;
using simpang::testing::run_command;
using simpang::testing::wait_for;

inline std::string url(uint16_t port, const std::string& path, const std::string& scheme = "http") {
  return scheme + "://127.0.0.1:" + std::to_string(port) + path;
}

// Sends one request and waits for its completion (20 s as a safety net only).
inline ClientResult fetch(Client& client, ClientRequest request) {
  auto promise = std::make_shared<std::promise<ClientResult>>();
  std::future<ClientResult> future = promise->get_future();
  client.send(std::move(request), [promise](ClientResult r) { promise->set_value(std::move(r)); });
  if (future.wait_for(20s) != std::future_status::ready) {
    return ClientError{ClientErrorKind::kProtocol, "test: no completion within 20 s"};
  }
  return future.get();
}

// Completions gathered from whichever thread runs them.
class Results {
 public:
  ClientCallback callback() {
    return [this](ClientResult r) {
      std::lock_guard lock(mu_);
      results_.push_back(std::move(r));
    };
  }
  bool wait_count(size_t n) {
    return wait_for([&] { return count() >= n; }, 20000ms);
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return results_.size();
  }
  std::vector<ClientResult> take() {
    std::lock_guard lock(mu_);
    return std::move(results_);
  }

 private:
  std::mutex mu_;
  std::vector<ClientResult> results_;
};

// Requests a handler keeps without answering, to be answered (or dropped) by the test.
struct Held {
  std::mutex mu;
  std::vector<Responder> responders;
  size_t size() {
    std::lock_guard lock(mu);
    return responders.size();
  }
  void answer_all(int status) {
    std::vector<Responder> now;
    {
      std::lock_guard lock(mu);
      now.swap(responders);
    }
    for (auto& r : now) r.respond(Response::Text(status, "late\n"));
  }
  Handler handler() {
    return [this](Request, Responder res) {
      std::lock_guard lock(mu);
      responders.push_back(res);
    };
  }
};

inline int listening_socket(uint16_t* port, int backlog = 16) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd, backlog) != 0) {
    ::close(fd);
    return -1;
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

// A loopback port nothing listens on: bound, then closed.
inline uint16_t closed_port() {
  uint16_t port = 0;
  ::close(listening_socket(&port));
  return port;
}

// A TCP relay from its own port to `upstream`, counting the connections clients open through it.
class CountingRelay {
 public:
  explicit CountingRelay(uint16_t upstream) : upstream_(upstream) {
    listen_fd_ = listening_socket(&port_);
    if (::pipe(wake_) != 0) wake_[0] = wake_[1] = -1;
    thread_ = std::thread([this] { run(); });
  }
  ~CountingRelay() {
    (void)!::write(wake_[1], "x", 1);
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_[0]);
    ::close(wake_[1]);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_.load(); }

 private:
  void run() {
    std::vector<std::pair<int, int>> pairs;  // client side, server side
    while (true) {
      std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (auto [a, b] : pairs) {
        fds.push_back({a, POLLIN, 0});
        fds.push_back({b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), -1) < 0) break;
      if (fds[0].revents != 0) break;
      std::vector<std::pair<int, int>> kept;
      for (size_t i = 0; i < pairs.size(); ++i) {
        if (pump(fds[2 + 2 * i], pairs[i].second) && pump(fds[3 + 2 * i], pairs[i].first)) {
          kept.push_back(pairs[i]);
        } else {
          ::close(pairs[i].first);
          ::close(pairs[i].second);
        }
      }
      pairs.swap(kept);
      if (fds[1].revents & POLLIN) {
        int client = ::accept(listen_fd_, nullptr, nullptr);
        ++accepted_;
        int server = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(upstream_);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::connect(server, reinterpret_cast<sockaddr*>(&a), sizeof a);
        pairs.emplace_back(client, server);
      }
    }
    for (auto [a, b] : pairs) {
      ::close(a);
      ::close(b);
    }
  }
  // Copies what `from` has to `to`; false once `from` is closed.
  static bool pump(const pollfd& from, int to) {
    if (from.revents == 0) return true;
    char buf[16384];
    ssize_t n = ::read(from.fd, buf, sizeof buf);
    if (n <= 0) return false;
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
      if (w <= 0) return false;
      off += w;
    }
    return true;
  }

  uint16_t upstream_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// A server that accepts connections and hands each to `serve` on a thread of its own; `serve`
// returns when the connection is done, or soon after `stopping` turns true.
class RawServer {
 public:
  using Serve = std::function<void(int fd, const std::atomic<bool>& stopping)>;
  explicit RawServer(Serve serve) : serve_(std::move(serve)) {
    listen_fd_ = listening_socket(&port_);
    thread_ = std::thread([this] {
      while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) continue;
        connections_.emplace_back([this, fd] {
          serve_(fd, stopping_);
          ::close(fd);
        });
      }
    });
  }
  ~RawServer() {
    stopping_ = true;
    thread_.join();
    for (auto& t : connections_) t.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }

 private:
  Serve serve_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> connections_;
  std::thread thread_;
};

// `name` as found on PATH (run_command does not search it).
inline std::string on_path(const std::string& name) {
  std::string path = getenv("PATH") ? getenv("PATH") : "";
  for (size_t start = 0; start <= path.size();) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string candidate = path.substr(start, end - start) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return name;
}

// A self-signed certificate for 127.0.0.1, made by the openssl command.
struct SelfSigned {
  simpang::testing::TempDir dir{"http-tls"};
  std::string cert = (dir / "cert.pem").string();
  std::string key = (dir / "key.pem").string();
  bool made = run_command({on_path("openssl"), "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                           "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                           "-addext", "subjectAltName=IP:127.0.0.1"},
                          60s)
                  .status == 0;
};

}  // namespace simpang::http::client_test
