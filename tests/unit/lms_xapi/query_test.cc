// Statement queries: parameters read or refused naming the parameter, filters, formats, the
// Accept-Language order and the `more` token's round trip.
#include <gtest/gtest.h>

#include <string>

#include "xapi_query.h"

namespace simpang::plugins::lms_xapi {
namespace {

using nlohmann::json;

json sample() {
  return json::parse(R"({
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"name": "Siti", "mbox": "mailto:siti@example.edu.my"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-US": "completed", "ms-MY": "selesai"}},
    "object": {"id": "http://lms.example/quiz/1",
               "definition": {"name": {"en-US": "Quiz", "ms-MY": "Kuiz"}}},
    "context": {"registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
                "instructor": {"account": {"homePage": "http://lms.example", "name": "t1"}},
                "contextActivities": {"parent": [{"id": "http://lms.example/course/1"}]}},
    "authority": {"objectType": "Agent", "name": "moodle", "account": {"homePage": "urn:x", "name": "moodle"}}
  })");
}

StatementQuery parsed(const std::string& query) {
  auto q = parse_query(query);
  EXPECT_TRUE(std::holds_alternative<StatementQuery>(q))
      << query << ": " << std::get<QueryError>(q).message();
  return std::holds_alternative<StatementQuery>(q) ? std::get<StatementQuery>(q) : StatementQuery{};
}

QueryError refused(const std::string& query) {
  auto q = parse_query(query);
  EXPECT_TRUE(std::holds_alternative<QueryError>(q)) << query;
  return std::holds_alternative<QueryError>(q) ? std::get<QueryError>(q) : QueryError{};
}

TEST(XapiQuery, DecodesParameters) {
  const auto params = decode_query("a=1+2&b=%7B%22x%22%7D&c=&d");
  ASSERT_TRUE(params);
  EXPECT_EQ(params->at("a"), "1 2");
  EXPECT_EQ(params->at("b"), "{\"x\"}");
  EXPECT_EQ(params->at("c"), "");
  EXPECT_EQ(params->at("d"), "");
  EXPECT_FALSE(decode_query("a=%zz"));
  EXPECT_FALSE(decode_query("a=%2"));
}

TEST(XapiQuery, RefusesBadParametersNamingThem) {
  EXPECT_EQ(refused("since=tomorrow").parameter, "since");
  EXPECT_EQ(refused("limit=-1").parameter, "limit");
  EXPECT_EQ(refused("limit=ten").parameter, "limit");
  EXPECT_EQ(refused("ascending=yes").parameter, "ascending");
  EXPECT_EQ(refused("format=full").parameter, "format");
  EXPECT_EQ(refused("verb=completed").parameter, "verb");
  EXPECT_EQ(refused("registration=1").parameter, "registration");
  EXPECT_EQ(refused("agent=nope").parameter, "agent");
  EXPECT_NE(refused("agent=%7B%7D").rule.find("exactly one"), std::string::npos);
  EXPECT_EQ(refused("statementId=fd41c918-b88b-4b20-a0a5-a4c32391aaa0&limit=1").parameter, "limit");
  EXPECT_EQ(refused("colour=red").message(),
            "parameter 'colour': unknown parameter of GET /statements");
  EXPECT_EQ(refused("more=abc&limit=2").parameter, "more");
  EXPECT_EQ(refused("more=0011").parameter, "more");
}

TEST(XapiQuery, Filters) {
  const json s = sample();
  EXPECT_TRUE(matches(parsed(""), s));
  EXPECT_TRUE(matches(parsed("agent=%7B%22mbox%22%3A%22mailto%3Asiti%40example.edu.my%22%7D"), s));
  EXPECT_FALSE(matches(parsed("agent=%7B%22mbox%22%3A%22mailto%3Aamir%40example.edu.my%22%7D"), s));
  const std::string instructor =
      "agent=%7B%22account%22%3A%7B%22homePage%22%3A%22http%3A%2F%2Flms.example%22%2C%22name%22%3A%"
      "22t1%22%7D%7D";
  EXPECT_FALSE(matches(parsed(instructor), s));
  EXPECT_TRUE(matches(parsed(instructor + "&related_agents=true"), s));
  // A Group whose member is the agent matches (xAPI-Communication.md 2.1.3).
  json by_group = s;
  by_group["actor"] = {{"objectType", "Group"},
                       {"member", json::array({{{"mbox", "mailto:siti@example.edu.my"}}})}};
  EXPECT_TRUE(
      matches(parsed("agent=%7B%22mbox%22%3A%22mailto%3Asiti%40example.edu.my%22%7D"), by_group));
  EXPECT_TRUE(matches(parsed("verb=http://adlnet.gov/expapi/verbs/completed"), s));
  EXPECT_FALSE(matches(parsed("verb=http://adlnet.gov/expapi/verbs/passed"), s));
  EXPECT_TRUE(matches(parsed("activity=http://lms.example/quiz/1"), s));
  EXPECT_FALSE(matches(parsed("activity=http://lms.example/course/1"), s));
  EXPECT_TRUE(matches(parsed("activity=http://lms.example/course/1&related_activities=true"), s));
  EXPECT_TRUE(matches(parsed("registration=EC531277-B57B-4C15-8D91-D292C5B2B8F7"), s));
  EXPECT_FALSE(matches(parsed("registration=fd41c918-b88b-4b20-a0a5-a4c32391aaa0"), s));
}

TEST(XapiQuery, Formats) {
  const json s = sample();
  EXPECT_EQ(shape(s, Format::kExact, {}), s);
  const json ids = shape(s, Format::kIds, {});
  EXPECT_EQ(ids["actor"], (json{{"mbox", "mailto:siti@example.edu.my"}}));
  EXPECT_EQ(ids["verb"], (json{{"id", "http://adlnet.gov/expapi/verbs/completed"}}));
  EXPECT_EQ(ids["object"], (json{{"objectType", "Activity"}, {"id", "http://lms.example/quiz/1"}}));
  const json canonical = shape(s, Format::kCanonical, {"ms"});
  EXPECT_EQ(canonical["verb"]["display"], (json{{"ms-MY", "selesai"}}));
  EXPECT_EQ(canonical["object"]["definition"]["name"], (json{{"ms-MY", "Kuiz"}}));
  EXPECT_EQ(shape(s, Format::kCanonical, {"fr"})["verb"]["display"].size(), 1u);
  EXPECT_EQ(accepted_languages("fr;q=0.2, ms-MY, en;q=0.5, *"),
            (std::vector<std::string>{"ms-MY", "en", "fr"}));
}

TEST(XapiQuery, MoreTokenCarriesTheQuery) {
  const StatementQuery q = parsed(
      "verb=http://adlnet.gov/expapi/verbs/completed&limit=2&ascending=true&format=ids&"
      "since=2026-01-01T00:00:00Z&agent=%7B%22mbox%22%3A%22mailto%3Aa%40b.example%22%7D");
  const StatementQuery next = parsed("more=" + more_token(q, 42));
  EXPECT_EQ(next.verb, q.verb);
  EXPECT_EQ(next.limit, 2u);
  EXPECT_TRUE(next.ascending);
  EXPECT_EQ(next.format, Format::kIds);
  EXPECT_EQ(next.since_ms, q.since_ms);
  EXPECT_EQ(next.agent, q.agent);
  EXPECT_EQ(next.after_seq, 42);
}

}  // namespace
}  // namespace simpang::plugins::lms_xapi
