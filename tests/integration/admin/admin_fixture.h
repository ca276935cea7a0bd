// The admin API tests' fixture: a real `simpang run` with `admin: {port: 0}` in a temporary
// directory, and curl as the client (every request's status, content type, headers and body).
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "test_support.h"

namespace simpang::testing {

struct Answer {
  int status = 0;
  std::string content_type;
  std::string headers;  // the raw header block
  std::string body;
};

class AdminApi : public ::testing::Test {
 protected:
  std::string hub_section() const {
    return "hub:\n  state_dir: " + (dir_ / "state").string() +
           "\n  summary_interval: 0s\n  heartbeat: 200ms\n  drain_timeout: 5s\n";
  }
  // A source that keeps publishing (so counters move) and a sink.
  std::string flowing_config(const std::string& admin) const {
    return hub_section() +
           "plugins:\n"
           "  - name: source\n    plugin: test-source\n"
           "    config: {count: 100000000, per_tick: 20, manifest: " +
           (dir_ / "manifest.jsonl").string() +
           "}\n"
           "  - name: sink\n    plugin: test-sink\n    config: {path: " +
           (dir_ / "out.jsonl").string() +
           "}\n"
           "routes:\n  - name: all\n    from: [source]\n    to: [sink]\n" +
           admin;
  }

  void start(const std::string& yaml) {
    write_file(dir_ / "hub.yaml", yaml);
    hub_ = std::make_unique<Process>(
        std::vector<std::string>{simpang_binary().string(), "run", (dir_ / "hub.yaml").string(),
                                 "--log-level", "debug"},
        dir_ / "hub.log");
    const auto port_file = dir_ / "state" / "admin.port";
    ASSERT_TRUE(
        wait_for([&] { return std::filesystem::exists(port_file) || hub_->exited(); }, std::chrono::seconds(30)))
        << log();
    ASSERT_TRUE(std::filesystem::exists(port_file)) << log();
    port_ = std::stoi(read_file(port_file));
    ASSERT_GT(port_, 0);
  }

  void TearDown() override {
    if (hub_) {
      hub_->signal(SIGTERM);
      auto status = hub_->wait(std::chrono::seconds(30));
      EXPECT_TRUE(status.has_value()) << log();
      EXPECT_FALSE(std::filesystem::exists(dir_ / "state" / "admin.port"))
          << "admin.port outlived the admin API";
    }
  }

  std::string log() const { return read_file(dir_ / "hub.log"); }
  std::string url(const std::string& path) const {
    return scheme_ + "://127.0.0.1:" + std::to_string(port_) + path;
  }

  // One request with curl; extra arguments go before the URL.
  Answer curl(const std::string& path, std::vector<std::string> extra = {}) const {
    const auto body_file = dir_ / "curl.body";
    const auto header_file = dir_ / "curl.headers";
    std::vector<std::string> argv = {"/usr/bin/curl",
                                     "-sS",
                                     "-o",
                                     body_file.string(),
                                     "-D",
                                     header_file.string(),
                                     "-w",
                                     "%{http_code} %{content_type}",
                                     "--max-time",
                                     "10"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url(path));
    CommandResult r = run_command(argv, std::chrono::seconds(15));
    Answer a;
    EXPECT_EQ(r.status, 0) << "curl " << path << ": " << r.output;
    const auto space = r.output.find(' ');
    a.status = std::atoi(r.output.substr(0, space).c_str());
    a.content_type = space == std::string::npos ? "" : r.output.substr(space + 1);
    a.body = read_file(body_file);
    a.headers = read_file(header_file);
    return a;
  }

  // The value of one unlabelled sample in an exposition, or -1.
  static double sample(const std::string& exposition, const std::string& series) {
    std::smatch m;
    const std::regex line("(^|\\n)" + series + " ([0-9.e+-]+)\\n");
    if (std::regex_search(exposition, m, line)) {
      return std::stod(m[2].str());
    }
    return -1;
  }

  TempDir dir_{"admin"};
  std::unique_ptr<Process> hub_;
  int port_ = 0;
  std::string scheme_ = "http";
};

}  // namespace simpang::testing
