// The exposition writer (escaping, numbers, names) and the pages built on it, from hand-made
// snapshots: what a scrape or a view must say about values the hub may really hold.
#include "admin/exposition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "admin/hub_metrics.h"
#include "admin/views.h"

namespace simpang::hub::admin {
namespace {

TEST(Exposition, EscapesLabelValuesAndHelpText) {
  Exposition out;
  out.family("m", "gauge", "a \\ help\nline");
  out.sample("m", {{"route", "a\"b\\c\nd"}, {"x", "plain"}}, 2);
  EXPECT_EQ(std::move(out).text(),
            "# HELP m a \\\\ help\\nline\n# TYPE m gauge\n"
            "m{route=\"a\\\"b\\\\c\\nd\",x=\"plain\"} 2\n");
}

TEST(Exposition, WritesNumbersInTheFormsTheFormatAccepts) {
  Exposition out;
  out.sample("a", {}, 18446744073709.0);
  out.sample("b", {}, 0.25);
  out.sample("c", {}, std::numeric_limits<double>::quiet_NaN());
  out.sample("d", {}, std::numeric_limits<double>::infinity());
  out.sample("e", {}, -std::numeric_limits<double>::infinity());
  out.sample("f", {}, -3);
  out.sample("g", {}, 1e300);
  EXPECT_EQ(std::move(out).text(),
            "a 18446744073709\nb 0.25\nc NaN\nd +Inf\ne -Inf\nf -3\ng 1e+300\n");
}

TEST(Exposition, SanitisesNames) {
  EXPECT_EQ(sanitize_metric_name("rowsWritten"), "rowswritten");
  EXPECT_EQ(sanitize_metric_name("http.requests-2xx"), "http_requests_2xx");
  EXPECT_EQ(sanitize_metric_name("__a  b__"), "a_b");
  EXPECT_EQ(sanitize_metric_name("5xx"), "_5xx");
  EXPECT_EQ(sanitize_metric_name("::"), "");
}

HubSnapshot sample_snapshot() {
  HubSnapshot s;
  s.instances.push_back({"sink \"one\"", "sink", "process", "failed", false, 4, "exited: 3"});
  s.routes.push_back({"r1", true, 7});
  DestinationStatus d;
  d.name = "sink \"one\"";
  d.depth.queued = 5;
  d.depth.dead = 2;
  s.destinations.push_back(d);
  PluginMetrics m;
  m.instance = "src";
  m.counters["rows.written"] = 10;
  m.counters["done_total"] = 3;
  m.gauges["rows_written_total"] = 1;  // would collide with the counter's family: dropped
  m.gauges["lag"] = 0.5;
  m.gauges["!!"] = 1;  // nothing usable left: dropped
  s.plugin_metrics.push_back(m);
  s.totals.published = 12;
  return s;
}

TEST(HubMetrics, NamesFollowTheConventionsAndLabelsAreEscaped) {
  const std::string text = render_metrics(sample_snapshot(), {"1.2.3", 4096});
  EXPECT_NE(text.find("simpang_build_info{version=\"1.2.3\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE simpang_events_published_total counter\n"
                      "simpang_events_published_total 12\n"),
            std::string::npos);
  EXPECT_NE(text.find("simpang_destination_pending{destination=\"sink \\\"one\\\"\"} 5\n"),
            std::string::npos);
  EXPECT_NE(text.find("simpang_destination_dead_total{destination=\"sink \\\"one\\\"\"} 2\n"),
            std::string::npos);
  EXPECT_NE(text.find("simpang_instance_state{instance=\"sink \\\"one\\\"\",state=\"failed\"} 1\n"),
            std::string::npos);
  EXPECT_NE(
      text.find("simpang_instance_state{instance=\"sink \\\"one\\\"\",state=\"running\"} 0\n"),
      std::string::npos);
  EXPECT_NE(text.find("simpang_journal_file_size_bytes 4096\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE simpang_plugin_rows_written_total counter\n"
                      "simpang_plugin_rows_written_total{instance=\"src\"} 10\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("simpang_plugin_done_total{instance=\"src\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("simpang_plugin_lag{instance=\"src\"} 0.5\n"), std::string::npos);
  EXPECT_NE(text.find("simpang_plugin_metrics_dropped 2\n"), std::string::npos) << text;
  // Every family is announced once, and every counter ends in _total.
  size_t at = 0;
  std::set<std::string> families;
  while ((at = text.find("# TYPE ", at)) != std::string::npos) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at + 7, end - at - 7);
    const std::string name = line.substr(0, line.find(' '));
    EXPECT_TRUE(families.insert(name).second) << name << " twice";
    if (line.ends_with(" counter")) {
      EXPECT_TRUE(name.ends_with("_total")) << name;
    }
    at = end;
  }
}

TEST(HubMetrics, NoJournalFileMeansNoSizeSeries) {
  const std::string text = render_metrics(sample_snapshot(), {"1", std::nullopt});
  EXPECT_EQ(text.find("simpang_journal_file_size_bytes"), std::string::npos);
}

TEST(Views, ReadinessNamesEachInstanceNotConnectedAndWhy) {
  HubSnapshot s = sample_snapshot();
  s.instances.push_back({"ok", "source", "thread", "running", true, 0, ""});
  s.instances.push_back({"new", "source", "process", "starting", false, 0, ""});
  Readiness r = readiness(s, true, true);
  EXPECT_FALSE(r.ready);
  auto body = nlohmann::json::parse(r.body);
  ASSERT_EQ(body["not_ready"].size(), 2u);
  EXPECT_EQ(body["not_ready"][0]["reason"], "exited: 3");
  EXPECT_EQ(body["not_ready"][1]["reason"], "not connected (state: starting)");
  EXPECT_FALSE(nlohmann::json::parse(readiness(s, true, false).body).contains("not_ready"));

  HubSnapshot all_up;
  all_up.instances.push_back({"ok", "source", "thread", "running", true, 0, ""});
  EXPECT_TRUE(readiness(all_up, true, true).ready);
  EXPECT_FALSE(readiness(all_up, false, true).ready) << "not ready before every instance started";
}

TEST(Views, ProblemDetailsFollowRfc9457) {
  auto p = nlohmann::json::parse(problem_json(404, "no admin endpoint at /x", "/x"));
  EXPECT_EQ(p["type"], "about:blank");
  EXPECT_EQ(p["title"], "Not Found");
  EXPECT_EQ(p["status"], 404);
  EXPECT_EQ(p["detail"], "no admin endpoint at /x");
  EXPECT_EQ(p["instance"], "/x");
}

TEST(Views, AnErrorThatIsNotUtf8DoesNotBreakTheView) {
  HubSnapshot s;
  s.instances.push_back({"x", "sink", "process", "failed", false, 1, "bad \xff byte"});
  EXPECT_NO_THROW(nlohmann::json::parse(instances_json(s)));
}

}  // namespace
}  // namespace simpang::hub::admin
