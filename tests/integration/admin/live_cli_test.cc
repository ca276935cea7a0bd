// The `simpang` CLI asking a running hub through its admin API: status, instances, routes and
// destinations as tables and as JSON, with the token the configuration gives, and a clear error
// when the admin API is off or no hub runs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "admin_fixture.h"
#include "test_support.h"

namespace simpang::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class LiveCli : public AdminApi {
 protected:
  CommandResult simpang(std::vector<std::string> args) const {
    args.insert(args.begin(), simpang_binary().string());
    return run_command(args, seconds(30));
  }
  std::string config() const { return (dir_ / "hub.yaml").string(); }
};

void expect_says(const CommandResult& r, const std::vector<std::string>& words) {
  for (const auto& w : words) {
    EXPECT_NE(r.output.find(w), std::string::npos) << "expected '" << w << "' in:\n" << r.output;
  }
}

TEST_F(LiveCli, TablesAndJsonFromARunningHubWithItsToken) {
  write_file(dir_ / "admin.token", "Lv7cliToken\n");
  start(flowing_config("admin:\n  port: 0\n  token: ${file:admin.token}\n"));
  ASSERT_TRUE(wait_for([&] { return count_lines(dir_ / "out.jsonl") > 0; }, seconds(30))) << log();

  const auto status = simpang({"status", config()});
  ASSERT_EQ(status.status, 0) << status.output;
  expect_says(status, {"hub at http://127.0.0.1:" + std::to_string(port_) + ": ready",
                       "instances: 2 of 2 ready", "destinations: 1, "});
  const auto instances = simpang({"instances", config()});
  ASSERT_EQ(instances.status, 0) << instances.output;
  expect_says(instances, {"NAME", "KIND", "LAST ERROR", "sink", "source", "running"});
  const auto routes = simpang({"routes", config()});
  ASSERT_EQ(routes.status, 0) << routes.output;
  expect_says(routes, {"NAME", "DELIVERIES", "all"});
  const auto destinations = simpang({"destinations", config(), "--json"});
  ASSERT_EQ(destinations.status, 0) << destinations.output;
  const json d = json::parse(destinations.output);
  ASSERT_EQ(d["destinations"].size(), 1u);
  EXPECT_EQ(d["destinations"][0]["name"], "sink");
  EXPECT_GT(d["destinations"][0]["delivered"].get<uint64_t>(), 0u);
  const json s = json::parse(simpang({"status", config(), "--json"}).output);
  EXPECT_EQ(s["readiness"]["status"], "ready");

  // The token came from the configuration: without it the API refuses (401).
  EXPECT_EQ(curl("/api/v1/instances").status, 401);
}

TEST_F(LiveCli, SaysWhyWhenItCannotAskAHub) {
  write_file(dir_ / "hub.yaml", flowing_config("admin:\n  port: 0\n"));
  const auto none = simpang({"status", config()});
  EXPECT_EQ(none.status, 1);
  expect_says(none, {"no hub runs on " + config(), "admin.port", "simpang run"});
  write_file(dir_ / "hub.yaml", flowing_config(""));
  for (const std::string command : {"status", "instances", "routes", "destinations"}) {
    const auto off = simpang({command, config()});
    EXPECT_EQ(off.status, 1) << command;
    expect_says(off, {"the admin API is off (no `admin:` section)"});
  }
  const auto bare = simpang({"routes"});
  EXPECT_EQ(bare.status, 2);
  expect_says(bare, {"routes test CONFIG"});
}

}  // namespace
}  // namespace simpang::testing
