// The LRS's durability rule under kill -9. Six client threads POST statements to lms-xapi
// (keep-alive; odd clients one statement a request, even clients batches of three), each with a
// statement id of its own, and remember which ids were answered 2xx. Meanwhile the test kills the
// hub (SIGKILL) and starts it again, and, with the instance in a process of its own, kills that
// process and lets the hub restart it. At the end every id answered 2xx must be in the sink (its
// xapi.statement.stored event) and readable from the LRS: a 2xx is a promise that the statement
// is both in the LRS's store and journaled by the hub.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.h"

namespace simpang::testing {
namespace {

using namespace std::chrono_literals;

constexpr int kClients = 6;
constexpr int kKills = 8;
constexpr const char* kUserPassword = "loader:kill-test-password";

size_t collect(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

std::string statement_id(int client, int n) {
  char id[40];
  std::snprintf(id, sizeof(id), "%08x-0000-4000-8000-%012x", client, n);
  return id;
}

std::string statement(const std::string& id) {
  return R"({"id":")" + id +
         R"(","actor":{"mbox":"mailto:learner@example.edu.my"},)"
         R"("verb":{"id":"http://adlnet.gov/expapi/verbs/completed"},)"
         R"("object":{"id":"http://lms.example.edu.my/course/ml-101"},)"
         R"("result":{"score":{"scaled":0.9}}})";
}

class XapiUnderKill : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    write_file(dir_ / "hub.yaml",
               "hub:\n"
               "  state_dir: state\n"
               "  summary_interval: 0s\n"
               "plugins:\n"
               "  - name: lrs\n"
               "    plugin: lms-xapi\n"
               "    isolation: " +
                   GetParam() +
                   "\n"
                   "    config:\n"
                   "      port: 0\n"
                   "      publish_timeout: 3s\n"
                   "      republish_interval: 1s\n"
                   "      clients:\n"
                   "        - {name: loader, username: loader, password: kill-test-password}\n"
                   "  - name: capture\n"
                   "    plugin: sink-jsonl\n"
                   "    config: {path: out.jsonl}\n"
                   "routes:\n"
                   "  - name: statements\n"
                   "    from: [lrs]\n"
                   "    match: {type: xapi.statement.stored}\n"
                   "    to: [capture]\n");
  }
  void TearDown() override { curl_global_cleanup(); }

  std::filesystem::path port_file() const { return dir_ / "state/instances/lrs/port"; }

  void start_hub() {
    std::filesystem::remove(port_file());
    hub_ = std::make_unique<Process>(
        std::vector<std::string>{simpang_binary().string(), "run", (dir_ / "hub.yaml").string()},
        dir_ / "hub.log");
    wait_for_port();
  }

  void wait_for_port() {
    ASSERT_TRUE(wait_for([&] { return count_lines(port_file()) == 1; }, 30s))
        << "lms-xapi did not write its port; hub log:\n"
        << read_file(dir_ / "hub.log");
    port_ = std::stoi(read_file(port_file()));
  }

  CURL* new_handle(curl_slist*& headers, std::string& body) {
    CURL* curl = curl_easy_init();
    headers = curl_slist_append(nullptr, "Content-Type: application/json");
    headers = curl_slist_append(headers, "X-Experience-API-Version: 1.0.3");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERPWD, kUserPassword);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 15000L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    return curl;
  }

  void client(int number) {
    curl_slist* headers = nullptr;
    std::string answer;
    CURL* curl = new_handle(headers, answer);
    const int per_request = number % 2 == 0 ? 3 : 1;
    for (int n = 0; !stop_clients_; n += per_request) {
      std::vector<std::string> ids;
      std::string body = per_request > 1 ? "[" : "";
      for (int k = 0; k < per_request; ++k) {
        ids.push_back(statement_id(number, n + k));
        body += (k > 0 ? "," : "") + statement(ids.back());
      }
      body += per_request > 1 ? "]" : "";
      const std::string url =
          "http://127.0.0.1:" + std::to_string(port_.load()) + "/xapi/statements";
      curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
      answer.clear();
      long status = 0;
      if (curl_easy_perform(curl) == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
      }
      std::lock_guard lock(mutex_);
      if (status >= 200 && status < 300) {
        acknowledged_.insert(ids.begin(), ids.end());
      } else {
        ++failed_;
        std::this_thread::sleep_for(20ms);  // the hub is down or restarting: do not spin
      }
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
  }

  size_t acknowledged_count() {
    std::lock_guard lock(mutex_);
    return acknowledged_.size();
  }

  void let_load_run(size_t more) {
    const size_t target = acknowledged_count() + more;
    ASSERT_TRUE(wait_for([&] { return acknowledged_count() >= target; }, 60s))
        << "the load stalled at " << acknowledged_count() << "; hub log:\n"
        << read_file(dir_ / "hub.log");
  }

  pid_t plugin_process() const {
    for (pid_t child : children_of(hub_->pid())) {
      for (pid_t host : pids_with("plugin-host")) {
        if (host == child) return child;
      }
    }
    return -1;
  }

  TempDir dir_{"xapi-kill"};
  std::unique_ptr<Process> hub_;
  std::atomic<int> port_{0};
  std::atomic<bool> stop_clients_{false};
  std::mutex mutex_;
  std::set<std::string> acknowledged_;
  size_t failed_ = 0;
};

TEST_P(XapiUnderKill, EveryStatementAnswered2xxIsInTheSinkAndTheStore) {
  start_hub();
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([this, i] { client(i); });
  }
  std::mt19937 random(20261202);
  let_load_run(150);
  for (int round = 0; round < kKills; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + random() % 400));
    if (GetParam() == "process" && round % 2 == 1) {
      const pid_t host = plugin_process();
      ASSERT_GT(host, 0) << "no plugin-host child of the hub";
      std::filesystem::remove(port_file());
      ASSERT_EQ(::kill(host, SIGKILL), 0);
      wait_for_port();
    } else {
      hub_->signal(SIGKILL);
      ASSERT_TRUE(hub_->wait(10s).has_value());
      start_hub();
    }
    let_load_run(150);
  }
  stop_clients_ = true;
  for (auto& c : clients) c.join();

  // Every acknowledged statement is readable from the LRS (its store agrees with its answers).
  curl_slist* headers = nullptr;
  std::string body;
  CURL* curl = new_handle(headers, body);
  curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  size_t unreadable = 0;
  for (const std::string& id : acknowledged_) {
    const std::string url =
        "http://127.0.0.1:" + std::to_string(port_.load()) + "/xapi/statements?statementId=" + id;
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    body.clear();
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    }
    if (status != 200 && ++unreadable <= 10) {
      ADD_FAILURE() << "statement " << id << " was answered 2xx but GET gives " << status << ": "
                    << body;
    }
  }
  curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
  EXPECT_EQ(unreadable, 0u);

  // A clean stop delivers what is queued; then every 2xx'd statement must be in the file.
  hub_->signal(SIGTERM);
  const auto status = hub_->wait(60s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(*status, 0) << read_file(dir_ / "hub.log");
  const std::map<std::string, int> arrived = event_ids(dir_ / "state/instances/capture/out.jsonl");
  size_t missing = 0;
  for (const std::string& id : acknowledged_) {
    if (arrived.count(id) == 0 && ++missing <= 10) {
      ADD_FAILURE() << "statement " << id << " was answered 2xx but never arrived";
    }
  }
  EXPECT_EQ(missing, 0u) << "of " << acknowledged_.size() << " acknowledged";
  EXPECT_GE(acknowledged_.size(), 150u * (kKills + 1));
  EXPECT_GT(failed_, 0u);  // the kills landed while requests were in flight
  RecordProperty("acknowledged", static_cast<int>(acknowledged_.size()));
  RecordProperty("failed", static_cast<int>(failed_));
}

INSTANTIATE_TEST_SUITE_P(Isolation, XapiUnderKill, ::testing::Values("thread", "process"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace simpang::testing
