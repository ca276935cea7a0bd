// The README's demo, as a reader would run it: config/demo.yaml as shipped (only its ports changed,
// so the test never collides with anything on 8088 or 8089), the Moodle stand-in as
// `scripts/dev.sh demo` starts it, and the README's own curl block, read out of README.md and run
// with bash. The partner's event must be answered 202 and reach the ledger, beside the
// simulator's events and the Moodle site's, and the hub must stop cleanly.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <regex>
#include <string>

#include "test_support.h"

namespace simpang::testing {
namespace {

using namespace std::chrono_literals;

const std::filesystem::path kSource = SIMPANG_SOURCE_DIR;

// The ```sh block of README.md that posts to the demo's source-http.
std::string readme_curl_block() {
  const std::string readme = read_file(kSource / "README.md");
  const std::regex block("```sh\n([^`]*127\\.0\\.0\\.1:8088/events[^`]*)```");
  std::smatch match;
  if (!std::regex_search(readme, match, block)) {
    return "";
  }
  return match[1].str();
}

// The ```sh block of README.md that provisions a user over SCIM.
std::string readme_scim_block() {
  const std::string readme = read_file(kSource / "README.md");
  const std::regex block("```sh\n([^`]*127\\.0\\.0\\.1:8091/scim/v2/Users[^`]*)```");
  std::smatch match;
  if (!std::regex_search(readme, match, block)) {
    return "";
  }
  return match[1].str();
}

TEST(Demo, TheReadmesCurlPublishesIntoTheRunningDemoAndTheEventReachesTheLedger) {
  const std::string block = readme_curl_block();
  ASSERT_FALSE(block.empty()) << "README.md has no ```sh block posting to 127.0.0.1:8088/events";

  // The layout the demo expects: config/demo.yaml beside state/.
  TempDir dir("demo");
  std::filesystem::create_directories(dir / "config");
  std::string config = read_file(kSource / "config/demo.yaml");
  const std::string fixed_port = "port: 8088";
  const size_t at = config.find(fixed_port);
  ASSERT_NE(at, std::string::npos) << "config/demo.yaml no longer binds port 8088";
  config.replace(at, fixed_port.size(), "port: 0");
  const std::string admin_port = "port: 9180";
  const size_t admin_at = config.find(admin_port);
  ASSERT_NE(admin_at, std::string::npos) << "config/demo.yaml no longer binds port 9180";
  config.replace(admin_at, admin_port.size(), "port: 0");
  const std::string scim_port = "port: 8091";
  const size_t scim_at = config.find(scim_port);
  ASSERT_NE(scim_at, std::string::npos) << "config/demo.yaml no longer binds port 8091";
  config.replace(scim_at, scim_port.size(), "port: 0");
  const std::string lrs_port = "port: 8090";
  const size_t lrs_at = config.find(lrs_port);
  ASSERT_NE(lrs_at, std::string::npos) << "config/demo.yaml no longer binds port 8090";
  config.replace(lrs_at, lrs_port.size(), "port: 0");
  // What `scripts/dev.sh demo` does: the tokens, and the Moodle stand-in beside the hub.
  std::filesystem::create_directories(dir / "state/demo");
  write_file(dir / "state/demo/partner.token", "demo-test-token-0123456789\n");
  write_file(dir / "state/demo/moodle.token", "demo-moodle-token");
  write_file(dir / "state/demo/lrs.password", "demo-lrs-password");
  write_file(dir / "state/demo/scim.token", "demo-scim-token-0123456789");
  Process moodle({(simpang_binary().parent_path() / "moodle-standin").string(), "--seed",
                  (kSource / "tests/standins/moodle/seed.json").string(), "--port", "0",
                  "--port-file", (dir / "moodle.port").string()},
                 dir / "moodle.log");
  ASSERT_TRUE(wait_for([&] { return count_lines(dir / "moodle.port") == 1; }, 30s))
      << read_file(dir / "moodle.log");
  const std::string moodle_url = "http://127.0.0.1:8089";
  const size_t url_at = config.find(moodle_url);
  ASSERT_NE(url_at, std::string::npos) << "config/demo.yaml no longer polls " << moodle_url;
  config.replace(url_at, moodle_url.size(),
                 "http://127.0.0.1:" + std::to_string(std::stoi(read_file(dir / "moodle.port"))));
  write_file(dir / "config/demo.yaml", config);

  Process hub({simpang_binary().string(), "run", (dir / "config/demo.yaml").string()},
              dir / "hub.log");
  const std::filesystem::path port_file = dir / "state/demo/instances/partners-http/port";
  ASSERT_TRUE(wait_for([&] { return count_lines(port_file) == 1 || !hub.running(); }, 30s) &&
              hub.running())
      << read_file(dir / "hub.log");
  const std::string port = std::to_string(std::stoi(read_file(port_file)));

  std::string script = block;
  for (size_t p; (p = script.find("127.0.0.1:8088")) != std::string::npos;) {
    script.replace(p, 14, "127.0.0.1:" + port);
  }
  // The curl line's answer; the grep at the end of the block may run before the ledger has it.
  const CommandResult curl =
      run_command({"/bin/bash", "-c", "cd '" + dir.path().string() + "' && " + script}, 30s);
  EXPECT_NE(curl.output.find("HTTP/1.1 202"), std::string::npos) << curl.output;
  EXPECT_NE(curl.output.find(R"({"accepted":1})"), std::string::npos) << curl.output;

  const std::filesystem::path ledger = dir / "state/demo/instances/ledger/ledger.jsonl";
  EXPECT_TRUE(wait_for([&] { return event_ids(ledger).count("demo-0001") == 1; }, 30s))
      << read_file(dir / "hub.log");
  EXPECT_TRUE(wait_for([&] { return event_ids(ledger).size() > 1; }, 30s))
      << "the simulator's events are missing";
  // The Moodle site's courses, learners and enrolments, polled by lms-moodle.
  EXPECT_TRUE(wait_for(
      [&] {
        return read_file(ledger).find(R"("source":"/simpang/lms-moodle/moodle")") !=
               std::string::npos;
      },
      30s))
      << read_file(dir / "hub.log");

  // The stand-in learning platform's cohort, as `scripts/dev.sh demo` sends it to the LRS.
  const std::filesystem::path lrs_port_file = dir / "state/demo/instances/lrs/port";
  ASSERT_TRUE(wait_for([&] { return count_lines(lrs_port_file) == 1; }, 30s))
      << read_file(dir / "hub.log");
  const CommandResult platform = run_command(
      {(simpang_binary().parent_path() / "xapi-standin-client").string(), "--url",
       "http://127.0.0.1:" + std::to_string(std::stoi(read_file(lrs_port_file))) + "/xapi",
       "--user", "demo-lrs", "--password-file", (dir / "state/demo/lrs.password").string(),
       "--learners", "5", "--seed", "42", "--batch", "10"},
      60s);
  EXPECT_EQ(platform.status, 0) << platform.output;
  EXPECT_TRUE(wait_for(
      [&] {
        return count_lines(dir / "state/demo/instances/statements/statements.jsonl") > 0 &&
               read_file(ledger).find(R"("source":"/lms/xapi/demo-platform")") != std::string::npos;
      },
      30s))
      << read_file(dir / "hub.log");

  // The README's SCIM provisioning: 201, and the person in the ledger.
  const std::string scim_block = readme_scim_block();
  ASSERT_FALSE(scim_block.empty())
      << "README.md has no ```sh block posting to 127.0.0.1:8091/scim/v2/Users";
  const std::filesystem::path scim_port_file = dir / "state/demo/instances/hr/port";
  ASSERT_TRUE(wait_for([&] { return count_lines(scim_port_file) == 1; }, 30s))
      << read_file(dir / "hub.log");
  std::string scim_script = scim_block;
  for (size_t p; (p = scim_script.find("127.0.0.1:8091")) != std::string::npos;) {
    scim_script.replace(p, 14, "127.0.0.1:" + std::to_string(std::stoi(read_file(scim_port_file))));
  }
  const CommandResult scim =
      run_command({"/bin/bash", "-c", "cd '" + dir.path().string() + "' && " + scim_script}, 30s);
  EXPECT_NE(scim.output.find("HTTP/1.1 201"), std::string::npos) << scim.output;
  EXPECT_NE(scim.output.find(R"("userName":"siti.lee@acme.example")"), std::string::npos)
      << scim.output;
  EXPECT_TRUE(wait_for(
      [&] {
        const std::string text = read_file(ledger);
        return text.find(R"("source":"/hr/scim/acme")") != std::string::npos &&
               text.find("talent.employment.updated") != std::string::npos;
      },
      30s))
      << read_file(dir / "hub.log");

  // The admin API answers the probes and the metrics.
  const std::string admin =
      "http://127.0.0.1:" + std::to_string(std::stoi(read_file(dir / "state/demo/admin.port")));
  const CommandResult ready =
      run_command({"/usr/bin/curl", "-s", "-S", "-i", admin + "/readyz"}, 30s);
  EXPECT_NE(ready.output.find("HTTP/1.1 200"), std::string::npos) << ready.output;
  const CommandResult metrics = run_command({"/usr/bin/curl", "-s", "-S", admin + "/metrics"}, 30s);
  EXPECT_NE(metrics.output.find("simpang_build_info"), std::string::npos) << metrics.output;

  hub.signal(SIGTERM);
  EXPECT_EQ(hub.wait(60s), 0) << read_file(dir / "hub.log");

  // The README's progress command, on the ledger the demo filled.
  const CommandResult progress = run_command(
      {simpang_binary().string(), "ledger", "progress", (dir / "config/demo.yaml").string()}, 30s);
  EXPECT_EQ(progress.status, 0) << progress.output;
  EXPECT_NE(progress.output.find("Programme progress"), std::string::npos) << progress.output;
  EXPECT_NE(progress.output.find("partners onboarded"), std::string::npos) << progress.output;
}

}  // namespace
}  // namespace simpang::testing
