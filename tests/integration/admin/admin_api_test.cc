// The admin API of a real hub (`simpang run` with `admin: {port: 0}`), over real loopback HTTP:
// every endpoint's status, content type and body shape with curl (and the SDK's client beside it),
// readiness naming an instance that cannot start and then ready once it runs, metrics that move
// as events flow and that promtool accepts and a real Prometheus server scrapes, a table of bad
// requests, and bearer-token refusals.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <vector>

#include "simpang/http/client.h"
#include "admin_fixture.h"
#include "test_support.h"

namespace simpang::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;


TEST_F(AdminApi, EveryEndpointAnswersWithItsStatusTypeAndShape) {
  start(flowing_config("admin:\n  port: 0\n"));
  Answer health = curl("/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_NE(health.content_type.find("text/plain"), std::string::npos);

  Answer ready;
  ASSERT_TRUE(wait_for([&] { return (ready = curl("/readyz")).status == 200; }, seconds(30)))
      << ready.body << log();
  EXPECT_EQ(ready.content_type, "application/json");
  json r = json::parse(ready.body);
  EXPECT_EQ(r["status"], "ready");
  EXPECT_EQ(r["journal"], "open");
  EXPECT_EQ(r["instances_total"], 2);
  EXPECT_TRUE(r["not_ready"].empty());

  Answer instances = curl("/api/v1/instances");
  EXPECT_EQ(instances.status, 200);
  EXPECT_EQ(instances.content_type, "application/json");
  json list = json::parse(instances.body)["instances"];
  ASSERT_EQ(list.size(), 2u) << instances.body;
  EXPECT_EQ(list[0]["name"], "sink");
  EXPECT_EQ(list[0]["kind"], "sink");
  EXPECT_EQ(list[1]["name"], "source");
  for (const auto& i : list) {
    EXPECT_EQ(i["isolation"], "thread");
    EXPECT_EQ(i["state"], "running");
    EXPECT_EQ(i["connected"], true);
    EXPECT_EQ(i["failed"], false);
    EXPECT_EQ(i["restarts"], 0);
    EXPECT_TRUE(i["last_error"].is_null());
  }

  Answer routes = curl("/api/v1/routes");
  EXPECT_EQ(routes.status, 200);
  json route_list = json::parse(routes.body)["routes"];
  ASSERT_EQ(route_list.size(), 1u);
  EXPECT_EQ(route_list[0]["name"], "all");
  EXPECT_EQ(route_list[0]["active"], true);
  EXPECT_TRUE(route_list[0]["deliveries"].is_number_unsigned());

  Answer destinations = curl("/api/v1/destinations");
  EXPECT_EQ(destinations.status, 200);
  json dest = json::parse(destinations.body)["destinations"];
  ASSERT_EQ(dest.size(), 1u);
  EXPECT_EQ(dest[0]["name"], "sink");
  for (const char* key : {"pending", "in_flight", "delivered", "retried", "dead"}) {
    EXPECT_TRUE(dest[0][key].is_number_unsigned()) << key << " in " << destinations.body;
  }
  EXPECT_TRUE(dest[0]["connected"].is_boolean());
  EXPECT_TRUE(dest[0]["backlog_on_disk"].is_boolean());

  Answer openapi = curl("/openapi.json");
  EXPECT_EQ(openapi.status, 200);
  json doc = json::parse(openapi.body);
  EXPECT_EQ(doc["openapi"], "3.1.0");
  // The document served is the one kept in docs/.
  EXPECT_EQ(doc, json::parse(read_file(std::filesystem::path(SIMPANG_SOURCE_DIR) / "docs" /
                                       "openapi.json")));
  for (const char* path : {"/healthz", "/readyz", "/metrics", "/api/v1/instances", "/api/v1/routes",
                           "/api/v1/destinations"}) {
    EXPECT_TRUE(doc["paths"].contains(path)) << path;
  }

  Answer metrics = curl("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");

  // The SDK's client beside curl, on the same endpoint.
  http::Client client({});
  std::promise<http::ClientResult> answered;
  client.send({.url = url("/api/v1/instances")},
              [&](http::ClientResult result) { answered.set_value(std::move(result)); });
  auto future = answered.get_future();
  ASSERT_EQ(future.wait_for(seconds(10)), std::future_status::ready);
  http::ClientResult result = future.get();
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->status, 200);
  ASSERT_NE(result->header("Content-Type"), nullptr);
  EXPECT_EQ(*result->header("Content-Type"), "application/json");
  EXPECT_EQ(json::parse(result->body)["instances"].size(), 2u);

  // Every request is logged at debug with its caller.
  EXPECT_NE(log().find("admin: GET /api/v1/instances from 127.0.0.1 (no token configured) -> 200"),
            std::string::npos)
      << log();
}

TEST_F(AdminApi, MetricsMoveAsEventsFlowAndPromtoolAcceptsThem) {
  start(flowing_config("admin:\n  port: 0\n"));
  std::string first;
  ASSERT_TRUE(wait_for(
      [&] {
        first = curl("/metrics").body;
        return sample(first, "simpang_events_published_total") > 0;
      },
      seconds(30)))
      << first;
  std::string later;
  ASSERT_TRUE(wait_for(
      [&] {
        later = curl("/metrics").body;
        return sample(later, "simpang_events_published_total") >
                   sample(first, "simpang_events_published_total") &&
               sample(later, "simpang_route_deliveries_total\\{route=\"all\"\\}") >
                   sample(first, "simpang_route_deliveries_total\\{route=\"all\"\\}") &&
               sample(later, "simpang_destination_delivered_total\\{destination=\"sink\"\\}") >
                   sample(first, "simpang_destination_delivered_total\\{destination=\"sink\"\\}");
      },
      seconds(30)))
      << later;
  for (const char* series :
       {"simpang_build_info\\{version=\"[0-9.]+\"\\}", "simpang_journal_commits_total",
        "simpang_journal_pending_events", "simpang_journal_file_size_bytes",
        "simpang_instance_restarts_total\\{instance=\"source\"\\}",
        "simpang_instance_state\\{instance=\"sink\",state=\"running\"\\}",
        "simpang_destination_pending\\{destination=\"sink\"\\}",
        "simpang_plugin_emitted_total\\{instance=\"source\"\\}"}) {
    EXPECT_GE(sample(later, series), 0) << series << " missing in\n" << later;
  }
  EXPECT_EQ(sample(later, "simpang_instance_state\\{instance=\"sink\",state=\"running\"\\}"), 1);
  EXPECT_EQ(sample(later, "simpang_instance_state\\{instance=\"sink\",state=\"failed\"\\}"), 0);
  EXPECT_GT(sample(later, "simpang_journal_file_size_bytes"), 0);

  write_file(dir_ / "metrics.txt", later);
  CommandResult check =
      run_command({"/bin/sh", "-c", "promtool check metrics < " + (dir_ / "metrics.txt").string()},
                  seconds(30));
  EXPECT_EQ(check.status, 0) << check.output;
  EXPECT_EQ(check.output, "") << "promtool's lint found problems";
}

// A free TCP port on 127.0.0.1 for a server that cannot be told port 0 (Prometheus).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

TEST_F(AdminApi, ARealPrometheusScrapesTheHubAndAnswersAQuery) {
  if (!std::filesystem::exists("/usr/bin/prometheus")) {
    GTEST_SKIP() << "Debian's prometheus is not installed (scripts/dev.sh installs it)";
  }
  start(flowing_config("admin:\n  port: 0\n"));
  const int prometheus_port = free_port();
  write_file(dir_ / "prometheus.yml",
             "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
             "scrape_configs:\n  - job_name: simpang\n    static_configs:\n"
             "      - targets: ['127.0.0.1:" +
                 std::to_string(port_) + "']\n");
  std::filesystem::create_directories(dir_ / "tsdb");
  Process prometheus({"/usr/bin/prometheus", "--config.file=" + (dir_ / "prometheus.yml").string(),
                      "--storage.tsdb.path=" + (dir_ / "tsdb").string(),
                      "--web.listen-address=127.0.0.1:" + std::to_string(prometheus_port)},
                     dir_ / "prometheus.log");
  const std::string query = "http://127.0.0.1:" + std::to_string(prometheus_port) +
                            "/api/v1/query?query=simpang_build_info";
  json answer;
  const bool answered = wait_for(
      [&] {
        CommandResult r =
            run_command({"/usr/bin/curl", "-sf", "--max-time", "5", query}, seconds(10));
        if (r.status != 0) {
          return false;
        }
        answer = json::parse(r.output, nullptr, false);
        return answer.is_object() && answer["status"] == "success" &&
               !answer["data"]["result"].empty();
      },
      seconds(60));
  ASSERT_TRUE(answered) << answer.dump() << read_file(dir_ / "prometheus.log");
  const json& series = answer["data"]["result"][0];
  EXPECT_EQ(series["metric"]["job"], "simpang");
  EXPECT_FALSE(series["metric"]["version"].get<std::string>().empty());
  EXPECT_EQ(series["value"][1], "1");
  // The scrape itself was healthy: Prometheus's own `up` for the target.
  CommandResult up = run_command(
      {"/usr/bin/curl", "-sf", "--max-time", "5",
       "http://127.0.0.1:" + std::to_string(prometheus_port) + "/api/v1/query?query=up"},
      seconds(10));
  ASSERT_EQ(up.status, 0);
  EXPECT_EQ(json::parse(up.output)["data"]["result"][0]["value"][1], "1") << up.output;
  EXPECT_TRUE(prometheus.stop(seconds(20)).has_value()) << read_file(dir_ / "prometheus.log");
}

TEST_F(AdminApi, ReadinessNamesAnInstanceThatCannotStartThenTurnsReady) {
  // The crasher throws from on_start once, then runs after its restart backoff. While it waits,
  // readiness names it with the hub's reason (its process was lost and killed), not a bare
  // "not connected".
  start(hub_section() +
        "plugins:\n"
        "  - name: source\n    plugin: test-source\n    config: {count: 100, manifest: " +
        (dir_ / "manifest.jsonl").string() +
        "}\n"
        "  - name: crasher\n    plugin: test-crasher\n    isolation: process\n"
        "    restart: {initial_backoff: 3s, max_failures: 5, window: 1m}\n"
        "    config: {mode: throw_on_start, path: " +
        (dir_ / "out.jsonl").string() + ", once: " + (dir_ / "misbehaved").string() +
        "}\n"
        "routes:\n  - name: all\n    from: [source]\n    to: [crasher]\n"
        "admin:\n  port: 0\n");
  json not_ready;
  ASSERT_TRUE(wait_for(
      [&] {
        Answer a = curl("/readyz");
        if (a.status != 503) {
          return false;
        }
        EXPECT_EQ(a.content_type, "application/json");
        json body = json::parse(a.body);
        for (const auto& i : body["not_ready"]) {
          if (i["name"] == "crasher" && i["state"] == "backoff" &&
              !i["reason"].get<std::string>().starts_with("not connected")) {
            not_ready = body;
            return true;
          }
        }
        return false;
      },
      seconds(30)))
      << log();
  EXPECT_EQ(not_ready["status"], "not ready");
  ASSERT_EQ(not_ready["not_ready"].size(), 1u) << not_ready.dump();
  // The instances view says the same.
  json instances = json::parse(curl("/api/v1/instances").body)["instances"];
  EXPECT_EQ(instances[0]["name"], "crasher");
  EXPECT_EQ(instances[0]["connected"], false);
  EXPECT_EQ(instances[0]["state"], "backoff");
  EXPECT_FALSE(instances[0]["last_error"].is_null());

  Answer ready;
  ASSERT_TRUE(wait_for([&] { return (ready = curl("/readyz")).status == 200; }, seconds(30)))
      << ready.body << log();
  EXPECT_EQ(json::parse(ready.body)["status"], "ready");
  instances = json::parse(curl("/api/v1/instances").body)["instances"];
  EXPECT_EQ(instances[0]["connected"], true);
}

TEST_F(AdminApi, BadRequestsGetProblemDetails) {
  start(flowing_config("admin:\n  port: 0\n"));
  struct Case {
    std::string path;
    std::vector<std::string> args;
    int status;
    std::string header;  // expected in the header block ("" = none)
  };
  const std::string big(20 * 1024, 'x');
  const std::string body_file = (dir_ / "big.body").string();
  write_file(body_file, std::string(100 * 1024, 'y'));
  const std::vector<Case> cases = {
      {"/nope", {}, 404, ""},
      {"/api/v1/instances/", {}, 404, ""},
      {"/api/v2/instances", {}, 404, ""},
      {"/healthz", {"-X", "POST"}, 405, "Allow: GET"},
      {"/api/v1/routes", {"-X", "DELETE"}, 405, "Allow: GET"},
      {"/metrics", {"-X", "PUT", "--data", "x"}, 405, "Allow: GET"},
      {"/metrics", {"-I"}, 405, "Allow: GET"},
      {"/metrics", {"-H", "X-Big: " + big}, 431, ""},
      {"/metrics", {"--data-binary", "@" + body_file}, 413, ""},
  };
  for (const Case& c : cases) {
    Answer a = curl(c.path, c.args);
    EXPECT_EQ(a.status, c.status) << c.path << " " << a.body;
    if (!c.header.empty()) {
      EXPECT_NE(a.headers.find(c.header), std::string::npos) << c.path << "\n" << a.headers;
    }
    if (c.status == 404 || (c.status == 405 && c.args[0] != "-I")) {
      EXPECT_EQ(a.content_type, "application/problem+json") << c.path;
      json p = json::parse(a.body);
      EXPECT_EQ(p["status"], c.status);
      EXPECT_EQ(p["type"], "about:blank");
      EXPECT_EQ(p["instance"], c.path);
      EXPECT_FALSE(p["title"].get<std::string>().empty());
      EXPECT_FALSE(p["detail"].get<std::string>().empty());
    }
  }
  // A query string does not change the endpoint.
  EXPECT_EQ(curl("/metrics?x=1").status, 200);
  // And the hub served on through all of it.
  EXPECT_EQ(curl("/healthz").status, 200);
}

TEST_F(AdminApi, ATokenIsRequiredWhenConfigured) {
  constexpr const char* kToken = "Tq9adminTokenValue";
  constexpr const char* kNext = "Rz4rotatedToken";
  write_file(dir_ / "admin.token", std::string(kToken) + "\n");
  setenv("SIMPANG_IT_ADMIN_NEXT", kNext, 1);
  start(
      flowing_config("admin:\n  listen: 127.0.0.1\n  port: 0\n"
                     "  token: [\"${file:admin.token}\", \"${env:SIMPANG_IT_ADMIN_NEXT}\"]\n"));
  unsetenv("SIMPANG_IT_ADMIN_NEXT");
  const std::string bearer = std::string("Authorization: Bearer ") + kToken;

  Answer none = curl("/metrics");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.content_type, "application/problem+json");
  EXPECT_NE(none.headers.find("WWW-Authenticate: Bearer realm=\"simpang-admin\""),
            std::string::npos)
      << none.headers;
  EXPECT_EQ(json::parse(none.body)["status"], 401);

  Answer wrong = curl("/api/v1/instances", {"-H", "Authorization: Bearer not-the-token"});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.headers.find("error=\"invalid_token\""), std::string::npos) << wrong.headers;
  EXPECT_EQ(curl("/api/v1/routes", {"-H", "Authorization: Basic dXNlcjpwYXNz"}).status, 401);
  EXPECT_EQ(curl("/openapi.json").status, 401);

  EXPECT_EQ(curl("/metrics", {"-H", bearer}).status, 200);
  EXPECT_EQ(curl("/api/v1/instances", {"-H", std::string("Authorization: Bearer ") + kNext}).status,
            200);

  // Probes need no token; readiness then leaves out the instances' names and errors.
  EXPECT_EQ(curl("/healthz").status, 200);
  Answer ready;
  ASSERT_TRUE(wait_for([&] { return (ready = curl("/readyz")).status == 200; }, seconds(30)));
  EXPECT_FALSE(json::parse(ready.body).contains("not_ready")) << ready.body;
  EXPECT_TRUE(json::parse(curl("/readyz", {"-H", bearer}).body).contains("not_ready"));

  // Who called is logged; the token never is.
  EXPECT_NE(log().find("GET /metrics from 127.0.0.1 (token #0) -> 200"), std::string::npos)
      << log();
  EXPECT_NE(log().find("GET /api/v1/instances from 127.0.0.1 (token #1) -> 200"),
            std::string::npos);
  EXPECT_NE(log().find("-> 401"), std::string::npos);
  EXPECT_EQ(log().find(kToken), std::string::npos);
  EXPECT_EQ(log().find(kNext), std::string::npos);
}

TEST_F(AdminApi, ANonLoopbackListenWithoutATokenIsRefusedAtItsLine) {
  write_file(dir_ / "hub.yaml", flowing_config("admin:\n  listen: 0.0.0.0\n  port: 0\n"));
  // The admin section starts after the routes: count its line.
  const std::string yaml = read_file(dir_ / "hub.yaml");
  const int line = static_cast<int>(std::count(yaml.begin(), yaml.end(), '\n')) - 1;
  CommandResult check =
      run_command({simpang_binary().string(), "check", (dir_ / "hub.yaml").string()}, seconds(30));
  EXPECT_EQ(check.status, 1) << check.output;
  EXPECT_NE(check.output.find("hub.yaml:" + std::to_string(line) +
                              ":11: admin.listen '0.0.0.0' is not a loopback address: a token is "
                              "required"),
            std::string::npos)
      << check.output;
  CommandResult run =
      run_command({simpang_binary().string(), "run", (dir_ / "hub.yaml").string()}, seconds(30));
  EXPECT_EQ(run.status, 1) << run.output;

  // A token that is not token68 is refused at the token, without showing it.
  write_file(dir_ / "hub.yaml",
             flowing_config("admin:\n  listen: 0.0.0.0\n  token: \"has space\"\n"));
  check =
      run_command({simpang_binary().string(), "check", (dir_ / "hub.yaml").string()}, seconds(30));
  EXPECT_EQ(check.status, 1);
  EXPECT_NE(check.output.find("admin.token is not a valid bearer token"), std::string::npos)
      << check.output;
  EXPECT_EQ(check.output.find("has space"), std::string::npos) << check.output;
}

TEST_F(AdminApi, APortAlreadyInUseRefusesTheStartAndNamesIt) {
  // Hold a port: the hub's admin API cannot bind it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const std::string held = std::to_string(ntohs(addr.sin_port));
  write_file(dir_ / "hub.yaml", flowing_config("admin:\n  port: " + held + "\n"));
  CommandResult run =
      run_command({simpang_binary().string(), "run", (dir_ / "hub.yaml").string()}, seconds(60));
  ::close(fd);
  EXPECT_EQ(run.status, 1) << run.output;
  EXPECT_NE(run.output.find("admin API: "), std::string::npos) << run.output;
  EXPECT_NE(run.output.find(held), std::string::npos) << run.output;
  EXPECT_FALSE(std::filesystem::exists(dir_ / "state" / "admin.port"));
}

TEST_F(AdminApi, ServesHttpsWhenTlsIsConfigured) {
  CommandResult made =
      run_command({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days",
                   "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                   "-keyout", (dir_ / "admin.key").string(), "-out", (dir_ / "admin.crt").string()},
                  seconds(60));
  ASSERT_EQ(made.status, 0) << made.output;
  write_file(dir_ / "admin.token", "tls-token-1\n");
  start(
      flowing_config("admin:\n  port: 0\n  token: ${file:admin.token}\n"
                     "  tls: {certificate: admin.crt, private_key: admin.key}\n"));
  scheme_ = "https";
  const std::string ca = (dir_ / "admin.crt").string();
  Answer health = curl("/healthz", {"--cacert", ca});
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, "ok\n");
  EXPECT_EQ(curl("/metrics", {"--cacert", ca}).status, 401);
  Answer metrics = curl("/metrics", {"--cacert", ca, "-H", "Authorization: Bearer tls-token-1"});
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("simpang_build_info"), std::string::npos);
  // Plain HTTP on the TLS port gets no answer.
  CommandResult plain = run_command({"/usr/bin/curl", "-sS", "--max-time", "5",
                                     "http://127.0.0.1:" + std::to_string(port_) + "/healthz"},
                                    seconds(10));
  EXPECT_NE(plain.status, 0) << plain.output;
  EXPECT_EQ(plain.output.find("ok"), std::string::npos) << plain.output;
  EXPECT_NE(log().find("admin API on https://127.0.0.1:"), std::string::npos) << log();
}

}  // namespace
}  // namespace simpang::testing

namespace simpang::testing {
namespace {

TEST_F(AdminApi, OneInstanceWithItsPluginMetrics) {
  start(flowing_config("admin:\n  port: 0\n"));
  // The source reports its metrics with its heartbeats (200 ms here).
  json source;
  ASSERT_TRUE(wait_for(
      [&] {
        Answer a = curl("/api/v1/instances/source");
        source = json::parse(a.body, nullptr, false);
        return a.status == 200 && !source["metrics"]["counters"].empty();
      },
      seconds(30)))
      << source << log();
  EXPECT_EQ(source["name"], "source");
  EXPECT_EQ(source["kind"], "source");
  EXPECT_EQ(source["connected"], true);
  EXPECT_TRUE(source["metrics"]["gauges"].is_object());
  Answer missing = curl("/api/v1/instances/nobody");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["detail"], "no instance named 'nobody'");
  Answer escaped = curl("/api/v1/instances/si%6Ek");
  EXPECT_EQ(escaped.status, 200) << escaped.body;
  EXPECT_EQ(json::parse(escaped.body)["name"], "sink");
}

}  // namespace
}  // namespace simpang::testing
