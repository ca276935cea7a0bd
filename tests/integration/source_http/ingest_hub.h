// A real `simpang run` with source-http (instance "ingest") routed to sink-jsonl ("capture"), and
// curl as the partner. The clients' secrets reach the plugin through ${env:...} references, as
// in production. Three clients: "acme" (a bearer token; types talent.**; sources /partners/acme/),
// "globex" (a Standard Webhooks secret; types talent.course.*; sources /partners/globex/) and
// "initech" (a bearer token, a quota of 2 events per second; sources /partners/initech/).
//
//   IngestHub hub;
//   HttpAnswer a = hub.post({"-H", "Content-Type: application/cloudevents+json"}, body);
//   EXPECT_EQ(a.status, 202);
//   std::vector<simpang::v1::Event> out = hub.wait_for_output(1);
//
// Thread rule: post() from any thread; everything else from the test's thread.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "simpang/sdk/cloudevents.h"
#include "test_support.h"

namespace simpang::source_http_test {

using namespace std::chrono_literals;

struct HttpAnswer {
  int status = 0;    // of the last response (after any 100 Continue); 0 when there was none
  std::string body;  // of that response
  std::string raw;   // curl's whole output, for failure messages
};

struct IngestOptions {
  bool isolated = false;  // run the instance in a plugin host process
  size_t max_batch_events = 3;
  size_t max_body_bytes = 4096;
  int threads = 1;
};

class IngestHub {
 public:
  static constexpr char kTokenVariable[] = "SIMPANG_IT_SOURCE_HTTP_TOKEN";
  static constexpr char kSecretVariable[] = "SIMPANG_IT_SOURCE_HTTP_SECRET";
  // The client "initech", with a quota of 2 events per second.
  static constexpr char kQuotaToken[] = "initech-quota-token";

  explicit IngestHub(IngestOptions options = {}) : options_(options), dir_("shttp") {
    ::setenv(kTokenVariable, token_.c_str(), 1);
    ::setenv(kSecretVariable, secret_.c_str(), 1);
    simpang::testing::write_file(dir_ / "hub.yaml", config());
    start();
  }
  ~IngestHub() {
    if (hub_) {
      hub_->stop(20s);
    }
    ::unsetenv(kTokenVariable);
    ::unsetenv(kSecretVariable);
  }

  const std::string& token() const { return token_; }
  const std::string& webhook_secret() const { return secret_; }
  std::filesystem::path output_path() const { return dir_ / "out.jsonl"; }
  std::filesystem::path port_file() const { return dir_ / "state/instances/ingest/port"; }
  std::string log() const { return simpang::testing::read_file(dir_ / "hub.log"); }
  uint16_t port() const { return port_; }
  simpang::testing::Process& process() { return *hub_; }

  // Starts the hub and waits until source-http listens (its port file appears).
  void start() {
    std::error_code ignored;
    std::filesystem::remove(port_file(), ignored);
    hub_ = std::make_unique<simpang::testing::Process>(
        std::vector<std::string>{simpang::testing::simpang_binary().string(), "run",
                                 (dir_ / "hub.yaml").string()},
        dir_ / "hub.log");
    const bool listening = simpang::testing::wait_for(
        [&] { return !hub_->running() || std::filesystem::exists(port_file()); }, 30s);
    ASSERT_TRUE(listening && hub_->running()) << "source-http did not come up:\n" << log();
    port_ = static_cast<uint16_t>(std::stoi(simpang::testing::read_file(port_file())));
  }
  // kill -9 of the hub, as a crash.
  void kill_hub() {
    hub_->signal(SIGKILL);
    (void)hub_->wait(20s);
  }

  // POSTs `body` with curl (unless `args` has its own -X), adding the acme bearer token when
  // `bearer`.
  HttpAnswer post(const std::vector<std::string>& args, const std::string& body,
                  bool bearer = true, uint16_t port = 0) const {
    const std::string file =
        (dir_ / ("body-" + std::to_string(next_body_++))).string();
    simpang::testing::write_file(file, body);
    std::vector<std::string> argv = {curl(), "-s", "-S", "-i", "--max-time", "15"};
    bool method = false;
    for (const std::string& a : args) {
      method = method || a == "-X";
    }
    if (!method) {
      argv.insert(argv.end(), {"-X", "POST"});
    }
    if (bearer) {
      argv.insert(argv.end(), {"-H", "Authorization: Bearer " + token_});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    if (!body.empty()) {
      argv.insert(argv.end(), {"--data-binary", "@" + file});
    }
    argv.push_back("http://127.0.0.1:" + std::to_string(port != 0 ? port : port_) + "/events");
    HttpAnswer answer;
    answer.raw = simpang::testing::run_command(argv, 30s).output;
    std::filesystem::remove(file);
    const size_t last = answer.raw.rfind("HTTP/1.1 ");
    if (last == std::string::npos) {
      return answer;
    }
    answer.status = std::atoi(answer.raw.c_str() + last + 9);
    const size_t body_at = answer.raw.find("\r\n\r\n", last);
    if (body_at != std::string::npos) {
      answer.body = answer.raw.substr(body_at + 4);
    }
    return answer;
  }

  // Waits until the sink has written at least `count` events; returns all it has written.
  std::vector<simpang::v1::Event> wait_for_output(size_t count) {
    const bool arrived = simpang::testing::wait_for(
        [&] { return simpang::testing::count_lines(output_path()) >= count; }, 30s);
    EXPECT_TRUE(arrived) << "fewer than " << count << " events arrived\n" << log();
    std::vector<simpang::v1::Event> events;
    for (const std::string& line : simpang::testing::read_lines(output_path())) {
      auto event = simpang::sdk::from_cloudevents_json(line);
      EXPECT_TRUE(event.ok()) << line;
      if (event.ok()) {
        events.push_back(std::move(*event));
      }
    }
    return events;
  }

 private:
  static std::string curl() {
    for (const char* candidate : {"/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"}) {
      if (::access(candidate, X_OK) == 0) {
        return candidate;
      }
    }
    return "curl";
  }

  std::string config() const {
    const std::string out = (dir_ / "out.jsonl").string();
    return "hub:\n"
           "  state_dir: " + (dir_ / "state").string() + "\n"
           "  summary_interval: 0s\n"
           // Long, so that anything waiting for a heartbeat to move shows as a curl timeout: a
           // publish from posted work once waited for the runtime's next wake-up (up to 1 s).
           "  heartbeat: 30s\n"
           "plugins:\n"
           "  - name: ingest\n"
           "    plugin: source-http\n" +
           std::string(options_.isolated ? "    isolation: process\n" : "") +
           "    config:\n"
           "      max_body_bytes: " + std::to_string(options_.max_body_bytes) + "\n"
           "      max_batch_events: " + std::to_string(options_.max_batch_events) + "\n"
           "      threads: " + std::to_string(options_.threads) + "\n"
           "      publish_timeout: 5s\n"
           "      clients:\n"
           "        - name: acme\n"
           "          token: \"${env:" + kTokenVariable + "}\"\n"
           "          types: [\"talent.**\"]\n"
           "          source_prefix: /partners/acme/\n"
           "        - name: globex\n"
           "          webhook_secrets: [\"${env:" + kSecretVariable + "}\"]\n"
           "          types: [\"talent.course.*\"]\n"
           "          source_prefix: /partners/globex/\n"
           "        - name: initech\n"
           "          token: " + std::string(kQuotaToken) + "\n"
           "          types: [\"talent.**\"]\n"
           "          source_prefix: /partners/initech/\n"
           "          events_per_second: 2\n"
           "  - name: capture\n"
           "    plugin: sink-jsonl\n"
           "    config:\n"
           "      path: " + out + "\n"
           "routes:\n"
           "  - name: ingest-to-capture\n"
           "    from: [ingest]\n"
           "    to: [capture]\n";
  }

  const IngestOptions options_;
  simpang::testing::TempDir dir_;
  const std::string token_ = "acme-it-" + std::to_string(::getpid()) + "-token";
  const std::string secret_ = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  std::unique_ptr<simpang::testing::Process> hub_;
  uint16_t port_ = 0;
  mutable std::atomic<uint64_t> next_body_{0};
};

}  // namespace simpang::source_http_test
