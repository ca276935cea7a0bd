// simpang::http::Server on loopback, port 0: routing, keep-alive, asynchronous handlers, every
// limit, back-pressure and graceful stop, through raw sockets and curl.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "simpang/http/server.h"
#include "test_support.h"

namespace simpang::http {
namespace {

using namespace std::chrono_literals;
using simpang::testing::run_command;
using simpang::testing::wait_for;

// A raw client connection with deadline reads.
class Conn {
 public:
  explicit Conn(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~Conn() { ::close(fd_); }
  bool ok() const { return ok_; }
  void send(const std::string& s) { (void)!::write(fd_, s.data(), s.size()); }
  // Reads until `until` appears, the peer closes, or the deadline; returns what was read.
  std::string read(const std::string& until, std::chrono::milliseconds deadline = 5000ms) {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (pending_.find(until) == std::string::npos && !closed_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left <= 0ms) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0)
        closed_ = true;
      else
        pending_.append(buf, static_cast<size_t>(n));
    }
    std::string out;
    out.swap(pending_);
    return out;
  }
  // True once the peer has closed (within the deadline).
  bool closed(std::chrono::milliseconds deadline = 5000ms) {
    read(std::string(1, '\0') + "never", deadline);
    return closed_;
  }

 private:
  int fd_ = -1;
  bool ok_ = false;
  bool closed_ = false;
  std::string pending_;
};

Handler echo() {
  return [](Request req, Responder res) { res.respond(Response::Text(200, "echo:" + req.body)); };
}

// `name` as found on PATH (run_command does not search it).
std::string on_path(const std::string& name) {
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

std::string curl(uint16_t port, std::vector<std::string> extra, const std::string& path) {
  static const std::string binary = on_path("curl");
  std::vector<std::string> argv = {binary, "-s", "-S", "-i", "--max-time", "10"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back("http://127.0.0.1:" + std::to_string(port) + path);
  return run_command(argv, 15s).output;
}

TEST(HttpServer, RoutesExactPrefix404And405WithCurl) {
  Server server({});
  server.route("POST", "/events", echo());
  server.route_prefix("GET", "/items/", [](Request req, Responder res) {
    res.respond(Response::Json(200, "{\"path\":\"" + req.path + "\",\"q\":\"" + req.query + "\"}"));
  });
  ASSERT_TRUE(server.start().ok());
  ASSERT_NE(server.port(), 0);
  std::string out = curl(server.port(), {"-X", "POST", "--data-binary", "hello"}, "/events");
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
  EXPECT_NE(out.find("echo:hello"), std::string::npos) << out;
  out = curl(server.port(), {}, "/items/7?x=1");
  EXPECT_NE(out.find("{\"path\":\"/items/7\",\"q\":\"x=1\"}"), std::string::npos) << out;
  out = curl(server.port(), {}, "/nowhere");
  EXPECT_NE(out.find("HTTP/1.1 404"), std::string::npos) << out;
  out = curl(server.port(), {}, "/events");
  EXPECT_NE(out.find("HTTP/1.1 405"), std::string::npos) << out;
  EXPECT_NE(out.find("Allow: POST"), std::string::npos) << out;
}

TEST(HttpServer, AnswersExpect100ContinueForALargeBody) {
  Server server({});
  server.route("POST", "/e", [](Request req, Responder res) {
    res.respond(Response::Text(200, "got " + std::to_string(req.body.size())));
  });
  ASSERT_TRUE(server.start().ok());
  simpang::testing::TempDir dir("http-body");
  simpang::testing::write_file(dir / "body", std::string(200 * 1024, 'z'));
  std::string out = curl(
      server.port(),
      {"-v", "-H", "Expect: 100-continue", "--data-binary", "@" + (dir / "body").string()}, "/e");
  EXPECT_NE(out.find("HTTP/1.1 100 Continue"), std::string::npos) << out;
  EXPECT_NE(out.find("got 204800"), std::string::npos) << out;
}

TEST(HttpServer, KeepAliveServesTwoRequestsOnOneConnection) {
  Server server({});
  server.route("POST", "/e", echo());
  ASSERT_TRUE(server.start().ok());
  Conn c(server.port());
  ASSERT_TRUE(c.ok());
  c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\na");
  EXPECT_NE(c.read("echo:a").find("echo:a"), std::string::npos);
  c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nb");
  EXPECT_NE(c.read("echo:b").find("echo:b"), std::string::npos);
  EXPECT_EQ(server.connections(), 1u);
}

TEST(HttpServer, TwoServerThreadsServeConcurrentKeepAliveClients) {
  Server server({.threads = 2});
  std::atomic<int> handled{0};
  server.route("POST", "/e", [&](Request req, Responder res) {
    ++handled;
    // Answered from a thread of its own, as a plugin answering after a publish completion would.
    std::thread([req = std::move(req), res]() mutable {
      res.respond(Response::Text(200, "echo:" + req.body));
    }).detach();
  });
  ASSERT_TRUE(server.start().ok());
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int t = 0; t < 6; ++t) {
    clients.emplace_back([&, t] {
      Conn c(server.port());
      for (int i = 0; i < 20; ++i) {
        std::string body = std::to_string(t) + "-" + std::to_string(i) + ".";
        c.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
               "\r\n\r\n" + body);
        if (c.read("echo:" + body).find("echo:" + body) != std::string::npos) ++answered;
      }
    });
  }
  for (auto& c : clients) c.join();
  EXPECT_EQ(answered.load(), 120);
  EXPECT_EQ(handled.load(), 120);
  EXPECT_TRUE(wait_for([&] { return server.in_flight() == 0; }, 5000ms));
}

TEST(HttpServer, HandlerCompletedLaterFromAnotherThread) {
  Server server({});
  std::mutex mu;
  std::vector<Responder> held;
  server.route("GET", "/later", [&](Request, Responder res) {
    std::lock_guard lock(mu);
    held.push_back(res);
  });
  ASSERT_TRUE(server.start().ok());
  Conn c(server.port());
  c.send("GET /later HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(wait_for(
      [&] {
        std::lock_guard l(mu);
        return held.size() == 1;
      },
      5000ms));
  EXPECT_EQ(server.in_flight(), 1u);
  std::thread([&] {
    std::lock_guard lock(mu);
    EXPECT_TRUE(held[0].respond(Response::Text(202, "done later")));
    EXPECT_FALSE(held[0].respond(Response::Text(200, "twice")));
  }).join();
  std::string out = c.read("done later");
  EXPECT_NE(out.find("HTTP/1.1 202"), std::string::npos) << out;
  EXPECT_TRUE(wait_for([&] { return server.in_flight() == 0; }, 5000ms));
}

TEST(HttpServer, OversizedHeaderGets431) {
  Server server({.max_header_bytes = 1024});
  server.route("GET", "/", echo());
  ASSERT_TRUE(server.start().ok());
  std::string out = curl(server.port(), {"-H", "X-Big: " + std::string(4000, 'a')}, "/");
  EXPECT_NE(out.find("HTTP/1.1 431"), std::string::npos) << out;
  EXPECT_NE(out.find("max_header_bytes"), std::string::npos) << out;
}

TEST(HttpServer, OversizedBodyGets413ByLengthAndWhenChunked) {
  Server server({.max_body_bytes = 100});
  server.route("POST", "/", echo());
  ASSERT_TRUE(server.start().ok());
  std::string out = curl(server.port(), {"--data-binary", std::string(500, 'x')}, "/");
  EXPECT_NE(out.find("HTTP/1.1 413"), std::string::npos) << out;
  EXPECT_NE(out.find("max_body_bytes"), std::string::npos) << out;
  Conn c(server.port());
  c.send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n");
  for (int i = 0; i < 4; ++i) c.send("32\r\n" + std::string(50, 'y') + "\r\n");
  out = c.read("max_body_bytes");
  EXPECT_NE(out.find("HTTP/1.1 413"), std::string::npos) << out;
  EXPECT_TRUE(c.closed());
}

TEST(HttpServer, SlowHeaderAndBodyGet408ThenClose) {
  Server server({.header_timeout = 300ms, .body_timeout = 300ms});
  server.route("POST", "/", echo());
  ASSERT_TRUE(server.start().ok());
  Conn h(server.port());
  h.send("POST / HTTP/1.1\r\nHost: x\r\n");  // header never finished
  std::string out = h.read("header_timeout");
  EXPECT_NE(out.find("HTTP/1.1 408"), std::string::npos) << out;
  EXPECT_TRUE(h.closed());
  Conn b(server.port());
  b.send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");  // body never finished
  out = b.read("body_timeout");
  EXPECT_NE(out.find("HTTP/1.1 408"), std::string::npos) << out;
  EXPECT_TRUE(b.closed());
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosed) {
  Server server({.idle_timeout = 200ms});
  server.route("GET", "/", echo());
  ASSERT_TRUE(server.start().ok());
  Conn c(server.port());
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.read("echo:").find("HTTP/1.1 200"), std::string::npos);
  EXPECT_TRUE(c.closed(5000ms));
}

TEST(HttpServer, TooManyConnectionsGets503WithRetryAfter) {
  Server server({.max_connections = 1, .retry_after_seconds = 7});
  server.route("GET", "/", echo());
  ASSERT_TRUE(server.start().ok());
  Conn first(server.port());
  ASSERT_TRUE(wait_for([&] { return server.connections() == 1; }, 5000ms));
  Conn second(server.port());
  std::string out = second.read("max_connections");
  EXPECT_NE(out.find("HTTP/1.1 503"), std::string::npos) << out;
  EXPECT_NE(out.find("Retry-After: 7"), std::string::npos) << out;
  EXPECT_TRUE(second.closed());
}

TEST(HttpServer, AConnectionFloodStaysWithinTheLimit) {
  Server server({.max_connections = 4});
  server.route("GET", "/", echo());
  ASSERT_TRUE(server.start().ok());
  std::vector<std::unique_ptr<Conn>> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::make_unique<Conn>(server.port()));
  ASSERT_TRUE(wait_for([&] { return server.connections() == 4; }, 5000ms));
  for (int i = 0; i < 30; ++i) {
    Conn extra(server.port());
    std::string out = extra.read("max_connections");
    ASSERT_NE(out.find("HTTP/1.1 503"), std::string::npos) << i << ": " << out;
    EXPECT_LE(server.connections(), 4u);
  }
  // The held connections are still served.
  held[0]->send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(held[0]->read("echo:").find("HTTP/1.1 200"), std::string::npos);
}

TEST(HttpServer, AResponderDroppedWithoutAnswerGives500) {
  Server server({});
  server.route("GET", "/", [](Request, Responder) {});
  ASSERT_TRUE(server.start().ok());
  Conn c(server.port());
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = c.read("without answering");
  EXPECT_NE(out.find("HTTP/1.1 500"), std::string::npos) << out;
  EXPECT_TRUE(wait_for([&] { return server.in_flight() == 0; }, 5000ms));
}

TEST(HttpServer, AHandlerThatThrowsGives500AndTheServerCarriesOn) {
  Server server({});
  server.route("GET", "/throw", [](Request, Responder) { throw std::runtime_error("boom"); });
  server.route("GET", "/", echo());
  ASSERT_TRUE(server.start().ok());
  Conn c(server.port());
  c.send("GET /throw HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.read("without answering").find("HTTP/1.1 500"), std::string::npos);
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(c.read("echo:").find("HTTP/1.1 200"), std::string::npos);
}

TEST(HttpServer, TooManyInFlightAndOverloadedGet503WithRetryAfter) {
  Server server({.max_in_flight = 1, .retry_after_seconds = 3});
  std::mutex mu;
  std::vector<Responder> held;
  server.route("GET", "/", [&](Request, Responder res) {
    std::lock_guard lock(mu);
    held.push_back(res);
  });
  ASSERT_TRUE(server.start().ok());
  Conn a(server.port());
  a.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(wait_for([&] { return server.in_flight() == 1; }, 5000ms));
  std::string out = curl(server.port(), {}, "/");
  EXPECT_NE(out.find("HTTP/1.1 503"), std::string::npos) << out;
  EXPECT_NE(out.find("Retry-After: 3"), std::string::npos) << out;
  EXPECT_NE(out.find("max_in_flight"), std::string::npos) << out;
  {
    std::lock_guard lock(mu);
    held[0].respond(Response::Text(200, "first"));
  }
  EXPECT_NE(a.read("first").find("HTTP/1.1 200"), std::string::npos);
  server.set_overloaded(9);
  out = curl(server.port(), {}, "/");
  EXPECT_NE(out.find("HTTP/1.1 503"), std::string::npos) << out;
  EXPECT_NE(out.find("Retry-After: 9"), std::string::npos) << out;
  server.clear_overloaded();
  {
    std::lock_guard lock(mu);
    held.clear();
  }
  std::thread answer([&] {
    wait_for(
        [&] {
          std::lock_guard l(mu);
          return !held.empty();
        },
        5000ms);
    std::lock_guard lock(mu);
    if (!held.empty()) held[0].respond(Response::Text(200, "again"));
  });
  out = curl(server.port(), {}, "/");
  answer.join();
  EXPECT_NE(out.find("again"), std::string::npos) << out;
}

TEST(HttpServer, GracefulStopFinishesARequestInFlight) {
  Server server({});
  std::mutex mu;
  std::vector<Responder> held;
  server.route("GET", "/", [&](Request, Responder res) {
    std::lock_guard lock(mu);
    held.push_back(res);
  });
  ASSERT_TRUE(server.start().ok());
  Conn c(server.port());
  c.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(wait_for([&] { return server.in_flight() == 1; }, 5000ms));
  std::thread stopper([&] { server.stop(10s); });
  // Once stop() has closed the listening socket it is waiting for the request: answering it now
  // must still reach the client.
  EXPECT_TRUE(wait_for([&] { return !Conn(server.port()).ok(); }, 5000ms));
  {
    std::lock_guard lock(mu);
    held[0].respond(Response::Text(200, "finished during stop"));
  }
  std::string out = c.read("finished during stop");
  stopper.join();
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << out;
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
}

TEST(HttpServer, NonLoopbackBindWarnsThroughTheLogCallback) {
  std::mutex mu;
  std::vector<std::string> warnings;
  Server server({.bind_address = "0.0.0.0", .log = [&](LogLevel l, const std::string& m) {
                   std::lock_guard lock(mu);
                   if (l == LogLevel::kWarn) warnings.push_back(m);
                 }});
  ASSERT_TRUE(server.start().ok());
  std::lock_guard lock(mu);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("without TLS"), std::string::npos);
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

TEST(HttpServer, ServesHttpsWithKeepAliveWhenACertificateIsConfigured) {
  SelfSigned tls;
  ASSERT_TRUE(tls.made);
  Server server(
      {.header_timeout = 500ms, .tls_certificate_file = tls.cert, .tls_private_key_file = tls.key});
  server.route("POST", "/e", echo());
  ASSERT_TRUE(server.start().ok());
  std::string url = "https://127.0.0.1:" + std::to_string(server.port()) + "/e";
  auto r = run_command({on_path("curl"), "-s", "-S", "-v", "--max-time", "10", "--cacert", tls.cert,
                        "--data-binary", "secure", url, url},
                       15s);
  EXPECT_EQ(r.status, 0) << r.output;
  size_t first = r.output.find("echo:secure");
  ASSERT_NE(first, std::string::npos) << r.output;
  EXPECT_NE(r.output.find("echo:secure", first + 1), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("Re-using existing connection"), std::string::npos) << r.output;
  // Plain HTTP to the TLS port gets nowhere, and a client that never handshakes is closed.
  std::string out = curl(server.port(), {}, "/e");
  EXPECT_EQ(out.find("echo:"), std::string::npos) << out;
  Conn silent(server.port());
  EXPECT_TRUE(silent.closed(5000ms));
}

TEST(HttpServer, StartNamesAMissingTlsFile) {
  Server server({.tls_certificate_file = "missing-cert.pem", .tls_private_key_file = "k.pem"});
  Status s = server.start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("missing-cert.pem"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace simpang::http
