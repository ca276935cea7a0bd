// A real `simpang run` with lms-xapi (instance "lrs") routed to sink-jsonl ("capture"), and curl
// as the learning platform. The client's password reaches the plugin through a ${file:...}
// reference, as in production. One client: "moodle" (username moodle-lrs).
//
//   LrsHub hub;
//   XapiAnswer a = hub.request("POST", "/xapi/statements", statement_json);
//   EXPECT_EQ(a.status, 200);
//   std::vector<simpang::v1::Event> out = hub.wait_for_output(1);
//
// Thread rule: request() from any thread; everything else from the test's thread.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "simpang/sdk/cloudevents.h"
#include "test_support.h"

namespace simpang::lms_xapi_test {

using namespace std::chrono_literals;

inline constexpr char kUser[] = "moodle-lrs";

struct XapiAnswer {
  int status = 0;       // of the response; 0 when there was none
  std::string headers;  // the response's header block
  std::string body;
  std::string raw;  // curl's whole output, for failure messages

  // The value of header `name` (case-insensitive), or "" when absent.
  std::string header(const std::string& name) const {
    std::string lower_headers = headers;
    std::string lower_name = name + ":";
    std::transform(lower_headers.begin(), lower_headers.end(), lower_headers.begin(), ::tolower);
    std::transform(lower_name.begin(), lower_name.end(), lower_name.begin(), ::tolower);
    const size_t at = lower_headers.find("\n" + lower_name);
    if (at == std::string::npos) return "";
    size_t start = at + 1 + lower_name.size();
    while (start < headers.size() && headers[start] == ' ') ++start;
    const size_t end = headers.find('\r', start);
    return headers.substr(start, end - start);
  }
};

struct RequestOptions {
  bool auth = true;     // send the moodle client's Basic credentials
  bool version = true;  // send X-Experience-API-Version: 1.0.3
  std::string content_type = "application/json";
  std::vector<std::string> headers;  // more -H values
};

class LrsHub {
 public:
  LrsHub() : dir_("lrs") {
    simpang::testing::write_file(dir_ / "lrs-password", password_ + "\n");
    simpang::testing::write_file(dir_ / "hub.yaml", config());
    start();
  }
  ~LrsHub() {
    if (hub_) hub_->stop(20s);
  }

  const std::string& password() const { return password_; }
  std::filesystem::path output_path() const { return dir_ / "out.jsonl"; }
  std::filesystem::path port_file() const { return dir_ / "state/instances/lrs/port"; }
  std::string log() const { return simpang::testing::read_file(dir_ / "hub.log"); }
  uint16_t port() const { return port_; }

  // Starts the hub and waits until lms-xapi listens (its port file appears).
  void start() {
    std::error_code ignored;
    std::filesystem::remove(port_file(), ignored);
    hub_ = std::make_unique<simpang::testing::Process>(
        std::vector<std::string>{simpang::testing::simpang_binary().string(), "run",
                                 (dir_ / "hub.yaml").string()},
        dir_ / "hub.log");
    const bool listening = simpang::testing::wait_for(
        [&] { return !hub_->running() || std::filesystem::exists(port_file()); }, 30s);
    ASSERT_TRUE(listening && hub_->running()) << "lms-xapi did not come up:\n" << log();
    port_ = static_cast<uint16_t>(std::stoi(simpang::testing::read_file(port_file())));
  }
  // A clean stop (SIGTERM); returns the exit status.
  std::optional<int> stop() {
    auto status = hub_->stop(30s);
    hub_.reset();
    return status;
  }

  XapiAnswer request(const std::string& method, const std::string& target,
                     const std::string& body = "", const RequestOptions& options = {}) const {
    const std::string file = (dir_ / ("body-" + std::to_string(next_body_++))).string();
    // curl waits for a body after -X HEAD; -I sends HEAD and reads none.
    std::vector<std::string> argv = {curl(), "-s", "-S", "-i", "--max-time", "15"};
    if (method == "HEAD") {
      argv.push_back("-I");
    } else {
      argv.insert(argv.end(), {"-X", method});
    }
    if (options.auth) argv.insert(argv.end(), {"-u", std::string(kUser) + ":" + password_});
    if (options.version) argv.insert(argv.end(), {"-H", "X-Experience-API-Version: 1.0.3"});
    if (!body.empty()) {
      simpang::testing::write_file(file, body);
      argv.insert(argv.end(),
                  {"-H", "Content-Type: " + options.content_type, "--data-binary", "@" + file});
    }
    for (const std::string& h : options.headers) argv.insert(argv.end(), {"-H", h});
    argv.push_back("http://127.0.0.1:" + std::to_string(port_) + target);
    XapiAnswer answer;
    answer.raw = simpang::testing::run_command(argv, 30s).output;
    std::error_code ignored;
    std::filesystem::remove(file, ignored);
    const size_t last = answer.raw.rfind("HTTP/1.1 ");
    if (last == std::string::npos) return answer;
    answer.status = std::atoi(answer.raw.c_str() + last + 9);
    const size_t body_at = answer.raw.find("\r\n\r\n", last);
    answer.headers =
        answer.raw.substr(last, body_at == std::string::npos ? std::string::npos : body_at - last);
    if (body_at != std::string::npos) answer.body = answer.raw.substr(body_at + 4);
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
      if (event.ok()) events.push_back(std::move(*event));
    }
    return events;
  }

 private:
  static std::string curl() {
    for (const char* candidate : {"/usr/bin/curl", "/usr/local/bin/curl", "/bin/curl"}) {
      if (::access(candidate, X_OK) == 0) return candidate;
    }
    return "curl";
  }

  std::string config() const {
    return "hub:\n"
           "  state_dir: " +
           (dir_ / "state").string() +
           "\n"
           "  summary_interval: 0s\n"
           "plugins:\n"
           "  - name: lrs\n"
           "    plugin: lms-xapi\n"
           "    config:\n"
           "      source: /lms/xapi/test\n"
           "      page_size: 50\n"
           "      max_batch_statements: 20\n"
           "      publish_timeout: 5s\n"
           "      certification_activity_types: [\"http://adlnet.gov/expapi/activities/course\"]\n"
           "      clients:\n"
           "        - name: moodle\n"
           "          username: " +
           std::string(kUser) +
           "\n"
           "          password: \"${file:" +
           (dir_ / "lrs-password").string() +
           "}\"\n"
           "  - name: capture\n"
           "    plugin: sink-jsonl\n"
           "    config:\n"
           "      path: " +
           (dir_ / "out.jsonl").string() +
           "\n"
           "routes:\n"
           "  - name: lrs-to-capture\n"
           "    from: [lrs]\n"
           "    to: [capture]\n";
  }

  simpang::testing::TempDir dir_;
  const std::string password_ = "lrs-pw-" + std::to_string(::getpid());
  std::unique_ptr<simpang::testing::Process> hub_;
  uint16_t port_ = 0;
  mutable std::atomic<uint64_t> next_body_{0};
};

}  // namespace simpang::lms_xapi_test
