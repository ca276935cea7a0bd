// The compiled route table: which destinations an event goes to, attribution, the cache, and
// compile errors.
#include "router/route_table.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace simpang::hub {
namespace {

RouteConfig route(std::string name, std::vector<std::string> from, std::vector<std::string> types,
                  std::vector<std::string> to) {
  RouteConfig r;
  r.name = std::move(name);
  r.from = std::move(from);
  r.types = std::move(types);
  r.to = std::move(to);
  return r;
}

simpang::v1::Event event(std::string type, std::string subject = "") {
  simpang::v1::Event e;
  e.set_id("1");
  e.set_source("/test");
  e.set_spec_version("1.0");
  e.set_type(std::move(type));
  e.set_subject(std::move(subject));
  return e;
}

std::unique_ptr<RouteTable> compile_ok(const std::vector<RouteConfig>& routes) {
  StatusOr<std::unique_ptr<RouteTable>> table = RouteTable::compile(routes);
  EXPECT_TRUE(table.ok()) << table.status().message();
  return table.ok() ? std::move(*table) : nullptr;
}

// The answer as "route->destination" names, in order, for readable expectations.
std::vector<std::string> names(const RouteTable& table, const std::vector<RouteTarget>& targets) {
  std::vector<std::string> out;
  for (const RouteTarget& t : targets) {
    out.push_back(table.route_name(t.route) + "->" + table.destinations().at(t.destination));
  }
  return out;
}

std::vector<std::string> match(const RouteTable& table, std::string_view from,
                               const simpang::v1::Event& e) {
  std::vector<RouteTarget> out;
  table.match(from, e, out);
  return names(table, out);
}

using Names = std::vector<std::string>;

TEST(RouteTableTest, CompilesEmptyTable) {
  auto table = compile_ok({});
  ASSERT_TRUE(table);
  EXPECT_EQ(table->route_count(), 0u);
  EXPECT_TRUE(table->destinations().empty());
  EXPECT_TRUE(match(*table, "sim", event("talent.completion.recorded")).empty());
}

TEST(RouteTableTest, DestinationsAreDeduplicatedInFirstAppearanceOrder) {
  auto table = compile_ok({route("r1", {"*"}, {}, {"ledger", "webhook"}),
                           route("r2", {"*"}, {}, {"hr", "ledger", "hr"}),
                           route("r3", {"*"}, {}, {"webhook", "bridge"})});
  ASSERT_TRUE(table);
  EXPECT_EQ(table->destinations(), (Names{"ledger", "webhook", "hr", "bridge"}));
  EXPECT_EQ(table->route_count(), 3u);
  EXPECT_EQ(table->route_name(0), "r1");
  EXPECT_EQ(table->route_name(2), "r3");
}

TEST(RouteTableTest, OneRouteFansOutToTwoDestinationsInToOrder) {
  auto table =
      compile_ok({route("completions", {"lms-*"}, {"talent.completion.*"}, {"webhook", "ledger"})});
  ASSERT_TRUE(table);
  EXPECT_EQ(match(*table, "lms-moodle", event("talent.completion.recorded")),
            (Names{"completions->webhook", "completions->ledger"}));
}

TEST(RouteTableTest, OverlappingRoutesDedupAndFirstRouteWinsAttribution) {
  auto table = compile_ok({route("narrow", {"sim"}, {"talent.completion.recorded"}, {"ledger"}),
                           route("wide", {"*"}, {"talent.**"}, {"webhook", "ledger", "hr"}),
                           route("other", {"*"}, {"**"}, {"hr", "bridge"})});
  ASSERT_TRUE(table);
  EXPECT_EQ(match(*table, "sim", event("talent.completion.recorded")),
            (Names{"narrow->ledger", "wide->webhook", "wide->hr", "other->bridge"}));
  // Without the narrow route matching, the wide one gets the ledger.
  EXPECT_EQ(match(*table, "lms", event("talent.completion.recorded")),
            (Names{"wide->webhook", "wide->ledger", "wide->hr", "other->bridge"}));
  EXPECT_EQ(match(*table, "lms", event("partner.onboarded")),
            (Names{"other->hr", "other->bridge"}));
}

TEST(RouteTableTest, DuplicateDestinationWithinOneRouteAppearsOnce) {
  auto table = compile_ok({route("r", {"*"}, {}, {"a", "b", "a"})});
  ASSERT_TRUE(table);
  EXPECT_EQ(match(*table, "x", event("t")), (Names{"r->a", "r->b"}));
}

TEST(RouteTableTest, RouteTargetIndicesPointIntoRoutesAndDestinations) {
  auto table = compile_ok({route("r0", {"nope"}, {}, {"a"}), route("r1", {"*"}, {}, {"b", "a"})});
  ASSERT_TRUE(table);
  std::vector<RouteTarget> out;
  table->match("x", event("t"), out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].route, 1u);
  EXPECT_EQ(out[0].destination, 1u);  // "b": second destination overall
  EXPECT_EQ(out[1].route, 1u);
  EXPECT_EQ(out[1].destination, 0u);  // "a"
}

TEST(RouteTableTest, NoMatchLeavesOutUnchanged) {
  auto table = compile_ok({route("r", {"lms-*"}, {"talent.completion.*"}, {"ledger"})});
  ASSERT_TRUE(table);
  std::vector<RouteTarget> out = {RouteTarget{7, 9}};
  table->match("hr-scim", event("talent.completion.recorded"), out);  // wrong from
  table->match("lms-a", event("talent.enrollment.created"), out);     // wrong type
  table->match("lms-a", event("talent.completion"), out);             // too short
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].route, 7u);
  EXPECT_EQ(out[0].destination, 9u);
}

TEST(RouteTableTest, MatchAppendsAfterExistingEntries) {
  auto table = compile_ok({route("r", {"*"}, {}, {"ledger"})});
  ASSERT_TRUE(table);
  std::vector<RouteTarget> out = {RouteTarget{7, 9}};
  table->match("x", event("t"), out);
  table->match("x", event("t"), out);  // each call dedups within itself only
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].route, 0u);
  EXPECT_EQ(out[2].route, 0u);
}

TEST(RouteTableTest, FromGlobs) {
  auto table = compile_ok(
      {route("lms", {"lms-*", "xapi?"}, {}, {"a"}), route("exact", {"hr-scim"}, {}, {"b"})});
  ASSERT_TRUE(table);
  EXPECT_EQ(match(*table, "lms-moodle", event("t")), (Names{"lms->a"}));
  EXPECT_EQ(match(*table, "xapi1", event("t")), (Names{"lms->a"}));
  EXPECT_EQ(match(*table, "xapi12", event("t")), Names{});
  EXPECT_EQ(match(*table, "hr-scim", event("t")), (Names{"exact->b"}));
  EXPECT_EQ(match(*table, "hr-scim2", event("t")), Names{});
}

TEST(RouteTableTest, EmptyFromAndTypesMatchEverything) {
  auto table = compile_ok({route("all", {}, {}, {"a"})});
  ASSERT_TRUE(table);
  EXPECT_EQ(match(*table, "anyone", event("any.type.at.all")), (Names{"all->a"}));
  EXPECT_EQ(match(*table, "", event("")), (Names{"all->a"}));
}

TEST(RouteTableTest, AnyOfSeveralTypePatterns) {
  auto table = compile_ok(
      {route("r", {"*"}, {"talent.completion.*", "talent.credential.issued"}, {"ledger"})});
  ASSERT_TRUE(table);
  EXPECT_EQ(match(*table, "x", event("talent.completion.recorded")), (Names{"r->ledger"}));
  EXPECT_EQ(match(*table, "x", event("talent.credential.issued")), (Names{"r->ledger"}));
  EXPECT_EQ(match(*table, "x", event("talent.credential.revoked")), Names{});
}

TEST(RouteTableTest, SubjectPrefix) {
  RouteConfig r = route("people", {"*"}, {"talent.**"}, {"ledger"});
  r.subject_prefix = "person/";
  auto table = compile_ok({r, route("all", {"*"}, {}, {"audit"})});
  ASSERT_TRUE(table);
  EXPECT_EQ(match(*table, "sim", event("talent.enrollment.created", "person/42")),
            (Names{"people->ledger", "all->audit"}));
  EXPECT_EQ(match(*table, "sim", event("talent.enrollment.created", "person/")),
            (Names{"people->ledger", "all->audit"}));
  EXPECT_EQ(match(*table, "sim", event("talent.enrollment.created", "org/7")),
            (Names{"all->audit"}));
  EXPECT_EQ(match(*table, "sim", event("talent.enrollment.created", "person")),
            (Names{"all->audit"}));
  EXPECT_EQ(match(*table, "sim", event("talent.enrollment.created")), (Names{"all->audit"}));
}

TEST(RouteTableTest, EmptySubjectPrefixIsNoCondition) {
  RouteConfig r = route("r", {"*"}, {}, {"a"});
  r.subject_prefix = "";
  auto table = compile_ok({r});
  ASSERT_TRUE(table);
  EXPECT_EQ(match(*table, "x", event("t")), (Names{"r->a"}));
}

// Routes on one extension attribute, `ext`, carried with each of the CloudEvents types.
class ExtensionTest : public testing::Test {
 protected:
  void SetUp() override {
    RouteConfig r = route("ext", {"*"}, {}, {"a"});
    r.extensions = {{"ext", "v"}};
    table_ = compile_ok({r});
    ASSERT_TRUE(table_);
  }

  // True when an event whose `ext` is `value` goes through a route requiring `ext: expected`.
  bool routed(const simpang::v1::AttributeValue& value, std::string_view expected) {
    RouteConfig r = route("ext", {"*"}, {}, {"a"});
    r.extensions = {{"ext", std::string(expected)}};
    auto table = compile_ok({r});
    simpang::v1::Event e = event("t");
    (*e.mutable_extensions())["ext"] = value;
    return !match(*table, "x", e).empty();
  }

  std::unique_ptr<RouteTable> table_;  // routes events whose `ext` is the string "v"
};

TEST_F(ExtensionTest, StringUriAndUriRefCompareAsWritten) {
  simpang::v1::AttributeValue v;
  v.set_ce_string("north");
  EXPECT_TRUE(routed(v, "north"));
  EXPECT_FALSE(routed(v, "North"));
  EXPECT_FALSE(routed(v, "nort"));
  v.set_ce_uri("https://example.org/x");
  EXPECT_TRUE(routed(v, "https://example.org/x"));
  EXPECT_FALSE(routed(v, "https://example.org/y"));
  v.set_ce_uri_ref("/courses/42");
  EXPECT_TRUE(routed(v, "/courses/42"));
  EXPECT_FALSE(routed(v, "/courses/4"));
  v.set_ce_string("");
  EXPECT_TRUE(routed(v, ""));
}

TEST_F(ExtensionTest, BooleanRendersAsTrueOrFalse) {
  simpang::v1::AttributeValue v;
  v.set_ce_boolean(true);
  EXPECT_TRUE(routed(v, "true"));
  EXPECT_FALSE(routed(v, "false"));
  EXPECT_FALSE(routed(v, "1"));
  EXPECT_FALSE(routed(v, "True"));
  v.set_ce_boolean(false);
  EXPECT_TRUE(routed(v, "false"));
  EXPECT_FALSE(routed(v, "true"));
}

TEST_F(ExtensionTest, IntegerRendersAsDecimal) {
  simpang::v1::AttributeValue v;
  v.set_ce_integer(42);
  EXPECT_TRUE(routed(v, "42"));
  EXPECT_FALSE(routed(v, "042"));
  EXPECT_FALSE(routed(v, "+42"));
  EXPECT_FALSE(routed(v, "4"));
  v.set_ce_integer(-2147483647 - 1);
  EXPECT_TRUE(routed(v, "-2147483648"));
  v.set_ce_integer(0);
  EXPECT_TRUE(routed(v, "0"));
  EXPECT_FALSE(routed(v, ""));
}

TEST_F(ExtensionTest, BytesTimestampAndUnsetNeverEqual) {
  simpang::v1::AttributeValue v;
  EXPECT_FALSE(routed(v, ""));  // no value set
  v.set_ce_bytes("abc");
  EXPECT_FALSE(routed(v, "abc"));
  EXPECT_FALSE(routed(v, "YWJj"));
  v.mutable_ce_timestamp()->set_seconds(0);
  EXPECT_FALSE(routed(v, "1970-01-01T00:00:00Z"));
  EXPECT_FALSE(routed(v, "0"));
}

TEST_F(ExtensionTest, MissingAttributeDoesNotMatch) {
  EXPECT_TRUE(match(*table_, "x", event("t")).empty());
  simpang::v1::Event e = event("t");
  (*e.mutable_extensions())["other"].set_ce_string("v");
  EXPECT_TRUE(match(*table_, "x", e).empty());
  (*e.mutable_extensions())["ext"].set_ce_string("v");
  EXPECT_EQ(match(*table_, "x", e), (Names{"ext->a"}));
}

TEST(RouteTableTest, EveryExtensionMustMatch) {
  RouteConfig r = route("r", {"*"}, {}, {"a"});
  r.extensions = {{"region", "north"}, {"priority", "3"}};
  auto table = compile_ok({r});
  ASSERT_TRUE(table);
  simpang::v1::Event e = event("t");
  (*e.mutable_extensions())["region"].set_ce_string("north");
  EXPECT_TRUE(match(*table, "x", e).empty());
  (*e.mutable_extensions())["priority"].set_ce_integer(3);
  EXPECT_EQ(match(*table, "x", e), (Names{"r->a"}));
  (*e.mutable_extensions())["region"].set_ce_string("south");
  EXPECT_TRUE(match(*table, "x", e).empty());
}

TEST(RouteTableTest, ConditionalAndUnconditionalRoutesKeepConfigOrder) {
  RouteConfig conditional = route("people", {"*"}, {}, {"ledger"});
  conditional.subject_prefix = "person/";
  auto table = compile_ok({route("first", {"*"}, {}, {"webhook"}), conditional,
                           route("last", {"*"}, {}, {"ledger", "bridge"})});
  ASSERT_TRUE(table);
  EXPECT_EQ(match(*table, "x", event("t", "person/1")),
            (Names{"first->webhook", "people->ledger", "last->bridge"}));
  EXPECT_EQ(match(*table, "x", event("t", "org/1")),
            (Names{"first->webhook", "last->ledger", "last->bridge"}));
}

// The cache is keyed on (from, type); subject and extensions must still be checked per event.
TEST(RouteTableTest, CacheDoesNotRememberSubjectOrExtensions) {
  RouteConfig people = route("people", {"*"}, {"talent.**"}, {"ledger"});
  people.subject_prefix = "person/";
  RouteConfig north = route("north", {"*"}, {"talent.**"}, {"hr"});
  north.extensions = {{"region", "north"}};
  auto table = compile_ok({people, north});
  ASSERT_TRUE(table);
  simpang::v1::Event e = event("talent.enrollment.created", "person/1");
  for (int i = 0; i < 3; ++i) {  // repeated: the cached path must give the same answers
    EXPECT_EQ(match(*table, "sim", event("talent.enrollment.created", "person/1")),
              (Names{"people->ledger"}));
    EXPECT_EQ(match(*table, "sim", event("talent.enrollment.created", "org/1")), Names{});
    (*e.mutable_extensions())["region"].set_ce_string("north");
    EXPECT_EQ(match(*table, "sim", e), (Names{"people->ledger", "north->hr"}));
    (*e.mutable_extensions())["region"].set_ce_string("south");
    EXPECT_EQ(match(*table, "sim", e), (Names{"people->ledger"}));
  }
}

TEST(RouteTableTest, CacheKeyIncludesBothFromAndType) {
  // Pairs whose concatenations are equal must not share an entry.
  auto table = compile_ok({route("ab", {"ab"}, {"c"}, {"x"}), route("a", {"a"}, {"bc"}, {"y"})});
  ASSERT_TRUE(table);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(match(*table, "ab", event("c")), (Names{"ab->x"}));
    EXPECT_EQ(match(*table, "a", event("bc")), (Names{"a->y"}));
    EXPECT_EQ(match(*table, "a", event("c")), Names{});
    EXPECT_EQ(match(*table, "ab", event("bc")), Names{});
  }
}

TEST(RouteTableTest, StaysCorrectBeyondTheCacheBound) {
  RouteConfig recorded = route("recorded", {"sim"}, {"talent.*.recorded"}, {"ledger"});
  RouteConfig subject = route("subject", {"*"}, {"talent.**"}, {"audit"});
  subject.subject_prefix = "p/";
  auto table = compile_ok({recorded, subject});
  ASSERT_TRUE(table);
  // Well over the bound of 4096 distinct (from, type) pairs, twice round, interleaved with a
  // pair that keeps coming back.
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 10000; ++i) {
      const std::string n = std::to_string(i);
      ASSERT_EQ(match(*table, "sim", event("talent.t" + n + ".recorded", "p/" + n)),
                (Names{"recorded->ledger", "subject->audit"}))
          << i;
      ASSERT_EQ(match(*table, "lms", event("talent.t" + n + ".recorded", "q/")), Names{}) << i;
      ASSERT_EQ(match(*table, "sim", event("other.t" + n + ".recorded")), Names{}) << i;
      ASSERT_EQ(match(*table, "sim", event("talent.completion.recorded")),
                (Names{"recorded->ledger"}))
          << i;
    }
  }
}

TEST(RouteTableTest, TablesAreIndependent) {
  auto a = compile_ok({route("r", {"*"}, {"x"}, {"a"})});
  auto b = compile_ok({route("r", {"*"}, {"y"}, {"b"})});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(match(*a, "s", event("x")), (Names{"r->a"}));
  EXPECT_EQ(match(*b, "s", event("x")), Names{});
}

// --- compile errors ------------------------------------------------------------------------------

std::string compile_error(const std::vector<RouteConfig>& routes) {
  StatusOr<std::unique_ptr<RouteTable>> table = RouteTable::compile(routes);
  EXPECT_FALSE(table.ok());
  return table.ok() ? "" : table.status().message();
}

TEST(RouteTableCompileTest, BadTypePatternNamesRouteAndPattern) {
  const std::string message = compile_error({route("good", {"*"}, {"talent.**"}, {"a"}),
                                             route("completions", {"*"}, {"talent.comp*"}, {"a"})});
  EXPECT_EQ(message,
            "route \"completions\": match.type: type pattern \"talent.comp*\": segment 2 "
            "\"comp*\" mixes '*' with other characters; wildcards must be whole segments");
}

TEST(RouteTableCompileTest, EmptyTypePattern) {
  const std::string message = compile_error({route("r", {"*"}, {"a", ""}, {"a"})});
  EXPECT_NE(message.find("route \"r\": match.type: type pattern is empty"), std::string::npos)
      << message;
}

TEST(RouteTableCompileTest, BadFromGlobNamesRouteAndGlob) {
  const std::string message = compile_error({route("lms", {"lms-*", "lms moodle"}, {}, {"a"})});
  EXPECT_NE(message.find("route \"lms\": from: instance glob \"lms moodle\": ' ' at position 4"),
            std::string::npos)
      << message;
}

TEST(RouteTableCompileTest, EmptyFromGlob) {
  const std::string message = compile_error({route("r", {""}, {}, {"a"})});
  EXPECT_NE(message.find("route \"r\": from: instance glob is empty"), std::string::npos)
      << message;
}

TEST(RouteTableCompileTest, FirstInvalidRouteIsReported) {
  const std::string message =
      compile_error({route("one", {"*"}, {"a..b"}, {"a"}), route("two", {"*"}, {"***"}, {"a"})});
  EXPECT_NE(message.find("route \"one\""), std::string::npos) << message;
  EXPECT_EQ(message.find("route \"two\""), std::string::npos) << message;
}

}  // namespace
}  // namespace simpang::hub

namespace simpang::hub {
namespace {

TEST(RouteTableReloadTest, KeepsEveryIndexAndAppendsNewOnes) {
  auto before = compile_ok({route("a", {"*"}, {"x.*"}, {"x"}), route("b", {"*"}, {"y.*"}, {"y"})});
  ASSERT_TRUE(before);
  auto after = RouteTable::compile(
      {route("c", {"*"}, {"w.*"}, {"w"}), route("b", {"*"}, {"y.*"}, {"y", "z"})}, *before);
  ASSERT_TRUE(after.ok()) << after.status().message();
  const RouteTable& table = **after;
  // Old routes keep their indices (a is disabled), the new one comes after them.
  ASSERT_EQ(table.route_count(), 3u);
  EXPECT_EQ(table.route_name(0), "a");
  EXPECT_FALSE(table.route_active(0));
  EXPECT_EQ(table.route_name(1), "b");
  EXPECT_TRUE(table.route_active(1));
  EXPECT_EQ(table.route_name(2), "c");
  // Destinations too: x stays at 0 although no route sends there any more; new ones follow in
  // the order the (re-ordered) routes name them.
  EXPECT_EQ(table.destinations(), (Names{"x", "y", "z", "w"}));
  EXPECT_TRUE(match(table, "sim", event("x.created")).empty());
  EXPECT_EQ(match(table, "sim", event("y.created")), (Names{"b->y", "b->z"}));
  EXPECT_EQ(match(table, "sim", event("w.created")), (Names{"c->w"}));
}

}  // namespace
}  // namespace simpang::hub
