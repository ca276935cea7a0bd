// POST /api/v1/reload on a real hub: a file with problems refused with every diagnostic at
// line:column and nothing applied (dry run and real), a valid change applied with what it stopped
// and started, and the request table's refusals. curl is the client.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "admin_fixture.h"
#include "test_support.h"

namespace simpang::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

class ReloadApi : public AdminApi {
 protected:
  Answer reload(const std::string& query = "") {
    return curl("/api/v1/reload" + query, {"-X", "POST"});
  }
  std::string with_second_sink() const {
    std::string yaml = flowing_config("admin:\n  port: 0\n");
    const std::string second = "  - name: audit\n    plugin: test-sink\n    config: {path: " +
                               (dir_ / "audit.jsonl").string() + "}\n";
    yaml.insert(yaml.find("routes:"), second);
    return yaml;
  }
};

TEST_F(ReloadApi, RefusesAFileWithProblemsAtLineAndColumnAndAppliesAValidOne) {
  const std::string good = flowing_config("admin:\n  port: 0\n");
  start(good);
  // A problem at a known place: an unknown key on line 2.
  write_file(dir_ / "hub.yaml", "hub:\n  colour: blue\n" + good.substr(good.find("\n") + 1));
  for (const std::string query : {"?dry_run=true", ""}) {
    Answer refused = reload(query);
    EXPECT_EQ(refused.status, 422) << query << ": " << refused.body;
    EXPECT_EQ(refused.content_type, "application/problem+json");
    const json body = json::parse(refused.body);
    EXPECT_EQ(body["title"], "Unprocessable Content");
    ASSERT_GE(body["diagnostics"].size(), 1u) << refused.body;
    const json& first = body["diagnostics"][0];
    EXPECT_EQ(first["line"], 2);
    EXPECT_EQ(first["column"], 3);
    EXPECT_NE(first["message"].get<std::string>().find("colour"), std::string::npos) << first;
    EXPECT_NE(body["detail"].get<std::string>().find("nothing was applied"), std::string::npos);
  }
  // Still the old configuration, still flowing.
  Answer instances = curl("/api/v1/instances");
  EXPECT_EQ(json::parse(instances.body)["instances"].size(), 2u);

  // A valid change: a second sink and a route to it.
  std::string next = with_second_sink();
  next.insert(next.find("admin:"), "  - name: audit\n    from: [source]\n    to: [audit]\n");
  write_file(dir_ / "hub.yaml", next);
  Answer checked = reload("?dry_run=true");
  ASSERT_EQ(checked.status, 200) << checked.body;
  EXPECT_EQ(json::parse(checked.body)["valid"], true);
  EXPECT_EQ(json::parse(checked.body)["applied"], false);
  EXPECT_EQ(json::parse(curl("/api/v1/instances").body)["instances"].size(), 2u);  // dry: nothing

  Answer applied = reload();
  ASSERT_EQ(applied.status, 200) << applied.body;
  const json a = json::parse(applied.body);
  EXPECT_EQ(a["applied"], true);
  EXPECT_EQ(a["started"], json::array({"audit"}));
  EXPECT_EQ(a["stopped"], json::array());
  EXPECT_EQ(a["routes"], 2);
  EXPECT_EQ(json::parse(curl("/api/v1/instances").body)["instances"].size(), 3u);
  ASSERT_TRUE(wait_for([&] { return count_lines(dir_ / "audit.jsonl") > 0; }, seconds(30))) << log();
  EXPECT_NE(log().find("admin: no token configured from 127.0.0.1 asked for a reload"),
            std::string::npos);
}

TEST_F(ReloadApi, BadRequestsGetProblemDetails) {
  start(flowing_config("admin:\n  port: 0\n"));
  Answer get = curl("/api/v1/reload");
  EXPECT_EQ(get.status, 405);
  EXPECT_NE(get.headers.find("Allow: POST"), std::string::npos) << get.headers;
  Answer maybe = reload("?dry_run=maybe");
  EXPECT_EQ(maybe.status, 400);
  EXPECT_NE(json::parse(maybe.body)["detail"].get<std::string>().find("dry_run must be true or false"),
            std::string::npos);
  Answer unknown = reload("?force=1");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(json::parse(unknown.body)["detail"].get<std::string>().find("unknown parameter 'force'"),
            std::string::npos);
}

}  // namespace
}  // namespace simpang::testing
