// simpang::http::Client against real servers on loopback: the SDK's own simpang::http::Server
// (plain and TLS), a counting TCP relay in front of it to see connections, and raw sockets where a
// server must misbehave (a chunked body without end, a TLS port that never handshakes).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "http_client_test_support.h"
#include "simpang/http/client.h"
#include "simpang/http/server.h"

namespace simpang::http {
namespace {

using namespace std::chrono_literals;
using namespace simpang::http::client_test;
using simpang::testing::wait_for;

TEST(HttpClient, GetAndPostRoundTripWithHeadersAndBody) {
  Server server({});
  server.route("POST", "/echo", [](Request req, Responder res) {
    Response r = Response::Text(201, "got:" + req.body);
    r.headers.emplace_back("X-Method", req.method);
    const std::string* test = req.header("x-test");
    r.headers.emplace_back("X-Saw-Test", test ? *test : "none");
    const std::string* type = req.header("content-type");
    r.headers.emplace_back("X-Saw-Type", type ? *type : "none");
    const std::string* agent = req.header("user-agent");
    r.headers.emplace_back("X-Saw-Agent", agent ? *agent : "none");
    res.respond(std::move(r));
  });
  server.route("GET", "/hello", [](Request req, Responder res) {
    res.respond(Response::Json(200, "{\"query\":\"" + req.query + "\"}"));
  });
  ASSERT_TRUE(server.start().ok());
  Client client({});

  ClientResult post = fetch(client, {.method = "POST",
                                     .url = url(server.port(), "/echo"),
                                     .headers = {{"X-Test", "one two"}},
                                     .body = std::string("pay\0load\n", 9)});
  ASSERT_TRUE(post.ok()) << post.error().message;
  EXPECT_EQ(post->status, 201);
  EXPECT_EQ(post->body, "got:" + std::string("pay\0load\n", 9));  // binary-safe both ways
  ASSERT_NE(post->header("x-method"), nullptr);
  EXPECT_EQ(*post->header("X-METHOD"), "POST");
  EXPECT_EQ(*post->header("X-Saw-Test"), "one two");
  EXPECT_EQ(*post->header("X-Saw-Type"), "none");  // libcurl's form type is not sent
  EXPECT_EQ(*post->header("X-Saw-Agent"), default_user_agent());
  EXPECT_EQ(post->header("Content-Type") ? *post->header("Content-Type") : "",
            "text/plain; charset=utf-8");

  ClientResult get = fetch(client, {.url = url(server.port(), "/hello?x=1")});
  ASSERT_TRUE(get.ok()) << get.error().message;
  EXPECT_EQ(get->status, 200);
  EXPECT_EQ(get->body, "{\"query\":\"x=1\"}");
  EXPECT_EQ(*get->header("content-type"), "application/json");
}

TEST(HttpClient, A404AndA503AreResponsesAndRetryAfterIsRead) {
  Server server({});
  server.route("GET", "/busy", [](Request, Responder res) {
    Response r = Response::Text(503, "later\n");
    r.headers.emplace_back("Retry-After", "7");
    res.respond(std::move(r));
  });
  ASSERT_TRUE(server.start().ok());
  Client client({});
  ClientResult missing = fetch(client, {.url = url(server.port(), "/nowhere")});
  ASSERT_TRUE(missing.ok()) << missing.error().message;
  EXPECT_EQ(missing->status, 404);
  ClientResult busy = fetch(client, {.url = url(server.port(), "/busy")});
  ASSERT_TRUE(busy.ok()) << busy.error().message;
  EXPECT_EQ(busy->status, 503);
  EXPECT_EQ(busy->retry_after(), std::chrono::seconds(7));
}

TEST(HttpClient, ARedirectIsTheResponseUnlessRedirectsAreAllowed) {
  Server server({});
  server.route("GET", "/old", [](Request, Responder res) {
    Response r = Response::Text(302, "moved\n");
    r.headers.emplace_back("Location", "/new");
    res.respond(std::move(r));
  });
  server.route("GET", "/new",
               [](Request, Responder res) { res.respond(Response::Text(200, "new")); });
  ASSERT_TRUE(server.start().ok());
  Client strict({});
  ClientResult seen = fetch(strict, {.url = url(server.port(), "/old")});
  ASSERT_TRUE(seen.ok()) << seen.error().message;
  EXPECT_EQ(seen->status, 302);
  Client following({.max_redirects = 2});
  ClientResult followed = fetch(following, {.url = url(server.port(), "/old")});
  ASSERT_TRUE(followed.ok()) << followed.error().message;
  EXPECT_EQ(followed->status, 200);
  EXPECT_EQ(followed->body, "new");
}

TEST(HttpClient, ConnectionRefusedIsAConnectErrorNamingTheUrlWithoutSecrets) {
  Client client({});
  uint16_t port = closed_port();
  ClientResult r = fetch(client, {.url = "http://user:hunter2@127.0.0.1:" + std::to_string(port) +
                                         "/hook?token=s3cret#frag"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ClientErrorKind::kConnect) << r.error().message;
  EXPECT_NE(r.error().message.find("GET " + url(port, "/hook") + ": could not connect"),
            std::string::npos)
      << r.error().message;
  EXPECT_EQ(r.error().message.find("hunter2"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("s3cret"), std::string::npos) << r.error().message;
}

TEST(HttpClient, InvalidRequestsAreRefusedOffTheCallersThread) {
  Client client({});
  const std::thread::id caller = std::this_thread::get_id();
  for (ClientRequest bad :
       {ClientRequest{.url = "ftp://127.0.0.1/file"}, ClientRequest{.url = "no scheme at all"},
        ClientRequest{.method = "GE T", .url = "http://127.0.0.1/"},
        ClientRequest{.url = "http://127.0.0.1/", .headers = {{"X-Evil", "a\r\nInjected: yes"}}}}) {
    std::promise<std::pair<ClientResult, std::thread::id>> promise;
    auto future = promise.get_future();
    client.send(bad, [&](ClientResult r) { promise.set_value({r, std::this_thread::get_id()}); });
    ASSERT_EQ(future.wait_for(20s), std::future_status::ready);
    auto [result, thread] = future.get();
    ASSERT_FALSE(result.ok()) << bad.url;
    EXPECT_EQ(result.error().kind, ClientErrorKind::kInvalidRequest) << result.error().message;
    EXPECT_NE(thread, caller);
  }
  ClientResult ftp = fetch(client, {.url = "ftp://127.0.0.1/file"});
  EXPECT_NE(ftp.error().message.find("only http and https"), std::string::npos)
      << ftp.error().message;
}

TEST(HttpClient, AHandlerThatNeverAnswersGivesATotalTimeout) {
  Held held;
  Server server({});
  server.route("GET", "/silent", held.handler());
  ASSERT_TRUE(server.start().ok());
  Client client({.total_timeout = 300ms});
  auto start = std::chrono::steady_clock::now();
  ClientResult r = fetch(client, {.url = url(server.port(), "/silent")});
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ClientErrorKind::kTimeout) << r.error().message;
  EXPECT_NE(r.error().message.find("300 ms"), std::string::npos) << r.error().message;
  // The configured timeout ended it (libcurl's clock may run a millisecond ahead of this one).
  EXPECT_GE(elapsed, 290ms);
  EXPECT_LT(elapsed, 10s);
  // A request's own timeout overrides the client's.
  ClientResult own = fetch(client, {.url = url(server.port(), "/silent"), .timeout = 150ms});
  ASSERT_FALSE(own.ok());
  EXPECT_NE(own.error().message.find("150 ms"), std::string::npos) << own.error().message;
  held.answer_all(200);
}

TEST(HttpClient, ATlsPortThatNeverHandshakesGivesAConnectTimeout) {
  RawServer silent([](int fd, const std::atomic<bool>& stopping) {
    // Takes the TLS ClientHello and answers nothing, until the client gives up.
    char buf[4096];
    while (!stopping) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0 && ::read(fd, buf, sizeof buf) <= 0) return;
    }
  });
  Client client({.connect_timeout = 300ms, .total_timeout = 10s});
  ClientResult r = fetch(client, {.url = url(silent.port(), "/", "https")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ClientErrorKind::kConnectTimeout) << r.error().message;
  EXPECT_NE(r.error().message.find("connect_timeout (300 ms"), std::string::npos)
      << r.error().message;
}

TEST(HttpClient, AResponseOverTheLimitIsTooLargeByLengthAndWhenChunked) {
  Server server({});
  server.route("GET", "/big", [](Request, Responder res) {
    res.respond(Response::Text(200, std::string(5000, 'x')));
  });
  server.route("GET", "/fits", [](Request, Responder res) {
    res.respond(Response::Text(200, std::string(1000, 'y')));
  });
  ASSERT_TRUE(server.start().ok());
  // Chunks without end: only the client's limit stops it.
  RawServer endless([](int fd, const std::atomic<bool>&) {
    char buf[4096];
    (void)!::read(fd, buf, sizeof buf);
    std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    if (::send(fd, head.data(), head.size(), MSG_NOSIGNAL) <= 0) return;
    std::string chunk = "400\r\n" + std::string(1024, 'z') + "\r\n";
    for (int i = 0; i < 1000; ++i) {
      if (::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL) <= 0) return;
    }
  });
  Client client({.max_response_bytes = 1000});
  ClientResult fits = fetch(client, {.url = url(server.port(), "/fits")});
  ASSERT_TRUE(fits.ok()) << fits.error().message;
  EXPECT_EQ(fits->body.size(), 1000u);
  for (uint16_t port : {server.port(), endless.port()}) {
    ClientResult big = fetch(client, {.url = url(port, port == server.port() ? "/big" : "/")});
    ASSERT_FALSE(big.ok());
    EXPECT_EQ(big.error().kind, ClientErrorKind::kTooLarge) << big.error().message;
    EXPECT_NE(big.error().message.find("max_response_bytes (1000 bytes)"), std::string::npos)
        << big.error().message;
  }
}

TEST(HttpClient, HttpsVerifiesTheCertificateByDefaultAndTrustsTheGivenCaFile) {
  SelfSigned tls;
  ASSERT_TRUE(tls.made);
  Server server({.tls_certificate_file = tls.cert, .tls_private_key_file = tls.key});
  server.route("GET", "/s",
               [](Request, Responder res) { res.respond(Response::Text(200, "safe")); });
  ASSERT_TRUE(server.start().ok());

  Client verifying({});
  ClientResult refused = fetch(verifying, {.url = url(server.port(), "/s", "https")});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ClientErrorKind::kTls) << refused.error().message;
  EXPECT_NE(refused.error().message.find("certificate"), std::string::npos)
      << refused.error().message;

  Client trusting({.ca_file = tls.cert});
  ClientResult ok = fetch(trusting, {.url = url(server.port(), "/s", "https")});
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->body, "safe");

  std::vector<std::string> warnings;
  Client careless({.verify_tls = false, .log = [&](LogLevel level, const std::string& m) {
                     if (level == LogLevel::kWarn) warnings.push_back(m);
                   }});
  ClientResult unchecked = fetch(careless, {.url = url(server.port(), "/s", "https")});
  ASSERT_TRUE(unchecked.ok()) << unchecked.error().message;
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("verify_tls = false"), std::string::npos) << warnings[0];
}

TEST(HttpClient, SequentialRequestsReuseOneConnection) {
  Server server({});
  server.route("GET", "/n", [](Request, Responder res) { res.respond(Response::Text(200, "n")); });
  ASSERT_TRUE(server.start().ok());
  CountingRelay relay(server.port());
  Client client({});
  for (int i = 0; i < 20; ++i) {
    ClientResult r = fetch(client, {.url = url(relay.port(), "/n")});
    ASSERT_TRUE(r.ok()) << i << ": " << r.error().message;
    ASSERT_EQ(r->status, 200);
  }
  EXPECT_EQ(relay.accepted(), 1);
}

TEST(HttpClient, ConcurrentSendsCompleteWithNoMoreThanMaxInFlightAtTheServer) {
  Held held;
  std::atomic<size_t> most_at_once{0};
  Server server({});
  server.route("GET", "/slow", [&](Request req, Responder res) {
    held.handler()(std::move(req), std::move(res));
    size_t now = held.size();
    size_t seen = most_at_once.load();
    while (now > seen && !most_at_once.compare_exchange_weak(seen, now)) {
    }
  });
  ASSERT_TRUE(server.start().ok());
  Client client({.max_in_flight = 8});
  Results results;
  for (int i = 0; i < 100; ++i) {
    client.send({.url = url(server.port(), "/slow?i=" + std::to_string(i))}, results.callback());
  }
  // Each round: the server holds a full window of 8 (the last round 4), then answers them all.
  for (size_t answered = 0; answered < 100;) {
    size_t window = std::min<size_t>(8, 100 - answered);
    ASSERT_TRUE(wait_for([&] { return held.size() == window; }, 20000ms)) << answered;
    if (answered == 0) {
      EXPECT_EQ(client.in_flight(), 8u);
      EXPECT_EQ(client.queued(), 92u);
    }
    held.answer_all(200);
    answered += window;
  }
  ASSERT_TRUE(results.wait_count(100));
  std::vector<ClientResult> all = results.take();
  EXPECT_EQ(std::count_if(all.begin(), all.end(),
                          [](const ClientResult& r) { return r.ok() && r->status == 200; }),
            100);
  EXPECT_EQ(most_at_once.load(), 8u);
  EXPECT_TRUE(wait_for([&] { return client.in_flight() == 0; }, 5000ms));
}

TEST(HttpClient, TheQueueIsBoundedAndRefusesAtOnceBeyondIt) {
  Held held;
  Server server({});
  server.route("GET", "/slow", held.handler());
  ASSERT_TRUE(server.start().ok());
  Client client({.max_in_flight = 1, .max_queued = 1});
  Results results;
  client.send({.url = url(server.port(), "/slow")}, results.callback());
  client.send({.url = url(server.port(), "/slow")}, results.callback());
  ClientResult third = fetch(client, {.url = url(server.port(), "/slow")});
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().kind, ClientErrorKind::kQueueFull) << third.error().message;
  EXPECT_NE(third.error().message.find("max_in_flight 1, max_queued 1"), std::string::npos)
      << third.error().message;
  EXPECT_EQ(results.count(), 0u);  // the two accepted are still waiting
  ASSERT_TRUE(wait_for([&] { return held.size() == 1; }, 20000ms));
  held.answer_all(200);
  ASSERT_TRUE(wait_for([&] { return held.size() == 1; }, 20000ms));
  held.answer_all(200);
  ASSERT_TRUE(results.wait_count(2));
  for (const ClientResult& r : results.take()) EXPECT_TRUE(r.ok());
}

TEST(HttpClient, TheCompletionExecutorReceivesEveryCompletion) {
  Server server({});
  server.route("GET", "/e", [](Request, Responder res) { res.respond(Response::Text(200, "e")); });
  ASSERT_TRUE(server.start().ok());
  // The test's thread plays a plugin's runtime thread: it runs what the executor was given.
  std::mutex mu;
  std::deque<std::function<void()>> posted;
  std::atomic<int> executor_calls{0};
  Client client({.completion_executor = [&](std::function<void()> f) {
    ++executor_calls;
    std::lock_guard lock(mu);
    posted.push_back(std::move(f));
  }});
  const std::thread::id runtime = std::this_thread::get_id();
  int completed = 0;
  int on_runtime = 0;
  for (int i = 0; i < 10; ++i) {
    client.send({.url = url(server.port(), "/e")}, [&](ClientResult r) {
      ++completed;
      if (std::this_thread::get_id() == runtime && r.ok()) ++on_runtime;
    });
  }
  client.send({.url = "gopher://127.0.0.1/"}, [&](ClientResult r) {
    ++completed;
    if (std::this_thread::get_id() == runtime && !r.ok()) ++on_runtime;
  });
  ASSERT_TRUE(wait_for(
      [&] {
        std::deque<std::function<void()>> now;
        {
          std::lock_guard lock(mu);
          now.swap(posted);
        }
        for (auto& f : now) f();
        return completed == 11;
      },
      20000ms));
  EXPECT_EQ(executor_calls.load(), 11);
  EXPECT_EQ(on_runtime, 11);
}

TEST(HttpClient, StopCompletesInFlightAndQueuedRequestsAsCancelled) {
  Held held;
  Server server({});
  server.route("GET", "/slow", held.handler());
  ASSERT_TRUE(server.start().ok());
  Client client({.max_in_flight = 2});
  Results results;
  for (int i = 0; i < 5; ++i) client.send({.url = url(server.port(), "/slow")}, results.callback());
  ASSERT_TRUE(wait_for([&] { return held.size() == 2; }, 20000ms));
  EXPECT_EQ(client.queued(), 3u);
  client.stop();
  ASSERT_EQ(results.count(), 5u);  // stop() returns once every completion has run
  int in_flight = 0;
  int before_sent = 0;
  for (const ClientResult& r : results.take()) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().kind, ClientErrorKind::kCancelled) << r.error().message;
    if (r.error().message.find("cancelled in flight") != std::string::npos) ++in_flight;
    if (r.error().message.find("before it was sent") != std::string::npos) ++before_sent;
  }
  EXPECT_EQ(in_flight, 2);
  EXPECT_EQ(before_sent, 3);
  client.stop();  // idempotent
  // After stop, without an executor, a send completes at once, inside the call.
  bool cancelled = false;
  client.send({.url = url(server.port(), "/slow")}, [&](ClientResult r) {
    cancelled = !r.ok() && r.error().kind == ClientErrorKind::kCancelled;
  });
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(HttpClient, AClientDestroyedFromItsOwnCompletionCancelsTheRest) {
  Held held;
  Server server({});
  server.route("GET", "/e", held.handler());
  ASSERT_TRUE(server.start().ok());
  auto client = std::make_unique<Client>(ClientOptions{.max_in_flight = 1});
  Results results;
  ClientCallback collect = results.callback();
  client->send({.url = url(server.port(), "/e")}, [&](ClientResult r) {
    collect(std::move(r));
    client.reset();  // on the client's own thread
  });
  client->send({.url = url(server.port(), "/e")}, collect);
  // Both are sent before the first can complete; from here on the test leaves `client` alone.
  ASSERT_TRUE(wait_for([&] { return held.size() == 1; }, 20000ms));
  held.answer_all(200);
  ASSERT_TRUE(results.wait_count(2));
  std::vector<ClientResult> all = results.take();
  ASSERT_TRUE(all[0].ok()) << all[0].error().message;
  ASSERT_FALSE(all[1].ok());
  EXPECT_EQ(all[1].error().kind, ClientErrorKind::kCancelled);
}

TEST(HttpClient, TheEntityTagStoreMakesTheNextGetConditional) {
  std::atomic<int> conditional{0};
  Server server({});
  server.route("GET", "/doc", [&](Request req, Responder res) {
    const std::string* match = req.header("If-None-Match");
    if (match != nullptr && *match == "W/\"v1\"") {
      ++conditional;
      Response r = Response::Text(304, "");
      r.headers.emplace_back("ETag", "W/\"v1\"");
      res.respond(std::move(r));
      return;
    }
    Response r = Response::Text(200, "version one");
    r.headers.emplace_back("ETag", "W/\"v1\"");
    r.headers.emplace_back("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT");
    res.respond(std::move(r));
  });
  ASSERT_TRUE(server.start().ok());
  Client client({});
  EntityTagStore store;
  const std::string doc = url(server.port(), "/doc");

  ClientRequest first{.url = doc};
  store.add_conditions(first);
  EXPECT_TRUE(first.headers.empty());
  ClientResult r1 = fetch(client, first);
  ASSERT_TRUE(r1.ok()) << r1.error().message;
  EXPECT_EQ(store.record(doc, *r1), EntityTagStore::Outcome::kModified);
  EXPECT_EQ(r1->body, "version one");

  ClientRequest second{.url = doc};
  store.add_conditions(second);
  ClientResult r2 = fetch(client, second);
  ASSERT_TRUE(r2.ok()) << r2.error().message;
  EXPECT_EQ(r2->status, 304);
  EXPECT_EQ(store.record(doc, *r2), EntityTagStore::Outcome::kNotModified);
  EXPECT_TRUE(r2->body.empty());
  EXPECT_EQ(conditional.load(), 1);
}

}  // namespace
}  // namespace simpang::http
